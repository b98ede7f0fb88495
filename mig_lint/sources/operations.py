"""What a revision's `upgrade()` does to the schema, read statically: alembic's `op.*` and
`batch_alter_table` calls, the SQL of `op.execute("...")`, and, for a migrate script, the
same calls in its conversion (`mig-lint convert`'s analyzer turns its changeset calls into
alembic operations: one reading of operations for both).

Nothing is run. A table or column named by an expression is kept as None; a call the
reader does not know is not reported. The ML6xx rules decide what is unsafe.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace

from mig_lint.model import SLOTS

# Kinds of change; `sql` says it came from a statement in op.execute.
KINDS = ("create_table", "drop_table", "rename_table", "add_column", "drop_column", "alter_column",
         "rename_column", "create_index", "drop_index", "create_unique", "create_foreign_key", "create_check",
         "create_primary_key", "drop_constraint", "validate_constraint")
_VOLATILE = re.compile(r"\b(random|gen_random_uuid|uuid_generate_v[14]|clock_timestamp|timeofday|nextval)\s*\(",
                       re.IGNORECASE)
_SHOWN = 100
# How code that branches on the database names it (`bind.dialect.name == "mysql"`, `url.startswith("postgres")`).
_DIALECT_NAMES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql", "mariadb": "mariadb",
                  "sqlite": "sqlite", "oracle": "oracle", "mssql": "mssql"}


@dataclass(frozen=True, **SLOTS)
class SchemaChange:
    """One schema change of `upgrade()`: what, where, and the facts the ML6xx rules read."""

    kind: str
    line: int
    statement: str  # the call (or SQL) as written, on one line, shortened
    table: str | None = None
    column: str | None = None
    facts: frozenset[str] = frozenset()  # not-null, server-default, volatile-default, concurrently, autocommit,
    # not-valid, type, nullable-false, new-table (the table was created earlier in this upgrade), sql
    dialects: frozenset[str] = frozenset()  # in a branch taken only on these databases; () = on every one
    name: str | None = None  # the constraint's or index's name, when written as a literal


def schema_changes(text: str) -> tuple[SchemaChange, ...]:
    """The changes of the `upgrade()` of an alembic script's text; () when it does not parse."""
    if "def upgrade" not in text:
        return ()
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return ()
    defined = [s for s in module.body if isinstance(s, ast.FunctionDef) and s.name == "upgrade"]
    upgrade = defined[-1] if defined else None  # the last definition is the one Python keeps
    if upgrade is None:
        return ()
    upgrade = _with_constants(upgrade, _module_constants(module, upgrade))
    return _with_new_tables(tuple(_Reader(text).read(upgrade.body, {}, False, frozenset())))


def _module_constants(module: ast.Module, upgrade: ast.FunctionDef) -> dict[str, str]:
    """`TABLE_NAME = 'ports'` at module level (the last assignment wins), unless upgrade() assigns the name."""
    local = {n.id for n in ast.walk(upgrade) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    constants: dict[str, str] = {}
    for statement in module.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name) and statement.targets[0].id not in local:
            value = statement.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                constants[statement.targets[0].id] = value.value
            else:
                constants.pop(statement.targets[0].id, None)
    return constants


def _with_constants(upgrade: ast.FunctionDef, constants: dict[str, str]) -> ast.FunctionDef:
    """upgrade() with the module's string constants read as the literals they hold."""

    class Inline(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            if isinstance(node.ctx, ast.Load) and node.id in constants:
                return ast.copy_location(ast.Constant(constants[node.id]), node)
            return node

    inlined = Inline().visit(upgrade)
    assert isinstance(inlined, ast.FunctionDef)
    return inlined


def _with_new_tables(changes: tuple[SchemaChange, ...]) -> tuple[SchemaChange, ...]:
    """Mark changes to a table created earlier in the same upgrade: nobody reads or writes it yet."""
    created: set[str] = set()
    marked = []
    for change in changes:
        if change.table is not None and change.table in created and change.kind != "create_table":
            change = replace(change, facts=change.facts | {"new-table"})
        if change.kind == "create_table" and change.table is not None:
            created.add(change.table)
        marked.append(change)
    return tuple(marked)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]  # where each line starts: a call's source without ast.get_source_segment's re-split
        at = text.find("\n")
        while at != -1:
            self.starts.append(at + 1)
            at = text.find("\n", at + 1)

    def source(self, node: ast.expr) -> str:
        end_line = node.end_lineno or node.lineno
        start = self.starts[node.lineno - 1] + self._column(node.lineno, node.col_offset)
        end = self.starts[end_line - 1] + self._column(end_line, node.end_col_offset or 0)
        return self.text[start:end]

    def _column(self, line: int, offset: int) -> int:
        """ast's column (UTF-8 bytes) as a position in the line's text."""
        start = self.starts[line - 1]
        text = self.text[start:start + offset]
        return offset if text.isascii() else len(text.encode("utf-8")[:offset].decode("utf-8", "ignore"))

    def read(self, body: list[ast.stmt], batches: dict[str, str | None], autocommit: bool,
             dialects: frozenset[str]) -> Iterator[SchemaChange]:
        """The changes of `body` in order; `batches` maps a batch alias to its table, `dialects` says
        which databases run `body` (() = every one)."""
        for statement in body:
            if isinstance(statement, ast.If):
                taken, other = _branch_dialects(statement.test)
                yield from self._calls(statement.test, batches, autocommit, dialects)
                yield from self.read(statement.body, batches, autocommit, taken or dialects)
                yield from self.read(statement.orelse, batches, autocommit, other or dialects)
                continue
            if isinstance(statement, (ast.With, ast.AsyncWith)):
                inner = dict(batches)
                inner_autocommit = autocommit
                for item in statement.items:
                    call = item.context_expr
                    if _is_op_call(call, "batch_alter_table") and isinstance(item.optional_vars, ast.Name):
                        assert isinstance(call, ast.Call)
                        inner[item.optional_vars.id] = _literal(_argument(call, 0, "table_name"))
                    elif _attribute_name(call) == "autocommit_block":
                        inner_autocommit = True
                yield from self.read(statement.body, inner, inner_autocommit, dialects)
                continue
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            bodies = [getattr(statement, "body", None), *(h.body for h in getattr(statement, "handlers", []))]
            bodies += [getattr(statement, name, None) for name in ("orelse", "finalbody")]
            nested = [b for b in bodies if isinstance(b, list) and b]
            heads = [v for name, v in ast.iter_fields(statement)
                     if name not in ("body", "orelse", "finalbody", "handlers") and isinstance(v, ast.AST)]
            for head in heads if nested else [statement]:
                yield from self._calls(head, batches, autocommit, dialects)
            for inner_body in nested:
                yield from self.read(inner_body, batches, autocommit, dialects)

    def _calls(self, node: ast.AST, batches: dict[str, str | None], autocommit: bool,
               dialects: frozenset[str]) -> Iterator[SchemaChange]:
        for call in _expression_calls(node):
            change = self.change(call, batches, autocommit, dialects)
            if change is not None:
                yield change

    def change(self, call: ast.Call, batches: dict[str, str | None], autocommit: bool,
               dialects: frozenset[str]) -> SchemaChange | None:
        func = call.func
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
            return None
        receiver, method = func.value.id, func.attr
        if receiver == "op":
            change = _op_change(call, method, None, batched=False)
        elif receiver in batches:
            change = _op_change(call, method, batches[receiver], batched=True)
        elif method in ("execute", "exec_driver_sql"):  # a connection's: the SQL is read as op.execute's
            change = _sql_change(_literal(_argument(call, 0, "statement")))
        else:
            return None
        if change is None:
            return None
        statement = _one_line(self.source(call))
        facts = change.facts | ({"autocommit"} if autocommit else set())
        return replace(change, line=call.lineno, statement=statement, facts=frozenset(facts), dialects=dialects)


def _branch_dialects(test: ast.expr) -> tuple[frozenset[str], frozenset[str]]:
    """The databases that take an `if`'s body and its `else`, when the test compares with dialect names:
    `name == 'mysql'`, `name in ('mysql', 'mariadb')`, `url.startswith('postgres')`, their negations."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        taken, other = _branch_dialects(test.operand)
        return other, taken
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        named = _dialects_named(test.comparators[0])
        if isinstance(test.ops[0], (ast.Eq, ast.In)):
            return named, frozenset()
        if isinstance(test.ops[0], (ast.NotEq, ast.NotIn)):
            return frozenset(), named
    if isinstance(test, ast.Call) and _attribute_name(test) == "startswith" and len(test.args) == 1:
        prefix = test.args[0]
        if isinstance(prefix, ast.Constant) and isinstance(prefix.value, str):
            name = next((n for n in _DIALECT_NAMES if prefix.value.lower().startswith(n)), None)
            return (frozenset({_DIALECT_NAMES[name]}) if name else frozenset()), frozenset()
    return frozenset(), frozenset()


def _dialects_named(node: ast.expr) -> frozenset[str]:
    """The dialects a literal (or a tuple, list or set of literals) names; () unless every one is a dialect."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    names = [i.value.lower() for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]
    if not items or len(names) != len(items) or any(n not in _DIALECT_NAMES for n in names):
        return frozenset()
    return frozenset(_DIALECT_NAMES[n] for n in names)


def _expression_calls(node: ast.AST) -> Iterator[ast.Call]:
    found = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
    yield from sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _op_change(call: ast.Call, method: str, batch_table: str | None, batched: bool) -> SchemaChange | None:
    """The change an `op.<method>(...)` (or `batch_op.<method>(...)`) call makes, from its arguments."""
    shift = 1 if batched else 0  # a batch call has no table argument

    def table() -> str | None:
        return batch_table if batched else _literal(_argument(call, 0, "table_name"))

    if method == "create_table":
        return SchemaChange("create_table", 0, "", _literal(_argument(call, 0, "table_name")))
    if method == "drop_table":
        return SchemaChange("drop_table", 0, "", _literal(_argument(call, 0, "table_name")))
    if method == "rename_table":
        return SchemaChange("rename_table", 0, "", _literal(_argument(call, 0, "old_table_name")))
    if method == "add_column":
        column = _argument(call, 1 - shift, "column")
        return SchemaChange("add_column", 0, "", table(), *_column_facts(column))
    if method == "drop_column":
        return SchemaChange("drop_column", 0, "", table(), _literal(_argument(call, 1 - shift, "column_name")))
    if method == "alter_column":
        return _alter(call, table(), _literal(_argument(call, 1 - shift, "column_name")))
    if method == "create_index":
        on = batch_table if batched else _literal(_argument(call, 1, "table_name"))
        facts = {"concurrently"} if _is_true(_keyword(call, "postgresql_concurrently")) else set()
        if _is_true(_keyword(call, "unique")):
            facts.add("unique")
        return SchemaChange("create_index", 0, "", on, None, frozenset(facts),
                            name=_literal(_argument(call, 0, "index_name")))
    if method == "drop_index":
        on = batch_table if batched else _literal(_keyword(call, "table_name") or _argument(call, 1, "table_name"))
        return SchemaChange("drop_index", 0, "", on)
    if method in ("create_unique_constraint", "create_foreign_key", "create_check_constraint",
                  "create_primary_key"):
        kind = {"create_unique_constraint": "create_unique", "create_foreign_key": "create_foreign_key",
                "create_check_constraint": "create_check", "create_primary_key": "create_primary_key"}[method]
        facts = {"not-valid"} if _is_true(_keyword(call, "postgresql_not_valid")) else set()
        names = {"create_foreign_key": "source_table"}.get(method, "table_name")
        on = batch_table if batched else _literal(_argument(call, 1, names))
        name = _literal(_argument(call, 0, "constraint_name"))
        return SchemaChange(kind, 0, "", on, None, frozenset(facts), name=name)
    if method == "drop_constraint":
        on = batch_table if batched else _literal(_argument(call, 1, "table_name"))
        return SchemaChange("drop_constraint", 0, "", on)
    if method == "execute" and not batched:
        return _sql_change(_literal(_argument(call, 0, "sqltext")))
    return None


def _alter(call: ast.Call, table: str | None, column: str | None) -> SchemaChange:
    facts = set()
    if _keyword(call, "type_") is not None:
        facts.add("type")
    if _is_false(_keyword(call, "nullable")):
        facts.add("nullable-false")
    if _keyword(call, "new_column_name") is not None:
        return SchemaChange("rename_column", 0, "", table, column, frozenset(facts))
    return SchemaChange("alter_column", 0, "", table, column, frozenset(facts))


def _column_facts(column: ast.expr | None) -> tuple[str | None, frozenset[str]]:
    """The name of a `Column(...)` and what the rules read of it."""
    if not isinstance(column, ast.Call):
        return None, frozenset()
    facts = set()
    if _is_false(_keyword(column, "nullable")) or _is_true(_keyword(column, "primary_key")):
        facts.add("not-null")
    default = _keyword(column, "server_default")
    if default is not None and not _is_none(default):
        facts.add("server-default")
        if _VOLATILE.search(ast.unparse(default)):
            facts.add("volatile-default")
    if any(_attribute_name(arg) == "ForeignKey" or (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name)
                                                   and arg.func.id == "ForeignKey") for arg in column.args):
        facts.add("foreign-key")  # alembic adds it with ADD FOREIGN KEY, validated at once
    return _literal(_argument(column, 0, "name")), frozenset(facts)


# --- SQL in op.execute ---------------------------------------------------------------------

_SQL = (
    (re.compile(r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+ON\s+(?:ONLY\s+)?"
                r"([\w.\"]+)", re.I | re.S), "create_index"),
    (re.compile(r"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([\w.\"]+)", re.I), "drop_table"),
    (re.compile(r"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?([\w.\"]+)\s+(.*)$", re.I | re.S), "alter_table"),
)
_ALTER_ACTIONS = (
    (re.compile(r"^ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?!CONSTRAINT\b)(\w+)", re.I), "add_column"),
    (re.compile(r"^DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(?!CONSTRAINT\b)(\w+)", re.I), "drop_column"),
    (re.compile(r"^RENAME\s+TO\s+", re.I), "rename_table"),
    (re.compile(r"^RENAME\s+(?:COLUMN\s+)?(\w+)\s+TO\s+", re.I), "rename_column"),
    (re.compile(r"^ALTER\s+(?:COLUMN\s+)?(\w+)\s+(?:SET\s+DATA\s+)?TYPE\b", re.I), "alter_type"),
    (re.compile(r"^ALTER\s+(?:COLUMN\s+)?(\w+)\s+SET\s+NOT\s+NULL", re.I), "set_not_null"),
    (re.compile(r"^ADD\s+(?:CONSTRAINT\s+(\w+)\s+)?FOREIGN\s+KEY", re.I), "create_foreign_key"),
    (re.compile(r"^ADD\s+(?:CONSTRAINT\s+(\w+)\s+)?CHECK\b", re.I), "create_check"),
    (re.compile(r"^ADD\s+(?:CONSTRAINT\s+\w+\s+)?UNIQUE\b", re.I), "create_unique"),
    (re.compile(r"^DROP\s+CONSTRAINT\b", re.I), "drop_constraint"),
    (re.compile(r"^VALIDATE\s+CONSTRAINT\s+(\w+)", re.I), "validate_constraint"),
)


def _sql_change(sql: str | None) -> SchemaChange | None:
    """The change a literal SQL statement makes, when it is one the rules read."""
    if sql is None:
        return None
    for pattern, kind in _SQL:
        match = pattern.match(sql)
        if match is None:
            continue
        if kind == "create_index":
            facts = {"sql"} | ({"unique"} if match.group(1) else set())
            facts |= {"concurrently"} if match.group(2) else set()
            return SchemaChange("create_index", 0, "", _sql_name(match.group(3)), None, frozenset(facts))
        if kind == "drop_table":
            return SchemaChange("drop_table", 0, "", _sql_name(match.group(1)), None, frozenset({"sql"}))
        return _alter_table_sql(_sql_name(match.group(1)), match.group(2).strip())
    return None


def _alter_table_sql(table: str, action: str) -> SchemaChange | None:
    for pattern, kind in _ALTER_ACTIONS:
        match = pattern.match(action)
        if match is None:
            continue
        column = match.group(1) if match.groups() else None
        facts = {"sql"}
        if kind == "add_column":
            if re.search(r"\bNOT\s+NULL\b", action, re.I) or re.search(r"\bPRIMARY\s+KEY\b", action, re.I):
                facts.add("not-null")
            if re.search(r"\bDEFAULT\b", action, re.I):
                facts.add("server-default")
                if _VOLATILE.search(action):
                    facts.add("volatile-default")
        if kind in ("create_foreign_key", "create_check") and re.search(r"\bNOT\s+VALID\b", action, re.I):
            facts.add("not-valid")
        if kind == "alter_type":
            return SchemaChange("alter_column", 0, "", table, column, frozenset(facts | {"type"}))
        if kind == "set_not_null":
            return SchemaChange("alter_column", 0, "", table, column, frozenset(facts | {"nullable-false"}))
        if kind in ("create_foreign_key", "create_check", "validate_constraint"):
            return SchemaChange(kind, 0, "", table, None, frozenset(facts), name=column)
        return SchemaChange(kind, 0, "", table, column, frozenset(facts))
    return None


def _sql_name(name: str) -> str:
    return name.split(".")[-1].strip('"')


# --- small readers -------------------------------------------------------------------------

def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    found = _keyword(call, keyword)
    if found is not None:
        return found
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    return positional[position] if len(positional) > position else None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _literal(node: ast.expr | None) -> str | None:
    """A string literal, also inside `sa.text(...)` / `text(...)`."""
    if isinstance(node, ast.Call) and len(node.args) == 1 and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "text")
            or (isinstance(node.func, ast.Name) and node.func.id == "text")):
        node = node.args[0]
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _is_none(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _attribute_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _is_op_call(node: ast.expr, method: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "op")


def _one_line(source: str) -> str:
    line = " ".join(source.split())
    return line if len(line) <= _SHOWN else line[:_SHOWN - 3] + "..."


def migrate_schema_changes(text: str, version_table: str = "migrate_version") -> tuple[SchemaChange, ...]:
    """The changes of a migrate script's `upgrade(migrate_engine)`, read from its conversion.

    `mig-lint convert`'s analyzer turns the changeset calls into alembic operations (what
    only the run knows goes to the changeset layer, which this reader does not follow); each
    change is then placed at the line of the migrate call it came from and shows that call.
    """
    from libcst import ParserSyntaxError

    from mig_lint.convert.analyze import translate

    try:
        translation = translate(text, version_table)
    except ParserSyntaxError:
        return ()
    if translation.upgrade is None:
        return ()
    converted = "def upgrade():\n" + translation.upgrade
    lines = converted.splitlines()
    unused = list(translation.operations)
    placed = []
    for change in schema_changes(converted):
        emitted = lines[change.line - 1].strip()
        origin = next((o for o in unused if emitted in (line.strip() for line in o.target.splitlines())), None)
        if origin is not None:
            unused.remove(origin)
            change = replace(change, line=origin.line, statement=_one_line(origin.source))
        else:
            line = _line_of(text, change.statement)
            change = replace(change, line=line, statement=_one_line(text.splitlines()[line - 1]))
        placed.append(change)
    return tuple(placed)


def _line_of(text: str, statement: str) -> int:
    """Where a change the conversion kept as written (SQL in `migrate_engine.execute`) is: the
    line of its first string in the script, else of `def upgrade`."""
    quoted = re.search(r"[\"']([^\"']{6,})", statement)
    at = text.find(quoted.group(1)) if quoted else -1
    at = at if at != -1 else text.find("def upgrade")
    return text.count("\n", 0, max(at, 0)) + 1
