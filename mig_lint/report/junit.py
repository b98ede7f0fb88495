"""JUnit XML: a test suite per tree, a test case per selected rule, failed by its errors."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from mig_lint.check import CheckResult
from mig_lint.graph import Graph
from mig_lint.model import Finding
from mig_lint.report.options import ReportOptions
from mig_lint.rules import selected_rules
from mig_lint.rules.base import Rule
from mig_lint.words import counted

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 cannot carry (control characters, lone surrogates from odd file names).
_NOT_XML = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


def render(result: CheckResult, options: ReportOptions) -> str:
    """Every tree's suite inside one `<testsuites>` element."""
    rules = selected_rules(result.config)
    suites = [render_suite(graph, rules, result.findings) for graph in result.graphs]
    root = ET.Element("testsuites", {"name": "mig-lint", **_totals([case for suite in suites for case in suite])})
    root.extend(suites)
    ET.indent(root)
    return DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def render_suite(graph: Graph, rules: Sequence[Rule], findings: Sequence[Finding]) -> ET.Element:
    """One tree: a case for each rule, given the tree's findings of that rule."""
    path = graph.tree.path
    cases = [
        render_case(path, rule, [f for f in findings if f.tree == path and f.code == rule.code],
                  graph.tree.format in rule.formats)
        for rule in rules
    ]
    suite = ET.Element("testsuite", {"name": _xml(path), **_totals(cases)})
    suite.extend(cases)
    return suite


def render_case(path: str, rule: Rule, findings: Sequence[Finding], applies: bool) -> ET.Element:
    """A rule on one tree: failed by error findings, warnings and notes as output."""
    case = ET.Element("testcase", classname=_xml(path), name=f"{rule.code} {rule.name}")
    if not applies:
        formats = " and ".join(sorted(rule.formats))
        ET.SubElement(case, "skipped", message=f"{rule.code} checks {formats} trees only")
        return case
    errors = [f for f in findings if f.severity == "error"]
    others = [f for f in findings if f.severity != "error"]
    if errors:
        message = f"{counted(len(errors), 'error')}: {errors[0].message}"
        failure = ET.SubElement(case, "failure", message=_xml(message), type=rule.code)
        failure.text = _lines(errors)
    if others:
        ET.SubElement(case, "system-out").text = _lines(others)
    return case


def _lines(findings: Sequence[Finding]) -> str:
    """The findings as the text report shows them, each with its severity."""
    lines = []
    for f in findings:
        lines.append(f"{f.path}:{f.line}:{f.column}: {f.code} [{f.name}] {f.severity}: {f.message}")
        if f.hint:
            lines.append(f"    hint: {f.hint}")
    return _xml("\n".join(lines) + "\n")


def _totals(cases: Sequence[ET.Element]) -> dict[str, str]:
    """The `tests`, `failures`, `errors` and `skipped` attributes of a suite."""
    return {
        "tests": str(len(cases)),
        "failures": str(sum(case.find("failure") is not None for case in cases)),
        "errors": "0",
        "skipped": str(sum(case.find("skipped") is not None for case in cases)),
    }


def _xml(value: str) -> str:
    return re.sub(_NOT_XML, "\ufffd", value)
