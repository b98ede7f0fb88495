"""Scripts read before, remembered by folder, name and file status, so that a warm run reads nothing.

A pre-commit hook runs `check` on every commit, and a history of thousands of scripts
changes by one or two between runs. Each script read is kept in
`<project>/.mig-lint-cache/scripts-pyXY.marshal` with the (mtime, size, inode) of its
file, as ruff and mypy key theirs. A file whose status changed is read and hashed: when
its git blob id is still the record's (a fresh clone with the cache restored from an
earlier one, where every mtime and inode is new), the record stands, with the new status;
else the script is parsed again. A record holds what `check` needs without rebuilding the
script: the revision it declares, the hits of the per-script rules and its inline
ignores. The script itself is kept marshalled and rebuilt only when something asks for it
(ML311, the gate's base branch), if its blob id is the record's. Scripts whose header was
resolved through another module are never kept (that module may change alone). A file
that cannot be read, written or decoded is ignored.
"""
from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import overload
from typing import Union

from mig_lint import __version__
from mig_lint.atomic import write_atomically
from mig_lint.model import Assignment
from mig_lint.model import DocField
from mig_lint.model import Hit
from mig_lint.model import InlineIgnores
from mig_lint.model import LiveUse
from mig_lint.model import ModuleImport
from mig_lint.model import Problem
from mig_lint.model import Revision
from mig_lint.model import Script
from mig_lint.model import Span
from mig_lint.sources.syntax import prepare_cache_directory

# A new mig-lint may read scripts (or judge them) differently: its records start afresh.
_FORMAT = f"5/{__version__}"
Status = tuple[int, int, int]
ScriptHits = Callable[[Script], tuple[tuple[str, Hit], ...]]
FolderKey = tuple[str, str]  # (folder, relative to the one holding the cache when inside it; tree format)
# (id, line, down, depends_on, branch_labels, down_line, depends_line, labels_line)
RevisionFields = tuple[str, int, tuple[str, ...], tuple[str, ...], tuple[str, ...], int, int, int]
# (status, digest, revision fields or None, hits without their path, ignores)
Record = tuple[Status, str, Union[RevisionFields, None], tuple[tuple[Any, ...], ...], InlineIgnores]


class ScriptCache:
    """Records of scripts by folder and name, and the per-script rules that fill them.

    The records are one file, read on every run; the marshalled scripts are another,
    read only when a command needs a recalled script whole. With no `directory`
    nothing is kept between runs, but hits are still computed once per script.
    """

    def __init__(self, directory: str | None, script_hits: ScriptHits) -> None:
        version = f"{sys.version_info[0]}{sys.version_info[1]}"
        self.path = os.path.join(directory, f"scripts-py{version}.marshal") if directory else None
        self._home = os.path.dirname(os.path.abspath(directory)) if directory else None
        self.script_hits = script_hits
        self._folders: dict[FolderKey, dict[str, Record]] = _load(self.path)
        self._scripts: dict[FolderKey, dict[str, tuple[Status, bytes]]] | None = None
        self._added: dict[FolderKey, dict[str, tuple[Status, bytes]]] = {}
        self._changed = False

    @property
    def _scripts_path(self) -> str | None:
        return None if self.path is None else self.path.replace(".marshal", ".scripts.marshal")

    def folder(self, directory: str, kind: str) -> tuple[FolderKey, dict[str, Record]]:
        """A folder read as `kind`: its key, and the records last kept for its files."""
        key = (self._folder_name(directory), kind)
        return key, self._folders.get(key, {})

    def _folder_name(self, directory: str) -> str:
        """A folder as the records name it: relative to the folder holding the cache (the
        repository root) when inside it, so that a clone elsewhere with a copy of the cache (a
        CI runner's new workspace) finds its records; else absolute."""
        path = os.path.abspath(directory)
        if self._home is not None and path.startswith(os.path.join(self._home, "")):
            return os.path.relpath(path, self._home)
        return path

    def keep(self, key: FolderKey, records: dict[str, Record], scripts: dict[str, tuple[Status, bytes]]) -> None:
        """Replace a folder's records with those of this run; `scripts`: the ones read anew."""
        if self._folders.get(key) != records:
            self._folders[key] = records
            self._added[key] = scripts
            self._changed = True

    def script(self, key: FolderKey, name: str, digest: str, display: str) -> Script | None:
        """The script kept for a file of this content (its git blob id), or None."""
        if self._scripts is None:
            self._scripts = _load(self._scripts_path)
        kept = self._scripts.get(key, {}).get(name)
        if kept is None:
            return None
        try:
            script = decode(marshal.loads(kept[1]), display)
        except (EOFError, ValueError, TypeError, IndexError):
            return None
        return script if script.digest == digest else None

    def save(self) -> None:
        """Write the cache atomically when it changed; failures are ignored."""
        if self.path is None or self._scripts_path is None or not self._changed:
            return
        scripts = self._scripts if self._scripts is not None else _load(self._scripts_path)
        for key, records in self._folders.items():
            old, added = scripts.get(key, {}), self._added.get(key, {})
            scripts[key] = {name: added.get(name) or old[name] for name in records if name in added or name in old}
        try:
            prepare_cache_directory(os.path.dirname(self.path))
            write_atomically(self._scripts_path, marshal.dumps((_FORMAT, scripts)))
            write_atomically(self.path, marshal.dumps((_FORMAT, self._folders)))
        except (OSError, ValueError):
            pass
        self._changed = False


def _load(path: str | None) -> Any:
    """The dict a cache file holds, or {} when it is missing, unreadable or not this version's."""
    if path is None:
        return {}
    try:
        with open(path, "rb") as f:
            data = marshal.loads(f.read())  # marshal.load(f) reads a file in tiny pieces
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not (isinstance(data, tuple) and len(data) == 2 and data[0] == _FORMAT and isinstance(data[1], dict)):
        return {}
    return data[1]


class ScriptList(Sequence[Script]):
    """A tree's scripts in listing order; an item not yet built is a function that builds it."""

    def __init__(self, items: list[Script | Callable[[], Script]]) -> None:
        self._items = items

    @overload
    def __getitem__(self, index: int) -> Script: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Script]: ...

    def __getitem__(self, index: int | slice) -> Script | Sequence[Script]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(len(self))[index])
        item = self._items[index]
        if isinstance(item, Script):
            return item
        script = self._items[index] = item()
        return script

    def builder(self, index: int) -> Script | Callable[[], Script]:
        """Item `index` as it is: the script, or the function that builds it."""
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Script]:
        return (self[i] for i in range(len(self._items)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))


def revision_fields(revision: Revision | None) -> RevisionFields | None:
    """A revision without its path (the path is where the record is found)."""
    if revision is None:
        return None
    return (revision.id, revision.line, revision.down, revision.depends_on, revision.branch_labels,
            revision.down_line, revision.depends_line, revision.labels_line)


def revision_from(fields: RevisionFields, path: str) -> Revision:
    """The revision a record keeps, at `path`."""
    return Revision(fields[0], path, *fields[1:])


def hit_fields(code: str, hit: Hit) -> tuple[Any, ...]:
    """A hit without its path."""
    return (code, hit.line, hit.message, hit.hint, hit.revision, hit.column, hit.subject)


def hit_from(fields: Sequence[Any], path: str) -> tuple[str, Hit]:
    """A hit a record keeps, at `path`."""
    code, line, message, hint, revision, column, subject = fields
    return code, Hit(path, line, message, hint, revision, column, tuple(subject))


def _span(span: Span) -> tuple[int, int, int, int]:
    return (span.line, span.column, span.start, span.end)


def encode(script: Script) -> bytes:
    """A script as marshalled plain tuples (its display path is not kept)."""
    problem = script.problem
    fields: tuple[Any, ...] = (
        script.name,
        tuple((a.name, a.value, _span(a.span), a.source, a.dynamic) for a in script.assignments),
        None if script.doc_revision_id is None else (script.doc_revision_id.value, _span(script.doc_revision_id.span)),
        None if script.doc_revises is None else (script.doc_revises.value, _span(script.doc_revises.span)),
        tuple(sorted(script.functions)),
        None if problem is None else (problem.kind, problem.detail, problem.line, problem.column),
        tuple((line, tuple(sorted(codes))) for line, codes in script.ignores),
        script.digest,
        tuple((i.names, i.line, i.column) for i in script.imports),
        tuple((u.what, u.function, u.line, u.column) for u in script.live_uses),
    )
    return marshal.dumps(fields)


def decode(data: Any, display: str) -> Script:
    """The script `encode` kept, at `display`."""
    name, assignments, doc_id, doc_revises, functions, problem, ignores, digest, imports, live_uses = data
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
        imports=tuple(ModuleImport(tuple(names), line, column) for names, line, column in imports),
        live_uses=tuple(LiveUse(*use) for use in live_uses),
    )
