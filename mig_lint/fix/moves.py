"""`mig-lint fix`: every change it makes, planned before anything is written.

With a base branch, the branch's migrations move first, in every tree: alembic trees are
rebased (the new revisions go on the base branch's head) and migrate repositories
renumbered (the branch's versions take the numbers after the base branch's latest), as
`mig-lint rebase --base` and `mig-lint renumber --base` do one tree at a time. The trees
are then read as the moves leave them (through an overlay, nothing written yet) for the
header lines and head files that follow.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.base_branch import BaseBranch
from mig_lint.base_branch import load_base_branches
from mig_lint.check import discover_trees
from mig_lint.check import project_roots
from mig_lint.check import read_graphs
from mig_lint.config import Config
from mig_lint.fix.edits import current_bytes
from mig_lint.fix.edits import Edit
from mig_lint.fix.edits import FileChange
from mig_lint.fix.edits import plan_changes
from mig_lint.fix.plan import plan_fixes
from mig_lint.fix.rebase import onto_base
from mig_lint.fix.rebase import RebaseError
from mig_lint.fix.renumber import git_base_text
from mig_lint.fix.renumber import needed
from mig_lint.fix.renumber import Rename
from mig_lint.fix.renumber import renumber_changes
from mig_lint.fix.renumber import Renumbering
from mig_lint.fix.renumber import renumbering_above
from mig_lint.graph import Graph
from mig_lint.model import SLOTS
from mig_lint.sources.git import GitError
from mig_lint.sources.overlay import OverlayFiles


@dataclass(frozen=True, **SLOTS)
class Moves:
    """The file edits and the renames that put a branch's migrations above its base's."""

    changes: tuple[FileChange, ...]
    renames: tuple[Rename, ...]
    on_base: frozenset[str] = frozenset()  # files the base branch has: fix leaves them as they are there
    left: tuple[str, ...] = ()  # the fixes not made to those files
    notes: tuple[str, ...] = ()  # what renumber says about test names it left alone


def plan_moves(paths: Sequence[str], config: Config, base: str, onto: str | None = None) -> Moves:
    """Read every tree and the base branch; decide what moves where (nothing is written)."""
    specs = discover_trees(paths, config)
    graphs = read_graphs(specs, config, use_cache=False)
    base_branches = load_base_branches(base, specs, graphs, project_roots(config))
    edits: list[Edit] = []
    changes: list[FileChange] = []
    renumberings: list[Renumbering] = []
    on_base: set[str] = set()
    if onto is not None and not any(onto in g.revisions for g in graphs):
        raise RebaseError(f"--onto {onto}: no such revision in {', '.join(g.tree.path for g in graphs)}")
    for graph in graphs:
        base_branch = base_branches[graph.tree.path]
        if base_branch.target is None:  # a tree the base branch does not have: nothing to move above
            continue
        if graph.tree.format == "alembic":
            on_base.update(_paths_on_base(graph, base_branch))
            here = onto if onto in graph.revisions else None
            edits.extend(onto_base(graph, base_branch, config.chain_labels(graph.labels), onto=here))
            continue
        renumberings.append(renumbering_above(graph, base_branch))
    renumberings = [plan for plan in renumberings if needed(plan)]
    notes: list[str] = []
    if renumberings:
        changes, _kept, notes = renumber_changes(renumberings, config, git_base_text(base))
    every = sorted(plan_changes(edits) + changes, key=lambda change: change.path)
    renames = tuple(rename for plan in renumberings for rename in plan.renames)
    return Moves(tuple(every), renames, frozenset(on_base), notes=tuple(notes))


def _paths_on_base(graph: Graph, base_branch: BaseBranch) -> Iterator[str]:
    """The scripts of this tree's revisions that the base branch (or the merge-base) has."""
    known = set(base_branch.target.revisions if base_branch.target else ()) | set(
        base_branch.merge_base.revisions if base_branch.merge_base else ())
    return (revision.path for revision_id, revision in graph.revisions.items() if revision_id in known)


def files_on(paths: Sequence[str], config: Config, ref: str) -> frozenset[str]:
    """The alembic scripts that the branch REF (or its merge-base with HEAD) has, to leave as they are."""
    specs = discover_trees(paths, config)
    graphs = read_graphs(specs, config, use_cache=False)
    base_branches = load_base_branches(ref, specs, graphs, project_roots(config))
    return frozenset(path for graph in graphs if graph.tree.format == "alembic"
                     for path in _paths_on_base(graph, base_branches[graph.tree.path]))


def plan_fix(
    paths: Sequence[str], config: Config, base: str | None, onto: str | None = None, keep: str | None = None
) -> Moves:
    """The moves (with a base), then the header lines and head files of the moved trees.

    With a base (or a branch `keep` that nothing moves above), the files it has are left
    as they are there (a stale header line of a merged revision is listed in `left`, not
    fixed: editing it is ML503); head files are rewritten all the same.
    """
    moves = plan_moves(paths, config, base, onto) if base else Moves((), ())
    if keep and not base:
        try:
            moves = Moves((), (), files_on(paths, config, keep))
        except GitError as e:  # a shallow clone, say: nothing to keep is known
            moves = Moves((), (), notes=(f"{keep} cannot be read ({e}): header lines are fixed in every file",))
    overlay = OverlayFiles({c.path: c.after for c in moves.changes}, {r.source: r.target for r in moves.renames})
    graphs = read_graphs(discover_trees(paths, config), config, use_cache=False, files=overlay)
    fixes, left = plan_fixes(graphs, config, functools.partial(current_bytes, files=overlay), moves.on_base)
    return Moves(_combined(moves.changes, fixes), moves.renames, moves.on_base, tuple(left), moves.notes)


def _combined(first: Sequence[FileChange], then: Sequence[FileChange]) -> tuple[FileChange, ...]:
    """One change per file: from its bytes on disk to its bytes after both steps."""
    by_path = {change.path: change for change in first}
    for change in then:
        earlier = by_path.get(change.path)
        if earlier is not None:
            change = FileChange(change.path, earlier.before, change.after, earlier.reasons + change.reasons)
        by_path[change.path] = change
    return tuple(sorted(by_path.values(), key=lambda change: change.path))
