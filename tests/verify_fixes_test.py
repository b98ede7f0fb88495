"""`mig-lint verify` on hand-written pairs of a migrate repository and an alembic tree.

Each test writes both trees (the migrate scripts run by the real migrate in the legacy
interpreter, the alembic revisions by the real alembic) and checks one defect class of
issue 13: foreign keys deeper than one level, sequence defaults on PostgreSQL, the version
tables and their copies, and a comparison that fails mid-way.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from mig_lint.cli import main
from tests.databases import require_server

ENV = '''\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
section = dict(config.get_section(config.config_ini_section) or {}, **{"sqlalchemy.url": url})
engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''
MIGRATE_SCRIPT = "from sqlalchemy import *\nfrom migrate import *\n\n\ndef upgrade(migrate_engine):\n{}\n"
REVISION = ("from alembic import op\nimport sqlalchemy as sa\n\nrevision = {revision!r}\n"
            "down_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n{body}\n")


def _write_trees(root: Path, versions: list[tuple[str, str]]) -> None:
    """A migrate repository `repo` and an alembic tree `alembic`: one (migrate body, alembic body) per version."""
    (root / "repo" / "versions").mkdir(parents=True)
    (root / "repo" / "migrate.cfg").write_text("[db_settings]\nrepository_id = repo\nversion_table = migrate_version\n"
                                               "required_dbs = []\nuse_timestamp_numbering = False\n")
    (root / "repo" / "versions" / "__init__.py").write_text("")
    (root / "alembic" / "versions").mkdir(parents=True)
    (root / "alembic" / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s\n"
                                                  "sqlalchemy.url = sqlite:///unused.db\n")
    (root / "alembic" / "env.py").write_text(ENV)
    stamp = {}
    for number, (migrate_body, alembic_body) in enumerate(versions, start=1):
        (root / "repo" / "versions" / f"{number:03}_step.py").write_text(
            MIGRATE_SCRIPT.format(textwrap.indent(textwrap.dedent(migrate_body).strip(), "    ")))
        revision, down = f"r{number}", f"r{number - 1}" if number > 1 else None
        (root / "alembic" / "versions" / f"{revision}.py").write_text(REVISION.format(
            revision=revision, down=down, body=textwrap.indent(textwrap.dedent(alembic_body).strip(), "    ")))
        stamp[str(number)] = revision
    (root / "alembic" / "migrate-stamp-map.json").write_text(json.dumps(stamp))


def _verify(capsys, *args: str) -> tuple[int, dict]:
    from tests.legacy_env import legacy_python

    code = main(["verify", "repo", "alembic", "--migrate-python", legacy_python(), "--format", "json", *args])
    captured = capsys.readouterr()
    assert not captured.err, captured.err
    return code, json.loads(captured.out)


def _verify_text(capsys, *args: str) -> tuple[int, list[str]]:
    from tests.legacy_env import legacy_python

    code = main(["verify", "repo", "alembic", "--migrate-python", legacy_python(), *args])
    captured = capsys.readouterr()
    assert not captured.err, captured.err
    return code, captured.out.splitlines()


CHAIN = ("""
    meta = MetaData(bind=migrate_engine)
    a = Table('a', meta, Column('id', Integer, primary_key=True))
    b = Table('b', meta, Column('id', Integer, primary_key=True), Column('a_id', Integer, ForeignKey('a.id')))
    c = Table('c', meta, Column('id', Integer, primary_key=True), Column('b_id', Integer, ForeignKey('b.id')))
    d = Table('d', meta, Column('id', Integer, primary_key=True), Column('c_id', Integer, ForeignKey('c.id')))
    meta.create_all()
""", """
    op.create_table('a', sa.Column('id', sa.Integer, primary_key=True))
    op.create_table('b', sa.Column('id', sa.Integer, primary_key=True), sa.Column('a_id', sa.Integer, sa.ForeignKey('a.id')))
    op.create_table('c', sa.Column('id', sa.Integer, primary_key=True), sa.Column('b_id', sa.Integer, sa.ForeignKey('b.id')))
    op.create_table('d', sa.Column('id', sa.Integer, primary_key=True), sa.Column('c_id', sa.Integer, sa.ForeignKey('c.id')))
""")
ADD_NOTE = ("""
    meta = MetaData(bind=migrate_engine)
    d = Table('d', meta, autoload=True)
    Column('note', String(20)).create(d)
""", "op.add_column('d', sa.Column('note', sa.String({length})))")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_foreign_keys_are_followed_to_any_depth(in_tmp, capsys, kind):
    """Only `d` moves at version 2; its foreign keys lead to c, b and a (it crashed with NoReferencedTableError)."""
    _write_trees(in_tmp, [CHAIN, (ADD_NOTE[0], ADD_NOTE[1].format(length=20))])
    urls = [] if kind == "sqlite" else ["--url", require_server(kind, in_tmp)]
    code, report = _verify(capsys, *urls)
    assert code == 0, report
    assert [s["version"] for s in report["databases"][0]["steps"]] == ["1", "2"]


def test_a_difference_beside_deep_foreign_keys_is_told(in_tmp, capsys):
    _write_trees(in_tmp, [CHAIN, (ADD_NOTE[0], ADD_NOTE[1].format(length=30))])
    code, report = _verify(capsys)
    assert code == 1
    [database] = report["databases"]
    assert (database["matched"], database["failed_version"]) == (1, "2")
    assert database["steps"][-1]["differences"] == [
        {"action": "altered", "kind": "column", "name": "d.note", "detail": "type VARCHAR(20) -> VARCHAR(30)"}]


@pytest.mark.parametrize(("side", "change"), [
    pytest.param("migrate", {"action": "removed", "kind": "table", "name": "nowhere", "detail": ""}, id="migrate"),
    pytest.param("alembic", {"action": "added", "kind": "table", "name": "nowhere", "detail": ""}, id="alembic"),
])
def test_a_foreign_key_to_a_missing_table_is_compared_without_it(in_tmp, capsys, side, change):
    """SQLite lets a foreign key name a table that does not exist; the comparison needs no such table."""
    create = "CREATE TABLE e (id INTEGER PRIMARY KEY, x_id INTEGER REFERENCES nowhere(id))"
    add, nowhere = "ALTER TABLE e ADD COLUMN y INTEGER", "CREATE TABLE nowhere (id INTEGER PRIMARY KEY)"
    second = {name: [add, *([nowhere] if name == side else [])] for name in ("migrate", "alembic")}
    _write_trees(in_tmp, [(f"migrate_engine.execute({create!r})", f"op.execute({create!r})"),
                          ("\n".join(f"migrate_engine.execute({sql!r})" for sql in second["migrate"]),
                           "\n".join(f"op.execute({sql!r})" for sql in second["alembic"]))])
    code, report = _verify(capsys)
    assert code == 1
    [database] = report["databases"]
    assert (database["matched"], database["failed_version"]) == (1, "2")
    assert database["steps"][-1]["differences"] == [change]


SERIAL = "CREATE TABLE counted (code VARCHAR(10) PRIMARY KEY, n SERIAL)"


def test_sequence_defaults_on_postgresql_are_compared_as_text_and_never_run(in_tmp, capsys):
    """A serial beside the primary key: the defaults read `nextval(...)`; comparing must not call it."""
    _write_trees(in_tmp, [(f"migrate_engine.execute({SERIAL!r})", f"op.execute({SERIAL!r})"),
                          ("migrate_engine.execute(\"ALTER TABLE counted ADD COLUMN m INTEGER\")",
                           "op.add_column('counted', sa.Column('m', sa.Integer))")])
    code, lines = _verify_text(capsys, "--url", require_server("postgresql", in_tmp), "--keep")
    assert code == 0, lines
    assert lines[1] == "  ok: all 2 versions build the same schema"
    for url in lines[0].removeprefix("migrate on ").split(", alembic on "):
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT is_called FROM counted_n_seq").scalar() is False
        engine.dispose()
        admin = sa.create_engine(url.rpartition("/")[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {url.rpartition('/')[2]} WITH (FORCE)")
        admin.dispose()


def test_a_different_sequence_default_is_still_told(in_tmp, capsys):
    other = SERIAL.replace("n SERIAL", "n INTEGER NOT NULL DEFAULT 7")
    _write_trees(in_tmp, [(f"migrate_engine.execute({SERIAL!r})", f"op.execute({other!r})")])
    code, report = _verify(capsys, "--url", require_server("postgresql", in_tmp))
    assert code == 1
    assert report["databases"][0]["steps"][-1]["differences"] == [
        {"action": "altered", "kind": "column", "name": "counted.n",
         "detail": "server default nextval('counted_n_seq'::regclass) -> 7"}]


SHADOW_MIGRATE = """
    meta = MetaData(bind=migrate_engine)
    meta.reflect()
    for table in list(meta.sorted_tables):
        Table('shadow_' + table.name, meta, *[c.copy() for c in table.columns]).create()
"""
SHADOW_ALEMBIC = """
    meta = sa.MetaData()
    meta.reflect(op.get_bind())
    for table in [t for t in meta.sorted_tables{skip}]:
        op.create_table('shadow_' + table.name, *[c.copy() for c in table.columns])
"""
USERS = ("Table('users', MetaData(bind=migrate_engine), Column('id', Integer, primary_key=True)).create()",
         "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True))")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_copies_of_the_version_tables_count_as_one_table(in_tmp, capsys, kind):
    """A script that shadows every table shadows migrate_version on one side, alembic_version on the other."""
    _write_trees(in_tmp, [USERS, (SHADOW_MIGRATE, SHADOW_ALEMBIC.format(skip=""))])
    urls = [] if kind == "sqlite" else ["--url", require_server(kind, in_tmp)]
    code, report = _verify(capsys, *urls)
    assert code == 0, report
    assert report["databases"][0]["version_tables"] == {
        "migrate": "migrate_version", "alembic": "alembic_version", "copies": ["shadow_"]}
    code, lines = _verify_text(capsys, *urls)
    assert code == 0
    assert lines[1:] == ["  ok: all 2 versions build the same schema",
                         "  shadow_migrate_version and shadow_alembic_version were compared as one table "
                         "(copies of the version tables; their columns are not compared)"]


def test_a_missing_copy_of_the_version_table_is_told(in_tmp, capsys):
    skip = " if t.name != 'alembic_version'"
    _write_trees(in_tmp, [USERS, (SHADOW_MIGRATE, SHADOW_ALEMBIC.format(skip=skip))])
    code, report = _verify(capsys)
    assert code == 1
    assert report["databases"][0]["steps"][-1]["differences"] == [
        {"action": "removed", "kind": "table", "name": "shadow_migrate_version/shadow_alembic_version", "detail": ""}]


CORRUPT = """
    op.create_table('broken', sa.Column('id', sa.Integer))
    op.execute("PRAGMA writable_schema = ON")
    op.execute("UPDATE sqlite_master SET sql = 'CREATE TABLE broken (' WHERE name = 'broken'")
"""


def test_a_comparison_that_fails_mid_way_keeps_the_count_and_names_the_version(in_tmp, capsys):
    _write_trees(in_tmp, [USERS, (ADD_NOTE[0].replace("'d'", "'users'"), "op.add_column('users', sa.Column('note', sa.String(20)))"),
                          ("pass", CORRUPT)])
    code, report = _verify(capsys)
    assert code == 1
    [database] = report["databases"]
    assert (database["ok"], database["matched"], database["failed_version"]) == (False, 2, "3")
    assert database["steps"][-1]["comparison_error"].startswith("DatabaseError: ")
    code, lines = _verify_text(capsys)
    assert code == 1
    assert lines[1] == "  2 of 3 versions matched; migrate version 3 (revision r3) does not:"
    assert lines[2].startswith("  the comparison failed: DatabaseError: ")


@pytest.mark.parametrize(("text", "normalised"), [
    pytest.param(None, None, id="none"),
    pytest.param("0", "0", id="plain"),
    pytest.param(" ((0)) ", "0", id="outer-parentheses"),
    pytest.param("(a) + (b)", "(a) + (b)", id="parentheses-not-outer"),
    pytest.param("(a))", "(a))", id="unbalanced"),
    pytest.param("nextval('t_id_seq'::regclass)", "nextval(<sequence>)", id="sequence"),
    pytest.param("nextval('public.old_id_seq')", "nextval(<sequence>)", id="qualified-sequence"),
    pytest.param("'nextval'::text", "'nextval'::text", id="not-a-call"),
])
def test_normalised_default(text, normalised):
    from mig_lint.db.schema import normalised_default

    assert normalised_default(text) == normalised
