"""`path:line:col: ML101 [multiple-heads] message`, one finding a line, then a summary."""
from __future__ import annotations

from collections import Counter

from mig_lint.check import CheckResult
from mig_lint.model import SEVERITIES
from mig_lint.report.options import ReportOptions
from mig_lint.words import counted

_COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_BOLD = "\033[1m"
_DIM = "\033[2m"
_RESET = "\033[0m"


def render(result: CheckResult, options: ReportOptions) -> str:
    """The findings as editor-jumpable lines, each followed by its hint."""
    lines = []
    for finding in result.findings:
        where = f"{finding.path}:{finding.line}:{finding.column}:"
        code = finding.code
        if options.color:
            where = f"{_BOLD}{where}{_RESET}"
            code = f"{_COLORS[finding.severity]}{code}{_RESET}"
        lines.append(f"{where} {code} [{finding.name}] {finding.message}")
        if finding.hint:
            hint = f"    hint: {finding.hint}"
            lines.append(f"{_DIM}{hint}{_RESET}" if options.color else hint)
    if options.statistics:
        lines.extend(statistics(result))
    if options.summary:
        lines.append(summary(result))
    return "".join(line + "\n" for line in lines)


def statistics(result: CheckResult) -> list[str]:
    """`   3 ML101 multiple-heads`: how many findings of each code, sorted by code."""
    counts = Counter((f.code, f.name) for f in result.findings)
    return [f"{n:4} {code} {name}" for (code, name), n in sorted(counts.items())]


def summary(result: CheckResult) -> str:
    """One line: how many findings of each severity, in how many trees."""
    revisions = sum(len(g.revisions) for g in result.graphs)
    trees = len(result.graphs)
    scope = f"{counted(trees, 'tree')}, {counted(revisions, 'revision')}"
    counts = [(level, sum(f.severity == level for f in result.findings)) for level in SEVERITIES]
    found = [counted(n, level) for level, n in counts if n]
    if not found:
        return f"No problems in {scope}."
    return f"Found {', '.join(found)} in {scope}."
