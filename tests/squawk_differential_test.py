"""ML6xx against squawk (issue 14): the SQL alembic renders for PostgreSQL, linted by a real client.

For every alembic tree of every fixture, a copy gets a standard offline env.py (the fixtures'
own are placeholders), `alembic upgrade heads --sql` renders the whole history in one run
(a tree that fails to render is rendered revision by revision, `alembic upgrade down:rev
--sql`), the output is cut at alembic's `-- Running upgrade ... -> rev` comments into one
SQL file per revision, each wrapped in the transaction alembic runs it in on PostgreSQL,
and squawk lints them all in one run. Each squawk finding whose rule maps to an ML6xx code
must be found by `mig-lint check --select ML6` on the statement of `upgrade()` that issued
it (env.py marks each statement with its line), unless it is one of the differences
docs/squawk.md explains ("ML6xx and squawk"), listed in EXPLAINED below. A revision that
does not render in a tree alembic loads must be one mig-lint reports as ML212 offline-unsafe.
Migrate repositories are not rendered: alembic cannot run migrate's scripts.
"""
from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SQUAWK = shutil.which("squawk", path=str(Path(sys.executable).parent)) or shutil.which("squawk")
PG_VERSION = "16"

pytestmark = pytest.mark.skipif(SQUAWK is None, reason="squawk is not installed (pip install squawk-cli)")

# squawk rule -> the ML6xx code that reports the same hazard.
MAPPED = {
    # ADD COLUMN ... NOT NULL without a default: fails on a table with rows
    "adding-required-field": "ML601",
    # CREATE INDEX without CONCURRENTLY: writes wait for the build
    "require-concurrent-index-creation": "ML602",
    # CREATE INDEX CONCURRENTLY inside the migration's transaction: PostgreSQL refuses it
    "ban-concurrent-index-creation-in-transaction": "ML602",
    # ADD CONSTRAINT ... UNIQUE builds its index under ACCESS EXCLUSIVE
    "disallowed-unique-constraint": "ML602",
    # ALTER COLUMN ... TYPE rewrites the table
    "changing-column-type": "ML603",
    # ADD COLUMN with a volatile default rewrites the table
    "adding-field-with-default": "ML603",
    # ADD CONSTRAINT ... FOREIGN KEY without NOT VALID scans both tables under lock
    "adding-foreign-key-constraint": "ML604",
    # ADD CONSTRAINT (check, foreign key) without NOT VALID scans the table under lock
    "constraint-missing-not-valid": "ML604",
    # RENAME COLUMN / RENAME TO break the release still running
    "renaming-column": "ML605",
    "renaming-table": "ML605",
    # DROP COLUMN / DROP TABLE lose data the running release may read
    "ban-drop-column": "ML607",
    "ban-drop-table": "ML607",
}

# squawk rules with no ML6xx equivalent (on by default in squawk 2.70), and why.
UNMAPPED = {
    # session settings that env.py or the deploy sets once, not something a revision does
    "require-lock-timeout": "a session setting (SET lock_timeout): env.py's or the deploy's, not a revision's",
    "require-statement-timeout": "a session setting (SET statement_timeout): env.py's or the deploy's",
    "require-timeout-settings": "a session setting (lock_timeout, statement_timeout)",
    # alembic's version table already makes each revision run once
    "prefer-robust-stmts": "IF [NOT] EXISTS: alembic's version table makes each revision run once",
    # column type advice, not a lock or a failure on rows
    "prefer-bigint-over-int": "type advice (integer overflow): every sa.Integer renders as INTEGER",
    "prefer-bigint-over-smallint": "type advice (integer overflow)",
    "prefer-identity": "type advice (SERIAL or IDENTITY): every sa.Integer primary key renders as SERIAL",
    "prefer-text-field": "type advice (VARCHAR(n) or TEXT): every sa.String(n) renders as VARCHAR(n)",
    "prefer-timestamp-tz": "type advice (time zones): sa.DateTime renders as TIMESTAMP WITHOUT TIME ZONE",
    "ban-char-field": "type advice (CHAR(n) pads)",
    # SET NOT NULL scans the table under ACCESS EXCLUSIVE; ML606 reports it in expand revisions only
    "adding-not-nullable-field": "SET NOT NULL: no ML code outside an expand revision (ML606 there)",
    # DROP NOT NULL widens: the running release may read the NULLs it did not expect
    "ban-drop-not-null": "DROP NOT NULL widens the column: no ML code (expand/contract calls it an addition)",
    # a primary key added to an existing table builds a unique index under ACCESS EXCLUSIVE
    "adding-serial-primary-key-field": "a primary key added to an existing table: no ML code",
    "adding-primary-key-constraint": "a primary key added to an existing table: no ML code",
    # DROP INDEX without CONCURRENTLY: a short ACCESS EXCLUSIVE lock, no data lost
    "require-concurrent-index-deletion": "DROP INDEX without CONCURRENTLY: no ML code",
    # a BEGIN inside alembic's own transaction
    "transaction-nesting": "a BEGIN or COMMIT in op.execute: no ML code",
}

# (revision, squawk rule, statement) -> why mig-lint does not report it; the table in docs/squawk.md.
NEW_TABLE = "the table was created earlier in the same revision: no rows, no reader, nothing to lock"
SQLITE_HISTORY = "the revision is in the history for SQLite (versions/sqlite): PostgreSQL never runs it"
EXPLAINED = {
    ("d59b9f072b24", "adding-required-field", "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL;"): NEW_TABLE,
    ("d59b9f072b24", "changing-column-type", "ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(80);"): NEW_TABLE,
    ("5df9b0c71f3b", "renaming-column", "ALTER TABLE drafts RENAME body TO text;"): NEW_TABLE,
    ("c66147c7cdf2", "constraint-missing-not-valid", "ALTER TABLE users ADD CONSTRAINT uq_users_name UNIQUE (name);"):
        "PostgreSQL has no NOT VALID for UNIQUE: mig-lint reports ML602 there (the index CONCURRENTLY, then USING INDEX)",
    ("15ac43375722", "ban-drop-column", "ALTER TABLE orders DROP COLUMN user_id;"):
        "a drop in the contract branch is where it belongs: ML607 leaves contract revisions alone",
    ("0c9a6f3e1d27", "require-concurrent-index-creation",
     "CREATE INDEX IF NOT EXISTS ix_flow_run__state ON flow_run (state);"): SQLITE_HISTORY,
    ("0c9a6f3e1d27", "constraint-missing-not-valid",
     "ALTER TABLE flow_run ADD CONSTRAINT ck_flow_run__runs CHECK (runs >= 0);"): SQLITE_HISTORY,
}

# What mig-lint reports on rendered revisions that no squawk rule maps to: (fixture, revision, line, code).
# squawk has no expand/contract branches: every one is ML606.
BEYOND_SQUAWK = [
    ("rule-ML404-label-placement", "4af11ca47297", 20, "ML606"),
    ("rule-ML404-label-placement", "5ffceebfada", 20, "ML606"),
    ("rule-ML606-contract-in-expand", "15ac43375722", 17, "ML606"),
    ("rule-ML606-contract-in-expand", "15ac43375722", 18, "ML606"),
    ("rule-ML606-contract-in-expand", "7401050da78d", 15, "ML606"),
    ("rule-ML606-contract-in-expand", "8fb2d20c62dd", 17, "ML606"),
    ("rule-ML606-contract-in-expand", "8fb2d20c62dd", 18, "ML606"),
    ("shape-expand-contract-heads", "d3c2e1f0a9b8", 20, "ML606"),
    ("shape-label-constant", "c7d2e81f4a65", 21, "ML606"),
]


@dataclasses.dataclass(frozen=True)
class Rendered:
    """The SQL alembic renders for one revision, and the file the revision is in (relative to the copy)."""

    fixture: str
    revision: str
    path: str
    sql: str


@dataclasses.dataclass(frozen=True)
class SquawkFinding:
    """One squawk finding on a revision's SQL."""

    rule: str
    statement: str
    line: int  # the line of the revision that issued it (0: alembic's own, the version table)


@dataclasses.dataclass(frozen=True)
class Difference:
    """A squawk finding that maps to an ML6xx code which mig-lint does not report there."""

    fixture: str
    revision: str
    rule: str
    code: str
    statement: str


@dataclasses.dataclass(frozen=True)
class Census:
    """What rendered and what did not, over all fixtures."""

    tmp: Path
    rendered: list[Rendered]
    unrendered: list[tuple[str, str, str]]  # (fixture, revision file or "tree (tree)", alembic's error)
    migrate_trees: list[str]
    mig_lint: dict[str, list[tuple[str, str, int]]]  # fixture -> (path, code, line) of `check --select ML6`
    offline_unsafe: set[tuple[str, str]]  # (fixture, file) of the revisions mig-lint reports as ML212


# Offline only: alembic needs the dialect, never a connection. Writes each revision's id,
# file and parents before running, so a tree that fails to render can be rendered step by
# step, and puts the line of the revision that issues each statement before it, in a comment.
ENV_PY = '''\
import json
import os
import sys

from alembic import context

revisions = {
    script.revision: {"path": script.path, "down": script.down_revision}
    for script in context.script.walk_revisions()
}
with open(os.environ["MIG_LINT_SQUAWK_REVISIONS"], "w") as out:
    json.dump(revisions, out)
scripts = {os.path.realpath(about["path"]) for about in revisions.values()}


def revision_line():
    frame = sys._getframe()
    while frame is not None:
        if os.path.realpath(frame.f_code.co_filename) in scripts:
            return frame.f_lineno
        frame = frame.f_back
    return 0


context.configure(url="postgresql://", literal_binds=True)
impl = context.get_context().impl
execute = impl._exec


def traced(construct, *args, **kwargs):
    impl.static_output(f"-- revision line {revision_line()}")
    return execute(construct, *args, **kwargs)


impl._exec = traced
with context.begin_transaction():
    context.run_migrations()
'''

RUNNING = re.compile(r"^-- Running upgrade (?:[^\n]*?) -> (\S+)$", re.MULTILINE)
REVISION_LINE = re.compile(r"^-- revision line (\d+)$", re.MULTILINE)


def _mig_lint(copy: Path) -> dict[str, Any]:
    """`mig-lint check --select ML6,ML212 --format json` on a fixture's copy (a usage error: no trees, no findings)."""
    result = subprocess.run([sys.executable, "-m", "mig_lint", "check", "--select", "ML6,ML212", "--exit-zero",
                             "--format", "json", "."], cwd=copy, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(FIXTURES.parent)})
    return json.loads(result.stdout) if result.returncode == 0 else {"trees": [], "findings": []}


def _alembic(copy: Path, ini: Path, listing: Path, target: str) -> subprocess.CompletedProcess[str]:
    """`alembic upgrade TARGET --sql`, with the project's folder importable as it is for the project."""
    return subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", target, "--sql"],
                          cwd=copy, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(copy), "MIG_LINT_SQUAWK_REVISIONS": str(listing)})


def _chunks(sql: str) -> dict[str, str]:
    """The SQL of each revision in alembic's offline output, each in the transaction alembic runs it in."""
    marks = list(RUNNING.finditer(sql))
    chunks = {}
    for mark, following in zip(marks, [*marks[1:], None]):
        body = sql[mark.end():following.start() if following else len(sql)].strip()
        body = body[:-len("COMMIT;")].strip() if body.endswith("COMMIT;") else body
        chunks[mark.group(1)] = f"BEGIN;\n\n{body}\n\nCOMMIT;\n"
    return chunks


def _render_tree(fixture: str, copy: Path, tree: Path) -> tuple[list[Rendered], list[tuple[str, str, str]]]:
    """Render every revision of one alembic tree: in one run, else revision by revision."""
    (tree / "env.py").write_text(ENV_PY)
    ini = tree / "squawk-alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = {tree}\nrecursive_version_locations = true\n")
    listing = tree / "revisions.json"
    whole = _alembic(copy, ini, listing, "heads")
    if not listing.exists():
        return [], [(fixture, f"{tree.relative_to(copy).as_posix()} (tree)", _last_line(whole))]
    revisions = json.loads(listing.read_text())
    chunks = _chunks(whole.stdout) if whole.returncode == 0 else {}
    rendered, unrendered = [], []
    for revision, about in sorted(revisions.items()):
        path = Path(about["path"]).resolve().relative_to(copy.resolve()).as_posix()
        if revision not in chunks:
            down = about["down"]
            parent = down[0] if isinstance(down, list) else down
            step = _alembic(copy, ini, listing, f"{parent}:{revision}" if parent else revision)
            if step.returncode != 0:
                unrendered.append((fixture, path, _last_line(step)))
                continue
            chunks[revision] = _chunks(step.stdout)[revision]
        rendered.append(Rendered(fixture, revision, path, chunks[revision]))
    return rendered, unrendered


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    """alembic's error: the exception's last line on stderr, else its `FAILED: ...` line on stdout."""
    return [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()][-1]


def _census(tmp: Path) -> Census:
    rendered, unrendered, migrate_trees, mig_lint, offline_unsafe = [], [], [], {}, set()
    for fixture in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        copy = tmp / fixture.name
        shutil.copytree(fixture, copy, symlinks=True)
        report = _mig_lint(copy)
        mig_lint[fixture.name] = [(f["path"], f["code"], f["line"]) for f in report["findings"]
                                  if f["code"].startswith("ML6")]
        offline_unsafe |= {(fixture.name, f["path"]) for f in report["findings"] if f["code"] == "ML212"}
        for tree in report["trees"]:
            if tree["format"] == "migrate":
                migrate_trees.append(f"{fixture.name}/{tree['path']}")
                continue
            done, failed = _render_tree(fixture.name, copy, copy / tree["path"])
            rendered += done
            unrendered += failed
    return Census(tmp, rendered, unrendered, migrate_trees, mig_lint, offline_unsafe)


def _squawk(tmp: Path, rendered: list[Rendered]) -> dict[Rendered, list[SquawkFinding]]:
    """squawk's findings on every rendered revision, in one run."""
    sql_dir = tmp / "sql"
    sql_dir.mkdir()
    files = {}
    for number, revision in enumerate(rendered):
        file = sql_dir / f"{number:04d}.sql"
        file.write_text(revision.sql)
        files[str(file)] = revision
    result = subprocess.run([str(SQUAWK), f"--pg-version={PG_VERSION}", "--reporter", "json", *files],
                            capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr
    found: dict[Rendered, list[SquawkFinding]] = {revision: [] for revision in rendered}
    for finding in json.loads(result.stdout):
        revision = files[finding["file"]]
        lines = revision.sql.splitlines()
        before = "\n".join(lines[:finding["line"]])
        issued_at = [int(line) for line in REVISION_LINE.findall(before)]
        statement = " ".join(line.strip() for line in lines[finding["line"]:finding["line_end"] + 1])
        found[revision].append(SquawkFinding(finding["rule_name"], statement, issued_at[-1] if issued_at else 0))
    return found


def _span(source: str, line: int) -> range:
    """The lines of the statement of `upgrade()` at `line` (a whole `with` block: batch operations run at its end)."""
    spans = [range(node.lineno, (node.end_lineno or node.lineno) + 1) for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.If, ast.For, ast.Try))
             and node.lineno <= line <= (node.end_lineno or node.lineno)]
    return min(spans, key=len) if spans else range(line, line + 1)


def _differences(census: Census, found: dict[Rendered, list[SquawkFinding]]) -> list[Difference]:
    """Each squawk finding that maps to an ML6xx code mig-lint does not report on the statement's lines."""
    missed = []
    for revision, findings in found.items():
        source = (census.tmp / revision.fixture / revision.path).read_text()
        for finding in findings:
            code = MAPPED.get(finding.rule)
            span = _span(source, finding.line)
            if code and not any(path == revision.path and found_code == code and line in span
                                for path, found_code, line in census.mig_lint[revision.fixture]):
                missed.append(Difference(revision.fixture, revision.revision, finding.rule, code, finding.statement))
    return missed


def _beyond_squawk(census: Census, found: dict[Rendered, list[SquawkFinding]]) -> list[tuple[str, str, int, str]]:
    """mig-lint's ML6xx findings on rendered revisions with no squawk finding of a rule mapped to the code there."""
    beyond = []
    for revision, findings in found.items():
        source = (census.tmp / revision.fixture / revision.path).read_text()
        squawk = {(MAPPED[f.rule], line) for f in findings if f.rule in MAPPED for line in _span(source, f.line)}
        beyond += [(revision.fixture, revision.revision, line, code)
                   for path, code, line in census.mig_lint[revision.fixture]
                   if path == revision.path and (code, line) not in squawk]
    return sorted(beyond)


@pytest.fixture(scope="module")
def differential(tmp_path_factory: pytest.TempPathFactory) -> tuple[Census, dict[Rendered, list[SquawkFinding]]]:
    """Every fixture rendered and linted once for the module (about a minute)."""
    tmp = tmp_path_factory.mktemp("squawk")
    census = _census(tmp)
    return census, _squawk(tmp, census.rendered)


def test_every_squawk_finding_that_maps_to_ml6xx_is_found_by_mig_lint_or_explained(differential):
    census, found = differential
    unexplained = [d for d in _differences(census, found) if (d.revision, d.rule, d.statement) not in EXPLAINED]
    assert unexplained == []


def test_every_explained_difference_still_happens(differential):
    census, found = differential
    happening = {(d.revision, d.rule, d.statement) for d in _differences(census, found)}
    assert sorted(set(EXPLAINED) - happening) == []


def test_every_squawk_rule_seen_is_mapped_or_unmapped_with_a_reason(differential):
    _, found = differential
    seen = {finding.rule for findings in found.values() for finding in findings}
    assert sorted(seen - set(MAPPED) - set(UNMAPPED)) == []


def test_what_mig_lint_finds_beyond_squawk_is_listed(differential):
    assert _beyond_squawk(*differential) == BEYOND_SQUAWK


def test_the_ml6xx_fixtures_render_whole_and_squawk_finds_each_mapped_rule(differential):
    census, found = differential
    assert [u for u in census.unrendered if u[0].startswith("rule-ML60")] == []
    seen = {finding.rule for findings in found.values() for finding in findings}
    assert sorted(set(MAPPED) - seen) == []


def test_a_revision_that_does_not_render_offline_is_reported_offline_unsafe(differential):
    census, _ = differential
    revisions = [(fixture, path) for fixture, path, _ in census.unrendered if not path.endswith("(tree)")]
    assert revisions == [("rule-ML212-offline-unsafe", "alembic/versions/0b08675abedc_create_customers.py")]
    assert set(revisions) <= census.offline_unsafe


def test_docs_explain_every_difference():
    table = (FIXTURES.parent / "docs" / "squawk.md").read_text()
    assert [key for key in EXPLAINED if f"| {key[0]} | {key[1]} |" not in table] == []


def test_each_ml6xx_rule_doc_names_the_squawk_rules_mapped_to_it():
    from mig_lint.rules import ALL_RULES

    for rule in ALL_RULES:
        if rule.code.startswith("ML6"):
            line = " ".join(rule.doc.split("squawk: ", 1)[1].split(". ", 1)[0].split())
            named = set(re.findall(r"[a-z]+(?:-[a-z]+)+", line)) - {"adding-not-nullable-field"}
            assert named == {name for name, code in MAPPED.items() if code == rule.code}, rule.code
