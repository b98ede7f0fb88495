"""GitHub Actions workflow commands: `::error file=...,line=...::message`, one a finding."""
from __future__ import annotations

from mig_lint.check import CheckResult
from mig_lint.model import Finding
from mig_lint.report import text
from mig_lint.report.options import ReportOptions

_COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}
_DATA_ESCAPES = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
_PROPERTY_ESCAPES = (*_DATA_ESCAPES, (":", "%3A"), (",", "%2C"))


def render(result: CheckResult, options: ReportOptions) -> str:
    """An annotation command for each finding, then the text report's summary line (unless quiet)."""
    lines = [command(finding) for finding in result.findings]
    if options.statistics:
        lines.extend(text.statistics(result))
    if options.summary:
        lines.append(text.summary(result))
    return "".join(line + "\n" for line in lines)


def command(finding: Finding) -> str:
    """One finding as a workflow command; the hint follows the message on a second line."""
    properties = {
        "file": finding.path,
        "line": str(finding.line),
        "col": str(finding.column),
        "title": f"{finding.code} {finding.name}",
    }
    shown = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    message = finding.message if not finding.hint else f"{finding.message}\nhint: {finding.hint}"
    return f"::{_COMMANDS[finding.severity]} {shown}::{escape_data(message)}"


def escape_data(value: str) -> str:
    """A command's message as the runner reads it (actions/toolkit `escapeData`)."""
    return _escape(value, _DATA_ESCAPES)


def escape_property(value: str) -> str:
    """A command's property value (actions/toolkit `escapeProperty`)."""
    return _escape(value, _PROPERTY_ESCAPES)


def _escape(value: str, escapes: tuple[tuple[str, str], ...]) -> str:
    for raw, escaped in escapes:
        value = value.replace(raw, escaped)
    return value
