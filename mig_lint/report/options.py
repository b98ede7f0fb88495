"""How a report is rendered."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """Rendering choices that do not change what was found."""

    color: bool = False
    version: str = ""
