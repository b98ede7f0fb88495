"""Translate one sqlalchemy-migrate script into the code of an alembic revision, with libcst.

Nothing is imported or run. Real scripts are mostly SQLAlchemy Core plus a few migrate
calls, so the script is kept as written and only what is migrate's is rewritten:

- migrate's changeset calls become alembic operations (`docs/convert.md` has the table);
- `upgrade(migrate_engine)` loses its parameter and binds it to `op.get_bind()` instead;
- `MetaData(bind=...)`, `MetaData(migrate_engine)` and `meta.bind = ...` lose the bind,
  `Table(..., autoload=True)` reflects with `autoload_with=`, a string passed to
  `execute` is wrapped in `sa.text`, `migrate_engine.name` reads the dialect from alembic;
- migrate's imports go; its constraint classes come from SQLAlchemy.

A migrate call is rewritten statically only where the source proves what it acts on (the
receiver is written out, or a name bound once, outside loops, to it); otherwise the call
is kept, with its control flow, on the changeset layer (`changeset.drop(index)`, see
`migrate_changeset.py`), which decides when it runs. SQLAlchemy 1.x forms (implicit
execution, `values=`, `select([...], where)`, `Table.count()`, Engine-only API) are
rewritten or sent there too. What cannot be translated at all is reported as
`Unsupported` (line and construct); the renderer then keeps the function's code under a
`raise NotImplementedError`.
Expressions stay expressions: a table computed at run time (`Table('shadow_' + name, ...)`
in a loop) is named by `<table>.name` in the operation, so loops and helpers convert too.
"""
from __future__ import annotations

import collections
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

import libcst as cst
from libcst.metadata import PositionProvider

from mig_lint.model import SLOTS

CONSTRAINTS = {
    "ForeignKeyConstraint": "foreignkey",
    "UniqueConstraint": "unique",
    "PrimaryKeyConstraint": "primary",
    "CheckConstraint": "check",
}
_FROM_SQLALCHEMY = ("Index", *CONSTRAINTS)
_MIGRATE_MODULES = ("constraint", "changeset", "schema")
# migrate's changeset methods: on a receiver the source does not prove, the layer runs them
_RUNTIME = ("create", "drop", "alter", "rename", "create_column", "drop_column")


@dataclass(frozen=True, **SLOTS)
class Unsupported:
    """Code the converter could not translate: where, what, and why."""

    line: int
    construct: str
    reason: str
    function: str  # upgrade, downgrade, or "" outside them


@dataclass(frozen=True, **SLOTS)
class Operation:
    """A migrate construct that was translated, and into what."""

    line: int
    source: str
    target: str  # the code it became (several lines for a batch)


@dataclass(frozen=True, **SLOTS)
class Translation:
    """One script as alembic code: the module (imports, helpers) and the two functions."""

    module: str
    sqlalchemy_names: tuple[str, ...]  # names migrate's imports gave, now from SQLAlchemy
    changeset_names: tuple[str, ...]  # migrate's constraint classes, now from the changeset layer
    uses_changeset: bool  # some call runs through the changeset layer
    upgrade: str | None  # the function's body, indented; None when the script has none
    downgrade: str | None
    operations: tuple[Operation, ...]
    unsupported: tuple[Unsupported, ...]
    placeholder: bool  # upgrade does nothing


@dataclass
class _Scope:
    """What the names of one function are bound to (the last assignment wins)."""

    engine: str | None
    bindings: dict[str, cst.BaseExpression] = field(default_factory=dict)


@dataclass(frozen=True, **SLOTS)
class Helpers:
    """The modules beside a repository's versions/ that its scripts import: where they go."""

    folder: str  # the repository's folder name, the last part of the package path scripts import them by
    modules: frozenset[str]  # their names, without .py


HELPERS_PACKAGE = "migrate_helpers"  # the package beside env.py the helper modules are translated into


def translate(source: str, version_table: str = "migrate_version", helpers: Helpers | None = None) -> Translation:
    """Translate a migrate script's source; raises cst.ParserSyntaxError on a syntax error.

    A string in `upgrade`/`downgrade` naming migrate's `version_table` (`ALTER TABLE
    migrate_version CONVERT TO ...`) names alembic's version table instead: the converted
    tree has no migrate version table, and the statement was about the version table.
    """
    module = cst.parse_module(source)
    wrapper = cst.MetadataWrapper(module)
    transformer = _Transformer(wrapper.module, version_table, helpers)
    converted = wrapper.visit(transformer)
    functions = {name: _body_code(converted, node) for name, node in transformer.functions.items()}
    rest = converted.with_changes(body=[s for s in converted.body if not _is_function(s, ("upgrade", "downgrade"))])
    used = _names(converted)
    wanted = set(_FROM_SQLALCHEMY) & (used if transformer.migrate_star else transformer.from_migrate & used)
    return Translation(
        module=rest.code,
        sqlalchemy_names=tuple(sorted(wanted - set(CONSTRAINTS))),
        changeset_names=tuple(sorted(wanted & set(CONSTRAINTS))),
        uses_changeset=transformer.uses_changeset,
        upgrade=functions.get("upgrade"),
        downgrade=functions.get("downgrade"),
        operations=tuple(transformer.operations),
        unsupported=tuple(transformer.unsupported),
        placeholder=_does_nothing(module, "upgrade"),
    )


def _is_function(statement: cst.CSTNode, names: Sequence[str]) -> bool:
    return isinstance(statement, cst.FunctionDef) and statement.name.value in names


def _body_code(module: cst.Module, function: cst.FunctionDef) -> str:
    return module.code_for_node(function.body).lstrip("\n")


def _does_nothing(module: cst.Module, name: str) -> bool:
    """True when `name` is missing or holds only `pass`, docstrings and comments."""
    for statement in module.body:
        if _is_function(statement, (name,)):
            assert isinstance(statement, cst.FunctionDef)
            return all(_is_inert(s) for s in _indented(statement.body).body)
    return True


def _indented(body: cst.BaseSuite) -> cst.IndentedBlock:
    """A function's body as a block (`def upgrade(migrate_engine): pass` has it on one line)."""
    if isinstance(body, cst.IndentedBlock):
        return body
    assert isinstance(body, cst.SimpleStatementSuite)
    return cst.IndentedBlock(body=[cst.SimpleStatementLine(body=body.body)])


def _is_inert(statement: cst.BaseStatement) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    return all(isinstance(s, cst.Pass) or (isinstance(s, cst.Expr) and isinstance(s.value, cst.SimpleString))
               for s in statement.body)


def _call_name(node: cst.BaseExpression) -> str | None:
    """`Table` for `Table(...)`, `sa.Table(...)` and `sqlalchemy.Table(...)`."""
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def _positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


class _Transformer(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, module: cst.Module, version_table: str = "migrate_version",
                 helpers: Helpers | None = None) -> None:
        super().__init__()
        self._module = module
        self._helpers = helpers
        self._version_table = re.compile(rf"\b{re.escape(version_table)}\b")
        self.functions: dict[str, cst.FunctionDef] = {}
        self.operations: list[Operation] = []
        self.unsupported: list[Unsupported] = []
        self._scopes: list[_Scope] = []
        self.from_migrate: set[str] = set()
        self.migrate_modules: set[str] = set()  # `migrate`, `constraint`: their classes now come from SQLAlchemy
        self._function = ""
        self.migrate_star = False
        self.uses_changeset = False  # some call runs through the changeset layer

    # --- helpers -------------------------------------------------------------------

    def _code(self, node: cst.CSTNode) -> str:
        return self._module.code_for_node(node)

    def _arg(self, arg: cst.Arg) -> str:
        """An argument's code without the comma and the space that follow it."""
        return self._code(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))

    def _line(self, node: cst.CSTNode) -> int:
        line: int = self.get_metadata(PositionProvider, node).start.line
        return line

    def _scope(self) -> _Scope | None:
        return self._scopes[-1] if self._scopes else None

    def _engine(self) -> str:
        """The expression for the database connection in the current function."""
        scope = self._scope()
        return scope.engine if scope is not None and scope.engine else "op.get_bind()"

    def _is_engine(self, node: cst.BaseExpression) -> bool:
        scope = self._scope()
        return isinstance(node, cst.Name) and scope is not None and node.value == scope.engine

    def _resolve(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """A name's bound expression when the function bound it once to a call or column."""
        scope = self._scope()
        if isinstance(node, cst.Name) and scope is not None:
            return scope.bindings.get(node.value, node)
        return node

    def _kind(self, node: cst.BaseExpression) -> str | None:
        """table, column (of a table), new-column, index, a constraint kind, or None."""
        value = self._resolve(node)
        name = _call_name(value)
        if name == "Table":
            return "table"
        if name == "Column":
            return "new-column"
        if name == "Index":
            return "index"
        if name in CONSTRAINTS:
            return CONSTRAINTS[name]
        if self._column_of(value) is not None:
            return "column"
        return None

    def _column_of(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
        """(table expression, column name code) for `t.c.x`, `t.columns.x`, `t.c['x']`."""
        node = self._resolve(node)
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Attribute):
            if node.value.attr.value in ("c", "columns"):
                return node.value.value, repr(node.attr.value)
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute):
            if node.value.attr.value in ("c", "columns") and len(node.slice) == 1:
                index = node.slice[0].slice
                if isinstance(index, cst.Index):
                    return node.value.value, self._code(index.value)
        return None

    def _table_name(self, table: cst.BaseExpression) -> str:
        """Code for a table's name: the literal of `Table('x', ...)`, else `<table>.name`."""
        value = self._resolve(table)
        if _call_name(value) == "Table":
            assert isinstance(value, cst.Call)
            first = _positional(value)
            if first and isinstance(first[0].value, cst.SimpleString):
                return self._code(first[0].value)
        return f"{self._code(table)}.name"

    def _column_name(self, column: cst.BaseExpression) -> str:
        found = self._column_of(column)
        if found is not None:
            return found[1]
        value = self._resolve(column)
        if _call_name(value) == "Column" and _positional(value):  # type: ignore[arg-type]
            return self._code(_positional(value)[0].value)  # type: ignore[arg-type]
        if isinstance(column, cst.SimpleString):
            return self._code(column)
        code = self._code(column)
        return f"getattr({code}, 'name', {code})"  # migrate takes a column or its name

    def _done(self, node: cst.CSTNode, target: str) -> None:
        self.operations.append(Operation(self._line(node), self._code(node).strip(), target))

    def _refuse(self, node: cst.CSTNode, reason: str) -> None:
        self.unsupported.append(Unsupported(self._line(node), self._code(node).strip(), reason, self._function))

    # --- imports -------------------------------------------------------------------

    def leave_ImportFrom(
        self, original: cst.ImportFrom, updated: cst.ImportFrom
    ) -> cst.BaseSmallStatement | cst.RemovalSentinel:
        module = self._code(updated.module) if updated.module is not None else ""
        if module == "migrate" or module.startswith("migrate."):
            if isinstance(updated.names, cst.ImportStar):
                self.migrate_star = True
            else:
                for alias in updated.names:
                    name = alias.evaluated_alias or self._code(alias.name)
                    is_module = self._code(alias.name) in _MIGRATE_MODULES
                    (self.migrate_modules if is_module else self.from_migrate).add(name)
            return cst.RemoveFromParent()
        helper = self._helper_module(module, updated)
        if helper is not None:
            self.uses_changeset = True  # the helpers are found beside env.py, as the layer is
            self._done(original, f"from {helper} import ...")
            return updated.with_changes(module=cst.parse_expression(helper), relative=[])
        return updated

    def _helper_module(self, module: str, node: cst.ImportFrom) -> str | None:
        """`migrate_helpers.schema` for `from <pkg>.migrate_repo.schema import ...`, `migrate_helpers`
        for `from <pkg>.migrate_repo import schema`: the repository's helpers, translated beside env.py."""
        if self._helpers is None:
            return None
        parts = module.split(".")
        if len(parts) >= 2 and parts[-2] == self._helpers.folder and parts[-1] in self._helpers.modules:
            return f"{HELPERS_PACKAGE}.{parts[-1]}"
        names = [] if isinstance(node.names, cst.ImportStar) else [self._code(a.name) for a in node.names]
        if parts[-1] == self._helpers.folder and names and all(n in self._helpers.modules for n in names):
            return HELPERS_PACKAGE
        return None

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.BaseSmallStatement | cst.RemovalSentinel:
        gone = [a for a in updated.names if self._code(a.name).split(".")[0] == "migrate"]
        self.migrate_modules.update(a.evaluated_alias or self._code(a.name).split(".")[0] for a in gone)
        kept = [a for a in updated.names if a not in gone]
        if not kept:
            return cst.RemoveFromParent()
        return updated.with_changes(names=[*kept[:-1], kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)])

    # --- functions -----------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params.params
        main = not self._scopes and node.name.value in ("upgrade", "downgrade")
        engine = params[0].name.value if main and params else None
        if not main:
            engine = next((p.name.value for p in params if p.name.value in ("migrate_engine", "engine")), None)
        if not self._scopes:
            self._function = node.name.value if main else ""
        outer = self._scope()
        scope = _Scope(engine or (outer.engine if outer else None), dict(outer.bindings) if outer else {})
        for statement in _walk_assignments(node):
            target, value = statement
            scope.bindings[target] = value
        self._scopes.append(scope)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        scope = self._scopes.pop()
        if self._scopes or original.name.value not in ("upgrade", "downgrade"):
            return updated
        body = _indented(updated.body)
        statements = list(body.body)
        if scope.engine and _uses_name(body, scope.engine):
            statements.insert(_after_docstring(statements),
                              cst.parse_statement(f"{scope.engine} = op.get_bind()"))
        result = updated.with_changes(
            params=cst.Parameters(),
            returns=cst.Annotation(cst.Name("None")),
            body=body.with_changes(body=statements),
        )
        self.functions[original.name.value] = result
        return result

    # --- statements ----------------------------------------------------------------

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        if not self._scopes or len(updated.body) != 1:
            return updated
        small = updated.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Attribute) and target.attr.value == "bind":
                self._done(original, "(removed: alembic gives the connection)")
                return cst.RemoveFromParent()
        if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
            return updated
        original_small = original.body[0]
        assert isinstance(original_small, cst.Expr)
        replacement = self._changeset(original_small.value, small.value)
        if replacement is None:
            return updated
        try:
            statements = list(cst.parse_module(replacement + "\n").body)
        except cst.ParserSyntaxError:  # pragma: no cover (a bug of the converter; the line is kept and reported)
            self.operations.pop()
            self._refuse(original_small.value, "mig-lint wrote code for it that does not parse (please report it)")
            return updated
        statements[0] = statements[0].with_changes(leading_lines=updated.leading_lines)
        return cst.FlattenSentinel(statements)

    def _changeset(self, original: cst.BaseExpression, call: cst.Call) -> str | None:
        """The alembic code for a changeset call statement, or None to keep it."""
        if not isinstance(call.func, cst.Attribute):
            return None
        subject, method = call.func.value, call.func.attr.value
        kind = self._kind(subject)
        unstripped, before = call, len(self.unsupported)
        bound = [a for a in call.args if self._is_engine(a.value) and (a.keyword is None or a.keyword.value == "bind")]
        if bound and method in ("create", "drop", "create_all", "drop_all"):
            call = call.with_changes(args=[a for a in call.args if a not in bound])
        engine = self._engine()
        code = None
        if method == "create" and kind == "new-column":
            code = self._add_column(original, subject, call)
        elif method == "create_column" and call.args and self._kind(call.args[0].value) == "new-column":
            column = call.args[0].value
            code = self._add_column(original, column, call.with_changes(args=[cst.Arg(subject), *call.args[1:]]))
        elif method == "drop" and kind == "column":
            found = self._column_of(subject)
            assert found is not None
            code = _batch(self._table_name(found[0]), f"batch_op.drop_column({found[1]})")
        elif method == "drop_column" and call.args and kind == "table":
            code = _batch(self._table_name(subject), f"batch_op.drop_column({self._column_name(call.args[0].value)})")
        elif method == "alter" and kind == "column":
            code = self._alter(original, subject, call)
        elif method == "rename" and kind == "table" and len(call.args) == 1:
            code = f"op.rename_table({self._table_name(subject)}, {self._code(call.args[0].value)})"
        elif method == "rename" and kind == "column" and len(call.args) == 1:
            found = self._column_of(subject)
            assert found is not None
            options = [f"new_column_name={self._code(call.args[0].value)}", *self._existing(subject)]
            code = _batch(self._table_name(found[0]), f"batch_op.alter_column({found[1]}, {', '.join(options)})")
        elif method in ("create", "drop") and kind == "table" and not call.args:
            code = self._table_ddl(subject, method)
        elif method in ("create", "drop") and kind == "index" and not call.args:
            code = self._index_ddl(subject, method)
        elif method in ("create", "drop") and kind in CONSTRAINTS.values():
            code = self._constraint_ddl(original, subject, method)
        elif method in ("create_all", "drop_all") and not call.args:
            code = f"{self._code(subject)}.{method}({engine})"
        elif method in ("create", "drop") and kind == "table" and all(a.keyword is not None for a in call.args):
            code = f"{self._code(subject)}.{method}({', '.join([engine, *(self._arg(a) for a in call.args)])})"
        refused = len(self.unsupported) > before
        if code is None and not refused and method in _RUNTIME:
            code = self._runtime(unstripped, method)
        if code is not None:
            self._done(original, code)
        return code

    def _runtime(self, call: cst.Call, method: str) -> str:
        """The call as it is, on the changeset layer: the receiver is known when it runs."""
        assert isinstance(call.func, cst.Attribute)
        self.uses_changeset = True
        arguments = [self._code(call.func.value), *(self._arg(a) for a in call.args)]
        return f"changeset.{method}({', '.join(arguments)})"

    def _add_column(self, original: cst.BaseExpression, column: cst.BaseExpression, call: cst.Call) -> str | None:
        table_arg = _keyword(call, "table") or next(iter(_positional(call)), None)
        if table_arg is None:
            return None
        definition = self._resolve(column)
        if not _plain_column(definition) or not _table_is_object(table_arg.value):
            return None
        assert isinstance(definition, cst.Call)
        table = self._table_name(table_arg.value)
        # migrate adds the column to the table object too, and later code reads it there
        lines = [f"op.add_column({table}, {self._code(definition)})",
                 f"{self._code(table_arg.value)}.append_column({self._code(column)})"]
        default = _keyword(definition, "default")
        populate = _keyword(call, "populate_default")
        if default is not None and not (populate and self._code(populate.value) == "False"):
            lines.append(f"op.execute(sa.table({table}, sa.column({self._column_name(column)}))"
                         f".update().values({{{self._column_name(column)}: {self._code(default.value)}}}))")
        unique = _batch("{table}", "batch_op.create_unique_constraint({name}, [{column}])")
        for keyword, template in (("index_name", "op.create_index({name}, {table}, [{column}])"),
                                  ("unique_name", unique)):
            arg = _keyword(call, keyword)
            if arg is not None:
                lines.append(template.format(name=self._code(arg.value), table=table, column=self._column_name(column)))
        return "\n".join(lines)

    def _alter(self, original: cst.BaseExpression, subject: cst.BaseExpression, call: cst.Call) -> str | None:
        """`alter(...)` as migrate reads it: a string is the new name, another positional the new type."""
        found = self._column_of(subject)
        assert found is not None
        renames = {"name": "new_column_name", "type": "type_", "nullable": "nullable",
                   "server_default": "server_default", "autoincrement": "autoincrement"}
        options = []
        for arg in call.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == "default":
                continue  # a Python-side default: nothing in the database changes
            if keyword is None and _call_name(arg.value) == "Column":
                return None
            if keyword is None:
                keyword = "name" if isinstance(arg.value, (cst.SimpleString, cst.ConcatenatedString)) else "type"
            if keyword not in renames:
                self._refuse(original, f"alter({keyword}=...) has no alembic alter_column option: "
                             "keys and uniqueness change with create_primary_key / create_unique_constraint")
                return None
            options.append(f"{renames[keyword]}={self._code(arg.value)}")
        return _batch(self._table_name(found[0]),
                      f"batch_op.alter_column({found[1]}, {', '.join(options + self._existing(subject))})")

    def _existing(self, column: cst.BaseExpression) -> list[str]:
        """What the column is before the change, read from it at run time (MySQL's CHANGE needs it)."""
        code = self._code(column)
        return [f"existing_type={code}.type", f"existing_nullable={code}.nullable",
                f"existing_server_default={code}.server_default"]

    def _table_ddl(self, table: cst.BaseExpression, method: str) -> str:
        if method == "drop":
            return f"op.drop_table({self._table_name(table)})"
        definition = self._resolve(table)
        assert isinstance(definition, cst.Call)
        args = _positional(definition)
        options = [a for a in definition.args if a.keyword is not None]
        reflected = any(a.keyword is not None and a.keyword.value.startswith("autoload") for a in options)
        starred = any(a.star for a in definition.args)
        if len(args) >= 3 and not reflected and not starred and all(_call_name(a.value) for a in args[2:]):
            parts = [self._code(args[0].value), *[self._code(a.value) for a in args[2:]],
                     *[self._arg(a) for a in options]]
            return f"op.create_table({', '.join(parts)})"
        return f"{self._code(table)}.create({self._engine()})"

    def _index_ddl(self, index: cst.BaseExpression, method: str) -> str:
        definition = self._resolve(index)
        assert isinstance(definition, cst.Call)
        args = _positional(definition)
        columns = [self._column_of(a.value) for a in args[1:]]
        if not args or not columns or any(c is None for c in columns):
            return f"{self._code(index)}.{method}({self._engine()})"
        table = self._table_name(columns[0][0])  # type: ignore[index]
        name = self._code(args[0].value)
        if method == "drop":
            return f"op.drop_index({name}, table_name={table})"
        extra = [self._arg(a) for a in definition.args if a.keyword is not None]
        listed = ", ".join(c[1] for c in columns if c is not None)
        return f"op.create_index({', '.join([name, table, f'[{listed}]', *extra])})"

    def _constraint_ddl(self, original: cst.BaseExpression, constraint: cst.BaseExpression, method: str) -> str | None:
        definition = self._resolve(constraint)
        assert isinstance(definition, cst.Call)
        kind = CONSTRAINTS[_call_name(definition) or ""]
        columns, refcolumns = self._constraint_columns(definition, kind)
        table_arg = _keyword(definition, "table")
        table_expr = table_arg.value if table_arg is not None else (columns[0][0] if columns and columns[0] else None)
        if kind == "foreignkey" and (table_expr is None or not refcolumns or None in columns + refcolumns):
            return self._computed_foreign_key(original, definition, method)
        if table_expr is None or any(c is None for c in columns):
            return None
        table = self._table_name(table_expr)
        names = [c[1] for c in columns if c is not None]
        name_arg = _keyword(definition, "name")
        if name_arg is not None and not _is_text(name_arg.value):
            return None  # a name read at run time may be None (SQLite reflects keys unnamed): the layer decides
        name = self._code(name_arg.value) if name_arg is not None else _autoname(kind, table, names)
        if name is None:
            return None
        if method == "drop":
            return _batch(table, f"batch_op.drop_constraint({name}, type_={kind!r})")
        if kind == "foreignkey":
            referred = self._table_name(refcolumns[0][0])  # type: ignore[index]
            options = ("ondelete", "onupdate", "deferrable", "initially")
            extra = [self._arg(a) for a in definition.args
                     if a.keyword is not None and a.keyword.value in options]
            listed = ", ".join(c[1] for c in refcolumns if c is not None)
            arguments = [name, referred, "[" + ", ".join(names) + "]", f"[{listed}]", *extra]
            call = f"batch_op.create_foreign_key({', '.join(arguments)})"
        elif kind == "unique":
            call = f"batch_op.create_unique_constraint({name}, [{', '.join(names)}])"
        elif kind == "primary":
            call = f"batch_op.create_primary_key({name}, [{', '.join(names)}])"
        else:
            sqltext = _positional(definition)
            call = f"batch_op.create_check_constraint({name}, {self._code(sqltext[0].value)})"
        return _batch(table, call)

    def _computed_foreign_key(self, original: cst.BaseExpression, call: cst.Call, method: str) -> str | None:
        """A foreign key whose columns are computed (`columns=_columns(table, names)`): named at run time."""
        positional = [a.value for a in _positional(call)]
        columns = _keyword(call, "columns")
        refcolumns = _keyword(call, "refcolumns")
        source = columns.value if columns else (positional[0] if positional else None)
        target = refcolumns.value if refcolumns else (positional[1] if len(positional) > 1 else None)
        if source is None or target is None:
            return None
        cols, refs = f"list({self._code(source)})", f"list({self._code(target)})"
        table = f"{cols}[0].table.name"
        name_arg = _keyword(call, "name")
        if name_arg is not None and not _is_text(name_arg.value):
            return None
        name = (self._code(name_arg.value) if name_arg is not None
                else _autoname("foreignkey", table, [f"{cols}[0].name"]) or "")
        if method == "drop":
            return _batch(table, f"batch_op.drop_constraint({name}, type_='foreignkey')")
        options = ("ondelete", "onupdate", "deferrable", "initially")
        extra = [self._arg(a) for a in call.args if a.keyword is not None and a.keyword.value in options]
        arguments = [name, f"{refs}[0].table.name", f"[c.name for c in {cols}]", f"[c.name for c in {refs}]", *extra]
        return _batch(table, f"batch_op.create_foreign_key({', '.join(arguments)})")

    def _constraint_columns(
        self, call: cst.Call, kind: str
    ) -> tuple[list[tuple[cst.BaseExpression, str] | None], list[tuple[cst.BaseExpression, str] | None]]:
        table_arg = _keyword(call, "table")

        def column(node: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
            found = self._column_of(node)
            if found is None and isinstance(node, cst.SimpleString) and table_arg is not None:
                return table_arg.value, self._code(node)
            return found

        def listed(node: cst.BaseExpression | None) -> list[tuple[cst.BaseExpression, str] | None]:
            if isinstance(node, (cst.List, cst.Tuple)):
                return [column(e.value) for e in node.elements]
            return [] if node is None else [None]

        positional = [a.value for a in _positional(call)]
        if kind == "foreignkey":
            cols = _keyword(call, "columns")
            refs = _keyword(call, "refcolumns")
            return (listed(cols.value if cols else (positional[0] if positional else None)),
                    listed(refs.value if refs else (positional[1] if len(positional) > 1 else None)))
        if kind == "check":
            cols = _keyword(call, "columns")
            return listed(cols.value) if cols else [], []
        return [column(node) for node in positional], []

    # --- expressions -----------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        name = _call_name(updated)
        if name == "MetaData":
            args = [a for a in updated.args if a.keyword is None or a.keyword.value != "bind"]
            if args and args[0].keyword is None:
                args = args[1:]
            if len(args) != len(updated.args):
                self._done(original, "MetaData()")
                return updated.with_changes(args=_no_trailing_comma(args))
        if name == "Table":
            autoload = _keyword(updated, "autoload")
            if autoload is not None:
                has_with = _keyword(updated, "autoload_with") is not None
                args = [a for a in updated.args if a is not autoload]
                if not has_with and self._code(autoload.value) != "False":
                    args.append(cst.Arg(cst.parse_expression(self._engine()), keyword=cst.Name("autoload_with"),
                                        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))))
                self._done(original, "Table(..., autoload_with=...)")
                return updated.with_changes(args=_no_trailing_comma(args))
        if name == "select" and len(updated.args) == 1 and isinstance(updated.args[0].value, cst.List):
            columns = [cst.Arg(e.value) for e in updated.args[0].value.elements]
            self._done(original, "select(...) (SQLAlchemy 2 style, also valid on 1.4)")
            return updated.with_changes(args=_no_trailing_comma(columns))
        if name == "select" and _old_select(updated):
            return self._on_layer(original, updated, "select_", [])
        if isinstance(updated.func, cst.Attribute):
            return self._method_call(original, updated, updated.func.value, updated.func.attr.value)
        if name in _STATEMENT_FUNCTIONS and _old_statement_arguments(updated, function=True):
            return self._on_layer(original, updated, name, [])
        return updated

    def _method_call(self, original: cst.Call, updated: cst.Call, receiver: cst.BaseExpression,
                     method: str) -> cst.BaseExpression:
        """SQLAlchemy 1.x calls: implicit execution, Engine-only API on the connection, old arguments."""
        if isinstance(receiver, cst.Name) and receiver.value in ("sa", "sqlalchemy", "sql", "expression"):
            if method in _STATEMENT_FUNCTIONS and _old_statement_arguments(updated, function=True):
                return self._on_layer(original, updated, method, [])
            return updated
        if self._is_engine(receiver):
            code = self._code(receiver)
            if method == "has_table":
                self._done(original, "sa.inspect(bind).has_table(...)")
                return updated.with_changes(func=cst.parse_expression(f"sa.inspect({code}).has_table"))
            if method == "table_names" and not updated.args:
                self._done(original, "sa.inspect(bind).get_table_names()")
                return cst.parse_expression(f"sa.inspect({code}).get_table_names()")
            if method in ("connect", "begin") and not updated.args:
                return self._on_layer(original, updated, method, [receiver])
        if method == "execute" and updated.args:
            first = updated.args[0]
            if self._is_engine(receiver) and first.keyword is None and _is_text(first.value):
                wrapped = cst.Call(cst.parse_expression("sa.text"), [cst.Arg(first.value)])
                self._done(original, "execute(sa.text(...))")
                return updated.with_changes(args=[first.with_changes(value=wrapped), *updated.args[1:]])
            if self._is_engine(receiver) and _is_statement(first.value) and len(updated.args) <= 2 and all(
                    a.keyword is None and not a.star for a in updated.args):
                return updated
        if method in ("execute", "scalar") and not _is_call_of(receiver, ("execute", "connect", "begin")):
            return self._on_layer(original, updated, method, [receiver])
        if method == "count" and (not updated.args or self._kind(receiver) == "table"):
            return self._on_layer(original, updated, method, [receiver])  # 1.x's Table.count(whereclause)
        if method in _STATEMENT_FUNCTIONS and _old_statement_arguments(updated, function=False):
            if not isinstance(self._resolve(receiver), (cst.Dict, cst.Set, cst.DictComp, cst.SetComp, cst.List)):
                return self._on_layer(original, updated, method, [receiver])
        if method == "reflect" and self._scope() is not None and self._scope().engine and not any(  # type: ignore[union-attr]
                a.keyword is None or a.keyword.value == "bind" for a in updated.args):
            bind = cst.Arg(cst.parse_expression(self._engine()), keyword=cst.Name("bind"),
                           equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
            self._done(original, "MetaData.reflect(bind=...)")
            return updated.with_changes(args=[*_no_trailing_comma(updated.args), bind] if updated.args else [bind])
        return updated

    def _on_layer(self, original: cst.Call, updated: cst.Call, function: str,
                  first: list[cst.BaseExpression]) -> cst.BaseExpression:
        """`changeset.<function>(<first>, <the call's arguments>)`: decided when it runs."""
        self.uses_changeset = True
        self._done(original, f"changeset.{function}(...)")
        args = [*(cst.Arg(value) for value in first), *updated.args]
        return cst.Call(cst.parse_expression(f"changeset.{function}"), _no_trailing_comma(
            [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]))

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        if not self._scopes or not self._version_table.search(updated.value):
            return updated
        self._done(original, "alembic_version (the string named migrate's version table)")
        return updated.with_changes(value=self._version_table.sub("alembic_version", updated.value))

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if (isinstance(updated.value, cst.Name) and updated.value.value in self.migrate_modules
                and updated.attr.value in _FROM_SQLALCHEMY):
            self.from_migrate.add(updated.attr.value)
            return updated.attr
        if updated.attr.value == "name" and self._is_engine(updated.value):
            self._done(original, "op.get_context().dialect.name")
            return cst.parse_expression("op.get_context().dialect.name")
        if updated.attr.value == "url" and self._is_engine(updated.value):
            self._done(original, "bind.engine.url")
            return cst.parse_expression(f"{self._code(updated.value)}.engine.url")
        return updated


def _walk_assignments(function: cst.FunctionDef) -> list[tuple[str, cst.BaseExpression]]:
    """The names whose value is provable from the source: bound once in the function, by a
    plain `name = value` outside any loop, and the value they are bound to. A name bound
    twice, in a loop, as a loop or `with` variable, by unpacking or augmented assignment
    holds what only the run knows (migrate's calls on it go through the changeset layer)."""
    single: dict[str, cst.BaseExpression] = {}
    bound: collections.Counter[str] = collections.Counter()
    loops = 0

    class Collector(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_For(self, node: cst.For) -> None:
            nonlocal loops
            loops += 1
            _count_targets(node.target, bound)

        def leave_For(self, node: cst.For) -> None:
            nonlocal loops
            loops -= 1

        def visit_While(self, node: cst.While) -> None:
            nonlocal loops
            loops += 1

        def leave_While(self, node: cst.While) -> None:
            nonlocal loops
            loops -= 1

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                _count_targets(target.target, bound)
            if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name) and not loops:
                single[node.targets[0].target.value] = node.value

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            _count_targets(node.target, bound, twice=True)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            _count_targets(node.target, bound, twice=True)

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None:
                _count_targets(node.asname.name, bound, twice=True)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            _count_targets(node.target, bound, twice=True)

        def visit_CompFor(self, node: cst.CompFor) -> None:
            _count_targets(node.target, bound, twice=True)

    function.visit(Collector())
    provable = {name: value for name, value in single.items() if bound[name] == 1}
    changed = True
    while changed:  # a value is copied to where the name is used: its own names must not have moved
        changed = False
        for name, value in list(provable.items()):
            if any(bound[used] and used not in provable for used in _names(value)):
                del provable[name]
                changed = True
    return list(provable.items())


def _count_targets(target: cst.BaseExpression, bound: collections.Counter[str], twice: bool = False) -> None:
    """Count the names a target binds (`twice`: a form whose value the source cannot give)."""
    if isinstance(target, cst.Name):
        bound[target.value] += 2 if twice else 1
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:  # `*rest` too: its element's value is the name
            _count_targets(element.value, bound, twice=True)


def _plain_column(node: cst.BaseExpression) -> bool:
    """A `Column(...)` written out whose ADD COLUMN alembic issues as migrate did: no foreign
    key (SQLite rebuilds the table for one), no `unique=` / `index=` / `primary_key=` flag
    (migrate creates only the named `unique_name` / `index_name`), a literal default."""
    assert isinstance(node, cst.Call) and _call_name(node) == "Column"
    if any(_call_name(a.value) == "ForeignKey" or a.star for a in node.args):
        return False
    flags = [a for a in node.args if a.keyword is not None and a.keyword.value in ("unique", "index", "primary_key")]
    if any(not (isinstance(a.value, cst.Name) and a.value.value in ("False", "None")) for a in flags):
        return False
    default = _keyword(node, "default")
    literal = (cst.SimpleString, cst.Integer, cst.Float)
    return default is None or isinstance(default.value, literal) or (
        isinstance(default.value, cst.Name) and default.value.value in ("True", "False", "None"))


def _table_is_object(node: cst.BaseExpression) -> bool:
    """`col.create(table)` takes a Table; a string there is an error migrate raises at run time."""
    return not isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))


_STATEMENT_FUNCTIONS = ("update", "insert", "delete")
# calls that build a SQL statement: `engine.execute(<one of these>)` is valid on SQLAlchemy 2 as well
_STATEMENT_BUILDERS = frozenset({"select", "insert", "update", "delete", "text", "values", "where", "order_by",
                                 "limit", "group_by", "select_from", "returning", "join", "outerjoin", "distinct",
                                 "filter", "filter_by", "union", "union_all", "with_only_columns", "execution_options"})


def _is_statement(node: cst.BaseExpression) -> bool:
    """A call that builds a statement (`t.insert()`, `sa.text(...)`, `select(...).where(...)`)."""
    return _call_name(node) in _STATEMENT_BUILDERS


def _is_call_of(node: cst.BaseExpression, methods: Sequence[str]) -> bool:
    return _call_name(node) in methods


def _old_statement_arguments(call: cst.Call, function: bool) -> bool:
    """`values=` / `whereclause=`, or positional arguments, to `insert`/`update`/`delete`:
    SQLAlchemy 1.x only (`t.update(whereclause, values)`, `update(t, whereclause, values)`)."""
    if any(a.keyword is not None and a.keyword.value in ("values", "whereclause") for a in call.args):
        return True
    positional = [a for a in call.args if a.keyword is None]
    return len(positional) > (1 if function else 0)


def _old_select(call: cst.Call) -> bool:
    """`select([columns], whereclause, ...)` or `select(..., whereclause=, from_obj=...)`: 1.x only."""
    keywords = {a.keyword.value for a in call.args if a.keyword is not None}
    if keywords & {"whereclause", "from_obj", "columns"}:
        return True
    positional = [a for a in call.args if a.keyword is None]
    return bool(positional) and isinstance(positional[0].value, (cst.List, cst.ListComp)) and (
        len(positional) > 1 or bool(keywords))


def _uses_name(node: cst.CSTNode, name: str) -> bool:
    return name in _names(node)


def _after_docstring(statements: Sequence[cst.BaseStatement]) -> int:
    first = statements[0] if statements else None
    if isinstance(first, cst.SimpleStatementLine) and isinstance(first.body[0], cst.Expr):
        if isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
            return 1
    return 0


def _is_text(node: cst.BaseExpression) -> bool:
    """A str for sure: a literal, an f-string, `'...' % x`, `'...'.format(...)`, concatenations, `a if c else b`."""
    if isinstance(node, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return not (isinstance(node, cst.SimpleString) and node.prefix.lower().startswith("b"))
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Modulo, cst.Add)):
        return _is_text(node.left)
    if isinstance(node, cst.IfExp):
        return _is_text(node.body) and _is_text(node.orelse)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
        return _is_text(node.func.value)
    return False


def _no_trailing_comma(args: Sequence[cst.Arg]) -> list[cst.Arg]:
    if not args:
        return []
    return [*args[:-1], args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]


def _batch(table: str, operation: str) -> str:
    """An operation in batch mode: plain ALTER where the database has it, a table rebuild on SQLite."""
    return f"with op.batch_alter_table({table}) as batch_op:\n    {operation}"


def _autoname(kind: str, table: str, columns: Sequence[str]) -> str | None:
    """The name migrate gives a constraint created without one (its `autoname`), as code."""
    if kind == "check":
        if not columns:
            return None
        parts = [table, *columns, "'check'"]
    elif kind == "primary":
        parts = [table, "'pkey'"]
    else:
        parts = [table, columns[0], "'fkey'" if kind == "foreignkey" else "'key'"]
    if all(_is_literal(p) for p in parts):
        return repr("_".join(p[1:-1] for p in parts))
    return f"'_'.join([{', '.join(parts)}])"  # any expression, on any Python (no nested f-string quotes)


def _is_literal(code: str) -> bool:
    return len(code) >= 2 and code[0] == code[-1] and code[0] in "'\"" and code[0] not in code[1:-1]


def _names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    node.visit(Names())
    return found
