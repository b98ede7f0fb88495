"""`postgresql://` and `mysql://` URLs use the installed driver: checked with the real drivers and servers."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from mig_lint.cli import main
from mig_lint.db.drivers import usable_url
from tests.databases import fresh_database
from tests.databases import require_server
from tests.legacy_env import legacy_python

# This interpreter (the test extras) has psycopg2, psycopg 3 and PyMySQL, and no mysqlclient (MySQLdb).
MYSQL_NOTE = "mysql:// needs MySQLdb, which is not installed: using mysql+pymysql:// (pymysql)"


@pytest.mark.parametrize(("url", "expected"), [
    pytest.param("postgresql://u@h/d", ("postgresql://u@h/d", None), id="psycopg2-installed"),
    pytest.param("postgresql+psycopg://u@h/d", ("postgresql+psycopg://u@h/d", None), id="psycopg-named"),
    pytest.param("mysql://u@h/d", ("mysql+pymysql://u@h/d", MYSQL_NOTE), id="no-mysqlclient"),
    pytest.param("mariadb+mysqldb://u@h/d", ("mariadb+pymysql://u@h/d", "mariadb+mysqldb:// needs MySQLdb, which "
                                             "is not installed: using mariadb+pymysql:// (pymysql)"), id="mariadb"),
    pytest.param("postgresql+asyncpg://u@h/d", ("postgresql+asyncpg://u@h/d", None), id="other-driver-kept"),
    pytest.param("sqlite:///x.db", ("sqlite:///x.db", None), id="sqlite"),
    pytest.param("not a url", ("not a url", None), id="not-a-url"),
])
def test_usable_url(url, expected):
    assert usable_url(url) == expected


def _without(modules: tuple[str, ...], url: str, connect: bool = False) -> list[object]:
    """usable_url (and a real connection) in a fresh interpreter in which `modules` cannot be imported."""
    code = textwrap.dedent(f"""\
        import json, sys
        for name in {modules!r}:
            sys.modules[name] = None
        from mig_lint.db.drivers import usable_url
        url, note = usable_url({url!r})
        answer = [url, note]
        if {connect!r}:
            import sqlalchemy as sa
            engine = sa.create_engine(url)
            with engine.connect() as connection:
                answer.append([engine.dialect.driver, connection.exec_driver_sql("SELECT 1").scalar()])
        print(json.dumps(answer))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_only_psycopg_3_installed_connects_to_postgresql(tmp_path):
    server = require_server("postgresql", tmp_path).replace("postgresql+psycopg2://", "postgresql://")
    assert _without(("psycopg2",), server, connect=True) == [
        server.replace("postgresql://", "postgresql+psycopg://"),
        "postgresql:// needs psycopg2, which is not installed: using postgresql+psycopg:// (psycopg)",
        ["psycopg", 1],
    ]


def test_a_named_driver_that_is_missing_gives_way_to_one_installed():
    assert _without(("psycopg",), "postgresql+psycopg://u@h/d") == [
        "postgresql+psycopg2://u@h/d",
        "postgresql+psycopg:// needs psycopg, which is not installed: using postgresql+psycopg2:// (psycopg2)",
    ]


def test_no_driver_installed_leaves_the_url_for_sqlalchemy_to_explain():
    assert _without(("psycopg2", "psycopg"), "postgresql://u@h/d") == ["postgresql://u@h/d", None]


def test_replay_says_which_driver_it_uses(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _tiny_conversion(tmp_path)
    assert main(["convert", "repo", "--out", "alembic"]) == 0
    capsys.readouterr()
    with fresh_database("mariadb", tmp_path) as database:
        url = database.replace("mysql+pymysql://", "mysql://")
        assert main(["replay", "alembic", "--url", url, "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert f"mig-lint: {MYSQL_NOTE}\n" in captured.err
    assert [s["version"] for s in json.loads(captured.out)["steps"]] == ["0001"]


def test_the_legacy_worker_switches_to_its_own_driver(tmp_path, monkeypatch, capsys):
    """psycopg 3 has no SQLAlchemy 1.4 dialect and is absent from the legacy env: its worker uses psycopg2."""
    server = require_server("postgresql", tmp_path).replace("postgresql+psycopg2://", "postgresql+psycopg://")
    monkeypatch.chdir(tmp_path)
    _tiny_conversion(tmp_path)
    assert main(["convert", "repo", "--out", "alembic"]) == 0
    capsys.readouterr()
    assert main(["verify", "repo", "alembic", "--url", server, "--migrate-python", legacy_python(),
                 "--format", "json"]) == 0, capsys.readouterr()
    assert capsys.readouterr().err == ""


def _tiny_conversion(root):
    (root / "repo/versions").mkdir(parents=True)
    (root / "repo/migrate.cfg").write_text("[db_settings]\nrepository_id = r\nversion_table = migrate_version\n")
    (root / "repo/versions/001_users.py").write_text(textwrap.dedent("""\
        from sqlalchemy import Column, Integer, MetaData, Table


        def upgrade(migrate_engine):
            meta = MetaData()
            users = Table('users', meta, Column('id', Integer, primary_key=True))
            users.create(migrate_engine)


        def downgrade(migrate_engine):
            meta = MetaData()
            Table('users', meta, Column('id', Integer, primary_key=True)).drop(migrate_engine)
        """))
