"""Schema snapshots where the dialect has no fingerprint query: every table is reflected and compared."""
from __future__ import annotations

import sqlalchemy as sa

from mig_lint.db import schema


def test_without_fingerprints_everything_is_compared(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "_FINGERPRINT_QUERIES", {})
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE a (id INTEGER PRIMARY KEY)")
        before = schema.take_snapshot(connection)
        connection.exec_driver_sql("CREATE TABLE b (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("ALTER TABLE a ADD COLUMN note VARCHAR(10)")
        after = schema.take_snapshot(connection, before)
        assert before.fingerprints is None and schema.moved_tables(before, after.fingerprints) is None
        assert after.tables.keys() == {"a", "b"}
        assert [str(c) for c in schema.compare(connection, before)[0]] == [
            "+ column a.note: VARCHAR(10)", "+ table b"]
    engine.dispose()
