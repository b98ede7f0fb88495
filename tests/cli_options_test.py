"""The options a ruff or flake8 user expects of `check`, known codes only, and counts in the right number."""
from __future__ import annotations

import json

import pytest

from mig_lint.cli import main
from mig_lint.db.process import StepDone
from mig_lint.db.report import verify_text
from mig_lint.db.verify import Pair
from mig_lint.db.verify import Verification
from tests.conftest import alembic_script
from tests.conftest import write_tree

LINEAR = {"env.py": "", "versions/a.py": alembic_script("a", None), "versions/b.py": alembic_script("b", "a")}
FORKED = {**LINEAR, "versions/c.py": alembic_script("c", "a")}
# One revision, one error (ML106) and one warning (ML204).
LONE = {"env.py": "", "versions/a.py": '"""x\n\nRevision ID: q\n"""\n' + alembic_script("a", "gone")}
LONE_FINDINGS = [
    "versions/a.py:3:14: ML204 [stale-docstring-id] Revision ID: q differs from revision = 'a'",
    "    hint: write Revision ID: a (`mig-lint fix` does)",
    "versions/a.py:6:1: ML106 [missing-parent] a's down_revision 'gone' is not a revision of .",
    "    hint: it may have been deleted or renamed; point down_revision at an existing revision",
]


def _out(capsys, *args):
    code = main(["check", "--no-color", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_quiet_prints_the_findings_only(in_tmp, capsys):
    write_tree(in_tmp, LONE)
    assert _out(capsys) == (1, "\n".join(LONE_FINDINGS) + "\nFound 1 error, 1 warning in 1 tree, 1 revision.\n", "")
    assert _out(capsys, "-q") == (1, "\n".join(LONE_FINDINGS) + "\n", "")
    assert _out(capsys, "--quiet", "--statistics") == (
        1, "\n".join(LONE_FINDINGS) + "\n   1 ML106 missing-parent\n   1 ML204 stale-docstring-id\n", "")


def test_quiet_on_a_clean_tree_prints_nothing(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    assert _out(capsys, "--quiet") == (0, "", "")
    assert _out(capsys, "--quiet", "--format", "github") == (0, "", "")


def test_quiet_github_report_has_no_summary(in_tmp, capsys):
    write_tree(in_tmp, LONE)
    code, out, _ = _out(capsys, "-q", "--format", "github")
    assert code == 1
    assert [line.split(" ", 1)[0] for line in out.splitlines()] == ["::warning", "::error"]


def test_quiet_leaves_data_reports_whole(in_tmp, capsys):
    write_tree(in_tmp, LONE)
    code, out, _ = _out(capsys, "-q", "--format", "json")
    assert (code, json.loads(out)["summary"]) == (1, {"error": 1, "warning": 1, "info": 0})


def test_exit_zero(in_tmp, capsys):
    write_tree(in_tmp, FORKED)
    code, out, _ = _out(capsys, "--exit-zero")
    assert (code, out.splitlines()[-1]) == (0, "Found 3 errors in 1 tree, 3 revisions.")
    assert _out(capsys, "--exit-zero", "--select", "ML9")[0] == 2
    assert _out(capsys, "--exit-zero", "no-such-folder") == (
        2, "", "mig-lint: no-such-folder: no such file or directory\n")


TREES = {f"{name}/{path}": text for name in ("one", "two", "three") for path, text in LONE.items()}


def _trees(capsys, *args):
    code, out, err = _out(capsys, "--format", "json", *args)
    assert err == ""
    return sorted(tree["path"] for tree in json.loads(out)["trees"])


@pytest.mark.parametrize(
    ("args", "trees"),
    (
        pytest.param([], ["three", "two"], id="configured"),
        pytest.param(["--exclude", "two"], ["one", "three"], id="exclude-replaces"),
        pytest.param(["--exclude", "two,thr*"], ["one"], id="exclude-comma-separated"),
        pytest.param(["--exclude", "two", "--exclude", "three/"], ["one"], id="exclude-repeated"),
        pytest.param(["--extend-exclude", "two"], ["three"], id="extend-exclude-adds"),
        pytest.param(["--extend-exclude", "two, three"], [], id="extend-exclude-all"),
        pytest.param(["--exclude", "two", "--extend-exclude", "three"], ["one"], id="both"),
    ),
)
def test_exclude(in_tmp, capsys, args, trees):
    write_tree(in_tmp, {**TREES, "pyproject.toml": '[tool.mig-lint]\nexclude = ["one"]\n'})
    if not trees:
        assert _out(capsys, *args) == (2, "", "mig-lint: no alembic or migrate migrations found under .\n")
        return
    assert _trees(capsys, *args) == trees


def test_exclude_does_not_drop_a_path_given(in_tmp, capsys):
    write_tree(in_tmp, TREES)
    assert _trees(capsys, "--exclude", "one", "one", "two") == ["one", "two"]


KNOWN = ("the codes are ML101-ML111, ML201-ML212, ML301-ML312, ML401-ML404, ML501-ML505, ML601-ML607; "
         "`mig-lint rules` lists them")


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select", "--extend-ignore"])
def test_unknown_prefix_on_the_command_line(in_tmp, capsys, option):
    write_tree(in_tmp, LINEAR)
    assert _out(capsys, option, "ML1,ml9") == (
        2, "", f"mig-lint: command line: '{option}' has 'ML9', which is the prefix of no rule ({KNOWN})\n")


@pytest.mark.parametrize("prefix", ["ML", "ML1", "ML10", "ML101", "ml5"])
def test_known_prefixes_pass(in_tmp, capsys, prefix):
    write_tree(in_tmp, LINEAR)
    assert _out(capsys, "--select", prefix)[0] == 0


@pytest.mark.parametrize(
    ("config", "key", "code"),
    (
        pytest.param('select = ["ML1", "ML7"]', "select", "ML7", id="select"),
        pytest.param('extend-select = ["ML112"]', "extend-select", "ML112", id="extend-select"),
        pytest.param('ignore = ["ML0"]', "ignore", "ML0", id="ignore"),
        pytest.param('extend-ignore = ["ML70"]', "extend-ignore", "ML70", id="extend-ignore"),
        pytest.param('per-file-ignores = {"versions/*" = ["ML9"]}', "per-file-ignores.versions/*", "ML9",
                     id="per-file-ignores"),
        pytest.param('severity = {ML999 = "warning"}', "severity.ML999", "ML999", id="severity"),
    ),
)
def test_unknown_prefix_in_the_configuration(in_tmp, capsys, config, key, code):
    write_tree(in_tmp, {**LINEAR, "pyproject.toml": f"[tool.mig-lint]\n{config}\n"})
    path = in_tmp / "pyproject.toml"
    message = f"mig-lint: {path}: '{key}' has '{code}', which is the prefix of no rule ({KNOWN})\n"
    assert _out(capsys) == (2, "", message)
    assert main(["graph"]) == 2
    assert capsys.readouterr().err == message


def test_unknown_prefix_in_setup_cfg(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "setup.cfg": "[mig-lint]\nignore =\n    ML2\n    ML8\n"})
    assert _out(capsys) == (
        2, "", f"mig-lint: {in_tmp / 'setup.cfg'}: 'ignore' has 'ML8', which is the prefix of no rule ({KNOWN})\n")


def test_output_file_and_annotations_on_github_actions(in_tmp, capsys, monkeypatch):
    """One run gives code scanning its SARIF and the log its annotations."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    write_tree(in_tmp, LONE)
    code, out, _ = _out(capsys, "--format", "sarif", "--output", "report.sarif")
    assert code == 1
    assert [line.split(" ", 1)[0] for line in out.splitlines()] == ["::warning", "::error", "Found"]
    results = json.loads((in_tmp / "report.sarif").read_text())["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["ML204", "ML106"]
    monkeypatch.delenv("GITHUB_ACTIONS")
    code, out, _ = _out(capsys, "--format", "sarif", "--output", "report.sarif")
    assert out.splitlines()[0] == LONE_FINDINGS[0]


def test_counts_of_one_in_graph_and_junit(in_tmp, capsys):
    write_tree(in_tmp, LONE)
    assert main(["graph"]) == 0
    assert capsys.readouterr().out == ". (alembic, 1 revision)\n* a (head)  versions/a.py\n"
    assert main(["check", "--format", "junit"]) == 1
    assert 'message="1 error: a\'s down_revision' in capsys.readouterr().out
    write_tree(in_tmp, {"versions/b.py": alembic_script("b", "gone too")})
    assert main(["check", "--format", "junit"]) == 1
    assert 'message="2 errors: ' in capsys.readouterr().out


UP = "def upgrade(migrate_engine):\n    pass\n"
HANDOFF = {
    "db/legacy/migrate.cfg": "[db_settings]\nrepository_id = nova\nversion_table = migrate_version\n",
    **{f"db/legacy/versions/{n}_x.py": UP for n in (216, 217, 218)},
    "db/alembic/env.py": "",
    "db/alembic/versions/8f2f.py": alembic_script("8f2f", None),
    "pyproject.toml": '[tool.mig-lint]\n[[tool.mig-lint.handoff]]\nmigrate = "db/legacy"\nalembic = "db/alembic"\n'
                      'version = 216\nrevision = "8f2f"\n',
}


def test_handoff_names_several_later_versions(in_tmp, capsys):
    write_tree(in_tmp, HANDOFF)
    assert main(["check", "--format", "json"]) == 1
    assert [f["message"] for f in json.loads(capsys.readouterr().out)["findings"]] == [
        "migrate grew past the handoff at 216: versions 217, 218 never run once databases move to alembic"]


MIGRATE_ONE = {
    "repo/migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n",
    "repo/versions/001_a.py": 'def upgrade(migrate_engine):\n    migrate_engine.execute("CREATE TABLE t (id INTEGER)")\n',
}


def test_counts_of_one_in_convert_and_replay(in_tmp, capsys):
    write_tree(in_tmp, MIGRATE_ONE)
    assert main(["convert", "repo", "--out", "alembic"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == ["  1 -> 0001 0001_a.py: translated (unproved): 1 migrate construct rewritten",
                         "1 version: 1 translated (unproved)."]
    (in_tmp / "alembic" / "migrate-stamp-map.json").unlink()
    for name in ("alembic.ini", "env.py", "script.py.mako"):
        (in_tmp / "alembic" / name).rename(in_tmp / name)
    assert main(["convert", "repo", "--out", "alembic"]) == 2
    assert capsys.readouterr().err == ("mig-lint: alembic/versions/0001_a.py exists (1 file would be replaced): "
                                       "use --force to replace them, or another --out\n")
    for name in ("alembic.ini", "env.py", "script.py.mako"):
        (in_tmp / name).rename(in_tmp / "alembic" / name)
    assert main(["replay", "alembic"]) == 0
    assert capsys.readouterr().out.splitlines()[-2].startswith("1 step, ")


def _verification(planned, pairs):
    return Verification(("sqlite:///m.db", "sqlite:///a.db"), pairs, planned)


def _pair(version, error=None):
    return Pair(version, "r" + version, StepDone(version, 0.1, error), (StepDone("r" + version, 0.1),))


@pytest.mark.parametrize(
    ("verification", "line"),
    (
        pytest.param(_verification(1, (_pair("1"),)), "  ok: the 1 version builds the same schema", id="one-ok"),
        pytest.param(_verification(2, (_pair("1"), _pair("2"))), "  ok: all 2 versions build the same schema",
                     id="two-ok"),
        pytest.param(_verification(1, (_pair("1", error="boom"),)),
                     "  0 of 1 version matched; migrate version 1 (revision r1) does not:", id="none-of-one"),
        pytest.param(_verification(3, (_pair("1"), _pair("2", error="boom"))),
                     "  1 of 3 versions matched; migrate version 2 (revision r2) does not:", id="one-of-three"),
    ),
)
def test_counts_in_verify(verification, line):
    assert verify_text([verification]).splitlines()[1] == line
