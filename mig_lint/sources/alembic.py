"""Read an alembic script location into a `Tree`, listing files as alembic does."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence

from mig_lint.model import Revision
from mig_lint.model import Script
from mig_lint.model import Tree
from mig_lint.sources.cache import ScriptCache
from mig_lint.sources.collect import Collector
from mig_lint.sources.collect import Known
from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files
from mig_lint.sources.paths import display_path
from mig_lint.sources.python import read_script
from mig_lint.sources.syntax import SyntaxCache

# alembic's own filter (script/base.py `_only_source_rev_file`): `.#x.py` and
# `__init__*.py` are skipped, while `_x.py` and `.x.py` are loaded as revisions.
ALEMBIC_SCRIPT = re.compile(r"(?!\.\#|__init__)(.*\.py)$")


def read_alembic_tree(
    root: str,
    version_locations: Sequence[str],
    recursive: bool = False,
    roots: Sequence[str] = (),
    syntax: SyntaxCache | None = None,
    files: Files = DISK,
    known: Mapping[str, Known] | None = None,
    cache: ScriptCache | None = None,
) -> Tree:
    """Read every revision script of an alembic tree (nothing is imported)."""

    def read(path: str, display: str) -> Script:
        return read_script(path, display, roots, syntax=syntax, files=files)

    collector = Collector(cache, "alembic", read, revision_of, known, syntax)
    seen: set[str] = set()
    for location in version_locations:
        for directory, names in _list_files(files, location, recursive, seen):
            collector.add_folder(directory, names, files)
    return Tree(
        path=display_path(root),
        format="alembic",
        version_locations=tuple(display_path(v) for v in version_locations),
        revisions=tuple(collector.revisions),
        **collector.tree_fields(),
    )


def _list_files(files: Files, location: str, recursive: bool, seen: set[str]) -> Iterator[tuple[str, list[str]]]:
    """Script names by folder in alembic's order (`os.walk`); a file seen before is skipped."""
    try:
        dirs, found = files.scan(location)
    except OSError:
        return
    if not os.path.basename(location).endswith("__pycache__"):
        real_prefix = os.path.join(files.realpath(location), "")
        names = []
        for name, is_link in sorted(found):
            if not ALEMBIC_SCRIPT.match(name):
                continue
            identity = files.realpath(os.path.join(location, name)) if is_link else real_prefix + name
            if identity not in seen:
                seen.add(identity)
                names.append(name)
        yield location, names
    if recursive:
        for name in sorted(dirs):
            yield from _list_files(files, os.path.join(location, name), recursive, seen)


def revision_of(script: Script) -> Revision | None:
    """The graph node a script declares, or None when its header is unusable."""
    if script.problem is not None and not script.assignments:
        return None
    revision = script.assignment("revision")
    down = script.assignment("down_revision")
    if revision is None or down is None or revision.dynamic or down.dynamic:
        return None
    if revision.value is None or isinstance(revision.value, (tuple, list)):
        return None
    labels = script.assignment("branch_labels")
    depends = script.assignment("depends_on")
    return Revision(
        id=str(revision.value),
        path=script.path,
        line=revision.span.line,
        down=as_ids(down.value),
        depends_on=as_ids(None if depends is None or depends.dynamic else depends.value),
        branch_labels=as_ids(None if labels is None or labels.dynamic else labels.value),
        down_line=down.span.line,
        depends_line=depends.span.line if depends else revision.span.line,
        labels_line=labels.span.line if labels else revision.span.line,
    )


def as_ids(value: object) -> tuple[str, ...]:
    """A header value as alembic's `util.to_tuple` sees it, each id as a string."""
    if value is None:
        return ()
    if isinstance(value, (tuple, list, set, frozenset)):
        return tuple(str(v) for v in value)
    return (str(value),)
