"""`mig-lint renumber`: colliding migrate versions move to the next free numbers."""
from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest

from mig_lint.cli import main
from tests.conftest import commit_all
from tests.conftest import write_tree

CFG = "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n"
UP = "def upgrade(migrate_engine):\n    pass\n"


def _names(root):
    return sorted(p.name for p in (root / "repo" / "versions").iterdir())


@pytest.fixture
def collided(git, in_tmp):
    """main has 047_x; the branch added 047_y (+ its SQL script) and 048_z, and merged main."""
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/046_a.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"]}\n',
                        "tests/test_migrations.py": "def _check_046(self): pass\n",
                        "pyproject.toml": '[tool.mig-lint.tests]\npaths = ["tests/*.py"]\n'})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"repo/versions/047_y.py": UP, "repo/versions/047_y_sqlite_upgrade.sql": "SELECT 1;\n",
                        "repo/versions/048_z.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"], "047": ["047_y.py", '
                                                       '"047_y_sqlite_upgrade.sql"], "048": ["048_z.py"]}\n',
                        "tests/test_migrations.py": "def _check_046(self): pass\ndef _check_047(self): pass\n"
                                                    "def _pre_upgrade_048(self): pass\n"})
    commit_all(git, "mine")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"repo/versions/047_x.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"], "047": ["047_x.py"]}\n',
                        "tests/test_migrations.py": "def _check_046(self): pass\ndef _check_047(self): x = 1\n"})
    commit_all(git, "theirs")
    git("checkout", "-q", "feature")
    write_tree(in_tmp, {"repo/versions/047_x.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"], "047": ["047_x.py", "047_y.py", '
                                                       '"047_y_sqlite_upgrade.sql"], "048": ["048_z.py"]}\n',
                        "tests/test_migrations.py": "def _check_046(self): pass\ndef _check_047(self): x = 1\n"
                                                    "def _check_047(self): pass\ndef _pre_upgrade_048(self): pass\n"})
    commit_all(git, "merged main")
    return git


def test_renumber_against_the_base(collided, in_tmp, capsys):
    assert main(["renumber", "--base", "main"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "changed repo/versions/versions.json: new numbers",
        "changed tests/test_migrations.py: _check_047 -> _check_048",
        "changed tests/test_migrations.py: _pre_upgrade_048 -> _pre_upgrade_049",
        "renamed repo/versions/047_y.py -> repo/versions/048_y.py",
        "renamed repo/versions/047_y_sqlite_upgrade.sql -> repo/versions/048_y_sqlite_upgrade.sql",
        "renamed repo/versions/048_z.py -> repo/versions/049_z.py",
    ]
    assert _names(in_tmp) == ["046_a.py", "047_x.py", "048_y.py", "048_y_sqlite_upgrade.sql", "049_z.py", "versions.json"]
    assert json.loads((in_tmp / "repo/versions/versions.json").read_text()) == {
        "046": ["046_a.py"], "047": ["047_x.py"], "048": ["048_y.py", "048_y_sqlite_upgrade.sql"], "049": ["049_z.py"]}
    # main's _check_047 stays with main's 047_x; the branch's own (a line main lacks) moves with 047_y
    assert (in_tmp / "tests/test_migrations.py").read_text() == (
        "def _check_046(self): pass\ndef _check_047(self): x = 1\ndef _check_048(self): pass\n"
        "def _pre_upgrade_049(self): pass\n")
    status = collided("status", "--short")
    assert "R  repo/versions/047_y.py -> repo/versions/048_y.py" in status
    capsys.readouterr()
    assert main(["check", "--format", "json", "--select", "ML3"]) == 0
    assert main(["renumber", "--base", "main"]) == 0


def test_without_configured_tests_the_files_named_like_migration_tests(collided, in_tmp, capsys):
    """No [tool.mig-lint.tests]: git's test*migrat*.py files (tracked or new), not other tests."""
    (in_tmp / "pyproject.toml").unlink()
    write_tree(in_tmp, {"tests/test_other.py": "def _check_047(self): pass\n",
                        "nova/tests/db/test_db_migrations.py": "def _check_048(self): pass\n",
                        ".gitignore": "ignored/\n", "ignored/test_migrations.py": "def _check_047(self): pass\n"})
    assert main(["renumber", "--base", "main"]) == 1
    assert [line for line in capsys.readouterr().out.splitlines() if "test" in line] == [
        "changed nova/tests/db/test_db_migrations.py: _check_048 -> _check_049",
        "changed tests/test_migrations.py: _check_047 -> _check_048",
        "changed tests/test_migrations.py: _pre_upgrade_048 -> _pre_upgrade_049",
    ]
    assert (in_tmp / "tests/test_other.py").read_text() == "def _check_047(self): pass\n"
    assert (in_tmp / "ignored/test_migrations.py").read_text() == "def _check_047(self): pass\n"


def test_without_configured_tests_outside_git_no_test_is_renamed(in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/001_a.py": UP, "repo/versions/001_b.py": UP,
                        "tests/test_migrations.py": "def _check_001(self): pass\n"})
    assert main(["renumber"]) == 1
    assert "test_migrations" not in capsys.readouterr().out


def test_dry_run_and_diff_change_nothing(collided, in_tmp, capsys):
    before = _names(in_tmp)
    assert main(["renumber", "--base", "main", "--dry-run"]) == 1
    assert "rename repo/versions/048_z.py -> repo/versions/049_z.py" in capsys.readouterr().out
    assert main(["renumber", "--base", "main", "--diff"]) == 1
    assert '+  "049": [' in capsys.readouterr().out
    assert _names(in_tmp) == before


def test_collision_without_a_base_outside_git(in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/046_a.py": UP, "repo/versions/046_b.py": UP,
                        "repo/versions/047_c.py": UP, "t/test_a.py": b"\x00", "t/test_b.py": "x = '_check_047'\n",
                        "pyproject.toml": '[tool.mig-lint.tests]\npaths = ["t/*.py"]\n'})
    assert main(["renumber"]) == 1
    assert _names(in_tmp) == ["046_a.py", "047_c.py", "048_b.py"]
    assert (in_tmp / "t/test_b.py").read_text() == "x = '_check_047'\n"
    assert main(["renumber"]) == 0


def test_wide_numbers_keep_their_width(in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/0046_a.py": UP, "repo/versions/0046_b.py": UP})
    assert main(["renumber"]) == 1
    assert _names(in_tmp) == ["0046_a.py", "0047_b.py"]


def test_every_repository_with_collisions_without_a_path(in_tmp, capsys):
    write_tree(in_tmp, {"one/migrate.cfg": CFG, "one/versions/001_a.py": UP, "one/versions/001_b.py": UP,
                        "two/migrate.cfg": CFG, "two/versions/001_a.py": UP, "two/versions/001_c.py": UP,
                        "three/migrate.cfg": CFG, "three/versions/001_a.py": UP})
    assert main(["renumber", "--path", "one", "--dry-run"]) == 1
    assert capsys.readouterr().out == "rename one/versions/001_b.py -> one/versions/002_b.py\n"
    assert main(["renumber"]) == 1
    assert capsys.readouterr().out.splitlines() == ["renamed one/versions/001_b.py -> one/versions/002_b.py",
                                                    "renamed two/versions/001_c.py -> two/versions/002_c.py"]
    assert main(["renumber"]) == 0
    write_tree(in_tmp, {"alembic/env.py": "", "alembic/versions/a.py": "revision = 'a'\ndown_revision = None\n"})
    assert main(["renumber", "--path", "alembic"]) == 2
    assert capsys.readouterr().err == "mig-lint: no migrate repository found in alembic\n"


UPGRADE_WITH_MIGRATE = """\
import sys
from migrate.versioning import api
url, repo = sys.argv[1:]
api.version_control(url, repo)
api.upgrade(url, repo)
"""


def test_sql_scripts_go_with_the_script_whose_description_they_carry(in_tmp, capsys):
    """Without a base: b moves with its .sql scripts; the undescribed one stays with a, the version that keeps 5."""
    table = "def upgrade(migrate_engine):\n    migrate_engine.execute('CREATE TABLE {} (id INTEGER)')\n"
    write_tree(in_tmp, {
        "repo/migrate.cfg": CFG, "repo/__init__.py": "", "repo/versions/__init__.py": "",
        **{f"repo/versions/00{n}_v{n}.py": table.format(f"t_{n}") for n in range(1, 5)},
        "repo/versions/005_a.py": table.format("t_a"), "repo/versions/005_b.py": table.format("t_b"),
        "repo/versions/005_b_sqlite_upgrade.sql": "CREATE TABLE t_b_sql (id INTEGER);\n",
        "repo/versions/005_b_ibm_db_sa_upgrade.sql": "SELECT 1;\n",
        "repo/versions/005_b_mysql_UPGRADE.sql": "SELECT 1;\n",
        "repo/versions/005_sqlite_upgrade.sql": "CREATE TABLE t_five_sql (id INTEGER);\n",
        "repo/versions/005_c_sqlite_downgrade.sql": "SELECT 1;\n",
        "repo/versions/005_a_sqlite_downgrade.sql": "SELECT 1;\n",  # a's: stays with a, nothing to say
    })
    assert main(["renumber"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "renamed repo/versions/005_b.py -> repo/versions/006_b.py",
        "renamed repo/versions/005_b_ibm_db_sa_upgrade.sql -> repo/versions/006_b_ibm_db_sa_upgrade.sql",
        "renamed repo/versions/005_b_mysql_UPGRADE.sql -> repo/versions/006_b_mysql_UPGRADE.sql",
        "renamed repo/versions/005_b_sqlite_upgrade.sql -> repo/versions/006_b_sqlite_upgrade.sql",
        "repo/versions/005_c_sqlite_downgrade.sql names no script of version 5: it stays with 005_a.py",
        "repo/versions/005_sqlite_upgrade.sql names no script of version 5: it stays with 005_a.py",
    ]
    from tests.legacy_env import legacy_python

    done = subprocess.run([legacy_python(), "-c", UPGRADE_WITH_MIGRATE, f"sqlite:///{in_tmp / 'app.db'}", "repo"],
                          cwd=in_tmp, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(in_tmp / "app.db") as db:
        tables = sorted(r[0] for r in db.execute("select name from sqlite_master where name like 't_%'"))
    # 5 runs its undescribed SQLite script, 6 (b) its own: as before the collision, on SQLite
    assert tables == ["t_1", "t_2", "t_3", "t_4", "t_b_sql", "t_five_sql"]


def test_hint_of_a_collision_in_a_repository_new_on_the_branch(git, in_tmp, capsys):
    write_tree(in_tmp, {"README": "x"})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/001_a.py": UP, "repo/versions/001_b.py": UP})
    assert main(["check", "--base", "main", "--format", "json"]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["code"], finding["hint"]) == ("ML301", "renumber 001_b.py to 2 (`mig-lint renumber` does)")
    assert main(["renumber"]) == 1  # the hint, as printed
    assert _names(in_tmp) == ["001_a.py", "002_b.py"]
    assert main(["renumber", "--base", "main"]) == 0


def test_a_name_that_is_another_moved_files_old_name(git, in_tmp, capsys):
    """047_x -> 048_x while 048_x -> 049_x: git mv takes the higher one first."""
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/046_a.py": UP,
                        "tests/test_m.py": b"\x00\x01", "pyproject.toml": '[tool.mig-lint.tests]\npaths = ["tests/*.py"]\n'})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"repo/versions/047_x.py": UP + "# first\n", "repo/versions/048_x.py": UP + "# second\n",
                        "tests/test_m.py": "def _check_047(self): pass\n"})
    commit_all(git, "mine")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"repo/versions/047_y.py": UP})
    commit_all(git, "theirs")
    git("checkout", "-q", "feature")
    assert main(["renumber", "--base", "main"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "changed tests/test_m.py: _check_047 -> _check_048",  # main's copy is binary: every line is the branch's
        "renamed repo/versions/047_x.py -> repo/versions/048_x.py",
        "renamed repo/versions/048_x.py -> repo/versions/049_x.py",
    ]
    assert _names(in_tmp) == ["046_a.py", "048_x.py", "049_x.py"]
    versions = in_tmp / "repo/versions"
    assert ((versions / "048_x.py").read_text(), (versions / "049_x.py").read_text()) == (UP + "# first\n",
                                                                                        UP + "# second\n")
    assert git("status", "--porcelain", "--", "repo/versions/047_x.py").startswith("D  ")  # staged by git mv


def test_conflicted_versions_json_with_nothing_to_move(git, in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/046_a.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"]}\n'})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"repo/versions/048_y.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"], "048": ["048_y.py"]}\n'})
    commit_all(git, "mine, above main's already")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"repo/versions/047_x.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"], "047": ["047_x.py"]}\n'})
    commit_all(git, "theirs")
    git("checkout", "-q", "feature")
    with pytest.raises(subprocess.CalledProcessError):
        git("merge", "-q", "--no-edit", "main")
    assert main(["renumber"]) == 1
    out, err = capsys.readouterr()
    assert out == "changed repo/versions/versions.json: conflict resolved\n"
    assert "git merge in progress" in err
    assert json.loads((in_tmp / "repo/versions/versions.json").read_text()) == {
        "046": ["046_a.py"], "047": ["047_x.py"], "048": ["048_y.py"]}
    assert main(["renumber"]) == 0


def test_tree_new_on_the_branch(git, in_tmp, capsys):
    write_tree(in_tmp, {"README": "x"})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/001_a.py": UP})
    assert main(["renumber", "--base", "main"]) == 0


def test_broken_versions_json_is_left_alone(in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/046_a.py": UP, "repo/versions/046_b.py": UP,
                        "repo/versions/versions.json": "{"})
    assert main(["renumber"]) == 1
    assert (in_tmp / "repo/versions/versions.json").read_text() == "{"


def test_one_number_moving_apart_in_two_repositories(git, in_tmp, capsys):
    """_check_002 cannot say which repository's 002 it tests: it is left alone, and the output says so."""
    write_tree(in_tmp, {"one/migrate.cfg": CFG, "one/versions/001_a.py": UP, "two/migrate.cfg": CFG,
                        "two/versions/001_a.py": UP, "pyproject.toml": '[tool.mig-lint.tests]\npaths = ["t/*.py"]\n'})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"one/versions/002_b.py": UP + "# b\n", "two/versions/002_b.py": UP + "# b\n",
                        "t/test_x.py": "def _check_002(self): pass\n"})
    commit_all(git, "mine")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"one/versions/002_t.py": UP, "one/versions/003_t.py": UP, "two/versions/002_t.py": UP})
    commit_all(git, "theirs")
    git("checkout", "-q", "feature")
    note = "tests that name version 2 are left as they are: it becomes 3 or 4 in different repositories"
    assert main(["fix", "--base", "main", "--dry-run"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == note
    assert main(["renumber", "--base", "main"]) == 1
    assert capsys.readouterr().out.splitlines() == ["renamed one/versions/002_b.py -> one/versions/004_b.py",
                                                    "renamed two/versions/002_b.py -> two/versions/003_b.py", note]
    assert (in_tmp / "t/test_x.py").read_text() == "def _check_002(self): pass\n"


@pytest.mark.parametrize("command", [["renumber"], ["renumber", "--base", "main"], ["fix"]])
def test_two_new_versions_of_one_number_on_a_branch_where_main_has_not_moved(git, in_tmp, capsys, command):
    """main (merged: it is where the branch started) lends no number; the branch's own collision moves."""
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/__init__.py": "", "repo/versions/__init__.py": "",
                        "repo/versions/001_a.py": UP})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"repo/versions/002_b.py": UP, "repo/versions/002_c.py": UP})
    commit_all(git, "two of mine")
    assert main(command) == 1
    assert "renamed repo/versions/002_c.py -> repo/versions/003_c.py" in capsys.readouterr().out
    assert _names(in_tmp) == ["001_a.py", "002_b.py", "003_c.py", "__init__.py"]


def test_without_configured_tests_a_kept_number_is_said(git, in_tmp, capsys):
    """The default test files count as tests: a name whose number another version keeps is left, and said."""
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/001_a.py": UP, "repo/versions/001_b.py": UP,
                        "tests/test_migrations.py": "def _check_001(self): pass\n"})
    commit_all(git, "collided")
    assert main(["renumber"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "renamed repo/versions/001_b.py -> repo/versions/002_b.py",
        "tests that name version 1 are left as they are: another script keeps 1",
    ]
