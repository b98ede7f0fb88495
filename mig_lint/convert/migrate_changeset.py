"""sqlalchemy-migrate's changeset calls, run on alembic's `op` with the script's own control flow.

Written beside env.py by `mig-lint convert`. A converted revision calls this module where the
converter could not prove, from the source alone, what a call's receiver is at that point
(a name assigned twice, a loop variable, `getattr(table.c, name)`, a column copy, a value
read by reflection). Here the receiver is a real object, so each call does what migrate did
with it:

    create(x)          Column: ADD COLUMN (+ index_name / unique_name / primary_key_name,
                       default back-filled, the column added to its Table object);
                       Table, Index: CREATE; a constraint: ADD CONSTRAINT (batch on SQLite)
    drop(x)            Column: DROP COLUMN; Table, Index: DROP; a constraint: DROP CONSTRAINT
    alter(column, ...) name / type / nullable / server_default, as migrate's ColumnDelta
    rename(x, name)    Table, Column, Index
    create_column(table, column), drop_column(table, column)
    execute(x, ...), scalar(x, ...)
                       SQLAlchemy 1.x implicit execution (`stmt.execute()`) and
                       `engine.execute("SQL")`, run on alembic's connection
    update/insert/delete(table, ...), select_(...), count(table, ...)
                       SQLAlchemy 1.x positional `whereclause` / `values=`, `Table.count()`
    connect(bind), begin(bind)
                       alembic's connection, already in its transaction
    UniqueConstraint, PrimaryKeyConstraint, ForeignKeyConstraint, CheckConstraint
                       migrate's constructors (`table=`, columns as objects or names)

Anything else passes through unchanged (`x.create(...)` on an object that is not
SQLAlchemy's runs its own method). It needs only alembic and SQLAlchemy 1.4 or 2.x.
"""
from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

__all__ = [
    "CheckConstraint", "ForeignKeyConstraint", "PrimaryKeyConstraint", "UniqueConstraint",
    "alter", "begin", "connect", "count", "create", "create_column", "delete", "drop", "drop_column",
    "execute", "insert", "rename", "scalar", "select_", "update",
]


def _is_bind(value: Any) -> bool:
    return isinstance(value, (Engine, Connection, _Borrowed))


def _connection(bind: Any) -> Any:
    return bind.connection_lent if isinstance(bind, _Borrowed) else bind


def _without_binds(args: tuple[Any, ...], kw: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """migrate's calls take an engine or connection here and there: alembic gives its own."""
    kept = [a for a in args if not _is_bind(a)]
    return kept, {k: v for k, v in kw.items() if k not in ("engine", "connection", "bind") and not _is_bind(v)}


def _dialect() -> str:
    name: str = op.get_context().dialect.name
    return name


def _copy(column: Any, **changes: Any) -> Any:
    """A detached copy of a column (SQLAlchemy 2 names it `_copy`, 1.4 `copy`)."""
    copy = getattr(column, "_copy", None) or column.copy
    result: Any = copy()
    for name, value in changes.items():
        setattr(result, name, value)
    return result


# --- migrate's constraint classes ----------------------------------------------------------

def _names(columns: Any) -> tuple[list[str], Any]:
    """Column names, and the table of the first column object (migrate's `_normalize_columns`)."""
    names, table = [], None
    for column in columns:
        if isinstance(column, sa.Column):
            if table is None and column.table is not None:
                table = column.table
            names.append(column.name)
        else:
            names.append(str(column))
    return names, table


def _table_of_constraint(constraint: sa.Constraint) -> Any:
    """The table a constraint is attached to, or None (SQLAlchemy raises instead)."""
    try:
        return constraint.table
    except sa.exc.InvalidRequestError:
        return None


def _attach(constraint: sa.Constraint, table: Any) -> None:
    if table is not None and _table_of_constraint(constraint) is None:
        table.append_constraint(constraint)


class UniqueConstraint(sa.UniqueConstraint):
    """migrate's `UniqueConstraint(*cols, table=None, name=None)`: a SQLAlchemy constraint too."""

    def __init__(self, *columns: Any, table: Any = None, **kw: Any) -> None:
        names, found = _names(columns)
        self.migrate_columns = names
        super().__init__(*names, **kw)
        _attach(self, table if table is not None else found)


class PrimaryKeyConstraint(sa.PrimaryKeyConstraint):
    """migrate's `PrimaryKeyConstraint(*cols, table=None, name=None)`."""

    def __init__(self, *columns: Any, table: Any = None, **kw: Any) -> None:
        names, found = _names(columns)
        self.migrate_columns = names
        super().__init__(*names, **kw)
        _attach(self, table if table is not None else found)


class ForeignKeyConstraint(sa.ForeignKeyConstraint):
    """migrate's `ForeignKeyConstraint(columns, refcolumns, name=None, table=None, ...)`."""

    def __init__(self, columns: Any, refcolumns: Any, *args: Any, table: Any = None, **kw: Any) -> None:
        names, found = _names(columns)
        self.migrate_columns = names
        self.migrate_refcolumns = list(refcolumns)
        super().__init__(names, self.migrate_refcolumns, *args, **kw)
        _attach(self, table if table is not None else found)

    def referred(self) -> tuple[str, list[str]]:
        """The referred table's name and its columns' names."""
        first = self.migrate_refcolumns[0]
        if isinstance(first, sa.Column):
            return first.table.name, [c.name for c in self.migrate_refcolumns]
        table = str(first).rsplit(".", 1)[0]
        return table, [str(c).rsplit(".", 1)[-1] for c in self.migrate_refcolumns]


class CheckConstraint(sa.CheckConstraint):
    """migrate's `CheckConstraint(sqltext, columns=None, table=None, name=None)`."""

    def __init__(self, sqltext: Any, *args: Any, columns: Any = (), table: Any = None, **kw: Any) -> None:
        if not columns and not kw.get("name"):
            raise ValueError('CheckConstraint needs "name" or "columns" (migrate names it from them)')
        names, found = _names(columns)
        self.migrate_columns = names
        super().__init__(sqltext, *args, **kw)
        _attach(self, table if table is not None else found)


_KINDS = ((sa.ForeignKeyConstraint, "foreignkey"), (sa.PrimaryKeyConstraint, "primary"),
          (sa.UniqueConstraint, "unique"), (sa.CheckConstraint, "check"))


def _kind(constraint: sa.Constraint) -> str:
    return next(kind for cls, kind in _KINDS if isinstance(constraint, cls))


def _columns_of(constraint: sa.Constraint) -> list[str]:
    names = getattr(constraint, "migrate_columns", None)
    if names is not None:
        return list(names)
    return [c.name for c in getattr(constraint, "columns", ())]


def _constraint_name(constraint: sa.Constraint) -> str:
    """The constraint's name, else the one migrate's `autoname` gives it."""
    if constraint.name:
        return str(constraint.name)
    table, columns, kind = constraint.table.name, _columns_of(constraint), _kind(constraint)
    suffix = {"primary": "pkey", "foreignkey": "fkey", "unique": "key", "check": "check"}[kind]
    if kind == "primary":
        return f"{table}_pkey"
    if kind == "check":
        return f"{table}_{'_'.join(columns)}_check"
    return f"{table}_{columns[0]}_{suffix}"


def _create_constraint(constraint: Any) -> None:
    table, name, kind = constraint.table.name, _constraint_name(constraint), _kind(constraint)
    columns = _columns_of(constraint)
    if kind == "primary" and _dialect() == "sqlite":  # migrate makes it a unique index there
        op.create_index(name, table, columns, unique=True)
        return
    with op.batch_alter_table(table) as batch_op:
        if kind == "unique":
            batch_op.create_unique_constraint(name, columns)
        elif kind == "primary":
            batch_op.create_primary_key(name, columns)
        elif kind == "check":
            batch_op.create_check_constraint(name, constraint.sqltext)
        else:
            assert isinstance(constraint, sa.ForeignKeyConstraint)
            referred, refcolumns = _referred(constraint)
            options = {k: getattr(constraint, k) for k in ("ondelete", "onupdate", "deferrable", "initially")
                       if getattr(constraint, k, None) is not None}
            batch_op.create_foreign_key(name, referred, columns, refcolumns, **options)


def _referred(constraint: sa.ForeignKeyConstraint) -> tuple[str, list[str]]:
    if isinstance(constraint, ForeignKeyConstraint):
        return constraint.referred()
    elements = list(constraint.elements)
    return elements[0].column.table.name, [e.column.name for e in elements]


def _drop_constraint(constraint: Any) -> None:
    table, name, kind = constraint.table.name, _constraint_name(constraint), _kind(constraint)
    if _dialect() == "sqlite":
        if kind == "primary":
            op.drop_index(name)
            return
        if kind == "check":
            raise NotImplementedError("SQLite does not support ALTER TABLE DROP CONSTRAINT (neither did migrate)")
        if kind == "foreignkey" and name not in _foreign_key_names(table):
            if not constraint.name:
                _drop_unnamed_foreign_keys(table)
            return
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_constraint(name, type_=kind)


def _drop_unnamed_foreign_keys(table: str) -> None:
    """migrate's SQLite rebuild for a foreign key dropped without a name: the table comes back
    without any of its unnamed foreign keys (a name that matches nothing changes nothing)."""
    copy = sa.Table(table, sa.MetaData(), autoload_with=op.get_bind())
    for key in [c for c in copy.foreign_key_constraints if not c.name]:
        copy.constraints.discard(key)
    with op.batch_alter_table(table, copy_from=copy, recreate="always"):
        pass


def _foreign_key_names(table: str) -> set[str]:
    return {str(fk["name"]) for fk in sa.inspect(op.get_bind()).get_foreign_keys(table) if fk.get("name")}


# --- columns ------------------------------------------------------------------------------

def _table_of(column: Any, table: Any) -> Any:
    if table is None:
        table = column.table
    if table is None or _is_bind(table):
        raise TypeError(f"column {column.name!r}: create() and drop() need the table it is in")
    return table


def _add_column(column: Any, table: Any = None, index_name: str | None = None,
                unique_name: str | None = None, primary_key_name: str | None = None,
                populate_default: bool = True, **_: Any) -> Any:
    """migrate's `Column.create`: ADD COLUMN, its foreign keys, the named index or unique
    constraint, the default written into existing rows, and the column added to the table."""
    if isinstance(table, str):
        raise TypeError(f"column {column.name!r}: pass the Table, not its name")
    table = _table_of(column, table)
    definition = _copy(column, unique=None, index=None)
    if _dialect() == "sqlite" and column.foreign_keys and all(fk.name for fk in column.foreign_keys):
        with op.batch_alter_table(table.name, recreate="always") as batch_op:
            batch_op.add_column(definition)  # migrate rebuilt the table too: no ALTER for keys there
    elif _dialect() == "sqlite" and column.foreign_keys:
        _add_column_with_references(table.name, definition)
    else:
        op.add_column(table.name, definition)
    if column.table is None:
        table.append_column(column)
    if populate_default and column.default is not None and not isinstance(column.default, sa.Sequence):
        value = column.default.arg
        if callable(value):
            value = value(None)
        rows = sa.table(table.name, sa.column(column.name))
        op.execute(rows.update().values({column.name: value}))
    if index_name:
        op.create_index(index_name, table.name, [column.name])
    elif unique_name:
        with op.batch_alter_table(table.name) as batch_op:
            batch_op.create_unique_constraint(unique_name, [column.name])
    if primary_key_name:
        with op.batch_alter_table(table.name) as batch_op:
            batch_op.create_primary_key(primary_key_name, [column.name])
    return column


def _add_column_with_references(table: str, column: Any) -> None:
    """SQLite's ADD COLUMN with inline REFERENCES: the unnamed foreign key migrate's rebuild gave
    (alembic's batch mode names every constraint it adds)."""
    dialect = op.get_context().dialect
    quote = dialect.identifier_preparer.quote
    sa.Table(table, sa.MetaData(), column)
    spec = str(sa.schema.CreateColumn(column).compile(dialect=dialect))
    for fk in column.foreign_keys:
        referred, _, referred_column = fk.target_fullname.rpartition(".")
        spec += f" REFERENCES {quote(referred)} ({quote(referred_column)})"
        spec += "".join(f" ON {event} {getattr(fk, key)}" for key, event in (("ondelete", "DELETE"),
                                                                            ("onupdate", "UPDATE"))
                        if getattr(fk, key))
    op.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {spec}")


def _drop_column(column: Any, table: Any = None, **_: Any) -> Any:
    """migrate's `Column.drop`: DROP COLUMN (a table rebuild on SQLite), and out of the table object."""
    table = _table_of(column, table)
    with op.batch_alter_table(table.name) as batch_op:
        batch_op.drop_column(column.name)
    with contextlib.suppress(Exception):  # bookkeeping only; SQLAlchemy's internals differ by version
        table._columns.remove(column)
    return column


def _default_of(column: Any) -> Any:
    """A column's server default as alembic takes it (its text or clause), None without one."""
    return getattr(column.server_default, "arg", None)


def alter(column: Any, *args: Any, **kw: Any) -> Any:
    """migrate's `Column.alter` / `alter_column`: a string is the new name, a type the new
    type, a Column the new definition; keywords name, type, nullable, server_default."""
    if not isinstance(column, sa.Column):
        return column.alter(*args, **kw)
    args_, kw = _without_binds(args, kw)
    table = kw.pop("table", None)
    table = column.table if table is None else table
    changes: dict[str, Any] = {}
    for arg in args_:
        if isinstance(arg, sa.Column):
            changes.update(name=arg.name, type=arg.type, nullable=arg.nullable)
            if arg.server_default is not None:
                changes["server_default"] = _default_of(arg)
        elif isinstance(arg, str):
            changes["name"] = arg
        else:
            changes["type"] = arg
    changes.update(kw)
    options: dict[str, Any] = {}
    for key, option in (("name", "new_column_name"), ("type", "type_"), ("nullable", "nullable"),
                        ("server_default", "server_default"), ("autoincrement", "autoincrement")):
        if key in changes:
            value = changes[key]
            if key == "type" and isinstance(value, type):
                value = value()
            if key == "server_default" and isinstance(value, sa.schema.DefaultClause):
                value = value.arg
            options[option] = value
    existing = _default_of(column)
    if options:
        with op.batch_alter_table(table.name) as batch_op:
            batch_op.alter_column(column.name, existing_type=column.type, existing_nullable=column.nullable,
                                  existing_server_default=existing, **options)
    if "type_" in options:
        column.type = options["type_"]
    if "nullable" in options:
        column.nullable = options["nullable"]
    return column


# --- create, drop, rename -----------------------------------------------------------------

def create(target: Any, *args: Any, **kw: Any) -> Any:
    """migrate's `.create()` on whatever `target` is at run time."""
    if isinstance(target, sa.Column):
        args_, kw = _without_binds(args, kw)
        return _add_column(target, *args_, **kw)
    if isinstance(target, (sa.Table, sa.Index)):
        _, kw = _without_binds(args, kw)
        target.create(op.get_bind(), **kw)
        return target
    if isinstance(target, sa.Constraint) and _table_of_constraint(target) is not None:
        _create_constraint(target)
        return target
    return _passed_on(target, "create", args, kw)


def _passed_on(target: Any, method: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    """Not migrate's: a Sequence or Enum gets alembic's connection, anything else its own call."""
    if isinstance(target, (sa.schema.SchemaItem, sa.types.SchemaType)):
        args_, kw = _without_binds(args, kw)
        return getattr(target, method)(op.get_bind(), *args_, **kw)
    return getattr(target, method)(*args, **kw)


def drop(target: Any, *args: Any, **kw: Any) -> Any:
    """migrate's `.drop()` on whatever `target` is at run time."""
    if isinstance(target, sa.Column):
        args_, kw = _without_binds(args, kw)
        return _drop_column(target, *args_, **kw)
    if isinstance(target, (sa.Table, sa.Index)):
        _, kw = _without_binds(args, kw)
        target.drop(op.get_bind(), **kw)
        return target
    if isinstance(target, sa.Constraint) and _table_of_constraint(target) is not None:
        _drop_constraint(target)
        return target
    return _passed_on(target, "drop", args, kw)


def create_column(table: Any, column: Any, *args: Any, **kw: Any) -> Any:
    """migrate's `Table.create_column(column)`: a Column, or the name of one the table has."""
    if not isinstance(table, sa.Table):
        return table.create_column(column, *args, **kw)
    if not isinstance(column, sa.Column):
        column = table.c[str(column)]
    args_, kw = _without_binds(args, kw)
    return _add_column(column, table, *args_, **kw)


def drop_column(table: Any, column: Any, *args: Any, **kw: Any) -> Any:
    """migrate's `Table.drop_column(column)`: a Column or a name."""
    if not isinstance(table, sa.Table):
        return table.drop_column(column, *args, **kw)
    if not isinstance(column, sa.Column):
        name = str(column)
        column = table.c[name] if name in table.c else sa.Column(name, sa.Integer())
    return _drop_column(column, table)


def rename(target: Any, name: str, *args: Any, **kw: Any) -> Any:
    """migrate's `.rename(name)` of a Table, Column or Index."""
    if isinstance(target, sa.Table):
        op.rename_table(target.name, name)
        return target
    if isinstance(target, sa.Column):
        return alter(target, name=name)
    if isinstance(target, sa.Index):
        return _rename_index(target, name)
    return target.rename(name, *args, **kw)


def _rename_index(index: Any, name: str) -> Any:
    """ALTER INDEX as migrate issued it per database (SQLite has none)."""
    dialect = _dialect()
    if dialect == "sqlite":
        raise NotImplementedError("SQLite does not support ALTER INDEX (neither did migrate)")
    if dialect == "mysql":
        op.execute(f"ALTER TABLE {index.table.name} RENAME INDEX {index.name} TO {name}")
    else:
        op.execute(f"ALTER INDEX {index.name} RENAME TO {name}")
    index.name = name
    return index


# --- SQLAlchemy 1.x execution ---------------------------------------------------------------

def _parameters(args: list[Any], kw: dict[str, Any]) -> Any:
    """1.x's `execute(stmt, {...})`, `execute(stmt, [{...}])`, `execute(stmt, {...}, {...})`, `execute(stmt, a=1)`."""
    if kw:
        return kw
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return list(args)


def _run(bind: Any, statement: Any, args: list[Any], kw: dict[str, Any]) -> Any:
    bind = _connection(bind)
    parameters = _parameters(args, kw)
    if isinstance(statement, str):  # 1.x passed a string to the driver as it is
        return bind.exec_driver_sql(statement, *([parameters] if parameters is not None else []))
    return bind.execute(statement, *([parameters] if parameters is not None else []))


def execute(target: Any, *args: Any, **kw: Any) -> Any:
    """`stmt.execute()` (implicit execution) and `engine.execute(stmt or "SQL", ...)`."""
    if _is_bind(target):
        if not args:
            raise TypeError("execute() needs a statement")
        return _run(target, args[0], list(args[1:]), kw)
    if isinstance(target, sa.sql.expression.Executable):
        return _run(op.get_bind(), target, list(args), kw)
    return target.execute(*args, **kw)


def scalar(target: Any, *args: Any, **kw: Any) -> Any:
    """`select(...).scalar()` (implicit execution) and `engine.scalar(stmt)`."""
    if _is_bind(target):
        return _run(target, args[0], list(args[1:]), kw).scalar()
    if isinstance(target, sa.sql.expression.Executable):
        return _run(op.get_bind(), target, list(args), kw).scalar()
    return target.scalar(*args, **kw)


def _is_table(target: Any) -> bool:
    return isinstance(target, sa.sql.expression.TableClause)


def update(target: Any, *args: Any, **kw: Any) -> Any:
    """1.x's `table.update(whereclause, values)` and `update(table, whereclause, values)`."""
    if not _is_table(target):
        return target.update(*args, **kw)
    whereclause = args[0] if args else kw.pop("whereclause", None)
    values = args[1] if len(args) > 1 else kw.pop("values", None)
    statement = sa.update(target)
    if whereclause is not None:
        statement = statement.where(whereclause)
    return statement.values(values) if values is not None else statement


def insert(target: Any, *args: Any, **kw: Any) -> Any:
    """1.x's `table.insert(values)` and `insert(table, values)`."""
    if not _is_table(target):
        return target.insert(*args, **kw)
    values = args[0] if args else kw.pop("values", None)
    statement = sa.insert(target)
    return statement.values(values) if values is not None else statement


def delete(target: Any, *args: Any, **kw: Any) -> Any:
    """1.x's `table.delete(whereclause)` and `delete(table, whereclause)`."""
    if not _is_table(target):
        return target.delete(*args, **kw)
    whereclause = args[0] if args else kw.pop("whereclause", None)
    statement = sa.delete(target)
    return statement.where(whereclause) if whereclause is not None else statement


def count(target: Any, *args: Any, **kw: Any) -> Any:
    """1.x's `table.count(whereclause)`: a `SELECT count(*)` statement."""
    if not _is_table(target):
        return target.count(*args, **kw)
    whereclause = args[0] if args else kw.pop("whereclause", None)
    statement = sa.select(sa.func.count()).select_from(target)
    return statement.where(whereclause) if whereclause is not None else statement


def select_(columns: Any = None, whereclause: Any = None, **kw: Any) -> Any:
    """1.x's `select([columns], whereclause, from_obj=..., order_by=...)`."""
    statement = sa.select(*(columns or []))
    if whereclause is not None:
        statement = statement.where(whereclause)
    for key, method in (("from_obj", "select_from"), ("order_by", "order_by"), ("group_by", "group_by")):
        value = kw.pop(key, None)
        if value is not None:
            statement = getattr(statement, method)(*(value if isinstance(value, (list, tuple)) else [value]))
    if kw.pop("distinct", False):
        statement = statement.distinct()
    if kw:
        raise TypeError(f"select(): no translation for {', '.join(sorted(kw))}")
    return statement


class _Borrowed(contextlib.AbstractContextManager):  # type: ignore[type-arg]
    """alembic's connection lent where migrate opened one: closing it leaves it open."""

    def __init__(self, connection: Any) -> None:
        self.connection_lent = connection

    def __enter__(self) -> Any:
        return self.connection_lent

    def __exit__(self, *exc: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection_lent, name)

    def execute(self, statement: Any, *args: Any, **kw: Any) -> Any:
        """1.x's `Connection.execute`: a string goes to the driver as it is."""
        return _run(self.connection_lent, statement, list(args), kw)

    def close(self) -> None:
        """Leave alembic's connection open."""

    def commit(self) -> None:
        """alembic commits its own transaction."""

    def rollback(self) -> None:
        """An error inside the migration rolls alembic's transaction back."""


def connect(bind: Any) -> Any:
    """`engine.connect()`: alembic's own connection, not closed on exit."""
    return _Borrowed(_connection(bind)) if _is_bind(bind) else bind.connect()


def begin(bind: Any) -> Any:
    """`engine.begin()` / `connection.begin()`: alembic's transaction is already open."""
    return _Borrowed(_connection(bind)) if _is_bind(bind) else bind.begin()
