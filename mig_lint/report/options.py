"""How a report is rendered."""
from __future__ import annotations

from dataclasses import dataclass

from mig_lint.model import SLOTS


@dataclass(frozen=True, **SLOTS)
class ReportOptions:
    """Rendering choices that do not change what was found."""

    color: bool = False
    version: str = ""
    statistics: bool = False
    summary: bool = True  # False with --quiet: the findings only
