"""Time `mig-lint replay` against plain `alembic upgrade head` on the same 200-revision tree.

    python benchmarks/bench_replay.py --versions 200 --runs 5 [--migrate-python PATH]

The tree is the generated migrate repository of bench_convert.py (new tables with indexes,
added, altered and dropped columns, foreign keys, data migrations, SQL scripts,
placeholders), converted by `mig-lint convert`. Each run upgrades a new SQLite file, as a
whole process: alembic through the tree's own env.py, mig-lint through its worker, with
a schema snapshot and the changes after every step. Runs alternate between the two tools.
Target: replay takes at most 1.5 times as long as alembic (medians).

With --migrate-python, the same run also verifies the conversion step for step
(`mig-lint verify`) against sqlalchemy-migrate in that interpreter, and times it.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_check import mig_lint_command
from bench_convert import generate

TARGET_RATIO = 1.5


def _time(argv: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return elapsed, done.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--migrate-python", help="Also run `mig-lint verify` with migrate in this interpreter.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, args.versions)
        _time([*mig_lint_command(), "convert", "repo", "--out", "alembic"], folder)
        alembic, replay = [], []
        for run in range(args.runs):
            url = f"sqlite:///{folder / f'alembic-{run}.db'}"
            alembic.append(_time([sys.executable, "-m", "alembic", "-c", "alembic/alembic.ini", "-x", f"url={url}",
                                  "upgrade", "head"], folder)[0])
            url = f"sqlite:///{folder / f'replay-{run}.db'}"
            seconds, out = _time([*mig_lint_command(), "replay", "alembic", "--url", url, "--format", "json"], folder)
            replay.append(seconds)
        steps = json.loads(out)["steps"]
        changes = sum(len(step["changes"]) for step in steps)
        ratio = statistics.median(replay) / statistics.median(alembic)
        print(f"{args.versions} revisions, SQLite, medians of {args.runs} whole processes:")
        print("| tool | median | min | max |\n|---|---:|---:|---:|")
        for name, times in (("alembic upgrade head", alembic), ("mig-lint replay", replay)):
            print(f"| {name} | {statistics.median(times):.2f} s | {min(times):.2f} s | {max(times):.2f} s |")
        print(f"replay reported {len(steps)} steps and {changes} schema changes; "
              f"replay / alembic = {ratio:.2f}x (target {TARGET_RATIO}x)")
        ok = ratio <= TARGET_RATIO
        if args.migrate_python:
            seconds, out = _time([*mig_lint_command(), "verify", "repo", "alembic", "--migrate-python",
                                  args.migrate_python, "--format", "json"], folder)
            report = json.loads(out)["databases"][0]
            print(f"verify: {len(report['steps'])} of {report['versions']} versions compared, "
                  f"{'all equal' if report['ok'] else 'NOT equal'}, {seconds:.2f} s")
            ok = ok and report["ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
