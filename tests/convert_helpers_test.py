"""Helper modules beside a repository's versions/ come along into the converted tree, translated.

`fixtures/convert/helpers/shopdb/migrate_repo` has a `schema.py` (column types, table
definitions, create/drop loops, a function that takes the engine) that its scripts import by
the project's package path, both `from pkg.migrate_repo.schema import ...` and `from
pkg.migrate_repo import schema`. The conversion imports `migrate_helpers.schema` instead,
beside env.py, so it no longer needs the project; verify proves it up and down.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mig_lint.cli import main

HELPERS = Path(__file__).resolve().parent.parent / "fixtures" / "convert" / "helpers"


@pytest.fixture
def project(in_tmp, monkeypatch):
    shutil.copytree(HELPERS, in_tmp / "project")
    monkeypatch.setenv("PYTHONPATH", str(in_tmp / "project"))  # migrate's scripts import shopdb
    return in_tmp / "project"


def test_helpers_are_translated_beside_env_py_and_the_scripts_import_them_there(project, capsys):
    assert main(["convert", "project/shopdb/migrate_repo", "--out", "out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3] == ("  helper project/shopdb/migrate_repo/schema.py -> out/migrate_helpers/schema.py: "
                        "translated: 5 migrate constructs rewritten")
    helper = Path("out/migrate_helpers/schema.py").read_text()
    assert "        changeset.create(column, table)\n" in helper
    assert "    table = Table(name, meta, autoload_with=migrate_engine)\n" in helper
    assert "from migrate_helpers.schema import create_tables, define_users, drop_tables\n" in Path(
        "out/versions/0001_create.py").read_text()
    assert "from migrate_helpers import schema\n" in Path("out/versions/0002_more_columns.py").read_text()
    assert not [p for p in Path("out").rglob("*.py") if "from shopdb" in p.read_text() or "import shopdb" in
                p.read_text()]
    assert Path("out/migrate_helpers/__init__.py").is_file() and Path("out/migrate_changeset.py").is_file()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_conversion_with_its_helpers_is_proved_up_and_down(project, capsys, kind):
    from tests.databases import require_server
    from tests.legacy_env import legacy_python

    assert main(["convert", "project/shopdb/migrate_repo", "--out", "out"]) == 0
    capsys.readouterr()
    urls = [] if kind == "sqlite" else ["--url", require_server(kind, project)]
    assert main(["verify", "project/shopdb/migrate_repo", "out", "--downgrade", "--migrate-python",
                 legacy_python(), *urls]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["  ok: all 2 versions build the same schema",
                                                        "  ok: all 2 versions build back down to the same schema"]


def test_a_helper_that_cannot_be_parsed_or_keeps_migrate_code_is_told(project, capsys):
    repository = project / "shopdb" / "migrate_repo"
    (repository / "broken.py").write_text("def f(:\n")
    (repository / "legacy.py").write_text("def f(col):\n    return col.alter(type=1)\n")
    (repository / "latin.py").write_bytes(b"# caf\xe9\n")
    assert main(["convert", "project/shopdb/migrate_repo", "--out", "out", "--format", "json"]) == 0
    helpers = json.loads(capsys.readouterr().out)["helpers"]
    assert [(h["file"], h["problem"] is not None, len(h["leftovers"])) for h in helpers] == [
        ("out/migrate_helpers/broken.py", True, 0), ("out/migrate_helpers/latin.py", True, 0),
        ("out/migrate_helpers/legacy.py", False, 1), ("out/migrate_helpers/schema.py", False, 0)]
    assert helpers[1]["problem"].startswith("project/shopdb/migrate_repo/latin.py ")
    assert helpers[0]["problem"].startswith("project/shopdb/migrate_repo/broken.py:1: cannot be parsed")
    assert Path("out/migrate_helpers/broken.py").read_text().endswith("raise ImportError(" +
                                                                       repr(helpers[0]["problem"]) + ")\n")
    assert main(["convert", "project/shopdb/migrate_repo", "--out", "out2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3] == f"  helper project/shopdb/migrate_repo/broken.py -> out2/migrate_helpers/broken.py: " \
                       f"{helpers[0]['problem']}"
    assert lines[5] == ("  helper project/shopdb/migrate_repo/legacy.py -> out2/migrate_helpers/legacy.py: "
                        "partial: 1 migrate or SQLAlchemy 1.x construct left in the module")
    assert lines[6].startswith("      out2/migrate_helpers/legacy.py:")
