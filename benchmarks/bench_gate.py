"""Time `mig-lint check --base origin/main` against a plain `mig-lint check` on the same clone.

    python benchmarks/bench_gate.py --size 10000 --runs 5 [--cache cold] [--check-targets]

The generated tree (see generate.py) is committed on `main` of a repository kept in
benchmarks/trees/origin-N; its branch `feature` adds one revision on top. The commands run
in a `git clone` of `feature`, as whole processes, alternating. `--cache warm` (default):
one clone, one untimed warm-up pass fills mig-lint's cache (a developer's pre-commit run).
`--cache cold`: every run makes a fresh clone and starts each command with no
.mig-lint-cache (a CI job). Targets: `--base` costs at most 2x a plain check warm, 1.5x cold.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_check import ensure_origin
from bench_check import fresh_clone
from bench_check import GIT_ENV
from bench_check import mig_lint_command

TARGETS = {"warm": 2.0, "cold": 1.5}


def _time(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed with exit {done.returncode}:\n{done.stderr}{done.stdout[:2000]}")
    return elapsed


def measure(args: argparse.Namespace, commands: dict[str, list[str]]) -> dict[str, list[float]]:
    """Times of each command by name, in clones of the size's repository."""
    cold = args.cache == "cold"
    origin = ensure_origin(args.size)
    env = {**os.environ, **GIT_ENV}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("MIG_LINT_CACHE_DIR", None)  # the cache is the clone's own .mig-lint-cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="mig-lint-gate-") as work:
        clone = fresh_clone(origin, Path(work, "clone"))
        for command in commands.values():
            _time(command, clone, env)  # untimed: the page cache, and mig-lint's cache when warm
        for i in range(args.runs):
            if cold:
                fresh_clone(origin, clone)
            for name, command in commands.items():
                if cold:
                    shutil.rmtree(clone / ".mig-lint-cache", ignore_errors=True)
                times[name].append(_time(command, clone, env))
            print(f"  run {i + 1}/{args.runs} done", file=sys.stderr)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", choices=("warm", "cold"), default="warm")
    parser.add_argument("--check-targets", action="store_true", help="exit 1 when the target fails")
    args = parser.parse_args(argv)
    commands = {
        "mig-lint check": mig_lint_command() + ["check", "."],
        "mig-lint check --base origin/main": mig_lint_command() + ["check", "--base", "origin/main", "."],
    }
    times = measure(args, commands)
    plain, gate = (statistics.median(times[name]) for name in commands)
    target = TARGETS[args.cache]
    load = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    print(f"Median of {args.runs} runs at {args.size:,} revisions, whole processes, {args.cache} cache "
          f"({'a fresh clone each run' if args.cache == 'cold' else 'one clone'}){load}.\n")
    print("| command | median (s) |\n|---|---:|")
    for name, median in zip(commands, (plain, gate)):
        print(f"| {name} | {median:.3f} |")
    ratio = gate / plain
    holds = ratio <= target
    print(f"\n--base / plain: {ratio:.2f}x (target <= {target}x): {'holds' if holds else 'NO'}")
    return 1 if args.check_targets and not holds else 0


if __name__ == "__main__":
    raise SystemExit(main())
