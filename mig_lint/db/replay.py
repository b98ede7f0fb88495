"""`mig-lint replay`: apply a tree's migrations one step at a time, timing each and saying what it changed.

The worker runs the steps; between two of them mig-lint snapshots the database (only the
tables whose catalog entry moved are reflected again) and describes the difference. A
failed or timed-out step ends the replay and leaves the database as the step left it.
`downgrade` then walks back down, `snake` goes up-down-up at every step; a step down must
give back the schema from before its step up.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import sqlalchemy as sa

from mig_lint.db.process import StepDone
from mig_lint.db.process import Worker
from mig_lint.db.schema import Change
from mig_lint.db.schema import changes
from mig_lint.db.schema import moved_tables
from mig_lint.db.schema import Snapshot
from mig_lint.db.schema import take_snapshot
from mig_lint.model import TreeSpec


@dataclass(frozen=True, slots=True)
class Step:
    """One step applied: what ran, how long it took, what it changed, and whether it failed."""

    index: int
    direction: str
    done: StepDone
    changes: tuple[Change, ...]
    over_budget: bool = False
    not_reversed: tuple[Change, ...] = ()

    @property
    def failed(self) -> bool:
        return bool(self.done.error or self.done.timed_out or self.over_budget or self.not_reversed)


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How to replay: the worker's interpreter, where to start, the limits, and the walk."""

    python: str = sys.executable
    start: str | None = None
    budget: float | None = None
    timeout: float | None = None
    downgrade: bool = False
    snake: bool = False


@dataclass(frozen=True, slots=True)
class Replay:
    """The steps of one replay, in the order they ran."""

    tree: TreeSpec
    database: str
    current: str | None
    planned: tuple[str, ...]
    steps: tuple[Step, ...] = field(default=())

    @property
    def failed(self) -> bool:
        return any(step.failed for step in self.steps) or len(self._ups()) < len(self.planned)

    def _ups(self) -> list[Step]:
        return [s for s in self.steps if s.direction == "up" and not s.done.error and not s.done.timed_out]


def worker_request(tree: TreeSpec, url: str, start: str | None) -> dict[str, object]:
    """The worker's opening request for `tree`."""
    return {"format": tree.format, "tree": tree.root, "version_locations": list(tree.version_locations),
            "url": url, "from": start}


def replay(tree: TreeSpec, url: str, options: ReplayOptions,
           progress: Callable[[Step], None] = lambda step: None) -> Replay:
    """Replay `tree` on the database at `url`; `progress` hears of every step as it ends."""
    engine = sa.create_engine(url)
    worker = Worker(options.python, worker_request(tree, url, options.start), options.timeout)
    try:
        walk = _Walk(engine, worker, options, progress)
        walk.run()
    finally:
        worker.close()
        engine.dispose()
    return Replay(tree, shown_url(url), worker.opened.current, worker.opened.plan, tuple(walk.steps))


class _Walk:
    """The replay's moving state: the snapshots before each step up, and the steps so far."""

    def __init__(self, engine: sa.Engine, worker: Worker, options: ReplayOptions,
                 progress: Callable[[Step], None]) -> None:
        self.engine, self.worker, self.options, self.progress = engine, worker, options, progress
        self.steps: list[Step] = []
        self.snapshot = self._snapshot(None)

    def run(self) -> None:
        before: list[Snapshot] = []
        for version in self.worker.opened.plan:
            before.append(self.snapshot)
            if not self._up(version) or (self.options.snake and not self._snake(version, before[-1])):
                return
        if self.options.downgrade:
            for version, expected in zip(reversed(self.worker.opened.plan), reversed(before)):
                if not self._down(version, expected):
                    return

    def _snake(self, version: str, expected: Snapshot) -> bool:
        return self._down(version, expected) and self._up(version)

    def _up(self, version: str) -> bool:
        done = self.worker.step("up", version)
        self._record("up", done, None)
        return not (done.error or done.timed_out)

    def _down(self, version: str, expected: Snapshot) -> bool:
        done = self.worker.step("down", version)
        step = self._record("down", done, expected)
        return not (done.error or done.timed_out or step.not_reversed)

    def _record(self, direction: str, done: StepDone, expected: Snapshot | None) -> Step:
        before, self.snapshot = self.snapshot, self._snapshot(self.snapshot)
        with self.engine.connect() as connection:
            step_changes = changes(connection, before, self.snapshot, moved_tables(before, self.snapshot.fingerprints))
            left: tuple[Change, ...] = ()
            if expected is not None and not done.error:
                left = changes(connection, expected, self.snapshot,
                               moved_tables(expected, self.snapshot.fingerprints))
        budget = self.options.budget
        step = Step(len(self.steps) + 1, direction, done, step_changes,
                    over_budget=budget is not None and done.seconds > budget, not_reversed=left)
        self.steps.append(step)
        self.progress(step)
        return step

    def _snapshot(self, previous: Snapshot | None) -> Snapshot:
        with self.engine.connect() as connection:
            return take_snapshot(connection, previous)


def shown_url(url: str) -> str:
    """The URL as reports show it: without its password."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)
