"""How to run the workers, in a module light enough to import before they start."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from dataclasses import field


@dataclass(frozen=True, slots=True)
class Interpreters:
    """The Python that runs a migrate repository's steps and the one that runs an alembic tree's."""

    migrate: str = sys.executable
    alembic: str = sys.executable

    def of(self, fmt: str) -> str:
        """The interpreter for a tree of format `fmt`."""
        return self.migrate if fmt == "migrate" else self.alembic


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How to replay: the workers' interpreters, where to start, the limits, and the walk."""

    python: Interpreters = field(default_factory=Interpreters)
    start: str | None = None
    budget: float | None = None
    timeout: float | None = None
    downgrade: bool = False
    snake: bool = False
