"""`mig-lint verify`: prove that a converted alembic chain builds, step for step, the schema migrate built.

Two workers run the two chains on two scratch databases of one server (two SQLite files by
default): after each migrate version, the alembic chain is brought up to the revision the
stamp map gives for it, both databases are snapshotted, and the tables that moved on either
side since the last match are compared. The walk stops at the first version that differs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import sqlalchemy as sa

from mig_lint.db.databases import shown_url
from mig_lint.db.options import Interpreters
from mig_lint.db.process import StepDone
from mig_lint.db.process import Worker
from mig_lint.db.replay import worker_request
from mig_lint.db.schema import Change
from mig_lint.db.schema import compare
from mig_lint.db.schema import moved_tables
from mig_lint.db.schema import Snapshot
from mig_lint.db.schema import take_snapshot
from mig_lint.db.schema import VERSION_TABLES
from mig_lint.db.stamp import stamp_map
from mig_lint.model import TreeSpec
from mig_lint.sources.migrate import read_migrate_config


class VerifyError(Exception):
    """The two trees cannot be walked side by side; the message says why (exit 2)."""


@dataclass(frozen=True, slots=True)
class Pair:
    """One migrate version, the alembic revisions run to match it, and how the schemas differ."""

    version: str
    revision: str
    migrate: StepDone
    alembic: tuple[StepDone, ...]
    differences: tuple[Change, ...] = ()

    @property
    def failed(self) -> bool:
        steps = (self.migrate, *self.alembic)
        return bool(self.differences) or any(s.error or s.timed_out for s in steps)


@dataclass(frozen=True, slots=True)
class Verification:
    """The versions compared on two databases (migrate's, alembic's), in order; the last one failed if any did."""

    databases: tuple[str, str]
    pairs: tuple[Pair, ...]
    planned: int

    @property
    def ok(self) -> bool:
        return len(self.pairs) == self.planned and not any(p.failed for p in self.pairs)


def verify(repository: TreeSpec, alembic: TreeSpec, urls: tuple[str, str], python: Interpreters,
           timeout: float | None = None) -> Verification:
    """Walk both chains from empty databases at `urls` (migrate's, alembic's) and compare every version."""
    mapping = stamp_map(alembic.root)
    ignore = VERSION_TABLES | {read_migrate_config(os.path.join(repository.root, "migrate.cfg")).version_table}
    engines = tuple(sa.create_engine(url) for url in urls)
    workers: list[Worker] = []
    try:
        workers.append(Worker(python.migrate, timeout))
        workers.append(Worker(python.alembic, timeout))
        workers[0].open(worker_request(repository, urls[0], None))
        workers[1].open(worker_request(alembic, urls[1], None))
        walk = _SideBySide(engines, workers[0], workers[1], ignore)
        pairs = walk.run(_pairs(workers[0].opened.plan, workers[1].opened.plan, mapping))
    finally:
        for worker in workers:
            worker.close()
        for engine in engines:
            engine.dispose()
    return Verification((shown_url(urls[0]), shown_url(urls[1])), pairs, len(workers[0].opened.plan))


def _pairs(versions: tuple[str, ...], revisions: tuple[str, ...],
           mapping: dict[int, str]) -> list[tuple[str, tuple[str, ...]]]:
    """Each migrate version with the alembic revisions to run up to its mapped one.

    Versions below the first one the map knows were squashed (`convert --squash-to`): they
    run on migrate's side alone, and the comparison waits for the squash.
    """
    pairs: list[tuple[str, tuple[str, ...]]] = []
    position = 0
    for version in versions:
        target = mapping.get(int(version))
        if target is None and mapping and int(version) < min(mapping):
            pairs.append((version, ()))
            continue
        if target is None:
            raise VerifyError(f"the stamp map has no revision for migrate version {version}")
        if target not in revisions[position:]:
            raise VerifyError(f"migrate version {version} maps to {target}, which is not above "
                              f"{revisions[position - 1] if position else 'the base'} in the alembic tree")
        end = revisions.index(target, position) + 1
        pairs.append((version, revisions[position:end]))
        position = end
    return pairs


class _SideBySide:
    def __init__(self, engines: tuple[sa.Engine, ...], migrate: Worker, alembic: Worker,
                 ignore: frozenset[str]) -> None:
        self.engines, self.migrate, self.alembic, self.ignore = engines, migrate, alembic, ignore
        self.snapshots = tuple(self._snapshot(engine, None) for engine in engines)

    def run(self, pairs: list[tuple[str, tuple[str, ...]]]) -> tuple[Pair, ...]:
        done: list[Pair] = []
        for version, revisions in pairs:
            pair = self._step(version, revisions)
            done.append(pair)
            if pair.failed:
                break
        return tuple(done)

    def _step(self, version: str, revisions: tuple[str, ...]) -> Pair:
        migrated = self.migrate.step("up", version)
        upgraded: list[StepDone] = []
        if not (migrated.error or migrated.timed_out):
            for revision in revisions:
                upgraded.append(self.alembic.step("up", revision))
                if upgraded[-1].error or upgraded[-1].timed_out:
                    break
        pair = Pair(version, revisions[-1] if revisions else "", migrated, tuple(upgraded))
        if pair.failed or not revisions:
            return pair
        before = self.snapshots
        self.snapshots = tuple(self._snapshot(e, s) for e, s in zip(self.engines, before))
        moved = [moved_tables(old, new.fingerprints) for old, new in zip(before, self.snapshots)]
        tables = None if None in moved else frozenset(name for names in moved for name in names or ())
        with self.engines[1].connect() as connection:
            found = compare(connection, self.snapshots[0], tables, self.ignore)[0]
        return Pair(version, pair.revision, migrated, tuple(upgraded), found)

    def _snapshot(self, engine: sa.Engine, previous: Snapshot | None) -> Snapshot:
        with engine.connect() as connection:
            return take_snapshot(connection, previous, self.ignore)
