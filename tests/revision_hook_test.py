"""The revision hook: `alembic revision` (and `flask db revision`) keep the head files current."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import write_tree

TEMPLATE = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    pass


def downgrade():
    pass
'''
HOOK = """
[post_write_hooks]
hooks = mig_lint
mig_lint.type = console_scripts
mig_lint.entrypoint = mig-lint
mig_lint.options = heads --update REVISION_SCRIPT_FILENAME
"""
EXEC_HOOK = f"""
[post_write_hooks]
hooks = mig_lint
mig_lint.type = exec
mig_lint.executable = {Path(sys.executable).with_name("mig-lint")}
mig_lint.options = heads --update REVISION_SCRIPT_FILENAME
"""


def _tree(folder: str, first: str) -> dict[str, str]:
    return {f"{folder}/env.py": "", f"{folder}/script.py.mako": TEMPLATE,
            f"{folder}/versions/{first}_first.py": f'"""First.\n\nRevision ID: {first}\nRevises:\n"""\n' +
            alembic_script(first, None),
            f"{folder}/versions/HEAD": f"{first}\n"}


def _project(root: Path, hook: str = HOOK) -> None:
    """Two histories named by one alembic.ini (`alembic -n billing` picks the second), one hook for both."""
    ini = "[alembic]\nscript_location = %(here)s/shop\n\n[billing]\nscript_location = %(here)s/billing\n" + hook
    write_tree(root, {"alembic.ini": ini, **_tree("shop", "a1"), **_tree("billing", "b1")})


def _run(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=root, capture_output=True, text=True, check=True)


def _new_revision(folder: Path, known: set[str]) -> str:
    (new,) = {p.name for p in folder.glob("*.py")} - known
    return new.split("_", 1)[0]


def test_alembic_revision_updates_the_head_file_of_its_own_tree(in_tmp, capsys):
    _project(in_tmp)
    billing_head = (in_tmp / "billing" / "versions" / "HEAD").read_bytes()
    run = _run(in_tmp, "alembic", "revision", "-m", "add x")
    rev = _new_revision(in_tmp / "shop" / "versions", {"a1_first.py"})
    assert f"shop/versions/HEAD: wrote {rev}\n" in run.stdout
    assert (in_tmp / "shop" / "versions" / "HEAD").read_text() == f"{rev}\n"  # the bare form is kept
    assert (in_tmp / "billing" / "versions" / "HEAD").read_bytes() == billing_head
    assert main(["check"]) == 0
    assert capsys.readouterr().out == "No problems in 2 trees, 3 revisions.\n"

    _run(in_tmp, "alembic", "-n", "billing", "revision", "-m", "add y")
    billing = _new_revision(in_tmp / "billing" / "versions", {"b1_first.py"})
    assert (in_tmp / "billing" / "versions" / "HEAD").read_text() == f"{billing}\n"
    assert (in_tmp / "shop" / "versions" / "HEAD").read_text() == f"{rev}\n"
    assert main(["check"]) == 0


def test_a_revision_that_forks_the_history_is_reported_and_alembic_still_succeeds(in_tmp, capsys):
    """alembic does not look at a hook's exit status: the hook's message and `check` tell."""
    _project(in_tmp, EXEC_HOOK)
    _run(in_tmp, "alembic", "revision", "-m", "second")
    second = _new_revision(in_tmp / "shop" / "versions", {"a1_first.py"})
    known = {p.name for p in (in_tmp / "shop" / "versions").glob("*.py")}
    run = _run(in_tmp, "alembic", "revision", "-m", "forked", "--head", "a1", "--splice")
    forked = _new_revision(in_tmp / "shop" / "versions", known)
    heads = ", ".join(sorted([second, forked]))
    assert f"shop/versions/HEAD: the history has 2 heads ({heads}): fix the fork first\n" in run.stdout
    assert (in_tmp / "shop" / "versions" / "HEAD").read_text() == f"{second}\n"
    script = next((in_tmp / "shop" / "versions").glob(f"{forked}_*.py"))
    assert main(["heads", "--update", str(script)]) == 1
    assert main(["check"]) == 1
    assert "ML101" in capsys.readouterr().out


def test_update_exits_0_when_it_wrote_and_write_exits_1(in_tmp, capsys):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": alembic_script("a", None)})
    assert main(["heads", "--update"]) == 0
    assert capsys.readouterr().out == "versions/HEAD: wrote a\n"
    assert main(["heads", "--update"]) == 0
    write_tree(in_tmp, {"versions/b.py": alembic_script("b", "a")})
    assert main(["heads", "--write"]) == 1
    assert capsys.readouterr().out == "versions/HEAD: a\nversions/HEAD: wrote b\n"


def test_a_script_outside_the_working_directory_picks_the_tree_around_it(tmp_path, monkeypatch, capsys):
    write_tree(tmp_path, {"project/db/env.py": "", "project/db/versions/a.py": alembic_script("a", None),
                          "project/other/env.py": "", "project/other/versions/o.py": alembic_script("o", None),
                          "elsewhere/README": ""})
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["heads", "--update", str(tmp_path / "project" / "db" / "versions" / "a.py")]) == 0
    assert capsys.readouterr().out == "../project/db/versions/HEAD: wrote a\n"
    assert not (tmp_path / "project" / "other" / "versions" / "HEAD").exists()


def test_a_script_the_project_trees_do_not_read_picks_the_tree_around_it(in_tmp, capsys):
    write_tree(in_tmp, {"pyproject.toml": "[tool.mig-lint]\npaths = ['db']\n",
                        "db/env.py": "", "db/versions/a.py": alembic_script("a", None),
                        "other/env.py": "", "other/versions/o.py": alembic_script("o", None)})
    assert main(["heads", "--update", os.path.join("other", "versions", "o.py")]) == 0
    assert capsys.readouterr().out == "other/versions/HEAD: wrote o\n"
    assert not (in_tmp / "db" / "versions" / "HEAD").exists()


def test_flask_db_revision_updates_the_head_file(in_tmp, capsys):
    write_tree(in_tmp, {"app.py": """\
        from flask import Flask
        from flask_migrate import Migrate
        from flask_sqlalchemy import SQLAlchemy

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"
        db = SQLAlchemy(app)
        migrate = Migrate(app, db)
        """})
    _run(in_tmp, "flask", "--app", "app", "db", "init")
    ini = in_tmp / "migrations" / "alembic.ini"
    ini.write_text(ini.read_text() + HOOK)
    _run(in_tmp, "flask", "--app", "app", "db", "revision", "-m", "first")
    first = _new_revision(in_tmp / "migrations" / "versions", set())
    run = _run(in_tmp, "flask", "--app", "app", "db", "revision", "-m", "second")
    second = _new_revision(in_tmp / "migrations" / "versions", {p.name for p in (
        in_tmp / "migrations" / "versions").glob(f"{first}_*.py")})
    assert f"migrations/versions/HEAD: wrote {second}\n" in run.stdout
    assert (in_tmp / "migrations" / "versions" / "HEAD").read_text().endswith(f"\n{second}\n")
    assert main(["check"]) == 0
    assert capsys.readouterr().out == "No problems in 1 tree, 2 revisions.\n"


def test_the_project_configuration_decides_the_folders_of_the_tree(in_tmp, capsys):
    """Read around the script alone, db/ would look like a tree of versions/ only, whose head is b."""
    write_tree(in_tmp, {
        "alembic.ini": "[alembic]\nscript_location = %(here)s/db\npath_separator = space\n"
                       "version_locations = %(here)s/db/versions %(here)s/db/more\n",
        "db/env.py": "", "db/versions/a.py": alembic_script("a", None), "db/versions/b.py": alembic_script("b", "a"),
        "db/more/c.py": alembic_script("c", "b"),
    })
    assert main(["heads", "--update", "db/more/c.py"]) == 0
    assert capsys.readouterr().out == "db/versions/HEAD: wrote c\n"
