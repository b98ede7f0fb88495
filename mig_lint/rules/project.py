"""ML4xx: facts that need the project around a tree: handoffs, tests, folders."""
from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator

from mig_lint.config import Config
from mig_lint.config import Handoff
from mig_lint.graph import Graph
from mig_lint.heads import head_files
from mig_lint.heads import head_files_in_use
from mig_lint.model import Hit
from mig_lint.rules.base import rule
from mig_lint.rules.base import RuleContext
from mig_lint.sources.files import line_of
from mig_lint.sources.files import read_text
from mig_lint.sources.paths import display_path


def _tree_at(ctx: RuleContext, path: str, fmt: str) -> Graph | None:
    wanted = os.path.realpath(os.path.join(ctx.config.root, path))
    for graph in ctx.project:
        if graph.tree.format == fmt and os.path.realpath(graph.tree.path) == wanted:
            return graph
    return None


def _config_line(source: str, needle: str) -> int:
    text = read_text(source)
    return line_of(text, re.escape(needle)) if isinstance(text, str) else 1


def _handoff_problems(ctx: RuleContext, handoff: Handoff) -> Iterator[str]:
    migrate = _tree_at(ctx, handoff.migrate, "migrate")
    alembic = _tree_at(ctx, handoff.alembic, "alembic")
    if migrate is None:
        yield f"handoff migrate = {handoff.migrate!r} is not a migrate repository"
    else:
        numbers = sorted(int(r) for r in migrate.revisions)
        latest = numbers[-1] if numbers else None
        if handoff.version not in numbers:
            yield f"handoff version {handoff.version} is not a version of {migrate.tree.path} (latest is {latest})"
        elif latest is not None and latest > handoff.version:
            later = [n for n in numbers if n > handoff.version]
            which = f"version {later[0]} never runs" if len(later) == 1 else \
                f"versions {', '.join(map(str, later))} never run"
            yield f"migrate grew past the handoff at {handoff.version}: {which} once databases move to alembic"
    if alembic is None:
        yield f"handoff alembic = {handoff.alembic!r} is not an alembic script location"
    elif handoff.revision not in alembic.revisions:
        yield f"handoff revision {handoff.revision!r} is not a revision of {alembic.tree.path}"


@rule("ML401", "broken-handoff", "error")
def broken_handoff(ctx: RuleContext) -> Iterator[Hit]:
    """A migrate -> alembic handoff in the configuration that does not join.

    Why: a project that moved from migrate to alembic stamps databases at the last
    migrate version with the first alembic revision; if the version or revision does not
    exist, or migrate gained versions after the handoff, databases skip migrations.

    Fix: point `[[tool.mig-lint.handoff]]` at the real version and revision, and move
    any migrate version added after the handoff into the alembic history.

    Example: `version = 422` while the migrate repository ends at 423.
    """
    source = ctx.config.source
    if source is None or not ctx.project or ctx.graph is not ctx.project[0]:
        return
    for handoff in ctx.config.handoff:
        for message in _handoff_problems(ctx, handoff):
            yield Hit(display_path(source), _config_line(source, "handoff"), message,
                      hint="fix the handoff in the configuration")


@rule("ML402", "stale-head-file", "error")
def stale_head_file(ctx: RuleContext) -> Iterator[Hit]:
    """A head file missing, in conflict, or not naming the head (once head files are in use).

    Why: a head file (`versions/HEAD`, or `versions/EXPAND_HEAD` per declared label)
    turns two changes that add revisions on the same head into a git merge conflict; a
    stale one no longer conflicts, and a conflicted one means the history forked.

    Fix: inside the stopped merge or rebase, run `mig-lint fix`: it puts one change's
    revisions on top of the other's and rewrites the head file (`mig-lint heads --write`
    rewrites only the head file).
    Head files are checked when `head-file` is configured or a head file exists.

    Example: `versions/HEAD` says `1a2b` while the head is `3c4d`.
    """
    if not head_files_in_use(ctx.graph, ctx.config):
        return
    for head in head_files(ctx.graph, ctx.config):
        if head.conflicted:
            yield Hit(head.path, 1, f"{head.path} has merge conflict markers: two changes added revisions to "
                      f"{head.chain}", hint="run `mig-lint fix` in the stopped merge or rebase")
        elif head.expected is not None and head.actual is None:
            yield Hit(head.path, 1, f"{head.path} is missing: it should name {head.expected}",
                      hint="run `mig-lint heads --write`", revision=head.expected)
        elif head.expected is not None and head.actual != head.expected:
            yield Hit(head.path, 1, f"{head.path} names {head.actual}, but the head of {head.chain} is {head.expected}",
                      hint="run `mig-lint heads --write`", revision=head.expected)


def _test_text(config: Config) -> str:
    assert config.tests is not None
    texts = []
    for pattern in config.tests.paths:
        for path in sorted(glob.glob(os.path.join(config.root, pattern), recursive=True)):
            text = read_text(path)
            if isinstance(text, str):
                texts.append(text)
    return "\n".join(texts)


@rule("ML403", "migration-without-test", "warning", opt_in=True)
def migration_without_test(ctx: RuleContext) -> Iterator[Hit]:
    """A migration that no test names (opt-in through `[tool.mig-lint.tests]`).

    Why: a migration that is never exercised against data is found slow or wrong on a
    deployment; nova asks for a `_check_NNN` test of each data migration.

    Fix: add a test named by a configured pattern, e.g. `_check_216`. `pattern` may be a
    list (`["_check_{version}", "_pre_upgrade_{version}"]`): any one of them counts.

    Example: `pattern = "_check_{version}"` and no `_check_216` in the test files.
    """
    tests = ctx.config.tests
    if tests is None:
        return
    text = _test_text(ctx.config)
    for revision in ctx.graph.revisions.values():
        versions = {revision.id, revision.id.zfill(3)} if ctx.tree.format == "migrate" else {revision.id}
        names = sorted({p.format(version=v) for p in tests.patterns for v in versions})
        if not any(name in text for name in names):
            yield Hit(revision.path, revision.line,
                      f"no test names {revision.id} ({' or '.join(names)} is in none of {', '.join(tests.paths)})",
                      hint=f"add a test {names[0]}", revision=revision.id)


@rule("ML404", "label-placement", "warning", formats=("alembic",), opt_in=True)
def label_placement(ctx: RuleContext) -> Iterator[Hit]:
    """A script in a folder named after a branch label that belongs to another label (opt-in).

    Why: projects such as neutron keep `expand/` and `contract/` folders; a contract
    revision filed under `expand/` is reviewed and deployed as the wrong kind of change.

    Fix: move the file to the folder of its label, or fix its `down_revision`.

    Example: `versions/expand/1a2b.py` whose history carries the label `contract`.
    """
    graph = ctx.graph
    labels = set(ctx.config.chain_labels(graph.labels))
    for revision in graph.revisions.values():
        folders = set(revision.path.split("/")[:-1]) & labels
        carried = graph.revision_labels.get(revision.id, frozenset()) & labels
        for folder in sorted(folders):
            if carried and folder not in carried:
                yield Hit(revision.path, revision.labels_line,
                          f"{revision.id} is in folder {folder!r} but belongs to {', '.join(sorted(carried))}",
                          hint=f"move it to the {sorted(carried)[0]!r} folder", revision=revision.id)
