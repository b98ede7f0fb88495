"""benchmarks/fork_scenarios.py on hand-written projects: the scenarios play and the real tools judge them."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import write_tree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
try:
    import fork_scenarios as forks
finally:
    sys.path.pop(0)

MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    ${upgrades if upgrades else "pass"}
'''


def _revision(revision: str, down: str | None, message: str) -> str:
    return (f'"""{message}\n\nRevision ID: {revision}\nRevises: {down or ""}\nCreate Date: 2024-05-02 10:00:00\n\n"""\n'
            f"from alembic import op\nimport sqlalchemy as sa\n\n\n"
            f"revision = {revision!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n    op.create_table({message.split()[-1]!r}, sa.Column('id', sa.Integer, primary_key=True))\n")


SHOP = {
    "alembic.ini": "[alembic]\nscript_location = db\n",
    "db/env.py": "from alembic import context\n",
    "db/script.py.mako": MAKO,
    "db/versions/4f2a9c1d8e07_create_customers.py": _revision("4f2a9c1d8e07", None, "create customers"),
    "db/versions/9b3e7d52a1c4_create_orders.py": _revision("9b3e7d52a1c4", "4f2a9c1d8e07", "create orders"),
    "db/versions/c81f06e4b2d9_create_invoices.py": _revision("c81f06e4b2d9", "9b3e7d52a1c4", "create invoices"),
    "tests/test_db.py": "def test_tables():\n    pass\n",
}

MIGRATE_SCRIPT = '''\
# Copyright the legacy shop authors.

from sqlalchemy import Column, Integer, MetaData, Table


def upgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    Table({table!r}, meta, Column('id', Integer, primary_key=True)).create()
'''

LEGACY = {
    "legacy/migrate_repo/__init__.py": "",
    "legacy/migrate_repo/migrate.cfg": "[db_settings]\nrepository_id=legacy\nversion_table=migrate_version\n",
    "legacy/migrate_repo/versions/__init__.py": "",
    "legacy/migrate_repo/versions/001_create_customers.py": MIGRATE_SCRIPT.format(table="customers"),
    "legacy/migrate_repo/versions/002_create_orders.py": MIGRATE_SCRIPT.format(table="orders"),
    "tests/test_migrations.py": (
        "class Checks:\n"
        "    def _check_001(self, engine, data):\n        self.assertTableExists(engine, 'customers')\n\n"
        "    def _check_002(self, engine, data):\n        self.assertTableExists(engine, 'orders')\n\n\n"
        "class TestSQLite(Checks):\n    pass\n"),
}


def _mirror(mirrors: Path, name: str, files: dict[str, str]) -> str:
    """A git repository at mirrors/<name>/repo holding `files`; its commit."""
    repo = write_tree(mirrors / name / "repo", files)
    for args in (["init", "-q", "-b", "trunk"], ["add", "-A"], ["commit", "-q", "-m", "the project"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **forks.GIT_ENV})
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def shop(tmp_path):
    commit = _mirror(tmp_path / "mirrors", "shop", SHOP)
    return forks.ForkProject("shop", "shop", commit, "alembic", "db", "tests/test_db.py", "customers")


@pytest.fixture
def legacy(tmp_path):
    commit = _mirror(tmp_path / "mirrors", "legacy", LEGACY)
    return forks.ForkProject("legacy", "legacy", commit, "migrate", "legacy/migrate_repo", "tests/test_migrations.py",
                             "customers")


MIG_LINT = forks.MigLint(sys.executable, ROOT)
A = forks._hex_id("shop", "feature-a")
B = forks._hex_id("shop", "feature-b")


def test_the_scenarios_that_mig_lint_joins_are_good(shop, tmp_path):
    scenarios = ("merge, fix --base", "stopped merge", "stopped rebase")
    records = forks.run_project(shop, tmp_path / "mirrors", tmp_path / "work", MIG_LINT, scenarios, None)
    expected = forks.Record("shop", "", 1, "", True, "", 0, (), 0, (), True, f"heads {A}; 5 revisions", (), ())
    assert records == [replace(expected, scenario=s) for s in scenarios]
    assert forks.render(records).splitlines()[2:] == [
        f"| shop | {s} | 1 | 0 - | yes (heads {A}; 5 revisions) | 0 | good | - |" for s in scenarios]
    added = (tmp_path / "work/shop-stoppedrebase/db/versions" / f"{A}_feature_a.py").read_text()
    assert f"Revision ID: {A}\nRevises: {B}\n" in added and f"down_revision = {B!r}\n" in added
    assert "op.add_column('customers', sa.Column('feature_a', sa.Boolean(), nullable=True))" in added
    assert (tmp_path / "work/shop-stoppedmerge/tests/test_db.py").read_text() == (
        "def test_tables():\n    pass\n\n\ndef test_feature_a_migration():\n    assert 'feature_a'\n"
        "def test_feature_b_migration():\n    assert 'feature_b'\n")  # both sides kept, as `git merge-file --union`


def test_a_fork_left_open_is_judged_bad_by_alembic(shop, tmp_path):
    root = forks.clone(shop, tmp_path / "mirrors", tmp_path / "open")
    heads = {"": ["c81f06e4b2d9"]}
    for feature in ("feature-b", "feature-a"):
        forks.add_feature(shop, root, feature, heads, companion=False, with_test=False)
    forks.git(root, "checkout", "-q", "main")
    forks.git(root, "merge", "-q", "--no-ff", "--no-edit", "feature-b")
    forks.git(root, "checkout", "-q", "feature-a")
    forks.git(root, "merge", "-q", "--no-edit", "main")
    assert forks.agree_alembic(shop, root, 5) == (False, f"heads {' '.join(sorted([A, B]))}; 5 revisions")
    assert forks.agree_alembic(shop, root, 6) == (False, f"heads {' '.join(sorted([A, B]))}; 5 revisions, expected 6")
    assert not forks.drops_main_lines(root, "tests/test_db.py")
    (root / "tests/test_db.py").write_text("def test_tables():\n    assert True\n")
    assert forks.drops_main_lines(root, "tests/test_db.py")
    check = MIG_LINT.run(root, "check", "--base", "main", "--format", "json")
    assert (check.returncode, forks._check_codes(check)) == (1, ("ML101", "ML103", "ML501"))


@pytest.fixture
def migrate_python():
    from tests.legacy_env import legacy_python

    return legacy_python()


def test_a_migrate_fork_with_check_methods_that_git_stops_on(legacy, tmp_path, migrate_python):
    scenarios = ("stopped merge", "stopped rebase")
    records = forks.run_project(legacy, tmp_path / "mirrors", tmp_path / "work", MIG_LINT, scenarios, migrate_python)
    assert [(r.scenario, r.fix_exit, r.git_done, r.agree, r.agree_detail, r.base_edited, r.markers)
            for r in records] == [(s, 1, True, True, "1..4; migrate reads the same", (), ()) for s in scenarios]
    assert [forks.is_good(r) for r in records] == [True, True]
    merged = tmp_path / "work/legacy-stoppedmerge"
    assert sorted(p.name for p in (merged / "legacy/migrate_repo/versions").iterdir()) == [
        "001_create_customers.py", "002_create_orders.py", "003_feature_b.py", "004_feature_a.py", "__init__.py"]
    # git aligns the two `def _check_003` lines; the developer keeps both assertions
    assert (merged / "tests/test_migrations.py").read_text() == LEGACY["tests/test_migrations.py"].replace(
        "\n\n\nclass", "\n\n    def _check_003(self, engine, data):\n"
        "        self.assertColumnExists(engine, 'customers', 'feature_a')\n"
        "        self.assertColumnExists(engine, 'customers', 'feature_b')\n\n\nclass")
    assert [r.notes for r in records] == [("feature-a is 004; its test is still _check_003",)] * 2


def test_a_migrate_feature_with_its_sql_script_and_duplicates_judged_by_migrate(legacy, tmp_path, migrate_python):
    root = forks.clone(legacy, tmp_path / "mirrors", tmp_path / "dup")
    feature = forks.add_feature(legacy, root, "feature-a", {}, companion=True, with_test=False)
    versions = "legacy/migrate_repo/versions"
    assert feature == forks.Feature("feature-a", (f"{versions}/003_feature_a.py", f"{versions}/003_sqlite_upgrade.sql"),
                                    (), 3)
    assert forks.git(root, "show", "--name-only", "--format=%s", "feature-a").stdout.split("\n", 1)[1].split() == [
        f"{versions}/003_feature_a.py", f"{versions}/003_sqlite_upgrade.sql"]
    assert forks.agree_migrate(legacy, root, 3, migrate_python) == (True, "1..3; migrate reads the same")
    (root / versions / "003_sqlite_upgrade.sql").rename(root / versions / "004_sqlite_upgrade.sql")
    assert forks.agree_migrate(legacy, root, 3, migrate_python) == (
        False, "1..3, 4 has only .sql scripts; migrate reads 1..4")
    (root / versions / "004_sqlite_upgrade.sql").unlink()
    (root / versions / "002_create_invoices.py").write_text(MIGRATE_SCRIPT.format(table="invoices"))
    ok, detail = forks.agree_migrate(legacy, root, 4, migrate_python)
    assert not ok and detail.startswith("1..3, 2 twice; migrate: migrate.exceptions.ScriptError: You can only have ")
    (root / versions / "002_create_invoices.py").rename(root / versions / "005_create_invoices.py")
    assert forks.agree_migrate(legacy, root, 4, None) == (False, "1..5, a gap; migrate not run")


GOOD = forks.Record("p", "stopped merge", 1, "", True, "", 1, ("ML104",), 1, ("ML104",), True, "heads x", (), ())


@pytest.mark.parametrize("record, good", [
    pytest.param(GOOD, True, id="good-despite-main's-own-merge-revision"),
    pytest.param(replace(GOOD, fix_exit=0), True, id="fix-changed-nothing"),
    pytest.param(replace(GOOD, fix_exit=2, fix_error="mig-lint: give --onto"), False, id="fix-refused"),
    pytest.param(replace(GOOD, git_done=False), False, id="git-did-not-finish"),
    pytest.param(replace(GOOD, check_codes=("ML101", "ML104")), False, id="a-new-code"),
    pytest.param(replace(GOOD, check_exit=2, check_codes=()), False, id="check-exit-above-main"),
    pytest.param(replace(GOOD, agree=False), False, id="heads-disagree"),
    pytest.param(replace(GOOD, base_edited=("db/versions/a.py",)), False, id="a-base-file-edited"),
    pytest.param(replace(GOOD, markers=("tests/test_db.py",)), False, id="conflict-markers-left"),
])
def test_the_verdict(record, good):
    assert forks.is_good(record) is good


def test_unknown_projects_and_missing_mirrors_exit_2(tmp_path, capsys):
    assert forks.main(["nova", "hg"]) == 2
    assert capsys.readouterr().err == "unknown project(s): hg; known: nova, glance, ckan, redash\n"
    assert forks.main(["redash", "--mirrors", str(tmp_path), "--migrate-python", sys.executable]) == 2
    assert capsys.readouterr().err == f"redash: no mirror at {tmp_path}/getredash+redash/repo\n"
