"""The changeset layer: what the source cannot prove runs with its control flow, and builds migrate's schema.

`fixtures/convert/runtime` has one version per class of script the static translation got
wrong on real repositories (a loop variable, a name bound twice, a table computed in a loop,
columns held in variables and copies, SQLAlchemy 1.x implicit execution and arguments,
Engine-only API and SQL in a variable, migrate's constraint classes with `table=`, a column
with a foreign key, `unique=True` with `unique_name=` and a default, reflected foreign keys
dropped by name, an unnamed one dropped by the name None). migrate runs it in the legacy interpreter, the untouched conversion in
this one, and verify compares the two schemas after every version.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mig_lint.cli import main
from mig_lint.convert.repository import changeset_layer

RUNTIME = Path(__file__).resolve().parent.parent / "fixtures" / "convert" / "runtime"
VERSIONS = ["create", "loop_variable", "name_bound_twice", "prefix_loop", "columns_held_in_variables",
            "implicit_execution", "engine_api", "constraints_with_table", "column_with_foreign_key",
            "column_flags", "drop_reflected_foreign_keys", "drop_unnamed_foreign_key"]


@pytest.fixture
def runtime(in_tmp):
    shutil.copytree(RUNTIME, in_tmp / "repo")
    return in_tmp / "repo"


def test_every_shape_converts_with_nothing_left_and_the_layer_beside_env_py(runtime, capsys):
    assert main(["convert", "repo", "--out", "out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[1] for line in lines[1:13]] == ["translated (unproved)"] * 12
    assert [line.split()[3] for line in lines[1:13]] == [f"{n:04d}_{v}.py:" for n, v in enumerate(VERSIONS, 1)]
    assert Path("out/migrate_changeset.py").read_text() == changeset_layer()
    assert "changeset.drop(index)" in Path("out/versions/0002_loop_variable.py").read_text()
    assert main(["check", "out"]) == 0


def test_the_layer_is_written_only_for_a_tree_that_uses_it(in_tmp, capsys):
    (in_tmp / "repo/versions").mkdir(parents=True)
    shutil.copy(RUNTIME / "migrate.cfg", in_tmp / "repo")
    shutil.copy(RUNTIME / "versions/001_create.py", in_tmp / "repo/versions")
    assert main(["convert", "repo", "--out", "out"]) == 0
    assert not Path("out/migrate_changeset.py").exists()
    shutil.copy(RUNTIME / "versions/002_loop_variable.py", in_tmp / "repo/versions")
    assert main(["convert", "repo", "--out", "bare", "--no-scaffold"]) == 0
    assert sorted(p.name for p in Path("bare").iterdir()) == ["migrate-stamp-map.json", "migrate_changeset.py",
                                                               "versions"]


def test_migrate_and_the_conversion_build_the_same_schema_on_sqlite(runtime, capsys):
    from tests.legacy_env import legacy_python

    assert main(["convert", "repo", "--out", "out", "--verify", "--migrate-python", legacy_python()]) == 0
    assert capsys.readouterr().out.splitlines()[13:15] == [
        "12 versions: 12 translated and proved.",
        "verify on SQLite: 12 of 12 versions proved equal to migrate's schema.",
    ]


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_migrate_and_the_conversion_build_the_same_schema_on_servers(runtime, capsys, kind):
    from tests.databases import require_server
    from tests.legacy_env import legacy_python

    server = require_server(kind, runtime.parent)
    assert main(["convert", "repo", "--out", "out", "--verify", "--url", server,
                 "--migrate-python", legacy_python()]) == 0
    assert capsys.readouterr().out.splitlines()[13] == "12 versions: 12 translated and proved."


def test_the_conversion_runs_on_sqlalchemy_1_4_and_alembic_1_19_too(runtime, capsys):
    from tests.legacy_env import legacy_python

    assert main(["convert", "repo", "--out", "out"]) == 0
    capsys.readouterr()
    legacy = legacy_python()
    assert main(["verify", "repo", "out", "--python", legacy, "--migrate-python", legacy]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "  ok: all 12 versions build the same schema"
