"""`check --base` in clones that lack the base: the `git fetch` it names is run verbatim, then the gate works."""
from __future__ import annotations

import json
import re
import shlex
import subprocess

import pytest

from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import write_tree

ALEMBIC = {"db/env.py": "", "db/versions/a.py": alembic_script("a", None), "db/versions/b.py": alembic_script("b", "a")}


@pytest.fixture
def upstream(git, in_tmp):
    """main: a <- b <- d (d after the fork); feature: a <- b <- c. The working folder is left on feature."""
    def commit(files, message):
        write_tree(in_tmp, files)
        git("add", "-A")
        git("commit", "-q", "-m", message)

    commit(ALEMBIC, "base")
    for number in range(3):  # history below the fork, so that depth 1 really cuts it
        commit({f"notes/{number}.txt": "x"}, f"note {number}")
    git("checkout", "-q", "-b", "feature")
    commit({"db/versions/c.py": alembic_script("c", "b")}, "c")
    git("checkout", "-q", "main")
    commit({"db/versions/d.py": alembic_script("d", "b")}, "d")
    git("checkout", "-q", "feature")
    return in_tmp


def _gate(capsys, ref):
    code = main(["check", "--format", "json", "--base", ref])
    out, err = capsys.readouterr()
    if code == 2:
        return code, err
    return code, sorted((f["code"], f["path"]) for f in json.loads(out)["findings"])


def _advice(err):
    """The command between backticks in the one-line message."""
    return re.search(r"run `([^`]+)`", err).group(1)


def _run(command, cwd):
    subprocess.run(shlex.split(command), cwd=cwd, check=True, capture_output=True)


GATE_SAYS = (1, [("ML501", "db/versions/c.py")])  # c follows b, but main's head is d


@pytest.mark.parametrize(
    ("clone_args", "message"),
    (
        pytest.param(["--depth", "1", "--branch", "feature"],
                     "base 'origin/main' is not known in this clone: "
                     "run `git fetch --unshallow origin main:refs/remotes/origin/main`", id="shallow-single-branch"),
        pytest.param(["--single-branch", "--branch", "feature"],
                     "base 'origin/main' is not known in this clone: "
                     "run `git fetch origin main:refs/remotes/origin/main`", id="full-single-branch"),
        pytest.param(["--depth", "1", "--no-single-branch", "--branch", "feature"],
                     "'origin/main' and HEAD share no commit in this shallow clone: run `git fetch --unshallow origin`",
                     id="shallow-with-the-base"),
    ),
)
def test_printed_fetch_makes_the_gate_work(upstream, git, tmp_path_factory, capsys, monkeypatch, clone_args, message):
    clone = tmp_path_factory.mktemp("clone")
    git("clone", "-q", *clone_args, f"file://{upstream}", str(clone))
    monkeypatch.chdir(clone)
    code, err = _gate(capsys, "origin/main")
    assert (code, err) == (2, f"mig-lint: {message}\n")
    _run(_advice(err), clone)
    assert _gate(capsys, "origin/main") == GATE_SAYS


def test_pull_request_checkout_at_depth_one(upstream, git, tmp_path_factory, capsys, monkeypatch):
    """As actions/checkout does it: the merge commit alone, detached, no branch of the remote."""
    git("checkout", "-q", "-b", "pr-merge", "main")
    git("merge", "-q", "--no-edit", "feature")
    merge = git("rev-parse", "HEAD").strip()
    git("checkout", "-q", "feature")
    clone = tmp_path_factory.mktemp("clone")
    git("init", "-q", str(clone))
    git("remote", "add", "origin", f"file://{upstream}", cwd=clone)
    git("fetch", "-q", "--no-tags", "--depth=1", "origin", f"+{merge}:refs/remotes/pull/1/merge", cwd=clone)
    git("checkout", "-q", "--detach", "refs/remotes/pull/1/merge", cwd=clone)
    monkeypatch.chdir(clone)
    code, err = _gate(capsys, "origin/main")
    assert err == ("mig-lint: base 'origin/main' is not known in this clone: "
                   "run `git fetch --unshallow origin main:refs/remotes/origin/main`\n")
    _run(_advice(err), clone)
    assert _gate(capsys, "origin/main") == (1, [("ML101", "db/versions/c.py"), ("ML101", "db/versions/d.py"),
                                                ("ML103", "db/versions/b.py"), ("ML501", "db/versions/c.py")])


@pytest.mark.parametrize(
    ("ref", "command"),
    (
        pytest.param("main", "git fetch origin main:main", id="branch-name"),
        pytest.param("refs/remotes/origin/main", "git fetch origin main:refs/remotes/origin/main", id="remote-ref"),
        pytest.param("FULL", "git fetch origin FULL", id="commit"),
    ),
)
def test_other_refs(upstream, git, tmp_path_factory, capsys, monkeypatch, ref, command):
    full = git("rev-parse", "main").strip()
    ref, command = ref.replace("FULL", full), command.replace("FULL", full)
    clone = tmp_path_factory.mktemp("clone")
    git("clone", "-q", "--single-branch", "--branch", "feature", f"file://{upstream}", str(clone))
    monkeypatch.chdir(clone)
    code, err = _gate(capsys, ref)
    assert (code, err) == (2, f"mig-lint: base {ref!r} is not known in this clone: run `{command}`\n")
    _run(_advice(err), clone)
    assert _gate(capsys, ref) == GATE_SAYS


def test_a_remote_not_called_origin(upstream, git, tmp_path_factory, capsys, monkeypatch):
    clone = tmp_path_factory.mktemp("clone")
    git("clone", "-q", "--origin", "upstream", "--depth", "1", "--no-single-branch", "--branch", "feature",
        f"file://{upstream}", str(clone))
    monkeypatch.chdir(clone)
    code, err = _gate(capsys, "main")
    assert (code, err) == (2, "mig-lint: base 'main' is not known in this clone: "
                              "run `git fetch --unshallow upstream main:main`\n")
    code, err = _gate(capsys, "upstream/main")
    assert err == ("mig-lint: 'upstream/main' and HEAD share no commit in this shallow clone: "
                   "run `git fetch --unshallow upstream`\n")
    _run(_advice(err), clone)
    assert _gate(capsys, "upstream/main") == GATE_SAYS


def test_a_clone_without_remote(upstream, capsys):
    assert _gate(capsys, "origin/stable") == (
        2, "mig-lint: base 'origin/stable' is not known in this clone: the clone has no remote to fetch it from\n")
