"""Time `mig-lint convert` on a generated migrate repository of 200 versions.

    python benchmarks/bench_convert.py --versions 200 --runs 5

The repository mixes what real ones hold: new tables, added, altered and dropped
columns, indexes, foreign keys, data migrations through `migrate_engine.execute`, dialect
branches, SQL scripts for sqlite and default, and placeholders. Each run converts it into
a fresh folder as a whole process; the same run times the floor (`python -c pass`) and
`alembic heads` on the converted tree (alembic importing what mig-lint wrote).
Target: 200 versions convert in seconds (under 10 s).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_check import mig_lint_command

TARGET_SECONDS = 10.0
CFG = "[db_settings]\nrepository_id = bench\nversion_table = migrate_version\n"

NEW_TABLE = """\
from sqlalchemy import *
from migrate import *


def upgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    table = Table('t{n}', meta,
                  Column('id', Integer, primary_key=True),
                  Column('name', String(64), nullable=False),
                  Column('created_at', DateTime),
                  mysql_engine='InnoDB')
    table.create()
    Index('ix_t{n}_name', table.c.name).create()


def downgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    Table('t{n}', meta, autoload=True).drop()
"""

CHANGE = """\
from sqlalchemy import *
from migrate import *


def upgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    table = Table('t{t}', meta, autoload=True)
    parent = Table('t{p}', meta, autoload=True)
    Column('parent_id', Integer).create(table)
    Column('flag', Boolean, default=False).create(table, populate_default=True)
    ForeignKeyConstraint(columns=[table.c.parent_id], refcolumns=[parent.c.id]).create()
    table.c.name.alter(type=String(128))
    if migrate_engine.name == 'mysql':
        migrate_engine.execute("UPDATE t{t} SET name = TRIM(name)")
    else:
        migrate_engine.execute("UPDATE t{t} SET name = trim(name)")
    rows = migrate_engine.execute(select([table.c.id]).where(table.c.flag == None)).fetchall()
    for row in rows:
        migrate_engine.execute(table.update().where(table.c.id == row[0]).values(flag=False))


def downgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    table = Table('t{t}', meta, autoload=True)
    table.c.flag.drop()
    table.drop_column('parent_id')
"""

PLACEHOLDER = "def upgrade(migrate_engine):\n    pass\n\n\ndef downgrade(migrate_engine):\n    pass\n"


def generate(folder: Path, versions: int) -> Path:
    """A migrate repository of `versions` versions, numbered from 216."""
    repository = folder / "repo"
    (repository / "versions").mkdir(parents=True)
    (repository / "migrate.cfg").write_text(CFG)
    (repository / "versions" / "__init__.py").write_text("")
    tables = 0
    for i in range(versions):
        number = 216 + i
        kind = i % 5
        if kind in (0, 1) or tables < 2:
            tables += 1
            text, name = NEW_TABLE.format(n=tables), f"create_t{tables}"
        elif kind == 2:
            text, name = CHANGE.format(t=tables, p=tables - 1), f"change_t{tables}"
        elif kind == 3:
            (repository / "versions" / f"{number}_audit_{number}_sqlite_upgrade.sql").write_text(
                f"BEGIN;\nCREATE TABLE audit_{number} (id INTEGER PRIMARY KEY);\nCOMMIT;\n")
            (repository / "versions" / f"{number}_audit_{number}_default_upgrade.sql").write_text(
                f"CREATE TABLE audit_{number} (id INTEGER NOT NULL PRIMARY KEY);\n")
            continue
        else:
            text, name = PLACEHOLDER, "placeholder"
        (repository / "versions" / f"{number}_{name}.py").write_text(text)
    return repository


def _time(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        generate(work, args.versions)
        convert, heads, floor = [], [], []
        for run in range(args.runs):
            shutil.rmtree(work / "out", ignore_errors=True)
            convert.append(_time(mig_lint_command() + ["convert", "repo", "--out", "out"], work))
            heads.append(_time([sys.executable, "-m", "alembic", "-c", "out/alembic.ini", "heads"], work))
            floor.append(_time([sys.executable, "-c", "pass"], work))
            print(f"  run {run + 1}/{args.runs} done", file=sys.stderr)
    median = statistics.median(convert)
    print(f"Median of {args.runs} runs, whole processes; Python {sys.version.split()[0]}.\n")
    print("| versions | mig-lint convert (s) | alembic heads on the result (s) | python -c pass (s) |")
    print("|---:|---:|---:|---:|")
    print(f"| {args.versions} | {median:.2f} | {statistics.median(heads):.2f} | {statistics.median(floor):.3f} |")
    holds = median < TARGET_SECONDS
    print(f"\ntarget: {args.versions} versions convert in under {TARGET_SECONDS:.0f} s: {median:.2f} s, "
          f"{'holds' if holds else 'NO'}")
    return 0 if holds else 1


if __name__ == "__main__":
    raise SystemExit(main())
