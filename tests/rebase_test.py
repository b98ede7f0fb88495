"""`mig-lint rebase`: move a chain of alembic revisions, byte for byte, then upgrade for real."""
from __future__ import annotations

import subprocess
import sys

import pytest

from mig_lint.cli import main
from mig_lint.fix.rebase import _like
from tests.conftest import commit_all
from tests.conftest import write_tree

ENV_PY = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"""


def _script(revision, down, header=True):
    doc = f'"""{revision}\n\nRevision ID: {revision}\nRevises: {down or ""}\n"""\n' if header else ""
    return (f"{doc}from alembic import op\nimport sqlalchemy as sa\n\nrevision = {revision!r}\ndown_revision = {down!r}\n\n\n"
            f"def upgrade():\n    op.create_table({('t_' + revision)!r}, sa.Column('id', sa.Integer, primary_key=True))\n")


@pytest.fixture
def diverged(git, in_tmp):
    """main: a <- b <- d; feature (checked out, main merged in): b <- c <- e."""
    write_tree(in_tmp, {"alembic.ini": "[alembic]\nscript_location = db\nsqlalchemy.url = sqlite:///app.db\n",
                        "db/env.py": ENV_PY, "db/versions/a.py": _script("a", None), "db/versions/b.py": _script("b", "a")})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"db/versions/c.py": _script("c", "b"), "db/versions/e.py": _script("e", "c", header=False)})
    commit_all(git, "feature")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"db/versions/d.py": _script("d", "b")})
    commit_all(git, "d")
    git("checkout", "-q", "feature")
    git("merge", "-q", "--no-edit", "main")
    return git


def test_rebase_onto_the_base_branch_then_upgrade(diverged, in_tmp, capsys):
    before_e = (in_tmp / "db/versions/e.py").read_bytes()
    assert main(["check"]) == 1
    capsys.readouterr()
    assert main(["rebase", "--base", "main"]) == 1
    assert capsys.readouterr().out == ("changed db/versions/c.py:4: Revises: b -> d\n"
                                       "changed db/versions/c.py:10: c now follows d (was 'b')\n")
    assert (in_tmp / "db/versions/c.py").read_bytes() == _script("c", "d").encode()
    assert (in_tmp / "db/versions/e.py").read_bytes() == before_e
    assert main(["check"]) == 0
    assert main(["rebase", "--base", "main"]) == 0
    upgrade = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=in_tmp, capture_output=True, text=True)
    assert upgrade.returncode == 0, upgrade.stderr
    tables = subprocess.run([sys.executable, "-c", "import sqlite3; print(sorted(r[0] for r in sqlite3.connect('app.db')"
                             ".execute(\"select name from sqlite_master where name like 't_%'\")))"],
                            cwd=in_tmp, capture_output=True, text=True).stdout.strip()
    assert tables == "['t_a', 't_b', 't_c', 't_d', 't_e']"


def test_explicit_chain_and_onto(diverged, in_tmp, capsys):
    assert main(["rebase", "c", "e", "--onto", "d", "--dry-run"]) == 1
    assert capsys.readouterr().out == ("db/versions/c.py:4: Revises: b -> d\n"
                                       "db/versions/c.py:10: c now follows d (was 'b')\n")


def test_diff(diverged, in_tmp, capsys):
    assert main(["rebase", "--base", "main", "--diff"]) == 1
    assert "-down_revision = 'b'\n+down_revision = 'd'\n" in capsys.readouterr().out
    assert (in_tmp / "db/versions/c.py").read_bytes() == _script("c", "b").encode()


@pytest.mark.parametrize(
    ("args", "message"),
    (
        pytest.param(["b", "--onto", "d", "--base", "main"], "b already merged on the base branch", id="merged"),
        pytest.param(["c", "d", "--onto", "a", "--force"], "not one chain (they start at c, d)", id="two-chains"),
        pytest.param(["zz", "--onto", "d"], "zz: no such revision", id="unknown"),
        pytest.param(["a", "--onto", "e", "--force"], "e is above (or among) the revisions to move", id="cycle"),
        pytest.param(["c"], "name the revisions and --onto, or give --base", id="no-onto"),
        pytest.param(["--onto", "d"], "name the revisions and --onto, or give --base", id="no-revisions"),
        pytest.param(["--base", "nope"], "base 'nope' is not known in this clone", id="unknown-base"),
    ),
)
def test_refusals_change_nothing(diverged, in_tmp, capsys, args, message):
    before = {p.name: p.read_bytes() for p in (in_tmp / "db/versions").iterdir()}
    assert main(["rebase", *args]) == 2
    assert message in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (in_tmp / "db/versions").iterdir()} == before


def test_force_moves_a_merged_revision(diverged, in_tmp, capsys):
    assert main(["rebase", "d", "--onto", "e", "--base", "main", "--dry-run"]) == 2
    assert "d already merged on the base branch" in capsys.readouterr().err
    assert main(["rebase", "d", "--onto", "e", "--force", "--base", "main", "--dry-run"]) == 1


def test_merge_revision_is_not_moved(diverged, in_tmp, capsys):
    write_tree(in_tmp, {"db/versions/m.py": _script("m", ("c", "d"))})
    assert main(["rebase", "m", "--onto", "e"]) == 2
    assert "m is a merge revision" in capsys.readouterr().err


def test_already_in_place_is_no_change(diverged, in_tmp, capsys):
    assert main(["rebase", "e", "--onto", "c"]) == 0
    assert capsys.readouterr().out == ""


def test_base_with_several_heads_needs_onto(git, in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": _script("a", None), "db/versions/b.py": _script("b", "a"),
                        "db/versions/x.py": _script("x", "a")})
    commit_all(git, "forked base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"db/versions/c.py": _script("c", "b")})
    assert main(["rebase", "--base", "main"]) == 2
    assert "the base branch has 2 heads (b, x) to put c on; give --onto" in capsys.readouterr().err
    assert main(["rebase", "--base", "main", "--onto", "x"]) == 1


def test_tree_missing_on_the_base(git, in_tmp, capsys):
    write_tree(in_tmp, {"README": "x"})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": _script("a", None)})
    assert main(["rebase", "--base", "main"]) == 2
    assert "db does not exist on main" in capsys.readouterr().err


def test_several_trees_need_a_path(in_tmp, capsys):
    write_tree(in_tmp, {"one/env.py": "", "one/versions/a.py": _script("a", None),
                        "two/env.py": "", "two/versions/a.py": _script("a", None)})
    assert main(["rebase", "a", "--onto", "a"]) == 2
    assert "mig-lint: 2 alembic trees found that hold a: name one with --path\n" in capsys.readouterr().err
    assert main(["rebase", "a", "--onto", "a", "--path", "one"]) == 2
    assert main(["rebase", "a", "--onto", "zz"]) == 2
    assert "mig-lint: 2 alembic trees found, and none holds a, zz: name one with --path\n" in capsys.readouterr().err


def test_the_tree_that_holds_the_revisions_is_found_without_a_path(in_tmp, capsys):
    write_tree(in_tmp, {"one/env.py": "", "one/versions/a.py": _script("a", None), "one/versions/b.py": _script("b", "a"),
                        "one/versions/c.py": _script("c", "a"),
                        "two/env.py": "", "two/versions/x.py": _script("x", None)})
    assert main(["rebase", "c", "--onto", "b"]) == 1
    assert capsys.readouterr().out == ("changed one/versions/c.py:4: Revises: a -> b\n"
                                       "changed one/versions/c.py:10: c now follows b (was 'a')\n")


@pytest.mark.parametrize(
    ("source", "written"),
    (
        pytest.param("'b'", "'x'", id="single-quotes"),
        pytest.param('"b"', '"x"', id="double-quotes"),
        pytest.param("('b',)", "('x',)", id="tuple"),
        pytest.param('["b"]', '["x"]', id="list"),
        pytest.param("None", "'x'", id="base-becomes-a-string"),
    ),
)
def test_down_revision_keeps_its_form(source, written):
    assert _like(source, "x") == written


def test_a_base_revision_can_be_put_on_top(in_tmp, capsys):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": _script("a", None), "versions/z.py": _script("z", None)})
    assert main(["rebase", "z", "--onto", "a"]) == 1
    text = (in_tmp / "versions/z.py").read_text()
    assert "Revises: a\n" in text and "down_revision = 'a'\n" in text


def test_nothing_new_on_this_branch(diverged, in_tmp, capsys):
    diverged("checkout", "-q", "main")
    assert main(["rebase", "--base", "main"]) == 0


def test_revision_without_header_string(diverged, in_tmp, capsys):
    assert main(["rebase", "e", "--onto", "d"]) == 1
    assert (in_tmp / "db/versions/e.py").read_text() == _script("e", "d", header=False)


def test_comment_header_follows_the_rebase(diverged, in_tmp, capsys):
    commented = _script("e", "c", header=False).replace("from alembic", "# Revision ID: e\n# Revises: c\nfrom alembic", 1)
    (in_tmp / "db/versions/e.py").write_text(commented)
    assert main(["rebase", "e", "--onto", "d"]) == 1
    assert capsys.readouterr().out == ("changed db/versions/e.py:2: Revises: c -> d\n"
                                       "changed db/versions/e.py:7: e now follows d (was 'c')\n")
    assert (in_tmp / "db/versions/e.py").read_text() == commented.replace("Revises: c", "Revises: d").replace(
        "down_revision = 'c'", "down_revision = 'd'")


@pytest.mark.parametrize(
    ("setup", "named"),
    (
        pytest.param([], "main", id="main"),
        pytest.param([["branch", "-q", "release", "main"], ["branch", "-q", "--set-upstream-to=release"]], "release",
                     id="upstream"),
        pytest.param([["update-ref", "refs/remotes/origin/trunk", "main"],
                      ["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk"]], "origin/trunk",
                     id="origin-head"),
        pytest.param([["branch", "-q", "-m", "main", "master"]], "master", id="master"),
    ),
)
def test_without_base_a_revision_on_the_default_base_is_not_moved(diverged, in_tmp, capsys, setup, named):
    for args in setup:
        diverged(*args)
    before = (in_tmp / "db/versions/d.py").read_bytes()
    assert main(["rebase", "d", "--onto", "e"]) == 2
    assert capsys.readouterr().err == (
        f"mig-lint: revisions already on {named} are not moved (--base names another branch)\n"
        "mig-lint: d already merged on the base branch: databases past it would skip the revisions moved below it "
        "(use --force to move it anyway)\n")
    assert (in_tmp / "db/versions/d.py").read_bytes() == before
    assert main(["rebase", "d", "--onto", "e", "--force", "--dry-run"]) == 1
    assert capsys.readouterr().err == ""


def test_without_any_default_base_nothing_is_refused(diverged, in_tmp, capsys):
    diverged("checkout", "-q", "main")
    diverged("branch", "-q", "-D", "feature")
    assert main(["rebase", "d", "--onto", "a", "--dry-run"]) == 1
    assert capsys.readouterr().err == ("mig-lint: no upstream branch, origin/HEAD, main or master: revisions already "
                                       "merged are not looked for (give --base)\n")


def test_default_base_without_the_tree(git, in_tmp, capsys):
    write_tree(in_tmp, {"README": "x"})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": _script("a", None), "db/versions/b.py": _script("b", None)})
    assert main(["rebase", "b", "--onto", "a"]) == 1
    assert "revisions already on main are not moved" in capsys.readouterr().err


LABELLED = {"r": (None, ()), "e0": ("r", ("expand",)), "c0": ("r", ("contract",)), "e1": ("e0", ()), "c1": ("c0", ())}


def _graph_of(root, revisions):
    from mig_lint.check import load_graphs
    from mig_lint.config import Config
    from tests.alembic_git_states_test import _script as labelled_script

    write_tree(root, {"env.py": "", **{f"versions/{r}.py": labelled_script(r, down, labels)
                                       for r, (down, labels) in revisions.items()}})
    return load_graphs([str(root)], Config(), use_cache=False)[0]


@pytest.mark.parametrize(
    ("base_extra", "new", "expected"),
    (
        pytest.param({}, {"ex": ("e0", ())}, "e1", id="the-head-of-its-label"),
        pytest.param({}, {"cx": ("c0", ()), "cy": ("cx", ())}, "c1", id="a-chain-on-the-head-of-its-label"),
        pytest.param({"e1b": ("e0", ())}, {"ex": ("e0", ())}, ("e1", "e1b"), id="its-label-forked-on-the-base"),
        pytest.param({}, {"z": ("r", ())}, ("c1", "e1"), id="no-label-below-two-heads"),
        pytest.param({}, {"n": ("e0", ("data",))}, "e1", id="a-new-label-goes-where-its-parent-leads"),
        pytest.param({}, {"m": ("gone", ("data",))}, ("c1", "e1"), id="a-parent-the-base-lacks"),
    ),
)
def test_base_head(tmp_path, base_extra, new, expected):
    from mig_lint.fix.rebase import base_head

    base = _graph_of(tmp_path / "base", {**LABELLED, **base_extra})
    here = _graph_of(tmp_path / "here", {**LABELLED, **base_extra, **new})
    assert base_head(here, base, tuple(new), ("contract", "data", "expand")) == expected


def test_a_project_without_alembic_trees(in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": "[db_settings]\nrepository_id = r\n", "repo/versions/001_a.py": "x = 1\n"})
    assert main(["rebase", "a", "--onto", "b"]) == 2
    assert capsys.readouterr().err.endswith("mig-lint: 0 alembic trees found: name one with --path\n")


def test_rebase_base_moves_in_every_tree_the_base_has(git, in_tmp, capsys):
    write_tree(in_tmp, {"one/env.py": "", "one/versions/a.py": _script("a", None)})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"one/versions/c.py": _script("c", "a"),
                        "two/env.py": "", "two/versions/x.py": _script("x", None)})
    commit_all(git, "feature: a revision, and a tree main does not have")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"one/versions/b.py": _script("b", "a")})
    commit_all(git, "b")
    git("checkout", "-q", "feature")
    git("merge", "-q", "--no-edit", "main")
    assert main(["rebase", "--base", "main"]) == 1
    assert capsys.readouterr().out == ("changed one/versions/c.py:4: Revises: a -> b\n"
                                       "changed one/versions/c.py:10: c now follows b (was 'a')\n")
    assert main(["rebase", "--base", "main", "--path", "two"]) == 2
    assert capsys.readouterr().err == "mig-lint: two does not exist on main\n"
