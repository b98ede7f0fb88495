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
from typing import TYPE_CHECKING

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
from mig_lint.rules.gate import branch_numbers
from mig_lint.rules.gate import new_files
from mig_lint.rules.migrate import by_number
from mig_lint.rules.migrate import collision_moves
from mig_lint.rules.migrate import description
from mig_lint.rules.migrate import version_pythons
from mig_lint.sources.files import read_text
from mig_lint.sources.git import GitError
from mig_lint.sources.git import run_git
from mig_lint.sources.paths import display_path

if TYPE_CHECKING:
    from mig_lint.base_branch import BaseBranch

DEFAULT_TEST_FILES = "**/test*migrat*.py"
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


@dataclass(frozen=True, **SLOTS)
class Renumbering:
    """One migrate repository's renames, and what the output must say about files that stay."""

    graph: Graph
    renames: tuple[Rename, ...]
    notes: tuple[str, ...] = ()


def plan_renames(graph: Graph, moved: Sequence[tuple[MigrateEntry, int]]) -> tuple[Rename, ...]:
    """Each moved file renamed to its new number, keeping the width of its digits."""
    renames = []
    for entry, new in sorted(moved, key=lambda move: (move[1], move[0].name)):
        digits = str(new).zfill(max(3, len(entry.digits)))
        target = os.path.join(os.path.dirname(entry.path), digits + entry.name[len(entry.digits):])
        renames.append(Rename(entry.path, target, entry.number, new))
    sources = {r.source for r in renames}
    taken = {e.path for e in graph.tree.entries} - sources
    clash = [r.target for r in renames if r.target not in sources and (r.target in taken or os.path.exists(r.target))]
    if clash:  # pragma: no cover (targets lie above every numbered name: only a race makes one exist)
        raise RenumberError(f"{', '.join(clash)} already exists; nothing was renamed")
    return tuple(renames)


def renumbering_of_collisions(graph: Graph) -> Renumbering:
    """Without a base branch: every `.py` after the first of a version moves to the next free number.

    Each other file of the version goes with the first `.py` whose description it
    carries; one that carries none stays with the version that keeps the number, and
    the notes say so.
    """
    new_numbers = dict(collision_moves(graph.tree))
    moved = list(new_numbers.items())
    notes = []
    for number in sorted({python.number for python in new_numbers}):
        pythons = version_pythons(graph.tree, number)
        for entry in by_number(graph.tree)[number]:
            if entry.kind == "py":
                continue
            owner = next((p for p in pythons if description(p) == description(entry)), None)
            if owner is None:
                notes.append(f"{entry.path} names no script of version {number}: it stays with {pythons[0].name}")
            elif owner in new_numbers:
                moved.append((entry, new_numbers[owner]))
    return Renumbering(graph, plan_renames(graph, moved), tuple(notes))


def renumbering_onto(graph: Graph, base_branch: BaseBranch) -> Renumbering:
    """With a base branch: this branch's versions, every file of each, above the base branch's."""
    numbers = branch_numbers(graph.tree, base_branch)
    moved = [(e, numbers[e.number]) for e in new_files(graph.tree, base_branch) if e.number in numbers]
    return Renumbering(graph, plan_renames(graph, moved))


def renumbering_above(graph: Graph, base_branch: BaseBranch) -> Renumbering:
    """This branch's versions above the base branch's; when none needs to move, its collisions.

    Two versions that both came with this branch and share a number collide with no
    help from the base branch (`renumber` run on a branch where main has not moved).
    """
    onto = renumbering_onto(graph, base_branch)
    return onto if onto.renames else renumbering_of_collisions(graph)


def kept_numbers(graph: Graph, renames: Sequence[Rename]) -> set[int]:
    """Old numbers that another version keeps: tests naming them are not rewritten."""
    moved = {r.source for r in renames}
    remaining = {e.number for e in graph.tree.entries if e.path not in moved}
    return {r.old for r in renames} & remaining


BaseText = Callable[[str], Sequence[str]]


def test_edits(
    config: Config, files: Sequence[str], renames: Sequence[Rename], kept: set[int],
    base_text: BaseText | None = None,
) -> list[Edit]:
    """Rewrite the tests that name a moved version.

    With a base branch, only the names on the lines that this branch added move: lines
    that neither the merge-base's nor the base branch's copy of the file has, which
    `base_text` gives (none: the file is new here, and every line is this branch's).
    Without one, a number that another version keeps is left alone.
    """
    patterns = set(TEST_PREFIXES) | set(config.tests.patterns if config.tests else ())
    moves = {(r.old, r.new) for r in renames}
    edits = []
    for path in files:
        text = read_text(path)
        if isinstance(text, str):
            added = None if base_text is None else _added_spans(base_text(path), text)
            for old, edit in _name_edits(display_path(path), text, patterns, moves):
                if (old not in kept) if added is None else any(a <= edit.start < b for a, b in added):
                    edits.append(edit)
    return edits


def test_files(config: Config) -> list[str]:
    """The configured test files (`[tool.mig-lint.tests]` paths), else the project's files
    that git lists (tracked or new, not ignored) named like migration tests: `test*migrat*.py`."""
    if config.tests and config.tests.paths:
        return sorted({path for pattern in config.tests.paths
                       for path in glob.glob(os.path.join(config.root, pattern), recursive=True)})
    try:
        listed = run_git(config.root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                         f":(glob){DEFAULT_TEST_FILES}")
    except GitError:
        return []
    names = {os.fsdecode(name) for name in listed.split(b"\0") if name}
    return sorted(os.path.join(config.root, name) for name in names)


def _added_spans(bases: Sequence[str], text: str) -> list[tuple[int, int]]:
    """The str offsets of the lines of `text` that none of `bases` has."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    known: set[int] = set()
    for base in bases:
        matcher = difflib.SequenceMatcher(None, base.splitlines(keepends=True), lines, autojunk=False)
        known.update(j + k for i, j, size in matcher.get_matching_blocks() for k in range(size))
    return [(starts[n], starts[n + 1]) for n in range(len(lines)) if n not in known]


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
    """(path, new text) of versions.json with the moved files under their new numbers.

    One that git left with conflict markers is written anew from the folder's scripts
    as the renames leave them; any other that cannot be read is left alone.
    """
    listing = graph.tree.versions_json
    if listing is None or listing.problem and not conflicted(listing.path):
        return None
    renamed = {os.path.basename(r.source): os.path.basename(r.target) for r in renames}
    if listing.problem:
        names = sorted(renamed.get(e.name, e.name) for e in graph.tree.entries if e.kind in ("py", "sql"))
        listed = [(_digits(name), name) for name in names]
    else:
        listed = [(_digits(renamed[name]) if name in renamed else key, renamed.get(name, name))
                  for key, files, _line in listing.versions for name in files]
    result: dict[str, list[str]] = {}
    for key, name in listed:
        result.setdefault(key, []).append(name)
    ordered = dict(sorted(result.items(), key=lambda item: int(item[0])))
    return listing.path, json.dumps(ordered, indent=2) + "\n"


def _digits(name: str) -> str:
    return name[:len(name) - len(name.lstrip("0123456789"))]


def conflicted(path: str) -> bool:
    """Whether git left conflict markers in the file."""
    text = read_text(path)
    return isinstance(text, str) and re.search(r"^<<<<<<< .*\n(?:.*\n)*?=======\n", text, re.MULTILINE) is not None


def apply_renames(renames: Sequence[Rename]) -> None:
    """Rename the files (`git mv` for tracked files, a plain rename otherwise); a file whose
    new name is another's old one goes after that one."""
    pending = list(renames)
    while pending:
        sources = {r.source for r in pending}
        ready = [r for r in pending if r.target not in sources] or pending[:1]
        for rename in ready:
            if _tracked(rename.source):
                run_git(".", "mv", rename.source, rename.target)  # GitError (exit 2) when git refuses
            else:
                os.rename(rename.source, rename.target)
            pending.remove(rename)


def _tracked(path: str) -> bool:
    try:
        run_git(os.path.dirname(path) or ".", "ls-files", "--error-unmatch", os.path.basename(path))
    except GitError:
        return False
    return True


def plan_renumber(base: str | None, path: str | None, config: Config) -> list[Renumbering]:
    """Read the migrate repositories (and the base branch); decide which versions move where.

    Every repository that needs it is renumbered (the one --path names, if given).
    """
    specs = [s for s in discover_trees([path] if path else [], config) if s.format == "migrate"]
    if not specs:
        raise RenumberError(f"no migrate repository found{' in ' + path if path else ''}")
    graphs = read_graphs(specs, config, use_cache=False)
    if base:
        from mig_lint.base_branch import load_base_branches

        base_branches = load_base_branches(base, specs, graphs, project_roots(config))
        plans = [renumbering_above(g, base_branches[g.tree.path]) for g in graphs]
    else:
        plans = [renumbering_of_collisions(g) for g in graphs]
    return [plan for plan in plans if needed(plan)]


def needed(plan: Renumbering) -> bool:
    """Whether the plan renames a file, says something, or resolves a conflicted versions.json."""
    listing = plan.graph.tree.versions_json
    return bool(plan.renames or plan.notes or listing and listing.problem and conflicted(listing.path))


def renumber_changes(
    plans: Sequence[Renumbering], config: Config, base_text: BaseText | None = None
) -> tuple[list[FileChange], set[int], list[str]]:
    """The edits of the renumberings (tests, versions.json) as file changes; (without a base
    branch) the old numbers whose test names were left alone because another version keeps
    them; and what the output must say about test names left alone for another reason."""
    renames = [rename for plan in plans for rename in plan.renames]
    kept = {number for plan in plans for number in kept_numbers(plan.graph, plan.renames)}
    targets: dict[int, set[int]] = {}
    for rename in renames:
        targets.setdefault(rename.old, set()).add(rename.new)
    split = {old for old, news in targets.items() if len(news) > 1}
    notes = [f"tests that name version {old} are left as they are: it becomes "
             f"{' or '.join(map(str, sorted(targets[old])))} in different repositories" for old in sorted(split)]
    files = test_files(config)
    changes = plan_changes(test_edits(config, files, [r for r in renames if r.old not in split], kept, base_text))
    for plan in plans:
        listing = versions_json_text(plan.graph, plan.renames)
        if listing is not None and listing[1].encode() != current_bytes(listing[0]):
            changes.append(FileChange(listing[0], current_bytes(listing[0]), listing[1].encode(),
                                      (f"{listing[0]}: {'new numbers' if plan.renames else 'conflict resolved'}",)))
    changes.sort(key=lambda change: change.path)
    return changes, kept - split if files and base_text is None else set(), notes if files else []


def git_base_text(base: str) -> BaseText:
    """A file as the merge-base and the base branch REF have it (neither: an empty list)."""
    from mig_lint.sources.git import GitFiles
    from mig_lint.sources.git import repository_root
    from mig_lint.sources.git import resolve_base

    root = repository_root(".")
    commits = dict.fromkeys(resolve_base(root, base))

    def texts(path: str) -> list[str]:
        found = []
        for commit in commits:
            files = GitFiles(root, commit, [os.path.dirname(os.path.abspath(path))])
            try:
                text = read_text(path, files) if files.isfile(path) else None
            finally:
                files.close()
            if isinstance(text, str):
                found.append(text)
        return found

    return texts
