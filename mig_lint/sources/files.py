"""Read a script's text safely: every failure becomes a `Problem`, never an exception."""
from __future__ import annotations

import codecs
import errno
import os
import re
from typing import Protocol
from typing import Union

from mig_lint.model import Problem

_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_IGNORE = re.compile(r"#\s*mig-lint:\s*ignore(?:\[([A-Z0-9,\s]+)\])?", re.IGNORECASE)

Text = Union[str, Problem]


class Files(Protocol):
    """Where trees are read from: the working tree on disk, or a git commit's objects."""

    def scan(self, directory: str) -> tuple[list[str], list[tuple[str, bool]]]:
        """One level of `os.walk`: the subfolders to descend into (symbolic links are not),
        and every other name with whether it is a symbolic link (OSError when unreadable)."""

    def status(self, path: str) -> tuple[int, int, int] | None:
        """What changes with a file's content, (mtime, size, inode); None when unknown."""

    def listdir(self, path: str) -> list[str]:
        """The names in a folder (OSError when it is not one)."""

    def isdir(self, path: str) -> bool:
        """True for a folder."""

    def isfile(self, path: str) -> bool:
        """True for a file."""

    def read_bytes(self, path: str) -> bytes:
        """A file's content (OSError when it cannot be read)."""

    def realpath(self, path: str) -> str:
        """What makes two paths one file or folder (the real path on disk)."""

    def blob_id(self, path: str) -> str | None:
        """git's id of the file's content when it is known without reading it."""


class DiskFiles:
    """The working tree, through `os`."""

    def scan(self, directory: str) -> tuple[list[str], list[tuple[str, bool]]]:
        dirs, found = [], []
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:  # pragma: no cover (os.walk's own guard: an entry gone since the listing)
                    is_dir = False
                if not is_dir:
                    found.append((entry.name, entry.is_symlink()))
                elif not entry.is_symlink():
                    dirs.append(entry.name)
        return dirs, found

    def status(self, path: str) -> tuple[int, int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def isfile(self, path: str) -> bool:
        return os.path.isfile(path)

    def read_bytes(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def blob_id(self, path: str) -> str | None:
        return None


DISK = DiskFiles()


def read_text(path: str, files: Files = DISK) -> Text:
    """The decoded text of `path`, or the `Problem` that stops it being read."""
    data = read_data(path, files)
    return data if isinstance(data, Problem) else decode(data)


def read_data(path: str, files: Files = DISK) -> bytes | Problem:
    """The bytes of `path`, or the `Problem` that stops them being read."""
    try:
        return files.read_bytes(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return Problem("symlink-loop", "is a symlink loop")
        return Problem("unreadable", f"cannot be read: {e.strerror or e}")


def blob_id(data: bytes) -> str:
    """The id git gives these bytes (`git hash-object`), so a commit's copy is known unchanged."""
    import hashlib  # imported here: a warm check hashes nothing

    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def decode(data: bytes) -> Text:
    """Decode source bytes as Python would (PEP 263), or say why not."""
    if b"\x00" in data:
        return Problem("binary", "is a binary file (it contains NUL bytes)")
    encoding = declared_encoding(data)
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as e:
        return _decode_problem(data, encoding, e)
    return text[1:] if text.startswith("\ufeff") else text


def declared_encoding(data: bytes) -> str:
    """The encoding Python reads these source bytes with (BOM, PEP 263 line, else UTF-8)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8"
    for line in data.split(b"\n", 2)[:2]:
        match = _CODING.match(line)
        if match:
            return match.group(1).decode("ascii")
    return "utf-8"


def _decode_problem(data: bytes, encoding: str, error: Exception) -> Problem:
    if isinstance(error, LookupError):
        return Problem("encoding", f"declares an unknown encoding {encoding!r}")
    assert isinstance(error, UnicodeDecodeError)
    before = data[: error.start]
    line = before.count(b"\n") + 1
    column = error.start - (before.rfind(b"\n") + 1) + 1
    return Problem(
        "encoding",
        f"is not valid {encoding}: byte 0x{data[error.start]:02x} at line {line}",
        line,
        column,
    )


def line_of(text: str, pattern: str, flags: int = 0) -> int:
    """The 1-based line where the regex `pattern` first matches `text` (1 when it does not)."""
    match = re.search(pattern, text, flags)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def inline_ignores(text: str) -> tuple[tuple[int, frozenset[str]], ...]:
    """`# mig-lint: ignore[ML104]` comments by line; an empty set ignores every code."""
    if "mig-lint" not in text:
        return ()
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _IGNORE.search(line)
        if match:
            codes = match.group(1) or ""
            found.append((number, frozenset(c.strip().upper() for c in codes.split(",") if c.strip())))
    return tuple(found)
