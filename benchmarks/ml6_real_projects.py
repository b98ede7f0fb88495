"""ML601-ML607 on public projects, over their last year of history (issue 14).

    python benchmarks/ml6_real_projects.py                     # every project below
    python benchmarks/ml6_real_projects.py neutron quay -v     # some, and print each finding

For each project, a clone of its mirror (/work/.mirror/<owner>+<name>/repo, bare, full
history; nothing is fetched) is checked out at its HEAD under --work (reused when already
there). The base is the last commit a year before HEAD's commit date (`git rev-list -1
--before`). From the project root, `mig-lint check --select ML6 --base <base> --format json`
runs with a configuration file written outside the clone: the trees the project selects in
code (`[[tool.mig-lint.trees]]`, as benchmarks/real_projects.py and the README recipes name
them) and `dialects` where the project runs on one database only.

The table: project, base date, new revision scripts (files added below the trees' versions
folders between base and HEAD, per git), findings per code ML601..ML607, and seconds of the
check.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench_check import mig_lint_command

CODES = ("ML601", "ML602", "ML603", "ML604", "ML605", "ML606", "ML607")
RELEASE_BRANCHES = ('version-locations = ["versions", "versions/*/expand", "versions/*/contract"]',)


@dataclass(frozen=True)
class Project:
    name: str
    repo: str  # owner/name: the mirror's folder is owner+name
    folders: tuple[str, ...]  # where its revision scripts are (for the count of new ones)
    config: str = ""  # the [tool.mig-lint] body beyond `select`


PROJECTS: tuple[Project, ...] = (
    Project("neutron", "openstack/neutron", ("neutron/db/migration/alembic_migrations/versions",),
            '[[tool.mig-lint.trees]]\npath = "neutron/db/migration/alembic_migrations"\n' + RELEASE_BRANCHES[0]),
    Project("keystone", "openstack/keystone", ("keystone/common/sql/migrations/versions",),
            '[[tool.mig-lint.trees]]\npath = "keystone/common/sql/migrations"\n' + RELEASE_BRANCHES[0]),
    Project("glance", "openstack/glance", ("glance/db/sqlalchemy/alembic_migrations/versions",)),
    Project("octavia", "openstack/octavia", ("octavia/db/migration/alembic_migrations/versions",)),
    Project("nova", "openstack/nova", ("nova/db/main/migrations/versions", "nova/db/api/migrations/versions")),
    Project("ironic", "openstack/ironic", ("ironic/db/sqlalchemy/alembic/versions",)),
    Project("placement", "openstack/placement", ("placement/db/sqlalchemy/alembic/versions",)),
    Project("redash", "getredash/redash", ("migrations/versions",), 'dialects = ["postgresql"]'),
    Project("ctfd", "CTFd/CTFd", ("migrations/versions", "CTFd/plugins/dynamic_challenges/migrations")),
    Project("quay", "quay/quay", ("data/migrations/versions",)),
    Project("polar", "polarsource/polar", ("server/migrations/versions",), 'dialects = ["postgresql"]'),
    Project("indico", "indico/indico", ("indico/migrations/versions",), 'dialects = ["postgresql"]'),
    Project("dispatch", "Netflix/dispatch", ("src/dispatch/database/revisions",), 'dialects = ["postgresql"]'),
    Project("prefect", "PrefectHQ/prefect", ("src/prefect/server/database/_migrations/versions",),
            '[[tool.mig-lint.trees]]\npath = "src/prefect/server/database/_migrations/versions/sqlite"\n'
            'version-locations = ["."]\n[[tool.mig-lint.trees]]\n'
            'path = "src/prefect/server/database/_migrations/versions/postgresql"\nversion-locations = ["."]'),
    Project("pgadmin4", "pgadmin-org/pgadmin4", ("web/migrations/versions",), 'dialects = ["sqlite"]'),
)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout.strip()


def checkout(project: Project, mirrors: Path, work: Path) -> Path:
    """A clone of the project's mirror at its HEAD (made once, objects shared with the mirror).

    A mirror may lack its largest blobs (say a 100-MB data file): every file whose blob is
    there is checked out, the others are left out.
    """
    root = work / project.name
    if not (root / ".git").exists():
        mirror = mirrors / project.repo.replace("/", "+") / "repo"
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(root)], check=True)
        listed = _git(root, "ls-tree", "-r", "-z", "HEAD").split("\0")  # "mode type sha\tpath", unquoted
        entries = [(e.split("\t", 1)[0].split()[2], e.split("\t", 1)[1]) for e in listed if e]
        present = subprocess.run(["git", "-C", str(root), "cat-file", "--batch-check=%(objectname)"],
                                 input="\n".join(sha for sha, _ in entries), capture_output=True, text=True)
        found = {line for line in present.stdout.splitlines() if " " not in line}
        paths = "\0".join(path for sha, path in entries if sha in found)
        subprocess.run(["git", "-C", str(root), "checkout", "-q", "HEAD", "--pathspec-from-file=-",
                        "--pathspec-file-nul"], input=paths, text=True, check=True)
    return root


def year_back(root: Path) -> tuple[str, str]:
    """The last commit a year before HEAD's commit date, and its date."""
    head_date = datetime.fromisoformat(_git(root, "log", "-1", "--format=%cI", "HEAD"))
    base = _git(root, "rev-list", "-1", f"--before={(head_date - timedelta(days=365)).isoformat()}", "HEAD")
    return base, _git(root, "log", "-1", "--format=%cs", base)


def new_scripts(root: Path, base: str, folders: Sequence[str]) -> int:
    """Revision scripts added below the folders since base (`__init__.py` and the like not counted)."""
    added = _git(root, "diff", "--name-only", "--diff-filter=A", base, "HEAD", "--", *folders).splitlines()
    return sum(p.endswith(".py") and not Path(p).name.startswith("_") for p in added)


def run_check(project: Project, root: Path, base: str, command: list[str]) -> tuple[dict[str, Any], float]:
    with tempfile.TemporaryDirectory() as temp:
        config = Path(temp) / "pyproject.toml"
        config.write_text(f'[tool.mig-lint]\nselect = ["ML6"]\n{project.config}\n')
        env = {**os.environ, "MIG_LINT_CACHE_DIR": temp}
        start = time.perf_counter()
        done = subprocess.run([*command, "check", "--config", str(config), "--select", "ML6", "--base", base,
                               "--format", "json"], cwd=root, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
    try:
        return json.loads(done.stdout), seconds
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"findings": [], "error": last}, seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="PROJECT", help="projects to run (default: all)")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"), help="folder of the mirrors")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ml6real",
                        help="folder of the checkouts")
    parser.add_argument("--mig-lint", help="mig-lint executable (default: next to this interpreter)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each finding")
    args = parser.parse_args(argv)
    command = [args.mig_lint] if args.mig_lint else mig_lint_command()
    args.work.mkdir(parents=True, exist_ok=True)
    lines = ["| project | base date | new revisions | " + " | ".join(CODES) + " | seconds |",
             "|---|---|---|" + "---|" * len(CODES) + "---|"]
    for project in PROJECTS:
        if args.names and project.name not in args.names:
            continue
        root = checkout(project, args.mirrors, args.work)
        base, date = year_back(root)
        report, seconds = run_check(project, root, base, command)
        if "error" in report:
            print(f"{project.name}: {report['error']}", file=sys.stderr)
        counts = Counter(f["code"] for f in report["findings"])
        for finding in report["findings"] if args.verbose else ():
            print(f"{project.name}: {finding['path']}:{finding['line']}: {finding['code']} {finding['message']}",
                  file=sys.stderr)
        lines.append(f"| {project.name} | {date} | {new_scripts(root, base, project.folders)} | "
                     + " | ".join(str(counts[c]) for c in CODES) + f" | {seconds:.1f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
