"""Apply text edits to files: only the edited spans change, writes are atomic and checked.

An `Edit` replaces `text[start:end]` of a file's decoded text. Files are decoded as the
readers decode them (PEP 263 coding line, BOM kept), edits are applied end first, and the
result is encoded the same way, so every byte outside the spans stays as it was (line
endings, trailing spaces, encoding declarations). A file whose bytes changed since they
were read, or that does not survive a decode/encode round trip, is left alone.
"""
from __future__ import annotations

import codecs
import difflib
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.atomic import write_atomically
from mig_lint.model import Problem
from mig_lint.model import SLOTS
from mig_lint.sources.files import declared_encoding
from mig_lint.sources.files import decode
from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files


class EditError(Exception):
    """An edit that cannot be applied safely; the message names the file."""


@dataclass(frozen=True, **SLOTS)
class Edit:
    """Replace `start:end` of a file's text (str offsets) with `replacement`."""

    path: str
    start: int
    end: int
    replacement: str
    reason: str


@dataclass(frozen=True, **SLOTS)
class FileChange:
    """A file's content before and after its edits."""

    path: str
    before: bytes
    after: bytes
    reasons: tuple[str, ...]

    def diff(self) -> str:
        """A unified diff of the change, as `git diff` would show it."""
        old = self.before.decode("utf-8", "replace").splitlines(keepends=True)
        new = self.after.decode("utf-8", "replace").splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"a/{self.path}", f"b/{self.path}"))


def plan_changes(edits: Iterable[Edit], read: Callable[[str], bytes] | None = None) -> list[FileChange]:
    """The new content of every edited file (nothing is written); `read`: a file's bytes now."""
    by_path: dict[str, list[Edit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    changes = []
    for path, file_edits in sorted(by_path.items()):
        change = _change(path, (read or DISK.read_bytes)(path), file_edits)
        if change.after != change.before:
            changes.append(change)
    return changes


def _change(path: str, before: bytes, edits: Sequence[Edit]) -> FileChange:
    text = decode(before)
    if isinstance(text, Problem):
        raise EditError(f"{path}: {text.detail}; not edited")
    encoding = declared_encoding(before)
    bom = codecs.BOM_UTF8 if before.startswith(codecs.BOM_UTF8) else b""
    if bom + text.encode(encoding) != before:
        raise EditError(f"{path}: its bytes do not survive decoding as {encoding}; not edited")
    ordered = sorted(set(edits), key=lambda e: (e.start, e.end), reverse=True)
    for later, earlier in zip(ordered, ordered[1:]):
        if earlier.end > later.start:
            raise EditError(f"{path}: two edits overlap ({earlier.reason}; {later.reason})")
    for edit in ordered:
        text = text[:edit.start] + edit.replacement + text[edit.end:]
    return FileChange(path, before, bom + text.encode(encoding), tuple(e.reason for e in reversed(ordered)))


def write_changes(changes: Sequence[FileChange]) -> None:
    """Write every change atomically, after checking that no file changed meanwhile.

    Nothing is written unless every file is still as it was read (a missing file counts
    as empty, for the files a fix creates).
    """
    for change in changes:
        if current_bytes(change.path) != change.before:
            raise EditError(f"{change.path}: changed on disk during the run; nothing was written")
    for change in changes:
        write_atomically(change.path, change.after, make_folder=True)


def current_bytes(path: str, files: Files = DISK) -> bytes:
    """A file's bytes now; a missing file counts as empty (fixes may create files)."""
    try:
        return files.read_bytes(path)
    except FileNotFoundError:
        return b""
