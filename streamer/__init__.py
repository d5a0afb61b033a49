"""Stream ingestion: sources, timestamp sampling, per-camera windows and supervision."""

from streamer.types import Frame, Window

__all__ = ["Frame", "Window"]
