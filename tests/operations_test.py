"""ML6xx: the schema changes read from `upgrade()`, and when the rules run (selection, dialects, --base)."""
from __future__ import annotations

import json
import textwrap

import pytest

from mig_lint.cli import main
from mig_lint.sources.operations import migrate_schema_changes
from mig_lint.sources.operations import schema_changes
from tests.conftest import alembic_script
from tests.conftest import commit_all
from tests.conftest import write_tree


def _read(body: str) -> list[tuple[int, str, str | None, str | None, list[str]]]:
    text = "from alembic import op\nimport sqlalchemy as sa\n\n\ndef upgrade():\n" + textwrap.indent(body, "    ")
    return [(c.line, c.kind, c.table, c.column, sorted(c.facts)) for c in schema_changes(text)]


def test_calls_in_every_statement_of_upgrade_and_none_elsewhere():
    assert _read(
        "if flag:\n    op.drop_table('a')\nelse:\n    op.drop_table('b')\nfor name in names:\n    op.drop_table(name)\n"
        "try:\n    op.drop_index('ix', table_name='c')\nexcept Exception:\n    op.drop_constraint('k', 'd')\n"
        "finally:\n    op.create_primary_key('pk', 'e', ['id'])\n"
        "def helper():\n    op.drop_table('never')\nclass Helper:\n    pass\n"
        "other.drop_table('x')\nop.create_unique_constraint('uq', 'f', ['a'])\nop.get_bind()\nop.execute(statement)\n"
        "op.execute(sa.text('DROP TABLE IF EXISTS \"public\".\"g\"'))\nop.execute('SELECT 1')\n"
        "op.execute('ALTER TABLE ONLY h OWNER TO x')\nsa.func.count()\nop.f('name')\n"
    ) == [(7, "drop_table", "a", None, []), (9, "drop_table", "b", None, []), (11, "drop_table", None, None, []),
          (13, "drop_index", "c", None, []), (15, "drop_constraint", "d", None, []),
          (17, "create_primary_key", "e", None, []), (23, "create_unique", "f", None, []),
          (26, "drop_table", "g", None, ["sql"])]


@pytest.mark.parametrize("text", [
    pytest.param("def downgrade():\n    op.drop_table('a')\n", id="no-upgrade-text"),
    pytest.param("def upgrade(:\n", id="syntax-error"),
    pytest.param("upgrade = None\n# def upgrade\n", id="no-upgrade-function"),
])
def test_nothing_is_read_without_an_upgrade_that_parses(text):
    assert schema_changes(text) == ()


def test_sql_forms():
    assert _read(
        "op.execute('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix ON ONLY \"s\".\"t\" (a)')\n"
        "op.execute('ALTER TABLE t ADD COLUMN IF NOT EXISTS c uuid PRIMARY KEY DEFAULT gen_random_uuid()')\n"
        "op.execute('ALTER TABLE t DROP COLUMN IF EXISTS d')\n"
        "op.execute('ALTER TABLE t RENAME TO u')\n"
        "op.execute('ALTER TABLE t ALTER COLUMN e SET NOT NULL')\n"
        "op.execute('ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0) NOT VALID')\n"
        "op.execute('ALTER TABLE t ADD CONSTRAINT uq UNIQUE (a)')\n"
        "op.execute('ALTER TABLE t DROP CONSTRAINT uq')\n"
        "op.execute('ALTER TABLE t SET (fillfactor = 70)')\n"
        "op.execute('ALTER TABLE t ADD COLUMN f int')\nop.drop_table(table_name='v')\n"
    ) == [(6, "create_index", "t", None, ["concurrently", "sql", "unique"]),
          (7, "add_column", "t", "c", ["not-null", "server-default", "sql", "volatile-default"]),
          (8, "drop_column", "t", "d", ["sql"]), (9, "rename_table", "t", None, ["sql"]),
          (10, "alter_column", "t", "e", ["nullable-false", "sql"]),
          (11, "create_check", "t", None, ["not-valid", "sql"]), (12, "create_unique", "t", None, ["sql"]),
          (13, "drop_constraint", "t", None, ["sql"]), (15, "add_column", "t", "f", ["sql"]),
          (16, "drop_table", "v", None, [])]


def test_columns_and_batches():
    assert _read(
        "op.add_column('t', column)\nop.add_column('t', sa.Column('c', sa.Integer, server_default=None))\n"
        "with op.batch_alter_table('t') as batch_op, op.get_context().autocommit_block():\n"
        "    batch_op.create_index('ix', ['c'], unique=True)\n    batch_op.drop_index('ix')\n"
        "    batch_op.drop_constraint('k')\n    batch_op.create_foreign_key('fk', 'u', ['a'], ['id'])\n"
        "with open('x') as f:\n    f.execute('DROP TABLE t2')\n"
    ) == [(6, "add_column", "t", None, []), (7, "add_column", "t", "c", []),
          (9, "create_index", "t", None, ["autocommit", "unique"]), (10, "drop_index", "t", None, ["autocommit"]),
          (11, "drop_constraint", "t", None, ["autocommit"]), (12, "create_foreign_key", "t", None, ["autocommit"]),
          (14, "drop_table", "t2", None, ["sql"])]


def test_a_migrate_script_that_cannot_be_read_has_no_changes():
    assert migrate_schema_changes("def upgrade(migrate_engine:\n") == ()
    assert migrate_schema_changes("def downgrade(migrate_engine):\n    pass\n") == ()


REVISIONS = {
    "alembic.ini": "[alembic]\nscript_location = alembic\n",
    "alembic/env.py": "",
    "alembic/versions/3132a3d33769_users.py": alembic_script("3132a3d33769", None) + (
        "\n\ndef upgrade():\n    op.create_index('ix_a', 'users', ['a'])\n"
        "    op.create_foreign_key('fk', 'users', 'orgs', ['org_id'], ['id'])\n"),
}


def _codes(capsys, *args: str) -> list[tuple[str, int]]:
    code = main(["check", "--format", "json", *args])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    return [(f["code"], f["line"]) for f in report["findings"]]


def test_ml6_is_opt_in_and_a_prefix_selects_the_family(in_tmp, capsys):
    write_tree(in_tmp, REVISIONS)
    assert [c for c, _ in _codes(capsys)] == []
    assert [c for c, _ in _codes(capsys, "--select", "ML6")] == ["ML602", "ML604"]
    assert [c for c, _ in _codes(capsys, "--select", "ML604")] == ["ML604"]
    assert [c for c, _ in _codes(capsys, "--extend-select", "ML60", "--ignore", "ML602")] == ["ML604"]


@pytest.mark.parametrize(("dialects", "found"), [
    pytest.param('["mysql", "sqlite"]', [], id="no-postgresql"),
    pytest.param('["postgresql"]', ["ML602", "ML604"], id="postgresql"),
    pytest.param('["MariaDB", "PostgreSQL"]', ["ML602", "ML604"], id="case-folded"),
])
def test_postgresql_locks_follow_the_dialects(in_tmp, capsys, dialects, found):
    write_tree(in_tmp, {**REVISIONS, "pyproject.toml": f'[tool.mig-lint]\nselect = ["ML6"]\ndialects = {dialects}\n'})
    assert [c for c, _ in _codes(capsys)] == found


def test_an_unknown_dialect_is_a_configuration_error(in_tmp, capsys):
    write_tree(in_tmp, {**REVISIONS, "setup.cfg": "[mig-lint]\ndialects =\n    postgres\n"})
    assert main(["check"]) == 2
    assert capsys.readouterr().err == (f"mig-lint: {in_tmp / 'setup.cfg'}: 'dialects' has 'postgres'; the dialects "
                                       "are postgresql, mysql, mariadb, sqlite, oracle, mssql\n")


def test_with_base_only_the_new_revisions_are_read(in_tmp, capsys, git):
    write_tree(in_tmp, REVISIONS)
    commit_all(git, "users")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"alembic/versions/9763437ba7c7_more.py": alembic_script("9763437ba7c7", "3132a3d33769") + (
        "\n\ndef upgrade():\n    op.drop_column('users', 'legacy')\n")})
    commit_all(git, "more")
    assert _codes(capsys, "--select", "ML6") == [("ML602", 9), ("ML604", 10), ("ML607", 9)]
    assert _codes(capsys, "--select", "ML6", "--base", "main") == [("ML607", 9)]


def test_a_folder_named_expand_or_contract_places_an_unlabelled_revision(in_tmp, capsys):
    write_tree(in_tmp, {
        "alembic.ini": "[alembic]\nscript_location = alembic\n"
                       "version_locations = %(here)s/alembic/versions/expand %(here)s/alembic/versions/contract\n",
        "alembic/env.py": "",
        "alembic/versions/expand/1e3802c0c54c_a.py": alembic_script("1e3802c0c54c", None) + (
            "\n\ndef upgrade():\n    op.drop_table('t')\n"),
        "alembic/versions/contract/04696f1c4863_b.py": alembic_script("04696f1c4863", "1e3802c0c54c") + (
            "\n\ndef upgrade():\n    op.drop_table('u')\n    op.add_column('v', sa.Column('c', sa.Integer))\n"),
    })
    # expand/a: a drop (ML606 and ML607); contract/b: its drop is in place, its addition is not
    assert _codes(capsys, "--select", "ML606,ML607") == [("ML606", 10), ("ML606", 9), ("ML607", 9)]


def test_a_warm_run_recalls_the_changes_by_content(in_tmp, capsys, monkeypatch):
    from mig_lint.rules import operations

    monkeypatch.setenv("MIG_LINT_CACHE_DIR", str(in_tmp / "cache"))
    write_tree(in_tmp, REVISIONS)
    first = _codes(capsys, "--select", "ML6")
    stored = list((in_tmp / "cache").glob("operations-py*.marshal"))
    assert len(stored) == 1 and first == [("ML602", 9), ("ML604", 10)]
    read = operations._read_changes
    monkeypatch.setattr(operations, "_read_changes", lambda *args: pytest.fail("read again"))
    assert _codes(capsys, "--select", "ML6") == first
    stored[0].write_bytes(b"not marshal")
    monkeypatch.setattr(operations, "_read_changes", read)
    assert _codes(capsys, "--select", "ML6") == first
    assert _codes(capsys, "--select", "ML6", "--no-cache") == first
    stored[0].write_bytes(__import__("marshal").dumps({"format": "0/old", "changes": {}}))
    assert _codes(capsys, "--select", "ML6") == first


def test_a_script_without_a_content_id_or_that_cannot_be_read_is_read_each_time(tmp_path):
    from mig_lint.rules.operations import ChangeStore

    store = ChangeStore(None)
    assert store.changes(str(tmp_path / "missing.py"), "", "alembic", "migrate_version") == ()
    assert not store.added and store.known == {}


def _dialects(test: str) -> list[list[str]]:
    text = (f"from alembic import op\n\n\ndef upgrade():\n    if {test}:\n        op.drop_table('a')\n"
            "    else:\n        op.drop_table('b')\n")
    return [sorted(c.dialects) for c in schema_changes(text)]


@pytest.mark.parametrize(("test", "found"), [
    pytest.param("bind.dialect.name == 'PostgreSQL'", [["postgresql"], []], id="equal-case-folded"),
    pytest.param("name != 'sqlite'", [[], ["sqlite"]], id="not-equal"),
    pytest.param("name in ['mysql', 'mariadb']", [["mariadb", "mysql"], []], id="in-list"),
    pytest.param("name not in {'postgres'}", [[], ["postgresql"]], id="not-in-set"),
    pytest.param("not url.startswith('mysql+pymysql://')", [[], ["mysql"]], id="not-startswith"),
    pytest.param("name in ()", [[], []], id="empty-tuple"),
    pytest.param("name in ('mysql', other)", [[], []], id="not-only-literals"),
    pytest.param("name == 'mysqlx'", [[], []], id="no-dialect"),
    pytest.param("version < 'mysql'", [[], []], id="other-comparison"),
    pytest.param("url.startswith('http')", [[], []], id="startswith-no-dialect"),
    pytest.param("url.startswith(prefix)", [[], []], id="startswith-computed"),
    pytest.param("name == 'mysql' and op.drop_table('c')", [[], [], []], id="bool-op"),
])
def test_branches_on_the_dialect_name(test, found):
    assert _dialects(test) == found


def test_module_string_constants_name_tables_unless_upgrade_assigns_them():
    text = ("from alembic import op\nimport sqlalchemy as sa\nTABLE = 'ports'\nOTHER = 'x'\nOTHER = make()\n"
            "LOCAL = 'y'\nA, B = 'p', 'q'\n\n\ndef upgrade():\n    LOCAL = 'z'\n"
            "    op.create_table(TABLE, sa.Column('id', sa.Integer))\n    op.create_index('ix', TABLE, ['id'])\n"
            "    op.drop_table(OTHER)\n    op.drop_table(LOCAL)\n    op.drop_table(A)\n")
    assert [(c.kind, c.table, sorted(c.facts)) for c in schema_changes(text)] == [
        ("create_table", "ports", []), ("create_index", "ports", ["new-table"]), ("drop_table", None, []),
        ("drop_table", None, []), ("drop_table", None, [])]


def test_the_statement_is_the_call_as_written_over_lines_and_in_any_script():
    text = ("\"\"\"café\"\"\"\nfrom alembic import op\n\n\ndef upgrade():\n    op.drop_column('café',\n"
            "                   'naïve')  # ok\n    op.drop_table('thé')\r\n")
    assert [c.statement for c in schema_changes(text)] == ["op.drop_column('café', 'naïve')", "op.drop_table('thé')"]


def test_with_base_a_table_that_a_new_revision_below_creates_is_new(in_tmp, capsys, git):
    write_tree(in_tmp, REVISIONS)
    commit_all(git, "users")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {
        "alembic/versions/7a1c9e0b3d52_teams.py": alembic_script("7a1c9e0b3d52", "3132a3d33769") + (
            "\n\ndef upgrade():\n    op.create_table('teams', sa.Column('id', sa.Integer))\n"),
        "alembic/versions/e2d4b6a8c0f1_team_index.py": alembic_script("e2d4b6a8c0f1", "7a1c9e0b3d52") + (
            "\n\ndef upgrade():\n    op.create_index('ix_teams', 'teams', ['id'])\n"
            "    op.create_index('ix_users', 'users', ['id'])\n"),
        # a squash: a new base whose tables are stamped on databases that have them
        "alembic/versions/4f6e8d0c2b1a_squash.py": alembic_script("4f6e8d0c2b1a", None) + (
            "\n\ndef upgrade():\n    op.create_table('orgs', sa.Column('id', sa.Integer))\n"),
        "alembic/versions/9b8a7c6d5e4f_org_index.py": alembic_script("9b8a7c6d5e4f", "4f6e8d0c2b1a") + (
            "\n\ndef upgrade():\n    op.create_index('ix_orgs', 'orgs', ['id'])\n"),
    })
    commit_all(git, "teams")
    found = main(["check", "--format", "json", "--select", "ML602", "--base", "main"])
    report = json.loads(capsys.readouterr().out)
    assert found == 1
    assert [(f["path"].rsplit("/", 1)[1], f["line"]) for f in report["findings"]] == [
        ("9b8a7c6d5e4f_org_index.py", 9), ("e2d4b6a8c0f1_team_index.py", 10)]


def test_a_warm_run_recalls_the_dialects_of_each_change(in_tmp, capsys, monkeypatch):
    monkeypatch.setenv("MIG_LINT_CACHE_DIR", str(in_tmp / "cache"))
    write_tree(in_tmp, {**REVISIONS, "alembic/versions/3132a3d33769_users.py": alembic_script("3132a3d33769", None) + (
        "\n\ndef upgrade():\n    if op.get_bind().dialect.name == 'mysql':\n        op.create_index('ix_a', 'users', ['a'])\n"
        "    op.create_index('ix_b', 'users', ['b'])\n")})
    assert _codes(capsys, "--select", "ML602") == [("ML602", 11)]
    assert _codes(capsys, "--select", "ML602") == [("ML602", 11)]


def test_arguments_by_keyword_and_a_nullable_column_in_sql():
    assert _read(
        "op.add_column(table_name='t', column=sa.Column('c', sa.Integer, nullable=False))\n"
        "op.execute('ALTER TABLE t ADD COLUMN d integer')\n"
    ) == [(6, "add_column", "t", "c", ["not-null"]), (7, "add_column", "t", "d", ["sql"])]


def test_a_finding_shows_the_call_the_statement_it_issues_and_the_safe_pattern(in_tmp, capsys):
    write_tree(in_tmp, REVISIONS)
    assert main(["check", "--select", "ML602", "--format", "json"]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["message"] == (
        "`op.create_index('ix_a', 'users', ['a'])` (`CREATE INDEX ix_a ON users (...)`) builds an index on users "
        "without CONCURRENTLY: writes to the table wait for the whole build (SHARE lock)")
    assert finding["hint"] == ("with op.get_context().autocommit_block(): "
                               "op.create_index(..., postgresql_concurrently=True)")
