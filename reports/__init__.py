"""Incident reports: evidence, prompts, report backends and the grounding check.

``ReportService`` is the entry point: ``initial(evidence)`` gives the template report at once,
``submit(evidence)`` queues a generated one (``transformers`` or ``openai`` backend) that comes
back through ``on_report`` after the grounding check, or as the template with the reason.
"""

from reports.evidence import CameraInfo, Evidence, build_evidence
from reports.service import ReportService
from reports.settings import ReportsConfig
from reports.severity import severity_for
from reports.template import template_report
from reports.types import Report, Severity

__all__ = [
    "CameraInfo",
    "Evidence",
    "Report",
    "ReportService",
    "ReportsConfig",
    "Severity",
    "build_evidence",
    "severity_for",
    "template_report",
]
