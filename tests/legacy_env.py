"""A legacy interpreter with sqlalchemy-migrate, for the differential tests.

sqlalchemy-migrate 0.13.0 needs SQLAlchemy < 2 and setuptools < 82, so it cannot
live beside mig-lint's own test dependencies.  ``legacy_python()`` builds a
virtualenv once, in the repo's gitignored ``.venv-legacy/`` folder, and returns
its interpreter; ``MIG_LINT_LEGACY_PYTHON`` names an existing interpreter
instead.  When the interpreter cannot be had, the calling test fails under CI
(``CI`` set) with pip's output, and is skipped elsewhere.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import NoReturn

import pytest

from mig_lint.db.legacy import LegacyEnvError as BuildError
from mig_lint.db.legacy import make_legacy_env
from mig_lint.db.legacy import MIGRATE_REQUIREMENTS

ENV_VAR = "MIG_LINT_LEGACY_PYTHON"
# coverage, at the test run's own version, measures mig-lint's worker in this interpreter too.
# alembic 1.19, the last for SQLAlchemy 1.4, runs converted trees there (--python).
EXTRA = ("alembic==1.19.2", "psycopg2-binary==2.9.10", "PyMySQL==1.1.1", f"coverage=={metadata.version('coverage')}",
         f"covdefaults=={metadata.version('covdefaults')}")
REQUIREMENTS = (*MIGRATE_REQUIREMENTS, *EXTRA)
CHECK = "import migrate.versioning.repository"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".venv-legacy"
PIP_TIMEOUT = 900
OUTPUT_TAIL = 6000


class LegacyEnvError(Exception):
    """The legacy interpreter could not be built or does not import migrate."""

    def __init__(self, reason: str, output: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.output = output


def legacy_python() -> str:
    """Path of an interpreter that imports migrate; fails (CI) or skips if none."""
    try:
        return str(_find_or_build())
    except LegacyEnvError as exc:
        _give_up(exc)


def _give_up(exc: LegacyEnvError) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"legacy interpreter for sqlalchemy-migrate: {exc.reason}\n{exc.output}")
    pytest.skip(f"no legacy interpreter for sqlalchemy-migrate ({exc.reason}); set {ENV_VAR}")


def _find_or_build() -> Path:
    given = os.environ.get(ENV_VAR)
    if given:
        python = Path(given)
        if not python.is_file():
            raise LegacyEnvError(f"{ENV_VAR}={given} is not a file")
        _check(python)
        return python
    env_dir = CACHE / f"py{sys.version_info[0]}{sys.version_info[1]}"
    python = _interpreter(env_dir)
    CACHE.mkdir(exist_ok=True)
    with _locked(CACHE / f"{env_dir.name}.lock"):
        marker = env_dir / "mig-lint-requirements.txt"
        if python.is_file() and marker.is_file() and marker.read_text() == _pinned():
            with contextlib.suppress(LegacyEnvError):  # a broken env is rebuilt
                _check(python)
                return python
        _build(env_dir, python)
        _check(python)
        marker.write_text(_pinned())
    return python


def _pinned() -> str:
    return "\n".join(REQUIREMENTS) + "\n"


def _interpreter(env_dir: Path) -> Path:
    return env_dir / "bin" / "python"


def _build(env_dir: Path, python: Path) -> None:
    """`mig-lint legacy-env`'s own function, with the database drivers and coverage."""
    _run([sys.executable, "-m", "venv", "--clear", str(env_dir)], "python -m venv failed")
    try:
        make_legacy_env(str(env_dir), EXTRA)
    except BuildError as exc:
        raise LegacyEnvError("mig-lint legacy-env failed", str(exc)) from exc


def _check(python: Path) -> None:
    _run([str(python), "-I", "-c", CHECK], f"{python} cannot {CHECK!r}")


def _run(cmd: list[str], reason: str) -> None:
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=PIP_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LegacyEnvError(f"{reason}: {exc}") from exc
    if proc.returncode != 0:
        output = proc.stdout[-OUTPUT_TAIL:]
        raise LegacyEnvError(f"{reason} (exit {proc.returncode})", f"$ {' '.join(cmd)}\n{output}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``, so two pytest processes build one env."""
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
