"""`mig-lint replay` on real databases: steps, timings, schema changes, failures, budgets, dumps."""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from mig_lint.cli import main
from tests.conftest import write_tree
from tests.databases import fresh_database

SHOP = Path(__file__).resolve().parent.parent / "fixtures" / "convert" / "shop"
KINDS = ["sqlite", "postgresql", "mariadb"]

HEADER = "import sqlalchemy as sa\nfrom alembic import op\n\nrevision = {rev!r}\ndown_revision = {down!r}\n\n"
R1 = """
def upgrade():
    op.create_table('authors', sa.Column('id', sa.Integer, primary_key=True),
                    sa.Column('name', sa.String(50), nullable=False))


def downgrade():
    op.drop_table('authors')
"""
R2 = """
def upgrade():
    op.create_table('books', sa.Column('id', sa.Integer, primary_key=True),
                    sa.Column('author_id', sa.Integer),
                    sa.Column('title', sa.String(100)),
                    sa.ForeignKeyConstraint(['author_id'], ['authors.id'], name='fk_books_author'))
    op.create_index('ix_books_title', 'books', ['title'])


def downgrade():
    op.drop_index('ix_books_title', 'books')
    op.drop_table('books')
"""
R3 = """
def upgrade():
    op.add_column('authors', sa.Column('born', sa.Integer, server_default='0'))
    with op.batch_alter_table('books') as batch:
        batch.alter_column('title', type_=sa.String(200), existing_type=sa.String(100), nullable=False)


def downgrade():
    with op.batch_alter_table('books') as batch:
        batch.alter_column('title', type_=sa.String(100), existing_type=sa.String(200), nullable=True)
    with op.batch_alter_table('authors') as batch:
        batch.drop_column('born')
"""
R4 = """
def upgrade():
    with op.batch_alter_table('authors') as batch:
        batch.create_unique_constraint('uq_authors_name', ['name'])


def downgrade():
    with op.batch_alter_table('authors') as batch:
        batch.drop_constraint('uq_authors_name', type_='unique')
"""


def alembic_tree(root: Path, **bodies: str) -> Path:
    """An alembic tree (env.py + versions/) of the revisions r1, r2, ... in a chain."""
    files = {"tree/env.py": "# replay never runs env.py\n"}
    down = None
    for rev, body in bodies.items():
        files[f"tree/versions/{rev}.py"] = HEADER.format(rev=rev, down=down) + body.lstrip("\n")
        down = rev
    write_tree(root, files)
    return root / "tree"


def replay_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["replay", *args, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else captured.err


def changes(report: dict) -> list[tuple[int, str, str, list[str]]]:
    return [(s["step"], s["direction"], s["version"],
             [f"{c['action']} {c['kind']} {c['name']}" + (f": {c['detail']}" if c["detail"] else "")
              for c in s["changes"]]) for s in report["steps"]]


def test_alembic_steps_with_their_changes_on_sqlite(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1=R1, r2=R2, r3=R3, r4=R4)
    code, report = replay_json(capsys, str(tree), "--url", f"sqlite:///{in_tmp / 'db.sqlite'}")
    assert code == 0
    assert changes(report) == [
        (1, "up", "r1", ["added table authors"]),
        (2, "up", "r2", ["added table books", "added index books.ix_books_title: (title)"]),
        (3, "up", "r3", ["added column authors.born: INTEGER DEFAULT '0'",
                         "altered column books.title: type VARCHAR(100) -> VARCHAR(200)",
                         "altered column books.title: nullable NULL -> NOT NULL"]),
        (4, "up", "r4", ["added unique authors.uq_authors_name: (name)"]),
    ]
    assert report["from"] is None and report["planned"] == ["r1", "r2", "r3", "r4"] and not report["failed"]
    assert all(s["seconds"] > 0 and s["error"] is None for s in report["steps"])
    assert sorted(report["slowest"]) == [1, 2, 3, 4]
    engine = sa.create_engine(f"sqlite:///{in_tmp / 'db.sqlite'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "r4"
    engine.dispose()


def test_text_report_lists_each_change_and_the_slowest_steps(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1=R1, r2=R2)
    assert main(["replay", str(tree)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"replay of {tree} (alembic) on sqlite:///") and lines[0].endswith(", from the base")
    assert lines[1].split() == ["step", "version", "seconds", "changes"]
    assert lines[2].split()[:3] == ["1", "up", "r1"] and lines[2].endswith("+ table authors")
    assert lines[3].split()[:3] == ["2", "up", "r2"] and lines[3].endswith("+ table books")
    assert lines[4].strip() == "+ index books.ix_books_title: (title)"
    assert lines[5].startswith("2 steps, ") and "; slowest: " in lines[5]
    assert lines[6] == "ok"


@pytest.mark.parametrize("kind", KINDS)
def test_downgrade_and_snake_reverse_every_step(in_tmp, capsys, kind):
    tree = alembic_tree(in_tmp, r1=R1, r2=R2, r3=R3, r4=R4)
    with fresh_database(kind, in_tmp) as url:
        code, report = replay_json(capsys, str(tree), "--url", url, "--snake", "--downgrade")
    assert code == 0, report
    walked = [(s["direction"], s["version"]) for s in report["steps"]]
    ups_and_downs = [(d, v) for v in ("r1", "r2", "r3", "r4") for d in ("up", "down", "up")]
    assert walked == ups_and_downs + [("down", v) for v in ("r4", "r3", "r2", "r1")]
    assert not any(s["not_reversed"] for s in report["steps"])
    by_step = {(s["direction"], s["version"]): s for s in report["steps"]}
    assert [c["name"] for c in by_step["down", "r1"]["changes"]] == ["authors"]
    assert {(c["action"], c["kind"], c["name"]) for c in by_step["up", "r3"]["changes"]} >= {
        ("added", "column", "authors.born"), ("altered", "column", "books.title")}


@pytest.mark.parametrize("kind", KINDS)
def test_a_step_that_fails_half_way_is_named_and_the_database_left_as_it_was(in_tmp, capsys, kind):
    broken = """
def upgrade():
    op.create_table('half', sa.Column('id', sa.Integer, primary_key=True))
    op.execute('INSERT INTO no_such_table VALUES (1)')
"""
    tree = alembic_tree(in_tmp, r1=R1, r2=broken, r3=R3)
    with fresh_database(kind, in_tmp) as url:
        code, report = replay_json(capsys, str(tree), "--url", url)
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            tables = set(sa.inspect(connection).get_table_names())
        engine.dispose()
    assert code == 1 and report["failed"]
    assert [s["version"] for s in report["steps"]] == ["r1", "r2"]
    failed = report["steps"][1]["error"]
    assert failed["type"] in ("OperationalError", "ProgrammingError")
    assert failed["where"] == f"{tree / 'versions' / 'r2.py'}:9"
    assert version == "r1"
    # PostgreSQL rolls the step's DDL back; SQLite and MariaDB keep the table the step made.
    half = [] if kind == "postgresql" else ["added table half"]
    assert changes(report)[1][3] == half and ("half" in tables) == bool(half)


def test_text_report_names_the_failed_step(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1="def upgrade():\n    raise RuntimeError('no way')\n")
    assert main(["replay", str(tree)]) == 1
    out = capsys.readouterr().out
    assert f"FAILED: RuntimeError: no way ({tree / 'versions' / 'r1.py'}:8)" in out
    assert out.endswith("step 1 (r1) did not finish: the database is left as it left it\n")


def test_a_downgrade_that_does_not_reverse(in_tmp, capsys):
    keeps_column = R3.replace("""    with op.batch_alter_table('authors') as batch:
        batch.drop_column('born')
""", "")
    tree = alembic_tree(in_tmp, r1=R1, r2=R2, r3=keeps_column)
    code, report = replay_json(capsys, str(tree), "--downgrade")
    assert code == 1
    down = report["steps"][3]
    assert (down["direction"], down["version"]) == ("down", "r3")
    assert [c["name"] for c in down["not_reversed"]] == ["authors.born"]
    assert [s["direction"] for s in report["steps"]] == ["up", "up", "up", "down"]  # stops there
    assert main(["replay", str(tree), "--downgrade"]) == 1
    out = capsys.readouterr().out
    assert "NOT REVERSED: the schema differs from the one before its upgrade:" in out
    assert "failed: step 4" in out


def test_a_step_over_budget_fails_and_the_replay_goes_on(in_tmp, capsys):
    slow = "import time\n\ndef upgrade():\n    time.sleep(0.6)\n"
    tree = alembic_tree(in_tmp, r1=R1, r2=slow, r3=R2)
    code, report = replay_json(capsys, str(tree), "--budget", "0.4")
    assert code == 1
    assert [(s["version"], s["over_budget"]) for s in report["steps"]] == [("r1", False), ("r2", True), ("r3", False)]
    assert report["slowest"][0] == 2


def test_a_step_past_the_timeout_is_killed(in_tmp, capsys):
    hangs = "import time\n\ndef upgrade():\n    time.sleep(120)\n"
    tree = alembic_tree(in_tmp, r1=R1, r2=hangs, r3=R2)
    started = time.monotonic()
    assert main(["replay", str(tree), "--timeout", "1"]) == 1
    assert time.monotonic() - started < 60
    out = capsys.readouterr().out
    assert "TIMED OUT after 1." in out and "step 2 (r2) did not finish" in out


def test_a_migration_that_kills_the_worker(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1="import os\n\ndef upgrade():\n    print('bye')\n    os._exit(7)\n")
    code, report = replay_json(capsys, str(tree))
    assert code == 1
    assert report["steps"][0]["error"] == {"type": "WorkerDied", "message": "the worker exited with 7\n  bye",
                                           "where": ""}


DUMP = """\
CREATE TABLE authors (id INTEGER NOT NULL, name VARCHAR(50) NOT NULL, PRIMARY KEY (id));
INSERT INTO authors (id, name) VALUES (1, 'Ann');
INSERT INTO authors (id, name) VALUES (2, 'Bob');
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, PRIMARY KEY (version_num));
INSERT INTO alembic_version (version_num) VALUES ('r1');
"""


@pytest.mark.parametrize("kind", KINDS)
def test_load_restores_a_dump_and_replays_from_its_version(in_tmp, capsys, kind):
    tree = alembic_tree(in_tmp, r1=R1, r2=R2, r3=R3)
    (in_tmp / "dump.sql").write_text(DUMP)
    with fresh_database(kind, in_tmp) as url:
        code, report = replay_json(capsys, str(tree), "--url", url, "--load", "dump.sql")
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            born = connection.exec_driver_sql("SELECT born FROM authors ORDER BY id").scalars().all()
        engine.dispose()
    assert code == 0, report
    assert report["from"] == "r1" and [s["version"] for s in report["steps"]] == ["r2", "r3"]
    assert born == [0, 0]  # the rows of the dump went through r3's server default


def test_a_dump_that_does_not_load(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1=R1)
    (in_tmp / "dump.sql").write_text("CREATE TABLE (;\n")
    assert main(["replay", str(tree), "--load", "dump.sql"]) == 2
    assert capsys.readouterr().err.startswith("mig-lint: dump.sql: near \"(\": syntax error")
    assert main(["replay", str(tree), "--load", "missing.sql"]) == 2
    assert "mig-lint: missing.sql: cannot read the dump" in capsys.readouterr().err


def test_from_must_agree_with_the_database(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1=R1, r2=R2)
    url = f"sqlite:///{in_tmp / 'db.sqlite'}"
    # An empty database is stamped there (SQLite lets books refer to the authors table r1 would have made).
    assert main(["replay", str(tree), "--url", url, "--from", "r1"]) == 0
    assert "from r1" in capsys.readouterr().out
    assert main(["replay", str(tree), "--url", url, "--from", "r1"]) == 2
    assert capsys.readouterr().err == f"mig-lint: cannot open {tree}: --from r1: the database is at r2\n"


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["nowhere"], "mig-lint: nowhere: no such file or directory", id="no-tree"),
    pytest.param(["tree", "--url", "nosuch://x"], "mig-lint: Can't load plugin: sqlalchemy.dialects:nosuch", id="bad-url"),
    pytest.param(["tree", "--python", "/nonexistent/python"], "mig-lint: cannot run /nonexistent/python",
                 id="no-python"),
    pytest.param(["shop", "--migrate-python", sys.executable], "ModuleNotFoundError: No module named 'migrate'",
                 id="no-migrate"),
])
def test_usage_errors(in_tmp, capsys, args, message):
    alembic_tree(in_tmp, r1=R1)
    shutil.copytree(SHOP, in_tmp / "shop")
    assert main(["replay", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_a_folder_with_two_trees(in_tmp, capsys):
    alembic_tree(in_tmp / "a", r1=R1)
    alembic_tree(in_tmp / "b", r1=R1)
    assert main(["replay", "."]) == 2
    assert capsys.readouterr().err == "mig-lint: .: holds 2 migration trees; name the folder of one\n"


def test_migrate_repository_in_the_legacy_interpreter(in_tmp, capsys):
    from tests.legacy_env import legacy_python

    shutil.copytree(SHOP, in_tmp / "shop")
    code, report = replay_json(capsys, "shop", "--migrate-python", legacy_python())
    assert code == 0, report
    assert report["format"] == "migrate" and report["from"] == "215"
    assert changes(report) == [
        (1, "up", "216", []),
        (2, "up", "217", ["added table users"]),
        (3, "up", "218", ["added column users.email: VARCHAR(255)", "added index users.ix_users_email: (email)"]),
        (4, "up", "219", []),
        (5, "up", "220", ["added table orders", "added index orders.ix_orders_user_id: (user_id)"]),
        (6, "up", "221", ["altered column users.name: type VARCHAR(50) -> VARCHAR(100)",
                          "altered column users.name: nullable NULL -> NOT NULL"]),
        (7, "up", "222", ["added table audit", "added index audit.ix_audit_event: (event)"]),
        (8, "up", "223", ["added unique users.uniq_users_email: (email)"]),
        (9, "up", "224", ["added column orders.created_at: DATETIME", "added column users.created_at: DATETIME"]),
        (10, "up", "225", ["added index users.ix_users_name: (name)"]),
        (11, "up", "226", ["removed column users.legacy_flag: BOOLEAN"]),
        (12, "up", "227", ["removed table orders", "removed index orders.ix_orders_user_id: (user_id)",
                           "added table purchases", "added index purchases.ix_orders_user_id: (user_id)"]),
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_migrate_downgrades_in_the_legacy_interpreter(in_tmp, capsys, kind):
    from tests.legacy_env import legacy_python

    write_tree(in_tmp, {
        "repo/migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n",
        "repo/versions/__init__.py": "",
        "repo/versions/001_people.py": """\
            from sqlalchemy import Column, Integer, MetaData, String, Table

            def upgrade(migrate_engine):
                meta = MetaData(bind=migrate_engine)
                Table('people', meta, Column('id', Integer, primary_key=True), Column('name', String(20))).create()

            def downgrade(migrate_engine):
                meta = MetaData(bind=migrate_engine)
                Table('people', meta, autoload=True).drop()
            """,
        "repo/versions/002_nick.py": """\
            from migrate import *
            from sqlalchemy import Column, MetaData, String, Table

            def upgrade(migrate_engine):
                meta = MetaData(bind=migrate_engine)
                Table('people', meta, autoload=True).create_column(Column('nick', String(10)))

            def downgrade(migrate_engine):
                meta = MetaData(bind=migrate_engine)
                Table('people', meta, autoload=True).c.nick.drop()
            """,
    })
    with fresh_database(kind, in_tmp) as url:
        code, report = replay_json(capsys, "repo", "--url", url, "--migrate-python", legacy_python(), "--downgrade")
    assert code == 0, report
    assert [(s[1], s[2], s[3]) for s in changes(report)][1:3] == [
        ("up", "2", ["added column people.nick: VARCHAR(10)"]),
        ("down", "2", ["removed column people.nick: VARCHAR(10)"]),
    ]
    assert [s["direction"] for s in report["steps"]] == ["up", "up", "down", "down"]


def test_foreign_keys_defaults_and_primary_keys(in_tmp, capsys):
    owners = """
def upgrade():
    with op.batch_alter_table('books') as batch:
        batch.add_column(sa.Column('owner_id', sa.Integer))
        batch.create_foreign_key('fk_books_owner', 'authors', ['owner_id'], ['id'])
        batch.alter_column('author_id', server_default='1', existing_type=sa.Integer)
    op.create_table('pairs', sa.Column('a', sa.Integer, primary_key=True), sa.Column('b', sa.Integer, nullable=False))
"""
    wider_key = """
def upgrade():
    with op.batch_alter_table('pairs', recreate='always') as batch:
        batch.create_primary_key('pk_pairs', ['a', 'b'])
"""
    tree = alembic_tree(in_tmp, r1=R1, r2=R2, r5=owners, r6=wider_key)
    code, report = replay_json(capsys, str(tree))
    assert code == 0, report
    assert changes(report)[2:] == [
        (3, "up", "r5", ["altered column books.author_id: server default none -> '1'",
                         "added column books.owner_id: INTEGER",
                         "added foreign key books.fk_books_owner: (owner_id) -> authors(id)",
                         "added table pairs"]),
        (4, "up", "r6", ["altered primary key pairs: (a) -> (a, b)"]),
    ]


def test_budget_in_the_text_report(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1="import time\n\ndef upgrade():\n    time.sleep(0.3)\n")
    assert main(["replay", str(tree), "--budget", "0.1"]) == 1
    out = capsys.readouterr().out
    assert "  OVER BUDGET: 0.3" in out and out.endswith("failed: step 1\n")


def test_from_the_version_the_database_is_at(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1=R1, r2=R2)
    url = f"sqlite:///{in_tmp / 'db.sqlite'}"
    assert main(["replay", str(tree), "--url", url]) == 0
    capsys.readouterr()
    code, report = replay_json(capsys, str(tree), "--url", url, "--from", "r2")
    assert code == 0 and report["from"] == "r2" and report["steps"] == []


@pytest.mark.parametrize(("python", "message"), [
    pytest.param("/bin/false", "mig-lint: the worker exited with 1\n", id="exits"),
    pytest.param("chatty", "mig-lint: the worker said b'hello'\n", id="not-json"),
])
def test_a_worker_that_does_not_answer(in_tmp, capsys, python, message):
    tree = alembic_tree(in_tmp, r1=R1)
    (in_tmp / "chatty").write_text("#!/bin/sh\necho hello\nsleep 1\n")
    (in_tmp / "chatty").chmod(0o755)
    assert main(["replay", str(tree), "--python", str(in_tmp / python) if python == "chatty" else python]) == 2
    assert capsys.readouterr().err == message


def test_a_missing_database_driver(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1=R1)
    assert main(["replay", str(tree), "--url", "postgresql+pg8000://u@127.0.0.1/x"]) == 2
    assert capsys.readouterr().err == "mig-lint: a database driver is missing: No module named 'pg8000'\n"


@pytest.mark.parametrize(("url", "message"), [
    pytest.param("oracle://u@h/db", "mig-lint: --load restores dumps into SQLite, PostgreSQL and MySQL/MariaDB, "
                 "not oracle\n", id="unknown-dialect"),
    pytest.param("postgresql://postgres@127.0.0.1/test", "mig-lint: --load dump.sql needs the `psql` client on PATH\n",
                 id="no-client"),
])
def test_dumps_that_cannot_be_restored(in_tmp, capsys, monkeypatch, url, message):
    tree = alembic_tree(in_tmp, r1=R1)
    (in_tmp / "dump.sql").write_text(DUMP)
    monkeypatch.setenv("PATH", str(in_tmp))
    assert main(["replay", str(tree), "--url", url, "--load", "dump.sql"]) == 2
    assert capsys.readouterr().err == message


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_a_dump_the_server_refuses(in_tmp, capsys, kind):
    tree = alembic_tree(in_tmp, r1=R1)
    (in_tmp / "dump.sql").write_text("CREATE TABLE t (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n")
    with fresh_database(kind, in_tmp) as url:
        assert main(["replay", str(tree), "--url", url, "--load", "dump.sql"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mig-lint: dump.sql: ") and " stopped (exit " in err and "no_such_table" in err, err


def test_migrate_from_must_agree(in_tmp, capsys):
    from tests.legacy_env import legacy_python

    shutil.copytree(SHOP, in_tmp / "shop")
    url = f"sqlite:///{in_tmp / 'db.sqlite'}"
    assert main(["replay", "shop", "--url", url, "--migrate-python", legacy_python(), "--from", "220"]) == 1
    assert "from 220" in capsys.readouterr().out  # stamped at 220: 221 finds no users table
    assert main(["replay", "shop", "--url", url, "--migrate-python", legacy_python(), "--from", "219"]) == 2
    assert capsys.readouterr().err == "mig-lint: cannot open shop: --from 219: the database is at migrate version 220\n"


def test_the_progress_bar(capsys):
    from mig_lint.cli import _ProgressBar
    from mig_lint.db.process import StepDone
    from mig_lint.db.replay import Step

    with _ProgressBar(True) as bar:
        bar.advance(Step(1, "up", StepDone("r1", 0.1), ()), 4)
    # click drops the erase-line codes when stderr is not a terminal, as here
    assert capsys.readouterr().err == f"\r[{'#' * 7}{'.' * 23}] 1/4 up r1\r"
    with _ProgressBar(False) as bar:
        bar.advance(Step(1, "up", StepDone("r1", 0.1), ()), 4)
    assert capsys.readouterr().err == ""


def test_from_a_revision_the_tree_does_not_have(in_tmp, capsys):
    tree = alembic_tree(in_tmp, r1=R1)
    assert main(["replay", str(tree), "--from", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mig-lint: cannot open {tree}: ") and "'nope'" in err and "worker.py" not in err, err


def test_an_empty_migrate_repository(in_tmp, capsys):
    from tests.legacy_env import legacy_python

    write_tree(in_tmp, {"repo/migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n",
                        "repo/versions/__init__.py": ""})
    code, report = replay_json(capsys, "repo", "--migrate-python", legacy_python())
    assert code == 0 and report["from"] == "0" and report["steps"] == []


def test_the_interpreter_follows_the_tree_found_not_the_path_given(in_tmp, capsys):
    from tests.legacy_env import legacy_python

    shutil.copytree(SHOP, in_tmp / "project" / "db" / "shop")  # no migrate.cfg at the path given
    code, report = replay_json(capsys, "project", "--migrate-python", legacy_python())
    assert code == 0, report
    assert report["format"] == "migrate" and len(report["steps"]) == 12
