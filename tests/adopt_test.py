"""`mig-lint check --add-baseline`: adopt mig-lint on a history that already has merges and forks."""
from __future__ import annotations

import json

import pytest

from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import write_tree

ML101_NOTE = ("ML101 is not baselined: several heads make `alembic upgrade head` fail; join them "
              "(`mig-lint rebase`, or a merge revision that the next --add-baseline accepts)\n")

# a <- b, c (fork at a) <- m1 (merge b, c) <- d <- e, m2 (merge d, e: fork at d) <- f <- g, h (open fork at f)
HISTORY = {
    "db/env.py": "",
    "db/versions/a.py": alembic_script("a", None),
    "db/versions/b.py": alembic_script("b", "a"),
    "db/versions/c.py": alembic_script("c", "a"),
    "db/versions/m1.py": alembic_script("m1", ("b", "c")),
    "db/versions/d.py": alembic_script("d", "m1"),
    "db/versions/e.py": alembic_script("e", "d"),
    "db/versions/m2.py": alembic_script("m2", ("d", "e")),
    "db/versions/f.py": alembic_script("f", "m2"),
    "db/versions/g.py": alembic_script("g", "f"),
    "db/versions/h.py": alembic_script("h", "f"),
    "db/versions/i.py": alembic_script("i", ("g", "h")),
}
PYPROJECT = b"""\
# The project's own settings; mig-lint must not touch a byte of them.
[project]
name = "shop"  # the distribution name
dependencies = [
    "alembic",  # migrations
]

[tool.black]
line-length = 99
"""
BASELINE = b'\n[tool.mig-lint.baseline]\nallow-merges = ["i", "m1", "m2"]\n'


def _codes(capsys):
    return sorted((f["code"], f["revision"]) for f in json.loads(capsys.readouterr().out)["findings"])


@pytest.fixture
def project(git, in_tmp):
    """A git project with three merges (m1 and m2 close forks at a and d, i closes the fork at f)."""
    write_tree(in_tmp, {**HISTORY, "pyproject.toml": PYPROJECT})
    return in_tmp


def test_adopt_then_check_is_clean_and_a_new_fork_fails(project, capsys):
    assert main(["check", "--format", "json"]) == 1
    assert _codes(capsys) == [("ML103", "a"), ("ML103", "d"), ("ML103", "f"),
                              ("ML104", "i"), ("ML104", "m1"), ("ML104", "m2")]

    assert main(["check", "--add-baseline"]) == 0
    assert capsys.readouterr() == (
        f"pyproject.toml: baseline written: allow-merges + i, m1, m2\n{ML101_NOTE}No problems in 1 tree, "
        "11 revisions.\n", "")
    assert (project / "pyproject.toml").read_bytes() == PYPROJECT + BASELINE
    assert main(["check"]) == 0
    capsys.readouterr()

    write_tree(project, {"db/versions/x.py": alembic_script("x", "i"), "db/versions/y.py": alembic_script("y", "i")})
    assert main(["check", "--format", "json"]) == 1
    assert _codes(capsys) == [("ML101", "x"), ("ML101", "y"), ("ML103", "i")]


def test_second_run_changes_nothing(project, capsys):
    assert main(["check", "--add-baseline"]) == 0
    written = (project / "pyproject.toml").stat()
    capsys.readouterr()
    assert main(["check", "--add-baseline"]) == 0
    assert capsys.readouterr().out.startswith(
        f"pyproject.toml: the baseline already accepts every merge and fork; nothing written\n{ML101_NOTE}")
    after = (project / "pyproject.toml").stat()
    assert (after.st_mtime_ns, after.st_ino) == (written.st_mtime_ns, written.st_ino)


def test_an_open_fork_is_accepted_but_its_heads_are_not(project, capsys):
    (project / "db/versions/i.py").unlink()
    assert main(["check", "--add-baseline", "--format", "json"]) == 1
    out, err = capsys.readouterr()
    assert err == f"pyproject.toml: baseline written: allow-merges + m1, m2; allow-forks + f\n{ML101_NOTE}"
    assert sorted((f["code"], f["revision"]) for f in json.loads(out)["findings"]) == [("ML101", "g"), ("ML101", "h")]
    assert (project / "pyproject.toml").read_bytes() == (
        PYPROJECT + b'\n[tool.mig-lint.baseline]\nallow-merges = ["m1", "m2"]\nallow-forks = ["f"]\n')
    assert main(["check", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["trees"][0]["linear"] is False


def test_entries_already_there_are_kept_and_the_rest_of_the_table_too(project, capsys):
    table = (b"[tool.mig-lint]\nallow-merges = ['m1']  # merged on purpose\n\n"
             b"[tool.mig-lint.baseline]  # accepted history\n# older trees\nallow-merges = [\n    'old',\n]\n\n"
             b"[tool.isort]\nprofile = 'black'\n")
    (project / "pyproject.toml").write_bytes(PYPROJECT + table)
    (project / "db/versions/i.py").unlink()
    assert main(["check", "--add-baseline"]) == 1
    assert capsys.readouterr().out.startswith("pyproject.toml: baseline written: allow-merges + m2; allow-forks + f\n")
    assert (project / "pyproject.toml").read_bytes() == PYPROJECT + (
        b"[tool.mig-lint]\nallow-merges = ['m1']  # merged on purpose\n\n"
        b'[tool.mig-lint.baseline]  # accepted history\n# older trees\nallow-merges = ["m2", "old"]\n'
        b'allow-forks = ["f"]\n\n'
        b"[tool.isort]\nprofile = 'black'\n")


def test_setup_cfg(git, in_tmp, capsys):
    setup_cfg = b"[metadata]\nname = shop\n\n[mig-lint]\n# our trees\npaths = db\n\n[flake8]\nmax-line-length = 99\n"
    write_tree(in_tmp, {**HISTORY, "setup.cfg": setup_cfg})
    assert main(["check", "--add-baseline"]) == 0
    assert capsys.readouterr().out.startswith("setup.cfg: baseline written: allow-merges + i, m1, m2\n")
    assert (in_tmp / "setup.cfg").read_bytes() == setup_cfg + b"\n[mig-lint.baseline]\nallow-merges =\n    i\n    m1\n    m2\n"
    assert not (in_tmp / "pyproject.toml").exists()
    assert main(["check"]) == 0
    (in_tmp / "db/versions/i.py").unlink()
    assert main(["check", "--add-baseline"]) == 1
    assert (in_tmp / "setup.cfg").read_bytes() == setup_cfg + (
        b"\n[mig-lint.baseline]\nallow-merges =\n    i\n    m1\n    m2\nallow-forks =\n    f\n")
    capsys.readouterr()
    assert main(["check", "--add-baseline"]) == 1
    assert "nothing written" in capsys.readouterr().out


def test_standalone_config_file_given_with_config(git, in_tmp, capsys):
    write_tree(in_tmp, {**HISTORY, "lint.toml": "# mig-lint only\nselect = ['ML1']\n"})
    assert main(["check", "--config", "lint.toml", "--add-baseline"]) == 0
    assert (in_tmp / "lint.toml").read_text() == (
        "# mig-lint only\nselect = ['ML1']\n\n[baseline]\nallow-merges = [\"i\", \"m1\", \"m2\"]\n")
    assert not (in_tmp / "pyproject.toml").exists()


def test_without_configuration_pyproject_at_the_project_root_is_created(git, in_tmp, capsys, monkeypatch):
    write_tree(in_tmp, HISTORY)
    monkeypatch.chdir(in_tmp / "db")
    assert main(["check", "--add-baseline"]) == 0
    assert capsys.readouterr().out.startswith("../pyproject.toml: baseline written: allow-merges + i, m1, m2\n")
    assert (in_tmp / "pyproject.toml").read_bytes() == BASELINE.lstrip(b"\n")
    assert main(["check"]) == 0


def test_outside_a_repository_the_working_directory_is_the_root(in_tmp, capsys):
    write_tree(in_tmp, HISTORY)
    assert main(["check", "--add-baseline"]) == 0
    assert (in_tmp / "pyproject.toml").read_bytes() == BASELINE.lstrip(b"\n")


def test_a_linear_history_writes_nothing(in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": alembic_script("a", None)})
    assert main(["check", "--add-baseline"]) == 0
    assert capsys.readouterr().out.startswith("the history has no merges or forks to accept; nothing written\n")
    assert not (in_tmp / "pyproject.toml").exists()


def test_declared_branches_and_allowed_merges_are_not_baselined(in_tmp, capsys):
    write_tree(in_tmp, {
        "db/env.py": "",
        "db/versions/a.py": alembic_script("a", None),
        "db/versions/x.py": alembic_script("x", "a", branch_labels="('expand',)"),
        "db/versions/y.py": alembic_script("y", "a", branch_labels="('contract',)"),
        "db/versions/b.py": alembic_script("b", None, branch_labels="('other',)"),
        "db/versions/c.py": alembic_script("c", "b"),
        "db/versions/d.py": alembic_script("d", "b"),
        "db/versions/m.py": alembic_script("m", ("c", "d")),
        "pyproject.toml": "[tool.mig-lint]\nbranch-labels = ['expand', 'contract', 'other']\nallow-merges = ['m']\n",
    })
    assert main(["check", "--add-baseline"]) == 0
    assert capsys.readouterr().out.startswith("the history has no merges or forks to accept; nothing written\n")


def test_crlf_file_keeps_its_line_endings(project, capsys):
    crlf = PYPROJECT.replace(b"\n", b"\r\n")
    (project / "pyproject.toml").write_bytes(crlf)
    assert main(["check", "--add-baseline"]) == 0
    assert (project / "pyproject.toml").read_bytes() == crlf + BASELINE.replace(b"\n", b"\r\n")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    (
        pytest.param("pyproject.toml", "[tool.mig-lint.baseline]\nallow-merges = 'm1'\n",
                     "'baseline.allow-merges' must be a list of revision ids (non-empty strings)", id="a-string"),
        pytest.param("pyproject.toml", "[tool.mig-lint.baseline]\nallow-forks = [1]\n",
                     "'baseline.allow-forks' must be a list of revision ids (non-empty strings)", id="not-strings"),
        pytest.param("pyproject.toml", "[tool.mig-lint.baseline]\nallow-forks = ['']\n",
                     "'baseline.allow-forks' must be a list of revision ids (non-empty strings)", id="empty-id"),
        pytest.param("pyproject.toml", "[tool.mig-lint.baseline]\nallow-heads = ['a']\n",
                     "unknown key 'baseline.allow-heads' (known: allow-forks, allow-merges)", id="unknown-key"),
        pytest.param("pyproject.toml", "[tool.mig-lint]\nbaseline = ['a']\n",
                     "'baseline' must be a table of allow-merges and allow-forks", id="not-a-table"),
        pytest.param("setup.cfg", "[mig-lint.baseline]\nallow-merges = a  # old\n",
                     "'baseline.allow-merges' must be a list of revision ids (non-empty strings)", id="ini-comment"),
    ),
)
def test_bad_baseline_is_a_one_line_configuration_error(project, capsys, name, text, message):
    (project / "pyproject.toml").unlink()
    (project / name).write_text(text)
    assert main(["check", "--add-baseline"]) == 2
    assert capsys.readouterr() == ("", f"mig-lint: {project / name}: {message}\n")
    assert (project / name).read_text() == text


@pytest.mark.parametrize(
    ("name", "text", "message"),
    (
        pytest.param("pyproject.toml", "[tool.mig-lint.baseline]\nallow-merges = [\n  'old',  # why\n]\n",
                     "line 3: a comment inside 'baseline.allow-merges' would be lost when mig-lint rewrites the list; "
                     "move it above the key", id="toml-comment-in-list"),
        pytest.param("setup.cfg", "[mig-lint.baseline]\nallow-merges =\n    old\n    # why\n    older\n",
                     "line 4: a comment inside 'baseline.allow-merges' would be lost when mig-lint rewrites the list; "
                     "move it above the key", id="ini-comment-in-list"),
        pytest.param("pyproject.toml", "[tool.mig-lint]\nbaseline = {allow-forks = []}\n",
                     "the baseline cannot be added as a [tool.mig-lint.baseline] table", id="inline-table"),
    ),
)
def test_a_file_that_cannot_take_the_baseline_is_left_alone(project, capsys, name, text, message):
    (project / "pyproject.toml").unlink()
    (project / name).write_text(text)
    assert main(["check", "--add-baseline"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"mig-lint: {project / name}: {message}")
    assert err.count("\n") == 1
    assert (project / name).read_text() == text


def test_unreadable_and_unwritable_targets(git, in_tmp, capsys, monkeypatch):
    write_tree(in_tmp, HISTORY)
    (in_tmp / "pyproject.toml").mkdir()
    assert main(["check", "--add-baseline"]) == 2
    assert capsys.readouterr().err.startswith(f"mig-lint: {in_tmp / 'pyproject.toml'}: cannot be read: ")
    (in_tmp / "pyproject.toml").rmdir()

    def refuse(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("mig_lint.adopt.write_atomically", refuse)
    assert main(["check", "--add-baseline"]) == 2
    assert capsys.readouterr().err == f"mig-lint: {in_tmp / 'pyproject.toml'}: cannot be written: Permission denied\n"
    assert not (in_tmp / "pyproject.toml").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    (
        pytest.param(b"[project\nname = 'x'\n", "invalid TOML", id="invalid-toml"),
        pytest.param(b"[project]\nname = '\xff'\n", "cannot be read", id="not-utf8"),
    ),
)
def test_a_broken_project_pyproject_is_a_configuration_error(git, in_tmp, capsys, monkeypatch, data, message):
    write_tree(in_tmp, {**HISTORY, "pyproject.toml": data})
    monkeypatch.chdir(in_tmp / "db")  # below the file: only --add-baseline reads it
    assert main(["check", "--add-baseline"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mig-lint: {in_tmp / 'pyproject.toml'}: {message}")
    assert err.count("\n") == 1
    assert (in_tmp / "pyproject.toml").read_bytes() == data


def test_no_tree_is_a_usage_error(in_tmp, capsys):
    assert main(["check", "--add-baseline", "nowhere"]) == 2
    assert capsys.readouterr().err.startswith("mig-lint: ")
