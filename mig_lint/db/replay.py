"""`mig-lint replay`: apply a tree's migrations one step at a time, timing each and saying what it changed.

The worker runs the steps; between two of them mig-lint snapshots the database (only the
tables whose catalog entry moved are reflected again) and describes the difference. A
failed or timed-out step ends the replay and leaves the database as the step left it.
`downgrade` then walks back down, `snake` goes up-down-up at every step; a step down must
give back the schema from before its step up (the walk stops at one that does not).
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import sqlalchemy as sa

from mig_lint.db.databases import shown_url
from mig_lint.db.options import ReplayOptions
from mig_lint.db.process import StepDone
from mig_lint.db.process import Worker
from mig_lint.db.schema import advance
from mig_lint.db.schema import Change
from mig_lint.db.schema import compare
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
class Replay:
    """The steps of one replay, in the order they ran."""

    tree: TreeSpec
    database: str
    current: str | None
    planned: tuple[str, ...]
    steps: tuple[Step, ...] = field(default=())

    @property
    def failed(self) -> bool:
        """A step failed (the walk stops at the first that does not finish or does not reverse)."""
        return any(step.failed for step in self.steps)


def worker_request(tree: TreeSpec, url: str, start: str | None) -> dict[str, object]:
    """The worker's opening request for `tree`."""
    return {"format": tree.format, "tree": tree.root, "version_locations": list(tree.version_locations),
            "url": url, "from": start}


def replay(tree: TreeSpec, url: str, worker: Worker, options: ReplayOptions,
           progress: Callable[[Step, int], None] = lambda step, total: None) -> Replay:
    """Replay `tree` on the database at `url` with the started `worker`; `progress` hears of every step.

    `progress` is given each step as it is recorded and the number of steps the walk plans.
    """
    engine = sa.create_engine(url)
    copy = None
    try:
        opened = worker.open(worker_request(tree, url, options.start))
        copy = _SqliteCopy.of(url)
        walk = _Walk(engine, copy, worker, options, progress)
        walk.run(_ops(opened.plan, options))
    finally:
        engine.dispose()
        if copy is not None:
            copy.close()
    return Replay(tree, shown_url(url), opened.current, opened.plan, tuple(walk.steps))


def _ops(plan: tuple[str, ...], options: ReplayOptions) -> list[tuple[str, str]]:
    """The walk: every version up (and down and up again with `snake`), then all down with `downgrade`."""
    ops = [(op, version) for version in plan for op in (("up", "down", "up") if options.snake else ("up",))]
    return ops + ([("down", version) for version in reversed(plan)] if options.downgrade else [])


class _SqliteCopy:
    """A consistent in-memory copy of a SQLite file, taken after each step.

    mig-lint reflects the copy while the worker goes on with the next step, so that the
    snapshots cost no wall time of their own on the embedded default database.
    """

    def __init__(self, path: str) -> None:
        self.source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.memory = sqlite3.connect(":memory:", check_same_thread=False)
        self.engine = sa.create_engine("sqlite://", creator=lambda: self.memory, poolclass=sa.pool.StaticPool)

    @classmethod
    def of(cls, url: str) -> _SqliteCopy | None:
        parsed = sa.engine.make_url(url)
        path = parsed.database
        if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or not os.path.isfile(path):
            return None
        return cls(path)

    def take(self) -> sa.Engine:
        self.source.backup(self.memory)
        return self.engine

    def close(self) -> None:
        self.engine.dispose()
        self.source.close()
        self.memory.close()


class _Walk:
    """The replay's moving state: the snapshot of the database now, the one before each step up, the steps."""

    def __init__(self, engine: sa.Engine, copy: _SqliteCopy | None, worker: Worker, options: ReplayOptions,
                 progress: Callable[[Step, int], None]) -> None:
        self.engine, self.copy, self.worker, self.options, self.progress = engine, copy, worker, options, progress
        self.steps: list[Step] = []
        with engine.connect() as connection:
            self.snapshot = take_snapshot(connection)
        self.before_up: dict[str, Snapshot] = {}
        self.planned = 0

    def run(self, ops: list[tuple[str, str]]) -> None:
        """Run `ops`, stopping at a step that fails or does not reverse.

        With a copy to read, a step up that follows a step up is sent before the one before
        it is described; downgrades wait, as the walk may stop after them.
        """
        self.planned = len(ops)
        if ops:
            self.worker.send(ops[0][0])
        for index, (op, version) in enumerate(ops):
            done = self.worker.receive(version)
            following = ops[index + 1][0] if index + 1 < len(ops) and not (done.error or done.timed_out) else None
            view = self.engine
            if self.copy is not None and op == following == "up":
                view = self.copy.take()
                self.worker.send(following)
            step = self._record(op, done, view)
            if following is None or step.not_reversed:
                return
            if view is self.engine:
                self.worker.send(following)

    def _record(self, direction: str, done: StepDone, view: sa.Engine) -> Step:
        expected = self.before_up.get(done.version) if direction == "down" else None
        if direction == "up":
            self.before_up[done.version] = self.snapshot
        with view.connect() as connection:
            step_changes, self.snapshot = advance(connection, self.snapshot)
            left: tuple[Change, ...] = ()
            if expected is not None and not done.error:
                left = compare(connection, expected, moved_tables(expected, self.snapshot.fingerprints))[0]
        budget = self.options.budget
        step = Step(len(self.steps) + 1, direction, done, step_changes,
                    over_budget=budget is not None and done.seconds > budget, not_reversed=left)
        self.steps.append(step)
        self.progress(step, self.planned)
        return step
