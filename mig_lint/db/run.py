"""What `replay` and `verify` do before and around the walk: find the trees, make or take the databases.

The worker of `replay` is started first, so that it imports SQLAlchemy and alembic while
mig-lint does the same; nothing heavy is imported here before it starts.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import closing
from contextlib import contextmanager
from contextlib import nullcontext
from typing import TYPE_CHECKING
from typing import TypeVar

from mig_lint.db.options import Interpreters
from mig_lint.db.options import ReplayOptions
from mig_lint.db.process import Worker
from mig_lint.db.process import WorkerError
from mig_lint.discover import discover
from mig_lint.discover import DiscoveryError
from mig_lint.model import TreeSpec

if TYPE_CHECKING:
    from mig_lint.db.replay import Replay
    from mig_lint.db.replay import Step
    from mig_lint.db.verify import Verification


T = TypeVar("T")


class RunError(Exception):
    """Replay or verify could not start or go on: a tree, a database, a dump or the worker (exit 2)."""


def one_tree(path: str, fmt: str | None = None) -> TreeSpec:
    """The single tree at `path` (of format `fmt` when given)."""
    trees = [t for t in discover([path]) if fmt is None or t.format == fmt]
    if len(trees) != 1:
        what = f"{fmt} trees" if fmt else "migration trees"
        raise DiscoveryError(f"{path}: holds {len(trees)} {what}; name the folder of one")
    return trees[0]


def run_replay(path: str, url: str | None, options: ReplayOptions, load: str | None = None,
               progress: Callable[[Step, int], None] = lambda step, total: None) -> Replay:
    """Replay the tree at `path` on `url` (default: a temporary SQLite file), after loading the dump `load`."""
    return run_guarded(_replay, path, url, options, load, progress)


def _replay(path: str, url: str | None, options: ReplayOptions, load: str | None,
            progress: Callable[[Step, int], None]) -> Replay:
    tree = one_tree(path)
    with _temporary_sqlite() if url is None else nullcontext(url) as target, \
            closing(Worker(options.python.of(tree.format), options.timeout)) as worker:
        from mig_lint.db.dump import load_dump
        from mig_lint.db.replay import replay

        if load is not None:
            load_dump(target, load)
        return replay(tree, target, worker, options, progress)


def run_verify(repository: str, alembic: str, urls: Sequence[str | None], python: Interpreters,
               timeout: float | None = None, keep: bool = False, downgrade: bool = False) -> list[Verification]:
    """Verify the conversion on two scratch databases of each server in `urls` (None: SQLite)."""
    return run_guarded(_verify, repository, alembic, urls, python, timeout, keep, downgrade)


def _verify(repository: str, alembic: str, urls: Sequence[str | None], python: Interpreters,
            timeout: float | None, keep: bool, downgrade: bool) -> list[Verification]:
    from mig_lint.db.databases import scratch_databases
    from mig_lint.db.verify import verify

    migrate_tree, alembic_tree = one_tree(repository, "migrate"), one_tree(alembic, "alembic")
    results = []
    for url in urls:
        with scratch_databases(url, ("migrate", "alembic"), keep) as (by_migrate, by_alembic):
            results.append(verify(migrate_tree, alembic_tree, (by_migrate, by_alembic), python, timeout, downgrade))
    return results


def run_guarded(function: Callable[..., T], *args: object) -> T:
    """`function(*args)`, with a tree, database, dump, worker or driver problem as a RunError."""
    try:
        return function(*args)
    except Exception as e:  # noqa: BLE001 - the expected ones are told apart by _message
        raise RunError(_message(e)) from None


@contextmanager
def _temporary_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="mig-lint-") as folder:
        yield f"sqlite:///{os.path.join(folder, 'replay.db')}"


def _message(error: Exception) -> str:
    """The one line that says what went wrong; anything unexpected goes on to the top-level guard."""
    import configparser

    import sqlalchemy as sa

    from mig_lint.db.databases import DatabaseError
    from mig_lint.db.dump import DumpError
    from mig_lint.db.stamp import StampError
    from mig_lint.db.verify import VerifyError

    if isinstance(error, sa.exc.SQLAlchemyError):
        return str(error).splitlines()[0]
    if isinstance(error, ImportError):
        return f"a database driver is missing: {error}"
    if isinstance(error, (DiscoveryError, WorkerError, DatabaseError, DumpError, StampError, VerifyError,
                          configparser.Error)):
        return str(error)
    raise error
