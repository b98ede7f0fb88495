"""The records passed between the stages: what was read, and what was found."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Literal

# Records are frozen, and slotted where Python (3.10+) allows it.
SLOTS: dict[str, Any] = {"slots": True} if sys.version_info >= (3, 10) else {}

Format = Literal["alembic", "migrate"]
Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
InlineIgnores = tuple[tuple[int, frozenset[str]], ...]
# alembic's own default (script/base.py `_default_file_template`), as alembic.ini's `%%` reads.
DEFAULT_FILE_TEMPLATE = "%(rev)s_%(slug)s"


@dataclass(frozen=True, **SLOTS)
class Span:
    """Where a piece of source text is: 1-based line and column, and str offsets."""

    line: int
    column: int
    start: int
    end: int


@dataclass(frozen=True, **SLOTS)
class Assignment:
    """One module-level `name = value` of a revision header.

    `value` is the literal value; `dynamic` is set when the expression is not a
    literal and could not be resolved statically (then `value` is None).
    """

    name: str
    value: object
    span: Span
    source: str
    dynamic: bool = False


@dataclass(frozen=True, **SLOTS)
class DocField:
    """A `Revision ID:` or `Revises:` line of the header string."""

    value: str
    span: Span


@dataclass(frozen=True, **SLOTS)
class Problem:
    """Why a file could not be read as a script.

    kind: unreadable, binary, encoding, empty, syntax, symlink-loop.
    """

    kind: str
    detail: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True, **SLOTS)
class ModuleImport:
    """A module-level `import` statement: the dotted names it binds (`a.b` or `a.b.name`)."""

    names: tuple[str, ...]
    line: int
    column: int = 1


@dataclass(frozen=True, **SLOTS)
class LiveUse:
    """Code in `upgrade()` / `downgrade()` (or a function they call) that needs a live connection.

    `what` is the construct as written (`sa.inspect(bind)`, `autoload_with=`), `function`
    the function it is in.
    """

    what: str
    function: str
    line: int
    column: int = 1


@dataclass(frozen=True, **SLOTS)
class Script:
    """A file in a versions folder, as read (never imported)."""

    path: str
    name: str
    assignments: tuple[Assignment, ...] = ()
    doc_revision_id: DocField | None = None
    doc_revises: DocField | None = None
    functions: frozenset[str] = frozenset()
    problem: Problem | None = None
    ignores: InlineIgnores = ()
    digest: str = ""  # git's blob id of the file, "" when it could not be read
    reads_other_files: bool = False  # a header value was looked up in another module
    imports: tuple[ModuleImport, ...] = ()  # alembic scripts: module-level absolute imports (ML211)
    live_uses: tuple[LiveUse, ...] = ()  # alembic scripts: code needing a live connection (ML212)

    def assignment(self, name: str) -> Assignment | None:
        """The last module-level assignment to `name` (the one Python keeps)."""
        found = None
        for assignment in self.assignments:
            if assignment.name == name:
                found = assignment
        return found


@dataclass(frozen=True, **SLOTS)
class Revision:
    """A node of the history: an alembic revision or a migrate version."""

    id: str
    path: str
    line: int
    down: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    down_line: int = 1
    depends_line: int = 1
    labels_line: int = 1


@dataclass(frozen=True, **SLOTS)
class MigrateEntry:
    """A numbered name in a migrate versions folder.

    kind: py, sql, dir (a folder), other (any other file).
    """

    name: str
    path: str
    number: int
    digits: str
    kind: str
    dialect: str | None = None
    operation: str | None = None


@dataclass(frozen=True, **SLOTS)
class MigrateConfig:
    """`migrate.cfg` [db_settings], or why it could not be read."""

    repository_id: str | None = None
    version_table: str = "migrate_version"
    use_timestamp_numbering: bool = False
    problem: str | None = None
    line: int = 1


@dataclass(frozen=True, **SLOTS)
class VersionsJson:
    """`versions.json`: (version, file names, line) entries, or why it is unusable."""

    path: str
    versions: tuple[tuple[str, tuple[str, ...], int], ...] = ()
    problem: str | None = None
    line: int = 1


@dataclass(frozen=True, **SLOTS)
class TreeSpec:
    """Where a tree is and how to read it.

    `unnamed` are folders below the versions folder that no configuration names but
    whose scripts join this history, so they are read too; `unread` are the scripts
    below it that join neither this history nor one of their own, and are not read.
    `configured_by` says what named the tree (the ini and its section, pyproject.toml,
    mig-lint's `trees`, or the env.py and versions/ layout).
    """

    root: str
    format: Format
    version_locations: tuple[str, ...]
    recursive: bool = False
    unnamed: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()
    configured_by: str = ""
    file_template: str = DEFAULT_FILE_TEMPLATE


@dataclass(frozen=True, **SLOTS)
class Hit:
    """What a rule found, before the rule's code and severity are attached.

    `subject` is what a per-script hit names for its rule to judge against the tree
    (ML211: the imported names, kept with the script's record in the cache).
    """

    path: str
    line: int
    message: str
    hint: str | None = None
    revision: str | None = None
    column: int = 1
    subject: tuple[str, ...] = ()


@dataclass(frozen=True, **SLOTS)
class Tree:
    """One migration history: an alembic script location or a migrate repository.

    `script_hits` holds the per-script rules' hits (by code) and `ignores` the inline
    ignores (by path), computed as each script was read or recalled with its record
    from the cache, so that a warm run need not rebuild every script. A tree read
    without a `ScriptCache` (the gate's base branch, `convert`) leaves both empty.
    """

    path: str
    format: Format
    version_locations: tuple[str, ...]
    scripts: Sequence[Script] = ()
    revisions: tuple[Revision, ...] = ()
    entries: tuple[MigrateEntry, ...] = ()
    short_numbered: tuple[str, ...] = ()
    migrate_config: MigrateConfig | None = None
    versions_json: VersionsJson | None = None
    old_format: bool = False
    digests: tuple[tuple[str, str], ...] = ()  # (path, git blob id, or why the file has none) of each script
    script_hits: tuple[tuple[str, Hit], ...] = ()
    ignores: tuple[tuple[str, InlineIgnores], ...] = ()
    unnamed_locations: tuple[str, ...] = ()  # display paths of folders read that no configuration names
    unread_scripts: tuple[str, ...] = ()  # display paths of revision scripts that were not read
    configured_by: str = ""
    file_template: str = DEFAULT_FILE_TEMPLATE  # alembic's `file_template`, `%%` already read as `%`


@dataclass(frozen=True, **SLOTS)
class Finding:
    """One fact about the input that breaks, or may break, an upgrade."""

    code: str
    name: str
    severity: Severity
    message: str
    path: str
    line: int = 1
    column: int = 1
    tree: str | None = None
    revision: str | None = None
    hint: str | None = None
