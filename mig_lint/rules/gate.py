"""ML5xx: a change compared with the branch it will merge into (`check --base REF`)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mig_lint.graph import Graph
from mig_lint.model import Hit
from mig_lint.model import MigrateEntry
from mig_lint.model import Tree
from mig_lint.rules.base import rule
from mig_lint.rules.base import RuleContext

if TYPE_CHECKING:
    from mig_lint.base_branch import BaseBranch


def _merged(ctx: RuleContext) -> tuple[BaseBranch, Graph] | None:
    """The base_branch and its merge-base graph, when the tree existed there."""
    base_branch = ctx.base_branch
    if base_branch is None or base_branch.merge_base is None:
        return None
    return base_branch, base_branch.merge_base


def new_revisions(ctx: RuleContext, base_branch: BaseBranch) -> list[str]:
    """Revisions of this change: in the working tree, neither at the merge-base nor on REF."""
    known = set(base_branch.merge_base.revisions if base_branch.merge_base else ()) | set(
        base_branch.target.revisions if base_branch.target else ()
    )
    return sorted(r for r in ctx.graph.revisions if r not in known)


def _target_head_above(target: Graph, parent: str) -> str | None:
    """REF's head that continues the line `parent` is on (None when `parent` is unknown to REF)."""
    if parent not in target.revisions:
        return None
    heads = [h for h in target.heads if h == parent or parent in target.ancestors(h)]
    return heads[0] if len(heads) == 1 else None


@rule("ML501", "not-on-base-head", "error", formats=("alembic",))
def not_on_base_head(ctx: RuleContext) -> Iterator[Hit]:
    """A new revision whose parent is not the head of the base branch.

    Why: the base branch gained revisions since this change was written (two changes
    took the same parent, as quantum's five heads did); once both merge the history
    forks and `alembic upgrade head` stops.

    Fix: `mig-lint rebase --base REF` sets the `down_revision` (and `Revises:` line) of
    the change's first revision to the head of the base branch, which the message names.

    Example: `main` has `a <- b`, the change adds `c` with `down_revision = 'a'`.
    """
    base_branch = ctx.base_branch
    if base_branch is None or base_branch.target is None:
        return
    new = set(new_revisions(ctx, base_branch))
    for revision_id in sorted(new):
        revision = ctx.graph.revisions[revision_id]
        for parent in revision.down:
            if parent in new or parent in base_branch.target.heads:
                continue
            head = _target_head_above(base_branch.target, parent)
            if head is None:
                continue
            yield Hit(revision.path, revision.down_line,
                      f"{revision_id} follows {parent}, but the head of {base_branch.ref} is {head}: "
                      "after the merge the history forks",
                      hint=f"run `mig-lint rebase --base {base_branch.ref}` (it sets down_revision = {head!r} "
                      f"and Revises: {head})", revision=revision_id)


def new_files(tree: Tree, base_branch: BaseBranch) -> list[MigrateEntry]:
    """A migrate repository's files that neither the merge-base nor the base branch has."""
    known = {e.path for side in (base_branch.merge_base, base_branch.target) if side for e in side.tree.entries}
    return [e for e in tree.entries if e.path not in known]


def branch_numbers(tree: Tree, base_branch: BaseBranch) -> dict[int, int]:
    """The new number of each version of this branch that must move above the base branch's.

    A version is this branch's when it brings a new `.py`, or only new files under a
    number neither side of the base has. From the first such version that the base
    branch uses or has passed, all of them move, in order, above both the base branch's
    latest and every other version of the working tree.
    """
    target = base_branch.target
    if target is None:
        return {}
    added = new_files(tree, base_branch)
    on_base = {e.number for side in (base_branch.merge_base, target) if side for e in side.tree.entries}
    mine = sorted({e.number for e in added if e.kind == "py" or e.number not in on_base})
    latest = max((e.number for e in target.tree.entries), default=0)
    too_low = [n for n in mine if n <= latest]
    moving = [n for n in mine if too_low and n >= too_low[0]]
    moved_files = {e.path for e in added if e.number in moving}
    others = [e.number for e in tree.entries if e.path not in moved_files]
    above = max([latest, *others])
    return {number: above + 1 + offset for offset, number in enumerate(moving)}


@rule("ML502", "number-taken-on-base", "error", formats=("migrate",))
def number_taken_on_base(ctx: RuleContext) -> Iterator[Hit]:
    """A new migrate version that the base branch already uses, or that is not above its latest.

    Why: migrate numbers are taken in order; a number another change merged first makes
    the repository refuse to load (two scripts for one version), and a number below the
    latest is skipped by every database that is already past it.

    Fix: `mig-lint renumber --base REF` moves the change's versions above the base
    branch's latest and the working tree's other versions (their `.sql` scripts,
    versions.json and tests with them), before or after merging REF. The two sides are
    matched by file: the change's own new file is the one reported.

    Example: `main` gained `047_x.py` while the change adds `047_y.py`.
    """
    base_branch = ctx.base_branch
    if base_branch is None or base_branch.target is None:
        return
    target = base_branch.target.tree
    latest = max((e.number for e in target.entries), default=0)
    added = new_files(ctx.tree, base_branch)
    for number, new in branch_numbers(ctx.tree, base_branch).items():
        if number > latest:
            continue
        files = sorted((e for e in added if e.number == number), key=lambda e: (e.kind != "py", e.name))
        taken = sorted(e.name for e in target.entries if e.number == number and e.kind == "py")
        fact = f"{base_branch.ref} has {', '.join(taken)} as version {number}" if taken else (
            f"{base_branch.ref} is already at {latest}: databases past it never run it")
        yield Hit(files[0].path, 1, f"version {number} ({files[0].name}) is new here, but {fact}",
                  hint=f"run `mig-lint renumber --base {base_branch.ref}` (it becomes {new})", revision=str(number))


@rule("ML503", "edited-merged-migration", "error")
def edited_merged_migration(ctx: RuleContext) -> Iterator[Hit]:
    """A migration already on the base branch was changed.

    Why: databases that ran the merged version never run the edited one; the schema of
    an upgraded database then differs from a fresh one. In a migrate repository each file
    is compared by name, and a `.sql` script added to a merged version is an edit too.

    Fix: revert the edit and write a new migration that makes the change.

    Example: adding a column to the `create_table` of a merged revision.
    """
    merged = _merged(ctx)
    if merged is None:
        return
    base_branch, base = merged
    if ctx.tree.format == "migrate":
        yield from _edited_merged_versions(ctx.tree, base_branch, base)
        return
    for revision_id in sorted(base_branch.changed):
        revision = ctx.graph.revisions[revision_id]
        if set(revision.down) != set(base.revisions[revision_id].down):
            continue  # ML505 says more
        yield Hit(revision.path, 1, f"{revision_id} is merged on {base_branch.ref} and was edited here",
                  hint=f"restore it (`git checkout {base_branch.ref} -- {revision.path}`) and add a new migration",
                  revision=revision_id)


def _edited_merged_versions(tree: Tree, base_branch: BaseBranch, base: Graph) -> Iterator[Hit]:
    """A merged file changed, or a file added to a merged version that is not this branch's own."""
    for entry in sorted((e for e in tree.entries if e.path in base_branch.edited), key=lambda e: e.path):
        yield Hit(entry.path, 1, f"{entry.name} (version {entry.number}) is merged on {base_branch.ref} "
                  "and was edited here",
                  hint=f"restore it (`git checkout {base_branch.ref} -- {entry.path}`) and add a new migration",
                  revision=str(entry.number))
    merged = {e.number for e in base.tree.entries}
    mine = branch_numbers(tree, base_branch)
    for entry in new_files(tree, base_branch):
        if entry.number in merged and entry.kind != "py" and entry.number not in mine:
            yield Hit(entry.path, 1, f"{entry.name} is new in version {entry.number}, which is merged on "
                      f"{base_branch.ref}: databases past {entry.number} never run it",
                      hint="move it to a new version", revision=str(entry.number))


@rule("ML504", "removed-merged-migration", "error")
def removed_merged_migration(ctx: RuleContext) -> Iterator[Hit]:
    """A migration on the base branch was deleted.

    Why: databases that ran it keep its changes and its id in the version table; alembic
    then cannot find the database's current revision, and fresh databases miss the change.

    Fix: restore the file; undo its effect with a new migration if needed.

    Example: deleting `versions/1a2b_add_x.py` that is on `main`.
    """
    merged = _merged(ctx)
    if merged is None:
        return
    base_branch, base = merged
    if ctx.tree.format == "migrate":
        for entry in sorted((e for e in base.tree.entries if e.path in base_branch.removed), key=lambda e: e.path):
            yield Hit(entry.path, 1, f"{entry.name} (version {entry.number}) is merged on {base_branch.ref} "
                      "and was removed here",
                      hint=f"restore it: `git checkout {base_branch.ref} -- {entry.path}`", revision=str(entry.number))
        return
    for revision_id in sorted(set(base.revisions) - set(ctx.graph.revisions)):
        path = base.revisions[revision_id].path
        yield Hit(path, 1, f"{revision_id} is merged on {base_branch.ref} and was removed here",
                  hint=f"restore it: `git checkout {base_branch.ref} -- {path}`", revision=revision_id)


@rule("ML505", "reparented-merged-migration", "error", formats=("alembic",))
def reparented_merged_migration(ctx: RuleContext) -> Iterator[Hit]:
    """A merged revision's `down_revision` changed: databases already past it skip migrations.

    Why: a database records only its current revision; re-pointing a merged revision to
    follow a newer one makes databases that already ran it believe the newer one ran too.

    Fix: restore the old `down_revision` and move the new revisions on top instead.

    Example: changing `b`'s `down_revision` from `a` to `c` after `b` merged.
    """
    merged = _merged(ctx)
    if merged is None:
        return
    base_branch, base = merged
    for revision_id in sorted(set(base.revisions) & set(ctx.graph.revisions)):
        before = base.revisions[revision_id].down
        revision = ctx.graph.revisions[revision_id]
        if set(before) != set(revision.down):
            was = ", ".join(before) or "None"
            now = ", ".join(revision.down) or "None"
            yield Hit(revision.path, revision.down_line,
                      f"{revision_id} is merged on {base_branch.ref} with down_revision {was}; here it is {now}",
                      hint="restore its down_revision and move the new revisions on top of it",
                      revision=revision_id)
