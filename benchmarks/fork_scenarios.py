"""Two branches that each add a migration, on clones of real projects: does `mig-lint fix` join them?

    python benchmarks/fork_scenarios.py                                  # nova glance ckan redash
    python benchmarks/fork_scenarios.py glance --allow-bad --checkout /work/main

Each project is a git mirror at MIRRORS/<owner>+<name>/repo (any clone will do). For each
project and scenario, the script clones the mirror into a fresh folder (`git clone
--no-checkout`, objects hard-linked), checks out the recorded commit as `main` and plays
what a team does:

- `feature-b` and `feature-a` each branch from `main` and commit one migration in the
  project's own form: for alembic, the project's `script.py.mako` rendered by alembic's own
  template code (its license comment block kept) with `down_revision` the head of the tree
  (for a tree with branch labels, the `expand` head), named as the project names its files;
  for sqlalchemy-migrate, the next number `NNN_feature_x.py`. `feature-a` also adds a test
  to the project's migration test file (`_check_NNN` where the file has those methods).
- `feature-b` merges into `main` first (`git merge --no-ff`); then, on `feature-a`:

- fix --base: `mig-lint fix --base main`, commit, then `git merge main`;
- merge, fix: `git merge main` (no conflict), then `mig-lint fix`;
- merge, fix --base: `git merge main` (no conflict), then `mig-lint fix --base main`;
- stopped merge: `git merge main` stops (both branches added a test at the same place in the
  test file), `mig-lint fix`, the test file's conflict resolved by keeping both sides (what
  mig-lint leaves to the developer), `git add -A`, `git merge --continue`;
- stopped rebase: the same with `git rebase main` and `git rebase --continue`.

In "merge, fix --base" feature-a's migration also has its companion: a `NNN_sqlite_upgrade.sql`
script (migrate) or a contract revision that depends on it (a tree with an `expand` label).

mig-lint runs as the project's developers would run it: `python -m mig_lint` (the
interpreter given by --python, with the checkout given by --checkout first on PYTHONPATH),
from the project root, no configuration, an empty MIG_LINT_CACHE_DIR.

After each scenario, the real tools judge the result:

- fix: `mig-lint fix`'s exit code (1 means it changed files) and the first line it wrote to
  stderr that is not git's state;
- check: `mig-lint check --base main --format json`: its exit code and ML1xx / ML3xx / ML5xx codes;
  the codes (and exit code) that `main` itself has are not held against the scenario;
- heads / versions: for alembic, `ScriptDirectory` through real_projects.py's alembic side
  must load every revision and give one head (one per branch label); for migrate, the
  numbers of the `.py` scripts must be unique and consecutive, and sqlalchemy-migrate's own
  `Repository(path).versions` (in --migrate-python) must load them and agree;
- base files edited: files `main` has that differ from `main` after the scenario; the test
  file that feature-a edits on purpose counts only when a line of main's copy is gone;
- conflict markers left in any file git tracks, and whether git's merge / rebase finished.

The verdict is `good` when fix did not fail (exit 0 or 1), git finished, check has no new
code and no higher exit than on main, heads / versions agree, no base file was edited and
no conflict markers are left. The script exits 1 when a verdict is bad (unless
--allow-bad), 2 on bad usage.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from real_projects import Project
from real_projects import PROJECTS as REAL_PROJECTS
from real_projects import run_alembic
from real_projects import Tree

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600
GIT_ENV = {"GIT_AUTHOR_NAME": "Fork Scenario", "GIT_AUTHOR_EMAIL": "fork@example.invalid",
           "GIT_COMMITTER_NAME": "Fork Scenario", "GIT_COMMITTER_EMAIL": "fork@example.invalid",
           "GIT_EDITOR": "true", "GIT_MERGE_AUTOEDIT": "no", "GIT_CONFIG_NOSYSTEM": "1"}
GIT_OPTIONS = ("-c", "merge.conflictStyle=merge", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false",
               "-c", "rerere.enabled=false", "-c", "advice.detachedHead=false")
Run = subprocess.CompletedProcess[str]
MARKER = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


@dataclass(frozen=True)
class ForkProject:
    """A project and where its migrations go; paths relative to the project root."""

    name: str
    mirror: str  # the folder under --mirrors holding repo/
    commit: str
    kind: str  # "alembic" or "migrate"
    tree: str  # the alembic script location, or the migrate repository
    test_file: str  # where each branch adds a test for its migration
    table: str  # the table the new migrations add a column to
    source: str = "."
    labels: tuple[str, ...] = ()  # branch labels that each keep one head (expand, contract)
    file_name: str = "{rev}_{slug}.py"  # alembic file names ({number} is the count of scripts + 1)
    revision_id: str = "hex"  # "hex" (12 digits), or "release" for glance's `<release>_expand01`
    release: str = ""
    head_files: tuple[str, ...] = ()  # files that may change on every new migration


def _real(name: str) -> Project:
    return next(p for p in REAL_PROJECTS if p.name == name)


PROJECTS: tuple[ForkProject, ...] = (
    # The last 2019 commit of nova's master: nova/db/sqlalchemy/migrate_repo (216-402, placeholders
    # 403-407) and api_migrations/migrate_repo; the _check_NNN methods are in nova/tests/unit/db/test_migrations.py.
    ForkProject("nova", "openstack+nova", "0d9622f581e830e7b7bc9763aaa09ba02e99b8bb", "migrate",
                "nova/db/sqlalchemy/migrate_repo", "nova/tests/unit/db/test_migrations.py", "instance_extra"),
    # expand/contract branch labels (alembic_migrations/versions/liberty_*), ids `<release>_expand01`,
    # CURRENT_RELEASE = '2026_2' in glance/db/migration.py.
    ForkProject("glance", "openstack+glance", _real("glance").commit, "alembic",
                _real("glance").trees[0].script_location, "glance/tests/functional/db/test_migrations.py", "images",
                labels=("expand", "contract"), revision_id="release", release="2026_2"),
    # ckan/migration (the core tree; ckanext/ has others): files `NNN_<rev>_<slug>.py`.
    ForkProject("ckan", "ckan+ckan", _real("ckan").commit, "alembic", "ckan/migration", "ckan/tests/cli/test_db.py",
                "package", file_name="{number:03d}_{rev}_{slug}.py"),
    # Flask-Migrate's migrations/ (no script_location in alembic.ini).
    ForkProject("redash", "getredash+redash", _real("redash").commit, "alembic", "migrations",
                "tests/test_migrations.py", "queries"),
)

SCENARIOS = ("fix --base", "merge, fix", "merge, fix --base", "stopped merge", "stopped rebase")
STOPPED = frozenset({"stopped merge", "stopped rebase"})
COMPANION = "merge, fix --base"  # the scenario whose feature-a migration has a .sql script or a contract revision


@dataclass(frozen=True)
class Feature:
    """What one branch added: its migration files and the files it edited."""

    branch: str
    added: tuple[str, ...]
    edited: tuple[str, ...]
    number: int | None = None  # migrate: the version it took


@dataclass(frozen=True)
class Record:
    """The outcome of one scenario, as the real tools see it."""

    project: str
    scenario: str
    fix_exit: int
    fix_error: str
    git_done: bool
    git_error: str
    check_exit: int
    check_codes: tuple[str, ...]
    base_check_exit: int
    base_check_codes: tuple[str, ...]
    agree: bool
    agree_detail: str
    base_edited: tuple[str, ...]
    markers: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


def is_good(record: Record) -> bool:
    """A fork is joined: every tool agrees and nothing of main was touched."""
    new_codes = set(record.check_codes) - set(record.base_check_codes)
    return (record.fix_exit in (0, 1) and record.git_done and not new_codes
            and record.check_exit <= record.base_check_exit and record.agree
            and not record.base_edited and not record.markers)


# --- running things ----------------------------------------------------------------------------


def _run(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    try:
        return subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(list(command), 124, "", f"timed out after {TIMEOUT} s")


def git(root: Path, *args: str, check: bool = True) -> Run:
    done = _run(["git", *GIT_OPTIONS, *args], root, {**os.environ, **GIT_ENV})
    if check and done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {root}: {(done.stderr or done.stdout).strip()}")
    return done


@dataclass(frozen=True)
class MigLint:
    """`python -m mig_lint` of one checkout."""

    python: str
    checkout: Path

    def run(self, root: Path, *args: str) -> Run:
        with tempfile.TemporaryDirectory() as cache:
            paths = [str(self.checkout), *filter(None, [os.environ.get("PYTHONPATH")])]
            env = {**os.environ, **GIT_ENV, "MIG_LINT_CACHE_DIR": cache, "PYTHONPATH": os.pathsep.join(paths)}
            return _run([self.python, "-m", "mig_lint", *args], root, env)


def _first_error(stderr: str) -> str:
    """The first line of stderr that is not mig-lint saying which git state it found."""
    for line in stderr.splitlines():
        if line.strip() and not re.match(r"mig-lint: git (merge|rebase) in progress", line):
            return line.strip()
    return ""


# --- writing the features ----------------------------------------------------------------------


def _slug(feature: str) -> str:
    return feature.replace("-", "_")


def _hex_id(project: str, feature: str) -> str:
    return hashlib.sha1(f"{project}/{feature}".encode()).hexdigest()[:12]


def _license(text: str) -> str:
    """The comment block a script starts with (a license), with the blank line after it."""
    lines = text.splitlines(keepends=True)
    count = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    return "".join(lines[:count]) + "\n" if count else ""


def _file_of(versions: Path, revision: str) -> Path | None:
    pattern = re.compile(rf"^revision\s*(:[^=]*)?=\s*['\"]{re.escape(revision)}['\"]", re.MULTILINE)
    return next((p for p in sorted(versions.glob("*.py")) if pattern.search(p.read_text("utf-8", "replace"))), None)


def _render_revision(project: ForkProject, root: Path, path: Path, fields: dict[str, Any]) -> None:
    """The project's script.py.mako, rendered by alembic's own template code."""
    from alembic import util

    template = root / project.tree / "script.py.mako"
    util.template_to_file(template, path, "utf-8", comma=util.format_as_comma, create_date="2026-12-03 00:00:00",
                          imports=None, downgrades=None, **fields)


def _add_alembic(project: ForkProject, root: Path, feature: str, heads: dict[str, list[str]],
                 companion: bool) -> list[str]:
    """One revision on the (expand) head; a contract one on the contract head with the companion."""
    versions = root / project.tree / "versions"
    slug = _slug(feature)
    expand = "expand" in project.labels
    parent = heads["expand" if expand else ""][0]
    number = len([p for p in versions.glob("*.py") if p.name != "__init__.py"]) + 1
    suffix = "01" if feature == "feature-b" else "02"
    rev = f"{project.release}_expand{suffix}" if project.revision_id == "release" else _hex_id(project.name, feature)
    parent_file = _file_of(versions, parent)
    license_block = _license(parent_file.read_text("utf-8")) if parent_file else ""
    upgrade = f"op.add_column({project.table!r}, sa.Column({slug!r}, sa.Boolean(), nullable=True))"
    revisions: list[tuple[str, str, str | None, str, str | None]] = [
        (rev, parent, None, f"add {slug} to {project.table}", upgrade)]
    if companion and expand:
        contract = f"{project.release}_contract{suffix}"
        revisions.append((contract, heads["contract"][0], rev, f"contract of {rev}", None))
    added = []
    for index, (revision, down, depends_on, message, body) in enumerate(revisions):
        path = versions / project.file_name.format(number=number + index, rev=revision, slug=slug)
        _render_revision(project, root, path, {"up_revision": revision, "down_revision": down,
                                               "branch_labels": None, "depends_on": depends_on,
                                               "message": message, "upgrades": body})
        path.write_text(license_block + path.read_text("utf-8"), "utf-8")
        added.append(str(path.relative_to(root)))
    return added


MIGRATE_SCRIPT = '''
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import MetaData
from sqlalchemy import Table


def upgrade(migrate_engine):
    meta = MetaData()
    meta.bind = migrate_engine

    for prefix in ('', 'shadow_'):
        table = Table(prefix + {table!r}, meta, autoload=True)
        if not hasattr(table.c, {column!r}):
            table.create_column(Column({column!r}, Boolean, nullable=True))
'''


def migrate_numbers(versions: Path) -> list[int]:
    """The version numbers of the `.py` scripts, in file-name order (duplicates kept)."""
    return sorted(int(m.group(1)) for p in versions.iterdir() if (m := re.match(r"(\d+)_.*\.py$", p.name)))


def _add_migrate(project: ForkProject, root: Path, feature: str, companion: bool) -> tuple[list[str], int]:
    versions = root / project.tree / "versions"
    number = max(migrate_numbers(versions), default=0) + 1
    slug = _slug(feature)
    latest = max((p for p in versions.glob("*.py") if re.match(r"\d+_", p.name) and "placeholder" not in p.name),
                 key=lambda p: p.name, default=None)
    license_block = _license(latest.read_text("utf-8")) if latest else ""
    script = versions / f"{number:03d}_{slug}.py"
    script.write_text(license_block + MIGRATE_SCRIPT.format(table=project.table, column=slug).lstrip("\n"), "utf-8")
    added = [script]
    if companion:
        sql = versions / f"{number:03d}_sqlite_upgrade.sql"
        sql.write_text(f"ALTER TABLE {project.table} ADD COLUMN {slug} BOOLEAN;\n", "utf-8")
        added.append(sql)
    return [str(p.relative_to(root)) for p in added], number


def _add_test(project: ForkProject, root: Path, feature: str, number: int | None) -> None:
    """A `_check_NNN` method after the file's last one, else a test function at the end of the file."""
    path = root / project.test_file
    text = path.read_text("utf-8")
    slug = _slug(feature)
    checks = list(re.finditer(r"^(    )def _check_\d+\(.*\n(?:(?:\1    .*)?\n)*", text, re.MULTILINE))
    if number is not None and checks:
        end = checks[-1].end()
        while text[:end].endswith("\n\n"):
            end -= 1
        method = (f"\n    def _check_{number:03d}(self, engine, data):\n"
                  f"        self.assertColumnExists(engine, {project.table!r}, {slug!r})\n")
        path.write_text(text[:end] + method + text[end:], "utf-8")
    else:
        path.write_text(text.rstrip("\n") + f"\n\n\ndef test_{slug}_migration():\n    assert {slug!r}\n", "utf-8")


def add_feature(project: ForkProject, root: Path, feature: str, heads: dict[str, list[str]], *,
                companion: bool, with_test: bool) -> Feature:
    """Branch `feature` from main, add its migration (and test), commit."""
    git(root, "checkout", "-q", "-b", feature, "main")
    number = None
    if project.kind == "migrate":
        added, number = _add_migrate(project, root, feature, companion)
    else:
        added = _add_alembic(project, root, feature, heads, companion)
    edited = []
    if with_test:
        _add_test(project, root, feature, number)
        edited.append(project.test_file)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{feature}: add a migration")
    return Feature(feature, tuple(added), tuple(edited), number)


# --- one scenario ------------------------------------------------------------------------------


def clone(project: ForkProject, mirrors: Path, dest: Path) -> Path:
    mirror = mirrors / project.mirror / "repo"
    if not mirror.exists():
        raise FileNotFoundError(f"no mirror at {mirror}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(dest.parent, "clone", "--quiet", "--no-checkout", str(mirror), str(dest))
    git(dest, "checkout", "-q", "-b", "main", project.commit)
    return dest


def _alembic_side(project: ForkProject, root: Path) -> dict[str, Any]:
    tree = Tree(project.name, project.tree)
    result: dict[str, Any] = run_alembic(Project(project.name, "", project.commit, project.source, (tree,)), root)
    return dict(result[project.name])


def _resolve_by_union(root: Path, name: str) -> None:
    """What the developer does with the conflicted test file: keep both sides (other files stay as fix left them)."""
    if name in git(root, "diff", "--name-only", "--diff-filter=U").stdout.split():
        path = root / name
        text = path.read_text("utf-8")
        path.write_text("".join(line for line in text.splitlines(keepends=True) if not MARKER.match(line)), "utf-8")


def _play(scenario: str, root: Path, mig_lint: MigLint, test_file: str) -> tuple[Run, bool, str]:
    """The developer's commands; mig-lint fix's run, whether git finished, git's complaint."""
    if scenario == "fix --base":
        fixed = mig_lint.run(root, "fix", "--base", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", "mig-lint fix --base main")
        merged = git(root, "merge", "--no-edit", "main", check=False)
        return fixed, merged.returncode == 0, _first_line(merged)
    if scenario in STOPPED:
        verb = "merge" if scenario == "stopped merge" else "rebase"
        stopped = git(root, verb, "main", check=False)
        if stopped.returncode == 0:
            return mig_lint.run(root, "fix"), False, f"git {verb} main did not stop"
        fixed = mig_lint.run(root, "fix")
        _resolve_by_union(root, test_file)
        git(root, "add", "-A")
        done = git(root, verb, "--continue", check=False)
        return fixed, done.returncode == 0, _first_line(done)
    merged = git(root, "merge", "--no-edit", "main", check=False)
    if merged.returncode != 0:
        return mig_lint.run(root, "fix"), False, _first_line(merged)
    fixed = mig_lint.run(root, "fix", *(("--base", "main") if scenario.endswith("--base") else ()))
    return fixed, True, ""


def _first_line(done: Run) -> str:
    if done.returncode == 0:
        return ""
    return next((line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()), "failed")


def _check_codes(done: Run) -> tuple[str, ...]:
    try:
        findings = json.loads(done.stdout)["findings"]
    except (json.JSONDecodeError, KeyError):
        return (f"no report: {_first_error(done.stderr) or 'no output'}",)
    return tuple(sorted({f["code"] for f in findings if f["code"][:3] in ("ML1", "ML3", "ML5")}))


def _changed_from_main(root: Path) -> list[str]:
    git(root, "add", "-A")
    return git(root, "diff", "--cached", "--name-only", "--no-renames", "main").stdout.split()


def drops_main_lines(root: Path, name: str) -> bool:
    """Whether a file that feature-a edits on purpose (its test file) lost or changed a line of main's."""
    path = root / name
    here = Counter(path.read_text("utf-8").splitlines()) if path.exists() else Counter()
    return bool(Counter(git(root, "show", f"main:{name}").stdout.splitlines()) - here)


def _on_main(root: Path, name: str) -> bool:
    return git(root, "cat-file", "-e", f"main:{name}", check=False).returncode == 0


def agree_alembic(project: ForkProject, root: Path, expected: int) -> tuple[bool, str]:
    """alembic loads every revision and sees one head, or one per branch label."""
    side = _alembic_side(project, root)
    if "error" in side:
        return False, f"alembic: {side['error']}"
    heads, labels = side["heads"], side["labels"]
    if project.labels:
        per_label = {label: [h for h in heads if label in labels[h]] for label in project.labels}
        one_each = len(heads) == len(project.labels) and all(len(v) == 1 for v in per_label.values())
    else:
        one_each = len(heads) == 1
    count = len(side["revisions"])
    detail = f"heads {' '.join(heads)}; {count} revisions"
    if count != expected:
        return False, f"{detail}, expected {expected}"
    return one_each, detail


MIGRATE_READ = """
import json, sys
from migrate.versioning.repository import Repository
repository = Repository(sys.argv[1])
print(json.dumps(sorted(int(v) for v in repository.versions.versions)))
"""


def agree_migrate(project: ForkProject, root: Path, expected: int, migrate_python: str | None) -> tuple[bool, str]:
    """Unique, consecutive numbers, each with its .py; sqlalchemy-migrate's Repository reads the same ones."""
    numbers = migrate_numbers(root / project.tree / "versions")
    if not numbers:
        return False, "no numbered .py scripts"
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    consecutive = numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    detail = f"{numbers[0]}..{numbers[-1]}" + "".join(f", {n} twice" for n in duplicates)
    if not consecutive and not duplicates:
        detail += ", a gap"
    sql_only = sorted({int(m.group(1)) for p in (root / project.tree / "versions").iterdir()
                       if (m := re.match(r"(\d+)_.*\.sql$", p.name))} - set(numbers))
    detail += "".join(f", {n} has only .sql scripts" for n in sql_only)
    ok = consecutive and not duplicates and not sql_only and len(numbers) == expected
    if len(numbers) != expected:
        detail += f", {len(numbers)} scripts, expected {expected}"
    if migrate_python is None:
        return ok, f"{detail}; migrate not run"
    read = _run([migrate_python, "-c", MIGRATE_READ, project.tree], root)
    if read.returncode != 0:
        error = (read.stderr.strip().splitlines() or ["failed"])[-1]
        return False, f"{detail}; migrate: {error}"
    migrate = json.loads(read.stdout)
    read_as = "the same" if migrate == numbers else f"{migrate[0]}..{migrate[-1]}" if migrate else "no versions"
    return ok and migrate == numbers, f"{detail}; migrate reads {read_as}"


def _number_note(project: ForkProject, root: Path, feature_a: Feature) -> str:
    """Numbers mig-lint does not judge: a migrate test's `_check_NNN`, ckan's `NNN_` file prefixes."""
    versions = root / project.tree / "versions"
    script = next(iter(sorted(versions.glob("*_feature_a.py"))), None)
    numbered = re.match(r"(\d+)_", script.name) if script else None
    if script is None or numbered is None or project.kind == "alembic" and not project.file_name.startswith("{number"):
        return ""
    number = int(numbered.group(1))
    if project.kind == "alembic":
        taken = [p.name for p in versions.glob(f"{numbered.group(1)}_*.py") if p != script]
        return f"{script.name} shares its number with {', '.join(taken)}" if taken else ""
    text = (root / project.test_file).read_text("utf-8")
    if number == feature_a.number or re.search(rf"def _check_{number:03d}\(", text):
        return ""
    return f"feature-a is {number:03d}; its test is still _check_{feature_a.number:03d}"


@dataclass(frozen=True)
class Base:
    """The tree at the project's commit: its heads by label ("" for all) and how many migrations."""

    heads: dict[str, list[str]]
    count: int


def run_scenario(project: ForkProject, scenario: str, mirrors: Path, work: Path, mig_lint: MigLint,
                 base: Base, migrate_python: str | None) -> Record:
    """Build main, feature-b (merged) and feature-a in a fresh clone, play the scenario, judge it."""
    root = clone(project, mirrors, work / f"{project.name}-{scenario.replace(' ', '').replace(',', '-')}")
    heads, count = base.heads, base.count
    stopped = scenario in STOPPED
    add_feature(project, root, "feature-b", heads, companion=False, with_test=stopped)
    feature_a = add_feature(project, root, "feature-a", heads, companion=scenario == COMPANION, with_test=True)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "--no-edit", "feature-b")
    base_check = mig_lint.run(root, "check", "--base", "main", "--format", "json")
    git(root, "checkout", "-q", "feature-a")
    fixed, git_done, git_error = _play(scenario, root, mig_lint, project.test_file)
    added_revisions = 2 + (scenario == COMPANION and "expand" in project.labels)
    agree, detail = (agree_migrate(project, root, count + 2, migrate_python) if project.kind == "migrate"
                     else agree_alembic(project, root, count + added_revisions))
    check = mig_lint.run(root, "check", "--base", "main", "--format", "json")
    changed = _changed_from_main(root)
    base_edited = tuple(n for n in changed if _on_main(root, n) and n not in project.head_files
                        and (n not in feature_a.edited or drops_main_lines(root, n)))
    markers = tuple(n for n in git(root, "grep", "-l", "-E", "^(<{7}|>{7}) ", check=False).stdout.split())
    notes = tuple(filter(None, [git_error, _number_note(project, root, feature_a)]))
    return Record(project.name, scenario, fixed.returncode, _first_error(fixed.stderr), git_done, git_error,
                  check.returncode, _check_codes(check), base_check.returncode, _check_codes(base_check),
                  agree, detail, base_edited, markers, notes)


def read_base(project: ForkProject, mirrors: Path, work: Path) -> Base:
    """alembic's heads (by label) and revision count, or migrate's script count, at the project's commit."""
    root = clone(project, mirrors, work / f"{project.name}-base")
    try:
        if project.kind == "migrate":
            return Base({}, len(migrate_numbers(root / project.tree / "versions")))
        side = _alembic_side(project, root)
        if "error" in side:
            raise RuntimeError(f"alembic cannot read {project.tree}: {side['error']}")
        by_label: dict[str, list[str]] = {"": side["heads"]}
        for head, labels in side["labels"].items():
            for label in labels:
                by_label.setdefault(label, []).append(head)
        return Base(by_label, len(side["revisions"]))
    finally:
        shutil.rmtree(root)


def run_project(project: ForkProject, mirrors: Path, work: Path, mig_lint: MigLint, scenarios: Sequence[str],
                migrate_python: str | None) -> list[Record]:
    base = read_base(project, mirrors, work)
    return [run_scenario(project, s, mirrors, work, mig_lint, base, migrate_python) for s in scenarios]


# --- the table ----------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "/")


def render(records: Sequence[Record]) -> str:
    lines = ["| project | scenario | fix exit | check exit and codes | heads/versions agree | base files edited "
             "| verdict | notes |", "|---|---|---|---|---|---|---|---|"]
    for r in records:
        fix = f"{r.fix_exit}" + (f": {r.fix_error}" if r.fix_error and r.fix_exit not in (0, 1) else "")
        new = sorted(set(r.check_codes) - set(r.base_check_codes))
        codes = " ".join(new) or "-"
        check = f"{r.check_exit} {codes}" + (f" (main: {r.base_check_exit} {' '.join(r.base_check_codes) or '-'})"
                                             if r.base_check_codes or r.base_check_exit else "")
        agree = f"{'yes' if r.agree else 'no'} ({r.agree_detail})"
        edited = f"{len(r.base_edited)}" + (f" ({', '.join(r.base_edited[:3])}"
                                            f"{', ...' if len(r.base_edited) > 3 else ''})" if r.base_edited else "")
        notes = list(r.notes)
        if r.markers:
            notes.append(f"conflict markers in {', '.join(r.markers)}")
        if r.fix_error and r.fix_exit in (0, 1):
            notes.append(f"fix: {r.fix_error}")
        verdict = "good" if is_good(r) else "bad"
        lines.append(f"| {r.project} | {r.scenario} | {_cell(fix)} | {_cell(check)} | {_cell(agree)} "
                     f"| {_cell(edited)} | {verdict} | {_cell('; '.join(notes)) or '-'} |")
    return "\n".join(lines) + "\n"


def _migrate_python(option: str | None) -> str | None:
    if option:
        return option
    candidates = [os.environ.get("MIG_LINT_LEGACY_PYTHON", ""), "/work/main/.venv-legacy/bin/python",
                  "/work/main/.venv-legacy/py311/bin/python"]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="PROJECT", help="projects to run (default: all)")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"),
                        help="folder of the mirrors, <owner>+<name>/repo (default /work/.mirror)")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="scenarios to run (default: all)")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs `-m mig_lint`")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="mig-lint checkout put first on PYTHONPATH")
    parser.add_argument("--migrate-python", help="interpreter with sqlalchemy-migrate (default: the legacy venv)")
    parser.add_argument("--work", type=Path, help="keep the clones in this folder (default: a temporary one)")
    parser.add_argument("--allow-bad", action="store_true", help="print the table, exit 0 anyway")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    known = {p.name: p for p in PROJECTS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(f"unknown project(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    mig_lint = MigLint(args.python, args.checkout.resolve())
    migrate_python = _migrate_python(args.migrate_python)
    if migrate_python is None:
        print("no interpreter with sqlalchemy-migrate: versions checked by file name only", file=sys.stderr)
    records: list[Record] = []
    with tempfile.TemporaryDirectory(prefix="forks-") as temp:
        work = args.work.resolve() if args.work else Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        for name in args.names or known:
            try:
                records += run_project(known[name], args.mirrors, work, mig_lint, args.scenario or SCENARIOS,
                                       migrate_python)
            except (FileNotFoundError, RuntimeError) as e:
                print(f"{name}: {e}", file=sys.stderr)
                return 2
    print(render(records), end="")
    bad = [f"{r.project}/{r.scenario}" for r in records if not is_good(r)]
    if bad:
        print(f"\n{len(bad)} of {len(records)} scenarios bad: {', '.join(bad)}")
    return 1 if bad and not args.allow_bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
