"""The base branch of a gate: each tree as it is at the merge-base and at the target ref."""
from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.graph import build_graph
from mig_lint.graph import Graph
from mig_lint.model import Problem
from mig_lint.model import SLOTS
from mig_lint.model import TreeSpec
from mig_lint.sources import read_tree
from mig_lint.sources.collect import Known
from mig_lint.sources.collect import known_scripts
from mig_lint.sources.files import blob_id
from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files
from mig_lint.sources.files import read_data
from mig_lint.sources.git import GitFiles
from mig_lint.sources.git import repository_root
from mig_lint.sources.git import resolve_base
from mig_lint.sources.syntax import SyntaxCache


@dataclass(frozen=True, **SLOTS)
class BaseBranch:
    """One tree on the base branch; `changed` lists merged revisions whose files differ now.

    For a migrate repository, `edited` and `removed` name the merged files (paths) that
    this side changed or deleted: a file that `target` has as it is now was changed there.
    """

    ref: str
    merge_base: Graph | None
    target: Graph | None
    changed: frozenset[str] = frozenset()
    edited: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()


def load_base_branches(
    ref: str, specs: Sequence[TreeSpec], graphs: Sequence[Graph], roots: Sequence[str]
) -> dict[str, BaseBranch]:
    """Each tree (by its path) as REF's merge-base with HEAD and REF itself have it."""
    root = repository_root(".")
    merge_base, target = resolve_base(root, ref)
    base_branches = {}
    for spec, graph in zip(specs, graphs):
        folders = [spec.root, *spec.version_locations]
        known = known_scripts(graph.tree)
        at_base = GitFiles(root, merge_base, folders)
        at_target = at_base if target == merge_base else GitFiles(root, target, folders)
        try:
            base_graph = _graph_at(spec, roots, at_base, known)
            target_graph = base_graph if at_target is at_base else _graph_at(spec, roots, at_target, known)
            changed = _changed(graph, base_graph, at_base) if base_graph else frozenset()
            edited, removed = _changed_files(graph, base_graph, target_graph, at_base, at_target)
        finally:
            at_base.close()
            at_target.close()
        base_branches[graph.tree.path] = BaseBranch(ref, base_graph, target_graph, changed, edited, removed)
    return base_branches


def _graph_at(spec: TreeSpec, roots: Sequence[str], files: GitFiles, known: Mapping[str, Known]) -> Graph | None:
    if not any(files.isdir(location) for location in spec.version_locations):
        return None
    # The base branch's findings are not reported, so its scripts need not be compiled.
    return build_graph(read_tree(spec, roots, SyntaxCache(enabled=False), files, known))


def _contents(graph: Graph, files: Files) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each revision's files as (path, content digest): scripts from the reader, the rest read here."""
    scripts = dict(graph.tree.digests)
    if graph.tree.format == "alembic":
        return {r: ((rev.path, scripts.get(rev.path, "")),) for r, rev in graph.revisions.items()}
    contents: dict[str, list[tuple[str, str]]] = {}
    for entry in graph.tree.entries:
        path = os.path.join(graph.tree.version_locations[0], entry.name)
        digest = scripts.get(entry.path) or files.blob_id(path) or _content_id(files, path)
        contents.setdefault(str(entry.number), []).append((entry.path, digest))
    return {r: tuple(sorted(files_of)) for r, files_of in contents.items()}


def _changed(current: Graph, base: Graph, at_base: GitFiles) -> frozenset[str]:
    """Revisions on both sides whose files (names or contents) are not the same."""
    now, then = _contents(current, DISK), _contents(base, at_base)
    return frozenset(r for r in set(current.revisions) & set(base.revisions) if now.get(r) != then.get(r))


def _changed_files(
    current: Graph, base: Graph | None, target: Graph | None, at_base: GitFiles, at_target: GitFiles
) -> tuple[frozenset[str], frozenset[str]]:
    """A migrate repository's merged files that this side edited, and those it deleted."""
    if base is None or current.tree.format != "migrate":
        return frozenset(), frozenset()
    now, then = _file_digests(current, DISK), _file_digests(base, at_base)
    there = _file_digests(target, at_target) if target is not None else {}
    edited = {path for path in now.keys() & then.keys() if now[path] not in (then[path], there.get(path))}
    removed = {path for path in then.keys() - now.keys() if path in there}
    return frozenset(edited), frozenset(removed)


def _file_digests(graph: Graph, files: Files) -> dict[str, str]:
    return {path: digest for files_of in _contents(graph, files).values() for path, digest in files_of}


def _content_id(files: Files, path: str) -> str:
    """git's id of a file's bytes; a folder or an unreadable file is told apart by its problem."""
    data = read_data(path, files)
    return data.detail if isinstance(data, Problem) else blob_id(data)
