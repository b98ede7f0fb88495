"""`mig-lint verify`: prove that a converted alembic chain builds, step for step, the schema migrate built.

Two workers run the two chains on two scratch databases of one server (two SQLite files by
default): after each migrate version, the alembic chain is brought up to the revision the
stamp map gives for it, both databases are snapshotted, and the tables that moved on either
side since the last match are compared. The walk stops at the first version that differs,
or whose comparison fails; the versions matched before it are kept. With `downgrade`, a
walk that matched every version then goes back down, version by version, both sides, and
compares after each downgrade.

The version tables are each tool's own: `migrate_version` and `alembic_version` are left
out, and so are copies of them under one prefix (a script that copies every table makes
`shadow_migrate_version` on one side and `shadow_alembic_version` on the other). Such a
pair counts as one table: it must be on both sides or neither, and its columns are not compared.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import replace

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
    comparison_error: str | None = None

    @property
    def failed(self) -> bool:
        steps = (self.migrate, *self.alembic)
        return bool(self.differences or self.comparison_error) or any(s.error or s.timed_out for s in steps)


@dataclass(frozen=True, slots=True)
class Verification:
    """The versions compared on two databases (migrate's, alembic's), in order; the last one failed if any did."""

    databases: tuple[str, str]
    pairs: tuple[Pair, ...]
    planned: int
    version_tables: tuple[str, str] = ("migrate_version", "alembic_version")
    version_copies: tuple[str, ...] = ()
    downgrade: bool = False  # asked to walk back down after the upgrades
    down_pairs: tuple[Pair, ...] = ()  # each version undone, newest first, compared after its downgrade
    down_planned: int = 0  # the matched versions above the squash (if any) that the walk back undoes

    @property
    def upgrades_ok(self) -> bool:
        return len(self.pairs) == self.planned and not any(p.failed for p in self.pairs)

    @property
    def downgrades_ok(self) -> bool:
        return len(self.down_pairs) == self.down_planned and not any(p.failed for p in self.down_pairs)

    @property
    def ok(self) -> bool:
        return self.upgrades_ok and (not self.downgrade or self.downgrades_ok)

    @property
    def matched_down(self) -> int:
        """How many versions walked back to the same schema before the downgrade walk stopped."""
        return sum(not p.failed for p in self.down_pairs)

    @property
    def matched(self) -> int:
        """How many versions built the same schema before the walk stopped."""
        return sum(not p.failed for p in self.pairs)

    @property
    def failed_version(self) -> str | None:
        """The migrate version the walk stopped at, if any."""
        return self.pairs[-1].version if self.pairs and self.pairs[-1].failed else None


def verify(repository: TreeSpec, alembic: TreeSpec, urls: tuple[str, str], python: Interpreters,
           timeout: float | None = None, downgrade: bool = False) -> Verification:
    """Walk both chains from empty databases at `urls` (migrate's, alembic's) and compare every version;
    with `downgrade`, once every version matched, walk back down and compare after each downgrade."""
    mapping = stamp_map(alembic.root)
    version_table = read_migrate_config(os.path.join(repository.root, "migrate.cfg")).version_table
    ignore = VERSION_TABLES | {version_table}
    engines = tuple(sa.create_engine(url) for url in urls)
    workers: list[Worker] = []
    try:
        workers.append(Worker(python.migrate, timeout))
        workers.append(Worker(python.alembic, timeout))
        workers[0].open(worker_request(repository, urls[0], None))
        workers[1].open(worker_request(alembic, urls[1], None))
        walk = _SideBySide(engines, workers[0], workers[1], ignore, version_table)
        pairs = walk.run(_pairs(workers[0].opened.plan, workers[1].opened.plan, mapping))
        planned = len(workers[0].opened.plan)
        matched = _walked_back_from(pairs) if downgrade else ()
        down_pairs = walk.back(matched)
    finally:
        for worker in workers:
            worker.close()
        for engine in engines:
            engine.dispose()
    return Verification((shown_url(urls[0]), shown_url(urls[1])), pairs, planned,
                        (version_table, "alembic_version"), tuple(sorted(walk.copies)), downgrade, down_pairs,
                        sum(bool(p.revision) for p in matched))


def _walked_back_from(pairs: tuple[Pair, ...]) -> tuple[Pair, ...]:
    """The versions the walk back starts from: all that matched, when the walk up did not stop
    on a difference (a migrate step that fails leaves both databases at the version before)."""
    last = pairs[-1] if pairs else None
    if last is not None and last.failed:
        migrate_stopped = (last.migrate.error or last.migrate.timed_out) and not last.alembic
        pairs = pairs[:-1] if migrate_stopped else ()
    squashed = [i for i, pair in enumerate(pairs) if not pair.revision]
    return pairs[squashed[-1] + 2:] if squashed else pairs  # undoing the squash would undo all below it


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
                 ignore: frozenset[str], version_table: str) -> None:
        self.engines, self.migrate, self.alembic, self.ignore = engines, migrate, alembic, ignore
        self.version_table = version_table
        self.snapshots = tuple(self._snapshot(engine, None) for engine in engines)
        self.copies: set[str] = set()

    def run(self, pairs: list[tuple[str, tuple[str, ...]]]) -> tuple[Pair, ...]:
        done: list[Pair] = []
        for version, revisions in pairs:
            pair = self._step(version, revisions)
            done.append(pair)
            if pair.failed:
                break
        return tuple(done)

    def back(self, pairs: tuple[Pair, ...]) -> tuple[Pair, ...]:
        """Undo each version, newest first, both sides, comparing after each; stops at the first difference."""
        done: list[Pair] = []
        for pair in reversed(pairs):
            revisions = tuple(reversed([d.version for d in pair.alembic]))
            down = self._step(pair.version, revisions, "down")
            done.append(down)
            if down.failed:
                break
        return tuple(done)

    def _step(self, version: str, revisions: tuple[str, ...], direction: str = "up") -> Pair:
        migrated = self.migrate.step(direction, version)
        upgraded: list[StepDone] = []
        if not (migrated.error or migrated.timed_out):
            for revision in revisions:
                upgraded.append(self.alembic.step(direction, revision))
                if upgraded[-1].error or upgraded[-1].timed_out:
                    break
        last = "" if not revisions else revisions[-1] if direction == "up" else revisions[0]
        pair = Pair(version, last, migrated, tuple(upgraded))
        if pair.failed or not revisions:
            return pair
        try:
            found = self._compare()
        except Exception as e:  # noqa: BLE001 - whatever stops the comparison, the walk so far is kept
            return replace(pair, comparison_error=f"{type(e).__name__}: {str(e).strip().splitlines()[0]}")
        return replace(pair, differences=found)

    def _compare(self) -> tuple[Change, ...]:
        """The differences between the two databases in the tables that moved since the last match."""
        before = self.snapshots
        self.snapshots = tuple(self._snapshot(e, s) for e, s in zip(self.engines, before))
        moved = [moved_tables(old, new.fingerprints) for old, new in zip(before, self.snapshots)]
        tables = None if None in moved else frozenset(name for names in moved for name in names or ())
        with self.engines[1].connect() as connection:
            found = compare(connection, self.snapshots[0], tables, self.ignore)[0]
        return found + self._version_copy_changes()

    def _version_copy_changes(self) -> tuple[Change, ...]:
        """A copy of the version table on one side only; the copies' prefixes are remembered for the report."""
        migrate, alembic = (s.version_copies for s in self.snapshots)
        self.copies.update(p for p in migrate & alembic if p)
        names = {"removed": migrate - alembic, "added": alembic - migrate}
        return tuple(Change(action, "table", f"{p}{self.version_table}/{p}alembic_version")
                     for action, prefixes in names.items() for p in sorted(prefixes))

    def _snapshot(self, engine: sa.Engine, previous: Snapshot | None) -> Snapshot:
        with engine.connect() as connection:
            return take_snapshot(connection, previous, self.ignore)
