"""Fixes for ML204 and ML205: the `Revision ID:` and `Revises:` lines of the header string or comment."""
from __future__ import annotations

from collections.abc import Iterator

from mig_lint.fix.edits import Edit
from mig_lint.graph import Graph
from mig_lint.rules.scripts import stale_revises
from mig_lint.rules.scripts import stale_revision_id


def docstring_edits(graph: Graph) -> Iterator[Edit]:
    """Bring each script's header string (or `#` comment header) in line with its variables."""
    for script in graph.tree.scripts:
        if script.problem is not None:
            continue
        stale_id = stale_revision_id(script)
        if stale_id is not None:
            doc, revision = stale_id
            yield Edit(script.path, doc.span.start, doc.span.end, revision,
                       f"{script.path}:{doc.span.line}: Revision ID: {doc.value} -> {revision}")
        stale = stale_revises(script)
        if stale is not None:
            doc, ids = stale
            listed = ", ".join(ids)
            replacement = f" {listed}" if not doc.value and listed else listed
            before, after = doc.value or "(empty)", listed or "(empty)"
            yield Edit(script.path, doc.span.start, doc.span.end, replacement,
                       f"{script.path}:{doc.span.line}: Revises: {before} -> {after}")
