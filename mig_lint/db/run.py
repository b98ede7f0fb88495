"""What `replay` and `verify` do before and around the walk: find the trees, make or take the databases."""
from __future__ import annotations

import configparser
from collections.abc import Callable
from collections.abc import Sequence
from contextlib import nullcontext

import sqlalchemy as sa

from mig_lint.db.databases import DatabaseError
from mig_lint.db.databases import scratch_databases
from mig_lint.db.dump import DumpError
from mig_lint.db.dump import load_dump
from mig_lint.db.process import WorkerError
from mig_lint.db.replay import Replay
from mig_lint.db.replay import replay
from mig_lint.db.replay import ReplayOptions
from mig_lint.db.replay import Step
from mig_lint.db.stamp import StampError
from mig_lint.db.verify import Interpreters
from mig_lint.db.verify import Verification
from mig_lint.db.verify import verify
from mig_lint.db.verify import VerifyError
from mig_lint.discover import discover
from mig_lint.discover import DiscoveryError
from mig_lint.model import TreeSpec


class RunError(Exception):
    """Replay or verify could not start or go on: a tree, a database, a dump or the worker (exit 2)."""


_FAILURES = (DiscoveryError, DatabaseError, DumpError, WorkerError, StampError, VerifyError, sa.exc.SQLAlchemyError,
             ImportError, configparser.Error)


def one_tree(path: str, fmt: str | None = None) -> TreeSpec:
    """The single tree at `path` (of format `fmt` when given)."""
    trees = [t for t in discover([path]) if fmt is None or t.format == fmt]
    if len(trees) != 1:
        what = f"{fmt} trees" if fmt else "migration trees"
        raise DiscoveryError(f"{path}: holds {len(trees)} {what}; name the folder of one")
    return trees[0]


def run_replay(path: str, url: str | None, options: ReplayOptions, load: str | None = None,
               progress: Callable[[Step], None] = lambda step: None) -> Replay:
    """Replay the tree at `path` on `url` (default: a temporary SQLite file), after loading the dump `load`."""
    try:
        tree = one_tree(path)
        with scratch_databases(None, ("replay",)) if url is None else nullcontext((url,)) as (target,):
            if load is not None:
                load_dump(target, load)
            return replay(tree, target, options, progress)
    except _FAILURES as e:
        raise RunError(_message(e)) from None


def run_verify(repository: str, alembic: str, urls: Sequence[str | None], python: Interpreters,
               timeout: float | None = None, keep: bool = False) -> list[Verification]:
    """Verify the conversion on two scratch databases of each server in `urls` (None: SQLite)."""
    results = []
    try:
        migrate_tree, alembic_tree = one_tree(repository, "migrate"), one_tree(alembic, "alembic")
        for url in urls:
            with scratch_databases(url, ("migrate", "alembic"), keep) as (by_migrate, by_alembic):
                results.append(verify(migrate_tree, alembic_tree, (by_migrate, by_alembic), python, timeout))
    except _FAILURES as e:
        raise RunError(_message(e)) from None
    return results


def _message(error: Exception) -> str:
    if isinstance(error, sa.exc.SQLAlchemyError):
        return str(error).splitlines()[0]
    if isinstance(error, ImportError):
        return f"a database driver is missing: {error}"
    return str(error)
