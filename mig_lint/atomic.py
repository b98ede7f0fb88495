"""Write a file whole or not at all: a temporary file where git does not look, then a rename.

A process killed between creating its temporary file and renaming it (SIGKILL, a CI
timeout) leaves the file behind, and `git add -A` would commit it. So the temporary file
is made inside the repository's git directory (`<git dir>/mig-lint-tmp/`), which git
never lists, and renamed over the target from there. Where that rename cannot be atomic
(the git directory is on another filesystem) or there is no git directory, the temporary
file is made beside the target, as before. Either way its name holds the writer's pid
(`.mig-lint-<pid>-<random>.tmp`), and a process's first write into a folder removes the
ones whose writer is gone.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
import time

TEMPORARY_FOLDER = "mig-lint-tmp"
_TEMPORARY_NAME = re.compile(r"\.mig-lint-(\d{1,9})-[A-Za-z0-9_]+\.tmp\Z")
# mig-lint before 0.2 named its temporary files `.mig-lint-` and mkstemp's 8 characters,
# without the pid: one still there an hour later is debris.
_OLD_TEMPORARY_NAME = re.compile(r"\.mig-lint-[a-z0-9_]{8}\Z")
OLD_TEMPORARY_AGE = 3600.0


def write_atomically(path: str, data: bytes, make_folder: bool = False) -> None:
    """Replace `path` with `data`; a reader never sees half a file.

    The file keeps its mode (a new one gets the umask's). Raises OSError when the folder
    is missing (unless `make_folder`) or not writable, and leaves no temp file behind.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if make_folder:
        os.makedirs(directory, exist_ok=True)
    mode = _mode(path)
    hidden = git_temporary_folder(directory)
    if hidden is not None:
        try:
            _write_through(hidden, path, data, mode)
            return
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise
    _write_through(directory, path, data, mode)


def _write_through(folder: str, path: str, data: bytes, mode: int) -> None:
    """Write `data` to a temporary file in `folder`, then rename it to `path`."""
    import tempfile  # imported here: a check that writes nothing should not pay for it

    _sweep_once(folder)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".mig-lint-{os.getpid()}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def git_temporary_folder(directory: str) -> str | None:
    """mig-lint's folder inside the git directory of the repository holding `directory`.

    None outside a repository, or when that folder cannot be made (a `.git` file that
    points nowhere usable).
    """
    try:
        git_dir = _git_directory(directory)
        if git_dir is None:
            return None
        folder = os.path.join(git_dir, TEMPORARY_FOLDER)
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    return folder


def _git_directory(directory: str) -> str | None:
    """The nearest `.git` at or above `directory`: the folder, or where a `.git` file points.

    A `.git` file (a worktree's, a submodule's) holds `gitdir: PATH`, relative to its folder.
    """
    current = directory
    while True:
        dot_git = os.path.join(current, ".git")
        if os.path.isdir(dot_git):
            return dot_git
        if os.path.isfile(dot_git):
            with open(dot_git, "rb") as f:
                line = f.readline().decode("utf-8", "surrogateescape").strip()
            if not line.startswith("gitdir:"):
                return None
            return os.path.join(current, line[len("gitdir:"):].strip())
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


@functools.cache
def _sweep_once(folder: str) -> None:
    """Sweep a folder on the process's first write there (convert writes thousands into one)."""
    remove_stale_temporaries(folder)


def remove_stale_temporaries(folder: str, now: float | None = None) -> list[str]:
    """Remove the temporary files in `folder` whose writing process is gone; their names."""
    now = time.time() if now is None else now
    removed = []
    for name in sorted(n for n in os.listdir(folder) if n.startswith(".mig-lint-")):
        path = os.path.join(folder, name)
        match = _TEMPORARY_NAME.match(name)
        stale = _writer_gone(int(match.group(1))) if match else _old_and_abandoned(path, name, now)
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(name)
    return removed


def _old_and_abandoned(path: str, name: str, now: float) -> bool:
    """A pid-less temporary file of an earlier mig-lint, untouched for an hour."""
    if not _OLD_TEMPORARY_NAME.match(name):
        return False
    try:
        info = os.lstat(path)
    except OSError:  # pragma: no cover (removed since the folder was listed)
        return False
    return stat.S_ISREG(info.st_mode) and now - info.st_mtime > OLD_TEMPORARY_AGE


def _writer_gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        with contextlib.suppress(PermissionError):  # another user's process: alive
            os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _mode(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
