"""SARIF 2.1.0 (code scanning): one run, a descriptor per rule, a result per finding."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from mig_lint.check import CheckResult
from mig_lint.model import Finding
from mig_lint.report.options import ReportOptions
from mig_lint.report.rules_doc import anchor
from mig_lint.rules import ALL_RULES
from mig_lint.rules.base import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
HOME = "https://github.com/mig-lint/mig-lint"
RULES_DOC = f"{HOME}/blob/main/docs/rules.md"
SRCROOT = "%SRCROOT%"
_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def render(result: CheckResult, options: ReportOptions) -> str:
    """The whole log as indented JSON."""
    index = {rule.code: position for position, rule in enumerate(ALL_RULES)}
    run = {
        "tool": {"driver": {
            "name": "mig-lint",
            "version": options.version,
            "informationUri": HOME,
            "rules": [rule_descriptor(rule) for rule in ALL_RULES],
        }},
        "columnKind": "unicodeCodePoints",
        "results": [sarif_result(finding, index[finding.code]) for finding in result.findings],
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    """A rule's `reportingDescriptor`: its summary, its docs and where they are online."""
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.doc},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "helpUri": f"{RULES_DOC}#{anchor(rule)}",
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
    }


def sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    """One finding, its location relative to the checked-out sources."""
    text = finding.message if not finding.hint else f"{finding.message}\nHint: {finding.hint}"
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": _LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": quote(finding.path), "uriBaseId": SRCROOT},
            "region": {"startLine": finding.line, "startColumn": finding.column},
        }}],
    }
