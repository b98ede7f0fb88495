"""Whether a script compiles, remembered by content digest so that a warm run parses nothing.

The header fast path reads four assignments without a parser, so a syntax error further
down a script would go unseen. Compiling every script costs more than everything else a
check does (about 0.15 ms a script), so each digest that compiled once is kept in
`<project>/.mig-lint-cache/` (ignored by git through its own `.gitignore`), one file per
Python version, as ruff and mypy keep theirs. A digest names content, not a path or a
time, so the cache is never stale, and a copy restored from elsewhere (a CI cache of the
folder) is as good as one written here; a cache that cannot be read or written is skipped.

A cold run of many scripts compiles them on every core (`parallel`, through `read_all`).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import replace

from mig_lint.atomic import write_atomically
from mig_lint.model import Problem
from mig_lint.model import Script
from mig_lint.sources import parallel

_DIGEST = 16
_GITIGNORE = "# Created by mig-lint; safe to delete.\n*\n"
ReadScript = Callable[[str, str], Script]


def prepare_cache_directory(directory: str) -> None:
    """Create the cache folder with a `.gitignore` that keeps it out of every commit.

    The `.gitignore` is written before anything else and atomically, and written again
    when it is not mig-lint's (emptied, edited): git must never see the cache.
    """
    os.makedirs(directory, exist_ok=True)
    ignore = os.path.join(directory, ".gitignore")
    try:
        with open(ignore, "rb") as f:
            current = f.read()
    except OSError:
        current = None
    if current != _GITIGNORE.encode():
        write_atomically(ignore, _GITIGNORE.encode())


def text_digest(text: str) -> bytes:
    """What the cache knows a script's text by."""
    import hashlib  # imported here: a warm check hashes nothing

    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=_DIGEST).digest()


def compile_problem(text: str) -> Problem | None:
    """Why CPython cannot compile `text` (ML201), or None when it can."""
    try:
        compile(text, "<script>", "exec", dont_inherit=True)
    except SyntaxError as e:
        return Problem("syntax", e.msg, e.lineno or 1, e.offset or 1)
    except (ValueError, MemoryError, RecursionError) as e:
        return Problem("syntax", str(e) or type(e).__name__)
    return None


class SyntaxCache:
    """Digests of sources known to compile; `check` adds to it, `save` writes it once."""

    def __init__(self, directory: str | None = None, enabled: bool = True) -> None:
        self.directory = directory
        self.enabled = enabled
        version = f"{sys.version_info[0]}{sys.version_info[1]}"
        self.path = os.path.join(directory, f"syntax-py{version}.bin") if directory else None
        self._known: set[bytes] | None = None  # loaded on the first script that needs it
        self._added = False
        # Inside `read_all`: (index of the script, digest, text) of each text left to compile.
        self._pending: list[tuple[int, bytes, str]] | None = None
        self._reading = 0

    def _load(self) -> set[bytes]:
        if self.path is None:
            return set()
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            return set()
        return {data[i:i + _DIGEST] for i in range(0, len(data) - len(data) % _DIGEST, _DIGEST)}

    def known(self) -> set[bytes]:
        """The digests known to compile (read from the cache file on first use)."""
        if self._known is None:
            self._known = self._load()
        return self._known

    def check(self, text: str) -> Problem | None:
        """The syntax error of `text`, or None when it compiles (or checks are off).

        Inside `read_all`, a text not known yet is kept for later and answered None.
        """
        if not self.enabled:
            return None
        digest = text_digest(text)
        if digest in self.known():
            return None
        if self._pending is not None:
            self._pending.append((self._reading, digest, text))
            return None
        return self._compile(digest, text)

    def _compile(self, digest: bytes, text: str) -> Problem | None:
        problem = compile_problem(text)
        if problem is None:
            self.known().add(digest)
            self._added = True
        return problem

    def read_all(self, wanted: Sequence[tuple[str, str]], read: ReadScript) -> list[Script]:
        """`read(path, display)` of each script, compiled on the spare cores meanwhile.

        While the scripts are read, `check` answers None for a text it does not know and
        keeps it; once the workers are done, each kept text that no worker vouched for is
        compiled here and its script gets the problem found. Without workers (few
        scripts, one core, no fork) this is a plain loop.
        """
        worth = self.enabled and len(wanted) >= parallel.MIN_SCRIPTS  # else a warm run loads nothing
        pool = parallel.start([path for path, _ in wanted], self.known(), text_digest) if worth else None
        if pool is None:
            return [read(path, display) for path, display in wanted]
        scripts: list[Script] = []
        self._pending = []
        try:
            try:
                for path, display in wanted:
                    self._reading = len(scripts)
                    scripts.append(read(path, display))
            except BaseException:
                parallel.abandon(pool)
                raise
            self._learn(parallel.finish(pool, self.known(), text_digest))
            for index, digest, text in self._pending:
                problem = None if digest in self.known() else self._compile(digest, text)
                if problem is not None:
                    scripts[index] = replace(scripts[index], problem=problem)
            return scripts
        finally:
            self._pending = None

    def _learn(self, compiled: set[bytes]) -> None:
        """Add digests the workers compiled."""
        if compiled:
            self.known().update(compiled)
            self._added = True

    def save(self) -> None:
        """Add the new digests to the cache file, atomically; failures are ignored."""
        if self.directory is None or self.path is None or self._known is None or not self._added:
            return
        try:
            prepare_cache_directory(self.directory)
            write_atomically(self.path, b"".join(sorted(self._known)))
        except OSError:
            pass
        self._added = False
