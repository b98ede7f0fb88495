"""`mig-lint stamp`: move a database from migrate's version table to alembic's, at the mapped revision.

A database that sqlalchemy-migrate upgraded records `(repository_id, version)` in its
version table. After `mig-lint convert`, the stamp map says which alembic revision each
migrate version became; stamping writes that revision into `alembic_version`, so that
`alembic upgrade head` goes on from exactly where migrate stopped. A version the map does
not know is refused (the database is older or newer than the converted history), and so
is a database that alembic already manages. No migration code runs.
"""
from __future__ import annotations

import configparser
import json
import os

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from mig_lint.db.databases import shown_url
from mig_lint.sources.migrate import read_migrate_config


class StampError(Exception):
    """The database cannot be stamped; the message says why (exit 2)."""


def stamp_map(alembic_dir: str) -> dict[int, str]:
    """`migrate-stamp-map.json` of a converted tree: migrate version -> revision."""
    path = os.path.join(alembic_dir, "migrate-stamp-map.json")
    try:
        with open(path) as f:
            data = json.load(f)
        return {int(version): str(revision) for version, revision in data.items()}
    except (OSError, ValueError, AttributeError) as e:
        raise StampError(f"{path}: cannot read the stamp map that `mig-lint convert` writes ({e})") from None


def stamp(url: str, repository: str, alembic_dir: str) -> tuple[int, str]:
    """Stamp the database at `url`; returns (migrate version, revision)."""
    config = read_migrate_config(os.path.join(repository, "migrate.cfg"))
    if config.problem or config.repository_id is None:
        raise StampError(f"{repository}/migrate.cfg {config.problem or 'names no repository_id'}")
    mapping = stamp_map(alembic_dir)
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            version = _migrate_version(connection, config.version_table, config.repository_id)
            revision = mapping.get(version)
            if revision is None:
                known = f"{min(mapping)}-{max(mapping)}" if mapping else "none"
                raise StampError(f"the database is at migrate version {version}, which the stamp map does not know "
                                 f"(it maps {known}): convert the repository as this database has it")
            context = MigrationContext.configure(connection)
            current = context.get_current_heads()
            if current:
                raise StampError(f"alembic_version already holds {', '.join(current)}: this database is stamped")
            context.stamp(ScriptDirectory(alembic_dir), revision)
    except sa.exc.SQLAlchemyError as e:
        raise StampError(f"{shown_url(url)}: {str(e).splitlines()[0]}") from None
    finally:
        engine.dispose()
    return version, revision


def _engine(url: str) -> sa.Engine:
    try:
        return sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError, configparser.Error) as e:
        raise StampError(f"cannot use --url {shown_url(url)}: {e}") from None



def _migrate_version(connection: sa.Connection, table: str, repository_id: str) -> int:
    if not sa.inspect(connection).has_table(table):
        raise StampError(f"the database has no {table} table: migrate never managed it")
    versions = sa.table(table, sa.column("repository_id"), sa.column("version"))
    row = connection.execute(sa.select(versions.c.version).where(versions.c.repository_id == repository_id)).first()
    if row is None:
        raise StampError(f"{table} has no row for repository {repository_id!r}")
    return int(row[0])
