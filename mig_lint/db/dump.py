"""`replay --load FILE`: restore a SQL dump into the database before the first step.

A dump is restored by the tool that reads it best: SQLite's own script executor, `psql`
for PostgreSQL (pg_dump's COPY blocks need it) and `mysql`/`mariadb` for MySQL and MariaDB
(mysqldump's output). The client must be on PATH; a statement that fails stops the load.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

import sqlalchemy as sa


class DumpError(Exception):
    """The dump could not be restored; the message names the file and the client's complaint."""


def load_dump(url: str, path: str) -> None:
    """Run the SQL file `path` against the database at `url`."""
    target = sa.engine.make_url(url)
    backend = target.get_backend_name()
    try:
        with open(path, encoding="utf-8") as f:
            script = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise DumpError(f"{path}: cannot read the dump ({e})") from None
    if backend == "sqlite":
        _sqlite(target, path, script)
    elif backend == "postgresql":
        _client(["psql", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "-d", _libpq(target)], {}, path, script)
    elif backend in ("mysql", "mariadb"):
        _client(_mysql_command(target), {"MYSQL_PWD": target.password or ""}, path, script)
    else:
        raise DumpError(f"--load restores dumps into SQLite, PostgreSQL and MySQL/MariaDB, not {backend}")


def _sqlite(target: sa.URL, path: str, script: str) -> None:
    connection = sqlite3.connect(target.database or ":memory:")
    try:
        connection.executescript(script)
    except sqlite3.Error as e:
        raise DumpError(f"{path}: {e}") from None
    finally:
        connection.close()


def _libpq(target: sa.URL) -> str:
    return target.set(drivername="postgresql").render_as_string(hide_password=False)


def _mysql_command(target: sa.URL) -> list[str]:
    client = "mariadb" if shutil.which("mariadb") else "mysql"
    user = target.username or os.environ.get("USER", "")
    command = [client, f"--host={target.host or 'localhost'}", f"--user={user}"]
    if target.port:
        command.append(f"--port={target.port}")
    return [*command, target.database or ""]


def _client(command: list[str], env: dict[str, str], path: str, script: str) -> None:
    if shutil.which(command[0]) is None:
        raise DumpError(f"--load {path} needs the `{command[0]}` client on PATH")
    process = subprocess.run(command, input=script, capture_output=True, text=True,
                             env={**os.environ, **env}, check=False)
    if process.returncode != 0:
        said = (process.stderr or process.stdout).strip().splitlines() or ["no message"]
        first_error = next((line for line in said if "ERROR" in line), said[-1])
        raise DumpError(f"{path}: {command[0]} stopped (exit {process.returncode}): {first_error.strip()}")
