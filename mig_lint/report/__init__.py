"""Reporters: each a pure `render(result, options) -> str`, chosen by name."""
from __future__ import annotations

from collections.abc import Callable

from mig_lint.check import CheckResult
from mig_lint.report import json_report
from mig_lint.report import text
from mig_lint.report.options import ReportOptions

Renderer = Callable[[CheckResult, ReportOptions], str]

FORMATS: dict[str, Renderer] = {
    "json": json_report.render,
    "text": text.render,
}
