"""Read a script's text safely: every failure becomes a `Problem`, never an exception."""
from __future__ import annotations

import codecs
import errno
import re
from typing import Union

from mig_lint.model import Problem

_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_IGNORE = re.compile(r"#\s*mig-lint:\s*ignore(?:\[([A-Z0-9,\s]+)\])?", re.IGNORECASE)

Text = Union[str, Problem]


def read_text(path: str) -> Text:
    """The decoded text of `path`, or the `Problem` that stops it being read."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        if e.errno == errno.ELOOP:
            return Problem("symlink-loop", "is a symlink loop")
        return Problem("unreadable", f"cannot be read: {e.strerror or e}")
    return decode(data)


def decode(data: bytes) -> Text:
    """Decode source bytes as Python would (PEP 263), or say why not."""
    if b"\x00" in data:
        return Problem("binary", "is a binary file (it contains NUL bytes)")
    encoding = _declared_encoding(data)
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as e:
        return _decode_problem(data, encoding, e)
    return text[1:] if text.startswith("\ufeff") else text


def _declared_encoding(data: bytes) -> str:
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
