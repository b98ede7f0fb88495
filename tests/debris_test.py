"""No debris: a write killed at any moment leaves nothing that git would commit."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from mig_lint.atomic import git_temporary_folder
from mig_lint.atomic import remove_stale_temporaries
from mig_lint.atomic import write_atomically
from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import SHOP
from tests.conftest import write_tree

SCRIPTS = 60
KILLS = 40


def _history(count: int) -> dict[str, str]:
    """A history whose every script has a stale `Revises:` line, and a stale head file."""
    files = {"db/env.py": "", "db/versions/HEAD": "# head\nnone\n"}
    for n in range(count):
        parent = f"r{n - 1:04d}" if n else None
        files[f"db/versions/r{n:04d}_step.py"] = f'"""Step {n}.\n\nRevision ID: r{n:04d}\nRevises: old\n"""\n' + \
            alembic_script(f"r{n:04d}", parent)
    return files


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _mig_lint(cwd, *args, measured=True):
    """`mig-lint ARGS` as its own process; a process about to be killed is not measured by coverage."""
    env = {k: v for k, v in os.environ.items() if k != "MIG_LINT_CACHE_DIR"}
    if not measured:
        env = {k: v for k, v in env.items() if not k.startswith("COVERAGE_")}
    return subprocess.Popen([sys.executable, "-m", "mig_lint", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _status(git) -> list[str]:
    return git("status", "--porcelain", "--untracked-files=all").splitlines()


def _snapshot(root, names) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in names}


def _kill_after_replacing(process, root, inodes, goal) -> None:
    """SIGKILL `process` once more than `goal` of the files were replaced (or after it ended by itself)."""
    while process.poll() is None and sum(os.stat(root / n).st_ino != i for n, i in inodes.items()) <= goal:
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_fix_killed_at_any_moment_leaves_only_whole_files(git, in_tmp, monkeypatch):
    files = _history(SCRIPTS)
    write_tree(in_tmp, files)
    git("add", "-A")
    git("commit", "-qm", "history")
    names = sorted(files)
    old = _snapshot(in_tmp, names)
    assert _mig_lint(in_tmp, "fix").wait() == 1
    new = _snapshot(in_tmp, names)
    edited = sorted(name for name in names if old[name] != new[name])
    assert len(edited) == SCRIPTS + 1
    assert _status(git) == [f" M {name}" for name in edited]
    hidden = in_tmp / ".git" / "mig-lint-tmp"

    partial = 0
    for kill in range(KILLS):
        git("reset", "--hard", "-q")
        if kill % 2:
            shutil.rmtree(in_tmp / ".mig-lint-cache")  # a cold run also writes the cache folder
        inodes = {name: os.stat(in_tmp / name).st_ino for name in edited}
        # Kills spread over the run: before any write, then after 0, 3, 6, ... files were replaced.
        goal = -1 if kill == 0 else (kill - 1) * len(edited) // (KILLS - 2)
        _kill_after_replacing(_mig_lint(in_tmp, "fix", measured=False), in_tmp, inodes, goal)
        status = _status(git)
        assert set(status) - {f" M {name}" for name in edited} == set(), kill
        now = _snapshot(in_tmp, edited)
        assert all(now[name] in (old[name], new[name]) for name in edited), kill
        partial += 0 < len(status) < len(edited)

        finished = _mig_lint(in_tmp, "fix")
        assert finished.wait() in (0, 1), finished.stderr.read()
        assert _snapshot(in_tmp, names) == new
        if kill % 5 == 0:
            assert _mig_lint(in_tmp, "fix").wait() == 0  # and nothing left to do
        assert os.listdir(hidden) == []
        assert _status(git) == [f" M {name}" for name in edited]
    print(f"{partial} of {KILLS} kills left some files fixed and others not")


def test_temporary_files_are_made_in_the_git_directory(git, in_tmp):
    write_tree(in_tmp, {"db/versions/a.txt": "old\n"})
    git_dir = in_tmp / ".git"
    assert git_temporary_folder(str(in_tmp / "db" / "versions")) == str(git_dir / "mig-lint-tmp")
    stale = git_dir / "mig-lint-tmp" / f".mig-lint-{_dead_pid()}-abc123.tmp"
    stale.write_bytes(b"")
    write_atomically(str(in_tmp / "db" / "versions" / "a.txt"), b"new\n")
    assert (in_tmp / "db" / "versions" / "a.txt").read_bytes() == b"new\n"
    assert os.listdir(git_dir / "mig-lint-tmp") == []
    assert _status(git) == ["?? db/versions/a.txt"]


def test_a_worktree_writes_through_its_own_git_directory(git, in_tmp):
    write_tree(in_tmp, {"a.txt": "a\n"})
    git("add", "-A")
    git("commit", "-qm", "a")
    git("worktree", "add", "-q", str(in_tmp / "other"), "-b", "other")
    write_atomically(str(in_tmp / "other" / "a.txt"), b"b\n")
    assert git_temporary_folder(str(in_tmp / "other")) == str(in_tmp / ".git" / "worktrees" / "other" / "mig-lint-tmp")
    assert git("status", "--porcelain", "--untracked-files=all", cwd=in_tmp / "other").splitlines() == [" M a.txt"]


def test_a_git_directory_on_another_filesystem_falls_back_to_the_folder(git, in_tmp):
    """os.replace cannot cross filesystems: the temporary file is then made beside the target."""
    other = tempfile.mkdtemp(dir="/dev/shm")
    try:
        if os.stat(other).st_dev == os.stat(in_tmp).st_dev:
            pytest.skip("/dev/shm is on the same filesystem as the temporary folder")
        shutil.rmtree(in_tmp / ".git")
        git("init", "-q", "--separate-git-dir", os.path.join(other, "git"))
        write_tree(in_tmp, {"a.txt": "old\n"})
        (in_tmp / "a.txt").chmod(0o640)
        write_atomically(str(in_tmp / "a.txt"), b"new\n")
        assert (in_tmp / "a.txt").read_bytes() == b"new\n"
        assert oct((in_tmp / "a.txt").stat().st_mode & 0o777) == "0o640"
        assert sorted(os.listdir(in_tmp)) == [".git", "a.txt"]
        assert os.listdir(os.path.join(other, "git", "mig-lint-tmp")) == []
    finally:
        shutil.rmtree(other)


def test_outside_git_a_stale_temporary_file_beside_the_target_is_removed(tmp_path):
    stale = tmp_path / f".mig-lint-{_dead_pid()}-x1y2.tmp"
    mine = tmp_path / f".mig-lint-{os.getpid()}-inuse.tmp"
    others = [".mig-lint-abcdefgh", ".mig-lint-1-notatmp", "x.tmp", f".mig-lint-{'9' * 12}-x.tmp"]
    for path in [stale, mine, *(tmp_path / n for n in others)]:
        path.write_bytes(b"")
    write_atomically(str(tmp_path / "a.txt"), b"a\n")
    assert sorted(os.listdir(tmp_path)) == sorted([mine.name, "a.txt", *others])
    assert remove_stale_temporaries(str(tmp_path)) == []


def test_a_pid_less_temporary_file_of_an_earlier_version_goes_once_an_hour_old(tmp_path):
    old, fresh = tmp_path / ".mig-lint-k2j4_x9a", tmp_path / ".mig-lint-a8b7c6d5"
    folder = tmp_path / ".mig-lint-zzzzzzzz"
    for path in (old, fresh):
        path.write_bytes(b"")
    folder.mkdir()
    now = time.time()
    for path in (old, folder):
        os.utime(path, (now - 3601, now - 3601))
    assert remove_stale_temporaries(str(tmp_path), now) == [old.name]
    assert sorted(os.listdir(tmp_path)) == [fresh.name, folder.name]


def test_the_file_of_a_live_writer_stays(tmp_path):
    """pid 1 (init) is alive (`kill(1, 0)` answers EPERM to anyone but root: alive too)."""
    (tmp_path / ".mig-lint-1-a.tmp").write_bytes(b"")
    assert remove_stale_temporaries(str(tmp_path)) == []


@pytest.mark.parametrize("dot_git", [
    pytest.param("not a gitdir line\n", id="not-a-gitdir-file"),
    pytest.param("gitdir: file.txt/inside\n", id="gitdir-under-a-file"),
])
def test_an_unusable_dot_git_file_falls_back_to_the_folder(tmp_path, dot_git):
    write_tree(tmp_path, {".git": dot_git, "file.txt": "", "sub/a.txt": "a\n"})
    assert git_temporary_folder(str(tmp_path / "sub")) is None
    write_atomically(str(tmp_path / "sub" / "a.txt"), b"b\n")
    assert sorted(os.listdir(tmp_path / "sub")) == ["a.txt"]


def test_a_failed_write_in_a_repository_leaves_no_temporary_file(git, in_tmp):
    (in_tmp / "adir" / "inside").mkdir(parents=True)
    with pytest.raises(OSError):
        write_atomically(str(in_tmp / "adir"), b"x")
    assert os.listdir(in_tmp / ".git" / "mig-lint-tmp") == []
    assert sorted(os.listdir(in_tmp)) == [".git", "adir"]


def test_the_cache_folder_ignores_itself_even_after_a_truncated_gitignore(git, in_tmp, monkeypatch, capsys):
    monkeypatch.delenv("MIG_LINT_CACHE_DIR")
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": alembic_script("a", None)})
    git("add", "-A")
    git("commit", "-qm", "a")
    assert main(["check", "db"]) == 0
    assert _status(git) == []
    (in_tmp / ".mig-lint-cache" / ".gitignore").write_bytes(b"")  # as a kill during the old, plain write left it
    for path in (in_tmp / ".mig-lint-cache").iterdir():
        if path.name != ".gitignore":
            path.unlink()
    assert main(["check", "db"]) == 0
    assert (in_tmp / ".mig-lint-cache" / ".gitignore").read_text() == "# Created by mig-lint; safe to delete.\n*\n"
    assert _status(git) == []


def test_every_writer_leaves_only_what_it_was_asked_to_write(git, in_tmp, monkeypatch, capsys):
    """A normal run of each command that writes: `git status` lists its output and nothing else."""
    monkeypatch.delenv("MIG_LINT_CACHE_DIR")
    shutil.copytree(SHOP, in_tmp / "shop")
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": alembic_script("a", None),
                        "db/versions/b.py": alembic_script("b", "a"), "db/versions/c.py": alembic_script("c", "a")})
    git("add", "-A")
    git("commit", "-qm", "histories")
    assert main(["check", "db", "--add-baseline"]) == 1  # two heads stay errors
    assert main(["check", "db", "--format", "json", "--output", "report.json"]) == 1
    assert main(["heads", "shop", "--write"]) == 1
    assert main(["convert", "shop", "--out", "converted"]) == 0
    capsys.readouterr()
    status = _status(git)
    assert [line for line in status if not line.startswith("?? converted/")] == [
        "?? pyproject.toml", "?? report.json", "?? shop/versions/HEAD"]
    assert len(status) > 4
    assert os.listdir(in_tmp / ".git" / "mig-lint-tmp") == []
