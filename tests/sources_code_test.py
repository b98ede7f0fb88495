"""sources/code.py: module-level imports (ML211) and connection uses (ML212), read without running code."""
from __future__ import annotations

import marshal
import textwrap

import pytest

from mig_lint.sources.cache import decode
from mig_lint.sources.cache import encode
from mig_lint.sources.code import live_uses
from mig_lint.sources.code import module_imports
from mig_lint.sources.python import parse_script


def _imports(source: str) -> list[tuple[tuple[str, ...], int]]:
    return [(i.names, i.line) for i in module_imports(textwrap.dedent(source))]


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("import yaml\nimport myapp.models\n", [(("yaml",), 1), (("myapp.models",), 2)], id="plain"),
    pytest.param("from myapp.models import User, Group  # why\n", [(("myapp.models.User", "myapp.models.Group"), 1)],
                 id="from-several"),
    pytest.param("import myapp.types as t, requests\n", [(("myapp.types", "requests"), 1)], id="as-and-comma"),
    pytest.param("from myapp import *\n", [(("myapp",), 1)], id="star"),
    pytest.param("from alembic import op\nimport sqlalchemy as sa\nfrom __future__ import annotations\nimport os\n", [],
                 id="alembic-sqlalchemy-future-stdlib-left-out"),
    pytest.param("from . import helpers\nfrom .x import y\n", [], id="relative"),
    pytest.param('"""Revises: x\nimport this line is text\n"""\nimport yaml\n', [(("yaml",), 4)], id="in-a-string"),
    pytest.param("from myapp import (\n    a,\n    b,\n)\n", [(("myapp.a", "myapp.b"), 1)], id="parenthesised"),
    pytest.param("import yaml; import myapp\n", [(("yaml",), 1), (("myapp",), 1)], id="semicolon"),
    pytest.param("import yaml, \\\n    myapp\n", [(("yaml", "myapp"), 1)], id="backslash"),
    pytest.param("from myapp import x\r\rimport yaml\r", [(("myapp.x",), 1), (("yaml",), 3)], id="lone-cr"),
    pytest.param("def upgrade():\n    import myapp\n", [], id="in-a-function"),
    pytest.param("try:\n    import myapp.x\nexcept ImportError:\n    import myapp.y\nelse:\n    pass\n"
                 "finally:\n    import myapp.z\n",
                 [(("myapp.x",), 2), (("myapp.z",), 8), (("myapp.y",), 4)], id="module-level-try"),
    pytest.param("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import myapp\nelse:\n    import requests\n"
                 "if typing.TYPE_CHECKING:\n    import myapp.b\n",
                 [(("requests",), 5)], id="type-checking"),
    pytest.param("with x:\n    import myapp\nwhile y:\n    import myapp.w\n", [(("myapp",), 2), (("myapp.w",), 4)],
                 id="with-while"),
    pytest.param("def f(:\n    import myapp\n", [], id="syntax-error"),
    pytest.param("import \n", [], id="not-an-import-statement"),
])
def test_module_imports(source, expected):
    assert _imports(source) == expected


def _uses(source: str) -> list[tuple[str, str, int]]:
    return [(u.what, u.function, u.line) for u in live_uses(textwrap.dedent(source))]


HEAD = """\
from alembic import op, context
import sqlalchemy as sa
from sqlalchemy import inspect, orm
from sqlalchemy.engine.reflection import Inspector
"""


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param("def upgrade():\n    op.add_column('t', sa.Column('c', sa.Integer))\n", [], id="no-trigger"),
    pytest.param("def upgrade():\n    op.execute('UPDATE t SET c = 1')\n    op.get_bind().execute(sa.text('x'))\n",
                 [], id="statements-render-offline"),
    pytest.param("def upgrade():\n    inspect(op.get_bind())\n", [("inspect(op.get_bind())", "upgrade", 6)],
                 id="inspect"),
    pytest.param("def downgrade():\n    sa.inspect(op.get_bind())\n", [("sa.inspect(op.get_bind())", "downgrade", 6)],
                 id="sa-inspect"),
    pytest.param("def upgrade():\n    Inspector.from_engine(op.get_bind())\n",
                 [("Inspector.from_engine(op.get_bind())", "upgrade", 6)], id="inspector"),
    pytest.param("def upgrade():\n    reflection.Inspector.from_engine(bind)\n",
                 [("reflection.Inspector.from_engine(bind)", "upgrade", 6)], id="inspector-through-an-unknown-name"),
    pytest.param("def upgrade():\n    s = orm.Session(bind=op.get_bind())\n",
                 [("orm.Session(bind=op.get_bind())", "upgrade", 6)], id="session"),
    pytest.param("def upgrade():\n    sa.Table('t', sa.MetaData(), autoload=True)\n    sa.Table('u', m, autoload=False)\n",
                 [("autoload=True", "upgrade", 6)], id="autoload"),
    pytest.param("def upgrade():\n    m.reflect(bind=op.get_bind())\n", [("m.reflect(bind=op.get_bind())", "upgrade", 6)],
                 id="reflect"),
    pytest.param("def upgrade():\n    rows = bind.execute(q)\n    rows.fetchall()\n    rows.first()\n",
                 [("the result of bind.execute(q)", "upgrade", 6)], id="result-assigned-once"),
    pytest.param("def upgrade():\n    bind.execute(q).first()\n    x.first()\n    s.query(T).all()\n",
                 [("bind.execute(q).first()", "upgrade", 6), ("s.query(T).all()", "upgrade", 8)], id="result-methods"),
    pytest.param("def upgrade():\n    bind.scalar(q)\n    bind.fetchmany(2)\n",
                 [("bind.scalar(q)", "upgrade", 6), ("bind.fetchmany(2)", "upgrade", 7)], id="connection-scalar"),
    pytest.param("def upgrade():\n    op.execute(q).fetchall()\n", [("op.execute(q).fetchall()", "upgrade", 6)],
                 id="fetch-on-anything"),
    pytest.param("def upgrade():\n    x = op.execute(q)\n    y = f()(q).first()\n    op.execute(q).first()\n"
                 "    a.b().one()\n    bind.execute(q)\n", [], id="op-execute-and-calls"),
    pytest.param("def upgrade():\n    for r in bind.execute(q):\n        pass\n",
                 [("the result of bind.execute(q)", "upgrade", 6)], id="iterated"),
    pytest.param("def upgrade():\n    if not context.is_offline_mode():\n        inspect(b)\n    else:\n        inspect(c)\n",
                 [("inspect(c)", "upgrade", 9)], id="not-offline-guard"),
    pytest.param("def upgrade():\n    if context.is_offline_mode():\n        inspect(b)\n    else:\n        inspect(c)\n",
                 [("inspect(b)", "upgrade", 7)], id="offline-branch"),
    pytest.param("def upgrade():\n    if context.is_offline_mode():\n        raise RuntimeError('online only')\n"
                 "    inspect(b)\n", [], id="offline-raise"),
    pytest.param("def upgrade():\n    if context.is_offline_mode() and x:\n        inspect(b)\n    inspect(c)\n",
                 [("inspect(c)", "upgrade", 8)], id="compound-guard"),
    pytest.param("def upgrade():\n    if is_offline_mode():\n        pass\n    inspect(c)\n",
                 [("inspect(c)", "upgrade", 8)], id="guard-without-return"),
    pytest.param("def upgrade():\n    try:\n        inspect(b)\n    except E:\n        inspect(c)\n",
                 [("inspect(b)", "upgrade", 7), ("inspect(c)", "upgrade", 9)], id="try-handlers"),
    pytest.param("def upgrade():\n    helper()\n    helper()\n\n\ndef helper():\n    inspect(b)\n\n\n"
                 "def unused():\n    inspect(b)\n", [("inspect(b)", "helper", 11)], id="called-helpers-only"),
    pytest.param("def upgrade():\n    if context.is_offline_mode():\n        return\n    helper()\n\n\n"
                 "def helper():\n    inspect(b)\n", [], id="helper-called-online-only"),
    pytest.param("def upgrade():\n    bind.execute(sa.text('SELECT ' + 'x' * 80)).fetchall()\n",
                 [("bind.execute(sa.text('SELECT ' + 'x' * 80)).fetchall()", "upgrade", 6)], id="short"),
    pytest.param("def upgrade():\n    bind.execute(sa.text('SELECT a_very_long_column_name FROM a_long_table')).all()\n",
                 [("bind.execute(sa.text('SELECT a_very_long_column_name FROM...", "upgrade", 6)], id="shortened"),
    pytest.param("import sqlalchemy.engine\n\n\ndef upgrade():\n    sqlalchemy.inspect(b)\n",
                 [("sqlalchemy.inspect(b)", "upgrade", 9)], id="plain-import"),
    pytest.param("def upgrade(:\n    inspect(b)\n", [], id="syntax-error"),
])
def test_live_uses(body, expected):
    assert _uses(HEAD + body) == expected


def test_the_cache_keeps_imports_and_uses():
    text = HEAD + "from myapp.models import User\nrevision = 'a'\ndown_revision = None\n\n\ndef upgrade():\n" \
        "    inspect(op.get_bind())\n"
    script = parse_script(text, "versions/a.py")
    assert [i.names for i in script.imports] == [("myapp.models.User",)]
    assert [u.what for u in script.live_uses] == ["inspect(op.get_bind())"]
    assert decode(marshal.loads(encode(script)), "versions/a.py") == script


def test_migrate_scripts_are_not_read_for_them():
    text = "from myapp.models import User\n\n\ndef upgrade(migrate_engine):\n    inspect(migrate_engine)\n"
    script = parse_script(text, "versions/001_a.py", functions_needed=True)
    assert script.imports == () and script.live_uses == ()
