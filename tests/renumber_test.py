"""`mig-lint renumber`: colliding migrate versions move to the next free numbers."""
from __future__ import annotations

import json

import pytest

from mig_lint.cli import main
from tests.conftest import write_tree

CFG = "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n"
UP = "def upgrade(migrate_engine):\n    pass\n"


def _names(root):
    return sorted(p.name for p in (root / "repo" / "versions").iterdir())


def _commit(git, message):
    git("add", "-A")
    git("commit", "-q", "-m", message)


@pytest.fixture
def collided(git, in_tmp):
    """main has 047_x; the branch added 047_y (+ its SQL script) and 048_z, and merged main."""
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/046_a.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"]}\n',
                        "tests/test_migrations.py": "def _check_046(self): pass\n",
                        "pyproject.toml": '[tool.mig-lint.tests]\npaths = ["tests/*.py"]\n'})
    _commit(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"repo/versions/047_y.py": UP, "repo/versions/047_y_sqlite_upgrade.sql": "SELECT 1;\n",
                        "repo/versions/048_z.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"], "047": ["047_y.py", '
                                                       '"047_y_sqlite_upgrade.sql"], "048": ["048_z.py"]}\n',
                        "tests/test_migrations.py": "def _check_046(self): pass\ndef _check_047(self): pass\n"
                                                    "def _pre_upgrade_048(self): pass\n"})
    _commit(git, "mine")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"repo/versions/047_x.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"], "047": ["047_x.py"]}\n',
                        "tests/test_migrations.py": "def _check_046(self): pass\ndef _check_047(self): x = 1\n"})
    _commit(git, "theirs")
    git("checkout", "-q", "feature")
    write_tree(in_tmp, {"repo/versions/047_x.py": UP,
                        "repo/versions/versions.json": '{"046": ["046_a.py"], "047": ["047_x.py", "047_y.py", '
                                                       '"047_y_sqlite_upgrade.sql"], "048": ["048_z.py"]}\n',
                        "tests/test_migrations.py": "def _check_046(self): pass\ndef _check_047(self): x = 1\n"
                                                    "def _check_047(self): pass\ndef _pre_upgrade_048(self): pass\n"})
    _commit(git, "merged main")
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


def test_several_repositories_need_a_path(in_tmp, capsys):
    write_tree(in_tmp, {"one/migrate.cfg": CFG, "one/versions/001_a.py": UP,
                        "two/migrate.cfg": CFG, "two/versions/001_a.py": UP})
    assert main(["renumber"]) == 2
    assert "2 migrate repositories found: name one with --path" in capsys.readouterr().err
    assert main(["renumber", "--path", "one"]) == 0


def test_tree_new_on_the_branch(git, in_tmp, capsys):
    write_tree(in_tmp, {"README": "x"})
    _commit(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/001_a.py": UP})
    assert main(["renumber", "--base", "main"]) == 0


def test_broken_versions_json_is_left_alone(in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/046_a.py": UP, "repo/versions/046_b.py": UP,
                        "repo/versions/versions.json": "{"})
    assert main(["renumber"]) == 1
    assert (in_tmp / "repo/versions/versions.json").read_text() == "{"
