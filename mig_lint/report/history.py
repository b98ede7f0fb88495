"""`mig-lint graph`: a history drawn as ASCII (like `git log --graph`), DOT, Mermaid or JSON."""
from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Sequence

from mig_lint.graph import Graph
from mig_lint.words import counted


def topo_order(graph: Graph) -> list[str]:
    """Newest first: a revision comes after all its children, each branch kept together."""
    waiting = {r: len(graph.children[r]) for r in graph.revisions}
    stack = sorted(graph.heads, reverse=True)
    order: list[str] = []
    while stack:
        node = stack.pop()
        order.append(node)
        for parent in reversed(graph.parents[node]):
            waiting[parent] -= 1
            if waiting[parent] == 0:
                stack.append(parent)
    order.extend(sorted(r for r in graph.revisions if r not in set(order)))
    return order


def _tags(graph: Graph, node: str) -> str:
    tags = []
    if node in graph.heads:
        tags.append("head")
    if node in graph.bases:
        tags.append("base")
    if node in graph.branch_points:
        tags.append("branch point")
    if node in graph.merge_points:
        tags.append("merge")
    tags.extend(f"label: {label}" for label in graph.revisions[node].branch_labels)
    deps = graph.revisions[node].depends_on
    if deps:
        tags.append(f"depends on: {', '.join(deps)}")
    return f" ({', '.join(tags)})" if tags else ""


def _row(lanes: Sequence[str], marks: dict[int, str]) -> str:
    cells = [" "] * (2 * len(lanes))
    for index in range(len(lanes)):
        cells[2 * index] = "|"
    for position, mark in marks.items():
        cells[position] = mark
    return "".join(cells).rstrip()


def render_ascii(graph: Graph) -> str:
    """The history newest first, one revision a line, with lanes for branches."""
    lines = [f"{graph.tree.path} ({graph.tree.format}, {counted(len(graph.revisions), 'revision')})"]
    lanes: list[str] = []
    for node in topo_order(graph):
        if node not in lanes:
            lanes.append(node)
        column = lanes.index(node)
        lines.append(f"{_row(lanes, {2 * column: '*'})} {node}{_tags(graph, node)}  {graph.revisions[node].path}")
        parents = [p for p in graph.parents[node] if p != node]
        if not parents:
            lanes.pop(column)
            continue
        lanes[column] = parents[0]
        for extra in parents[1:]:
            if extra not in lanes:
                lanes.insert(column + 1, extra)
                lines.append(_row(lanes, _fork_marks(column, len(lanes))))
        lines.extend(_collapse(lanes))
    return "\n".join(lines) + "\n"


def _fork_marks(column: int, width: int) -> dict[int, str]:
    """A merge's second parent opens a lane right of `column`: `|\\` as git draws it."""
    marks = {2 * column + 1: "\\", 2 * column + 2: " "}
    for index in range(column + 2, width):
        marks[2 * index - 1] = "\\"
        marks[2 * index] = " "
    return marks


def _collapse(lanes: list[str]) -> list[str]:
    """Join lanes that now wait for the same revision, drawing `|/` as git does."""
    rows: list[str] = []
    while True:
        duplicate = next((i for i, lane in enumerate(lanes) if lane in lanes[:i]), None)
        if duplicate is None:
            return rows
        marks = {2 * i - 1: "/" for i in range(duplicate, len(lanes))}
        for i in range(duplicate, len(lanes)):
            marks[2 * i] = " "
        rows.append(_row(lanes, marks))
        lanes.pop(duplicate)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(graph: Graph) -> str:
    """Graphviz: an edge from each revision to its parents, dashed for depends_on."""
    lines = [f"digraph {_quote(graph.tree.path)} {{", "  rankdir=BT;", "  node [shape=box];"]
    for node in topo_order(graph):
        revision = graph.revisions[node]
        shape = ", style=bold" if node in graph.heads else ""
        lines.append(f"  {_quote(node)} [label={_quote(node)[:-1]}\\n{_quote(revision.path)[1:]}{shape}];")
    for node in topo_order(graph):
        for parent in graph.parents[node]:
            lines.append(f"  {_quote(node)} -> {_quote(parent)};")
        for target in graph.revisions[node].depends_on:
            lines.append(f"  {_quote(node)} -> {_quote(target)} [style=dashed];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_mermaid(graph: Graph) -> str:
    """Mermaid flowchart, bottom to top; `-.->` for depends_on."""
    ids = {node: f"r{index}" for index, node in enumerate(topo_order(graph))}
    lines = ["graph BT"]
    for node, key in ids.items():
        lines.append(f'  {key}["{node}"]')
    for node, key in ids.items():
        for parent in graph.parents[node]:
            lines.append(f"  {key} --> {ids[parent]}")
        for target in graph.revisions[node].depends_on:
            if target in ids:
                lines.append(f"  {key} -.-> {ids[target]}")
    return "\n".join(lines) + "\n"


def graph_json(graph: Graph) -> dict[str, object]:
    """The nodes and edges of one tree as data."""
    return {
        "path": graph.tree.path,
        "format": graph.tree.format,
        "heads": list(graph.heads),
        "bases": list(graph.bases),
        "nodes": [
            {
                "id": node,
                "path": graph.revisions[node].path,
                "line": graph.revisions[node].line,
                "down_revision": list(graph.revisions[node].down),
                "depends_on": list(graph.revisions[node].depends_on),
                "branch_labels": list(graph.revisions[node].branch_labels),
            }
            for node in topo_order(graph)
        ],
    }


def render_json(graphs: Sequence[Graph]) -> str:
    return json.dumps({"schema": 1, "trees": [graph_json(g) for g in graphs]}, indent=2) + "\n"


GRAPH_FORMATS: dict[str, Callable[[Graph], str]] = {
    "ascii": render_ascii,
    "dot": render_dot,
    "mermaid": render_mermaid,
}
