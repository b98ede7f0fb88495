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
from collections.abc import Sequence
from dataclasses import dataclass

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
from mig_lint.fix.renumber import git_base_text
from mig_lint.fix.renumber import needed
from mig_lint.fix.renumber import Rename
from mig_lint.fix.renumber import renumber_changes
from mig_lint.fix.renumber import Renumbering
from mig_lint.fix.renumber import renumbering_onto
from mig_lint.model import SLOTS
from mig_lint.sources.overlay import OverlayFiles


@dataclass(frozen=True, **SLOTS)
class Moves:
    """The file edits and the renames that put a branch's migrations above its base's."""

    changes: tuple[FileChange, ...]
    renames: tuple[Rename, ...]
    notes: tuple[str, ...] = ()


def plan_moves(paths: Sequence[str], config: Config, base: str) -> Moves:
    """Read every tree and the base branch; decide what moves where (nothing is written)."""
    specs = discover_trees(paths, config)
    graphs = read_graphs(specs, config, use_cache=False)
    base_branches = load_base_branches(base, specs, graphs, project_roots(config))
    edits: list[Edit] = []
    changes: list[FileChange] = []
    renumberings: list[Renumbering] = []
    for graph in graphs:
        base_branch = base_branches[graph.tree.path]
        if base_branch.target is None:  # a tree the base branch does not have: nothing to move above
            continue
        if graph.tree.format == "alembic":
            edits.extend(onto_base(graph, base_branch))
            continue
        renumberings.append(renumbering_onto(graph, base_branch))
    renumberings = [plan for plan in renumberings if needed(plan)]
    notes: list[str] = []
    if renumberings:
        changes, _kept, notes = renumber_changes(renumberings, config, git_base_text(base))
    every = sorted(plan_changes(edits) + changes, key=lambda change: change.path)
    return Moves(tuple(every), tuple(rename for plan in renumberings for rename in plan.renames), tuple(notes))


def plan_fix(paths: Sequence[str], config: Config, base: str | None) -> Moves:
    """The moves (with a base), then the header lines and head files of the moved trees."""
    moves = plan_moves(paths, config, base) if base else Moves((), ())
    overlay = OverlayFiles({c.path: c.after for c in moves.changes}, {r.source: r.target for r in moves.renames})
    graphs = read_graphs(discover_trees(paths, config), config, use_cache=False, files=overlay)
    fixes = plan_fixes(graphs, config, functools.partial(current_bytes, files=overlay))
    return Moves(_combined(moves.changes, fixes), moves.renames, moves.notes)


def _combined(first: Sequence[FileChange], then: Sequence[FileChange]) -> tuple[FileChange, ...]:
    """One change per file: from its bytes on disk to its bytes after both steps."""
    by_path = {change.path: change for change in first}
    for change in then:
        earlier = by_path.get(change.path)
        if earlier is not None:
            change = FileChange(change.path, earlier.before, change.after, earlier.reasons + change.reasons)
        by_path[change.path] = change
    return tuple(sorted(by_path.values(), key=lambda change: change.path))
