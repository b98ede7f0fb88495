"""`mig-lint fix` inside a merge or rebase that git stopped on the head file, then real upgrades."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from mig_lint.cli import main
from tests.alembic_git_states_test import _labelled
from tests.alembic_git_states_test import _script as labelled_script
from tests.conftest import commit_all
from tests.conftest import write_tree
from tests.rebase_test import _script
from tests.rebase_test import ENV_PY

ALEMBIC_BASE = {
    "alembic.ini": "[alembic]\nscript_location = db\nsqlalchemy.url = sqlite:///app.db\n",
    "pyproject.toml": '[tool.mig-lint]\nhead-file = "versions/HEAD"\n',
    "db/env.py": ENV_PY, "db/versions/a.py": _script("a", None), "db/versions/b.py": _script("b", "a"),
}


def _write_heads(capsys, *paths):
    assert main(["heads", "--write", *paths]) == 1
    capsys.readouterr()


def _tables(path):
    with sqlite3.connect(path) as db:
        return sorted(r[0] for r in db.execute("select name from sqlite_master where name like 't_%'"))


@pytest.fixture
def alembic_fork(git, in_tmp, capsys):
    """main adds d on b; feature adds c and e on b; each commits its head file."""
    write_tree(in_tmp, ALEMBIC_BASE)
    _write_heads(capsys)
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"db/versions/c.py": _script("c", "b"), "db/versions/e.py": _script("e", "c")})
    _write_heads(capsys)
    commit_all(git, "feature")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"db/versions/d.py": _script("d", "b")})
    _write_heads(capsys)
    commit_all(git, "d")
    git("checkout", "-q", "feature")
    return git


def _stop(git, *args):
    """Run a git command that must stop on a conflict."""
    with pytest.raises(subprocess.CalledProcessError):
        git(*args)


def _alembic_upgrade(in_tmp):
    done = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=in_tmp, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert _tables(in_tmp / "app.db") == ["t_a", "t_b", "t_c", "t_d", "t_e"]


def test_fix_in_a_stopped_merge(alembic_fork, in_tmp, capsys):
    _stop(alembic_fork, "merge", "-q", "--no-edit", "main")
    assert "<<<<<<<" in (in_tmp / "db/versions/HEAD").read_text()

    conflicted = (in_tmp / "db/versions/HEAD").read_bytes()
    assert main(["fix", "--diff"]) == 1
    diff = capsys.readouterr().out
    assert "+down_revision = 'd'\n" in diff and "-<<<<<<< HEAD\n" in diff and "->>>>>>> main\n" in diff
    assert (in_tmp / "db/versions/HEAD").read_bytes() == conflicted

    assert main(["fix"]) == 1
    out, err = capsys.readouterr()
    assert "git merge in progress: moving this side's migrations above MERGE_HEAD" in err
    assert out.splitlines() == [
        "fixed db/versions/HEAD: head of the history is e",
        "fixed db/versions/c.py:4: Revises: b -> d",
        "fixed db/versions/c.py:10: c now follows d (was 'b')",
        "No problems in 1 tree, 5 revisions.",
    ]
    assert (in_tmp / "db/versions/c.py").read_bytes() == _script("c", "d").encode()
    assert (in_tmp / "db/versions/HEAD").read_text().endswith("\ne\n")
    assert main(["check", "--base", "main"]) == 0
    assert main(["fix"]) == 0  # a second run changes nothing
    _alembic_upgrade(in_tmp)
    commit_all(alembic_fork, "merged main")
    assert not os.path.exists(in_tmp / ".git/MERGE_HEAD")


def test_fix_in_a_stopped_rebase(alembic_fork, in_tmp, capsys):
    _stop(alembic_fork, "rebase", "main")
    assert (in_tmp / ".git/rebase-merge/onto").is_file()

    assert main(["fix"]) == 1
    out, err = capsys.readouterr()
    assert "git rebase in progress: moving this side's migrations above the rebase's onto commit" in err
    assert "fixed db/versions/c.py:10: c now follows d (was 'b')" in out
    assert (in_tmp / "db/versions/HEAD").read_text().endswith("\ne\n")
    assert main(["check"]) == 0
    _alembic_upgrade(in_tmp)
    alembic_fork("add", "-A")
    subprocess.run(["git", "-c", "core.editor=true", "rebase", "--continue"], cwd=in_tmp, check=True,
                   capture_output=True)
    assert alembic_fork("log", "--format=%s", "-3").split() == ["feature", "d", "base"]


def test_fix_base_after_a_clean_merge(alembic_fork, in_tmp, capsys):
    """No conflict to stop on (no head files): `fix --base main` moves the branch all the same."""
    os.remove(in_tmp / "pyproject.toml")
    alembic_fork("rm", "-q", "--cached", "pyproject.toml")
    alembic_fork("commit", "-q", "-m", "no head file")
    alembic_fork("merge", "-q", "-X", "ours", "--no-edit", "main")
    assert main(["check"]) == 1  # ML101: two heads
    capsys.readouterr()
    assert main(["fix", "--base", "main", "--dry-run"]) == 1
    assert capsys.readouterr().out == ("db/versions/c.py:4: Revises: b -> d\n"
                                       "db/versions/c.py:10: c now follows d (was 'b')\n")
    assert main(["fix", "--base", "main"]) == 1
    assert main(["fix", "--base", "main"]) == 0
    _alembic_upgrade(in_tmp)


def test_rebase_in_a_stopped_apply_rebase(alembic_fork, in_tmp, capsys):
    """`git rebase --apply` keeps its state in rebase-apply/; `mig-lint rebase` finds it too."""
    _stop(alembic_fork, "rebase", "--apply", "main")
    assert main(["rebase"]) == 1
    assert "git rebase in progress" in capsys.readouterr().err
    assert (in_tmp / "db/versions/c.py").read_bytes() == _script("c", "d").encode()


def test_rebase_outside_a_stopped_operation_needs_arguments(alembic_fork, capsys):
    assert main(["rebase"]) == 2
    assert "name the revisions and --onto, or give --base" in capsys.readouterr().err


def test_fix_base_with_trees_the_base_lacks_or_that_did_not_move(alembic_fork, in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": MIGRATE_CFG, "repo/versions/001_a.py": _migrate_script("t_a")})
    _write_heads(capsys, "repo")
    commit_all(alembic_fork, "a migrate repository, on both branches")
    alembic_fork("checkout", "-q", "main")
    alembic_fork("merge", "-q", "--no-edit", "-X", "ours", "feature")
    alembic_fork("rm", "-q", "-r", "db")
    commit_all(alembic_fork, "main drops its alembic tree")
    alembic_fork("checkout", "-q", "feature")
    alembic_fork("merge", "-q", "--no-edit", "-s", "ours", "main")
    assert main(["fix", "--base", "main", "db", "repo"]) == 0
    assert capsys.readouterr().out.endswith("No problems in 2 trees, 5 revisions.\n")


def test_a_moved_revision_with_a_stale_header_is_fixed_in_one_change(alembic_fork, in_tmp, capsys):
    stale = _script("c", "b").replace("Revision ID: c", "Revision ID: old")
    write_tree(in_tmp, {"db/versions/c.py": stale})
    commit_all(alembic_fork, "stale header")
    alembic_fork("merge", "-q", "-X", "ours", "--no-edit", "main")
    assert main(["fix", "--base", "main", "--dry-run"]) == 1
    assert capsys.readouterr().out == ("db/versions/c.py:4: Revises: b -> d\n"
                                       "db/versions/c.py:10: c now follows d (was 'b')\n"
                                       "db/versions/c.py:3: Revision ID: old -> c\n")
    assert main(["fix", "--base", "main"]) == 1
    assert (in_tmp / "db/versions/c.py").read_bytes() == _script("c", "d").encode()


def test_fix_base_before_the_base_is_merged(alembic_fork, in_tmp, capsys):
    """As ML501's hint says: the branch's first revision goes on main's head, which the merge then brings in."""
    assert main(["fix", "--base", "main", "--dry-run"]) == 1
    assert capsys.readouterr().out == (
        "db/versions/c.py:4: Revises: b -> d\n"
        "db/versions/c.py:10: c now follows d (was 'b'); d is on main only: `git merge main` brings it in\n")
    assert main(["fix", "--base", "main"]) == 1
    capsys.readouterr()
    assert (in_tmp / "db/versions/c.py").read_bytes() == _script("c", "d").encode()
    commit_all(alembic_fork, "c follows d")
    _stop(alembic_fork, "merge", "-q", "--no-edit", "main")  # the head files still conflict
    assert main(["fix"]) == 1
    assert capsys.readouterr().out.splitlines()[:1] == ["fixed db/versions/HEAD: head of the history is e"]
    assert main(["check", "--base", "main"]) == 0
    _alembic_upgrade(in_tmp)


MIGRATE_CFG = "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n"


def _migrate_script(table):
    return ("from sqlalchemy import Column, Integer, MetaData, Table\n\n\n"
            "def upgrade(migrate_engine):\n"
            f"    Table({table!r}, MetaData(bind=migrate_engine), Column('id', Integer, primary_key=True)).create()\n")


@pytest.fixture
def migrate_fork(git, in_tmp, capsys):
    """main adds 002_x; feature adds 002_y (with a SQLite script) and a test that names it."""
    write_tree(in_tmp, {
        "repo/migrate.cfg": MIGRATE_CFG, "repo/versions/001_a.py": _migrate_script("t_a"),
        "pyproject.toml": '[tool.mig-lint]\nhead-file = "versions/HEAD"\n[tool.mig-lint.tests]\npaths = ["tests/*.py"]\n',
        "tests/test_walk.py": "def _check_001(self): pass\n",
    })
    _write_heads(capsys, "repo")
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"repo/versions/002_y.py": _migrate_script("t_y"),
                        "repo/versions/002_y_sqlite_upgrade.sql": "CREATE TABLE t_y_sql (id INTEGER);\n",
                        "tests/test_walk.py": "def _check_001(self): pass\ndef _check_002(self): y = 1\n"})
    _write_heads(capsys, "repo")
    commit_all(git, "feature")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"repo/versions/002_x.py": _migrate_script("t_x"),
                        "tests/test_walk.py": "def _check_001(self): pass\ndef _check_002(self): x = 1\n"})
    _write_heads(capsys, "repo")
    commit_all(git, "x")
    git("checkout", "-q", "feature")
    return git


UPGRADE_WITH_MIGRATE = """\
import sys
from migrate.versioning import api
url, repo = sys.argv[1:]
api.version_control(url, repo)
api.upgrade(url, repo)
print(api.db_version(url, repo))
"""


@pytest.mark.parametrize("stop", [["merge", "-q", "--no-edit", "main"], ["rebase", "main"]], ids=["merge", "rebase"])
def test_fix_renumbers_in_a_stopped_merge_or_rebase_then_migrate_upgrades(migrate_fork, in_tmp, capsys, stop):
    _stop(migrate_fork, *stop)
    # both sides changed the test file and the head file; the user resolves the test file by keeping both
    write_tree(in_tmp, {"tests/test_walk.py": "def _check_001(self): pass\ndef _check_002(self): x = 1\n"
                                              "def _check_002(self): y = 1\n"})

    assert main(["fix"]) == 1
    out = capsys.readouterr().out
    assert "renamed repo/versions/002_y.py -> repo/versions/003_y.py" in out
    assert "renamed repo/versions/002_y_sqlite_upgrade.sql -> repo/versions/003_y_sqlite_upgrade.sql" in out
    assert sorted(os.listdir(in_tmp / "repo/versions")) == [
        "001_a.py", "002_x.py", "003_y.py", "003_y_sqlite_upgrade.sql", "HEAD"]
    assert (in_tmp / "tests/test_walk.py").read_text() == (
        "def _check_001(self): pass\ndef _check_002(self): x = 1\ndef _check_003(self): y = 1\n")
    assert (in_tmp / "repo/versions/HEAD").read_text().endswith("\n3\n")
    assert main(["check", "repo"]) == 0
    staged = migrate_fork("diff", "--cached", "--name-only", "--no-renames", "HEAD")
    assert "repo/versions/003_y.py" in staged.split()  # moved with git mv, so staged

    from tests.legacy_env import legacy_python

    python = legacy_python()
    done = subprocess.run([python, "-c", UPGRADE_WITH_MIGRATE, f"sqlite:///{in_tmp / 'app.db'}", "repo"],
                          cwd=in_tmp, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    # migrate runs 003's SQLite script in place of its Python one
    assert _tables(in_tmp / "app.db") == ["t_a", "t_x", "t_y_sql"]


def test_a_stopped_revert_is_refused_with_what_to_do(alembic_fork, in_tmp, capsys):
    write_tree(in_tmp, {"db/versions/f.py": _script("f", "e")})
    _write_heads(capsys)
    commit_all(alembic_fork, "f")
    _stop(alembic_fork, "revert", "--no-edit", "HEAD~1")  # takes c and e away; f's head file line conflicts
    assert (in_tmp / ".git/REVERT_HEAD").is_file()
    before = {p.name: p.read_bytes() for p in (in_tmp / "db/versions").iterdir()}
    assert main(["fix"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("mig-lint: git revert of ") and "nothing was changed" in err
    assert {p.name: p.read_bytes() for p in (in_tmp / "db/versions").iterdir()} == before


def _labelled_fork(git, in_tmp, on_main, on_feature):
    """The expand/contract history of alembic_git_states_test with other additions, main merged in."""
    script = labelled_script
    write_tree(in_tmp, _labelled("app").base)
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {f"app/db/versions/{r}.py": script(r, *spec) for r, spec in on_feature.items()})
    commit_all(git, "feature")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {f"app/db/versions/{r}.py": script(r, *spec) for r, spec in on_main.items()})
    commit_all(git, "main")
    git("checkout", "-q", "feature")
    git("merge", "-q", "--no-edit", "main")


def test_fix_onto_serves_the_chain_whose_label_is_forked_on_the_base(git, in_tmp, capsys):
    _labelled_fork(git, in_tmp, {"e1": ("e0",), "e1b": ("e0",), "c1": ("c0",)},
                   {"ex": ("e0",), "cx": ("c0",)})
    assert main(["fix", "--base", "main", "--dry-run"]) == 2
    assert capsys.readouterr().err == ("mig-lint: the base branch has 2 heads (e1, e1b) for branch 'expand' to put "
                                       "ex on; give --onto\n")
    assert main(["fix", "--base", "main", "--onto", "e1b", "--dry-run"]) == 1
    assert capsys.readouterr().out == ("app/db/versions/cx.py:4: Revises: c0 -> c1\n"
                                       "app/db/versions/cx.py:10: cx now follows c1 (was 'c0')\n"
                                       "app/db/versions/ex.py:4: Revises: e0 -> e1b\n"
                                       "app/db/versions/ex.py:10: ex now follows e1b (was 'e0')\n")
    assert main(["fix", "--base", "main", "--onto", "zz"]) == 2
    assert capsys.readouterr().err == "mig-lint: --onto zz: no such revision in app/db\n"


def test_rebase_base_onto_moves_the_one_chain_there(git, in_tmp, capsys):
    _labelled_fork(git, in_tmp, {"e1": ("e0",)}, {"ex": ("e0",)})
    assert main(["rebase", "--base", "main", "--onto", "e0", "--dry-run"]) == 0
    assert main(["rebase", "--base", "main", "--dry-run"]) == 1
    assert capsys.readouterr().out.endswith("ex now follows e1 (was 'e0')\n")


def test_two_new_chains_on_one_head_are_refused(git, in_tmp, capsys):
    _labelled_fork(git, in_tmp, {"e1": ("e0",)}, {"x1": ("e0",), "x2": ("e0",)})
    assert main(["fix", "--base", "main"]) == 2
    assert capsys.readouterr().err == ("mig-lint: x1 and x2 would both go on e1: put one on the other first "
                                       "(`mig-lint rebase x2 --onto x1`)\n")
    assert main(["rebase", "x2", "--onto", "x1"]) == 1
    assert main(["fix", "--base", "main"]) == 1
    assert "x1 now follows e1" in capsys.readouterr().out


def test_a_new_branch_label_root_stays_where_it_is(git, in_tmp, capsys):
    _labelled_fork(git, in_tmp, {"e1": ("e0",)}, {"d0": (None, ("data",))})
    assert main(["fix", "--base", "main", "--dry-run"]) == 0
    assert capsys.readouterr().out == ""
