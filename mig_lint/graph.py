"""The history of one tree as a graph, with alembic's vocabulary.

Edges run from a revision to each revision it names: `down_revision` (kind "down") and
`depends_on` (kind "depends"). A head is named by no `down_revision` (what
`alembic upgrade head` counts); `alembic upgrade heads` also follows `depends_on`
(`dependents`). A base has no `down_revision`.

The facts are computed once, in `build_graph`, with plain dictionaries: importing
networkx costs more than reading a thousand revisions, so it is imported only to
enumerate cycles, which a healthy history does not have, and to draw graphs.
"""
from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.model import Revision
from mig_lint.model import SLOTS
from mig_lint.model import Tree


@dataclass(frozen=True, **SLOTS)
class Graph:
    """The read-only facts of one tree's history."""

    tree: Tree
    revisions: Mapping[str, Revision]
    duplicates: tuple[tuple[str, tuple[Revision, ...]], ...]
    parents: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    dependents: Mapping[str, tuple[str, ...]]
    heads: tuple[str, ...]
    bases: tuple[str, ...]
    branch_points: tuple[str, ...]
    merge_points: tuple[str, ...]
    cycles: tuple[tuple[str, ...], ...]
    missing_parents: tuple[tuple[Revision, str], ...]
    missing_dependencies: tuple[tuple[Revision, str], ...]
    labels: Mapping[str, tuple[str, ...]]
    revision_labels: Mapping[str, frozenset[str]]  # only revisions that carry a label

    def label_heads(self) -> dict[str, tuple[str, ...]]:
        """Each branch label with the heads that carry it."""
        return {
            label: tuple(h for h in self.heads if label in self.revision_labels.get(h, ()))
            for label in sorted(self.labels)
        }

    def ancestors(self, revision: str) -> set[str]:
        """Every revision below `revision` on `down_revision` edges (itself excluded)."""
        return _reach(self.parents, [revision]) - {revision}

    def descendants(self, revision: str) -> set[str]:
        """Every revision above `revision` on `down_revision` edges (itself excluded)."""
        return _reach(self.children, [revision]) - {revision}


def chains(graph: Graph, declared: Sequence[str]) -> dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]]:
    """(heads, bases) per chain: one chain per declared branch label, plus the unlabelled one."""
    wanted = set(declared)
    heads: dict[tuple[str, ...], list[str]] = {}
    for head in graph.heads:
        key = tuple(sorted(graph.revision_labels.get(head, frozenset()) & wanted))
        heads.setdefault(key, []).append(head)
    if len(heads) == 1 and not graph.cycles:  # every base lies below some head: no walk needed
        ((key, chain_heads),) = heads.items()
        return {key: (tuple(chain_heads), graph.bases)}
    result = {}
    for key, chain_heads in heads.items():
        below = set(chain_heads)
        for head in chain_heads:
            below |= graph.ancestors(head)
        result[key] = (tuple(chain_heads), tuple(b for b in graph.bases if b in below))
    return result


def build_graph(tree: Tree) -> Graph:
    """Build the graph of one tree; the last file wins a duplicated id, as in alembic."""
    revisions: dict[str, Revision] = {}
    seen: dict[str, list[Revision]] = {}
    for revision in tree.revisions:
        revisions[revision.id] = revision
        seen.setdefault(revision.id, []).append(revision)
    labels: dict[str, list[str]] = {}
    for revision in revisions.values():
        for label in revision.branch_labels:
            labels.setdefault(label, []).append(revision.id)
    for revision in tree.revisions:  # a shadowed copy of a duplicated id keeps its labels, as in alembic
        for label in revision.branch_labels:
            labels.setdefault(label, [revision.id])

    def resolve(name: str) -> str | None:
        if name in revisions:
            return name
        owners = labels.get(name)
        return owners[0] if owners else None

    parents: dict[str, tuple[str, ...]] = {}
    depends: dict[str, tuple[str, ...]] = {}
    missing_parents: list[tuple[Revision, str]] = []
    missing_dependencies: list[tuple[Revision, str]] = []
    for revision in revisions.values():
        down = revision.down
        if len(down) == 1 and down[0] in revisions:  # the common case, without the general walk
            parents[revision.id] = down
        else:
            parents[revision.id] = _resolved(revision, down, resolve, missing_parents)
        depends[revision.id] = (
            _resolved(revision, revision.depends_on, resolve, missing_dependencies) if revision.depends_on else ()
        )

    children = _invert(parents, revisions)
    dependents = _invert(depends, revisions)
    heads = tuple(sorted(r for r in revisions if not children[r]))
    bases = tuple(sorted(r for r, rev in revisions.items() if not rev.down))
    return Graph(
        tree=tree,
        revisions=revisions,
        duplicates=tuple((i, tuple(revs)) for i, revs in seen.items() if len(revs) > 1),
        parents=parents,
        children=children,
        dependents=dependents,
        heads=heads,
        bases=bases,
        branch_points=tuple(sorted(r for r in revisions if len(children[r]) > 1)),
        merge_points=tuple(sorted(r for r, rev in revisions.items() if len(rev.down) > 1)),
        cycles=_cycles(revisions, parents, depends),
        missing_parents=tuple(missing_parents),
        missing_dependencies=tuple(missing_dependencies),
        labels={label: tuple(owners) for label, owners in labels.items()},
        revision_labels=_propagate_labels(revisions, parents, children),
    )


def _resolved(
    revision: Revision,
    names: Sequence[str],
    resolve: Callable[[str], str | None],
    missing: list[tuple[Revision, str]],
) -> tuple[str, ...]:
    found: list[str] = []
    for name in names:
        target = resolve(name)
        if target is None:
            missing.append((revision, name))
        elif target not in found:
            found.append(target)
    return tuple(found)


def _invert(edges: Mapping[str, Sequence[str]], nodes: Iterable[str]) -> dict[str, tuple[str, ...]]:
    inverted: dict[str, list[str]] = {node: [] for node in nodes}
    for source, targets in edges.items():
        for target in targets:
            inverted[target].append(source)
    return {node: tuple(sorted(sources)) if len(sources) > 1 else tuple(sources) for node, sources in inverted.items()}


def _reach(edges: Mapping[str, Sequence[str]], start: Iterable[str]) -> set[str]:
    seen = set(start)
    stack = list(seen)
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _cycles(
    revisions: Mapping[str, Revision],
    parents: Mapping[str, Sequence[str]],
    depends: Mapping[str, Sequence[str]],
) -> tuple[tuple[str, ...], ...]:
    """Cycles on both edge kinds: Kahn's sort finds whether any exist, networkx which."""
    edges = {r: tuple(parents[r]) + tuple(depends[r]) if depends[r] else parents[r] for r in revisions}
    pending = {r: len(edges[r]) for r in revisions}
    users = _invert(edges, revisions)
    ready = [r for r, count in pending.items() if count == 0]
    while ready:
        for user in users[ready.pop()]:
            pending[user] -= 1
            if pending[user] == 0:
                ready.append(user)
    stuck = [r for r, count in pending.items() if count > 0]
    if not stuck:
        return ()
    import networkx as nx

    digraph: nx.DiGraph[str] = nx.DiGraph()
    digraph.add_edges_from((s, t) for s in stuck for t in edges[s] if t in pending and pending[t] > 0)
    components = [
        tuple(sorted(c))
        for c in nx.strongly_connected_components(digraph)
        if len(c) > 1 or any(digraph.has_edge(n, n) for n in c)
    ]
    return tuple(sorted(components))


def _is_plain(node: str, parents: Mapping[str, Sequence[str]], children: Mapping[str, Sequence[str]]) -> bool:
    """Neither a branch point nor a merge point."""
    return len(children[node]) <= 1 and len(parents[node]) <= 1


def _propagate_labels(
    revisions: Mapping[str, Revision],
    parents: Mapping[str, Sequence[str]],
    children: Mapping[str, Sequence[str]],
) -> dict[str, frozenset[str]]:
    """Labels as alembic spreads them: to every descendant, and down to the branch point."""
    labels: dict[str, set[str]] = {}
    for revision in revisions.values():
        if not revision.branch_labels:
            continue
        for node in _reach(children, [revision.id]):
            labels.setdefault(node, set()).update(revision.branch_labels)
        node_id: str | None = revision.id
        walked: set[str] = set()
        while node_id is not None and node_id not in walked and _is_plain(node_id, parents, children):
            walked.add(node_id)
            labels.setdefault(node_id, set()).update(revision.branch_labels)
            below = parents[node_id]
            node_id = below[0] if below else None
    return {r: frozenset(found) for r, found in labels.items() if found}
