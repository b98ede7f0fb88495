"""The JSON report, schema 1, as DESIGN.md specifies it."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from mig_lint.check import CheckResult
from mig_lint.facts import tree_facts
from mig_lint.facts import TreeFacts
from mig_lint.model import SEVERITIES
from mig_lint.report.options import ReportOptions

SCHEMA = 1


def render(result: CheckResult, options: ReportOptions) -> str:
    """The whole report as indented JSON."""
    document = {
        "schema": SCHEMA,
        "mig_lint": options.version,
        "trees": [tree_json(tree_facts(g, result.config)) for g in result.graphs],
        "findings": [asdict(f) for f in result.findings],
        "summary": {level: sum(f.severity == level for f in result.findings) for level in SEVERITIES},
    }
    return json.dumps(document, indent=2) + "\n"


def tree_json(facts: TreeFacts) -> dict[str, Any]:
    """One tree's summary with DESIGN's key order and types."""
    return {
        "path": facts.path,
        "format": facts.format,
        "revisions": facts.revisions,
        "heads": list(facts.heads),
        "bases": list(facts.bases),
        "branch_points": list(facts.branch_points),
        "merge_points": list(facts.merge_points),
        "branch_labels": {label: owners[0] for label, owners in facts.branch_labels},
        "label_heads": {label: list(heads) for label, heads in facts.label_heads},
        "linear": facts.linear,
        "first_version": facts.first_version,
        "latest_version": facts.latest_version,
        "gaps": list(facts.gaps),
        "collisions": {version: list(names) for version, names in facts.collisions},
        "sql_only_versions": list(facts.sql_only_versions),
        "repository_id": facts.repository_id,
        "version_table": facts.version_table,
    }
