"""benchmarks/convert_corpus.py without the corpus: its commit table, its reading of reports, its tables, its stand-ins."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from tests.conftest import write_tree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
try:
    import convert_corpus as corpus
finally:
    sys.path.pop(0)


def test_the_corpus_pins_each_repository_to_a_commit_and_a_folder():
    assert [r.name for r in corpus.CORPUS] == ["nova", "nova-api", "cinder", "ironic"]
    for repository in corpus.CORPUS:
        assert re.fullmatch(r"[0-9a-f]{40}", repository.commit)
        assert repository.path.endswith("/migrate_repo")
        assert re.fullmatch(r"openstack\+[a-z]+", repository.mirror)
        assert re.fullmatch(r"\d+-\d+", repository.versions)
        assert repository.note
    assert [r.last_version for r in corpus.CORPUS] == [None, None, 45, None]


def test_only_selects_repositories_by_name_and_refuses_unknown_ones():
    assert corpus.selected(None) == corpus.CORPUS
    assert [r.name for r in corpus.selected(["ironic", "nova"])] == ["ironic", "nova"]
    with pytest.raises(corpus.CorpusError, match="unknown repository glance; known: nova, nova-api, cinder, ironic"):
        corpus.selected(["glance"])


def test_extract_takes_the_folder_at_the_commit_and_leaves_out_versions_above_the_last(tmp_path):
    project = write_tree(tmp_path / "project", {
        "cinder/db/migrate_repo/migrate.cfg": "[db_settings]\nrepository_id=cinder\n",
        "cinder/db/migrate_repo/versions/__init__.py": "",
        "cinder/db/migrate_repo/versions/001_init.py": "def upgrade(migrate_engine):\n    pass\n",
        "cinder/db/migrate_repo/versions/002_sqlite_upgrade.sql": "SELECT 1;\n",
        "cinder/db/migrate_repo/versions/002_more.py": "def upgrade(migrate_engine):\n    pass\n",
        "cinder/db/migrate_repo/versions/003_later.py": "def upgrade(migrate_engine):\n    pass\n",
        "cinder/api.py": "",
    })
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    mirrors = tmp_path / "mirrors"
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(mirrors / "openstack+cinder" / "repo")],
                   check=True)
    repository = corpus.Repository("cinder", "openstack+cinder", commit, "cinder/db/migrate_repo", "1-2",
                                   last_version=2)

    folder = corpus.extract(repository, mirrors, tmp_path / "work")

    assert folder == tmp_path / "work" / "cinder" / "cinder" / "db" / "migrate_repo"
    assert sorted(p.name for p in (folder / "versions").iterdir()) == [
        "001_init.py", "002_more.py", "002_sqlite_upgrade.sql", "__init__.py"]
    assert not (tmp_path / "work" / "cinder" / "cinder" / "api.py").exists()
    with pytest.raises(corpus.CorpusError, match=r"cinder: git archive 0{40} cinder/db/migrate_repo in .* failed: "):
        corpus.extract(corpus.Repository("cinder", "openstack+cinder", "0" * 40, "cinder/db/migrate_repo", "1-2"),
                       mirrors, tmp_path / "again")


def test_versions_above_none_leaves_every_script(tmp_path):
    write_tree(tmp_path, {"versions/900_x.py": ""})
    assert corpus.versions_above(tmp_path / "versions", None) == []


def test_conversion_counts_read_statuses_leftovers_and_unsupported_code():
    report = {"versions": [
        {"status": "partial", "unsupported": [{"reason": "a foreign key needs its columns and refcolumns"}],
         "leftovers": [{"construct": ".execute()", "reason": "implicit execution"},
                       {"construct": ".execute()", "reason": "implicit execution"}]},
        {"status": "translated", "unsupported": [], "leftovers": []},
        {"status": "placeholder", "unsupported": []},
    ]}
    conversion = corpus.conversion_counts(report, 1.5)
    assert conversion == corpus.Conversion(
        {"partial": 1, "translated": 1, "placeholder": 1},
        {".execute(): implicit execution": 2, "unsupported: a foreign key needs its columns and refcolumns": 1}, 1.5)


def step(migrate_error=None, alembic_error=None, timed_out=False, comparison_error=None, differences=()):
    def done(version, error, late=False):
        return {"version": version, "seconds": 3601.2 if late else 0.1, "timed_out": late, "error": error}
    return {"version": "13", "revision": "0013", "migrate": done("13", migrate_error, timed_out),
            "alembic": [done("0013", alembic_error)], "differences": list(differences),
            "comparison_error": comparison_error}


def test_divergence_says_which_side_failed_where_in_the_revision():
    error = {"type": "AttributeError", "message": "instance_uuid\nmore", "where": "/tmp/x/out/versions/0013_b.py:60"}
    assert corpus.divergence(step(alembic_error=error)) == "alembic: AttributeError: instance_uuid (versions/0013_b.py:60)"
    error = {"type": "OperationalError", "message": "(1833, 'Cannot change column')", "where": None}
    assert corpus.divergence(step(migrate_error=error)) == "migrate: OperationalError: (1833, 'Cannot change column')"
    traceback = {"type": "ValueError", "message": "Traceback (most recent call last):\n  File x\nValueError: bad",
                 "where": "worker.py:3"}
    assert corpus.divergence(step(alembic_error=traceback)) == "alembic: ValueError: ValueError: bad (worker.py:3)"
    assert corpus.divergence(step(timed_out=True)) == "migrate step 13 timed out after 3601 s"


def test_divergence_names_a_failed_comparison_or_the_first_difference():
    assert corpus.divergence(step(comparison_error="DatabaseError: locked")) == "comparison failed: DatabaseError: locked"
    changes = [{"action": "altered", "kind": "column", "name": "users.email", "detail": "nullable NULL -> NOT NULL"},
               {"action": "removed", "kind": "index", "name": "users.ix", "detail": ""},
               {"action": "added", "kind": "table", "name": "t", "detail": ""}]
    assert corpus.divergence(step(differences=changes)) == (
        "schema differs: ~ column users.email: nullable NULL -> NOT NULL (and 2 more)")
    assert corpus.divergence(step(differences=changes[1:2])) == "schema differs: - index users.ix"
    assert corpus.divergence(step()) == "schema differs"
    long = [{"action": "added", "kind": "table", "name": "t" * 300, "detail": ""}]
    assert len(corpus.divergence(step(differences=long))) == corpus.REASON_WIDTH


def test_proof_of_reads_one_database_of_a_verify_report():
    result = {"versions": 82, "matched": 12, "failed_version": "13",
              "steps": [step(comparison_error="E: x")]}
    assert corpus.proof_of("mysql", result, 2.0) == corpus.Proof("mysql", 12, 82, "13", "comparison failed: E: x", 2.0)
    result = {"versions": 2, "matched": 2, "failed_version": None, "steps": [step(), step()]}
    assert corpus.proof_of("sqlite", result, 1.0) == corpus.Proof("sqlite", 2, 2, None, None, 1.0)


def test_proof_of_reads_the_walk_back_down():
    down = {"ok": False, "versions": 15, "matched": 2, "steps": [step(), step(comparison_error="E: y")]}
    result = {"versions": 15, "matched": 15, "failed_version": None, "steps": [step()], "downgrade": down}
    proof = corpus.proof_of("sqlite", result, 3.0)
    assert proof == corpus.Proof("sqlite", 15, 15, None, None, 3.0,
                                 corpus.Proof("sqlite", 2, 15, "13", "comparison failed: E: y", 3.0))
    assert corpus.proof_cell(proof) == "proved 15/15; down 2/15, stops at 13"
    assert not corpus.all_proved([corpus.Row(corpus.CORPUS[3], corpus.Conversion({}, {}, 1.0), (proof,))])
    walked = {**result, "downgrade": {"ok": True, "versions": 15, "matched": 15, "steps": [step()]}}
    proof = corpus.proof_of("sqlite", walked, 3.0)
    assert corpus.proof_cell(proof) == "proved 15/15; down 15/15"
    row = corpus.Row(corpus.CORPUS[3], corpus.Conversion({}, {}, 1.0), (proof,))
    assert corpus.all_proved([row])
    assert corpus.render_divergences([row]).endswith("| ironic | SQLite | - | none: every version proved | 3.0 |\n")


def rows():
    nova, _, cinder, ironic = corpus.CORPUS
    return [
        corpus.Row(nova, corpus.Conversion({"translated": 59, "partial": 22, "placeholder": 121},
                                           {".alter(): a migrate changeset call": 3}, 2.94), (
            corpus.Proof("sqlite", 15, 202, "231", "alembic: CompileError: Unconsumed column names: x", 2.5),
            corpus.Proof("mysql", 0, 0, None, "verify refused: mig-lint: cannot open out | x", 0.8))),
        corpus.Row(cinder, corpus.Conversion({}, {}, 0.4, refused="mig-lint: not a migrate repository"), ()),
        corpus.Row(ironic, corpus.Conversion({"translated": 15}, {".alter(): a migrate changeset call": 1}, 0.7),
                   (corpus.Proof("sqlite", 15, 15, None, None, 0.9,
                                 corpus.Proof("sqlite", 0, 15, "15", "migrate: NotImplementedError: no", 0.9)),
                    corpus.Proof("mysql", 15, 15, None, None, 1.0))),
    ]


def test_the_table_has_convert_counts_and_proved_n_of_m_per_database():
    assert corpus.render_table(rows(), ["sqlite", "mysql"]) == (
        "| repository | commit | versions | translated | partial | SQL only | placeholder | failed | convert s "
        "| SQLite | MariaDB |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|\n"
        "| nova | 4701d28da3 | 216-417 | 59 | 22 | 0 | 121 | 0 | 2.9 | proved 15/202, stops at 231 | not run |\n"
        "| cinder | 53cfde43b8 | 1-45 | refused: mig-lint: not a migrate repository |  |  |  |  | 0.4 | - | - |\n"
        "| ironic | 5983ad8523 | 1-15 | 15 | 0 | 0 | 0 | 0 | 0.7 | proved 15/15; down 0/15, stops at 15 "
        "| proved 15/15 |\n")


def test_the_divergences_and_leftovers_are_listed_under_the_table():
    assert corpus.render_divergences(rows()) == (
        "| repository | database | version | first divergence | verify s |\n"
        "|---|---|---|---|---:|\n"
        "| nova | SQLite | 231 | alembic: CompileError: Unconsumed column names: x | 2.5 |\n"
        "| nova | MariaDB | - | verify refused: mig-lint: cannot open out \\| x | 0.8 |\n"
        "| ironic | SQLite | - | none: every version proved | 0.9 |\n"
        "| ironic | SQLite, down | 15 | migrate: NotImplementedError: no | |\n"
        "| ironic | MariaDB | - | none: every version proved | 1.0 |\n")
    assert corpus.render_leftovers(rows()) == "     4  .alter(): a migrate changeset call\n"
    assert not corpus.all_proved(rows())
    assert not corpus.all_proved(rows()[2:])


def test_the_stand_ins_come_first_on_pythonpath_and_migrate_keeps_its_own_six(tmp_path):
    env = corpus.child_environment({"PYTHONPATH": "/a::/b", "HOME": "/h"}, [corpus.STANDINS])
    assert env == {"PYTHONPATH": f"{corpus.STANDINS}:/a:/b", "HOME": "/h"}
    assert corpus.child_environment({}, [])["PYTHONPATH"] == ""
    wrapper = corpus.migrate_wrapper(tmp_path, sys.executable, {"PYTHONPATH": "/a"})
    done = subprocess.run([str(wrapper), "-c", "import os, sys; print(os.environ['PYTHONPATH'])"],
                          capture_output=True, text=True, check=True)
    assert done.stdout == f"{corpus.STANDINS}:/a\n"


def test_the_first_line_of_an_error_or_the_last_of_a_traceback():
    assert corpus.first_line("\n  one\ntwo\n") == "one"
    assert corpus.first_line("Traceback (most recent call last):\n  File x\nKeyError: 'a'\n") == "KeyError: 'a'"
    assert corpus.first_line("") == corpus.last_line("") == ""
    assert corpus.last_line("warning\nmig-lint: cannot open x\n") == "mig-lint: cannot open x"


def test_without_a_migrate_interpreter_the_script_says_what_to_give(monkeypatch, capsys):
    monkeypatch.delenv("MIG_LINT_LEGACY_PYTHON", raising=False)
    monkeypatch.setattr(sys, "executable", "/nowhere/bin/python")
    assert corpus.main(["--only", "ironic"]) == 2
    assert "give --migrate-python or set MIG_LINT_LEGACY_PYTHON" in capsys.readouterr().err
    assert corpus.main(["--only", "glance", "--migrate-python", "/x"]) == 2
    assert "unknown repository glance" in capsys.readouterr().err


@pytest.fixture
def standins(monkeypatch):
    monkeypatch.syspath_prepend(str(corpus.STANDINS))
    for name in [m for m in sys.modules if m.split(".")[0] in {"nova", "oslo_db"}]:
        monkeypatch.delitem(sys.modules, name)


def ddl(table, dialect):
    return " ".join(str(CreateTable(table).compile(dialect=dialect)).split())


def test_nova_types_are_inet_on_postgresql_and_strings_elsewhere_as_novas_own(standins):
    from nova.db.sqlalchemy import api_models
    from nova.db.sqlalchemy import types

    table = sa.Table("t", sa.MetaData(), sa.Column("ip", types.IPAddress()), sa.Column("net", types.CIDR()),
                     sa.Column("body", api_models.MediumText()))
    assert ddl(table, postgresql.dialect()) == "CREATE TABLE t ( ip INET, net INET, body TEXT )"
    assert ddl(table, mysql.dialect()) == "CREATE TABLE t ( ip VARCHAR(39), net VARCHAR(43), body MEDIUMTEXT )"
    assert ddl(table, sqlite.dialect()) == "CREATE TABLE t ( ip VARCHAR(39), net VARCHAR(43), body TEXT )"


def test_oslo_db_index_helpers_work_on_a_connection(standins):
    from oslo_db.sqlalchemy import utils

    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER)"))
        utils.add_index(connection, "t", "t_a_b_idx", ["a", "b"])
        assert utils.index_exists(connection, "t", "t_a_b_idx")
        assert [c.name for c in utils.get_table(connection, "t").c] == ["id", "a", "b"]
        with pytest.raises(ValueError, match="Index 't_a_b_idx' already exists!"):
            utils.add_index(connection, "t", "t_a_b_idx", ["a"])
        utils.drop_index(connection, "t", "t_a_b_idx")
        assert not utils.index_exists(connection, "t", "t_a_b_idx")
        with pytest.raises(ValueError, match="Index 't_a_b_idx' not found!"):
            utils.drop_index(connection, "t", "t_a_b_idx")


ENV = '''\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
section = config.get_section(config.config_ini_section)
engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''
MIGRATE_SCRIPT = "import sqlalchemy as sa\n\n\ndef upgrade(migrate_engine):\n    meta = sa.MetaData()\n{}\n"
REVISION = ("from alembic import op\nimport sqlalchemy as sa\n\nrevision = {revision!r}\n"
            "down_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n{body}\n")
CREATE = "sa.Table('t', meta, sa.Column('id', sa.Integer, primary_key=True)).create(migrate_engine)"
ADD = "migrate_engine.execute('ALTER TABLE t ADD COLUMN {} INTEGER')"
STEPS = [  # (migrate body, alembic body) of versions 1 to 4
    (CREATE, "op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))"),
    (ADD.format("a"), "op.add_column('t', sa.Column('a', sa.Integer, nullable=False, server_default='0'))"),
    (ADD.format("b"), "op.add_column('t', sa.Column('b', sa.Integer))\n    op.drop_table('missing')"),
    (ADD.format("c"), "op.add_column('t', sa.Column('c', sa.Integer))"),
    ("raise ValueError('no more')", "pass"),
]


def write_pair(root: Path) -> tuple[Path, Path]:
    """A migrate repository and its alembic tree: version 2 differs, 3 fails on alembic's side, 5 on migrate's."""
    files = {"repo/migrate.cfg": "[db_settings]\nrepository_id = repo\nversion_table = migrate_version\n",
             "repo/versions/__init__.py": "",
             "alembic/alembic.ini": "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = sqlite:///unused.db\n",
             "alembic/env.py": ENV}
    for number, (migrate_body, alembic_body) in enumerate(STEPS, start=1):
        files[f"repo/versions/{number:03}_step.py"] = MIGRATE_SCRIPT.format("    " + migrate_body)
        files[f"alembic/versions/{number:04}_step.py"] = REVISION.format(
            revision=f"{number:04}", down=f"{number - 1:04}" if number > 1 else None, body="    " + alembic_body)
    files["alembic/migrate-stamp-map.json"] = json.dumps({str(n): f"{n:04}" for n in range(1, len(STEPS) + 1)})
    write_tree(root, files)
    return root / "repo", root / "alembic"


def test_each_version_is_judged_on_its_own_from_migrates_database_before_it(tmp_path):
    from tests.legacy_env import legacy_python

    repo, alembic = write_pair(tmp_path)
    verdicts = corpus.each_version(repo, alembic, legacy_python(), dict(os.environ))
    assert verdicts == [
        corpus.Verdict(1, None),
        corpus.Verdict(2, "schema differs: ~ column t.a: nullable NULL -> NOT NULL (and 1 more)"),
        corpus.Verdict(3, "alembic: sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: "
                          "missing (versions/0003_step.py:12)"),
        corpus.Verdict(4, None),
        corpus.Verdict(5, "migrate: ValueError: no more (versions/005_step.py:6)"),
    ]
    assert corpus.render_each_version("repo", "sqlite", verdicts) == (
        "repo: 2 of 4 versions judged on their own match on SQLite\n"
        "  2: schema differs: ~ column t.a: nullable NULL -> NOT NULL (and 1 more)\n"
        "  3: alembic: sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: missing"
        " (versions/0003_step.py:12)\n"
        "  5: migrate: ValueError: no more (versions/005_step.py:6)\n")


def test_a_migrate_interpreter_that_cannot_step_is_one_failure(tmp_path):
    repo, alembic = write_pair(tmp_path)
    verdicts = corpus.each_version(repo, alembic, sys.executable, dict(os.environ))
    assert verdicts == [corpus.Verdict(-1, "migrate: ModuleNotFoundError: No module named 'migrate'")]
    assert corpus.render_each_version("repo", "sqlite", verdicts) == (
        "repo: 0 of 0 versions judged on their own match on SQLite\n"
        "  ?: migrate: ModuleNotFoundError: No module named 'migrate'\n")


def test_reasons_are_counted_by_class_without_their_place():
    verdicts = [corpus.Verdict(1, None),
                corpus.Verdict(2, "schema differs: ~ column t.a: nullable NULL -> NOT NULL (and 1 more)"),
                corpus.Verdict(3, "schema differs: ~ column u.b: nullable NOT NULL -> NULL"),
                corpus.Verdict(4, "schema differs: + index t.ix: (a, b)"),
                corpus.Verdict(7, "schema differs: ~ column t.c"),
                corpus.Verdict(5, "alembic: TypeError: got 'table' (versions/0005_x.py:3)"),
                corpus.Verdict(6, "alembic: TypeError: got 'table' (versions/0006_y.py:9)")]
    assert corpus.reason_classes(verdicts) == [
        ("schema differs: ~ column: nullable", 2), ("alembic: TypeError: got 'table'", 2),
        ("schema differs: + index", 1), ("schema differs: ~ column", 1)]


def test_alembic_failures_name_the_revisions_line():
    stderr = ('Traceback (most recent call last):\n  File "/x/alembic/command.py", line 3, in upgrade\n'
              '  File "/tmp/a/out/versions/0231_add.py", line 52, in upgrade\n    op.x()\n'
              '  File "/root/.pyenv/versions/3.11.7/lib/python3.11/contextlib.py", line 144, in __exit__\n'
              'sqlalchemy.exc.CompileError: Unconsumed column names: k\n')
    versions = Path("/tmp/a/out/versions")
    assert corpus.alembic_failure(stderr, versions) == (
        "alembic: sqlalchemy.exc.CompileError: Unconsumed column names: k (versions/0231_add.py:52)")
    assert corpus.alembic_failure("KeyError: 'x'\n", versions) == "alembic: KeyError: 'x'"
    stderr = ('Traceback (most recent call last):\n  File "/x/versions/0003_b.py", line 12, in upgrade\n'
              '    op.drop_table("missing")\nsqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table\n'
              '[SQL: DROP TABLE missing]\n(Background on this error at: https://sqlalche.me/e/21/e3q8)\n')
    assert corpus.alembic_failure(stderr, Path("/x/versions")) == (
        "alembic: sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table (versions/0003_b.py:12)")


def test_each_version_on_postgresql_copies_template_databases_and_drops_them(tmp_path):
    from tests.databases import require_server
    from tests.legacy_env import legacy_python

    server = require_server("postgresql", tmp_path)
    repo, alembic = write_pair(tmp_path)
    verdicts = corpus.each_version(repo, alembic, legacy_python(), dict(os.environ), server)
    assert verdicts == [
        corpus.Verdict(1, None),
        corpus.Verdict(2, "schema differs: ~ column t.a: nullable NULL -> NOT NULL (and 1 more)"),
        corpus.Verdict(3, 'alembic: sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedTable) table "missing" '
                          'does not exist (versions/0003_step.py:12)'),
        corpus.Verdict(4, None),
        corpus.Verdict(5, "migrate: ValueError: no more (versions/005_step.py:6)"),
    ]
    engine = sa.create_engine(server)
    with engine.connect() as connection:
        left = connection.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :mine"),
                                  {"mine": f"corpus\\_{os.getpid()}\\_%"}).all()
    engine.dispose()
    assert left == []
