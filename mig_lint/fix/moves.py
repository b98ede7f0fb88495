"""`mig-lint fix --base REF`: this branch's migrations moved above the base branch's, in every tree.

Alembic trees are rebased (the branch's new revisions go on the base branch's head) and
migrate repositories renumbered (the branch's versions take the numbers after the base
branch's latest), as `mig-lint rebase --base` and `mig-lint renumber --base` would do
one tree at a time.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.baseline import load_baselines
from mig_lint.check import discover_trees
from mig_lint.check import project_roots
from mig_lint.check import read_graphs
from mig_lint.config import Config
from mig_lint.fix.edits import Edit
from mig_lint.fix.edits import FileChange
from mig_lint.fix.edits import plan_changes
from mig_lint.fix.rebase import onto_base
from mig_lint.fix.renumber import BaseText
from mig_lint.fix.renumber import git_base_text
from mig_lint.fix.renumber import Rename
from mig_lint.fix.renumber import renames_onto
from mig_lint.fix.renumber import renumber_changes
from mig_lint.model import SLOTS


@dataclass(frozen=True, **SLOTS)
class Moves:
    """The file edits and the renames that put a branch's migrations above its base's."""

    changes: tuple[FileChange, ...]
    renames: tuple[Rename, ...]


def plan_moves(paths: Sequence[str], config: Config, base: str) -> Moves:
    """Read every tree and the base branch; decide what moves where (nothing is written)."""
    specs = discover_trees(paths, config)
    graphs = read_graphs(specs, config, use_cache=False)
    baselines = load_baselines(base, specs, graphs, project_roots(config))
    edits: list[Edit] = []
    changes: list[FileChange] = []
    renames: list[Rename] = []
    base_text: BaseText | None = None
    for graph in graphs:
        baseline = baselines[graph.tree.path]
        if baseline.target is None:  # a tree the base branch does not have: nothing to move above
            continue
        if graph.tree.format == "alembic":
            edits.extend(onto_base(graph, baseline))
            continue
        moved = renames_onto(graph, baseline.target)
        if moved:
            base_text = base_text or git_base_text(base)
            changes.extend(renumber_changes(graph, moved, config, base_text)[0])
            renames.extend(moved)
    every = sorted(plan_changes(edits) + changes, key=lambda change: change.path)
    return Moves(tuple(every), tuple(renames))
