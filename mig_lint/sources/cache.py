"""Scripts read before, remembered by path and file status, so that a warm run reads nothing.

A pre-commit hook runs `check` on every commit, and a history of thousands of scripts
changes by one or two between runs. Each script read through the header fast path is
kept in `<project>/.mig-lint-cache/scripts-pyXY.marshal` with the (mtime, size, inode)
of its file, as ruff and mypy key theirs; a file whose status changed is read again.
Scripts whose header was resolved through another module are never kept (that module
may change alone). The cache holds plain tuples written with `marshal`, and a file that
cannot be read, written or decoded is ignored.
"""
from __future__ import annotations

import marshal
import os
import sys
from typing import Any

from mig_lint import __version__
from mig_lint.atomic import write_atomically
from mig_lint.model import Assignment
from mig_lint.model import DocField
from mig_lint.model import Problem
from mig_lint.model import Script
from mig_lint.model import Span
from mig_lint.sources.syntax import prepare_cache_directory

# A new mig-lint may read scripts differently: its records start afresh.
_FORMAT = f"1/{__version__}"
Status = tuple[int, int, int]


class ScriptCache:
    """Scripts by absolute path, valid while their file's status is unchanged."""

    def __init__(self, directory: str | None = None) -> None:
        version = f"{sys.version_info[0]}{sys.version_info[1]}"
        self.path = os.path.join(directory, f"scripts-py{version}.marshal") if directory else None
        self._entries: dict[str, tuple[Status, tuple[object, ...]]] = self._load()
        self._changed = False

    def _load(self) -> Any:
        if self.path is None:
            return {}
        try:
            with open(self.path, "rb") as f:
                data = marshal.loads(f.read())  # marshal.load(f) reads a file in tiny pieces
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        if not (isinstance(data, tuple) and len(data) == 2 and data[0] == _FORMAT and isinstance(data[1], dict)):
            return {}
        return data[1]

    def get(self, path: str, display: str) -> Script | None:
        """The script read before from `path`, if its file has not changed since."""
        if self.path is None:
            return None
        entry = self._entries.get(os.path.abspath(path))
        if entry is None or entry[0] != _status(path):
            return None
        try:
            return _decode(entry[1], display)
        except (TypeError, ValueError, IndexError):
            return None

    def put(self, path: str, script: Script) -> None:
        """Remember a script just read (unless it depends on other files)."""
        status = _status(path)
        if self.path is None or script.reads_other_files or status is None:
            return
        self._entries[os.path.abspath(path)] = (status, _encode(script))
        self._changed = True

    def save(self) -> None:
        """Write the cache atomically when it changed; failures are ignored."""
        if self.path is None or not self._changed:
            return
        directory = os.path.dirname(self.path)
        try:
            prepare_cache_directory(directory)
            write_atomically(self.path, marshal.dumps((_FORMAT, self._entries)))
        except (OSError, ValueError):
            pass
        self._changed = False


def _status(path: str) -> Status | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _span(span: Span) -> tuple[int, int, int, int]:
    return (span.line, span.column, span.start, span.end)


def _encode(script: Script) -> tuple[object, ...]:
    problem = script.problem
    return (
        script.name,
        tuple((a.name, a.value, _span(a.span), a.source, a.dynamic) for a in script.assignments),
        None if script.doc_revision_id is None else (script.doc_revision_id.value, _span(script.doc_revision_id.span)),
        None if script.doc_revises is None else (script.doc_revises.value, _span(script.doc_revises.span)),
        tuple(sorted(script.functions)),
        None if problem is None else (problem.kind, problem.detail, problem.line, problem.column),
        tuple((line, tuple(sorted(codes))) for line, codes in script.ignores),
        script.digest,
    )


def _decode(data: Any, display: str) -> Script:
    name, assignments, doc_id, doc_revises, functions, problem, ignores, digest = data
    return Script(
        path=display,
        name=name,
        assignments=tuple(
            Assignment(n, value, Span(*span), source, dynamic)
            for n, value, span, source, dynamic in assignments
        ),
        doc_revision_id=None if doc_id is None else DocField(doc_id[0], Span(*doc_id[1])),
        doc_revises=None if doc_revises is None else DocField(doc_revises[0], Span(*doc_revises[1])),
        functions=frozenset(functions),
        problem=None if problem is None else Problem(*problem),
        ignores=tuple((line, frozenset(codes)) for line, codes in ignores),
        digest=digest,
    )
