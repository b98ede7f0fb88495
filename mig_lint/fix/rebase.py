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
from mig_lint.graph import chains
from mig_lint.graph import Graph
from mig_lint.model import Script

if TYPE_CHECKING:  # the gate's reader is imported only when a base is given
    from mig_lint.base_branch import BaseBranch


class RebaseError(Exception):
    """The revisions cannot be moved as asked; the message says why."""


def rebase_edits(
    graph: Graph, moved: Sequence[str], onto: str, merged: frozenset[str] = frozenset(), force: bool = False,
    onto_elsewhere: str | None = None,
) -> list[Edit]:
    """The edits that put the chain `moved` on top of `onto`.

    `onto_elsewhere` names the base branch when `onto` is its head and not in this tree
    yet (the branch is not merged): the chain is put on it all the same, and the merge
    brings it in.
    """
    unknown = [r for r in (*moved, onto) if r not in graph.revisions and not (r == onto and onto_elsewhere)]
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
    absent = onto not in graph.revisions and onto_elsewhere
    note = f"; {onto} is on {onto_elsewhere} only: `git merge {onto_elsewhere}` brings it in" if absent else ""
    return list(_bottom_edits(script, bottom.id, onto, note))


def _bottom_edits(script: Script, revision: str, onto: str, note: str = "") -> Iterator[Edit]:
    down = script.assignment("down_revision")
    assert down is not None and not down.dynamic
    yield Edit(script.path, down.span.start, down.span.end, _like(down.source, onto),
               f"{script.path}:{down.span.line}: {revision} now follows {onto} (was {down.source}){note}")
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


def new_chains(graph: Graph, revisions: Sequence[str]) -> list[tuple[str, ...]]:
    """`revisions` split into the chains they form (joined by `down_revision`), each sorted, by first id."""
    pending = set(revisions)
    edges = {r: [n for n in (*graph.parents[r], *graph.children[r]) if n in pending] for r in pending}
    found = []
    while pending:
        chain = _reach(edges, [min(pending)])
        pending -= chain
        found.append(tuple(sorted(chain)))
    return sorted(found)


def _reach(edges: dict[str, list[str]], start: Sequence[str]) -> set[str]:
    seen, stack = set(start), list(start)
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def base_head(graph: Graph, base: Graph, chain: Sequence[str], declared: Sequence[str]) -> str | tuple[str, ...]:
    """The base branch's head that `chain` goes on, or the candidates when the graph does not decide.

    A chain that carries branch labels goes on the head of the same labels (a new expand
    revision on the expand head); an unlabelled one, or one whose labels the base does not
    have, on the head reached from its old parent.
    """
    key = tuple(sorted(set(declared).intersection(*(graph.revision_labels.get(r, frozenset()) for r in chain))))
    same = chains(base, declared).get(key, ((), ()))[0]
    if len(same) == 1:
        return same[0]
    if same:
        return tuple(same)
    chosen = set(chain)
    parents = {p for r in chain for p in graph.revisions[r].down if p not in chosen}
    reached = tuple(h for h in base.heads if any(p == h or p in base.ancestors(h) for p in parents))
    return reached[0] if len(reached) == 1 else (reached or base.heads)


def _ambiguity(graph: Graph, candidates: Sequence[str], chain: Sequence[str], declared: Sequence[str]) -> RebaseError:
    labels = sorted(set(declared).intersection(*(graph.revision_labels.get(r, frozenset()) for r in chain)))
    where = f" for branch {'+'.join(labels)!r}" if labels else ""
    return RebaseError(f"the base branch has {len(candidates)} heads ({', '.join(candidates)}){where} to put "
                       f"{', '.join(chain)} on; give --onto")


def _is_new_base(graph: Graph, chain: Sequence[str]) -> bool:
    """Every revision at the bottom of `chain` is a base (a new branch label's root, say)."""
    return all(not graph.revisions[r].down for r in chain if not set(graph.parents[r]) & set(chain))


def onto_base(
    graph: Graph, base_branch: BaseBranch, declared: Sequence[str] = (), revisions: Sequence[str] = (),
    onto: str | None = None, force: bool = False,
) -> list[Edit]:
    """The edits that put `revisions` (default: the ones only this branch has, one move per
    chain they form) on `onto` (default: the base branch's head of each chain's label).

    With several chains, `onto` serves those whose head the graph does not decide.
    """
    target = base_branch.target
    if target is None:
        raise RebaseError(f"{graph.tree.path} does not exist on {base_branch.ref}")
    merged = frozenset(base_branch.merge_base.revisions) if base_branch.merge_base else frozenset()
    moving = [tuple(revisions)] if revisions else new_chains(graph, only_here(graph, target))
    edits: list[Edit] = []
    taken: dict[str, tuple[str, ...]] = {}
    for chain in moving:
        if not revisions and _is_new_base(graph, chain):
            continue  # nothing below it to move onto
        head = onto if onto is not None and len(moving) == 1 else base_head(graph, target, chain, declared)
        if isinstance(head, tuple):
            if onto is None:
                raise _ambiguity(graph, head, chain, declared)
            head = onto
        if head in taken:
            other = taken[head]
            top = next(r for r in other if not set(graph.children[r]) & set(other))
            raise RebaseError(f"{', '.join(other)} and {', '.join(chain)} would both go on {head}: put one on "
                              f"the other first (`mig-lint rebase {' '.join(chain)} --onto {top}`)")
        taken[head] = chain
        elsewhere = base_branch.ref if head in target.revisions else None
        edits.extend(rebase_edits(graph, chain, head, merged, force, onto_elsewhere=elsewhere))
    return edits


def plan_rebase(
    revisions: list[str], onto: str | None, base: str | None, path: str | None, config: Config, force: bool,
    refusal_base: str | None = None,
) -> list[Edit]:
    """Read the trees (and the base branch), decide what moves where, and return the edits.

    Without --path: the tree that holds the named revisions, or with --base alone every
    alembic tree (each moves its own new revisions). Without --base, `refusal_base` is
    the branch whose merged revisions are not moved unless forced.
    """
    if base is None and (onto is None or not revisions):
        raise RebaseError("name the revisions and --onto, or give --base (or run it in a stopped merge or rebase)")
    specs = [s for s in discover_trees([path] if path else [], config) if s.format == "alembic"]
    if not specs:
        raise RebaseError("0 alembic trees found: name one with --path")
    graphs = read_graphs(specs, config, use_cache=False)
    named = list(dict.fromkeys([*revisions, *([onto] if onto else [])]))
    chosen = [_holding(graphs, named)] if named else list(graphs)
    ref = base or refusal_base
    if ref is None:
        return rebase_edits(chosen[0], revisions, onto or "", frozenset(), force)
    from mig_lint.base_branch import load_base_branches

    chosen_specs = [s for s, g in zip(specs, graphs) if any(g is c for c in chosen)]
    base_branches = load_base_branches(ref, chosen_specs, chosen, project_roots(config))
    edits = []
    for graph in chosen:
        base_branch = base_branches[graph.tree.path]
        if base is None:
            merged = frozenset(base_branch.merge_base.revisions) if base_branch.merge_base else frozenset()
            edits.extend(rebase_edits(graph, revisions, onto or "", merged, force))
        elif base_branch.target is not None or len(chosen) == 1:
            edits.extend(onto_base(graph, base_branch, config.chain_labels(graph.labels), revisions, onto, force))
    return edits


def _holding(graphs: Sequence[Graph], names: Sequence[str]) -> Graph:
    """The one tree that holds every revision named (the only tree, when there is one)."""
    holding = [g for g in graphs if all(n in g.revisions for n in names)]
    if len(graphs) == 1 or len(holding) == 1:
        return (holding or list(graphs))[0]
    which = "found that hold" if holding else "found, and none holds"
    raise RebaseError(f"{len(holding or graphs)} alembic trees {which} {', '.join(names)}: name one with --path")
