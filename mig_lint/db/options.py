"""How to replay, in a module light enough to import before the worker starts."""
from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How to replay: the worker's interpreter, where to start, the limits, and the walk."""

    python: str = sys.executable
    start: str | None = None
    budget: float | None = None
    timeout: float | None = None
    downgrade: bool = False
    snake: bool = False
