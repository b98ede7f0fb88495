"""Two branches that each add alembic revisions, repaired in every git state, then judged by the real tools.

Each history (one tree, one tree with the branch labels expand/contract, two trees) is forked:
main adds revisions, and so does a feature branch, each updating its head files. The feature
is then repaired as a user would in each git state: before merging (the hint ML501 prints),
after `git merge main`, inside a stopped merge, rebase or cherry-pick. Afterwards `mig-lint
check --base main` is clean, the real `alembic heads` shows one head per label, and git shows
no file main has as edited except the head files.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mig_lint.cli import main
from mig_lint.sources.git import merged_base
from tests.conftest import commit_all
from tests.conftest import write_tree
from tests.rebase_test import ENV_PY


def _script(revision, down, labels=(), revises=None):
    """A revision with a header string; `revises` writes a stale `Revises:` line."""
    shown = revises if revises is not None else (down or "")
    extra = f"branch_labels = {labels!r}\n" if labels else ""
    return (f'"""{revision}\n\nRevision ID: {revision}\nRevises: {shown}\n"""\nfrom alembic import op\n'
            f"import sqlalchemy as sa\n\nrevision = {revision!r}\ndown_revision = {down!r}\n{extra}\n\n"
            f"def upgrade():\n    op.create_table({('t_' + revision)!r}, sa.Column('id', sa.Integer, primary_key=True))\n")


def _ini(folder):
    return {f"{folder}/alembic.ini": "[alembic]\nscript_location = %(here)s/db\nsqlalchemy.url = sqlite:///app.db\n",
            f"{folder}/db/env.py": ENV_PY}


@dataclass(frozen=True)
class Shape:
    """A forked history: what main and the feature add, where each new chain must end up, the heads after."""

    base: dict[str, str]
    on_main: dict[str, str]
    on_feature: dict[str, str]
    moved: dict[str, str]  # the feature file whose down_revision must name the revision given
    heads: dict[str, set[str]]  # ini folder -> the heads `alembic heads` shows after the repair
    head_files: tuple[str, ...]


def _plain(folder, p):
    """a <- b; main: b <- d (with a stale Revises: line); feature: b <- c <- e."""
    v = f"{folder}/db/versions"
    return Shape(
        base={**_ini(folder), f"{v}/{p}a.py": _script(f"{p}a", None), f"{v}/{p}b.py": _script(f"{p}b", f"{p}a")},
        on_main={f"{v}/{p}d.py": _script(f"{p}d", f"{p}b", revises="zz")},
        on_feature={f"{v}/{p}c.py": _script(f"{p}c", f"{p}b"), f"{v}/{p}e.py": _script(f"{p}e", f"{p}c")},
        moved={f"{v}/{p}c.py": f"{p}d"},
        heads={folder: {f"{p}e"}},
        head_files=(f"{v}/HEAD",),
    )


def _labelled(folder):
    """r, then the branches expand (e0) and contract (c0); main and the feature each add one revision to each."""
    v = f"{folder}/db/versions"
    return Shape(
        base={**_ini(folder), f"{v}/r.py": _script("r", None), f"{v}/e0.py": _script("e0", "r", ("expand",)),
              f"{v}/c0.py": _script("c0", "r", ("contract",))},
        on_main={f"{v}/e1.py": _script("e1", "e0"), f"{v}/c1.py": _script("c1", "c0", revises="zz")},
        on_feature={f"{v}/ex.py": _script("ex", "e0"), f"{v}/cx.py": _script("cx", "c0")},
        moved={f"{v}/ex.py": "e1", f"{v}/cx.py": "c1"},
        heads={folder: {"ex", "cx"}},
        head_files=(f"{v}/CONTRACT_HEAD", f"{v}/EXPAND_HEAD"),
    )


def _two_trees():
    one, two = _plain("one", ""), _plain("two", "x")
    return Shape(*({**a, **b} for a, b in ((one.base, two.base), (one.on_main, two.on_main),
                                           (one.on_feature, two.on_feature), (one.moved, two.moved),
                                           (one.heads, two.heads))), one.head_files + two.head_files)


SHAPES = {"one-tree": lambda: _plain("app", ""), "labels": lambda: _labelled("app"), "two-trees": _two_trees}
CONFIG = {"pyproject.toml": '[tool.mig-lint]\nhead-file = "versions/HEAD"\n'}


def _heads_written(capsys):
    assert main(["heads", "--write"]) == 1
    capsys.readouterr()


@pytest.fixture(params=sorted(SHAPES))
def fork(request, git, in_tmp, capsys):
    return _fork(SHAPES[request.param](), git, in_tmp, capsys)


def _fork(shape, git, in_tmp, capsys):
    """main and feature each added revisions (and rewrote the head files); feature is checked out."""
    write_tree(in_tmp, {**CONFIG, **shape.base})
    _heads_written(capsys)
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, shape.on_feature)
    _heads_written(capsys)
    commit_all(git, "feature")
    git("checkout", "-q", "main")
    write_tree(in_tmp, shape.on_main)
    _heads_written(capsys)
    commit_all(git, "main")
    git("checkout", "-q", "feature")
    return shape


def _stops(git, *args):
    with pytest.raises(subprocess.CalledProcessError):
        git(*args)


def _continue(git, in_tmp, *args):
    git("add", "-A")
    subprocess.run(["git", "-c", "core.editor=true", *args], cwd=in_tmp, check=True, capture_output=True)


def _not_merged(git, in_tmp, capsys):
    """Run the hint ML501 prints, exactly, then merge main (its head files conflict; `fix` resolves them)."""
    assert main(["check", "--base", "main"]) == 1
    out = capsys.readouterr().out
    hints = sorted({h for h in re.findall(r"hint: run `(mig-lint [^`]+)`", out)})
    assert hints == ["mig-lint rebase --base main"]
    for hint in hints:
        assert main(shlex.split(hint)[1:]) == 1
    commit_all(git, "the branch's revisions follow main's heads")
    _stops(git, "merge", "-q", "--no-edit", "main")
    assert main(["fix"]) == 1
    _continue(git, in_tmp, "commit", "--no-edit")


def _merged(git, in_tmp, capsys):
    git("merge", "-q", "-X", "ours", "--no-edit", "main")
    assert main(["fix", "--base", "main"]) == 1
    assert "left as on main: " in capsys.readouterr().out
    commit_all(git, "fixed")


def _merged_plain_fix(git, in_tmp, capsys):
    """`git merge main`, then `mig-lint fix` with no arguments: the merged main is the base."""
    git("merge", "-q", "-X", "ours", "--no-edit", "main")
    assert main(["fix"]) == 1
    assert "mig-lint: this branch has merged main: moving its migrations above main's" in capsys.readouterr().err
    commit_all(git, "fixed")


def _merged_plain_rebase(git, in_tmp, capsys):
    """`git merge main`, then `mig-lint rebase` with no arguments (the head files kept the feature's heads)."""
    git("merge", "-q", "-X", "ours", "--no-edit", "main")
    assert main(["rebase"]) == 1
    assert "mig-lint: this branch has merged main" in capsys.readouterr().err
    assert main(["fix"]) == 0
    commit_all(git, "fixed")


def _stopped_merge(git, in_tmp, capsys):
    _stops(git, "merge", "-q", "--no-edit", "main")
    assert main(["fix"]) == 1
    assert re.search(r"^left as on [0-9a-f]{12}: \S+:4: Revises: zz -> ", capsys.readouterr().out, re.MULTILINE)
    _continue(git, in_tmp, "commit", "--no-edit")


def _stopped_rebase(git, in_tmp, capsys):
    _stops(git, "rebase", "main")
    assert main(["fix"]) == 1
    _continue(git, in_tmp, "rebase", "--continue")


def _stopped_cherry_pick(git, in_tmp, capsys):
    git("checkout", "-q", "-b", "picked", "main")
    _stops(git, "cherry-pick", "feature")
    assert main(["fix"]) == 1
    assert "git cherry-pick in progress: moving this side's migrations above HEAD" in capsys.readouterr().err
    _continue(git, in_tmp, "cherry-pick", "--continue")


STATES: dict[str, Callable[..., None]] = {
    "not-merged": _not_merged, "merged": _merged, "merged-plain-fix": _merged_plain_fix,
    "merged-plain-rebase": _merged_plain_rebase, "stopped-merge": _stopped_merge,
    "stopped-rebase": _stopped_rebase, "stopped-cherry-pick": _stopped_cherry_pick,
}


def _alembic_heads(folder: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-m", "alembic", "-c", "alembic.ini", "heads"], cwd=folder,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return {line.split()[0] for line in done.stdout.splitlines()}


def _down_revision(path: Path) -> str:
    return re.search(r"^down_revision = '(\w+)'$", path.read_text(), re.MULTILINE).group(1)


@pytest.mark.parametrize("state", sorted(STATES))
def test_repaired_in_every_git_state(fork, git, in_tmp, capsys, state):
    STATES[state](git, in_tmp, capsys)
    capsys.readouterr()

    assert main(["check", "--base", "main"]) == 0
    assert "ML5" not in capsys.readouterr().out
    for path, parent in fork.moved.items():
        assert _down_revision(in_tmp / path) == parent
    for folder, heads in fork.heads.items():
        assert _alembic_heads(in_tmp / folder) == heads
    assert git("status", "--porcelain") == ""
    changed = set(git("diff", "--name-only", "main", "HEAD").split())
    assert changed == set(fork.on_feature) | set(fork.head_files)
    for path, text in fork.on_main.items():  # main's files, stale header lines included, as main has them
        assert (in_tmp / path).read_text() == text


def test_labelled_chains_each_go_on_their_own_head(git, in_tmp, capsys):
    _fork(_labelled("app"), git, in_tmp, capsys)
    git("merge", "-q", "-X", "ours", "--no-edit", "main")
    assert main(["fix", "--base", "main"]) == 1
    assert capsys.readouterr().out == (
        "fixed app/db/versions/cx.py:4: Revises: c0 -> c1\n"
        "fixed app/db/versions/cx.py:10: cx now follows c1 (was 'c0')\n"
        "fixed app/db/versions/ex.py:4: Revises: e0 -> e1\n"
        "fixed app/db/versions/ex.py:10: ex now follows e1 (was 'e0')\n"
        "left as on main: app/db/versions/c1.py:4: Revises: zz -> c0\n"
        "app/db/versions/c1.py:4:10: ML205 [stale-docstring-revises] Revises: zz differs from down_revision = 'c0'\n"
        "    hint: write Revises: c0 (`mig-lint fix` does)\n"
        "Found 1 warning in 1 tree, 7 revisions.\n")


def _hints(out: str, code: str) -> list[str]:
    """The commands the findings of `code` print in their hints, once each."""
    found = re.findall(rf"{code} .*\n    hint: (.*)", out)
    return sorted({command for hint in found for command in re.findall(r"`(mig-lint [^`]+)`", hint)})


@pytest.mark.parametrize(("code", "hint"), [
    pytest.param("ML101", "mig-lint rebase c e --onto d", id="ML101"),
    pytest.param("ML101", "mig-lint fix --base main", id="ML101-fix"),
    pytest.param("ML103", "mig-lint fix --base main", id="ML103"),
    pytest.param("ML501", "mig-lint rebase --base main", id="ML501"),
])
def test_hints_run_as_printed_in_a_two_tree_project(git, in_tmp, capsys, code, hint):
    shape = _fork(_two_trees(), git, in_tmp, capsys)
    git("merge", "-q", "-X", "ours", "--no-edit", "main")
    assert main(["check", "--base", "main"]) == 1
    hints = _hints(capsys.readouterr().out, code)
    assert hint in hints
    for command in hints:  # each tree's, of the same command as `hint`
        if command.split()[:2] == hint.split()[:2]:
            assert main(shlex.split(command)[1:]) == 1
    capsys.readouterr()
    assert main(["check", "--base", "main", "--select", "ML1,ML5"]) == 0
    assert (in_tmp / "one/db/versions/c.py").read_text() == _script("c", "d")
    assert (in_tmp / "two/db/versions/xc.py").read_text() == _script("xc", "xd")
    assert {path: (in_tmp / path).read_text() for path in shape.on_main} == shape.on_main


def test_a_hint_printed_in_a_subfolder_runs_there(git, in_tmp, capsys, monkeypatch):
    _fork(_two_trees(), git, in_tmp, capsys)
    git("merge", "-q", "-X", "ours", "--no-edit", "main")
    monkeypatch.chdir(in_tmp / "two")
    assert main(["check", "--base", "main"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("db/versions/")
    assert _hints(out, "ML101") == ["mig-lint fix --base main", "mig-lint rebase xc xe --onto xd"]
    assert main(["rebase", "xc", "xe", "--onto", "xd"]) == 1
    assert capsys.readouterr().out.startswith("changed db/versions/xc.py:4: Revises: xb -> xd\n")
    assert main(["check", "--base", "main", "--select", "ML1,ML5"]) == 0
    assert (in_tmp / "one/db/versions/c.py").read_text() == _script("c", "b")


def _branches(git, in_tmp):
    """main has one commit more than where feature (one commit of its own) left it."""
    write_tree(in_tmp, {"a.txt": "a\n"})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"f.txt": "f\n"})
    commit_all(git, "feature")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {"m.txt": "m\n"})
    commit_all(git, "main")
    git("checkout", "-q", "feature")


def test_merged_base_is_the_branch_merged_in(git, in_tmp):
    _branches(git, in_tmp)
    assert merged_base(".") is None  # main moved on since: not merged
    git("merge", "-q", "--no-edit", "main")
    assert merged_base(".") == "main"
    git("checkout", "-q", "main")
    assert merged_base(".") is None  # on main itself (and no master)


def test_merged_base_skips_the_branchs_own_upstream(git, in_tmp, tmp_path_factory):
    _branches(git, in_tmp)
    remote = tmp_path_factory.mktemp("remote")
    git("init", "-q", "--bare", str(remote))
    git("remote", "add", "origin", str(remote))
    git("push", "-q", "-u", "origin", "feature")
    git("merge", "-q", "--no-edit", "main")
    assert git("rev-parse", "--abbrev-ref", "@{upstream}").strip() == "origin/feature"
    assert merged_base(".") == "main"  # origin/feature is the branch's own copy; no origin/HEAD


def test_merged_base_skips_a_base_at_head_and_a_detached_head(git, in_tmp):
    _branches(git, in_tmp)
    git("checkout", "-q", "-b", "fresh", "main")
    assert merged_base(".") is None  # main is HEAD itself, and there is no master
    git("checkout", "-q", "--detach", "feature")
    assert merged_base(".") is None


def test_merged_base_outside_git(in_tmp):
    assert merged_base(".") is None


def test_merged_base_is_the_newest_branch_merged(git, in_tmp):
    """origin/HEAD still at the fork, main merged since: main is the base; an older main: origin/HEAD."""
    _branches(git, in_tmp)
    git("update-ref", "refs/remotes/origin/main", "main~1")
    git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    git("merge", "-q", "--no-edit", "main")
    assert merged_base(".") == "main"
    git("update-ref", "refs/remotes/origin/main", "main")
    git("update-ref", "refs/heads/main", "main~1")
    assert merged_base(".") == "origin/main"
    git("update-ref", "refs/heads/main", "origin/main")
    assert merged_base(".") == "origin/main"  # the same commit: the first in order


def _stale_base(git, in_tmp, capsys):
    """a's Revises: line is stale on main; main moves on (d); feature adds c with a stale line too."""
    v = "app/db/versions"
    write_tree(in_tmp, {**CONFIG, **_ini("app"), f"{v}/a.py": _script("a", None, revises="zz")})
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {f"{v}/c.py": _script("c", "a", revises="yy")})
    commit_all(git, "feature")
    git("checkout", "-q", "main")
    write_tree(in_tmp, {f"{v}/d.py": _script("d", "a")})
    commit_all(git, "main")
    git("checkout", "-q", "feature")
    capsys.readouterr()


def test_before_merging_main_plain_fix_leaves_mains_files(git, in_tmp, capsys):
    _stale_base(git, in_tmp, capsys)
    assert main(["fix"]) == 1
    out, err = capsys.readouterr()
    assert "mig-lint: main is not merged here: its files are left as they are there, nothing moves" in err
    assert out.splitlines()[:3] == ["fixed app/db/versions/HEAD: head of the history is c",
                                    "fixed app/db/versions/c.py:4: Revises: yy -> a",
                                    "left as on main: app/db/versions/a.py:4: Revises: zz -> (empty)"]
    assert sorted(git("status", "--porcelain").splitlines()) == [" M app/db/versions/c.py", "?? app/db/versions/HEAD"]


def test_plain_fix_with_a_target_it_cannot_read_fixes_every_file(git, in_tmp, capsys):
    """An unrelated main (no merge-base): what main has is not known, and the output says so."""
    _stale_base(git, in_tmp, capsys)
    git("checkout", "-q", "--orphan", "elsewhere")
    commit_all(git, "unrelated history")
    assert main(["fix"]) == 1
    out = capsys.readouterr().out
    assert "main cannot be read (" in out and "header lines are fixed in every file" in out
    assert "fixed app/db/versions/a.py:4: Revises: zz -> (empty)" in out
