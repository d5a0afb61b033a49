"""Vigil composition root: config, CLI, application start/stop."""

__version__ = "0.1.0"
