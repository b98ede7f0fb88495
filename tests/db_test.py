"""Small units of mig_lint.db: snapshots without fingerprints, the mysql client's options, the error guard."""
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


def test_the_mysql_client_is_given_the_port_only_when_the_url_has_one():
    from mig_lint.db.dump import _mysql_command

    without = _mysql_command(sa.engine.make_url("mysql+pymysql://root@db.example/shop"))
    assert without[1:] == ["--host=db.example", "--user=root", "shop"]
    assert "--port=3307" in _mysql_command(sa.engine.make_url("mysql+pymysql://root@db.example:3307/shop"))


def test_an_unexpected_error_is_not_dressed_as_a_usage_error():
    import pytest

    from mig_lint.db.run import _message

    with pytest.raises(ZeroDivisionError):
        _message(ZeroDivisionError("a bug"))
