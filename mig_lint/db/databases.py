"""Scratch databases for `verify` and the default of `replay`: SQLite files, or new databases on a server."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


class DatabaseError(Exception):
    """A scratch database could not be made; the message names the server."""


@contextmanager
def scratch_databases(url: str | None, names: tuple[str, ...], keep: bool = False) -> Iterator[tuple[str, ...]]:
    """One new, empty database per name, on the server of `url` or as SQLite files when `url` is None or SQLite.

    They are dropped afterwards unless `keep`.
    """
    if url is None or sa.engine.make_url(url).get_backend_name() == "sqlite":
        folder = tempfile.mkdtemp(prefix="mig-lint-")
        try:
            yield tuple(f"sqlite:///{os.path.join(folder, name + '.db')}" for name in names)
        finally:
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)
        return
    server = sa.engine.make_url(url)
    if server.get_backend_name() not in ("postgresql", "mysql", "mariadb"):
        raise DatabaseError(f"cannot make scratch databases on {server.get_backend_name()}: "
                            "give a SQLite, PostgreSQL or MySQL/MariaDB URL")
    token = uuid.uuid4().hex[:8]
    databases = [f"mig_lint_{token}_{name}" for name in names]
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        _run(admin, [f"CREATE DATABASE {name}" for name in databases], server)
        yield tuple(server.set(database=name).render_as_string(hide_password=False) for name in databases)
    finally:
        if not keep:
            force = " WITH (FORCE)" if server.get_backend_name() == "postgresql" else ""
            _run(admin, [f"DROP DATABASE IF EXISTS {name}{force}" for name in databases], server)
        admin.dispose()


def shown_url(url: str) -> str:
    """The URL as messages and reports show it: without its password (as given when it does not parse)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _run(admin: sa.Engine, statements: list[str], server: sa.URL) -> None:
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    except sa.exc.SQLAlchemyError as e:
        raise DatabaseError(f"{server.render_as_string(hide_password=True)}: {str(e).splitlines()[0]}") from None
