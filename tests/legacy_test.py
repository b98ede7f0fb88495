"""`mig-lint legacy-env`: a real virtualenv, made with pip, in which migrate imports."""
from __future__ import annotations

import subprocess

import pytest

from mig_lint.cli import main


def test_legacy_env_makes_an_interpreter_that_imports_migrate(tmp_path, capsys):
    env = tmp_path / "legacy"
    assert main(["legacy-env", str(env), "--with", "PyMySQL==1.1.1"]) == 0  # a pin narrows the driver's range
    python = env / "bin" / "python"
    assert capsys.readouterr().out == f"{python}: sqlalchemy-migrate runs here; pass it as --migrate-python\n"
    versions = subprocess.run([str(python), "-c", "import migrate, sqlalchemy, pymysql, psycopg2; print(sqlalchemy.__version__)"],
                              capture_output=True, text=True, check=True).stdout
    assert versions.strip() == "1.4.54"
    assert main(["legacy-env", str(env)]) == 0  # a second run updates the same env
    capsys.readouterr()


def test_legacy_env_reports_what_pip_said(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["legacy-env", str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mig-lint: cannot create a virtualenv in {tmp_path / 'file'} (exit 1):"), err


def test_an_interpreter_that_cannot_be_run(tmp_path):
    from mig_lint.db.legacy import LegacyEnvError
    from mig_lint.db.legacy import make_legacy_env

    with pytest.raises(LegacyEnvError, match=f"^cannot create a virtualenv in {tmp_path}: .*No such file"):
        make_legacy_env(str(tmp_path), python="/nonexistent/python")


COUNTING = {
    "migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n",
    "versions/__init__.py": "",
    "versions/001_tags.py": (
        "from sqlalchemy import Column, Integer, MetaData, String, Table\n\n\n"
        "def upgrade(migrate_engine):\n    meta = MetaData(bind=migrate_engine)\n"
        "    Table('tags', meta, Column('id', Integer, primary_key=True), Column('name', String(9))).create()\n"),
    "versions/002_count.py": (
        "from sqlalchemy import Column, Integer, MetaData, Table\n\n\n"
        "def upgrade(migrate_engine):\n    meta = MetaData(bind=migrate_engine)\n"
        "    tags = Table('tags', meta, autoload=True)\n"
        "    if not tags.count().where(tags.c.name == 'x').execute().scalar():\n"
        "        Column('weight', Integer).create(tags)\n"),
}


def test_a_legacy_env_on_sqlalchemy_1_3_runs_what_1_4_removed(tmp_path, capsys, monkeypatch):
    from tests.legacy_env import legacy_python

    env = tmp_path / "legacy13"
    assert main(["legacy-env", str(env), "--sqlalchemy", "1.3.24"]) == 0
    capsys.readouterr()
    python = str(env / "bin" / "python")
    assert subprocess.run([python, "-c", "import migrate, sqlalchemy; print(sqlalchemy.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip() == "1.3.24"
    monkeypatch.chdir(tmp_path)
    for name, text in COUNTING.items():
        (tmp_path / "repo" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "repo" / name).write_text(text)
    assert main(["convert", "repo", "--out", "out"]) == 0
    assert "changeset.count(tags)" in (tmp_path / "out/versions/0002_count.py").read_text()
    capsys.readouterr()
    assert main(["verify", "repo", "out", "--migrate-python", python]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "  ok: all 2 versions build the same schema"
    assert main(["verify", "repo", "out", "--migrate-python", legacy_python()]) == 1
    assert "AttributeError: 'Table' object has no attribute 'count'" in capsys.readouterr().out
