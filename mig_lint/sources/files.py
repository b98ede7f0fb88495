"""Read a script's text safely: every failure becomes a `Problem`, never an exception."""
from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from typing import BinaryIO
from typing import Protocol
from typing import Union

from mig_lint.model import InlineIgnores
from mig_lint.model import Problem

_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_BYTE_BREAK = re.compile(rb"\r\n|\r|\n")
_BLANK = re.compile(rb"^[ \t\f]*(?:[#\r\n]|$)")
_IGNORE = re.compile(r"#\s*mig-lint:\s*ignore(?:\[([A-Z0-9,\s]+)\])?", re.IGNORECASE)
# A script larger than this is reported, never read: a versions folder is no place for data.
MAX_SCRIPT_BYTES = 10 * 1024 * 1024
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)

Text = Union[str, Problem]


class Unfit(OSError):
    """A path that is no regular file, or a file over the size limit: reported, never read."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


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
        return read_regular_file(path)

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def blob_id(self, path: str) -> str | None:
        return None


DISK = DiskFiles()


def read_regular_file(path: str, limit: int = MAX_SCRIPT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; `Unfit` for anything else.

    The file is stat'ed before it is opened (a FIFO would block, a device never ends),
    opened without blocking in case it was replaced meanwhile, and read to `limit` + 1
    bytes at most, so a file that grows is caught too.
    """
    f, size = _open_regular(path, limit)
    with f:
        data = f.read(size + 1)  # not `limit + 1`: that would allocate the limit for every file
        if len(data) > size:  # it grew since (or it is a /proc file that says 0)
            data += f.read(limit + 1 - len(data))
    if len(data) > limit:
        raise Unfit(_too_large(limit))
    return data


def read_head(path: str, size: int) -> bytes:
    """The first `size` bytes of a regular file (`Unfit` for anything else), never blocking."""
    f, _ = _open_regular(path, None)
    with f:
        return f.read(size)


def _open_regular(path: str, limit: int | None) -> tuple[BinaryIO, int]:
    """The open file and its size, once `stat` and then `fstat` say it is a regular file."""
    _require_regular(os.stat(path), limit)
    f = open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb")
    try:
        status = os.fstat(f.fileno())
        _require_regular(status, limit)
    except Unfit:
        f.close()
        raise
    return f, status.st_size


def _require_regular(status: os.stat_result, limit: int | None) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _KINDS if test(status.st_mode)), "not a regular file")
        raise Unfit(f"is {kind}, not a regular file; it was not read")
    if limit is not None and status.st_size > limit:
        raise Unfit(_too_large(limit))


def _too_large(limit: int) -> str:
    return f"is larger than {limit // (1024 * 1024)} MiB, the limit for a script; it was not read"


def read_text(path: str, files: Files = DISK) -> Text:
    """The decoded text of `path`, or the `Problem` that stops it being read."""
    data = read_data(path, files)
    return data if isinstance(data, Problem) else decode(data)


def read_data(path: str, files: Files = DISK) -> bytes | Problem:
    """The bytes of `path`, or the `Problem` that stops them being read."""
    try:
        data = files.read_bytes(path)
    except Unfit as e:
        return Problem("unreadable", e.detail)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return Problem("symlink-loop", "is a symlink loop")
        return Problem("unreadable", f"cannot be read: {e.strerror or e}")
    if len(data) > MAX_SCRIPT_BYTES:  # a git blob, read whole by git
        return Problem("unreadable", _too_large(MAX_SCRIPT_BYTES))
    return data


def blob_id(data: bytes) -> str:
    """The id git gives these bytes (`git hash-object`), so a commit's copy is known unchanged."""
    import hashlib  # imported here: a warm check hashes nothing

    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def decode(data: bytes) -> Text:
    """Decode source bytes as Python would (PEP 263), or say why not."""
    if b"\x00" in data:
        return Problem("binary", "is a binary file (it contains NUL bytes)")
    encoding = declared_encoding(data)
    if encoding != "utf-8" and data.startswith(codecs.BOM_UTF8):
        return Problem("encoding", f"starts with a UTF-8 byte order mark but declares encoding {encoding!r}")
    try:
        text = data.decode(encoding)
    except LookupError:
        return Problem("encoding", f"declares an unknown encoding {encoding!r}")
    except UnicodeDecodeError as e:
        return _decode_problem(data, encoding, e)
    except (ValueError, TypeError, IndexError) as e:  # a codec's own failure (punycode, idna...)
        return Problem("encoding", f"cannot be decoded as {encoding}: {e}")
    return text[1:] if text.startswith("\ufeff") else text


def declared_encoding(data: bytes) -> str:
    """The encoding Python reads these source bytes with (PEP 263 line, else UTF-8).

    As CPython's tokenizer: the declaration is a comment on line 1, or on line 2 when
    line 1 holds only a comment or blanks, and `utf-8-*` / `latin-1-*` names are
    normalized; a UTF-8 byte order mark with another declaration is `decode`'s problem.
    """
    for line in first_lines(data):
        match = _CODING.match(line)
        if match:
            return _normal_name(match.group(1).decode("ascii"))
        if not _BLANK.match(line):
            break
    return "utf-8"


def first_lines(data: bytes) -> tuple[bytes, ...]:
    """Lines 1 and 2 of source bytes (split at LF, after a UTF-8 BOM), without copying the rest."""
    start = 3 if data.startswith(codecs.BOM_UTF8) else 0
    first = data.find(b"\n", start)
    if first == -1:
        return (data[start:],)
    second = data.find(b"\n", first + 1)
    return data[start:first], data[first + 1:] if second == -1 else data[first + 1:second]


def _normal_name(name: str) -> str:
    """CPython's `get_normal_name`: the two encodings it knows by more than one name."""
    folded = name[:12].lower().replace("_", "-")
    if folded == "utf-8" or folded.startswith("utf-8-"):
        return "utf-8"
    if folded in ("latin-1", "iso-8859-1", "iso-latin-1") or folded.startswith(
        ("latin-1-", "iso-8859-1-", "iso-latin-1-")
    ):
        return "iso-8859-1"
    return name


def _decode_problem(data: bytes, encoding: str, error: UnicodeDecodeError) -> Problem:
    before = data[: error.start]
    line = len(_BYTE_BREAK.findall(before)) + 1
    column = error.start - max(before.rfind(b"\n"), before.rfind(b"\r"))
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


def inline_ignores(text: str) -> InlineIgnores:
    """`# mig-lint: ignore[ML104]` comments by line; an empty set ignores every code.

    Only real comments count (tokenize tells them from a string that holds the same
    words). A comment alone on its line in the script's header, before the first
    statement that is neither the docstring nor an import, is recorded at line 0: it
    applies to every finding of the script. Past a point where the script does not
    tokenize, no comment is read.
    """
    if "mig-lint" not in text or not _IGNORE.search(text):
        return ()
    import io  # imported here: only a script that mentions mig-lint is tokenized
    import tokenize

    found: dict[int, frozenset[str]] = {}
    header, statement_start, statements = True, True, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                codes = _ignored_codes(token.string)
                if codes is not None:
                    alone = header and not token.line[: token.start[1]].strip()
                    _add_ignore(found, 0 if alone else token.start[0], codes)
            elif token.type == tokenize.NEWLINE:
                statement_start = True
            elif statement_start and token.type not in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
                statement_start = False
                docstring = statements == 0 and token.type == tokenize.STRING
                header = header and (docstring or (token.type == tokenize.NAME and token.string in ("import", "from")))
                statements += 1
    except (tokenize.TokenError, SyntaxError):
        pass
    return tuple(sorted(found.items()))


def _ignored_codes(comment: str) -> frozenset[str] | None:
    match = _IGNORE.search(comment)
    if match is None:
        return None
    codes = match.group(1) or ""
    return frozenset(c.strip().upper() for c in codes.split(",") if c.strip())


def _add_ignore(found: dict[int, frozenset[str]], line: int, codes: frozenset[str]) -> None:
    """Two ignores on one line (the header's): every code when either says so, else both lists."""
    before = found.get(line)
    found[line] = codes if before is None else (before | codes if before and codes else frozenset())
