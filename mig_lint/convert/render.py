"""Write one alembic revision per migrate version, and the alembic environment around them."""
from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.convert.analyze import Translation
from mig_lint.model import SLOTS

SqlScripts = Mapping[tuple[str, str], Sequence[str]]  # (dialect, upgrade|downgrade) -> statements


@dataclass(frozen=True, **SLOTS)
class RevisionSource:
    """Everything one revision is made from."""

    number: int
    revision: str
    down_revision: str | None
    message: str
    sources: tuple[str, ...]  # the migrate files, as shown
    script: str | None  # the Python script among them
    translation: Translation | None  # None: no Python script, or one that could not be parsed
    python_problem: str | None  # why the Python script could not be translated at all
    sql: SqlScripts
    create_date: str | None


def slug(name: str, dialect: str | None = None) -> str:
    """`add_users_email` from `217_add_users_email.py` or `217_add_users_email_sqlite_upgrade.sql`."""
    stem = re.sub(r"^\d+_?", "", name.rsplit(".", 1)[0])
    if dialect:
        stem = re.sub(rf"_?{re.escape(dialect)}_(upgrade|downgrade)$", "", stem)
    return re.sub(r"[^0-9A-Za-z_]+", "_", stem).strip("_").lower()


def render_revision(source: RevisionSource) -> str:
    """The revision file's text."""
    translation = source.translation
    module_lines = translation.module.strip("\n").splitlines() if translation is not None else []
    header = [
        f'"""{source.message}',
        "",
        f"Revision ID: {source.revision}",
        f"Revises: {source.down_revision or ''}",
        *([f"Create Date: {source.create_date}"] if source.create_date else []),
        "",
        f"Converted by mig-lint convert from migrate version {source.number}:",
        *[f"{name}" for name in source.sources],
        '"""',
        *[line for line in module_lines if line.startswith("from __future__ ")],  # must come first
        "from alembic import op",
        "import sqlalchemy as sa",
    ]
    if translation is not None:
        header.extend(_imports(translation))
    module = "\n".join(line for line in module_lines if not line.startswith("from __future__ "))
    parts = ["\n".join(header) + ("\n" + module if module else "")]
    parts.append(
        "# revision identifiers, used by Alembic.\n"
        f"revision = {source.revision!r}\n"
        f"down_revision = {source.down_revision!r}\n"
        "branch_labels = None\n"
        "depends_on = None"
    )
    if source.sql:
        parts.append(_sql_block(source.sql))
    parts.append(_function("upgrade", source))
    parts.append(_function("downgrade", source))
    return "\n\n\n".join(parts) + "\n"


CHANGESET_MODULE = "migrate_changeset.py"  # written beside env.py, the folder above versions/
CHANGESET_IMPORT = """
import os
import sys

_TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TREE not in sys.path:
    sys.path.insert(0, _TREE)
import migrate_changeset as changeset  # noqa: E402  migrate's calls at run time (mig-lint convert wrote it)"""


def _imports(translation: Translation) -> list[str]:
    """What the translated code takes from SQLAlchemy and from the changeset layer."""
    lines = []
    if translation.sqlalchemy_names:
        lines.append(f"from sqlalchemy import {', '.join(translation.sqlalchemy_names)}")
    if translation.uses_changeset or translation.changeset_names:
        lines.extend(CHANGESET_IMPORT.splitlines())
        if translation.changeset_names:
            lines.append(f"from migrate_changeset import {', '.join(translation.changeset_names)}  # noqa: E402")
    return lines


def render_helper(source: str, translation: Translation | None, problem: str | None) -> str:
    """A helper module of the repository as the converted tree's `migrate_helpers/NAME.py`."""
    if translation is None:
        return f'"""{source}, which mig-lint convert could not translate."""\nraise ImportError({problem!r})\n'
    module_lines = translation.module.strip("\n").splitlines()
    header = [f'"""Translated by mig-lint convert from {source}, a helper module of the migrate repository."""',
              *[line for line in module_lines if line.startswith("from __future__ ")],
              "from alembic import op", "import sqlalchemy as sa"]
    header.extend(_imports(translation))
    body = "\n".join(line for line in module_lines if not line.startswith("from __future__ "))
    return "\n".join(header) + "\n" + body + "\n"


def _sql_block(sql: SqlScripts) -> str:
    lines = ["# This version's SQL scripts, split into statements as migrate splits them.", "SQL_SCRIPTS = {"]
    for (dialect, operation), statements in sorted(sql.items()):
        lines.append(f"    ({dialect!r}, {operation!r}): [")
        lines.extend(f"        {statement!r}," for statement in statements)
        lines.append("    ],")
    lines.append("}")
    lines.append("""

def _run_sql_script(operation: str) -> bool:
    \"\"\"Run the SQL script migrate would choose on this database (its dialect's, else
    `default`), statement by statement as migrate does; False when there is none.\"\"\"
    dialect = op.get_context().dialect.name
    statements = SQL_SCRIPTS.get((dialect, operation), SQL_SCRIPTS.get(("default", operation)))
    if statements is None:
        return False
    for statement in statements:
        if op.get_context().as_sql:
            op.execute(statement)
        else:
            op.get_bind().exec_driver_sql(statement)
    return True""")
    return "\n".join(lines)


def _function(name: str, source: RevisionSource) -> str:
    lines = [f"def {name}() -> None:"]
    has_sql = any(operation == name for _dialect, operation in source.sql)
    if has_sql:
        lines.append(f"    if _run_sql_script({name!r}):")
        lines.append("        return")
    lines.extend(_python_body(name, source))
    return "\n".join(lines)


def _python_body(name: str, source: RevisionSource) -> list[str]:
    translation = source.translation
    if translation is None:
        if source.python_problem:
            return [f"    raise NotImplementedError({source.python_problem!r})"]
        if name == "upgrade" and source.sql:
            return [f"    raise NotImplementedError({_no_script(source.number, name)!r})"]
        return ["    pass"]
    body = translation.upgrade if name == "upgrade" else translation.downgrade
    if body is None:
        return [f"    raise NotImplementedError({f'migrate version {source.number} has no {name}'!r})"]
    refused = [u for u in translation.unsupported if u.function in (name, "" if name == "upgrade" else name)]
    text = body.rstrip("\n")
    if not refused:
        return [text]
    first = refused[0]
    message = (f"mig-lint convert could not translate {first.construct!r} "
               f"({source.script}:{first.line}): {first.reason}")
    kept = textwrap.indent(textwrap.dedent(text), "    # ", lambda line: True)
    return [f"    raise NotImplementedError({message!r})", "    # The code as converted so far:", kept]


def _no_script(number: int, operation: str) -> str:
    return f"migrate version {number} has no {operation} script for this database"


ALEMBIC_INI = """\
# Written by mig-lint convert. Point sqlalchemy.url at your database, or pass
# `-x url=...` to alembic.
[alembic]
script_location = %(here)s
prepend_sys_path = .
path_separator = os
sqlalchemy.url = sqlite:///app.db

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

ENV_PY = '''\
"""alembic environment written by mig-lint convert: online and offline (--sql) runs."""
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config
from sqlalchemy import pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=None, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    section = dict(config.get_section(config.config_ini_section) or {}, **{"sqlalchemy.url": url})
    engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

SCRIPT_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''
