"""Head files: `mig-lint heads`, ML402, and the git conflict they exist to cause."""
from __future__ import annotations

import json
import subprocess

import pytest

from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import write_tree

LINEAR = {"env.py": "", "versions/a.py": alembic_script("a", None), "versions/b.py": alembic_script("b", "a")}
UP = "def upgrade(migrate_engine):\n    pass\n"


def _findings(capsys, *args):
    code = main(["check", "--format", "json", *args])
    return code, [(f["code"], f["path"], f["message"]) for f in json.loads(capsys.readouterr().out)["findings"]]


def test_write_then_check(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    assert main(["heads", "--check"]) == 1
    assert capsys.readouterr().out == "versions/HEAD: missing, head is b\n"
    assert main(["heads", "--write"]) == 1
    assert capsys.readouterr().out == "versions/HEAD: wrote b\n"
    text = (in_tmp / "versions" / "HEAD").read_text()
    assert text.startswith("# mig-lint head file: the newest revision of the history.\n") and text.endswith("\nb\n")
    assert "run `mig-lint fix` in the stopped merge or rebase" in text
    assert main(["heads", "--write"]) == 0
    assert main(["heads", "--check"]) == 0
    assert main(["heads"]) == 0
    assert capsys.readouterr().out == "versions/HEAD: b\n" * 3


def test_adding_a_revision_makes_the_head_file_stale(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    main(["heads", "--write"])
    write_tree(in_tmp, {"versions/c.py": alembic_script("c", "b")})
    capsys.readouterr()
    assert _findings(capsys) == (1, [("ML402", "versions/HEAD", "versions/HEAD names b, but the head of the history is c")])


def test_head_files_unused_are_not_required(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    assert _findings(capsys) == (0, [])


def test_configured_head_file_must_exist(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "pyproject.toml": "[tool.mig-lint]\nhead-file = 'versions/LATEST'\n"})
    assert _findings(capsys) == (1, [("ML402", "versions/LATEST", "versions/LATEST is missing: it should name b")])


def test_one_head_file_per_label(in_tmp, capsys):
    write_tree(in_tmp, {
        "env.py": "", "versions/a.py": alembic_script("a", None),
        "versions/e.py": alembic_script("e", "a", branch_labels="('expand',)"),
        "versions/c.py": alembic_script("c", "a", branch_labels="('contract',)"),
        "pyproject.toml": "[tool.mig-lint]\nbranch-labels = ['expand', 'contract']\nhead-file = 'versions/HEAD'\n",
    })
    assert main(["heads", "--write"]) == 1
    assert capsys.readouterr().out == "versions/CONTRACT_HEAD: wrote c\nversions/EXPAND_HEAD: wrote e\n"
    assert (in_tmp / "versions" / "EXPAND_HEAD").read_text().endswith("branch 'expand'.\n# Every change that adds a "
                                                                      "revision rewrites the line below, so two changes "
                                                                      "that add\n# revisions on the same head conflict "
                                                                      "here when the second one merges. To resolve the\n"
                                                                      "# conflict, run `mig-lint fix` in the stopped merge "
                                                                      "or rebase: it puts this branch's\n# first revision "
                                                                      "on top of the other's last and rewrites this file."
                                                                      "\ne\n")


def test_forked_history_gets_no_head_file(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "versions/c.py": alembic_script("c", "a")})
    assert main(["heads", "--write"]) == 1
    assert capsys.readouterr().out == "versions/HEAD: the history has 2 heads (b, c): fix the fork first\n"
    assert not (in_tmp / "versions" / "HEAD").exists()


def test_migrate_head_file(in_tmp, capsys):
    write_tree(in_tmp, {"r/migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = v\n",
                        "r/versions/001_a.py": UP, "r/versions/002_b.py": UP})
    assert main(["heads", "--write", "r"]) == 1
    assert (in_tmp / "r" / "versions" / "HEAD").read_text().endswith("\n2\n")


def test_heads_of_missing_path(in_tmp, capsys):
    assert main(["heads", "nowhere"]) == 2


@pytest.mark.parametrize("value", ("''", "3"))
def test_bad_head_file_setting(in_tmp, capsys, value):
    write_tree(in_tmp, {**LINEAR, "pyproject.toml": f"[tool.mig-lint]\nhead-file = {value}\n"})
    assert main(["check"]) == 2
    assert "'head-file' must be a non-empty string" in capsys.readouterr().err


def test_two_branches_conflict_in_the_head_file(git, in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    main(["heads", "--write"])
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    for branch, revision in (("one", "c"), ("two", "d")):
        git("checkout", "-q", "-b", branch, "main")
        write_tree(in_tmp, {f"versions/{revision}.py": alembic_script(revision, "b")})
        main(["heads", "--write"])
        git("add", "-A")
        git("commit", "-q", "-m", revision)
    git("checkout", "-q", "one")
    merged = subprocess.run(["git", "merge", "-q", "two"], cwd=in_tmp, capture_output=True, text=True)
    assert merged.returncode == 1 and "CONFLICT (content): Merge conflict in versions/HEAD" in merged.stdout
    capsys.readouterr()
    code, findings = _findings(capsys)
    assert ("ML402", "versions/HEAD", "versions/HEAD has merge conflict markers: two changes added revisions to the history") in findings


def test_current_head_file_is_clean(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "setup.cfg": "[mig-lint]\nhead-file = versions/HEAD\n"})
    main(["heads", "--write"])
    capsys.readouterr()
    assert _findings(capsys) == (0, [])


def test_binary_head_file_is_missing_its_head(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "versions/HEAD": b"\x00\x01"})
    assert _findings(capsys) == (1, [("ML402", "versions/HEAD", "versions/HEAD is missing: it should name b")])


def test_one_line_head_files_per_label_keep_their_form(in_tmp, capsys):
    """neutron's EXPAND_HEAD / CONTRACT_HEAD: labels declared in the scripts, files holding the id alone."""
    write_tree(in_tmp, {
        "env.py": "", "versions/a.py": alembic_script("a", None),
        "versions/r1/expand/e1.py": alembic_script("e1", "a", branch_labels="('expand',)"),
        "versions/r1/contract/c1.py": alembic_script("c1", "a", branch_labels="('contract',)"),
        "versions/EXPAND_HEAD": "e1\n", "versions/CONTRACT_HEAD": "c1\n",
    })
    assert main(["heads", "--check"]) == 0
    assert capsys.readouterr().out == "versions/CONTRACT_HEAD: c1\nversions/EXPAND_HEAD: e1\n"
    write_tree(in_tmp, {"versions/r2/expand/e2.py": alembic_script("e2", "e1")})
    code, findings = _findings(capsys, "--select", "ML402")
    assert (code, findings) == (1, [("ML402", "versions/EXPAND_HEAD", "versions/EXPAND_HEAD names e1, but the head of branch 'expand' is e2")])
    assert main(["heads", "--write"]) == 1
    assert capsys.readouterr().out == "versions/CONTRACT_HEAD: c1\nversions/EXPAND_HEAD: wrote e2\n"
    assert (in_tmp / "versions" / "EXPAND_HEAD").read_text() == "e2\n"
    assert (in_tmp / "versions" / "CONTRACT_HEAD").read_text() == "c1\n"
    assert not (in_tmp / "versions" / "HEAD").exists()
