"""The base branch of a gate: each tree as it is at the merge-base and at the target ref."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.graph import build_graph
from mig_lint.graph import Graph
from mig_lint.model import SLOTS
from mig_lint.model import TreeSpec
from mig_lint.sources import read_tree
from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files
from mig_lint.sources.git import GitFiles
from mig_lint.sources.git import repository_root
from mig_lint.sources.git import resolve_base
from mig_lint.sources.syntax import SyntaxCache


@dataclass(frozen=True, **SLOTS)
class Baseline:
    """One tree on the base branch; `changed` lists merged revisions whose files differ now."""

    ref: str
    merge_base: Graph | None
    target: Graph | None
    changed: frozenset[str] = frozenset()


def load_baselines(
    ref: str, specs: Sequence[TreeSpec], graphs: Sequence[Graph], roots: Sequence[str]
) -> dict[str, Baseline]:
    """Each tree (by its path) as REF's merge-base with HEAD and REF itself have it."""
    root = repository_root(".")
    merge_base, target = resolve_base(root, ref)
    baselines = {}
    for spec, graph in zip(specs, graphs):
        folders = [spec.root, *spec.version_locations]
        at_base = GitFiles(root, merge_base, folders)
        base_graph = _graph_at(spec, roots, at_base)
        target_graph = base_graph if target == merge_base else _graph_at(spec, roots, GitFiles(root, target, folders))
        baselines[graph.tree.path] = Baseline(
            ref=ref,
            merge_base=base_graph,
            target=target_graph,
            changed=_changed(graph, base_graph, at_base) if base_graph else frozenset(),
        )
    return baselines


def _graph_at(spec: TreeSpec, roots: Sequence[str], files: GitFiles) -> Graph | None:
    if not any(files.isdir(location) for location in spec.version_locations):
        return None
    # The base branch's findings are not reported, so its scripts need not be compiled.
    return build_graph(read_tree(spec, roots, SyntaxCache(enabled=False), files))


def _files_of(graph: Graph, revision: str) -> list[str]:
    if graph.tree.format == "migrate":
        return sorted(e.path for e in graph.tree.entries if str(e.number) == revision)
    return [graph.revisions[revision].path]


def _changed(current: Graph, base: Graph, at_base: GitFiles) -> frozenset[str]:
    """Revisions on both sides whose files (names or bytes) are not the same."""
    changed = set()
    for revision in set(current.revisions) & set(base.revisions):
        now, then = _files_of(current, revision), _files_of(base, revision)
        if now != then or any(_bytes(DISK, p) != _bytes(at_base, p) for p in now):
            changed.add(revision)
    return frozenset(changed)


def _bytes(files: Files, path: str) -> bytes | None:
    try:
        return files.read_bytes(path)
    except OSError:  # pragma: no cover (a file that vanished during the run counts as changed)
        return None
