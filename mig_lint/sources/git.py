"""Read trees as they are in a git commit: `git ls-tree` and one `git cat-file --batch`.

Nothing is checked out and no worktree is made; the readers see a commit through the
same `Files` interface as the disk.
"""
from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

_SYMLINK = "120000"
_FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class GitError(Exception):
    """git cannot answer; the message says what to run (exit 2)."""


def run_git(root: str, *args: str) -> bytes:
    """The output of `git -C root args...`, or GitError with git's own message."""
    import subprocess  # imported here: only the gate runs git

    try:
        done = subprocess.run(["git", "-C", root, *args], capture_output=True, check=False)
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


def stopped_operation(start: str) -> tuple[str, str] | None:
    """The operation git stopped in, and the commit of the side that stays, else None.

    The side that stays is `MERGE_HEAD` in a merge (the branch merged in, as in
    `git merge main` on a feature branch) and the `onto` commit in a rebase, where git
    swaps ours and theirs: HEAD is the upstream and the branch's commits are replayed.
    In a cherry-pick HEAD stays and the picked commit's changes are laid on top of it.
    A revert gives the reverted commit (REVERT_HEAD): nothing is laid on top there.
    """
    try:
        git_dir = run_git(start, "rev-parse", "--absolute-git-dir").decode().strip()
    except GitError:
        return None
    for kind, name in _STOPPED:
        try:
            with open(os.path.join(git_dir, name)) as f:
                commit = f.readline().strip()
        except OSError:
            continue
        if kind == "cherry-pick":
            commit = run_git(start, "rev-parse", "HEAD").decode().strip()
        return kind, commit
    return None


_STOPPED = (("rebase", "rebase-merge/onto"), ("rebase", "rebase-apply/onto"), ("merge", "MERGE_HEAD"),
            ("cherry-pick", "CHERRY_PICK_HEAD"), ("revert", "REVERT_HEAD"))


# The branches a branch merges into, in the order they are asked for when none is named.
BASE_CANDIDATES = ("@{upstream}", "origin/HEAD", "main", "master")


def default_base(start: str) -> str | None:
    """The branch this one merges into when none is named: its upstream, else `origin/HEAD`,
    else `main` or `master` (unless that is the branch checked out); None outside git or when none exists."""
    current = _current_branch(start)
    for ref in BASE_CANDIDATES:
        resolved = _resolve(start, ref) if ref != current else None
        if resolved is not None:
            return resolved[0]
    return None


def merged_base(start: str) -> str | None:
    """The newest of the branches this one merges into that HEAD has merged (an ancestor of HEAD)."""
    return branch_bases(start)[0]


def branch_bases(start: str) -> tuple[str | None, str | None]:
    """(the newest branch this one merges into that HEAD has merged, the first of them, merged or not).

    The branches are `default_base`'s, less an upstream of the same name (`origin/feature`
    of `feature`, the branch's own pushed copy) and any branch checked out or at HEAD's
    commit. Of two merged ones, the one that contains the other is the newest (a local
    `main` merged after `origin/main` was last fetched). (None, None) outside git, on a
    detached HEAD, or on such a branch itself.
    """
    current = _current_branch(start)
    try:
        head = run_git(start, "rev-parse", "HEAD").decode().strip()
    except GitError:
        return None, None
    if not current:
        return None, None
    targets = [found for found in map(functools.partial(_resolve, start), BASE_CANDIDATES) if found is not None
               and current not in (found[0], found[0].split("/", 1)[-1]) and found[1] != head]
    newest: tuple[str, str] | None = None
    for name, commit in targets:
        if _is_ancestor(start, commit, head) and (newest is None or (
                commit != newest[1] and _is_ancestor(start, newest[1], commit))):
            newest = (name, commit)
    return (newest[0] if newest else None), (targets[0][0] if targets else None)


def _current_branch(start: str) -> str:
    """The branch checked out; "" on a detached HEAD or outside git."""
    try:
        return run_git(start, "symbolic-ref", "--quiet", "--short", "HEAD").decode().strip()
    except GitError:
        return ""


def _resolve(start: str, ref: str) -> tuple[str, str] | None:
    """(the short name, the commit) of `ref`, or None when the clone has no such ref."""
    try:
        name = run_git(start, "rev-parse", "--verify", "--quiet", "--abbrev-ref", ref).decode().strip()
        commit = run_git(start, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        return None
    return name, commit


def _is_ancestor(start: str, commit: str, head: str) -> bool:
    try:
        run_git(start, "merge-base", "--is-ancestor", commit, head)
    except GitError:
        return False
    return True


def resolve_base(root: str, ref: str) -> tuple[str, str]:
    """(merge-base of REF and HEAD, REF's commit), or GitError naming the fetch to run."""
    try:
        target = run_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(f"base {ref!r} is not known in this clone: {_fetch_advice(root, ref)}") from None
    try:
        merge_base = run_git(root, "merge-base", target, "HEAD").decode().strip()
    except GitError:
        if _is_shallow(root):
            remote, _branch = _remote_of(root, ref)
            raise GitError(f"{ref!r} and HEAD share no commit in this shallow clone: "
                           f"run `git fetch --unshallow {remote}`") from None
        raise GitError(f"{ref!r} and HEAD have no common history") from None
    return merge_base, target


def _is_shallow(root: str) -> bool:
    return run_git(root, "rev-parse", "--is-shallow-repository").decode().strip() == "true"


def _fetch_advice(root: str, ref: str) -> str:
    """The one `git fetch` that brings REF (with the history the gate needs, in a shallow clone).

    The refspec names where to store REF: a single-branch clone (`--depth 1` implies one)
    fetches `git fetch origin main` into FETCH_HEAD only, and `origin/main` stays unknown.
    """
    remote, branch = _remote_of(root, ref)
    if not remote:
        return "the clone has no remote to fetch it from"
    if branch is None:
        refspec = ref if _FULL_COMMIT.match(ref) else f"{ref}:{ref}"
    else:
        refspec = f"{branch}:refs/remotes/{remote}/{branch}"
    unshallow = "--unshallow " if _is_shallow(root) else ""
    return f"run `git fetch {unshallow}{remote} {refspec}`"


def _remote_of(root: str, ref: str) -> tuple[str, str | None]:
    """The remote REF comes from and its branch there (`origin/main`), else (`origin` or the only remote, None)."""
    remotes = run_git(root, "remote").decode().split()
    name = ref[len("refs/remotes/"):] if ref.startswith("refs/remotes/") else ref
    for remote in remotes:
        if name.startswith(remote + "/"):
            return remote, name[len(remote) + 1:]
    return ("origin" if "origin" in remotes else next(iter(remotes), "")), None


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
        return self._join(folder_key, name)

    def _relative(self, path: str) -> str:
        key = os.path.relpath(os.path.realpath(path), self.root).replace(os.sep, "/")
        return "" if key == "." else key

    def _list(self, folders: Sequence[str]) -> None:
        listing = run_git(self.root, "ls-tree", "-r", "-z", "--full-tree", self.commit, "--",
                          *[f or "." for f in folders])
        for record in listing.decode("utf-8", "surrogateescape").split("\0"):
            if not record:
                continue
            meta, _, path = record.partition("\t")
            mode, kind, sha = meta.split(" ")
            if kind != "blob":  # pragma: no cover (a submodule: no file to read)
                continue
            self._entries[path] = (mode, sha)
            self._add_to_folder(path)

    def _add_to_folder(self, path: str) -> None:
        """List `path` in its folder, and each folder in its parent, up to the root ("")."""
        folder, _, name = path.rpartition("/")
        names = self._dirs.get(folder)
        if names is None:
            names = self._dirs[folder] = set()
            if folder:
                self._add_to_folder(folder)
        names.add(name)

    def _blob(self, sha: str) -> bytes:
        """One blob from a `git cat-file --batch` kept open for the reader's lifetime."""
        if self._reader is None:
            import subprocess

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

    def scan(self, directory: str) -> tuple[list[str], list[tuple[str, bool]]]:
        key = self._key(directory)
        if key not in self._dirs:
            raise FileNotFoundError(directory)
        names = sorted(self._dirs[key])
        dirs = [n for n in names if self._join(key, n) in self._dirs]
        found = [(n, self._entries[self._join(key, n)][0] == _SYMLINK) for n in names
                 if self._join(key, n) in self._entries]
        return dirs, found

    def status(self, path: str) -> tuple[int, int, int] | None:
        return None  # a commit's files are known by blob id instead

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

    def realpath(self, path: str) -> str:
        return self._key(path)

    def blob_id(self, path: str) -> str | None:
        entry = self._entries.get(self._key(path))
        return entry[1] if entry is not None and entry[0] != _SYMLINK else None
