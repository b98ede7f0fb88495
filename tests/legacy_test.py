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
