"""Regenerate docs/rules.md and the README's rules table from the rules' docstrings."""
from __future__ import annotations

from pathlib import Path

from mig_lint.report.rules_doc import render_markdown
from mig_lint.report.rules_doc import render_summary_table
from mig_lint.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- rules-start -->\n", "<!-- rules-end -->"


def main() -> int:
    (ROOT / "docs" / "rules.md").write_text(render_markdown(ALL_RULES))
    readme = (ROOT / "README.md").read_text()
    head, rest = readme.split(START, 1)
    tail = rest.split(END, 1)[1]
    (ROOT / "README.md").write_text(head + START + render_summary_table(ALL_RULES, "docs/rules.md") + END + tail)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
