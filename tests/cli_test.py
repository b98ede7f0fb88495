from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mig_lint import __version__
from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import write_tree

LINEAR = {
    "env.py": "# env\n",
    "versions/a.py": alembic_script("a", None),
    "versions/b.py": alembic_script("b", "a"),
}
FORKED = {**LINEAR, "versions/c.py": alembic_script("c", "a")}


def test_clean_tree_exits_0_with_summary(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    assert main(["check"]) == 0
    assert capsys.readouterr().out == "No problems in 1 tree, 2 revisions.\n"


def test_findings_exit_1_with_editor_lines(in_tmp, capsys):
    write_tree(in_tmp, FORKED)
    assert main(["check", "--no-color"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "versions/a.py:1:1: ML103 [branch-point] a has 2 children: b (versions/b.py), c (versions/c.py)"
    assert lines[1] == "    hint: rebase all but one child onto the head of the other branch (`mig-lint fix --base <branch>` does)"
    assert lines[2].startswith("versions/b.py:1:1: ML101 [multiple-heads] b is one of 2 heads")
    assert lines[-1] == "Found 3 errors in 1 tree, 3 revisions."


def test_color_marks_codes(in_tmp, capsys):
    write_tree(in_tmp, FORKED)
    main(["check", "--color"])
    assert "\033[31mML101\033[0m" in capsys.readouterr().out


def test_warnings_alone_exit_0(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "versions/b.py": '"""Revision ID: x\n"""\n' + alembic_script("b", "a")})
    assert main(["check"]) == 0
    assert "ML204" in capsys.readouterr().out


def test_json_report_schema(in_tmp, capsys):
    write_tree(in_tmp, FORKED)
    assert main(["check", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == 1
    assert report["mig_lint"] == __version__
    assert report["trees"] == [{
        "path": ".", "format": "alembic", "revisions": 3, "heads": ["b", "c"], "bases": ["a"],
        "branch_points": ["a"], "merge_points": [], "branch_labels": {}, "label_heads": {}, "linear": False,
        "first_version": None, "latest_version": None, "gaps": [], "collisions": {}, "sql_only_versions": [],
        "repository_id": None, "version_table": "alembic_version",
    }]
    assert report["summary"] == {"error": 3, "warning": 0, "info": 0}
    assert report["findings"][0] == {
        "code": "ML103", "name": "branch-point", "severity": "error",
        "message": "a has 2 children: b (versions/b.py), c (versions/c.py)", "path": "versions/a.py",
        "line": 1, "column": 1, "tree": ".", "revision": "a",
        "hint": "rebase all but one child onto the head of the other branch (`mig-lint fix --base <branch>` does)",
    }


def test_select_and_ignore_on_the_command_line(in_tmp, capsys):
    write_tree(in_tmp, FORKED)
    assert main(["check", "--select", "ML101", "--format", "json"]) == 1
    assert {f["code"] for f in json.loads(capsys.readouterr().out)["findings"]} == {"ML101"}
    assert main(["check", "--ignore", "ML1"]) == 0


def test_bad_code_on_the_command_line(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    assert main(["check", "--select", "XX1"]) == 2
    assert "'--select' has 'XX1'" in capsys.readouterr().err


def test_missing_path_is_exit_2(in_tmp, capsys):
    assert main(["check", "nowhere"]) == 2
    assert capsys.readouterr().err == "mig-lint: nowhere: no such file or directory\n"


def test_folder_without_migrations_is_exit_2(in_tmp, capsys):
    (in_tmp / "src").mkdir()
    assert main(["check", "src"]) == 2
    assert capsys.readouterr().err == "mig-lint: no alembic or migrate migrations found under src\n"


def test_unknown_option_is_exit_2(capsys):
    assert main(["check", "--frobnicate"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"mig-lint, version {__version__}\n"


def test_help(capsys):
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


def test_internal_error_is_one_line(in_tmp, capsys, monkeypatch):
    write_tree(in_tmp, LINEAR)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("mig_lint.cli.run_check", broken)
    assert main(["check"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("mig-lint: internal error: RuntimeError: boom (please report it at ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("fmt", "expected"),
    (
        pytest.param("ascii", ". (alembic, 3 revisions)\n* b (head)  versions/b.py\n| * c (head)  versions/c.py\n|/\n* a (base, branch point)  versions/a.py\n", id="ascii"),
        pytest.param("mermaid", 'graph BT\n  r0["b"]\n  r1["c"]\n  r2["a"]\n  r0 --> r2\n  r1 --> r2\n', id="mermaid"),
    ),
)
def test_graph_formats(in_tmp, capsys, fmt, expected):
    write_tree(in_tmp, FORKED)
    assert main(["graph", "--format", fmt]) == 0
    assert capsys.readouterr().out == expected


def test_graph_dot(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "versions/c.py": alembic_script("c", "b", depends_on="'a'")})
    assert main(["graph", "--format", "dot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "." {\n  rankdir=BT;')
    assert '  "c" -> "b";' in out
    assert '  "c" -> "a" [style=dashed];' in out
    assert '"c" [label="c\\nversions/c.py", style=bold];' in out


def test_graph_json(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    assert main(["graph", "--format", "json"]) == 0
    tree = json.loads(capsys.readouterr().out)["trees"][0]
    assert [n["id"] for n in tree["nodes"]] == ["b", "a"]
    assert tree["nodes"][0] == {"id": "b", "path": "versions/b.py", "line": 1, "down_revision": ["a"],
                                "depends_on": [], "branch_labels": []}


def test_graph_of_a_merge(in_tmp, capsys):
    write_tree(in_tmp, {**FORKED, "versions/m.py": alembic_script("m", ("b", "c"))})
    assert main(["graph"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "* m (head, merge)  versions/m.py",
        "|\\",
        "* | b  versions/b.py",
        "| * c  versions/c.py",
        "|/",
        "* a (base, branch point)  versions/a.py",
    ]


def test_graph_of_missing_path_is_exit_2(in_tmp, capsys):
    assert main(["graph", "nowhere"]) == 2


def test_module_entry_point(in_tmp):
    write_tree(in_tmp, LINEAR)
    run = subprocess.run([sys.executable, "-m", "mig_lint", "check"], capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (0, "No problems in 1 tree, 2 revisions.\n")
