"""`mig-lint legacy-env DIR`: a virtualenv in which sqlalchemy-migrate still runs.

sqlalchemy-migrate 0.13.0, its last release, imports `pkg_resources` and
`sqlalchemy.databases`: it needs SQLAlchemy < 2 and setuptools < 82, so it cannot share
mig-lint's interpreter. `replay` and `verify` run a migrate repository's steps in such an
interpreter (`--migrate-python DIR/bin/python`). It gets the drivers of mig-lint's
`postgresql` and `mysql` extras (psycopg2, PyMySQL), so that a `postgresql://` or `mysql://`
URL works in both interpreters.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

SQLALCHEMY = "1.4.54"  # the default; 1.3.24 for scripts that use what 1.4 removed (`Table.count()`)
MIGRATE_REQUIREMENTS = ("sqlalchemy-migrate==0.13.0", f"SQLAlchemy=={SQLALCHEMY}", "setuptools<82")
# psycopg 3 has no SQLAlchemy 1.4 dialect: the legacy side uses psycopg2 (drivers.usable_url switches to it).
DRIVER_REQUIREMENTS = ("psycopg2-binary>=2.9", "PyMySQL>=1.1")
_CHECK = "import migrate.versioning.repository, sqlalchemy, psycopg2, pymysql; print(sqlalchemy.__version__)"
_OUTPUT_TAIL = 30


class LegacyEnvError(Exception):
    """The virtualenv could not be made or does not import migrate; the message shows pip's last lines."""


def interpreter(env_dir: str) -> str:
    """The Python of the virtualenv at `env_dir`."""
    return os.path.join(env_dir, "Scripts", "python.exe") if os.name == "nt" else os.path.join(env_dir, "bin", "python")


def make_legacy_env(env_dir: str, extra: Sequence[str] = (), python: str = sys.executable,
                    sqlalchemy: str = SQLALCHEMY) -> str:
    """Create (or update) the virtualenv at `env_dir` with migrate, SQLAlchemy `sqlalchemy`, the
    drivers and `extra`; return its Python."""
    if not os.path.isfile(interpreter(env_dir)):
        _run([python, "-m", "venv", env_dir], f"cannot create a virtualenv in {env_dir}")
    legacy = interpreter(env_dir)
    requirements = [f"SQLAlchemy=={sqlalchemy}" if r.startswith("SQLAlchemy==") else r
                    for r in MIGRATE_REQUIREMENTS]
    _run([legacy, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", *requirements,
          *DRIVER_REQUIREMENTS, *extra],
         "pip install failed")
    _run([legacy, "-I", "-c", _CHECK], f"{legacy} cannot import migrate")
    return legacy


def _run(command: list[str], reason: str) -> None:
    try:
        process = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, check=False)
    except OSError as e:
        raise LegacyEnvError(f"{reason}: {e}") from None
    if process.returncode != 0:
        tail = process.stdout.splitlines()[-_OUTPUT_TAIL:]
        raise LegacyEnvError(f"{reason} (exit {process.returncode}):" + "".join(f"\n  {line}" for line in tail))
