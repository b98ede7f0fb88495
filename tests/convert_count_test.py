"""Honest counting in `convert`: a version with migrate or SQLAlchemy-1.x code left in its revision is partial."""
from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from mig_lint.cli import main
from mig_lint.convert.leftovers import find_leftovers

LEFTOVERS = Path(__file__).resolve().parent.parent / "fixtures" / "convert" / "leftovers"


@pytest.fixture
def leftovers(in_tmp):
    shutil.copytree(LEFTOVERS, in_tmp / "repo")
    return in_tmp / "repo"


def test_each_leftover_class_makes_its_version_partial(leftovers, capsys):
    assert main(["convert", "repo", "--out", "out"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:8] == [
        "converted repo into out/versions:",
        "  1 -> 0001 0001_alter_by_name.py: partial: 1 migrate or SQLAlchemy 1.x construct left in the revision",
        "      out/versions/0001_alter_by_name.py:27: .alter(): a migrate changeset call",
        "  2 -> 0002 0002_column_in_variable.py: partial: 1 migrate or SQLAlchemy 1.x construct left in the revision",
        "      out/versions/0002_column_in_variable.py:26: .drop(): a migrate changeset call, or one without a bind",
        "  3 -> 0003 0003_raw_connection.py: partial: 1 migrate or SQLAlchemy 1.x construct left in the revision",
        "      out/versions/0003_raw_connection.py:31: .raw_connection: Engine-only API on op.get_bind(), a Connection",
        "3 versions: 3 partial.",
    ]
    emitted = (Path("out/versions/0001_alter_by_name.py").read_text().splitlines())
    assert emitted[26] == "        delta = getattr(users.c, name).alter(type=String(80))"


def test_json_lists_the_leftovers_and_proves_nothing(leftovers, capsys):
    assert main(["convert", "repo", "--out", "out", "--format", "json", "--dry-run"]) == 1
    version = json.loads(capsys.readouterr().out)["versions"][1]
    assert version["status"] == "partial"
    assert version["proved"] is None
    assert version["leftovers"] == [
        {"path": "out/versions/0002_column_in_variable.py", "line": 26, "construct": ".drop()",
         "reason": "a migrate changeset call, or one without a bind"},
    ]


def test_a_clean_version_is_translated_but_unproved(in_tmp, capsys):
    (in_tmp / "repo/versions").mkdir(parents=True)
    (in_tmp / "repo/migrate.cfg").write_text("[db_settings]\nrepository_id = r\nversion_table = migrate_version\n")
    (in_tmp / "repo/versions/001_users.py").write_text(textwrap.dedent("""\
        from sqlalchemy import Column, Integer, MetaData, Table


        def upgrade(migrate_engine):
            meta = MetaData()
            users = Table('users', meta, Column('id', Integer, primary_key=True))
            users.create(migrate_engine)
        """))
    assert main(["convert", "repo", "--out", "out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == ["  1 -> 0001 0001_users.py: translated (unproved): 1 migrate construct rewritten",
                          "1 version: 1 translated (unproved)."]


def _found(source: str) -> list[tuple[int, str]]:
    return [(f.line, f.construct) for f in find_leftovers(textwrap.dedent(source))]


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("from migrate import *\nimport migrate.changeset\nimport os\n",
                 [(1, "migrate import"), (2, "migrate import")], id="migrate-imports"),
    pytest.param("from . import x\n", [], id="relative-import"),
    pytest.param("t.c.name.rename('full')\ncol.create_column(c)\nt.drop_column('x')\n",
                 [(1, ".rename()"), (2, ".create_column()"), (3, ".drop_column()")], id="changeset-methods"),
    pytest.param("op.drop_column('t', 'x')\nbatch_op.alter_column('x')\nop.rename_table('a', 'b')\n", [],
                 id="alembic-op"),
    pytest.param("t = sa.Table('t', m)\nt.create(bind)\nt.drop(bind=bind)\nsa.Index('i', c).create(bind)\n", [],
                 id="table-and-index-with-bind"),
    pytest.param("i = Index('i', c)\ni.create()\nuc.create()\nop.create(x)\n",
                 [(2, ".create()"), (3, ".create()")], id="create-without-bind-or-on-constraint"),
    pytest.param("q = sa.select(t.c.id)\nq.scalar()\nconn.execute(q).scalar()\nt.delete().where(x).execute()\n"
                 "stmt.execute()\nop.execute(q)\nconn.execute(q)\n",
                 [(2, ".scalar()"), (4, ".execute()"), (5, ".execute()")], id="implicit-execution"),
    pytest.param("sa.select([t], whereclause=w)\nsa.insert(t, inline=True, values={})\nsa.update(t).values(x=1)\n",
                 [(1, "whereclause="), (2, "values=")], id="old-keywords"),
    pytest.param("sa.UniqueConstraint('a', table=t)\nsa.PrimaryKeyConstraint('id', name='pk')\n",
                 [(1, "table=")], id="constraint-table"),
    pytest.param("op.get_bind().has_table('t')\nb = op.get_bind()\nb.url\nb.dialect.name\nb.connect()\n",
                 [(1, ".has_table"), (3, ".url"), (5, ".connect")], id="engine-only-api"),
    pytest.param("f()(x).execute(1)\n", [], id="call-of-a-call"),
    pytest.param("def upgrade(:\n", [(1, "syntax")], id="does-not-parse"),
])
def test_find_leftovers(source, expected):
    assert _found(source) == expected


CREATE_USERS = """\
    from sqlalchemy import Column, Integer, MetaData, String, Table


    def upgrade(migrate_engine):
        meta = MetaData()
        users = Table('users', meta, Column('id', Integer, primary_key=True), Column('name', String(20)))
        users.create(migrate_engine)
    """
RAW_CONNECTION = """\
    def upgrade(migrate_engine):
        raw = migrate_engine.raw_connection()
        raw.cursor().execute("CREATE TABLE audit (id INTEGER)")
    """


def _repository(root: Path, scripts: dict[str, str]) -> None:
    (root / "repo/versions").mkdir(parents=True)
    (root / "repo/migrate.cfg").write_text("[db_settings]\nrepository_id = r\nversion_table = migrate_version\n")
    for name, text in scripts.items():
        (root / "repo/versions" / name).write_text(textwrap.dedent(text))


def test_verify_proves_what_runs_the_same_and_stops_at_the_first_divergence(in_tmp, capsys):
    from tests.legacy_env import legacy_python

    _repository(in_tmp, {"001_users.py": CREATE_USERS, "002_audit.py": RAW_CONNECTION})
    assert main(["convert", "repo", "--out", "out", "--verify", "--migrate-python", legacy_python()]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:6] == [
        "  1 -> 0001 0001_users.py: translated and proved: 1 migrate construct rewritten",
        "  2 -> 0002 0002_audit.py: partial: 1 migrate or SQLAlchemy 1.x construct left in the revision",
        "      out/versions/0002_audit.py:30: .raw_connection: Engine-only API on op.get_bind(), a Connection",
        "2 versions: 1 translated and proved, 1 partial.",
        "verify on SQLite: 1 of 2 versions proved equal to migrate's schema.",
    ]


def test_verify_on_two_databases_names_them_and_proves_in_json(in_tmp, capsys):
    from tests.databases import require_server
    from tests.legacy_env import legacy_python

    server = require_server("postgresql", in_tmp)
    _repository(in_tmp, {"001_users.py": CREATE_USERS})
    assert main(["convert", "repo", "--out", "out", "--verify", "--url", server, "--url", "sqlite://",
                 "--migrate-python", legacy_python(), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified_on"] == ["postgresql+psycopg2://postgres@127.0.0.1:5432/test", "sqlite://"]
    assert [(v["status"], v["proved"]) for v in report["versions"]] == [("translated", True)]


@pytest.mark.parametrize("args", [
    pytest.param(["--url", "sqlite://"], id="url-without-verify"),
    pytest.param(["--migrate-python", "python"], id="migrate-python-without-verify"),
    pytest.param(["--verify", "--dry-run"], id="verify-dry-run"),
])
def test_verify_options_that_do_not_go_together(in_tmp, capsys, args):
    _repository(in_tmp, {"001_users.py": CREATE_USERS})
    assert main(["convert", "repo", "--out", "out", *args]) == 2
    assert capsys.readouterr().err == ("mig-lint: --url and --migrate-python go with --verify, which needs the files "
                                       "written (no --dry-run)\n")
    assert not (in_tmp / "out").exists()


def test_verify_that_cannot_run_says_the_tree_was_written(in_tmp, capsys):
    _repository(in_tmp, {"001_users.py": CREATE_USERS})
    assert main(["convert", "repo", "--out", "out", "--verify", "--url", "oracle://u@h/d"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mig-lint: out was written, but verify could not run: cannot make scratch databases on "
                          "oracle"), err
    assert (in_tmp / "out/versions/0001_users.py").is_file()
