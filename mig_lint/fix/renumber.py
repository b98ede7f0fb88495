"""`mig-lint renumber`: give colliding migrate versions the next free numbers.

Every file of a moved version (its `.py` and each `.sql` script) is renamed, with `git mv`
inside a git work tree; `versions.json` lists the new names; and the tests that name the
old number (`_check_046`, `_pre_upgrade_046`, `_post_downgrade_046` and the configured
patterns) are rewritten to the new one.
"""
from __future__ import annotations

import difflib
import glob
import json
import os
import re
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from mig_lint.check import discover_trees
from mig_lint.check import project_roots
from mig_lint.check import read_graphs
from mig_lint.config import Config
from mig_lint.fix.edits import current_bytes
from mig_lint.fix.edits import Edit
from mig_lint.fix.edits import FileChange
from mig_lint.fix.edits import plan_changes
from mig_lint.graph import Graph
from mig_lint.model import MigrateEntry
from mig_lint.model import SLOTS
from mig_lint.rules.migrate import by_number
from mig_lint.sources.files import read_text
from mig_lint.sources.git import GitError
from mig_lint.sources.git import run_git
from mig_lint.sources.paths import display_path

TEST_PREFIXES = ("_check_{version}", "_pre_upgrade_{version}", "_post_downgrade_{version}")


class RenumberError(Exception):
    """The versions cannot be renumbered safely; the message says why."""


@dataclass(frozen=True, **SLOTS)
class Rename:
    """One file of a moved version, and its new name."""

    source: str
    target: str
    old: int
    new: int


def plan_renames(graph: Graph, moved: Sequence[MigrateEntry], above: int) -> list[Rename]:
    """Each moved version's files, numbered from `above + 1` in their current order."""
    renames = []
    numbers: dict[tuple[int, str], int] = {}
    for entry in sorted(moved, key=lambda e: (e.number, _stem(e.name), e.name)):
        key = (entry.number, _stem(entry.name))
        numbers.setdefault(key, above + 1 + len(numbers))
        new = numbers[key]
        digits = str(new).zfill(max(3, len(entry.digits)))
        target = os.path.join(os.path.dirname(entry.path), digits + entry.name[len(entry.digits):])
        renames.append(Rename(entry.path, target, entry.number, new))
    taken = {e.path for e in graph.tree.entries} - {r.source for r in renames}
    clash = [r.target for r in renames if r.target in taken or os.path.exists(r.target)]
    if clash:  # pragma: no cover (targets lie above every numbered name: only a race makes one exist)
        raise RenumberError(f"{', '.join(clash)} already exists; nothing was renamed")
    return renames


def _stem(name: str) -> str:
    """What ties a version's `.sql` scripts to its `.py`: the description after the number."""
    rest = re.sub(r"^\d+_?", "", name)
    rest = re.sub(r"(_[a-z0-9]+_(upgrade|downgrade))?\.(py|sql)$", "", rest)
    return rest


def colliding_entries(graph: Graph) -> list[MigrateEntry]:
    """Without a base branch: the files of every version after the first that shares a number."""
    moved: list[MigrateEntry] = []
    for entries in by_number(graph.tree).values():
        scripts = sorted({_stem(e.name) for e in entries if e.kind == "py"})
        moved.extend(e for e in entries if _stem(e.name) in scripts[1:])
    return moved


def new_entries(graph: Graph, base: Graph) -> list[MigrateEntry]:
    """With a base branch: this branch's files from its first version that the base has reached.

    That version collides with the base (or sits below its latest), and every version of
    the branch above it must shift with it to keep their order.
    """
    on_base = {e.path for e in base.tree.entries}
    latest = max((e.number for e in base.tree.entries), default=0)
    added = [e for e in graph.tree.entries if e.path not in on_base]
    too_low = [e.number for e in added if e.number <= latest]
    return [e for e in added if too_low and e.number >= min(too_low)]


def kept_numbers(graph: Graph, renames: Sequence[Rename]) -> set[int]:
    """Old numbers that another version keeps: tests naming them are not rewritten."""
    moved = {r.source for r in renames}
    remaining = {e.number for e in graph.tree.entries if e.path not in moved}
    return {r.old for r in renames} & remaining


BaseText = Callable[[str], Optional[str]]


def test_edits(
    config: Config, renames: Sequence[Rename], kept: set[int], base_text: BaseText | None = None
) -> list[Edit]:
    """Rewrite the tests that name a moved version.

    A number that another version keeps is rewritten only on the lines this branch
    added, which `base_text` (a test file as the base branch has it) tells; without
    it, such names are left alone.
    """
    patterns = set(TEST_PREFIXES) | set(config.tests.patterns if config.tests else ())
    paths = config.tests.paths if config.tests else ()
    moves = {(r.old, r.new) for r in renames}
    edits = []
    for pattern in paths:
        for path in sorted(glob.glob(os.path.join(config.root, pattern), recursive=True)):
            text = read_text(path)
            if isinstance(text, str):
                base = base_text(path) if base_text else None
                added = None if base is None else _added_spans(base, text)
                for old, edit in _name_edits(display_path(path), text, patterns, moves):
                    if old not in kept or (added is not None and any(a <= edit.start < b for a, b in added)):
                        edits.append(edit)
    return edits


def _added_spans(base: str, text: str) -> list[tuple[int, int]]:
    """The str offsets of the lines of `text` that `base` does not have."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    matcher = difflib.SequenceMatcher(None, base.splitlines(keepends=True), lines, autojunk=False)
    return [(starts[j1], starts[j2]) for tag, _i1, _i2, j1, j2 in matcher.get_opcodes() if tag in ("insert", "replace")]


def _name_edits(path: str, text: str, patterns: set[str], moves: set[tuple[int, int]]) -> list[tuple[int, Edit]]:
    """Each name of an old version in `text`, with the edit to its new number."""
    edits = []
    for old, new in sorted(moves):
        for pattern in sorted(patterns):
            for width in sorted({len(str(old)), 3}):
                name = pattern.format(version=str(old).zfill(width))
                for match in re.finditer(re.escape(name) + r"(?!\d)", text):
                    replacement = pattern.format(version=str(new).zfill(width))
                    reason = f"{path}: {name} -> {replacement}"
                    edits.append((old, Edit(path, match.start(), match.end(), replacement, reason)))
    return edits


def versions_json_text(graph: Graph, renames: Sequence[Rename]) -> tuple[str, str] | None:
    """(path, new text) of versions.json with the moved files under their new numbers."""
    listing = graph.tree.versions_json
    if listing is None or listing.problem:
        return None
    by_name = {os.path.basename(r.source): r for r in renames}
    result: dict[str, list[str]] = {}
    for key, files, _line in listing.versions:
        for name in files:
            rename = by_name.get(name)
            if rename is None:
                result.setdefault(key, []).append(name)
            else:
                target = os.path.basename(rename.target)
                result.setdefault(target.split("_", 1)[0].split(".", 1)[0], []).append(target)
    ordered = dict(sorted(result.items(), key=lambda item: int(item[0])))
    return listing.path, json.dumps(ordered, indent=2) + "\n"


def apply_renames(renames: Sequence[Rename]) -> None:
    """Rename the files: `git mv` for tracked files, a plain rename otherwise."""
    for rename in renames:
        if _tracked(rename.source):
            run_git(".", "mv", rename.source, rename.target)  # GitError (exit 2) when git refuses
        else:
            os.rename(rename.source, rename.target)


def _tracked(path: str) -> bool:
    try:
        run_git(os.path.dirname(path) or ".", "ls-files", "--error-unmatch", os.path.basename(path))
    except GitError:
        return False
    return True


def plan_renumber(base: str | None, path: str | None, config: Config) -> tuple[Graph, list[Rename]]:
    """Read the migrate tree (and the base branch), and decide which versions move where."""
    specs = [s for s in discover_trees([path] if path else [], config) if s.format == "migrate"]
    if len(specs) != 1:
        raise RenumberError(f"{len(specs)} migrate repositories found: name one with --path")
    graphs = read_graphs(specs, config, use_cache=False)
    graph = graphs[0]
    if base:
        from mig_lint.base_branch import load_base_branches

        target = load_base_branches(base, specs, graphs, project_roots(config))[graph.tree.path].target
        return graph, renames_onto(graph, target)
    return graph, _renames_of(graph, colliding_entries(graph))


def renames_onto(graph: Graph, base: Graph | None) -> list[Rename]:
    """The renames that put this branch's versions above the base branch's (none if it has no such tree)."""
    return _renames_of(graph, new_entries(graph, base) if base is not None else [])


def _renames_of(graph: Graph, moved: Sequence[MigrateEntry]) -> list[Rename]:
    staying = [e.number for e in graph.tree.entries if e not in moved]
    return plan_renames(graph, moved, max(staying, default=0))


def renumber_changes(
    graph: Graph, renames: Sequence[Rename], config: Config, base_text: BaseText | None = None
) -> tuple[list[FileChange], set[int]]:
    """The edits of a renumbering (tests, versions.json) as file changes, and the old
    numbers whose test names were left alone because another version keeps them."""
    kept = kept_numbers(graph, renames)
    changes = plan_changes(test_edits(config, renames, kept, base_text))
    listing = versions_json_text(graph, renames)
    if renames and listing is not None:
        changes.append(FileChange(listing[0], current_bytes(listing[0]), listing[1].encode(),
                                  (f"{listing[0]}: new numbers",)))
        changes.sort(key=lambda change: change.path)
    return changes, set() if base_text else kept


def git_base_text(base: str) -> BaseText:
    """A file as the base branch REF has it (None when it has no such file)."""
    from mig_lint.sources.git import GitFiles
    from mig_lint.sources.git import repository_root
    from mig_lint.sources.git import resolve_base

    root = repository_root(".")
    _merge_base, target = resolve_base(root, base)

    def text(path: str) -> str | None:
        files = GitFiles(root, target, [os.path.dirname(os.path.abspath(path))])
        try:
            found = read_text(path, files) if files.isfile(path) else None
        finally:
            files.close()
        return found if isinstance(found, str) else None

    return text
