"""Whether a script compiles, remembered by content digest so that a warm run parses nothing.

The header fast path reads four assignments without a parser, so a syntax error further
down a script would go unseen. Compiling every script costs more than everything else a
check does (about 0.1 ms a script), so each digest that compiled once is kept in
`<project>/.mig-lint-cache/` (ignored by git through its own `.gitignore`), one file per
Python version, as ruff and mypy keep theirs. A digest names content, not a path or a
time, so the cache is never stale; a cache that cannot be read or written is skipped.
"""
from __future__ import annotations

import os
import sys

from mig_lint.atomic import write_atomically
from mig_lint.model import Problem

_DIGEST = 16
_GITIGNORE = "# Created by mig-lint; safe to delete.\n*\n"


def prepare_cache_directory(directory: str) -> None:
    """Create the cache folder with a `.gitignore` that keeps it out of every commit."""
    os.makedirs(directory, exist_ok=True)
    ignore = os.path.join(directory, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w") as f:
            f.write(_GITIGNORE)


class SyntaxCache:
    """Digests of sources known to compile; `check` adds to it, `save` writes it once."""

    def __init__(self, directory: str | None = None, enabled: bool = True) -> None:
        self.directory = directory
        self.enabled = enabled
        version = f"{sys.version_info[0]}{sys.version_info[1]}"
        self.path = os.path.join(directory, f"syntax-py{version}.bin") if directory else None
        self._known: set[bytes] | None = None  # loaded on the first script that needs it
        self._added: set[bytes] = set()

    def _load(self) -> set[bytes]:
        if self.path is None:
            return set()
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            return set()
        return {data[i:i + _DIGEST] for i in range(0, len(data) - len(data) % _DIGEST, _DIGEST)}

    def check(self, text: str) -> Problem | None:
        """The syntax error of `text`, or None when it compiles (or checks are off)."""
        if not self.enabled:
            return None
        import hashlib  # imported here: a warm check compiles nothing

        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=_DIGEST).digest()
        if self._known is None:
            self._known = self._load()
        if digest in self._known:
            return None
        try:
            compile(text, "<script>", "exec", dont_inherit=True)
        except SyntaxError as e:
            return Problem("syntax", e.msg, e.lineno or 1, e.offset or 1)
        except (ValueError, MemoryError, RecursionError) as e:
            return Problem("syntax", str(e) or type(e).__name__)
        self._known.add(digest)
        self._added.add(digest)
        return None

    def save(self) -> None:
        """Add the new digests to the cache file, atomically; failures are ignored."""
        if self.directory is None or self.path is None or self._known is None or not self._added:
            return
        try:
            prepare_cache_directory(self.directory)
            write_atomically(self.path, b"".join(sorted(self._known)))
        except OSError:
            pass
        self._added.clear()
