"""ML2xx: one script's own header, read without importing it."""
from __future__ import annotations

import re
from collections.abc import Iterator

from mig_lint.model import Assignment
from mig_lint.model import DocField
from mig_lint.model import Hit
from mig_lint.model import Script
from mig_lint.rules.base import script_rule
from mig_lint.sources.alembic import as_ids

_ILLEGAL = frozenset("@-+:")
_MAX_ID = 32
_UNPARSABLE = {"syntax", "binary", "encoding", "unreadable", "symlink-loop"}


@script_rule("ML201", "syntax-error", "error")
def syntax_error(script: Script) -> Iterator[Hit]:
    """The script cannot be compiled or read: a syntax error, an undecodable source, or no regular file.

    Why: alembic and migrate import every script to read it; one that does not import
    stops every command, not only upgrades through it. mig-lint reports it exactly when
    CPython's `compile()` refuses the file (module-level `yield` or `return` included),
    and when the file cannot be read safely: binary content, no access, a symlink loop, a
    named pipe, socket or device (never opened), or more than 10 MiB. An ignore comment
    never hides it.

    Fix: correct the file, or remove it from the versions folder.

    Example: `revision = '1a2b'` followed by `down_revision = (`.
    """
    problem = script.problem
    if problem is not None and problem.kind in _UNPARSABLE:
        detail = f"syntax error: {problem.detail}" if problem.kind == "syntax" else problem.detail
        yield Hit(script.path, problem.line, f"{script.name} {detail}", column=problem.column)


@script_rule("ML202", "missing-identifier", "error", formats=("alembic",))
def missing_identifier(script: Script) -> Iterator[Hit]:
    """A revision script with no `revision` or no `down_revision`.

    Why: alembic reads both from every script in a versions folder; without `revision`
    it refuses to load the folder, without `down_revision` the import fails.

    Fix: add the missing variable (`down_revision = None` for a first revision).

    Example: a script that sets `revision = '1a2b'` and nothing else.
    """
    if script.problem is not None:
        if script.problem.kind == "empty":
            yield Hit(script.path, 1, f"{script.name} is empty: it declares no revision and no down_revision")
        return
    names = {a.name for a in script.assignments}
    if "revision" in names and "down_revision" not in names:
        yield Hit(script.path, script.assignments[0].span.line, f"{script.name} has no down_revision",
                  hint="add down_revision = None for a first revision, or the id it follows")
    elif "down_revision" in names and "revision" not in names:
        doc = script.doc_revision_id
        known = f" ({doc.value!r}, from its Revision ID: line)" if doc and doc.value else ""
        yield Hit(script.path, script.assignments[0].span.line, f"{script.name} has no revision",
                  hint=f"add revision = '<id>'{known}")


@script_rule("ML203", "dynamic-identifier", "error", formats=("alembic",))
def dynamic_identifier(script: Script) -> Iterator[Hit]:
    """A header value that is not a literal and cannot be resolved statically.

    Why: the history must be readable without running code; a value computed by a call,
    an environment variable or a module outside the project can change between runs.
    A simple `module.CONST` is resolved by reading the module when it is in the project.

    Fix: write the literal value, or move the constant into a module inside the project.

    Example: `branch_labels = (get_label(),)`.
    """
    if script.problem is not None:
        return
    for assignment in script.assignments:
        if assignment.dynamic:
            yield Hit(script.path, assignment.span.line,
                      f"{assignment.name} = {assignment.source} cannot be read without running code",
                      hint="write the value as a literal", column=assignment.span.column)


def _doc_ids(value: str) -> tuple[str, ...]:
    return tuple(v for v in re.split(r"[\s,]+", value) if v and v != "None")


@script_rule("ML204", "stale-docstring-id", "warning", formats=("alembic",))
def stale_docstring_id(script: Script) -> Iterator[Hit]:
    """The docstring's `Revision ID:` differs from `revision`.

    Why: people and tools (grep, review, `alembic history` readers) trust the header
    text; a copied script often keeps the old id there. alembic uses the variable.
    A `# Revision ID:` comment line, which some projects write instead of the header
    string, is checked the same way.

    Fix: make the `Revision ID:` line equal to the `revision` variable.

    Example: `Revision ID: 1a2b` above `revision = '3c4d'`.
    """
    stale = stale_revision_id(script) if script.problem is None else None
    if stale is not None:
        doc, revision = stale
        yield Hit(script.path, doc.span.line, f"Revision ID: {doc.value} differs from revision = {revision!r}",
                  hint=f"write Revision ID: {revision} (`mig-lint fix` does)", revision=revision,
                  column=doc.span.column)


def stale_revision_id(script: Script) -> tuple[DocField, str] | None:
    """The `Revision ID:` field and the id it should say, when the two differ."""
    revision = script.assignment("revision")
    doc = script.doc_revision_id
    if doc is None or revision is None or revision.dynamic or not isinstance(revision.value, str):
        return None
    return (doc, revision.value) if doc.value != revision.value else None


def stale_revises(script: Script) -> tuple[DocField, tuple[str, ...]] | None:
    """The `Revises:` field and the ids it should list, when the two differ."""
    down = script.assignment("down_revision")
    doc = script.doc_revises
    if doc is None or down is None or down.dynamic:
        return None
    declared = tuple(i for i in as_ids(down.value) if i)
    return (doc, declared) if sorted(_doc_ids(doc.value)) != sorted(declared) else None


@script_rule("ML205", "stale-docstring-revises", "warning", formats=("alembic",))
def stale_docstring_revises(script: Script) -> Iterator[Hit]:
    """The docstring's `Revises:` differs from `down_revision`.

    Why: after a rebase the variable is changed and the text is forgotten; reviewers
    then read a parent that the history no longer has. A `# Revises:` comment line is
    checked the same way.

    Fix: make the `Revises:` line list the ids of `down_revision`, comma-separated.

    Example: `Revises: 1a2b` above `down_revision = '3c4d'`.
    """
    stale = stale_revises(script) if script.problem is None else None
    if stale is not None:
        doc, declared = stale
        down = script.assignment("down_revision")
        revision = script.assignment("revision")
        yield Hit(script.path, doc.span.line,
                  f"Revises: {doc.value or '(empty)'} differs from down_revision = {down.source if down else ''}",
                  hint=f"write Revises: {', '.join(declared)} (`mig-lint fix` does)",
                  revision=str(revision.value) if revision and not revision.dynamic else None,
                  column=doc.span.column)


def _id_problem(value: object) -> str | None:
    if not isinstance(value, str):
        kind = type(value).__name__
        return f"is {'an' if kind[0] in 'aeiou' else 'a'} {kind}, not a string"
    if value == "":
        return "is empty"
    bad = sorted(set(value) & _ILLEGAL)
    if bad:
        return f"contains {' '.join(bad)}, which alembic reserves for revision arithmetic"
    return None


def _checked_values(assignment: Assignment) -> Iterator[object]:
    if assignment.name == "revision":
        yield assignment.value
    elif isinstance(assignment.value, (tuple, list)):
        yield from assignment.value
    elif assignment.value is not None:
        yield assignment.value


@script_rule("ML206", "invalid-revision-id", "error", formats=("alembic",))
def invalid_revision_id(script: Script) -> Iterator[Hit]:
    """A revision id that is empty, not a string, or contains `@ - + :`.

    Why: alembic parses `@`, `-`, `+` and `:` in revision arguments (`head-1`,
    `branch@head`), refuses such ids, and fails on non-string ids; an empty
    `down_revision = ''` is not a base but a parent that does not exist.

    Fix: use a plain string id; write `down_revision = None` for a base.

    Example: `revision = 123` or `down_revision = ''`.
    """
    if script.problem is not None:
        return
    for name in ("revision", "down_revision"):
        assignment = script.assignment(name)
        if assignment is None or assignment.dynamic:
            continue
        for value in _checked_values(assignment):
            problem = _id_problem(value)
            if problem:
                yield Hit(script.path, assignment.span.line, f"{name} {value!r} {problem}",
                          hint="use a plain string id (None for a base)", column=assignment.span.column)


@script_rule("ML207", "revision-id-too-long", "error", formats=("alembic",))
def revision_id_too_long(script: Script) -> Iterator[Hit]:
    """A revision id longer than the 32 characters of `alembic_version.version_num`.

    Why: alembic creates `version_num VARCHAR(32)`; stamping a longer id fails on
    PostgreSQL and MySQL (and is silently truncated on some setups), after the
    migration itself has run.

    Fix: shorten the id to 32 characters or fewer, and update the revisions that name it.

    Example: `revision = '2024_01_15_add_the_customer_loyalty_table'`.
    """
    revision = script.assignment("revision") if script.problem is None else None
    if revision is not None and isinstance(revision.value, str) and len(revision.value) > _MAX_ID:
        yield Hit(script.path, revision.span.line,
                  f"revision {revision.value!r} has {len(revision.value)} characters; alembic_version holds 32",
                  hint="shorten the id", revision=revision.value, column=revision.span.column)


@script_rule("ML208", "unexpected-script", "warning", formats=("alembic",))
def unexpected_script(script: Script) -> Iterator[Hit]:
    """A file alembic loads as a revision by surprise, or a `.py` that is no revision.

    Why: alembic imports every `*.py` of a versions folder except `__init__*` and `.#*`,
    so `_helpers.py` or an editor's `.x.py` is loaded as a revision, and a helper module
    without `revision` makes alembic refuse the whole folder.

    Fix: move helpers out of the versions folder; delete editor and backup copies.

    Example: `versions/_common.py` with shared functions.
    """
    if script.name.startswith(("_", ".")):
        yield Hit(script.path, 1, f"alembic loads {script.name} as a revision script",
                  hint="move it out of the versions folder")
    elif script.problem is None and not {a.name for a in script.assignments} & {"revision", "down_revision"}:
        yield Hit(script.path, 1,
                  f"{script.name} is in a versions folder but declares no revision: alembic refuses to load it",
                  hint="move it out of the versions folder")
