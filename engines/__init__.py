"""Model runtimes that score windows of frames for events."""

from engines.types import EVENT_TYPES, Scorer, Scores

__all__ = ["EVENT_TYPES", "Scorer", "Scores"]
