"""`mig-lint fix`: every automatic fix of the trees, as file changes to show or write."""
from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

from mig_lint.config import Config
from mig_lint.fix.docstrings import docstring_edits
from mig_lint.fix.edits import current_bytes
from mig_lint.fix.edits import FileChange
from mig_lint.fix.edits import plan_changes
from mig_lint.graph import Graph
from mig_lint.heads import head_files
from mig_lint.heads import head_files_in_use
from mig_lint.heads import render_head_file


def plan_fixes(
    graphs: Sequence[Graph], config: Config, read: Callable[[str], bytes] = current_bytes,
    keep: frozenset[str] = frozenset(),
) -> tuple[list[FileChange], list[str]]:
    """Stale `Revision ID:` / `Revises:` lines (ML204, ML205) and head files (ML402), and
    the header fixes left undone because their file is in `keep` (the base branch has it).

    `read` gives a file's bytes as the graphs were read (a missing file: b"").
    """
    edits = [edit for graph in graphs for edit in docstring_edits(graph)]
    changes = plan_changes((edit for edit in edits if edit.path not in keep), read)
    left = [edit.reason for edit in edits if edit.path in keep]
    return changes + _head_file_changes(graphs, config, read), left


def _head_file_changes(graphs: Sequence[Graph], config: Config, read: Callable[[str], bytes]) -> list[FileChange]:
    changes = []
    for graph in graphs:
        if not head_files_in_use(graph, config):
            continue
        for head in head_files(graph, config):
            if head.expected is None or head.current:
                continue
            before = read(head.path)
            reason = f"{head.path}: head of {head.chain} is {head.expected}"
            changes.append(FileChange(head.path, before, render_head_file(head).encode("utf-8"), (reason,)))
    return changes
