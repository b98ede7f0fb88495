"""The reports of `replay` and `verify`: text for people, JSON (schema 1) for CI history."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mig_lint import __version__
from mig_lint.db.process import StepDone
from mig_lint.db.replay import Replay
from mig_lint.db.replay import Step
from mig_lint.db.schema import Change
from mig_lint.db.verify import Pair
from mig_lint.db.verify import Verification
from mig_lint.words import counted

SLOWEST = 5


def replay_text(result: Replay) -> str:
    """The steps as a table, each change on a line of its own, then the slowest steps and the verdict."""
    start = f"from {result.current}" if result.current else "from the base"
    lines = [f"replay of {result.tree.root} ({result.tree.format}) on {result.database}, {start}",
             f"{'step':>4}  {'':4}  {'version':<16} {'seconds':>9}  changes"]
    for step in result.steps:
        notes = [*map(str, step.changes), *_step_problems(step)] or ["(no schema change)"]
        row = f"{step.index:>4}  {step.direction:<4}  {step.done.version:<16} {step.done.seconds:>9.3f}"
        lines.append(f"{row}  {notes[0]}")
        lines.extend(f"{'':>42}{note}" for note in notes[1:])
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def _step_problems(step: Step) -> list[str]:
    problems = []
    if step.done.timed_out:
        problems.append(f"TIMED OUT after {step.done.seconds:.1f} s: the worker was killed")
    if step.done.error:
        problems.append(f"FAILED: {step.done.error}")
    if step.over_budget:
        problems.append(f"OVER BUDGET: {step.done.seconds:.3f} s")
    if step.not_reversed:
        problems.append("NOT REVERSED: the schema differs from the one before its upgrade:")
        problems.extend(f"  {change}" for change in step.not_reversed)
    return problems


def _summary(result: Replay) -> str:
    total = sum(step.done.seconds for step in result.steps)
    slowest = ", ".join(f"{s.done.version}{' (down)' if s.direction == 'down' else ''} {s.done.seconds:.3f} s"
                        for s in _slowest(result.steps))
    lines = [f"{counted(len(result.steps), 'step')}, {total:.3f} s in migrations"
             + (f"; slowest: {slowest}" if slowest else "")]
    broken = next((s for s in result.steps if s.done.error or s.done.timed_out), None)
    if broken:
        lines.append(f"step {broken.index} ({broken.done.version}) did not finish: the database is left as it "
                     "left it")
    elif not result.failed:
        lines.append("ok")
    else:
        lines.append("failed: " + ", ".join(f"step {s.index}" for s in result.steps if s.failed))
    return "\n".join(lines)


def _slowest(steps: Sequence[Step]) -> list[Step]:
    return sorted(steps, key=lambda s: -s.done.seconds)[:SLOWEST]


def replay_json(result: Replay) -> str:
    """The same report as data."""
    data = {
        "schema": 1, "mig_lint": __version__, "tree": result.tree.root, "format": result.tree.format,
        "database": result.database, "from": result.current, "planned": list(result.planned),
        "steps": [_step_data(step) for step in result.steps],
        "slowest": [step.index for step in _slowest(result.steps)],
        "seconds": sum(step.done.seconds for step in result.steps), "failed": result.failed,
    }
    return json.dumps(data, indent=2) + "\n"


def _step_data(step: Step) -> dict[str, Any]:
    return {"step": step.index, "direction": step.direction, **_done_data(step.done),
            "over_budget": step.over_budget, "changes": _changes_data(step.changes),
            "not_reversed": _changes_data(step.not_reversed)}


def _done_data(done: StepDone) -> dict[str, Any]:
    error = done.error
    return {"version": done.version, "seconds": done.seconds, "timed_out": done.timed_out,
            "error": None if error is None else {"type": error.type, "message": error.message, "where": error.where}}


def _changes_data(changes: Sequence[Change]) -> list[dict[str, str]]:
    return [{"action": c.action, "kind": c.kind, "name": c.name, "detail": c.detail} for c in changes]


def _every_version(planned: int) -> str:
    return "the 1 version builds" if planned == 1 else f"all {planned} versions build"


def verify_text(results: Sequence[Verification]) -> str:
    """Per database: the versions that matched, and the first that did not with its differences;
    with --downgrade, the same for the walk back down."""
    lines = []
    for result in results:
        lines.append(f"migrate on {result.databases[0]}, alembic on {result.databases[1]}")
        if result.upgrades_ok:
            lines.append(f"  ok: {_every_version(result.planned)} the same schema")
        else:
            last = result.pairs[-1]
            lines.append(f"  {result.matched} of {counted(result.planned, 'version')} matched; "
                         f"migrate version {last.version} (revision {last.revision}) does not:")
            lines.extend(_failure(last))
        lines.extend(_downgrade_lines(result))
        lines.extend(_version_copies_note(result))
    return "\n".join(lines) + "\n"


def _failure(last: Pair) -> list[str]:
    """The step that failed, the comparison that did, or the differences, of one pair."""
    lines = []
    broken = next((s for s in (last.migrate, *last.alembic) if s.error or s.timed_out), None)
    if broken is not None:
        side = "migrate" if broken is last.migrate else "alembic"
        how = f"timed out after {broken.seconds:.1f} s" if broken.timed_out else f"failed: {broken.error}"
        lines.append(f"  the {side} step {broken.version} {how}")
    if last.comparison_error:
        lines.append(f"  the comparison failed: {last.comparison_error}")
    lines.extend(f"  {change}" for change in last.differences)
    if last.differences:
        lines.append("  (- and + read from migrate's schema to alembic's)")
    return lines


def _downgrade_lines(result: Verification) -> list[str]:
    """The walk back down: from the top when every version matched, from the last version
    matched when a migrate step stopped the walk up, not at all after a difference."""
    if not result.downgrade:
        return []
    walkable = result.down_planned
    if not walkable:
        return ["  downgrades: not walked (the walk up stopped on a difference, or matched nothing to undo)"]
    start = "" if result.upgrades_ok else f" from migrate version {result.down_pairs[0].version}"
    if result.downgrades_ok:
        matched = sum(1 for p in result.pairs if not p.failed)
        squashed = matched - walkable
        rest = f" (the {counted(squashed, 'version')} up to the squashed revision stay)" if squashed else ""
        return [f"  ok{start}: {_every_version(walkable)} back down to the same schema{rest}"]
    last = result.down_pairs[-1]
    return [f"  downgrades{start}: {result.matched_down} of {counted(walkable, 'version')} walked back to the "
            f"same schema; undoing migrate version {last.version} (revision {last.revision}) does not:",
            *_failure(last)]


def _version_copies_note(result: Verification) -> list[str]:
    migrate, alembic = result.version_tables
    return [f"  {p}{migrate} and {p}{alembic} were compared as one table "
            "(copies of the version tables; their columns are not compared)" for p in result.version_copies]


def verify_json(results: Sequence[Verification]) -> str:
    """The same report as data."""
    data = {"schema": 1, "mig_lint": __version__, "ok": all(r.ok for r in results), "databases": [
        {"migrate_database": r.databases[0], "alembic_database": r.databases[1], "ok": r.ok, "versions": r.planned,
         "matched": r.matched, "failed_version": r.failed_version,
         "version_tables": {"migrate": r.version_tables[0], "alembic": r.version_tables[1],
                            "copies": list(r.version_copies)},
         "steps": [_pair_data(p) for p in r.pairs],
         "downgrade": None if not r.downgrade else {
             "ok": r.upgrades_ok and r.downgrades_ok, "versions": r.down_planned, "matched": r.matched_down,
             "steps": [_pair_data(p) for p in r.down_pairs]}}
        for r in results]}
    return json.dumps(data, indent=2) + "\n"


def _pair_data(pair: Pair) -> dict[str, Any]:
    return {"version": pair.version, "revision": pair.revision, "migrate": _done_data(pair.migrate),
            "alembic": [_done_data(d) for d in pair.alembic], "differences": _changes_data(pair.differences),
            "comparison_error": pair.comparison_error}
