"""How much of real migrate repositories `mig-lint convert` translates fully: give it their folders.

    python benchmarks/convert_corpus.py path/to/migrate_repo [more repositories...]

Each repository is converted with `--dry-run --format json` (nothing is written); the
script counts the versions by status and prints the share of non-placeholder versions
translated with nothing left under `NotImplementedError`, then the reasons for the rest.
Target: at least 95%. The repositories are not part of this project: take them from the
projects' own history, for example

    git -C nova archive <commit> nova/db/sqlalchemy/migrate_repo | tar -x -C corpus/
"""
from __future__ import annotations

import collections
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from bench_check import mig_lint_command

TARGET = 0.95


def main(argv: Sequence[str] | None = None) -> int:
    repositories = list(sys.argv[1:] if argv is None else argv)
    if not repositories:
        sys.exit(__doc__)
    total: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    print("| repository | versions | translated | partial | SQL only | placeholder | failed |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as out:
        for repository in repositories:
            argv = [*mig_lint_command(), "convert", repository, "--out", out, "--format", "json", "--dry-run"]
            done = subprocess.run(argv, capture_output=True, text=True)
            if done.returncode == 2:
                print(f"| {repository} | refused: {done.stderr.strip()} | | | | | |")
                continue
            versions = json.loads(done.stdout)["versions"]
            counts = collections.Counter(v["status"] for v in versions)
            total.update(counts)
            for version in versions:
                reasons.update(u["reason"] for u in version["unsupported"])
                if version["problem"]:
                    reasons["failed: " + version["problem"].split(": ", 1)[-1]] += 1
            print(f"| {repository} | {len(versions)} | {counts['translated']} | {counts['partial']} | "
                  f"{counts['sql-only']} | {counts['placeholder']} | {counts['failed']} |")
    real = total["translated"] + total["sql-only"] + total["partial"] + total["failed"]
    full = total["translated"] + total["sql-only"]
    share = full / real if real else 1.0
    print(f"\n{full} of {real} versions that are not placeholders translated fully: {share:.1%} "
          f"(target {TARGET:.0%}: {'holds' if share >= TARGET else 'NO'})")
    for reason, count in reasons.most_common():
        print(f"  {count:4d}  {reason}")
    return 0 if share >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
