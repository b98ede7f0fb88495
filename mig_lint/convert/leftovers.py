"""What is still migrate-specific or SQLAlchemy-1.x-only in an emitted revision: the honest count of `convert`.

The emitted source is parsed (stdlib `ast`) and each call is matched by its shape; a
version counts as translated only when nothing is found. The match is by shape, not by
type, so it errs towards "partial": a receiver it cannot prove to be a `Table` or an
`Index` built in the same module is taken for a migrate changeset call.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from mig_lint.model import SLOTS

_CHANGESET_METHODS = frozenset({"alter", "rename", "create_column", "drop_column"})
_SCHEMA_ITEMS = frozenset({"Table", "Index"})
_STATEMENTS = frozenset({"select", "insert", "update", "delete", "values", "where", "order_by", "limit",
                         "group_by", "having", "offset", "distinct", "returning", "join", "outerjoin",
                         "select_from", "correlate", "filter", "filter_by"})
_CONSTRAINTS = frozenset({"UniqueConstraint", "PrimaryKeyConstraint", "ForeignKeyConstraint", "CheckConstraint",
                          "Index"})
_ENGINE_ONLY = frozenset({"has_table", "url", "connect", "table_names", "begin", "raw_connection"})
_OLD_KEYWORDS = frozenset({"values", "whereclause"})


@dataclass(frozen=True, **SLOTS)
class Leftover:
    """One construct the emitted revision still holds, at its line in the emitted file."""

    line: int
    construct: str
    reason: str


def find_leftovers(source: str) -> tuple[Leftover, ...]:
    """Every migrate or SQLAlchemy-1.x construct in the revision `source`, by line (nothing if it cannot parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return (Leftover(1, "syntax", "the emitted revision does not parse"),)
    names = _bound_names(tree)
    found = {leftover for node in ast.walk(tree) for leftover in _node_leftovers(node, names)}
    return tuple(sorted(found, key=lambda f: (f.line, f.construct)))


@dataclass(frozen=True, **SLOTS)
class _Names:
    """Names assigned, anywhere in the module, `op.get_bind()`, a `Table(...)`/`Index(...)`, or a statement."""

    binds: frozenset[str]
    schema_items: frozenset[str]
    statements: frozenset[str]
    layer_classes: frozenset[str] = frozenset()  # migrate's constraint classes, from the changeset layer


def _bound_names(tree: ast.Module) -> _Names:
    kinds: dict[str, set[str]] = {"bind": set(), "item": set(), "statement": set()}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            callee = _callee(node.value)
            kind = ("bind" if callee == "get_bind" else "item" if callee in _SCHEMA_ITEMS
                    else "statement" if callee in _STATEMENTS else None)
            if kind is not None:
                kinds[kind] |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    layer = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module == "migrate_changeset" for a in node.names}
    return _Names(frozenset(kinds["bind"]), frozenset(kinds["item"]), frozenset(kinds["statement"]),
                  frozenset(layer))


def _node_leftovers(node: ast.AST, names: _Names) -> Iterator[Leftover]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield from _migrate_import(node)
    elif isinstance(node, ast.Attribute):
        yield from _engine_only(node, names.binds)
    elif isinstance(node, ast.Call):
        for rule in (_changeset_call, _create_or_drop, _implicit_execution, _old_keywords, _constraint_table):
            yield from rule(node, names)


def _migrate_import(node: ast.Import | ast.ImportFrom) -> Iterator[Leftover]:
    """`import migrate` / `from migrate... import`: the revision would need sqlalchemy-migrate."""
    modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
    if any(m == "migrate" or m.startswith("migrate.") for m in modules):
        yield Leftover(node.lineno, "migrate import", "sqlalchemy-migrate is imported")


def _engine_only(node: ast.Attribute, binds: frozenset[str]) -> Iterator[Leftover]:
    """`.has_table`, `.url`, `.connect()`... on `op.get_bind()`, which is a Connection, not an Engine."""
    on_bind = _callee(node.value) == "get_bind" or _named(node.value, binds)
    if on_bind and node.attr in _ENGINE_ONLY:
        yield Leftover(node.lineno, f".{node.attr}", "Engine-only API on op.get_bind(), a Connection")


def _changeset_call(node: ast.Call, _names: _Names) -> Iterator[Leftover]:
    """`.alter(`, `.rename(`, `create_column(`, `drop_column(` called on anything but alembic's `op`/`batch_op`."""
    method = _method(node)
    if method in _CHANGESET_METHODS and not _on_alembic_op(node):
        yield Leftover(node.lineno, f".{method}()", "a migrate changeset call")


def _create_or_drop(node: ast.Call, names: _Names) -> Iterator[Leftover]:
    """`.create(`/`.drop(` on a column or constraint; a `Table`/`Index` passes only with an explicit bind."""
    method = _method(node)
    if method not in ("create", "drop") or _on_alembic_op(node):
        return
    receiver = node.func.value  # type: ignore[attr-defined]  # _method() saw an Attribute
    item = _callee(receiver) in _SCHEMA_ITEMS or _named(receiver, names.schema_items)
    if not (item and (node.args or any(k.arg == "bind" for k in node.keywords))):
        yield Leftover(node.lineno, f".{method}()", "a migrate changeset call, or one without a bind")


def _implicit_execution(node: ast.Call, names: _Names) -> Iterator[Leftover]:
    """`stmt.execute()`, `select(...).scalar()`, `insert(...).execute({...})`: SQLAlchemy 1.x implicit execution."""
    method = _method(node)
    if method not in ("execute", "scalar") or _on_alembic_op(node):
        return
    receiver = node.func.value  # type: ignore[attr-defined]  # _method() saw an Attribute
    statement = _callee(receiver) in _STATEMENTS or _named(receiver, names.statements)
    if statement or (method == "execute" and not node.args and not node.keywords):
        yield Leftover(node.lineno, f".{method}()", "implicit execution (removed in SQLAlchemy 2.0)")


def _old_keywords(node: ast.Call, _names: _Names) -> Iterator[Leftover]:
    """`values=` / `whereclause=` given to `insert`, `update`, `delete` or `select` (SQLAlchemy 1.x only)."""
    if _callee(node) in ("select", "insert", "update", "delete") and not _on_alembic_op(node):
        for keyword in node.keywords:
            if keyword.arg in _OLD_KEYWORDS:
                yield Leftover(node.lineno, f"{keyword.arg}=", "a keyword SQLAlchemy 2.0 removed")


def _constraint_table(node: ast.Call, names: _Names) -> Iterator[Leftover]:
    """`table=` on a constraint: migrate's keyword; SQLAlchemy does not know it (the layer's classes do)."""
    on_layer = isinstance(node.func, ast.Name) and node.func.id in names.layer_classes
    if _callee(node) in _CONSTRAINTS and not on_layer and any(k.arg == "table" for k in node.keywords):
        yield Leftover(node.lineno, "table=", "the migrate-only keyword of constraints")


def _callee(node: ast.AST) -> str | None:
    """The last name of what a call calls (`sa.select(...)` -> select), None for anything but a call."""
    if not isinstance(node, ast.Call):
        return None
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return node.func.id if isinstance(node.func, ast.Name) else None


def _named(node: ast.AST, names: frozenset[str]) -> bool:
    return isinstance(node, ast.Name) and node.id in names


def _method(node: ast.Call) -> str | None:
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def _on_alembic_op(node: ast.Call) -> bool:
    """Called on alembic's `op`, a batch's `batch_op`, or the changeset layer, whose methods of these names
    run on alembic."""
    receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
    return isinstance(receiver, ast.Name) and receiver.id in ("op", "batch_op", "changeset")
