"""The hooks in .pre-commit-hooks.yaml, run by the real `pre-commit try-repo` against this checkout."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import alembic_script
from tests.conftest import write_tree

ROOT = Path(__file__).resolve().parent.parent
LINEAR = {"db/env.py": "", "db/versions/a.py": alembic_script("a", None), "db/versions/b.py": alembic_script("b", "a")}


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory):
    """One hook environment for the session: pre-commit installs mig-lint into it once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _try_repo(pre_commit_home, cwd, hook):
    env = {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home)}
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook],
                          cwd=cwd, env=env, capture_output=True, text=True)


def test_check_hook_passes_a_clean_commit_and_refuses_a_fork(git, in_tmp, pre_commit_home):
    write_tree(in_tmp, LINEAR)
    git("add", "-A")
    clean = _try_repo(pre_commit_home, in_tmp, "mig-lint")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "mig-lint" in clean.stdout and "Passed" in clean.stdout
    git("commit", "-q", "-m", "base")

    write_tree(in_tmp, {"db/versions/c.py": alembic_script("c", "a")})
    git("add", "-A")
    forked = _try_repo(pre_commit_home, in_tmp, "mig-lint")
    assert forked.returncode == 1
    assert "Failed" in forked.stdout
    assert "db/versions/c.py:1:1: ML101 [multiple-heads] c is one of 2 heads" in forked.stdout


def test_heads_hook_writes_the_head_file_once(git, in_tmp, pre_commit_home):
    write_tree(in_tmp, LINEAR)
    git("add", "-A")
    first = _try_repo(pre_commit_home, in_tmp, "mig-lint-heads")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "db/versions/HEAD: wrote b" in first.stdout
    assert (in_tmp / "db" / "versions" / "HEAD").read_text().endswith("\nb\n")
    git("add", "-A")
    second = _try_repo(pre_commit_home, in_tmp, "mig-lint-heads")
    assert second.returncode == 0, second.stdout + second.stderr


def test_hook_ignores_commits_without_migrations(git, in_tmp, pre_commit_home):
    write_tree(in_tmp, {**LINEAR, "db/versions/c.py": alembic_script("c", "a")})
    git("add", "-A")
    git("commit", "-q", "-m", "already forked")
    write_tree(in_tmp, {"README.md": "docs\n"})
    git("add", "-A")
    run = _try_repo(pre_commit_home, in_tmp, "mig-lint")
    assert run.returncode == 0
    assert "(no files to check)Skipped" in run.stdout


MIGRATE_CFG = "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n"
UP = "def upgrade(migrate_engine):\n    pass\n"
MERGED_CHANGES = (
    pytest.param(LINEAR, {"db/versions/c.py": alembic_script("c", "b")}, {"db/versions/d.py": alembic_script("d", "b")},
                 "db/versions/d.py:1:1: ML101 [multiple-heads]", id="alembic"),
    pytest.param({"repo/migrate.cfg": MIGRATE_CFG, "repo/versions/046_a.py": UP}, {"repo/versions/047_c.py": UP},
                 {"repo/versions/047_d.py": UP}, "repo/versions/047_d.py:1:1: ML301 [number-collision]", id="migrate"),
)


@pytest.mark.parametrize(("base", "first", "second", "shown"), MERGED_CHANGES)
def test_commit_of_the_second_change_after_the_first_merged_is_refused(git, in_tmp, pre_commit_home, base, first,
                                                                        second, shown):
    """The gate tests' scenario: two changes each fine alone, the second one committed after the first merged."""
    write_tree(in_tmp, base)
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    write_tree(in_tmp, first)
    git("add", "-A")
    git("commit", "-q", "-m", "first change, merged")
    write_tree(in_tmp, second)
    git("add", "-A")
    run = _try_repo(pre_commit_home, in_tmp, "mig-lint")
    assert run.returncode == 1, run.stdout + run.stderr
    assert shown in run.stdout
