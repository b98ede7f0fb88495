"""The scripts of one tree as they are read, recalled from the cache, or known from the working tree."""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import Optional
from typing import Union

from mig_lint.model import Hit
from mig_lint.model import InlineIgnores
from mig_lint.model import Revision
from mig_lint.model import Script
from mig_lint.model import Tree
from mig_lint.sources.cache import encode
from mig_lint.sources.cache import FolderKey
from mig_lint.sources.cache import hit_fields
from mig_lint.sources.cache import hit_from
from mig_lint.sources.cache import Record
from mig_lint.sources.cache import revision_fields
from mig_lint.sources.cache import revision_from
from mig_lint.sources.cache import ScriptCache
from mig_lint.sources.cache import ScriptList
from mig_lint.sources.cache import Status
from mig_lint.sources.files import blob_id
from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files
from mig_lint.sources.paths import display_path
from mig_lint.sources.syntax import SyntaxCache

ReadScript = Callable[[str, str], Script]
RevisionOf = Callable[[Script], "Revision | None"]
# What the working tree has at a display path: (digest, revision, the script or its builder).
Known = tuple[str, Optional[Revision], Union[Script, Callable[[], Script]]]
# A record's script in place of reading it: (record, builder, digest, revision, hits, ignores).
Recalled = tuple[Record, Callable[[], Script], str, Optional[Revision], list[tuple[str, Hit]], InlineIgnores]
# How the collector takes one name: (name, display, status, "known" | "record" | "read",
# the working tree's Known, the Recalled record, or the path to read).
Step = tuple[str, str, Optional[Status], str, Any]


class Collector:
    """Gathers a tree's scripts folder by folder; `tree_fields` gives what `Tree` takes.

    A script is taken, in this order: from `known` when git says the file has the same
    content (the gate's base branch is mostly the working tree's files), from the
    cache's record when the file's status is unchanged, else read. The scripts to read
    are listed first so that `syntax` can compile them on every core while they are read.
    With a cache, each script read has its per-script hits computed and is recorded for
    the next run.
    """

    def __init__(
        self,
        cache: ScriptCache | None,
        kind: str,
        read: ReadScript,
        revision_of: RevisionOf,
        known: Mapping[str, Known] | None = None,
        syntax: SyntaxCache | None = None,
    ) -> None:
        self._cache = cache
        self._syntax = syntax
        self._kind = kind
        self._read = read
        self._revision_of = revision_of
        self._known = known or {}
        self._items: list[Script | Callable[[], Script]] = []
        self.revisions: list[Revision] = []
        self._digests: list[tuple[str, str]] = []
        self._hits: list[tuple[str, Hit]] = []
        self._ignores: list[tuple[str, InlineIgnores]] = []

    def add_folder(self, directory: str, names: Sequence[str], files: Files) -> None:
        """The scripts `names` of `directory`, in this order."""
        key, old = self._cache.folder(directory, self._kind) if self._cache else (("", ""), {})
        shown = display_path(directory)
        shown_prefix = "" if shown == "." else shown + "/"
        prefix = os.path.join(directory, "")
        steps: list[Step] = []
        for name in names:
            path, display = prefix + name, shown_prefix + name
            same = self._known.get(display)
            if same is not None and same[0] and same[0] == files.blob_id(path):
                steps.append((name, display, None, "known", same))
                continue
            status = files.status(path)
            record = old.get(name) if status is not None else None
            recalled = None
            if record is not None and status is not None:
                if record[0] == status or _same_content(record, path, files):
                    recalled = self._recalled(record, key, name, status, path, display)
            steps.append((name, display, status, "read", path) if recalled is None else
                         (name, display, status, "record", recalled))
        self._apply(key, steps, self._read_all(steps, files))

    def _read_all(self, steps: Sequence[Step], files: Files) -> dict[str, Script]:
        """The scripts the steps must read, by name (compiled on every core when worth it)."""
        names = [step[0] for step in steps if step[3] == "read"]
        wanted = [(step[4], step[1]) for step in steps if step[3] == "read"]
        if self._syntax is None or files is not DISK:
            read = [self._read(path, display) for path, display in wanted]
        else:
            read = self._syntax.read_all(wanted, self._read)
        return dict(zip(names, read))

    def _apply(self, key: FolderKey, steps: Sequence[Step], read: Mapping[str, Script]) -> None:
        """Add each step's script in order, and keep the folder's records."""
        records: dict[str, Record] = {}
        scripts: dict[str, tuple[Status, bytes]] = {}
        for name, display, status, how, found in steps:
            if how == "known":
                digest, revision, item = found
                self._add(item, display, digest, revision)
            elif how == "record":
                records[name] = self._use(found, display)
            else:
                script = read[name]
                made = self._take(script, display, status)
                if made is not None and status is not None:
                    records[name] = made
                    scripts[name] = (status, encode(script))
        if self._cache is not None:
            self._cache.keep(key, records, scripts)

    def _add(self, item: Script | Callable[[], Script], display: str, digest: str, revision: Revision | None) -> None:
        self._items.append(item)
        self._digests.append((display, digest))
        if revision is not None:
            self.revisions.append(revision)

    def _take(self, script: Script, display: str, status: Status | None) -> Record | None:
        """Add a script just read; its record for the cache, if it may be kept."""
        revision = self._revision_of(script)
        digest = script.digest or (script.problem.detail if script.problem else "")
        self._add(script, display, digest, revision)
        if self._cache is None:
            return None
        hits = self._cache.script_hits(script)
        self._hits.extend(hits)
        if script.ignores:
            self._ignores.append((display, script.ignores))
        if status is None or script.reads_other_files:
            return None
        kept = tuple(hit_fields(code, hit) for code, hit in hits)
        return (status, digest, revision_fields(revision), kept, script.ignores)

    def _recalled(
        self, record: Record, key: FolderKey, name: str, status: Status, path: str, display: str
    ) -> Recalled | None:
        """What a script's record gives in place of reading it (the record now with the file's
        `status`); None when the record is unusable."""
        try:
            _, digest, fields, kept, ignores = record
            revision = None if fields is None else revision_from(fields, display)
            hits = [hit_from(hit, display) for hit in kept] if kept else []
            found = tuple((line, frozenset(codes)) for line, codes in ignores) if ignores else ()
        except (TypeError, ValueError):
            return None
        rebuild = functools.partial(self._rebuild, key, name, digest, path, display)
        return (status, digest, fields, kept, ignores), rebuild, digest, revision, hits, found

    def _use(self, recalled: Recalled, display: str) -> Record:
        """Add a recalled script; its record."""
        record, rebuild, digest, revision, hits, found = recalled
        self._add(rebuild, display, digest, revision)
        if hits:
            self._hits.extend(hits)
        if found:
            self._ignores.append((display, found))
        return record

    def _rebuild(self, key: FolderKey, name: str, digest: str, path: str, display: str) -> Script:
        """A recalled script, from the cache's copy or else its file."""
        assert self._cache is not None
        return self._cache.script(key, name, digest, display) or self._read(path, display)

    def tree_fields(self) -> dict[str, Any]:
        """`scripts`, `digests`, and `script_hits` and `ignores` when they were computed."""
        return {"scripts": ScriptList(self._items), "digests": tuple(self._digests),
                "script_hits": tuple(self._hits), "ignores": tuple(self._ignores)}


def _same_content(record: Record, path: str, files: Files) -> bool:
    """Whether the file holds the content its record was made from, though its status changed
    (a fresh clone with a cache restored from another: every mtime and inode is new)."""
    try:
        return bool(record[1]) and blob_id(files.read_bytes(path)) == record[1]
    except (OSError, IndexError):
        return False


def known_scripts(tree: Tree) -> dict[str, Known]:
    """What a tree read from the working tree has at each path, to read another commit of it."""
    revisions = {revision.path: revision for revision in tree.revisions} if tree.format == "alembic" else {}
    scripts = tree.scripts
    return {
        display: (digest, revisions.get(display), scripts.builder(i) if isinstance(scripts, ScriptList) else scripts[i])
        for i, (display, digest) in enumerate(tree.digests)
    }
