"""The conversion report: per version, translated (unproved), partial (what is left, where), SQL only, placeholder."""
from __future__ import annotations

import json
import os
from collections import Counter

from mig_lint import __version__
from mig_lint.convert.repository import Conversion
from mig_lint.convert.repository import handoff_block
from mig_lint.convert.repository import HelperReport
from mig_lint.convert.repository import VersionReport
from mig_lint.words import counted

_SHOWN = {"translated": "translated (unproved)", "proved": "translated and proved"}


def render_text(conversion: Conversion, written: bool = True) -> str:
    """One line per version, the untranslated constructs under it, a summary, the handoff block."""
    verb = "converted" if written else "would convert"
    lines = [f"{verb} {conversion.repository} into {conversion.versions_folder}:"]
    for version in conversion.versions:
        proof = "translated and proved" if version.proved else "translated (unproved)"
        detail = {"translated": f"{proof}: {counted(version.operations, 'migrate construct')} rewritten",
                  "partial": _partial(version),
                  "sql-only": "SQL scripts only", "placeholder": "placeholder (empty revision)",
                  "squashed": f"{counted(len(version.sources), 'migrate file')} squashed into the "
                              f"{counted(version.operations, 'table')} they built "
                              "(rows they inserted are not included)",
                  "failed": version.problem or ""}[version.status]
        proved = "; proved equal by verify" if version.proved and version.status != "translated" else ""
        lines.append(f"  {version.number} -> {version.revision} {version.file}: {detail}{proved}")
        for item in version.unsupported:
            lines.append(f"      {version.script}:{item.line}: {item.construct}: {item.reason}")
        for left in version.leftovers:
            lines.append(f"      {conversion.versions_folder}/{version.file}:{left.line}: {left.construct}: "
                         f"{left.reason}")
    for helper in conversion.helpers:
        folder = os.path.dirname(conversion.versions_folder)
        state = helper.problem or (_partial_helper(helper) if helper.leftovers else
                                   f"translated: {counted(helper.operations, 'migrate construct')} rewritten")
        lines.append(f"  helper {helper.source} -> {os.path.join(folder, helper.file)}: {state}")
        for left in helper.leftovers:
            lines.append(f"      {os.path.join(folder, helper.file)}:{left.line}: {left.construct}: {left.reason}")
    counts = Counter("proved" if v.status == "translated" and v.proved else v.status for v in conversion.versions)
    statuses = ("squashed", "proved", "translated", "partial", "sql-only", "placeholder", "failed")
    summary = ", ".join(f"{counts[s]} {_SHOWN.get(s, s)}" for s in statuses if counts[s])
    count = len(conversion.versions)
    lines.append(f"{counted(count, 'version')}: {summary or 'nothing to convert'}.")
    if conversion.verified_on:
        proofs = sum(bool(v.proved) for v in conversion.versions)
        lines.append(f"verify on {', '.join(conversion.verified_on)}: {proofs} of {counted(count, 'version')} "
                     "proved equal to migrate's schema.")
    if conversion.stamp_map:
        lines.append(f"Stamp map: {conversion.out}/migrate-stamp-map.json. Handoff for your configuration:")
        lines.append(handoff_block(conversion).rstrip("\n"))
    return "\n".join(lines) + "\n"


def _partial(version: VersionReport) -> str:
    """What is left: code kept under NotImplementedError, and constructs left in the emitted revision."""
    parts = ["some code kept under NotImplementedError"] if version.unsupported else []
    if version.leftovers:
        parts.append(f"{counted(len(version.leftovers), 'migrate or SQLAlchemy 1.x construct')} left in the revision")
    return "partial: " + "; ".join(parts)


def _partial_helper(helper: HelperReport) -> str:
    return f"partial: {counted(len(helper.leftovers), 'migrate or SQLAlchemy 1.x construct')} left in the module"


def render_json(conversion: Conversion) -> str:
    """The same report as data."""
    data = {
        "schema": 1,
        "mig_lint": __version__,
        "repository": conversion.repository,
        "out": conversion.out,
        "verified_on": list(conversion.verified_on),
        "versions": [
            {
                "version": v.number, "revision": v.revision, "file": f"{conversion.versions_folder}/{v.file}",
                "status": v.status, "sources": list(v.sources), "operations": v.operations,
                "unsupported": [{"path": v.script, "line": u.line, "construct": u.construct, "reason": u.reason}
                                for u in v.unsupported],
                "leftovers": [{"path": f"{conversion.versions_folder}/{v.file}", "line": left.line,
                               "construct": left.construct, "reason": left.reason} for left in v.leftovers],
                "proved": v.proved,
                "problem": v.problem,
            }
            for v in conversion.versions
        ],
        "helpers": [
            {"source": h.source, "file": os.path.join(os.path.dirname(conversion.versions_folder), h.file),
             "operations": h.operations, "problem": h.problem,
             "leftovers": [{"line": left.line, "construct": left.construct, "reason": left.reason}
                           for left in h.leftovers]}
            for h in conversion.helpers
        ],
    }
    return json.dumps(data, indent=2) + "\n"
