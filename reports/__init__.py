"""Incident reports: evidence, prompts, report backends and the grounding check."""

from reports.types import Report

__all__ = ["Report"]
