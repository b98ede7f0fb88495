"""Schema snapshots of a live database, and the changes between two of them.

A snapshot is the database reflected into a `MetaData` plus a cheap fingerprint of each
table (its DDL as the catalog holds it), so that after a step only the tables whose
fingerprint moved are reflected again and compared. Differences come from alembic's
autogenerate comparison (`compare_metadata`, types, nullability and server defaults
included); primary keys, which autogenerate does not compare, are compared here.

Nothing here runs SQL other than catalog reads: server defaults are compared as
normalised text (alembic's PostgreSQL comparison would evaluate both, `nextval` included).
The version tables, and copies of them under a prefix (`shadow_migrate_version`), are left
out of the comparison; a snapshot records which prefixes it holds.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

VERSION_TABLES = frozenset({"alembic_version", "migrate_version"})
_STAND_IN = "mig_lint_stand_in"


def version_prefix(name: str, version_tables: Collection[str]) -> str | None:
    """The prefix of a version table or of a copy of one (`shadow_` of `shadow_migrate_version`, '' of itself).

    None for any other table.
    """
    for table in version_tables:
        if name == table or name.endswith("_" + table):
            return name[:len(name) - len(table)]
    return None


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two schemas: `added`, `removed` or `altered`, and of what."""

    action: str
    kind: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        sign = {"added": "+", "removed": "-", "altered": "~"}[self.action]
        return f"{sign} {self.kind} {self.name}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The reflected tables by name, and each table's fingerprint (None where the dialect has none).

    Unchanged tables are shared with the snapshot before; nothing changes a snapshot's tables.
    """

    tables: Mapping[str, sa.Table]
    fingerprints: dict[str, str] | None
    version_copies: frozenset[str] = frozenset()

    def metadata(self, names: Collection[str] | None = None) -> sa.MetaData:
        """A MetaData with copies of the tables `names` (default: all) and of every table their foreign keys lead to.

        A foreign key to a table the snapshot lacks (SQLite allows one) gets a stand-in table
        with the columns it names, marked in `info`; stand-ins are never compared.
        """
        wanted = set(self.tables if names is None else names) & self.tables.keys()
        missing: dict[str, set[str]] = {}
        pending = sorted(wanted)
        while pending:
            for fk in self.tables[pending.pop()].foreign_keys:
                referred, _, column = fk.target_fullname.rpartition(".")
                if referred not in self.tables:
                    missing.setdefault(referred, set()).add(column)
                elif referred not in wanted:
                    wanted.add(referred)
                    pending.append(referred)
        metadata = sa.MetaData()
        for name in sorted(wanted):
            self.tables[name].to_metadata(metadata)
        for name, columns in sorted(missing.items()):
            schema, _, table = name.rpartition(".")
            sa.Table(table, metadata, *(sa.Column(c, sa.types.NullType()) for c in sorted(columns)),
                     schema=schema or None, info={_STAND_IN: True})
        return metadata


def take_snapshot(connection: sa.Connection, previous: Snapshot | None = None,
                  ignore: Collection[str] = VERSION_TABLES) -> Snapshot:
    """Reflect the database, again only the tables whose fingerprint changed since `previous`."""
    fingerprints = _fingerprints(connection, ignore)
    changed = moved_tables(previous, fingerprints)
    names = sa.inspect(connection).get_table_names()
    copies = frozenset(p for p in (version_prefix(name, ignore) for name in names) if p is not None)
    tables: dict[str, sa.Table] = {}
    if previous is not None and changed is not None:
        tables.update((name, table) for name, table in previous.tables.items() if name not in changed)
        wanted = [name for name in changed if name in (fingerprints or {})]
    else:
        wanted = [name for name in names if version_prefix(name, ignore) is None]
    if wanted:
        metadata = sa.MetaData()
        metadata.reflect(connection, only=wanted, resolve_fks=False)
        tables.update(metadata.tables)
    return Snapshot(tables, fingerprints, copies)


def moved_tables(previous: Snapshot | None, fingerprints: dict[str, str] | None) -> frozenset[str] | None:
    """The tables added, removed or changed since `previous`; None when that cannot be known."""
    if previous is None or previous.fingerprints is None or fingerprints is None:
        return None
    before = previous.fingerprints
    return frozenset(name for name in before.keys() | fingerprints.keys() if before.get(name) != fingerprints.get(name))


def advance(connection: sa.Connection, before: Snapshot,
            ignore: Collection[str] = VERSION_TABLES) -> tuple[tuple[Change, ...], Snapshot]:
    """What changed since `before`, and the snapshot of the database now.

    Only the tables whose fingerprints moved are compared; the comparison's own reflection
    of them becomes their part of the new snapshot, so that nothing is reflected twice.
    """
    fingerprints = _fingerprints(connection, ignore)
    moved = moved_tables(before, fingerprints)
    found, reflected = compare(connection, before, moved, ignore)
    kept = {} if moved is None else {name: t for name, t in before.tables.items() if name not in moved}
    return found, Snapshot({**kept, **reflected}, fingerprints)


def compare(connection: sa.Connection, before: Snapshot, tables: Collection[str] | None = None,
            ignore: Collection[str] = VERSION_TABLES) -> tuple[tuple[Change, ...], dict[str, sa.Table]]:
    """What turned `before` into the database at `connection`, and the database's tables as reflected to tell.

    `tables` limits the comparison (to the tables whose fingerprints moved); None compares all.
    """
    def wanted(name: str | None) -> bool:
        return name is not None and version_prefix(name, ignore) is None and (tables is None or name in tables)

    reflected: dict[str, sa.Table] = {}
    appeared: list[Change] = []

    def include_object(obj: Any, name: str | None, type_: str, is_reflected: bool, other: Any) -> bool:
        if type_ != "table":
            return True
        if not is_reflected and obj.info.get(_STAND_IN):
            if other is not None and wanted(name):  # `before` lacked it: the database has it since
                appeared.append(Change("added", "table", other.name))
            return False
        table = obj if is_reflected else other  # the database's side of the pair
        if wanted(name) and table is not None:
            reflected[table.name] = table
        return wanted(name)

    if tables is not None and not tables:
        return (), reflected
    context = MigrationContext.configure(connection, opts={
        "compare_type": True,
        "compare_server_default": _server_default_differs,
        "include_name": lambda name, type_, parents: type_ != "table" or wanted(name),
        "include_object": include_object,
    })
    # `before` was reflected by SQLAlchemy alone; alembic's own reflection hook would drop a serial's
    # `nextval` default (PostgreSQL) or parenthesise a default (SQLite) on the database's side only.
    context.impl.autogen_column_reflect = _as_reflected  # type: ignore[method-assign]
    # compare_metadata says how to turn the database into `before`: its reverse is what happened.
    diffs = compare_metadata(context, before.metadata(tables))
    kept = before.tables.keys() & reflected.keys()
    found = [*_described(diffs), *appeared, *_primary_key_changes(before.tables, reflected, kept)]
    return tuple(sorted(found, key=lambda c: (c.name.split(".")[0], _ORDER[c.kind], c.name, c.action))), reflected


def _as_reflected(inspector: Any, table: sa.Table, column_info: dict[str, Any]) -> None:
    """Leave each reflected column as SQLAlchemy reads it, as `before`'s columns were."""


def _server_default_differs(context: MigrationContext, database_column: sa.Column[Any], before_column: sa.Column[Any],
                            database_default: str | None, before_default: Any, rendered_before: str | None) -> bool:
    """Whether two server defaults differ, by their normalised text; no SQL is run."""
    return normalised_default(database_default) != normalised_default(rendered_before)


_SEQUENCE = re.compile(r"nextval\('[^']*'(?:::regclass)?\)")


def normalised_default(text: str | None) -> str | None:
    """The default without outer parentheses and with the sequence of a `nextval(...)` unnamed.

    Which sequence a serial column draws from is named after the table it was created in,
    and is not part of the schema being compared.
    """
    if text is None:
        return None
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return _SEQUENCE.sub("nextval(<sequence>)", text)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


_ORDER = {"table": 0, "column": 1, "primary key": 2, "index": 3, "unique index": 3, "unique": 4, "foreign key": 5}


def _described(diffs: Iterable[Any]) -> Iterator[Change]:
    for diff in diffs:
        if isinstance(diff, list):  # the modify_* changes of one column come as a list
            yield from (_altered(item) for item in diff)
        else:
            yield _added_or_removed(diff)


def _added_or_removed(diff: tuple[Any, ...]) -> Change:
    """Reversed: compare_metadata's `add_x` is something the database no longer has."""
    verb, _, kind = diff[0].partition("_")
    action = "removed" if verb == "add" else "added"
    obj = diff[-1]
    if kind == "table":
        return Change(action, "table", obj.name)
    if kind == "column":
        return Change(action, "column", f"{diff[2]}.{obj.name}", _column_detail(obj))
    if kind == "index":
        columns = ", ".join(str(getattr(c, "name", c)) for c in obj.expressions)
        return Change(action, "unique index" if obj.unique else "index", f"{obj.table.name}.{obj.name}",
                      f"({columns})")
    if kind == "fk":
        referred = obj.elements[0].target_fullname.rpartition(".")[0]
        target = ", ".join(e.target_fullname.rpartition(".")[2] for e in obj.elements)
        return Change(action, "foreign key", f"{obj.table.name}.{obj.name or '(unnamed)'}",
                      f"({', '.join(obj.column_keys)}) -> {referred}({target})")
    columns = ", ".join(c.name for c in obj.columns)
    return Change(action, "unique", f"{obj.table.name}.{obj.name or '(unnamed)'}", f"({columns})")


def _altered(diff: tuple[Any, ...]) -> Change:
    """A `modify_*` diff: (kind, schema, table, column, info, database value, `before` value)."""
    kind, _, table, column, _, now, before = diff
    what = {"modify_default": "server default"}.get(kind, kind.removeprefix("modify_").replace("_", " "))
    return Change("altered", "column", f"{table}.{column}", f"{what} {_shown(before)} -> {_shown(now)}")


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "NULL" if value else "NOT NULL"
    if isinstance(value, sa.DefaultClause):
        return str(getattr(value.arg, "text", value.arg))
    return str(value)


def _column_detail(column: sa.Column[Any]) -> str:
    detail = f"{column.type}{'' if column.nullable else ' NOT NULL'}"
    default = column.server_default
    if isinstance(default, sa.DefaultClause):
        detail += f" DEFAULT {_shown(default)}"
    return detail


def _primary_key_changes(before: Mapping[str, sa.Table], now: Mapping[str, sa.Table],
                         tables: Iterable[str]) -> Iterator[Change]:
    for name in tables:
        old = [c.name for c in before[name].primary_key.columns]
        new = [c.name for c in now[name].primary_key.columns]
        if old != new:
            yield Change("altered", "primary key", name, f"({', '.join(old)}) -> ({', '.join(new)})")


def _fingerprints(connection: sa.Connection, ignore: Collection[str]) -> dict[str, str] | None:
    query = _FINGERPRINT_QUERIES.get(connection.dialect.name)
    if query is None:
        return None
    rows = query(connection)
    found: dict[str, list[str]] = {}
    for table, text in rows:
        if version_prefix(table, ignore) is None:
            found.setdefault(table, []).append(str(text or ""))
    return {table: "\n".join(sorted(parts)) for table, parts in found.items()}


def _sqlite(connection: sa.Connection) -> Iterable[tuple[str, str]]:
    return connection.exec_driver_sql(
        "SELECT tbl_name, type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master "
        "WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%'").all()


def _postgresql(connection: sa.Connection) -> Iterable[tuple[str, str]]:
    return connection.exec_driver_sql("""
        SELECT c.relname, '' FROM pg_class c
          WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
        UNION ALL
        SELECT c.relname, a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
               || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
            AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
          WHERE c.relnamespace = current_schema()::regnamespace
        UNION ALL
        SELECT c.relname, con.conname || ' ' || pg_get_constraintdef(con.oid)
          FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
          WHERE c.relnamespace = current_schema()::regnamespace""").all()


def _mysql(connection: sa.Connection) -> Iterable[tuple[str, str]]:
    return connection.exec_driver_sql("""
        SELECT table_name, '' FROM information_schema.tables
          WHERE table_schema = database() AND table_type = 'BASE TABLE'
        UNION ALL
        SELECT table_name, concat_ws(' ', ordinal_position, column_name, column_type, is_nullable,
                                     coalesce(column_default, 'no default'), extra)
          FROM information_schema.columns WHERE table_schema = database()
        UNION ALL
        SELECT table_name, concat_ws(' ', index_name, seq_in_index, column_name, non_unique)
          FROM information_schema.statistics WHERE table_schema = database()
        UNION ALL
        SELECT table_name, concat_ws(' ', constraint_name, column_name, ordinal_position,
                                     referenced_table_name, referenced_column_name)
          FROM information_schema.key_column_usage WHERE table_schema = database()""").all()


_FINGERPRINT_QUERIES: dict[str, Callable[[sa.Connection], Iterable[tuple[str, str]]]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
    "mysql": _mysql,
    "mariadb": _mysql,
}
