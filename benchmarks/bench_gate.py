"""Time `mig-lint check --base REF` against a plain `mig-lint check` on the same tree.

    python benchmarks/bench_gate.py --size 10000 --runs 5

The generated tree (see generate.py) is committed on `main` of a throwaway repository;
a branch `feature` adds one revision on top (uncommitted, as in a pre-commit hook). Both
commands run round-robin as whole processes after one untimed warm-up pass each, with
mig-lint's cache in a temporary folder. Target: `--base` costs at most 2x a plain check.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_check import ensure_tree
from bench_check import mig_lint_command

GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "bench",
           "GIT_AUTHOR_EMAIL": "bench@example.invalid", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
TARGET = 2.0


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def make_repository(tree: Path, work: Path) -> Path:
    """A repository whose main holds `tree`, on branch `feature` with one new revision."""
    repo = work / "repo"
    shutil.copytree(tree, repo, ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "history")
    _git(repo, "checkout", "-q", "-b", "feature")
    report = subprocess.run(mig_lint_command() + ["check", "--format", "json", "."], cwd=repo, capture_output=True,
                            text=True)
    head = json.loads(report.stdout)["trees"][0]["heads"][0]
    (repo / "versions" / "ffffeeee0001_feature.py").write_text(
        f'"""feature\n\nRevision ID: ffffeeee0001\nRevises: {head}\n"""\n'
        f"revision = 'ffffeeee0001'\ndown_revision = '{head}'\n\n\ndef upgrade():\n    pass\n"
    )
    return repo


def _time(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        repo = make_repository(ensure_tree(args.size), Path(work))
        env = {**os.environ, **GIT_ENV, "MIG_LINT_CACHE_DIR": str(Path(work) / "cache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {
            "check": mig_lint_command() + ["check", "."],
            "check --base main": mig_lint_command() + ["check", "--base", "main", "."],
        }
        for command in commands.values():
            _time(command, repo, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(_time(command, repo, env))
    plain, gate = (statistics.median(times[name]) for name in commands)
    print(f"Median of {args.runs} runs at {args.size:,} revisions, whole processes, warm cache.\n")
    print("| command | median (s) |\n|---|---:|")
    print(f"| mig-lint check | {plain:.3f} |\n| mig-lint check --base main | {gate:.3f} |\n")
    ratio = gate / plain
    print(f"--base / plain: {ratio:.2f}x (target <= {TARGET:.0f}x): {'holds' if ratio <= TARGET else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
