"""Fresh databases on the machine's PostgreSQL and MariaDB servers, for tests that need them.

The servers are required where `CI` is set (a missing one fails the test there) and
optional elsewhere (the test is skipped, saying which server it could not reach).
`MIG_LINT_TEST_POSTGRESQL_URL` and `MIG_LINT_TEST_MARIADB_URL` point elsewhere.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

SERVERS = {
    "postgresql": os.environ.get("MIG_LINT_TEST_POSTGRESQL_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"),
    "mariadb": os.environ.get("MIG_LINT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}


def require_server(kind: str, tmp_path) -> str:
    """The URL of the `kind` server, once it has been reached (else the test fails under CI or is skipped)."""
    with fresh_database(kind, tmp_path):
        pass
    return SERVERS[kind]


@contextmanager
def fresh_database(kind: str, tmp_path) -> Iterator[str]:
    """The URL of a new, empty database (SQLite: a file in tmp_path), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    server = sa.engine.make_url(SERVERS[kind])
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as e:
        admin.dispose()
        message = f"no {kind} server at {server.render_as_string(hide_password=True)}: {str(e).splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"mig_lint_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            if kind == "postgresql":
                connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
            else:
                connection.exec_driver_sql(f"DROP DATABASE {name}")
        admin.dispose()
