"""What an alembic script's code does, read statically: its module-level imports (ML211)
and the code in `upgrade()` / `downgrade()` that needs a live connection (ML212).

Both are read from the text without running it. Imports are found by a plain line scan
when every import statement sits at column 0 on one line (most scripts); any other shape
(an indented or continued import) goes through `ast`. Connection uses are looked for
only in scripts whose text holds one of the constructs (`inspect(`, `autoload`,
`.reflect(`, a result method, an `.execute(` other than `op.execute(`), so most scripts
are never parsed for them.
"""
from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from collections.abc import Mapping

from mig_lint.model import LiveUse
from mig_lint.model import ModuleImport

_FROM = re.compile(r"from[ \t]+(\.*)[ \t]*([\w.]*)[ \t]+import[ \t]+(.+)$")
_PLAIN = re.compile(r"import[ \t]+(.+)$")
# Never the application: alembic and SQLAlchemy (in every script) and the standard library.
_IGNORED_MODULES = frozenset({"__future__", "alembic", "sqlalchemy"}) | frozenset(
    getattr(sys, "stdlib_module_names", ("typing", "datetime", "os", "sys", "json", "uuid", "enum", "re"))
)

_INSPECTORS = frozenset({
    "sqlalchemy.inspect", "sqlalchemy.engine.reflection.Inspector.from_engine",
    "sqlalchemy.engine.Inspector.from_engine", "sqlalchemy.Inspector.from_engine",
})
_SESSIONS = frozenset({
    "sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.orm.session.sessionmaker", "sqlalchemy.orm.scoped_session",
})
_RESULT_METHODS = frozenset({"fetchall", "fetchone", "fetchmany", "scalar", "scalars", "scalar_one",
                             "scalar_one_or_none", "first", "one", "one_or_none", "all", "mappings"})
_ALWAYS_RESULTS = frozenset({"fetchall", "fetchone", "fetchmany", "scalar", "scalars", "scalar_one",
                             "scalar_one_or_none"})
_TRIGGERS = ("inspect(", "from_engine(", "autoload", ".reflect(", ".fetch", ".scalar", "Session(", "sessionmaker(",
             ".query(")
_SHOWN = 60


def module_imports(text: str) -> tuple[ModuleImport, ...]:
    """The module-level absolute imports, except alembic's and SQLAlchemy's; () when the text does not parse."""
    fast = _scanned_imports(text)
    if fast is not None:
        return fast
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return ()
    return tuple(_ast_imports(module.body))


def _scanned_imports(text: str) -> tuple[ModuleImport, ...] | None:
    """The imports by a scan of the lines holding `import`, or None when only the parser can say."""
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone CR breaks lines for Python, not for this scan
    found = []
    at = text.find("import")
    while at != -1:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end == -1 else end
        at = text.find("import", end)
        line = text[start:end]
        if not line.startswith(("import", "from")):
            if line.lstrip().startswith(("import ", "from ")):
                return None  # indented: in a function, or in a module-level block
            continue
        if text.count('"""', 0, start) % 2 or text.count("\'\'\'", 0, start) % 2:
            continue  # a line of a string
        line = line.split("#", 1)[0].rstrip()
        if "(" in line or line.endswith("\\") or ";" in line:
            return None
        names = _statement_names(line)
        if names is None:
            return None
        if names:
            found.append(ModuleImport(names, text.count("\n", 0, start) + 1))
    return tuple(found)


def _statement_names(line: str) -> tuple[str, ...] | None:
    """The dotted names one `import` line binds (() for a relative or ignored import); None if unsure."""
    matched = _FROM.match(line)
    if matched is not None:
        dots, module, names = matched.groups()
        if dots or not module:
            return ()
        parts = [n.split()[0] for n in names.split(",") if n.strip()]
        return _kept(tuple(module if p == "*" else f"{module}.{p}" for p in parts))
    plain = _PLAIN.match(line)
    if plain is None:
        return None
    return _kept(tuple(n.split()[0] for n in plain.group(1).split(",") if n.strip()))


def _kept(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in names if n.split(".")[0] not in _IGNORED_MODULES)


def _ast_imports(body: list[ast.stmt]) -> Iterator[ModuleImport]:
    for statement in body:
        names: tuple[str, ...] = ()
        if isinstance(statement, ast.Import):
            names = _kept(tuple(a.name for a in statement.names))
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            module = statement.module
            names = _kept(tuple(module if a.name == "*" else f"{module}.{a.name}" for a in statement.names))
        elif isinstance(statement, ast.If) and _names_type_checking(statement.test):
            yield from _ast_imports(statement.orelse)
        elif isinstance(statement, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for block in (statement.body, getattr(statement, "orelse", []), getattr(statement, "finalbody", [])):
                yield from _ast_imports(block)
            for handler in getattr(statement, "handlers", []):
                yield from _ast_imports(handler.body)
        if names:
            yield ModuleImport(names, statement.lineno, statement.col_offset + 1)


def _names_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`: imports that never run."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def live_uses(text: str) -> tuple[LiveUse, ...]:
    """Code in the migration functions that reads from the database; () for most scripts, unparsed."""
    if not _may_use_a_connection(text):
        return ()
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return ()
    aliases = _aliases(module)
    functions = {n.name: n for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    wanted = [n for n in functions if n.startswith(("upgrade", "downgrade"))]
    found: dict[tuple[int, int], LiveUse] = {}
    for name in wanted:  # grows with the module's functions called from code that runs offline
        function = functions[name]
        parents = {id(child): parent for parent in ast.walk(function) for child in ast.iter_child_nodes(parent)}
        for node in _uses(function.body):
            if isinstance(node.func, ast.Name) and node.func.id in functions:
                if node.func.id not in wanted:
                    wanted.append(node.func.id)
                continue
            what = _call_use(node, aliases, parents)
            key = (node.lineno, node.col_offset)
            if what and key not in found:
                found[key] = LiveUse(_shown(what), name, node.lineno, node.col_offset + 1)
    return tuple(found[key] for key in sorted(found))


def _may_use_a_connection(text: str) -> bool:
    for trigger in _TRIGGERS:
        if trigger in text:
            return True
    return ".execute(" in text and text.count(".execute(") > text.count("op.execute(")


def _aliases(module: ast.Module) -> dict[str, str]:
    """Local name -> qualified name, for the module-level imports (`sa` -> `sqlalchemy`)."""
    aliases = {}
    for statement in ast.walk(module):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(statement, ast.ImportFrom) and statement.module and statement.level == 0:
            for alias in statement.names:
                aliases[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
    return aliases


def _qualified(node: ast.expr, aliases: Mapping[str, str]) -> str:
    """`sa.inspect` -> `sqlalchemy.inspect` (through the imports); '' for anything but a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _is_offline_test(test: ast.expr) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, (ast.Attribute, ast.Name))
        and (n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id) == "is_offline_mode"
        for n in ast.walk(test)
    )


def _online_only(statement: ast.If) -> tuple[list[ast.stmt], bool]:
    """What of an `if ...is_offline_mode()` also runs offline, and whether the rest of the block is online-only."""
    test = statement.test
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return statement.orelse, False
    if isinstance(test, (ast.Call, ast.Attribute)):
        returns = bool(statement.body) and isinstance(statement.body[-1], (ast.Return, ast.Raise))
        return statement.body, returns
    return [], False  # a compound test: the author chose what runs where


def _uses(body: list[ast.stmt]) -> Iterator[ast.Call]:
    """The calls in statements that run offline (code behind `is_offline_mode()` is skipped)."""
    for statement in body:
        if isinstance(statement, ast.If) and _is_offline_test(statement.test):
            offline, rest_is_online = _online_only(statement)
            yield from _uses(offline)
            if rest_is_online:
                return
            continue
        for _field, value in ast.iter_fields(statement):
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, ast.stmt):
                    yield from _uses([item])
                elif isinstance(item, ast.ExceptHandler):
                    yield from _uses(item.body)
                elif isinstance(item, ast.AST):
                    yield from (n for n in ast.walk(item) if isinstance(n, ast.Call))


def _call_use(node: ast.Call, aliases: Mapping[str, str], parents: Mapping[int, ast.AST]) -> str:
    """What makes this call need a live connection, as written; '' when nothing does."""
    name = _qualified(node.func, aliases)
    if name in _INSPECTORS or name.endswith("Inspector.from_engine"):
        return ast.unparse(node)
    if name in _SESSIONS:
        return ast.unparse(node)
    for keyword in node.keywords:
        if keyword.arg == "autoload_with" or (
            keyword.arg == "autoload" and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
        ):
            return f"{keyword.arg}={ast.unparse(keyword.value)}"
    if not isinstance(node.func, ast.Attribute):
        return ""
    method, receiver = node.func.attr, node.func.value
    if method == "reflect":
        return ast.unparse(node)
    if isinstance(receiver, ast.Name) and not node.args and method in _RESULT_METHODS:
        return ""  # a result's own method (`rows.fetchall()`): the statement that produced it is reported
    if method in _ALWAYS_RESULTS or (method in _RESULT_METHODS and _reads_rows(receiver, aliases)):
        return ast.unparse(node)
    if method == "execute" and _qualified(receiver, aliases) != "alembic.op":
        parent = parents.get(id(node))
        used = not isinstance(parent, ast.Expr) and not (
            isinstance(parent, ast.Attribute) and parent.attr in _RESULT_METHODS
        )
        return f"the result of {ast.unparse(node)}" if used else ""
    return ""


def _reads_rows(receiver: ast.expr, aliases: Mapping[str, str]) -> bool:
    """Whether a chain of calls holds an `.execute(...)` (not `op.execute`) or a `.query(...)`."""
    for node in ast.walk(receiver):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "query" or (
                node.func.attr == "execute" and _qualified(node.func.value, aliases) != "alembic.op"
            ):
                return True
    return False


def _shown(what: str) -> str:
    what = " ".join(what.split())
    return what if len(what) <= _SHOWN else what[: _SHOWN - 3] + "..."
