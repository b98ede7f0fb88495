"""ML6xx: what a revision's `upgrade()` does to a live database (opt-in: `select = ["ML6"]`).

Each rule reads the schema changes of `mig_lint.sources.operations`: alembic's `op.*` and
batch calls, the SQL of `op.execute`, and a migrate script's changeset calls through its
conversion. They look at the revisions new relative to `--base` (every revision without
it), `upgrade()` only, and never at a table created earlier in the same `upgrade()` or, under
`--base`, in a new revision below it that is not a base (nobody reads or writes it yet). ML602 and ML604 are
PostgreSQL's locks: they run when `dialects` is unset or names postgresql, and skip a change
that only another database runs (a branch on `dialect.name`, a history in a `sqlite/` folder).
"""
from __future__ import annotations

import contextlib
import marshal
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from typing import TYPE_CHECKING

from mig_lint import __version__
from mig_lint.atomic import write_atomically
from mig_lint.config import DIALECTS
from mig_lint.model import Hit
from mig_lint.model import Revision
from mig_lint.rules.base import rule
from mig_lint.rules.base import RuleContext
from mig_lint.rules.gate import new_revisions
from mig_lint.sources.files import read_text
from mig_lint.sources.syntax import prepare_cache_directory

if TYPE_CHECKING:
    from mig_lint.sources.operations import SchemaChange

EXPAND, CONTRACT = "expand", "contract"
_ADDITIONS = frozenset({"create_table", "add_column", "create_index", "create_unique", "create_foreign_key",
                        "create_check", "create_primary_key"})
_REMOVALS = frozenset({"drop_table", "drop_column", "drop_index", "drop_constraint", "rename_table",
                       "rename_column"})


def _revisions(ctx: RuleContext) -> list[Revision]:
    """The revisions to read: new relative to --base, else all of the tree."""
    base = ctx.base_branch
    ids = new_revisions(ctx, base) if base is not None else sorted(ctx.graph.revisions)
    return [ctx.graph.revisions[i] for i in ids]


class ChangeStore:
    """The changes of scripts read before, by content (git blob id, format, version table), kept
    in `<cache>/operations-pyXY.marshal` so that a warm run with ML6xx parses nothing again."""

    def __init__(self, directory: str | None) -> None:
        version = f"{sys.version_info[0]}{sys.version_info[1]}"
        self.path = os.path.join(directory, f"operations-py{version}.marshal") if directory else None
        self.known: dict[tuple[str, str, str], tuple[tuple[Any, ...], ...]] = {}
        self.recalled: dict[tuple[str, str, str], tuple[SchemaChange, ...]] = {}
        self.added = False
        if self.path is not None:
            with contextlib.suppress(OSError, EOFError, ValueError, TypeError):
                with open(self.path, "rb") as f:
                    data = marshal.load(f)
                if isinstance(data, dict) and data.get("format") == _STORE_FORMAT:
                    self.known = data["changes"]

    def changes(self, path: str, digest: str, format_: str, version_table: str) -> tuple[SchemaChange, ...]:
        """The changes of one script; several rules ask for the same ones in a run."""
        key = (digest, format_, version_table)
        if not digest:  # no content id (the file could not be read): nothing to recall it by
            return _read_changes(path, format_, version_table)
        if key in self.recalled:
            return self.recalled[key]
        if key in self.known:
            from mig_lint.sources.operations import SchemaChange  # here: opt-in rules, kept off start-up

            found = tuple(SchemaChange(k, line, statement, table, column, frozenset(facts), frozenset(dialects),
                                       name) for k, line, statement, table, column, facts, dialects, name
                          in self.known[key])
        else:
            found = _read_changes(path, format_, version_table)
            self.known[key] = tuple((c.kind, c.line, c.statement, c.table, c.column, tuple(sorted(c.facts)),
                                     tuple(sorted(c.dialects)), c.name) for c in found)
            self.added = True
        self.recalled[key] = found
        return found

    def save(self) -> None:
        if self.path is None or not self.added:
            return
        with contextlib.suppress(OSError):
            prepare_cache_directory(os.path.dirname(self.path))
            data = marshal.dumps({"format": _STORE_FORMAT, "changes": self.known})
            write_atomically(self.path, data)
        self.added = False


_STORE_FORMAT = f"4/{__version__}"  # 2: with the dialects of each change; 3: constraint names; 4: index names
_STORE = ChangeStore(None)


def open_store(directory: str | None) -> ChangeStore:
    """Use the store kept in `directory` (None: this process only) for the rules of this run."""
    global _STORE
    _STORE = ChangeStore(directory)
    return _STORE


def _read_changes(path: str, format_: str, version_table: str) -> tuple[SchemaChange, ...]:
    from mig_lint.sources.operations import migrate_schema_changes
    from mig_lint.sources.operations import schema_changes

    text = read_text(path)
    if not isinstance(text, str):
        return ()
    return migrate_schema_changes(text, version_table) if format_ == "migrate" else schema_changes(text)


def _changes(ctx: RuleContext) -> Iterator[tuple[Revision, SchemaChange]]:
    digests = dict(ctx.tree.digests)
    config = ctx.tree.migrate_config
    version_table = config.version_table if config is not None else "migrate_version"
    read = {r.id: (r, _STORE.changes(r.path, digests.get(r.path, ""), ctx.tree.format, version_table))
            for r in _revisions(ctx)}
    for revision, changes in read.values():
        created = _created_below(ctx, revision, read) if ctx.base_branch is not None else frozenset()
        for change in changes:
            if change.table in created and change.kind != "create_table":
                change = replace(change, facts=change.facts | {"new-table"})
            yield revision, change


def _created_below(ctx: RuleContext, revision: Revision,
                   read: dict[str, tuple[Revision, tuple[SchemaChange, ...]]]) -> frozenset[str]:
    """Tables that new revisions below this one create: the change brings them, no database has rows in them.

    A new base revision does not count: a history squashed into one (polar's) is stamped on
    databases whose tables it creates, rows and all.
    """
    below = {r for r in ctx.graph.ancestors(revision.id) & read.keys() if ctx.graph.parents.get(r)}
    return frozenset(c.table for r in below for c in read[r][1] if c.kind == "create_table" and c.table)


_DIALECT_FOLDERS = frozenset(DIALECTS)


def _on_postgresql(ctx: RuleContext) -> bool:
    return not ctx.config.dialects or "postgresql" in ctx.config.dialects


def _runs_on_postgresql(revision: Revision, change: SchemaChange) -> bool:
    """Unless the change sits in a branch of upgrade() for other databases, or the revision in a
    folder named after another one (prefect's `versions/sqlite`)."""
    if change.dialects and "postgresql" not in change.dialects:
        return False
    folders = _DIALECT_FOLDERS.intersection(revision.path.replace("\\", "/").split("/")[:-1])
    return not folders or "postgresql" in folders


def _existing(change: SchemaChange) -> bool:
    return "new-table" not in change.facts


def _where(change: SchemaChange) -> str:
    column = f".{change.column}" if change.column else ""
    return f"{change.table or '(a computed table)'}{column}"


def _hit(revision: Revision, change: SchemaChange, message: str, hint: str) -> Hit:
    issued = _issued(change)
    shown = f"`{change.statement}`" + (f" (`{issued}`)" if issued and "sql" not in change.facts else "")
    return Hit(revision.path, change.line, f"{shown} {message}", hint=hint, revision=revision.id)


def _issued(change: SchemaChange) -> str | None:
    """The statement the change issues on PostgreSQL, in outline (`...` for what the reader does not know)."""
    table, column, name = change.table or "...", change.column or "...", change.name or "..."
    if change.kind == "add_column":
        return f"ALTER TABLE {table} ADD COLUMN {column} ..." + (" NOT NULL" if "not-null" in change.facts else "")
    if change.kind == "create_index":
        unique = "UNIQUE " if "unique" in change.facts else ""
        concurrently = "CONCURRENTLY " if "concurrently" in change.facts else ""
        return f"CREATE {unique}INDEX {concurrently}{name} ON {table} (...)"
    return {
        "create_unique": f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE (...)",
        "create_foreign_key": f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (...) REFERENCES ..."
                              + (" NOT VALID" if "not-valid" in change.facts else ""),
        "create_check": f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK (...)"
                        + (" NOT VALID" if "not-valid" in change.facts else ""),
        "alter_column": f"ALTER TABLE {table} ALTER COLUMN {column} "
                        + ("TYPE ..." if "type" in change.facts else "SET NOT NULL"),
        "rename_table": f"ALTER TABLE {table} RENAME TO ...",
        "rename_column": f"ALTER TABLE {table} RENAME COLUMN {column} TO ...",
        "drop_table": f"DROP TABLE {table}",
        "drop_column": f"ALTER TABLE {table} DROP COLUMN {column}",
    }.get(change.kind)


def _label(ctx: RuleContext, revision: Revision) -> str | None:
    """expand or contract: the revision's branch label, else the name of a folder it sits in."""
    labels = ctx.graph.revision_labels.get(revision.id, frozenset())
    for label in (EXPAND, CONTRACT):
        if label in labels:
            return label
    parts = revision.path.replace("\\", "/").split("/")[:-1]
    return next((label for label in (EXPAND, CONTRACT) if label in parts), None)


@rule("ML601", "not-null-without-default", "error", opt_in=True)
def not_null_without_default(ctx: RuleContext) -> Iterator[Hit]:
    """A column added NOT NULL (or as a primary key) with no server default, to an existing table.

    Why: `ALTER TABLE t ADD COLUMN c ... NOT NULL` fails on every database as soon as the
    table has a row: the new column has no value to hold.

    Fix: add the column nullable or with a server default, fill it, then make it NOT NULL.

    Example: `op.add_column('users', sa.Column('age', sa.Integer(), nullable=False))` (bad).
    Safe: add it nullable (or with `server_default=`), fill it, then
          `op.alter_column('users', 'age', nullable=False)` (in a later revision on a busy table).

    squawk: adding-required-field. Differs on a table created earlier in the same revision or
    by a new revision below it: it has no rows, so mig-lint says nothing (docs/squawk.md).
    """
    for revision, change in _changes(ctx):
        if change.kind == "add_column" and "not-null" in change.facts and "server-default" not in change.facts \
                and _existing(change):
            yield _hit(revision, change, f"adds NOT NULL column {_where(change)} without a server default: "
                       "it fails on a table that has rows",
                       "add it nullable or with server_default=..., backfill, then alter_column(nullable=False)")


@rule("ML602", "blocking-index", "error", opt_in=True)
def blocking_index(ctx: RuleContext) -> Iterator[Hit]:
    """An index built on an existing table without CONCURRENTLY (PostgreSQL), or with it inside a transaction.

    Why: `CREATE INDEX` holds a SHARE lock for the whole build: no INSERT, UPDATE or DELETE
    on the table until it ends. A unique constraint added with `ADD CONSTRAINT` builds its
    index under ACCESS EXCLUSIVE. `CONCURRENTLY` cannot run in a transaction block, and
    alembic runs each migration in one.

    Fix: build the index CONCURRENTLY in an autocommit block.

    Example: `op.create_index('ix_users_email', 'users', ['email'])` (bad).
    Safe: `with op.get_context().autocommit_block():`
          `    op.create_index('ix_users_email', 'users', ['email'], postgresql_concurrently=True)`
          (a unique constraint: the unique index concurrently first, then
          `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX ...`).

    squawk: require-concurrent-index-creation, ban-concurrent-index-creation-in-transaction,
    disallowed-unique-constraint. Differs: squawk also asks for NOT VALID on a unique
    constraint, which PostgreSQL has no form of (mig-lint gives the advice above); tables new
    in the change and revisions that run only on other databases are left alone.
    """
    if not _on_postgresql(ctx):
        return
    for revision, change in _changes(ctx):
        if not _existing(change) or not _runs_on_postgresql(revision, change):
            continue
        if change.kind == "create_index" and "concurrently" not in change.facts:
            yield _hit(revision, change, f"builds an index on {_where(change)} without CONCURRENTLY: writes to the "
                       "table wait for the whole build (SHARE lock)",
                       "with op.get_context().autocommit_block(): op.create_index(..., postgresql_concurrently=True)")
        elif change.kind == "create_index" and "autocommit" not in change.facts:
            yield _hit(revision, change, "asks for CONCURRENTLY inside the migration's transaction: PostgreSQL "
                       "refuses it (CREATE INDEX CONCURRENTLY cannot run inside a transaction block)",
                       "wrap it in `with op.get_context().autocommit_block():`")
        elif change.kind == "create_unique":
            yield _hit(revision, change, f"adds a unique constraint to {_where(change)}: its index is built under "
                       "an ACCESS EXCLUSIVE lock (no reads, no writes)",
                       "build the unique index CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX")


@rule("ML603", "table-rewrite", "error", opt_in=True)
def table_rewrite(ctx: RuleContext) -> Iterator[Hit]:
    """A column type change, or a column added with a volatile default, on an existing table.

    Why: most type changes (`VARCHAR(20)` to `INTEGER`, narrowing, on MySQL nearly all)
    rewrite every row, and an added column whose default is volatile (`random()`,
    `gen_random_uuid()`, `clock_timestamp()`) is filled row by row: both under an
    exclusive lock for the whole rewrite.

    Fix: add a column of the new type and move to it in steps.

    Example: `op.alter_column('orders', 'total', type_=sa.Numeric(12, 2))` (bad).
    Safe: add a column of the new type, backfill it in batches, move reads and writes,
          drop the old one in a later release.

    squawk: changing-column-type, adding-field-with-default (volatile default). Differs on
    tables new in the change, which have no rows to rewrite.
    """
    for revision, change in _changes(ctx):
        if not _existing(change):
            continue
        if change.kind == "alter_column" and "type" in change.facts:
            yield _hit(revision, change, f"changes the type of {_where(change)}: the table is rewritten under an "
                       "exclusive lock",
                       "add a column of the new type, backfill, switch the code, drop the old column later")
        elif change.kind == "add_column" and "volatile-default" in change.facts:
            yield _hit(revision, change, f"adds {_where(change)} with a volatile default: every row is rewritten "
                       "under an exclusive lock",
                       "add it without the default (or with a constant one), then fill it in batches")


@rule("ML604", "validating-foreign-key", "error", opt_in=True)
def validating_foreign_key(ctx: RuleContext) -> Iterator[Hit]:
    """A foreign key or check constraint added to an existing table without NOT VALID (PostgreSQL).

    Why: adding it checks every row while holding a SHARE ROW EXCLUSIVE lock on the table
    (and, for a foreign key, the referenced one): writes wait for the whole scan.

    Fix: add the constraint NOT VALID, then VALIDATE it in a later revision.

    Example: `op.create_foreign_key('fk_orders_user', 'orders', 'users', ['user_id'], ['id'])` (bad).
    Safe: `op.create_foreign_key(..., postgresql_not_valid=True)`, then in a later revision
          `op.execute('ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user')` (no write lock).

    squawk: adding-foreign-key-constraint, constraint-missing-not-valid. Differs on tables new
    in the change and on revisions that run only on other databases (a dialect branch of
    upgrade(), prefect's `versions/sqlite`); for UNIQUE see ML602.
    """
    if not _on_postgresql(ctx):
        return
    changes = list(_changes(ctx))
    added_not_valid = {(r.id, c.name) for r, c in changes
                       if c.kind in ("create_foreign_key", "create_check") and "not-valid" in c.facts and c.name}
    for revision, change in changes:
        if not _existing(change) or not _runs_on_postgresql(revision, change):
            continue
        what = "a foreign key" if change.kind == "create_foreign_key" else "a check constraint"
        if change.kind in ("create_foreign_key", "create_check") and "not-valid" not in change.facts:
            yield _hit(revision, change, f"adds {what} to {_where(change)} that checks every row under a "
                       "SHARE ROW EXCLUSIVE lock",
                       "add it with postgresql_not_valid=True (NOT VALID), then VALIDATE CONSTRAINT in a later "
                       "revision")
        elif change.kind == "validate_constraint" and (revision.id, change.name) in added_not_valid:
            yield _hit(revision, change, f"validates {change.name} in the revision that added it NOT VALID: the "
                       "lock of the ADD is still held through the scan",
                       "VALIDATE CONSTRAINT in a later revision, in its own transaction")
        elif change.kind == "add_column" and "foreign-key" in change.facts:
            yield _hit(revision, change, f"adds {_where(change)} with a foreign key: ADD FOREIGN KEY checks "
                       "every row under a SHARE ROW EXCLUSIVE lock",
                       "add the column without the key, then create_foreign_key(..., postgresql_not_valid=True) "
                       "and VALIDATE CONSTRAINT later")


@rule("ML605", "breaking-rename", "error", opt_in=True)
def breaking_rename(ctx: RuleContext) -> Iterator[Hit]:
    """A table or column renamed.

    Why: during a rolling deploy the release still running reads the old name; every
    query it makes fails from the moment the migration commits.

    Fix: add the new name beside the old and retire the old one a release later.

    Example: `op.alter_column('users', 'name', new_column_name='full_name')` (bad).
    Safe: add the new column (or a view), write both, move the readers, drop the old name
          in a later release.

    squawk: renaming-column, renaming-table. Differs on tables new in the change: no running
    release reads their old names.
    """
    for revision, change in _changes(ctx):
        if change.kind in ("rename_table", "rename_column") and _existing(change):
            yield _hit(revision, change, f"renames {_where(change)}: code of the release still running uses "
                       "the old name", "add the new name beside the old, move the code, drop the old one later")


@rule("ML606", "contract-in-expand", "error", opt_in=True)
def contract_in_expand(ctx: RuleContext) -> Iterator[Hit]:
    """A removal in a revision of the expand branch, or an addition in the contract branch.

    Why: expand/contract (neutron, keystone, glance) runs the expand branch while the old
    release still serves, and the contract branch after it is gone. A drop or rename in
    expand breaks the running release; an addition in contract is missing while the new
    one starts.

    Fix: move the operation to the branch it belongs to.

    Example: `op.drop_column('ports', 'legacy')` in a revision labelled `expand` (bad).
    Safe: additions (tables, columns, indexes, constraints) in expand; drops, renames and
          NOT NULL in contract.

    squawk: none (it knows no branches); its adding-not-nullable-field matches the NOT NULL
    part only in expand.
    """
    for revision, change in _changes(ctx):
        label = _label(ctx, revision)
        contracting = change.kind in _REMOVALS or "nullable-false" in change.facts
        if label == EXPAND and contracting:
            yield _hit(revision, change, "removes or narrows in the expand branch: the release still running "
                       "breaks", "move it to a revision of the contract branch")
        elif label == CONTRACT and change.kind in _ADDITIONS:
            yield _hit(revision, change, "adds in the contract branch: the new release starts before it runs",
                       "move it to a revision of the expand branch")


@rule("ML607", "destructive-operation", "warning", opt_in=True)
def destructive_operation(ctx: RuleContext) -> Iterator[Hit]:
    """A table or column dropped outside a contract branch.

    Why: the data is gone once it runs, and code of the release still running may read it.
    Projects without expand/contract branches get this warning so that a drop is a
    decision, made a release after the code stopped using it.

    Fix: drop a release after the code stopped using it, or in a contract revision.

    Example: `op.drop_column('users', 'legacy_flag')` in the release that stops reading it (bad).
    Safe: stop reading it in one release, drop it in the next (or in a contract revision).

    squawk: ban-drop-column, ban-drop-table. Differs in contract revisions, where drops belong
    (ML606 reports a drop in expand). Every difference, fixture by fixture: docs/squawk.md.
    """
    for revision, change in _changes(ctx):
        if change.kind in ("drop_table", "drop_column") and _label(ctx, revision) != CONTRACT:
            yield _hit(revision, change, f"drops {_where(change)} and its data",
                       "drop it a release after the code stops using it")
