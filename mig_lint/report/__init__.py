"""Reporters: each a pure `render(result, options) -> str`, chosen by name."""
from __future__ import annotations

from collections.abc import Callable

from mig_lint.check import CheckResult
from mig_lint.report import github
from mig_lint.report import json_report
from mig_lint.report import junit
from mig_lint.report import sarif
from mig_lint.report import text
from mig_lint.report.options import ReportOptions

Renderer = Callable[[CheckResult, ReportOptions], str]

FORMATS: dict[str, Renderer] = {
    "github": github.render,
    "json": json_report.render,
    "junit": junit.render,
    "sarif": sarif.render,
    "text": text.render,
}
