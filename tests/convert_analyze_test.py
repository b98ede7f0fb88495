"""Before and after, one row of docs/convert.md each: a migrate construct and the alembic code it becomes."""
from __future__ import annotations

import textwrap

import pytest

from mig_lint.convert.analyze import translate

T = "    meta = MetaData()\n    t = Table('t', meta, autoload_with=migrate_engine)\n"


def _upgrade(body: str) -> str:
    source = ("from sqlalchemy import *\nfrom migrate import *\n\n\ndef upgrade(migrate_engine):\n"
              "    meta = MetaData(bind=migrate_engine)\n    t = Table('t', meta, autoload=True)\n"
              + textwrap.indent(textwrap.dedent(body), "    "))
    translation = translate(source)
    assert not translation.unsupported, translation.unsupported
    assert translation.upgrade is not None
    return translation.upgrade


def _after(body: str) -> str:
    return "    migrate_engine = op.get_bind()\n" + T + textwrap.indent(textwrap.dedent(body), "    ")


CASES = [
    pytest.param(
        "t.create()\n", "t.create(migrate_engine)\n", id="table-create-reflected"),
    pytest.param(
        "n = Table('n', meta, Column('id', Integer, primary_key=True), mysql_engine='InnoDB')\nn.create()\n",
        "n = Table('n', meta, Column('id', Integer, primary_key=True), mysql_engine='InnoDB')\n"
        "op.create_table('n', Column('id', Integer, primary_key=True), mysql_engine='InnoDB')\n",
        id="table-create"),
    pytest.param("t.drop()\n", "op.drop_table('t')\n", id="table-drop"),
    pytest.param("t.rename('u')\n", "op.rename_table('t', 'u')\n", id="table-rename"),
    pytest.param(
        "Column('c', Integer).create(t)\n",
        "op.add_column('t', Column('c', Integer))\nt.append_column(Column('c', Integer))\n", id="column-create"),
    pytest.param(
        "t.create_column(Column('c', Integer))\n",
        "op.add_column('t', Column('c', Integer))\nt.append_column(Column('c', Integer))\n", id="create-column"),
    pytest.param(
        "c = Column('c', Integer, default=7)\nc.create(t, populate_default=True)\n",
        "c = Column('c', Integer, default=7)\nop.add_column('t', Column('c', Integer, default=7))\n"
        "t.append_column(c)\n"
        "op.execute(sa.table('t', sa.column('c')).update().values({'c': 7}))\n",
        id="column-create-populate-default"),
    pytest.param(
        "Column('c', Integer, default=7).create(t, populate_default=False)\n",
        "op.add_column('t', Column('c', Integer, default=7))\nt.append_column(Column('c', Integer, default=7))\n",
        id="column-create-no-populate"),
    pytest.param(
        "Column('c', Integer).create(t, index_name='ix_c', unique_name='uq_c')\n",
        "op.add_column('t', Column('c', Integer))\nt.append_column(Column('c', Integer))\n"
        "op.create_index('ix_c', 't', ['c'])\n"
        "with op.batch_alter_table('t') as batch_op:\n    batch_op.create_unique_constraint('uq_c', ['c'])\n",
        id="column-create-index-unique"),
    pytest.param(
        "t.c.old.drop()\n", "with op.batch_alter_table('t') as batch_op:\n    batch_op.drop_column('old')\n",
        id="column-drop"),
    pytest.param(
        "t.drop_column('old')\n", "with op.batch_alter_table('t') as batch_op:\n    batch_op.drop_column('old')\n",
        id="drop-column"),
    pytest.param(
        "t.c.a.alter(name='b', type=String(20), nullable=False, server_default='x')\n",
        "with op.batch_alter_table('t') as batch_op:\n"
        "    batch_op.alter_column('a', new_column_name='b', type_=String(20), nullable=False, server_default='x'"
        ", existing_type=t.c.a.type, existing_nullable=t.c.a.nullable, existing_server_default=t.c.a.server_default)\n",
        id="column-alter"),
    pytest.param(
        "Index('ix', t.c.a, t.c.b, unique=True).create()\n", "op.create_index('ix', 't', ['a', 'b'], unique=True)\n",
        id="index-create"),
    pytest.param(
        "Index('ix', t.c.a).drop(migrate_engine)\n", "op.drop_index('ix', table_name='t')\n", id="index-drop"),
    pytest.param(
        "u = Table('u', meta, autoload=True)\n"
        "ForeignKeyConstraint(columns=[t.c.u_id], refcolumns=[u.c.id], ondelete='CASCADE').create()\n",
        "u = Table('u', meta, autoload_with=migrate_engine)\n"
        "with op.batch_alter_table('t') as batch_op:\n"
        "    batch_op.create_foreign_key('t_u_id_fkey', 'u', ['u_id'], ['id'], ondelete='CASCADE')\n",
        id="foreign-key-create-autoname"),
    pytest.param(
        "ForeignKeyConstraint([t.c.u_id], [t.c.id], name='fk').drop()\n",
        "with op.batch_alter_table('t') as batch_op:\n    batch_op.drop_constraint('fk', type_='foreignkey')\n",
        id="foreign-key-drop"),
    pytest.param(
        "UniqueConstraint('a', 'b', table=t).create()\n",
        "with op.batch_alter_table('t') as batch_op:\n    batch_op.create_unique_constraint('t_a_key', ['a', 'b'])\n",
        id="unique-create-autoname"),
    pytest.param(
        "PrimaryKeyConstraint(t.c.id).create()\n",
        "with op.batch_alter_table('t') as batch_op:\n    batch_op.create_primary_key('t_pkey', ['id'])\n",
        id="primary-key-create"),
    pytest.param(
        "CheckConstraint('a > 0', columns=[t.c.a]).create()\n",
        "with op.batch_alter_table('t') as batch_op:\n    batch_op.create_check_constraint('t_a_check', 'a > 0')\n",
        id="check-create-autoname"),
    pytest.param("meta.create_all()\n", "meta.create_all(migrate_engine)\n", id="create-all"),
    pytest.param(
        "if migrate_engine.name == 'sqlite':\n    migrate_engine.execute('DELETE FROM t')\n",
        "if op.get_context().dialect.name == 'sqlite':\n    migrate_engine.execute(sa.text('DELETE FROM t'))\n",
        id="dialect-branch-and-text"),
    pytest.param(
        "rows = migrate_engine.execute(select([t.c.a, t.c.b])).fetchall()\n",
        "rows = migrate_engine.execute(select(t.c.a, t.c.b)).fetchall()\n", id="select-list"),
    pytest.param(
        "for name in ['x', 'y']:\n    s = Table('shadow_' + name, meta, autoload=True)\n    s.c.a.drop()\n",
        "for name in ['x', 'y']:\n    s = Table('shadow_' + name, meta, autoload_with=migrate_engine)\n"
        "    with op.batch_alter_table(s.name) as batch_op:\n        batch_op.drop_column('a')\n",
        id="computed-table-names-in-a-loop"),
]


def test_imports_and_signatures():
    translation = translate(
        '"""A migration."""\nimport migrate\nimport os, migrate.changeset\n'
        "from migrate.changeset.constraint import UniqueConstraint\nfrom sqlalchemy import MetaData, Table\n"
        "from project.db import types\n\n\ndef upgrade(migrate_engine):\n    \"\"\"Doc.\"\"\"\n"
        "    meta = MetaData(migrate_engine)\n    meta.bind = migrate_engine\n"
        "    Table('t', meta, UniqueConstraint('a'))\n\n\ndef downgrade(migrate_engine):\n    pass\n")
    assert translation.module == ('"""A migration."""\nimport os\nfrom sqlalchemy import MetaData, Table\n'
                                  "from project.db import types\n")
    assert translation.sqlalchemy_names == ()
    assert translation.changeset_names == ("UniqueConstraint",)
    assert translation.upgrade == ('    """Doc."""\n    meta = MetaData()\n    Table(\'t\', meta, UniqueConstraint(\'a\'))\n')
    assert translation.downgrade == "    pass\n"
    assert not translation.placeholder


@pytest.mark.parametrize(
    ("body", "reason"),
    (
        pytest.param("t.c.a.alter(primary_key=True)\n", "alter(primary_key=...) has no alembic", id="alter-key"),
    ),
)
def test_unsupported(body, reason):
    source = ("def upgrade(migrate_engine):\n    meta = MetaData(bind=migrate_engine)\n"
              "    t = Table('t', meta, autoload=True)\n" + textwrap.indent(body, "    "))
    found = translate(source).unsupported
    assert len(found) == 1 and reason in found[0].reason and found[0].function == "upgrade"
    assert found[0].line == 3 + body.count("\n")


@pytest.mark.parametrize(
    ("body", "after"),
    (
        pytest.param("Index('ix', t.c.a).rename('iy')\n", "changeset.rename(Index('ix', t.c.a), 'iy')",
                     id="index-rename"),
        pytest.param("t.c.a.alter(Column('a', Integer))\n", "changeset.alter(t.c.a, Column('a', Integer))",
                     id="alter-with-a-column"),
        pytest.param("Column('c', Integer).create()\n", "changeset.create(Column('c', Integer))",
                     id="column-without-table"),
        pytest.param("CheckConstraint('a > 0', table=t).create()\n",
                     "changeset.create(CheckConstraint('a > 0', table=t))", id="check-without-name"),
        pytest.param("ForeignKeyConstraint(cols).create()\n", "changeset.create(ForeignKeyConstraint(cols))",
                     id="fk-no-refcolumns"),
        pytest.param("UniqueConstraint(*cols).create()\n", "changeset.create(UniqueConstraint(*cols))",
                     id="unique-computed"),
        pytest.param("c = Column('c', Integer, unique=True)\nc.create(t, unique_name='uq')\n",
                     "changeset.create(c, t, unique_name='uq')", id="column-flags-migrate-reads-its-way"),
        pytest.param("Column('c', Integer, ForeignKey('u.id')).create(t)\n",
                     "changeset.create(Column('c', Integer, ForeignKey('u.id')), t)", id="column-with-a-foreign-key"),
        pytest.param("ix = Index('a', t.c.a)\nix.create()\nix = Index('b', t.c.b)\nix.create()\n",
                     "changeset.create(ix)\n    ix = Index('b', t.c.b)\n    changeset.create(ix)",
                     id="a-name-bound-twice"),
        pytest.param("for ix in t.indexes:\n    ix.drop()\n", "for ix in t.indexes:\n        changeset.drop(ix)",
                     id="a-loop-variable"),
        pytest.param("col = getattr(t.c, 'a')\ncol.alter(type=String(9))\n", "changeset.alter(col, type=String(9))",
                     id="a-getattr-column"),
        pytest.param("for p in ('', 'x_'):\n    u = Table(p + 'u', meta, autoload=True)\n    c = u.c.a\n"
                     "    c.drop()\n", "    changeset.drop(c)", id="a-name-bound-in-a-loop"),
    ),
)
def test_what_the_source_cannot_prove_runs_on_the_changeset_layer(body, after):
    """A call whose receiver only the run knows is kept, with its control flow, on the layer."""
    source = ("def upgrade(migrate_engine):\n    meta = MetaData(bind=migrate_engine)\n"
              "    t = Table('t', meta, autoload=True)\n" + textwrap.indent(body, "    "))
    translation = translate(source)
    assert not translation.unsupported and translation.uses_changeset
    assert after in translation.upgrade


@pytest.mark.parametrize(
    ("body", "after"),
    (
        pytest.param("u = Table(tname, meta, autoload=True)\nu.drop()\n",
                     "u = Table(tname, meta, autoload_with=migrate_engine)\nop.drop_table(u.name)\n",
                     id="table-named-by-a-variable"),
        pytest.param("migrate_engine.execute(sa.update(t, values={'a': 1}))\nx = sa.text('1')\n",
                     "migrate_engine.execute(changeset.update(t, values={'a': 1}))\nx = sa.text('1')\n",
                     id="sqlalchemy-functions-with-1x-arguments"),
        pytest.param("names = migrate_engine.table_names()\n",
                     "names = sa.inspect(migrate_engine).get_table_names()\n", id="table-names"),
        pytest.param("d = {}\nd.update(other)\n", "d = {}\nd.update(other)\n", id="dict-update-is-no-statement"),
        pytest.param("meta.reflect()\nmeta.reflect(only=['a'])\n",
                     "meta.reflect(bind=migrate_engine)\nmeta.reflect(only=['a'], bind=migrate_engine)\n",
                     id="reflect-gets-the-bind"),
        pytest.param("f = lambda: 1\nn = 0\nwhile n < 2:\n    n += 1\nk: int = 1\nwith ctx:\n    pass\n"
                     "with ctx as w:\n    pass\nif (v := 1):\n    pass\na, *b = pair\nw.drop()\nb.drop()\n",
                     "f = lambda: 1\nn = 0\nwhile n < 2:\n    n += 1\nk: int = 1\nwith ctx:\n    pass\n"
                     "with ctx as w:\n    pass\nif (v := 1):\n    pass\na, *b = pair\nchangeset.drop(w)\n"
                     "changeset.drop(b)\n", id="binding-forms-the-source-cannot-follow"),
        pytest.param("Column(*spec).create(t)\n", "changeset.create(Column(*spec), t)\n",
                     id="column-from-star-arguments"),
        pytest.param("UniqueConstraint(t.c.a, name=n).create()\n"
                     "ForeignKeyConstraint(columns=cols(t), refcolumns=refs, name=n).create()\n",
                     "changeset.create(UniqueConstraint(t.c.a, name=n))\n"
                     "changeset.create(ForeignKeyConstraint(columns=cols(t), refcolumns=refs, name=n))\n",
                     id="constraint-names-read-at-run-time"),
        pytest.param("ForeignKeyConstraint(cols(t), refs, name='fk_x').drop()\nn = t.count(t.c.a > 1)\n"
                     "m = names.count('a')\n",
                     "with op.batch_alter_table(list(cols(t))[0].table.name) as batch_op:\n"
                     "    batch_op.drop_constraint('fk_x', type_='foreignkey')\nn = changeset.count(t, t.c.a > 1)\n"
                     "m = names.count('a')\n", id="computed-foreign-key-dropped-by-name-and-counts"),
        pytest.param("rows = migrate_engine.execute(select([t.c.a], whereclause=t.c.a > 1)).fetchall()\n",
                     "rows = changeset.execute(migrate_engine, changeset.select_([t.c.a], whereclause=t.c.a > 1))"
                     ".fetchall()\n", id="select-with-whereclause-keyword"),
    ),
)
def test_sqlalchemy_1_forms_and_bindings(body, after):
    source = ("def upgrade(migrate_engine):\n    meta = MetaData(bind=migrate_engine)\n"
              "    t = Table('t', meta, autoload=True)\n" + textwrap.indent(body, "    "))
    upgrade = translate(source).upgrade
    assert upgrade.split("autoload_with=migrate_engine)\n", 1)[1] == textwrap.indent(after, "    ")


def test_strings_naming_migrates_version_table_name_alembics():
    source = ("def upgrade(migrate_engine):\n    migrate_engine.execute('ALTER TABLE migrate_version CONVERT TO x')\n"
              "    migrate_engine.execute('SELECT * FROM migrate_versions')\n")
    assert translate(source).upgrade == (
        "    migrate_engine = op.get_bind()\n    migrate_engine.execute(sa.text('ALTER TABLE alembic_version CONVERT TO x'))\n"
        "    migrate_engine.execute(sa.text('SELECT * FROM migrate_versions'))\n")
    assert "FROM alembic_version" in translate(source.replace("migrate_versions", "db_version"), "db_version").upgrade


def test_placeholder():
    assert translate("def upgrade(migrate_engine):\n    '''Nothing.'''\n    pass\n").placeholder
    assert translate("x = 1\n").placeholder
    assert not translate("def upgrade(migrate_engine):\n    if True:\n        pass\n").placeholder


MORE = [  # forms real scripts use beyond the rows of docs/convert.md
    pytest.param("t.c['old'].drop()\n", "with op.batch_alter_table('t') as batch_op:\n    batch_op.drop_column('old')\n",
                 id="column-by-key"),
    pytest.param("t.columns.old.drop()\n",
                 "with op.batch_alter_table('t') as batch_op:\n    batch_op.drop_column('old')\n", id="columns-attribute"),
    pytest.param("t.c[0:1].drop()\n", "changeset.drop(t.c[0:1])\n", id="a-slice-is-no-column"),
    pytest.param("t.drop_column(t.c.old)\n",
                 "with op.batch_alter_table('t') as batch_op:\n    batch_op.drop_column('old')\n",
                 id="drop-column-given-a-column"),
    pytest.param("for name in ('a', 'b'):\n    t.drop_column(name)\n",
                 "for name in ('a', 'b'):\n    with op.batch_alter_table('t') as batch_op:\n"
                 "        batch_op.drop_column(getattr(name, 'name', name))\n", id="drop-column-given-a-name"),
    pytest.param("obj.tables.users.drop()\nt.indexes['ix'].drop()\n",
                 "changeset.drop(obj.tables.users)\nchangeset.drop(t.indexes['ix'])\n",
                 id="attributes-that-are-no-columns"),
    pytest.param("get_table('x').drop_column('y')\n", "changeset.drop_column(get_table('x'), 'y')\n",
                 id="a-table-from-a-helper"),
    pytest.param("Column(colname, Integer, default=0).create(t)\n",
                 "op.add_column('t', Column(colname, Integer, default=0))\n"
                 "t.append_column(Column(colname, Integer, default=0))\n"
                 "op.execute(sa.table('t', sa.column(colname)).update().values({colname: 0}))\n",
                 id="column-with-a-computed-name"),
    pytest.param("def inner():\n    t.drop()\ninner()\n", "def inner():\n    op.drop_table('t')\ninner()\n",
                 id="nested-function"),
    pytest.param("t.c.id.alter(String(36), default=new_id)\nt.c.x.alter('y', Integer, autoincrement=True)\n",
                 "with op.batch_alter_table('t') as batch_op:\n    batch_op.alter_column('id', type_=String(36)"
                 ", existing_type=t.c.id.type, existing_nullable=t.c.id.nullable"
                 ", existing_server_default=t.c.id.server_default)\n"
                 "with op.batch_alter_table('t') as batch_op:\n    batch_op.alter_column('x', new_column_name='y'"
                 ", type_=Integer, autoincrement=True, existing_type=t.c.x.type, existing_nullable=t.c.x.nullable"
                 ", existing_server_default=t.c.x.server_default)\n",
                 id="alter-positional-name-and-type"),
    pytest.param("fk = ForeignKeyConstraint(columns=cols(t), refcolumns=refs, name=n)\nfk.drop()\n"
                 "ForeignKeyConstraint(cols(t), refs, ondelete='CASCADE').create()\n",
                 "fk = ForeignKeyConstraint(columns=cols(t), refcolumns=refs, name=n)\n"
                 "changeset.drop(fk)\n"
                 "with op.batch_alter_table(list(cols(t))[0].table.name) as batch_op:\n"
                 "    batch_op.create_foreign_key('_'.join([list(cols(t))[0].table.name, list(cols(t))[0].name, 'fkey']), "
                 "list(refs)[0].table.name, [c.name for c in list(cols(t))], [c.name for c in list(refs)], "
                 "ondelete='CASCADE')\n",
                 id="foreign-key-with-computed-columns"),
    pytest.param("UniqueConstraint('a', table=meta.tables[\"t\"]).create()\n",
                 "with op.batch_alter_table(meta.tables[\"t\"].name) as batch_op:\n"
                 "    batch_op.create_unique_constraint('_'.join([meta.tables[\"t\"].name, 'a', 'key']), ['a'])\n",
                 id="autoname-with-quotes-inside"),
    pytest.param("t.create(checkfirst=True)\nu = Table('u', meta, autoload=False)\n",
                 "t.create(migrate_engine, checkfirst=True)\nu = Table('u', meta)\n", id="keywords-kept-autoload-false"),
    pytest.param("t.create_column(make_column())\n", "changeset.create_column(t, make_column())\n",
                 id="create-column-of-a-column-made-elsewhere"),
    pytest.param("t.c.a.rename('b')\n",
                 "with op.batch_alter_table('t') as batch_op:\n    batch_op.alter_column('a', new_column_name='b'"
                 ", existing_type=t.c.a.type, existing_nullable=t.c.a.nullable, existing_server_default=t.c.a.server_default)\n",
                 id="column-rename"),
    pytest.param("makers[0]('x').create()\nSequence('s').drop(bind=migrate_engine)\n",
                 "changeset.create(makers[0]('x'))\nchangeset.drop(Sequence('s'), bind=migrate_engine)\n",
                 id="other-schema-objects"),
    pytest.param("Index('ix', 'a').create()\n", "Index('ix', 'a').create(migrate_engine)\n",
                 id="index-not-on-table-columns"),
    pytest.param("u = Table('u', meta, autoload=True, autoload_with=other)\n",
                 "u = Table('u', meta, autoload_with=other)\n", id="autoload-with-given"),
    pytest.param("migrate_engine.execute('DELETE FROM %s' % name)\nmigrate_engine.execute('x {}'.format(y))\n"
                 "migrate_engine.execute(b'raw')\nmigrate_engine.execute('a' if x else 'b')\n",
                 "migrate_engine.execute(sa.text('DELETE FROM %s' % name))\n"
                 "migrate_engine.execute(sa.text('x {}'.format(y)))\nchangeset.execute(migrate_engine, b'raw')\n"
                 "migrate_engine.execute(sa.text('a' if x else 'b'))\n",
                 id="text-forms"),
    pytest.param("for name in names:\n    s = Table(name, meta, autoload=True)\n"
                 "    UniqueConstraint(s.c.a).create()\n",
                 "for name in names:\n    s = Table(name, meta, autoload_with=migrate_engine)\n"
                 "    with op.batch_alter_table(s.name) as batch_op:\n"
                 "        batch_op.create_unique_constraint('_'.join([s.name, 'a', 'key']), ['a'])\n",
                 id="autoname-of-a-computed-table"),
]


@pytest.mark.parametrize(("before", "after"), CASES + MORE)
def test_mapping(before, after):
    """A construct in a migrate `upgrade`, and what it becomes (after the same preamble); it compiles."""
    assert _upgrade(before) == _after(after)
    compile("def upgrade():\n" + _after(after), "<converted>", "exec")


def test_helpers_reflect_with_their_engine_or_alembics():
    translation = translate(
        "def _table(migrate_engine, name):\n    return Table(name, MetaData(), autoload=True)\n\n\n"
        "def _other(meta, name):\n    return Table(name, meta, autoload=True)\n\n\n"
        "def upgrade(migrate_engine):\n    '''Doc.'''\n    _table(migrate_engine, 'x').drop()\n")
    assert "    return Table(name, MetaData(), autoload_with=migrate_engine)\n" in translation.module
    assert "    return Table(name, meta, autoload_with=op.get_bind())\n" in translation.module
    assert translation.upgrade == ("    '''Doc.'''\n    migrate_engine = op.get_bind()\n"
                                   "    changeset.drop(_table(migrate_engine, 'x'))\n")


def test_statements_on_one_line_are_kept():
    translation = translate("def upgrade(migrate_engine):\n    x = 1; y = 2\n")
    assert translation.upgrade == "    x = 1; y = 2\n"


def test_constraint_classes_through_migrate_modules():
    translation = translate(
        "import migrate\nfrom migrate.changeset import constraint\nfrom sqlalchemy import MetaData, Table\n\n\n"
        "def upgrade(migrate_engine):\n    meta = MetaData(bind=migrate_engine)\n"
        "    Table('t', meta, constraint.UniqueConstraint('a'), migrate.PrimaryKeyConstraint('id'))\n")
    assert translation.sqlalchemy_names == ()
    assert translation.changeset_names == ("PrimaryKeyConstraint", "UniqueConstraint")
    assert "    Table('t', meta, UniqueConstraint('a'), PrimaryKeyConstraint('id'))\n" in translation.upgrade


def test_a_function_on_one_line():
    translation = translate("def upgrade(migrate_engine): pass\ndef downgrade(migrate_engine): migrate_engine.x()\n")
    assert translation.placeholder and translation.upgrade == "    pass\n"
    assert translation.downgrade == "    migrate_engine = op.get_bind()\n    migrate_engine.x()\n"
