"""Readers: files on disk or in a git commit, to `Tree` records."""
from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import replace

from mig_lint.model import Tree
from mig_lint.model import TreeSpec
from mig_lint.sources.alembic import read_alembic_tree
from mig_lint.sources.cache import ScriptCache
from mig_lint.sources.collect import Known
from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files
from mig_lint.sources.migrate import read_migrate_tree
from mig_lint.sources.paths import display_path
from mig_lint.sources.syntax import SyntaxCache


def read_tree(
    spec: TreeSpec,
    roots: Sequence[str],
    syntax: SyntaxCache | None = None,
    files: Files = DISK,
    known: Mapping[str, Known] | None = None,
    cache: ScriptCache | None = None,
) -> Tree:
    """Read one discovered tree with the reader of its format (`known`, `cache`: see `Collector`)."""
    if spec.format == "migrate":
        return read_migrate_tree(spec.root, spec.version_locations[0], roots, files, cache, known)
    tree = read_alembic_tree(spec.root, spec.version_locations, spec.recursive, roots, syntax, files, known, cache)
    if spec.file_template != tree.file_template:
        tree = replace(tree, file_template=spec.file_template)
    if not (spec.unnamed or spec.unread):
        return tree
    return replace(
        tree,
        unnamed_locations=tuple(display_path(d) for d in spec.unnamed),
        unread_scripts=tuple(display_path(p) for p in spec.unread),
        configured_by=spec.configured_by,
    )
