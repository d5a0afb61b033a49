"""Errors raised by the engines stage with a message that says what is wrong and where."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: a model or runtime could not be set up or run."""


class ModelLoadError(EngineError):
    """A model path/id is missing, unreadable, or not of a supported family."""


class BackendError(EngineError):
    """A runtime backend is unavailable or failed to load or run a graph."""


class ArtifactError(EngineError):
    """An exported graph or engine plan does not belong to the configured model or is broken."""
