from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from filelock import FileLock
from junitparser import Failure
from junitparser import JUnitXml
from junitparser import Skipped

from mig_lint import __version__
from mig_lint.cli import main
from mig_lint.config import Config
from mig_lint.model import Finding
from mig_lint.report import FORMATS
from mig_lint.report import github
from mig_lint.report import junit
from mig_lint.report.output import write_report
from mig_lint.rules import ALL_RULES
from mig_lint.rules import RULES_BY_CODE
from mig_lint.rules import selected_rules
from tests.conftest import alembic_script
from tests.conftest import write_tree

ROOT = Path(__file__).resolve().parent.parent
MULTITOOL_VERSION = "5.7.0"

LINEAR = {
    "env.py": "# env\n",
    "versions/a.py": alembic_script("a", None),
    "versions/b.py": alembic_script("b", "a"),
}
FORKED = {**LINEAR, "versions/c.py": alembic_script("c", "a")}
# One finding of each severity: ML103 stays an error, ML101 becomes a warning, ML204 a note.
LEVELS = {
    **FORKED,
    "versions/b.py": '"""Revision ID: x\n"""\n' + alembic_script("b", "a"),
    "pyproject.toml": '[tool.mig-lint.severity]\nML101 = "warning"\nML204 = "info"\n',
}
MIGRATE = {
    "repo/migrate.cfg": "[db_settings]\nrepository_id = repo\nversion_table = migrate_version\n",
    "repo/versions/001_a.py": "def upgrade(migrate_engine):\n    pass\n",
    "repo/versions/003_c.py": "def upgrade(migrate_engine):\n    pass\n",
}
ODD_NAMES = {
    "db x,1:%/env.py": "",
    "db x,1:%/versions/a.py": alembic_script("a", None),
    "db x,1:%/versions/b.py": alembic_script("b", "a"),
    "db x,1:%/versions/c\x01.py": alembic_script("c", "a"),
}
GITHUB_LEVELS = [
    "::error file=versions/a.py,line=1,col=1,title=ML103 branch-point::a has 2 children: b (versions/b.py), "
    "c (versions/c.py)%0Ahint: rebase all but one child onto the head of the other branch (`mig-lint fix --base <branch>` does)",
    "::notice file=versions/b.py,line=1,col=17,title=ML204 stale-docstring-id::Revision ID: x differs from "
    "revision = 'b'%0Ahint: write Revision ID: b (`mig-lint fix` does)",
    "::warning file=versions/b.py,line=3,col=1,title=ML101 multiple-heads::b is one of 2 heads of the history "
    "(b, c): `alembic upgrade head` fails%0Ahint: set one head's down_revision to the other "
    "(`mig-lint rebase b --onto c` moves one revision, `mig-lint fix --base <branch>` a whole branch), "
    "or merge them and allow the merge",
    "::warning file=versions/c.py,line=1,col=1,title=ML101 multiple-heads::c is one of 2 heads of the history "
    "(b, c): `alembic upgrade head` fails%0Ahint: set one head's down_revision to the other "
    "(`mig-lint rebase c --onto b` moves one revision, `mig-lint fix --base <branch>` a whole branch), "
    "or merge them and allow the merge",
]
STATISTICS = ["   2 ML101 multiple-heads", "   1 ML103 branch-point", "   1 ML204 stale-docstring-id"]
SUMMARY = "Found 1 error, 2 warnings, 1 info in 1 tree, 3 revisions."


def _run(capsys, *args):
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


# --- github -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tree", "args", "env", "expected"), (
    pytest.param(LEVELS, ["--format", "github"], None, [*GITHUB_LEVELS, SUMMARY], id="one-command-a-finding"),
    pytest.param(LEVELS, [], "true", [*GITHUB_LEVELS, SUMMARY], id="default-on-github-actions"),
    pytest.param(LEVELS, ["--format", "github", "--statistics"], None, [*GITHUB_LEVELS, *STATISTICS, SUMMARY],
                 id="statistics-before-summary"),
    pytest.param(LINEAR, [], "true", ["No problems in 1 tree, 2 revisions."], id="clean-tree-summary-only"),
))
def test_github_report(in_tmp, capsys, monkeypatch, tree, args, env, expected):
    if env is not None:
        monkeypatch.setenv("GITHUB_ACTIONS", env)
    write_tree(in_tmp, tree)
    code, out, _ = _run(capsys, *args)
    assert out.splitlines() == expected
    assert code == (1 if tree is LEVELS else 0)


@pytest.mark.parametrize(("env", "args", "first"), (
    pytest.param("true", ["--format", "text"], "versions/a.py:1:1: ML103", id="format-given-wins"),
    pytest.param("false", [], "versions/a.py:1:1: ML103", id="only-the-value-true"),
    pytest.param("true", ["--format", "json"], "{", id="json-given-wins"),
))
def test_github_actions_default_yields_to_format(in_tmp, capsys, monkeypatch, env, args, first):
    monkeypatch.setenv("GITHUB_ACTIONS", env)
    write_tree(in_tmp, LEVELS)
    _, out, _ = _run(capsys, "--no-color", *args)
    assert out.startswith(first)


@pytest.mark.parametrize(("value", "data", "prop"), (
    pytest.param("plain text", "plain text", "plain text", id="plain"),
    pytest.param("100%", "100%25", "100%25", id="percent"),
    pytest.param("a\r\nb", "a%0D%0Ab", "a%0D%0Ab", id="newlines"),
    pytest.param("a:b,c", "a:b,c", "a%3Ab%2Cc", id="colon-comma-in-properties-only"),
    pytest.param("%0A", "%250A", "%250A", id="already-escaped-text-stays-text"),
))
def test_github_escapes(value, data, prop):
    assert github.escape_data(value) == data
    assert github.escape_property(value) == prop


def test_github_escapes_odd_paths(in_tmp, capsys):
    write_tree(in_tmp, ODD_NAMES)
    _, out, _ = _run(capsys, "--format", "github")
    lines = out.splitlines()
    assert lines[0] == (
        "::error file=db x%2C1%3A%25/versions/a.py,line=1,col=1,title=ML103 branch-point::a has 2 children: "
        "b (db x,1:%25/versions/b.py), c (db x,1:%25/versions/c\x01.py)"
        "%0Ahint: rebase all but one child onto the head of the other branch (`mig-lint fix --base <branch>` does)"
    )
    assert len(lines) == 5  # ML103, ML101 twice, ML209 (c\x01.py does not carry 'c' as the template does), the summary


# --- sarif ------------------------------------------------------------------------------------------------------


def _sarif(capsys, *args):
    code, out, _ = _run(capsys, "--format", "sarif", *args)
    return code, json.loads(out)


def test_sarif_log_describes_the_tool_and_every_rule(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    code, log = _sarif(capsys)
    assert code == 0
    assert log["version"] == "2.1.0"
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == (
        "mig-lint", __version__, "https://github.com/mig-lint/mig-lint")
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in ALL_RULES]
    assert run["results"] == []
    assert driver["rules"][0] == {
        "id": "ML101",
        "name": "multiple-heads",
        "shortDescription": {"text": "More than one head in a chain that must be linear."},
        "fullDescription": {"text": RULES_BY_CODE["ML101"].doc},
        "help": {"text": RULES_BY_CODE["ML101"].doc, "markdown": RULES_BY_CODE["ML101"].doc},
        "helpUri": "https://github.com/mig-lint/mig-lint/blob/main/docs/rules.md#ml101-multiple-heads",
        "defaultConfiguration": {"level": "error"},
    }


@pytest.mark.parametrize(("code", "level"), (
    pytest.param("ML101", "error", id="error"),
    pytest.param("ML109", "warning", id="warning"),
    pytest.param("ML403", "warning", id="opt-in-listed-too"),
))
def test_sarif_default_levels(in_tmp, capsys, code, level):
    write_tree(in_tmp, LINEAR)
    _, log = _sarif(capsys)
    [rule] = [r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == code]
    assert rule["defaultConfiguration"] == {"level": level}
    assert rule["helpUri"].endswith(f"#{code.lower()}-{RULES_BY_CODE[code].name}")


def test_sarif_results(in_tmp, capsys):
    write_tree(in_tmp, LEVELS)
    code, log = _sarif(capsys)
    assert code == 1
    results = log["runs"][0]["results"]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("ML103", "error"), ("ML204", "note"), ("ML101", "warning"), ("ML101", "warning")]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert results[1] == {
        "ruleId": "ML204",
        "ruleIndex": 14,
        "level": "note",
        "message": {"text": "Revision ID: x differs from revision = 'b'\nHint: write Revision ID: b (`mig-lint fix` does)"},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "versions/b.py", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 1, "startColumn": 17},
        }}],
    }


def test_sarif_uris_are_percent_encoded(in_tmp, capsys):
    write_tree(in_tmp, ODD_NAMES)
    _, log = _sarif(capsys)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]
    assert uris == ["db%20x%2C1%3A%25/versions/a.py", "db%20x%2C1%3A%25/versions/b.py",
                    "db%20x%2C1%3A%25/versions/c%01.py", "db%20x%2C1%3A%25/versions/c%01.py"]


def _unavailable(reason):
    """Without the validator the tests skip, except on CI, where they must run."""
    if os.environ.get("CI"):
        pytest.fail(f"SARIF multitool unavailable on CI: {reason}")
    pytest.skip(f"SARIF multitool unavailable: {reason}")


def _installed_version(cache):
    manifest = cache / "node_modules" / "@microsoft" / "sarif-multitool" / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


@pytest.fixture(scope="session")
def sarif_multitool():
    """Microsoft's SARIF validator from npm, installed once into the gitignored .venv."""
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not installed")
    cache = ROOT / ".venv" / "npm-sarif"
    cache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "npm_config_cache": str(cache / ".npm"), "npm_config_update_notifier": "false"}
    with FileLock(str(cache / ".lock")):
        if _installed_version(cache) != MULTITOOL_VERSION:
            try:
                install = subprocess.run(
                    [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund",
                     f"@microsoft/sarif-multitool@{MULTITOOL_VERSION}"],
                    capture_output=True, text=True, env=env, timeout=900)
            except subprocess.TimeoutExpired:
                _unavailable("npm install timed out")
            if install.returncode != 0:
                _unavailable(f"npm install failed: {install.stderr.strip()[-800:]}")
    tool = cache / "node_modules" / ".bin" / "sarif-multitool"
    probe = subprocess.run([str(tool), "--version"], capture_output=True, text=True, timeout=300)
    said = (probe.stdout + probe.stderr).strip()
    if probe.returncode != 0 or MULTITOOL_VERSION not in said:  # it prints its version on stderr
        _unavailable(f"sarif-multitool --version said: {said}")
    return tool


def _effective_level(result, rules):
    """A result's level, else its rule's default, else SARIF's default, `warning`."""
    rule = rules[result["ruleIndex"]] if "ruleIndex" in result else {}
    return result.get("level") or rule.get("defaultConfiguration", {}).get("level") or "warning"


def _validate(multitool, folder, *options):
    """Run `sarif-multitool validate report.sarif` in `folder`; the problems it reports at error or warning level."""
    # The npm launcher passes its arguments through a shell: plain relative names only.
    run = subprocess.run([str(multitool), "validate", "report.sarif", "--output", "validation.sarif", *options],
                         cwd=folder, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Analysis completed successfully" in run.stdout
    printed = [line for line in run.stdout.splitlines() if re.search(r"\b(error|warning)\b", line)]
    validation = json.loads((folder / "validation.sarif").read_text())["runs"][0]
    rules = validation["tool"]["driver"].get("rules", [])
    logged = [r["ruleId"] for r in validation["results"] if _effective_level(r, rules) in ("error", "warning")]
    return printed, logged


@pytest.mark.parametrize("tree", (
    pytest.param(LINEAR, id="clean"),
    pytest.param(LEVELS, id="every-level"),
    pytest.param({**MIGRATE, **ODD_NAMES}, id="migrate-and-odd-names"),
))
@pytest.mark.parametrize("options", (
    pytest.param([], id="sarif-rules"),
    pytest.param(["--rule-kind", "Gh"], id="github-code-scanning-rules"),
))
def test_sarif_validates_with_microsofts_multitool(in_tmp, capsys, monkeypatch, sarif_multitool, tree, options):
    write_tree(in_tmp, {f"project/{name}": text for name, text in tree.items()})
    monkeypatch.chdir(in_tmp / "project")
    main(["check", "--format", "sarif", "--output", "../report.sarif"])
    capsys.readouterr()
    assert _validate(sarif_multitool, in_tmp, *options) == ([], [])


@pytest.mark.parametrize(("driver", "options", "expected"), (
    pytest.param({}, [], ["JSON1002"], id="schema"),
    pytest.param({"name": "x", "version": "1", "informationUri": "https://example.com/"}, ["--rule-kind", "Gh"],
                 ["GH1013", "GH1018"], id="github-code-scanning"),
))
def test_the_validator_check_catches_a_broken_log(in_tmp, sarif_multitool, driver, options, expected):
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": []}]}
    (in_tmp / "report.sarif").write_text(json.dumps(log))
    printed, logged = _validate(sarif_multitool, in_tmp, *options)  # the multitool exits 0 all the same
    assert logged == expected
    assert [line.split(": ")[1].split()[1] for line in printed] == expected


# --- junit ------------------------------------------------------------------------------------------------------


def _junit(capsys, *args):
    code, out, _ = _run(capsys, "--format", "junit", *args)
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return code, JUnitXml.fromstring(out.encode())


def _cases(suite):
    return {case.name: case for case in suite}


def test_junit_a_case_per_selected_rule(in_tmp, capsys):
    write_tree(in_tmp, LEVELS)
    code, xml = _junit(capsys)
    assert code == 1
    [suite] = list(xml)
    rules = selected_rules(Config())
    assert suite.name == "."
    assert [case.name for case in suite] == [f"{r.code} {r.name}" for r in rules]
    assert {case.classname for case in suite} == {"."}
    migrate_only = [r for r in rules if "alembic" not in r.formats]
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (len(rules), 1, 0, len(migrate_only))
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (len(rules), 1, 0, len(migrate_only))


def test_junit_failures_and_output(in_tmp, capsys):
    write_tree(in_tmp, LEVELS)
    _, xml = _junit(capsys)
    cases = _cases(next(iter(xml)))
    [failure] = cases["ML103 branch-point"].result
    assert isinstance(failure, Failure)
    assert failure.type == "ML103"
    assert failure.message == "1 error: a has 2 children: b (versions/b.py), c (versions/c.py)"
    assert failure.text == (
        "versions/a.py:1:1: ML103 [branch-point] error: a has 2 children: b (versions/b.py), c (versions/c.py)\n"
        "    hint: rebase all but one child onto the head of the other branch (`mig-lint fix --base <branch>` does)\n")
    heads = cases["ML101 multiple-heads"]
    assert heads.is_passed
    assert heads.system_out.splitlines()[::2] == [
        "versions/b.py:3:1: ML101 [multiple-heads] warning: b is one of 2 heads of the history (b, c): "
        "`alembic upgrade head` fails",
        "versions/c.py:1:1: ML101 [multiple-heads] warning: c is one of 2 heads of the history (b, c): "
        "`alembic upgrade head` fails",
    ]
    assert cases["ML204 stale-docstring-id"].system_out.startswith(
        "versions/b.py:1:17: ML204 [stale-docstring-id] info: Revision ID: x differs")
    assert cases["ML102 multiple-bases"].is_passed and cases["ML102 multiple-bases"].system_out is None
    [skipped] = cases["ML301 number-collision"].result
    assert isinstance(skipped, Skipped)
    assert skipped.message == "ML301 checks migrate trees only"


def test_junit_a_suite_per_tree(in_tmp, capsys):
    write_tree(in_tmp, {**{f"app/{k}": v for k, v in FORKED.items()}, **MIGRATE})
    code, xml = _junit(capsys, "--select", "ML1,ML3")
    assert code == 1
    suites = {suite.name: suite for suite in xml}
    assert list(suites) == ["app", "repo"]
    assert {case.classname for case in suites["repo"]} == {"repo"}
    assert _cases(suites["repo"])["ML302 numbering-gap"].result[0].message.startswith("1 error: version 2 is missing")
    assert [s.failures for s in suites.values()] == [2, 1]
    assert all(case.name.startswith(("ML1", "ML3")) for suite in xml for case in suite)


def test_junit_error_and_warning_findings_of_one_rule():
    found = [Finding("ML101", "multiple-heads", severity, f"{severity} here", "v/a.py") for severity in
             ("warning", "error", "info")]
    case = junit.render_case("t", RULES_BY_CODE["ML101"], found, applies=True)
    assert case.find("failure").get("message") == "1 error: error here"
    assert case.find("system-out").text == (
        "v/a.py:1:1: ML101 [multiple-heads] warning: warning here\nv/a.py:1:1: ML101 [multiple-heads] info: info here\n")


def test_junit_replaces_characters_xml_cannot_carry(in_tmp, capsys):
    write_tree(in_tmp, ODD_NAMES)
    _, xml = _junit(capsys)
    [failure] = _cases(next(iter(xml)))["ML103 branch-point"].result
    assert "db x,1:%/versions/c\ufffd.py" in failure.message


# --- --output ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_output_writes_the_report_and_prints_text(in_tmp, capsys, fmt):
    write_tree(in_tmp, LEVELS)
    _, report, _ = _run(capsys, "--format", fmt, "--no-color")
    _, text, _ = _run(capsys, "--no-color")
    (in_tmp / "out").mkdir()
    code, out, err = _run(capsys, "--format", fmt, "--output", "out/report", "--no-color")
    assert (code, out, err) == (1, text, "")
    assert (in_tmp / "out" / "report").read_text() == report
    assert os.listdir(in_tmp / "out") == ["report"]


def test_output_has_no_colour_when_the_terminal_has(in_tmp, capsys):
    write_tree(in_tmp, LEVELS)
    _, out, _ = _run(capsys, "--color", "--output", "report.txt")
    assert "\033[" in out
    assert "\033[" not in (in_tmp / "report.txt").read_text()


def test_output_replaces_a_report_and_keeps_its_mode(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    report = in_tmp / "report.json"
    report.write_text("old\n")
    report.chmod(0o640)
    assert main(["check", "--format", "json", "--output", "report.json"]) == 0
    assert json.loads(report.read_text())["summary"] == {"error": 0, "warning": 0, "info": 0}
    assert stat.S_IMODE(report.stat().st_mode) == 0o640


def test_a_new_report_gets_the_umask_mode(tmp_path):
    umask = os.umask(0o027)
    try:
        write_report(str(tmp_path / "r.txt"), "x\n")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "r.txt").stat().st_mode) == 0o640


@pytest.mark.parametrize(("make", "target", "message"), (
    pytest.param(None, "missing/report.json", "cannot write missing/report.json: No such file or directory",
                 id="missing-folder"),
    pytest.param("report.json", "report.json", "cannot write report.json: Is a directory", id="a-folder"),
))
def test_output_that_cannot_be_written_is_a_usage_error(in_tmp, capsys, make, target, message):
    write_tree(in_tmp, LINEAR)
    if make:
        (in_tmp / make).mkdir()
    before = sorted(os.listdir(in_tmp))
    code, out, err = _run(capsys, "--format", "json", "--output", target)
    assert (code, out, err) == (2, "", f"mig-lint: {message}\n")
    assert sorted(os.listdir(in_tmp)) == before
    if make:
        assert os.listdir(in_tmp / make) == []


def test_write_report_is_exact(tmp_path):
    write_report(str(tmp_path / "r.txt"), "a\nb\r\nc\u00e9")
    assert (tmp_path / "r.txt").read_bytes() == "a\nb\r\nc\u00e9".encode()


# --- --statistics -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tree", "args", "counts"), (
    pytest.param(LEVELS, [], STATISTICS, id="counts-by-code"),
    pytest.param(LINEAR, [], [], id="nothing-to-count"),
    pytest.param(LEVELS, ["--format", "json", "--output", "r.json"], STATISTICS, id="text-with-output"),
))
def test_statistics_come_between_findings_and_summary(in_tmp, capsys, tree, args, counts):
    write_tree(in_tmp, tree)
    _, plain, _ = _run(capsys, "--no-color")
    _, out, _ = _run(capsys, "--statistics", "--no-color", *args)
    lines = plain.splitlines()
    assert out.splitlines() == [*lines[:-1], *counts, lines[-1]]


@pytest.mark.parametrize("fmt", ("json", "sarif", "junit"))
def test_statistics_with_a_data_format_on_stdout_is_a_usage_error(in_tmp, capsys, fmt):
    write_tree(in_tmp, LEVELS)
    code, out, err = _run(capsys, "--statistics", "--format", fmt)
    assert (code, out) == (2, "")
    assert err == f"mig-lint: --statistics adds to the text report, not to {fmt}; write {fmt} with --output FILE\n"
