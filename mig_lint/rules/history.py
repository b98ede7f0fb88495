"""ML1xx: the shape of the history graph."""
from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from collections.abc import Sequence

from mig_lint.graph import chains
from mig_lint.graph import Graph
from mig_lint.model import Hit
from mig_lint.rules.base import rule
from mig_lint.rules.base import RuleContext


def _chain_name(key: tuple[str, ...]) -> str:
    return f"branch {'+'.join(key)!r}" if key else "the history"


def _where(graph: Graph, ids: Sequence[str]) -> str:
    return ", ".join(f"{i} ({graph.revisions[i].path})" for i in ids)


@rule("ML101", "multiple-heads", "error")
def multiple_heads(ctx: RuleContext) -> Iterator[Hit]:
    """More than one head in a chain that must be linear.

    Why: `alembic upgrade head` refuses to run ("Multiple head revisions are present"),
    and the two heads were written without knowing of each other, so their order on a
    real database is undefined. Heads are counted on the `down_revision` graph, as
    `alembic upgrade head` counts them; each branch label the scripts declare is its
    own chain (`branch-labels` in the configuration overrides which ones are).

    Fix: point the newer revision's `down_revision` at the other head (and its
    `Revises:` line), or merge with `alembic merge` and list the merge in `allow-merges`.

    Example: `b.py` and `c.py` both say `down_revision = 'a'`.
    """
    graph = ctx.graph
    for key, (heads, _bases) in chains(graph, ctx.config.chain_labels(graph.labels)).items():
        if len(heads) < 2:
            continue
        for head in heads:
            revision = graph.revisions[head]
            yield Hit(
                revision.path,
                revision.line,
                f"{head} is one of {len(heads)} heads of {_chain_name(key)} ({', '.join(heads)}): "
                f"`alembic upgrade head` fails",
                hint=_heads_hint(graph, head, heads, _on_base(ctx), _base_ref(ctx)),
                revision=head,
            )


def _heads_hint(graph: Graph, head: str, heads: Sequence[str], on_base: frozenset[str], ref: str) -> str:
    """Re-point onto another head only where both carry the same branch labels, never across labels.

    The hint moves this head's whole branch (down to the fork), or with `--base` the other
    head's when this one is already on the base branch.
    """
    labels = graph.revision_labels.get(head, frozenset())
    same = [h for h in heads if h != head and graph.revision_labels.get(h, frozenset()) == labels]
    if not same:
        return ("the heads carry different branch labels: merge them (`alembic merge`) and allow the merge, "
                "or give each chain a branch label of its own")
    mover, onto = head, same[0]
    other = next((h for h in same if not set(_branch(graph, h)) & on_base), None)
    if other is not None and set(_branch(graph, head)) & on_base:
        mover, onto = other, head
    branch = _branch(graph, mover)
    what = "one revision" if len(branch) == 1 else "its branch"
    return (f"set one head's down_revision to the other (`mig-lint rebase {' '.join(branch)} --onto {onto}` "
            f"moves {what}, `mig-lint fix --base {ref}` a whole branch), or merge them and allow the merge")


def _branch(graph: Graph, head: str) -> list[str]:
    """`head` and the revisions below it down to the fork (bottom first): the chain that moves with it."""
    branch = [head]
    while len(graph.parents[branch[-1]]) == 1:
        parent = graph.parents[branch[-1]][0]
        if len(graph.children[parent]) != 1:
            break
        branch.append(parent)
    return branch[::-1]


def _base_ref(ctx: RuleContext) -> str:
    """The base branch of `check --base`, for a hint to name; `<branch>` without one."""
    return ctx.base_branch.ref if ctx.base_branch is not None else "<branch>"


def _on_base(ctx: RuleContext) -> frozenset[str]:
    """The revisions the base branch (or the merge-base) has, with `--base`."""
    base_branch = ctx.base_branch
    if base_branch is None:
        return frozenset()
    return frozenset(r for g in (base_branch.merge_base, base_branch.target) if g is not None for r in g.revisions)


@rule("ML102", "multiple-bases", "error")
def multiple_bases(ctx: RuleContext) -> Iterator[Hit]:
    """More than one base in a chain.

    Why: a chain with two roots is two histories; `alembic upgrade head` may create the
    same tables twice or in an undefined order, and `downgrade base` stops at either root.

    Fix: give the newer root a `down_revision` (the head it was meant to follow), or
    declare separate chains with `branch_labels` in the scripts.

    Example: `a.py` and `x.py` both say `down_revision = None`.
    """
    graph = ctx.graph
    for key, (_heads, bases) in chains(graph, ctx.config.chain_labels(graph.labels)).items():
        if len(bases) < 2:
            continue
        for base in bases:
            revision = graph.revisions[base]
            yield Hit(
                revision.path,
                revision.down_line,
                f"{base} is one of {len(bases)} bases of {_chain_name(key)} ({', '.join(bases)})",
                hint="give the newer base a down_revision, or give each chain its own branch_labels",
                revision=base,
            )


def closed_by_allowed_merge(graph: Graph, point: str, allowed: set[str]) -> bool:
    """True when all branches from the fork meet again in an allowed merge."""
    children = graph.children[point]
    for merge in allowed & set(graph.revisions):
        if all(child == merge or merge in graph.descendants(child) for child in children):
            return True
    return False


def splits_into_labels(graph: Graph, point: str, declared: Sequence[str]) -> bool:
    """True when every child of the fork starts a chain of its own declared label."""
    wanted = set(declared)
    keys = []
    for child in graph.children[point]:
        key = graph.revision_labels.get(child, frozenset()) & wanted
        if not key:
            return False
        keys.append(key)
    return all(a.isdisjoint(b) for i, a in enumerate(keys) for b in keys[i + 1:])


@rule("ML103", "branch-point", "error")
def branch_point(ctx: RuleContext) -> Iterator[Hit]:
    """A revision with more than one child.

    Why: two revisions that name the same parent fork the history. Unless the fork is a
    declared branch (its children start chains of their own branch labels), is closed
    by an allowed merge or was accepted by `check --add-baseline` (`allow-forks`), one
    side was written without knowing of the other.

    Fix: move one child (and the revisions above it) on top of the other side's head.

    Example: `b.py` and `c.py` both say `down_revision = 'a'`; `a` is the branch point.
    """
    graph = ctx.graph
    allowed = set(ctx.config.merges_allowed)
    for point in graph.branch_points:
        if point in ctx.config.baseline.allow_forks:
            continue
        if splits_into_labels(graph, point, ctx.config.chain_labels(graph.labels)):
            continue
        if closed_by_allowed_merge(graph, point, allowed):
            continue
        revision = graph.revisions[point]
        children = graph.children[point]
        yield Hit(
            revision.path,
            revision.line,
            f"{point} has {len(children)} children: {_where(graph, children)}",
            hint=f"rebase all but one child onto the head of the other branch (`mig-lint fix --base {_base_ref(ctx)}` "
            "does)",
            revision=point,
        )


@rule("ML104", "merge-revision", "error")
def merge_revision(ctx: RuleContext) -> Iterator[Hit]:
    """A revision with several parents, unless listed in `allow-merges` (or the baseline's).

    Why: a merge revision records that two branches were applied in an undefined order;
    databases that already ran one side run the other afterwards, so the two sides must
    be independent. Projects that keep histories linear forbid them.

    Fix: instead of merging, rebase one branch on top of the other and delete the merge;
    or, when the merge is intended, add its id to `allow-merges`.

    Example: `down_revision = ('b', 'c')`.
    """
    graph = ctx.graph
    for point in graph.merge_points:
        if point in ctx.config.merges_allowed:
            continue
        revision = graph.revisions[point]
        yield Hit(
            revision.path,
            revision.down_line,
            f"{point} merges {', '.join(revision.down)}",
            hint=f"rebase one branch onto the other, or add {point!r} to allow-merges",
            revision=point,
        )


@rule("ML105", "cycle", "error")
def cycle(ctx: RuleContext) -> Iterator[Hit]:
    """A cycle or self-loop through `down_revision` or `depends_on`.

    Why: alembic cannot order a cycle and refuses to load the whole directory
    ("Cycle is detected in revisions"), so no command works.

    Fix: find the revision whose `down_revision` (or `depends_on`) points back up the
    history and point it at the revision it really follows.

    Example: `a.py` says `down_revision = 'b'` and `b.py` says `down_revision = 'a'`.
    """
    graph = ctx.graph
    for members in graph.cycles:
        first = graph.revisions[members[0]]
        shape = "refers to itself" if len(members) == 1 else f"cycle {' -> '.join(members)} -> {members[0]}"
        yield Hit(
            first.path,
            first.down_line,
            f"{members[0]} {shape}" if len(members) == 1 else shape,
            hint="point the offending down_revision at the revision it really follows",
            revision=members[0],
        )


def _missing_hint(graph: Graph, name: str, own: str, field: str = "down_revision") -> str:
    candidates = [i for i in graph.revisions if i != own]
    prefix = [i for i in candidates if i.startswith(name) or name.startswith(i)]
    if prefix:
        return f"did you mean {prefix[0]!r}? (ids must be written in full)"
    near = difflib.get_close_matches(name, candidates, n=1)
    if near:
        return f"did you mean {near[0]!r}?"
    for revision in graph.revisions.values():
        if name in os.path.basename(revision.path):
            return f"{revision.path} has {name!r} in its file name but declares revision {revision.id!r}"
    return f"it may have been deleted or renamed; point {field} at an existing revision"


@rule("ML106", "missing-parent", "error")
def missing_parent(ctx: RuleContext) -> Iterator[Hit]:
    """`down_revision` names no revision of the tree.

    Why: alembic warns and then fails to build the revision map; every command stops.

    Fix: correct the id (the hint names a near match, an id this one is a prefix of, or
    a file whose name carries it), or restore the deleted parent.

    Example: `down_revision = '1a2b'` where the parent is `1a2b3c4d5e6f`.
    """
    graph = ctx.graph
    for revision, name in graph.missing_parents:
        if name == "":
            continue  # ML206 reports an empty down_revision
        yield Hit(
            revision.path,
            revision.down_line,
            f"{revision.id}'s down_revision {name!r} is not a revision of {graph.tree.path}",
            hint=_missing_hint(graph, name, revision.id),
            revision=revision.id,
        )


@rule("ML107", "missing-dependency", "error")
def missing_dependency(ctx: RuleContext) -> Iterator[Hit]:
    """`depends_on` names no revision and no branch label.

    Why: alembic cannot resolve the dependency and fails to load the history.

    Fix: name an existing revision id or branch label, or drop the dependency.

    Example: `depends_on = 'feature_x'` with no revision labelled `feature_x`.
    """
    graph = ctx.graph
    for revision, name in graph.missing_dependencies:
        yield Hit(
            revision.path,
            revision.depends_line,
            f"{revision.id}'s depends_on {name!r} is neither a revision nor a branch label",
            hint=_missing_hint(graph, name, revision.id, "depends_on"),
            revision=revision.id,
        )


@rule("ML108", "duplicate-revision", "error")
def duplicate_revision(ctx: RuleContext) -> Iterator[Hit]:
    """One revision id in two files.

    Why: alembic keeps whichever file it reads last and only warns; the other script
    never runs, and which one wins depends on file names.

    Fix: give the copy a fresh id (`python -c "import uuid; print(uuid.uuid4().hex[-12:])"`)
    and update its `Revision ID:` line and any revision that should follow it.

    Example: `1a2b_add_x.py` and `1a2b_add_y.py` both say `revision = '1a2b'`.
    """
    for identifier, copies in ctx.graph.duplicates:
        first = copies[0]
        for copy in copies[1:]:
            yield Hit(
                copy.path,
                copy.line,
                f"revision {identifier!r} is declared again (first in {first.path})",
                hint="give one of the two a new revision id",
                revision=identifier,
            )


@rule("ML109", "effective-head", "warning")
def effective_head(ctx: RuleContext) -> Iterator[Hit]:
    """A leaf hidden only by `depends_on`: `upgrade heads` passes, `upgrade head` fails.

    Why: alembic's `heads` target follows `depends_on`, so it sees one head, while the
    `head` target counts `down_revision` only and sees two; deployments that run
    `alembic upgrade head` stop.

    Fix: make the dependent revision's `down_revision` the hidden head (a real parent),
    or give each chain its own branch label and upgrade each label.

    Example: `c.py` says `down_revision = 'a'`, `depends_on = 'b'`, and `b` has no child.
    """
    graph = ctx.graph
    by_chain = chains(graph, ctx.config.chain_labels(graph.labels))
    lonely = {h for heads, _ in by_chain.values() if len(heads) == 1 for h in heads}
    for head in graph.heads:
        if not graph.dependents[head] or (ctx.config.chain_labels(graph.labels) and head in lonely):
            continue
        revision = graph.revisions[head]
        yield Hit(
            revision.path,
            revision.line,
            f"{head} is a head only hidden by depends_on of {', '.join(graph.dependents[head])}: "
            "`alembic upgrade heads` works and `alembic upgrade head` fails",
            hint=f"make {graph.dependents[head][0]} follow {head} through down_revision",
            revision=head,
        )


@rule("ML110", "label-conflict", "error")
def label_conflict(ctx: RuleContext) -> Iterator[Hit]:
    """A branch label reused, equal to a revision id, or named as a `down_revision`.

    Why: alembic refuses a label used twice or equal to an id ("Branch name ... already
    used"), and a label named in `down_revision` silently resolves to whichever
    revision carries it, which changes when the label moves.

    Fix: rename the label, or name the revision id in `down_revision`.

    Example: two revisions with `branch_labels = ('expand',)`.
    """
    graph = ctx.graph
    for label, owners in sorted(graph.labels.items()):
        for owner in owners[1:]:
            revision = graph.revisions[owner]
            yield Hit(revision.path, revision.labels_line,
                      f"branch label {label!r} of {owner} is already used by {owners[0]}",
                      hint="give each branch its own label", revision=owner)
        if label in graph.revisions:
            revision = graph.revisions[owners[0]]
            yield Hit(revision.path, revision.labels_line,
                      f"branch label {label!r} of {owners[0]} is also a revision id",
                      hint="rename the label", revision=owners[0])
    for revision in graph.revisions.values():
        for name in revision.down:
            if name not in graph.revisions and name in graph.labels:
                yield Hit(revision.path, revision.down_line,
                          f"{revision.id}'s down_revision names branch label {name!r}, not a revision",
                          hint=f"write the revision id {graph.labels[name][0]!r} instead", revision=revision.id)


@rule("ML111", "unread-revision-scripts", "warning", formats=("alembic",))
def unread_revision_scripts(ctx: RuleContext) -> Iterator[Hit]:
    """Revision scripts below a versions folder that the tree's alembic configuration does not name.

    Why: projects select release or label subfolders (`versions/<release>/expand/`) or one
    of several histories (`versions/sqlite/`) in code, so alembic.ini alone names none of
    them. mig-lint reads the subfolders whose scripts join the history (or form one of
    their own where the versions folder holds none), and says so; scripts that join
    nothing are not read, so their forks and stale headers go unseen.

    Fix: name the folders in `[[tool.mig-lint.trees]]` (`version-locations`, globs
    allowed) as the project's code names them for alembic, or move the scripts.

    Example: `versions/liberty/expand/1a2b.py` says `down_revision = 'kilo'` of
    `versions/kilo.py`, and alembic.ini has no `version_locations`.
    """
    tree = ctx.tree
    if tree.unnamed_locations:
        folders = [_below(tree.path, folder) for folder in tree.unnamed_locations]
        paths = sorted(r.path for r in ctx.graph.revisions.values()
                       if os.path.dirname(r.path) in tree.unnamed_locations)
        own = len(paths) == len(ctx.graph.revisions)
        yield Hit(paths[0] if paths else tree.path, 1,
                  f"{_scripts(len(paths))} in {_listed(folders)} not named by "
                  f"{tree.configured_by or 'any configuration'}, read since "
                  f"{'they hold a history of their own' if own else 'they join the history'}",
                  hint=_trees_recipe(tree.path, tree.version_locations))
    if tree.unread_scripts:
        folders = sorted({_below(tree.path, os.path.dirname(p)) for p in tree.unread_scripts})
        yield Hit(tree.unread_scripts[0], 1,
                  f"{_scripts(len(tree.unread_scripts))} in {_listed(folders)} not read: no configuration "
                  f"names them and they do not join the history of {tree.path}",
                  hint="name them in a tree of their own ([[tool.mig-lint.trees]] with path and version-locations), "
                  "or add them to `exclude` if they are not migrations")


def _scripts(count: int) -> str:
    return f"{count} revision script" + ("" if count == 1 else "s")


def _below(root: str, folder: str) -> str:
    return folder[len(root) + 1:] if folder.startswith(root + "/") else folder


def _listed(folders: Sequence[str]) -> str:
    shown = ", ".join(folders[:3])
    return shown + (f" and {len(folders) - 3} more folders" if len(folders) > 3 else "")


def _trees_recipe(root: str, locations: Sequence[str]) -> str:
    """The `[[tool.mig-lint.trees]]` table that names every folder read, with globs where one covers several."""
    relative = [_below(root, v) if v != root else "." for v in locations]
    patterns: list[str] = []
    for folder in relative:
        parts = folder.split("/")
        pattern = "/".join([parts[0], "*", parts[-1]]) if len(parts) == 3 else folder
        if pattern not in patterns:
            patterns.append(pattern)
    listed = ", ".join(f'"{p}"' for p in patterns)
    return f'name them in pyproject.toml: [[tool.mig-lint.trees]] path = "{root}" version-locations = [{listed}]'
