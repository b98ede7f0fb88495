"""Read trees as they are in a git commit: `git ls-tree` and one `git cat-file --batch`.

Nothing is checked out and no worktree is made; the readers see a commit through the
same `Files` interface as the disk.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from collections.abc import Sequence

_SYMLINK = "120000"


class GitError(Exception):
    """git cannot answer; the message says what to run (exit 2)."""


def run_git(root: str, *args: str, stdin: bytes | None = None) -> bytes:
    """The output of `git -C root args...`, or GitError with git's own message."""
    try:
        done = subprocess.run(["git", "-C", root, *args], input=stdin, capture_output=True, check=False)
    except OSError as e:  # pragma: no cover (git is missing from PATH)
        raise GitError(f"cannot run git: {e}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {' '.join(args)} failed")
    return done.stdout


def repository_root(start: str) -> str:
    """The top of the work tree that holds `start`."""
    try:
        return os.path.realpath(run_git(start, "rev-parse", "--show-toplevel").decode().strip())
    except GitError:
        raise GitError(f"{start} is not inside a git repository (--base needs one)") from None


def resolve_base(root: str, ref: str) -> tuple[str, str]:
    """(merge-base of REF and HEAD, REF's commit), or GitError naming the fetch to run."""
    try:
        target = run_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(f"base {ref!r} is not known in this clone: run `git fetch origin {_branch(ref)}`") from None
    try:
        merge_base = run_git(root, "merge-base", target, "HEAD").decode().strip()
    except GitError:
        shallow = run_git(root, "rev-parse", "--is-shallow-repository").decode().strip() == "true"
        if shallow:
            raise GitError(
                f"{ref!r} and HEAD share no commit in this shallow clone: run `git fetch --unshallow` "
                f"(or `git fetch --deepen=50 origin {_branch(ref)}`)"
            ) from None
        raise GitError(f"{ref!r} and HEAD have no common history") from None
    return merge_base, target


def _branch(ref: str) -> str:
    return ref.split("/", 1)[1] if ref.startswith("origin/") else ref


class GitFiles:
    """The files of one commit under some folders, read in one batch on first use."""

    def __init__(self, root: str, commit: str, folders: Sequence[str]) -> None:
        self.root = root
        self.commit = commit
        self._entries: dict[str, tuple[str, str]] = {}
        self._dirs: dict[str, set[str]] = {}
        self._reader: subprocess.Popen[bytes] | None = None
        self._folder_keys: dict[str, str] = {}
        self._list(sorted({self._key(f) for f in folders}))

    def _key(self, path: str) -> str:
        """`path` relative to the repository, with `/`; each folder is resolved once."""
        folder, name = os.path.split(path)
        if folder not in self._folder_keys:
            self._folder_keys[folder] = self._relative(folder or ".")
        folder_key = self._folder_keys[folder]
        if folder_key.startswith("..") or name in ("", ".", ".."):
            return self._relative(path)
        return f"{folder_key}/{name}" if folder_key else name

    def _relative(self, path: str) -> str:
        key = os.path.relpath(os.path.realpath(path), self.root).replace(os.sep, "/")
        return "" if key == "." else key

    def _list(self, folders: Sequence[str]) -> None:
        listing = run_git(self.root, "ls-tree", "-r", "-z", "--full-tree", self.commit, "--",
                          *[f or "." for f in folders])
        for record in listing.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, kind, sha = meta.decode().split()
            if kind != "blob":  # pragma: no cover (a submodule: no file to read)
                continue
            path = name.decode("utf-8", "surrogateescape")
            self._entries[path] = (mode, sha)
            parts = path.split("/")
            for depth in range(len(parts)):
                self._dirs.setdefault("/".join(parts[:depth]), set()).add(parts[depth])

    def _blob(self, sha: str) -> bytes:
        """One blob from a `git cat-file --batch` kept open for the reader's lifetime."""
        if self._reader is None:
            self._reader = subprocess.Popen(["git", "-C", self.root, "cat-file", "--batch"],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._reader.stdin is not None and self._reader.stdout is not None
        self._reader.stdin.write(f"{sha}\n".encode())
        self._reader.stdin.flush()
        _sha, _kind, size = self._reader.stdout.readline().split()
        data = self._reader.stdout.read(int(size))
        self._reader.stdout.read(1)
        return data

    def close(self) -> None:
        """End the `git cat-file` process, if one was started."""
        if self._reader is not None:
            self._reader.communicate()
            self._reader = None

    def walk(self, top: str) -> Iterator[tuple[str, list[str], list[str]]]:
        key = self._key(top)
        if key not in self._dirs:
            return
        names = sorted(self._dirs[key])
        dirs = [n for n in names if self._join(key, n) in self._dirs]
        files = [n for n in names if self._join(key, n) in self._entries]
        yield top, dirs, files
        for name in dirs:
            yield from self.walk(os.path.join(top, name))

    @staticmethod
    def _join(key: str, name: str) -> str:
        return f"{key}/{name}" if key else name

    def listdir(self, path: str) -> list[str]:
        key = self._key(path)
        if key not in self._dirs:  # pragma: no cover (the readers ask isdir first)
            raise FileNotFoundError(path)
        return sorted(self._dirs[key])

    def isdir(self, path: str) -> bool:
        return self._key(path) in self._dirs

    def isfile(self, path: str) -> bool:
        return self._key(path) in self._entries

    def read_bytes(self, path: str) -> bytes:
        entry = self._entries.get(self._key(path))
        if entry is None:  # pragma: no cover (the readers list a folder before they read)
            raise FileNotFoundError(path)
        if entry[0] == _SYMLINK:
            raise OSError(f"{path} is a symbolic link in commit {self.commit[:12]}")
        return self._blob(entry[1])

    def islink(self, path: str) -> bool:
        entry = self._entries.get(self._key(path))
        return entry is not None and entry[0] == _SYMLINK

    def realpath(self, path: str) -> str:
        return self._key(path)

    def blob_id(self, path: str) -> str | None:
        entry = self._entries.get(self._key(path))
        return entry[1] if entry is not None and entry[0] != _SYMLINK else None
