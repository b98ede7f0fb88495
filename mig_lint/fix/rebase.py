"""`mig-lint rebase`: put a chain of alembic revisions on top of another revision.

The bottom revision of the chain gets the new `down_revision` (written in the form and
quote style it had) and its `Revises:` line; every other byte stays. A revision that is
already on the base branch is not moved unless forced: databases past it would skip
the migrations slid in below it.
"""
from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mig_lint.check import discover_trees
from mig_lint.check import project_roots
from mig_lint.check import read_graphs
from mig_lint.config import Config
from mig_lint.fix.edits import Edit
from mig_lint.graph import Graph
from mig_lint.model import Script

if TYPE_CHECKING:  # the gate's reader is imported only when a base is given
    from mig_lint.base_branch import BaseBranch


class RebaseError(Exception):
    """The revisions cannot be moved as asked; the message says why."""


def rebase_edits(
    graph: Graph, moved: Sequence[str], onto: str, merged: frozenset[str] = frozenset(), force: bool = False
) -> list[Edit]:
    """The edits that put the chain `moved` on top of `onto`."""
    unknown = [r for r in (*moved, onto) if r not in graph.revisions]
    if unknown:
        raise RebaseError(f"{', '.join(unknown)}: no such revision in {graph.tree.path}")
    already = sorted(set(moved) & merged)
    if already and not force:
        raise RebaseError(f"{', '.join(already)} already merged on the base branch: databases past it would skip "
                          "the revisions moved below it (use --force to move it anyway)")
    chosen = set(moved)
    if onto in chosen or chosen & graph.ancestors(onto):
        raise RebaseError(f"{onto} is above (or among) the revisions to move: that would make a cycle")
    bottoms = [r for r in moved if not set(graph.parents[r]) & chosen]
    if len(bottoms) != 1:
        raise RebaseError(f"the revisions to move are not one chain (they start at {', '.join(sorted(bottoms))})")
    bottom = graph.revisions[bottoms[0]]
    if len(bottom.down) > 1:
        raise RebaseError(f"{bottom.id} is a merge revision; move its branches instead")
    if bottom.down == (onto,):
        return []
    script = next(s for s in graph.tree.scripts if s.path == bottom.path)
    return list(_bottom_edits(script, bottom.id, onto))


def _bottom_edits(script: Script, revision: str, onto: str) -> Iterator[Edit]:
    down = script.assignment("down_revision")
    assert down is not None and not down.dynamic
    yield Edit(script.path, down.span.start, down.span.end, _like(down.source, onto),
               f"{script.path}:{down.span.line}: {revision} now follows {onto} (was {down.source})")
    doc = script.doc_revises
    if doc is not None:
        replacement = f" {onto}" if not doc.value else onto
        yield Edit(script.path, doc.span.start, doc.span.end, replacement,
                   f"{script.path}:{doc.span.line}: Revises: {doc.value or '(empty)'} -> {onto}")


def _like(source: str, revision: str) -> str:
    """`revision` written in the form of `source`: its quotes, and its tuple or list brackets."""
    quote = next((c for c in source if c in "'\""), "'")
    literal = f"{quote}{revision}{quote}"
    stripped = source.strip()
    if stripped.startswith("(") and stripped.endswith(")"):
        return f"({literal},)"
    if stripped.startswith("[") and stripped.endswith("]"):
        return f"[{literal}]"
    return literal


def only_here(graph: Graph, base: Graph) -> list[str]:
    """The revisions that only this branch has."""
    return [r for r in graph.revisions if r not in base.revisions]


def head_of(base: Graph) -> str:
    """The single head of the base branch, where new revisions go."""
    if len(base.heads) != 1:
        raise RebaseError(f"the base branch has {len(base.heads)} heads ({', '.join(base.heads)}); give --onto")
    return base.heads[0]


def onto_base(
    graph: Graph, base_branch: BaseBranch, revisions: Sequence[str] = (), onto: str | None = None, force: bool = False
) -> list[Edit]:
    """The edits that put `revisions` (default: the ones only this branch has) on `onto`
    (default: the base branch's head)."""
    if base_branch.target is None:
        raise RebaseError(f"{graph.tree.path} does not exist on {base_branch.ref}")
    revisions = revisions or only_here(graph, base_branch.target)
    if not revisions:
        return []
    merged = frozenset(base_branch.merge_base.revisions) if base_branch.merge_base else frozenset()
    if onto is None:
        onto = head_of(base_branch.target)
        if onto not in graph.revisions:
            raise RebaseError(f"{onto}, the head of {base_branch.ref}, is not in {graph.tree.path} yet: "
                              f"merge or rebase onto {base_branch.ref} first, then move this branch's revisions")
    return rebase_edits(graph, revisions, onto, merged, force)


def plan_rebase(
    revisions: list[str], onto: str | None, base: str | None, path: str | None, config: Config, force: bool
) -> list[Edit]:
    """Read the tree (and the base branch), decide what moves where, and return the edits."""
    specs = [s for s in discover_trees([path] if path else [], config) if s.format == "alembic"]
    if len(specs) != 1:
        raise RebaseError(f"{len(specs)} alembic trees found: name one with --path")
    graphs = read_graphs(specs, config, use_cache=False)
    graph = graphs[0]
    if base:
        from mig_lint.base_branch import load_base_branches

        base_branch = load_base_branches(base, specs, graphs, project_roots(config))[graph.tree.path]
        return onto_base(graph, base_branch, revisions, onto, force)
    if onto is None or not revisions:
        raise RebaseError("name the revisions and --onto, or give --base (or run it in a stopped merge or rebase)")
    return rebase_edits(graph, revisions, onto, frozenset(), force)
