"""ML1xx on small generated trees: the real command, exact findings."""
from __future__ import annotations

import json

import pytest

from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import write_tree


def _tree(revisions, config=""):
    """revisions: id -> (down, extra assignments)."""
    files = {"env.py": ""}
    for rev, (down, extra) in revisions.items():
        files[f"versions/{rev}.py"] = alembic_script(rev, down, **extra)
    if config:
        files["pyproject.toml"] = config
    return files


def _run(in_tmp, capsys, revisions, config=""):
    write_tree(in_tmp, _tree(revisions, config))
    code = main(["check", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, report["trees"][0], sorted((f["code"], f["path"].split("/")[-1][:-3]) for f in report["findings"])


LABELS = "[tool.mig-lint]\nbranch-labels = ['expand', 'contract']\n"


@pytest.mark.parametrize(
    ("revisions", "config", "findings"),
    (
        pytest.param({"a": (None, {}), "b": ("a", {})}, "", [], id="linear"),
        pytest.param({"a": (None, {}), "b": ("a", {}), "c": ("a", {})}, "",
                     [("ML101", "b"), ("ML101", "c"), ("ML103", "a")], id="fork"),
        pytest.param({"a": (None, {}), "x": (None, {})}, "",
                     [("ML101", "a"), ("ML101", "x"), ("ML102", "a"), ("ML102", "x")], id="two-roots"),
        pytest.param({"a": (None, {}), "b": ("a", {}), "c": ("a", {}), "m": (("b", "c"), {})}, "",
                     [("ML103", "a"), ("ML104", "m")], id="merge"),
        pytest.param({"a": (None, {}), "b": ("a", {}), "c": ("a", {}), "m": (("b", "c"), {})},
                     "[tool.mig-lint]\nallow-merges = ['m']\n", [], id="allowed-merge-closes-its-fork"),
        pytest.param({"a": (None, {}), "e1": ("a", {"branch_labels": "('expand',)"}), "e2": ("e1", {}),
                      "c1": ("a", {"branch_labels": "('contract',)"})}, LABELS, [], id="expand-contract"),
        pytest.param({"a": (None, {}), "e1": ("a", {"branch_labels": "('expand',)"}), "e2": ("e1", {}),
                      "e3": ("e1", {}), "c1": ("a", {"branch_labels": "('contract',)"})}, LABELS,
                     [("ML101", "e2"), ("ML101", "e3"), ("ML103", "e1")], id="fork-inside-a-label"),
        pytest.param({"a": (None, {}), "e1": ("a", {"branch_labels": "('expand',)"}),
                      "c1": ("a", {"branch_labels": "('contract',)"})}, "", [], id="labels-of-the-scripts-are-chains"),
        pytest.param({"a": (None, {}), "e1": ("a", {"branch_labels": "('expand',)"}),
                      "c1": ("a", {"branch_labels": "('contract',)"})}, "[tool.mig-lint]\nbranch-labels = []\n",
                     [("ML101", "c1"), ("ML101", "e1"), ("ML103", "a")], id="configured-labels-override"),
        pytest.param({"a": (None, {}), "b": ("a", {}), "c": ("a", {"depends_on": "'b'"})}, "",
                     [("ML101", "b"), ("ML101", "c"), ("ML103", "a"), ("ML109", "b")], id="effective-head"),
        pytest.param({"a": (None, {"branch_labels": "('core',)"}), "b": ("a", {}),
                      "x": (None, {"branch_labels": "('extra',)", "depends_on": "'core'"})},
                     "[tool.mig-lint]\nbranch-labels = ['core', 'extra']\n", [], id="bases-joined-by-depends-on"),
        pytest.param({"a": (None, {}), "b": ("zz", {})}, "", [("ML101", "a"), ("ML101", "b"), ("ML106", "b")], id="missing-parent"),
        pytest.param({"a": (None, {}), "b": ("a", {"depends_on": "'nope'"})}, "", [("ML107", "b")], id="missing-dependency"),
        pytest.param({"a": (None, {}), "b": ("b", {})}, "", [("ML105", "b")], id="self-loop"),
        pytest.param({"a": (None, {"branch_labels": "('x',)"}), "b": ("a", {"branch_labels": "('x',)"})}, "",
                     [("ML110", "b")], id="label-reused"),
        pytest.param({"a": (None, {"branch_labels": "('b',)"}), "b": ("a", {})}, "", [("ML110", "a")], id="label-is-an-id"),
        pytest.param({"a": (None, {"branch_labels": "('core',)"}), "b": ("core", {})}, "", [("ML110", "b")],
                     id="label-as-down-revision"),
    ),
)
def test_history_rules(in_tmp, capsys, revisions, config, findings):
    assert _run(in_tmp, capsys, revisions, config)[2] == findings


def test_duplicate_revision_keeps_last_file(in_tmp, capsys):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": alembic_script("a", None),
                        "versions/b1.py": alembic_script("b", "a"), "versions/b2.py": alembic_script("b", "a")})
    assert main(["check", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["path"]) for f in report["findings"]] == [("ML108", "versions/b2.py"),
                                                                    ("ML209", "versions/b2.py")]
    assert report["trees"][0]["revisions"] == 2


def test_label_facts(in_tmp, capsys):
    code, tree, _ = _run(in_tmp, capsys, {
        "a": (None, {}), "e1": ("a", {"branch_labels": "('expand',)"}), "e2": ("e1", {}),
        "c1": ("a", {"branch_labels": "('contract',)"}),
    }, LABELS)
    assert tree["branch_labels"] == {"contract": "c1", "expand": "e1"}
    assert tree["label_heads"] == {"contract": ["c1"], "expand": ["e2"]}
    assert (tree["linear"], tree["heads"], tree["branch_points"]) == (True, ["c1", "e2"], ["a"])


def test_label_placement_is_opt_in(in_tmp, capsys):
    files = _tree({"a": (None, {}), "e1": ("a", {"branch_labels": "('expand',)"}),
                   "c1": ("a", {"branch_labels": "('contract',)"})}, LABELS + "extend-select = ['ML404']\n")
    files["versions/expand/c2.py"] = alembic_script("c2", "c1")
    write_tree(in_tmp, files)
    (in_tmp / "alembic.ini").write_text("[alembic]\nscript_location = .\nrecursive_version_locations = true\n")
    assert main(["check", "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["code"], f["path"]) for f in findings] == [("ML404", "versions/expand/c2.py")]
