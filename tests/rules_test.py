"""The rule registry: codes, names, docs, and the generated documentation."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from mig_lint.cli import main
from mig_lint.config import Config
from mig_lint.report.rules_doc import render_markdown
from mig_lint.report.rules_doc import render_summary_table
from mig_lint.rules import ALL_RULES
from mig_lint.rules import is_selected
from mig_lint.rules import RULES_BY_CODE

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT.parent / "shared" / "DESIGN.md"
# DESIGN.md's table, kept here so the test runs without ../shared; compared with it when present.
DESIGN_CODES = {
    "ML101": "multiple-heads", "ML102": "multiple-bases", "ML103": "branch-point", "ML104": "merge-revision",
    "ML105": "cycle", "ML106": "missing-parent", "ML107": "missing-dependency", "ML108": "duplicate-revision",
    "ML109": "effective-head", "ML110": "label-conflict", "ML111": "unread-revision-scripts", "ML201": "syntax-error", "ML202": "missing-identifier",
    "ML203": "dynamic-identifier", "ML204": "stale-docstring-id", "ML205": "stale-docstring-revises",
    "ML206": "invalid-revision-id", "ML207": "revision-id-too-long", "ML208": "unexpected-script",
    "ML209": "file-name-mismatch", "ML210": "placeholder-revision-id", "ML211": "application-import",
    "ML212": "offline-unsafe",
    "ML301": "number-collision", "ML302": "numbering-gap", "ML303": "invalid-sql-name",
    "ML304": "duplicate-sql-script", "ML305": "unknown-dialect", "ML306": "stray-numbered-entry",
    "ML307": "ignored-short-number", "ML308": "old-repository-format", "ML309": "timestamp-numbering",
    "ML310": "versions-json-mismatch", "ML311": "missing-upgrade", "ML312": "invalid-migrate-cfg",
    "ML401": "broken-handoff", "ML402": "stale-head-file", "ML403": "migration-without-test",
    "ML404": "label-placement", "ML501": "not-on-base-head", "ML502": "number-taken-on-base",
    "ML503": "edited-merged-migration", "ML504": "removed-merged-migration", "ML505": "reparented-merged-migration",
    "ML601": "not-null-without-default", "ML602": "blocking-index", "ML603": "table-rewrite",
    "ML604": "validating-foreign-key", "ML605": "breaking-rename", "ML606": "contract-in-expand",
    "ML607": "destructive-operation",
}
# Codes DESIGN.md has planned and no rule implements yet.
NOT_YET: set[str] = set()


def test_codes_are_unique_and_sorted():
    codes = [r.code for r in ALL_RULES]
    assert codes == sorted(set(codes))


def test_codes_and_names_equal_design():
    assert {r.code: r.name for r in ALL_RULES} == {c: n for c, n in DESIGN_CODES.items() if c not in NOT_YET}


@pytest.mark.skipif(not DESIGN.is_file(), reason="../shared/DESIGN.md is not beside the checkout")
def test_design_table_is_the_one_kept_here():
    table = dict(re.findall(r"^\| (ML\d{3}) \| ([a-z-]+) \|", DESIGN.read_text(), re.MULTILINE))
    assert table == DESIGN_CODES


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.code for r in ALL_RULES])
def test_every_rule_documents_why_fix_and_example(rule):
    assert rule.summary.endswith(".")
    for section in ("Why:", "Fix:", "Example:"):
        assert f"\n{section}" in rule.doc


def test_docs_rules_md_is_current():
    assert (ROOT / "docs" / "rules.md").read_text() == render_markdown(ALL_RULES)


def test_readme_rules_table_is_current():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- rules-start -->\n", 1)[1].split("<!-- rules-end -->", 1)[0]
    assert table == render_summary_table(ALL_RULES, "docs/rules.md")


def test_rules_lists_every_rule(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == [r.code for r in ALL_RULES]


@pytest.mark.parametrize("arg", ("ML101", "ml101", "multiple-heads"))
def test_rules_prints_one_rules_doc(capsys, arg):
    assert main(["rules", arg]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ML101 multiple-heads (default severity: error")
    assert RULES_BY_CODE["ML101"].doc in out


def test_rules_markdown_of_one_rule(capsys):
    assert main(["rules", "ML203", "--format", "markdown"]) == 0
    assert "## ML203 dynamic-identifier" in capsys.readouterr().out


def test_rules_markdown_is_the_docs(capsys):
    assert main(["rules", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == (ROOT / "docs" / "rules.md").read_text()


def test_unknown_rule_is_a_usage_error(capsys):
    assert main(["rules", "ML999"]) == 2
    assert capsys.readouterr().err == "mig-lint: no rule 'ML999'; `mig-lint rules` lists them\n"


@pytest.mark.parametrize(
    ("config", "code", "expected"),
    (
        pytest.param(Config(), "ML101", True, id="default-selects-all"),
        pytest.param(Config(), "ML404", False, id="opt-in-off-by-default"),
        pytest.param(Config(extend_select=("ML404",)), "ML404", True, id="opt-in-by-full-code"),
        pytest.param(Config(select=("ML4",)), "ML404", False, id="opt-in-not-by-prefix"),
        pytest.param(Config(ignore=("ML1",)), "ML101", False, id="ignore-prefix"),
        pytest.param(Config(ignore=("ML1",), extend_select=("ML101",)), "ML101", True, id="longest-prefix-wins"),
        pytest.param(Config(select=("ML2",)), "ML101", False, id="select-narrows"),
        pytest.param(Config(select=("ML1",), ignore=("ML101",)), "ML102", True, id="ignore-one-code"),
    ),
)
def test_selection(config, code, expected):
    assert is_selected(RULES_BY_CODE[code], config) is expected
