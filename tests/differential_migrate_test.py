"""mig-lint's migrate reader against sqlalchemy-migrate's own loader.

Random repositories (hypothesis) and pinned edge cases are written to disk,
loaded by migrate 0.13.0 in a legacy interpreter (tests/_migrate_probe.py,
one long-lived process for the session) and checked with
``main(["check", "--format", "json", repo])``:

- where migrate loads: first/latest version, gaps, SQL-only versions, heads,
  bases, repository_id and version_table equal migrate's;
- where migrate refuses, mig-lint reports the matching error: two Python
  scripts for one number -> ML301, a SQL name migrate cannot split -> ML303,
  the old directory-per-version layout -> ML308;
- what migrate accepts silently is reported too: duplicate SQL scripts (the
  last one listed wins) -> ML304, an unknown dialect -> ML305, a numbered
  entry that is no script (an empty version) -> ML306, 1-2 digit names
  (ignored) -> ML307, gaps -> ML302, a script without upgrade() -> ML311.

Which names count is migrate's business: the probe asks migrate about every
numbered entry alone and every version alone, so a repository with several
problems is checked for all of them, not only the first that migrate raises.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from mig_lint.cli import main

try:
    from tests.legacy_env import legacy_python
except ImportError:  # tests/ on sys.path (rootdir-relative imports)
    from legacy_env import legacy_python

PROBE = Path(__file__).resolve().parent / "_migrate_probe.py"
CFG = "[db_settings]\nrepository_id = {repository_id}\nversion_table = {version_table}\nrequired_dbs = []\n"
UPGRADE = "def upgrade(migrate_engine):\n    pass\n"
DOWNGRADE = "def downgrade(migrate_engine):\n    pass\n"
# dialect names migrate matches besides the engine names of SQLAlchemy 1.4
MIGRATE_DIALECTS = frozenset({"default", "ibm_db_sa"})
# engine names of older SQLAlchemy releases: whether they count as known is mig-lint's call
HISTORIC_DIALECTS = frozenset({"drizzle", "access", "informix", "maxdb"})
OPERATIONS = frozenset({"upgrade", "downgrade"})
SHORT_NAME = re.compile(r"\d{1,2}_\w*\.(?:py|sql)")
# what migrate raises when it refuses a repository -> the finding for it
REFUSALS = (
    ("Exception", "old format", "ML308"),
    ("ScriptError", "only have one Python script", "ML301"),
    ("ScriptError", "Invalid SQL script name", "ML303"),
    ("ScriptError", "Invalid ibm_db_sa SQL script name", "ML303"),
)

Entries = dict[str, "str | None"]  # versions/ name -> file text, None for a folder


class MigrateProbe:
    """One legacy interpreter running the probe, asked one repository at a time."""

    def __init__(self, python: str, stderr: IO[str]) -> None:
        self._stderr = stderr
        self._proc = subprocess.Popen(
            [python, "-I", str(PROBE), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )

    def __call__(self, repo: Path) -> dict:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(str(repo)) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            self._stderr.seek(0)
            pytest.fail(f"migrate probe died (exit {self._proc.poll()}):\n{self._stderr.read()}")
        answer = json.loads(line)
        assert not answer.get("probe_error"), answer
        return answer

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover (a hung probe)
            self._proc.kill()
            self._proc.wait()


@pytest.fixture(scope="session")
def probe(tmp_path_factory):
    python = legacy_python()
    with open(tmp_path_factory.mktemp("probe") / "stderr.txt", "w+") as stderr:
        server = MigrateProbe(python, stderr)
        try:
            yield server
        finally:
            server.close()


def write_repo(root: Path, entries: Entries, repository_id: str = "demo", cfg: str | None = None) -> Path:
    """A migrate repository: migrate.cfg and versions/ holding ``entries``."""
    versions = root / "versions"
    versions.mkdir(parents=True)
    if cfg is None:
        cfg = CFG.format(repository_id=repository_id, version_table=f"{repository_id}_version")
    (root / "migrate.cfg").write_text(cfg)
    for name, text in entries.items():
        if text is None:
            (versions / name).mkdir()
            (versions / name / "README").write_text("not a script\n")
        else:
            (versions / name).write_text(text)
    return root


def lint(root: Path, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    rc = main(["check", "--format", "json", str(root)])
    out = capsys.readouterr().out
    return rc, json.loads(out)


def refusal_codes(answer: dict) -> set[str]:
    """The findings for what makes migrate refuse the whole repository."""
    verdicts = {
        "ML301": bool(_collisions(answer)),
        "ML303": any(e["kind"] == "error" for e in answer["entries"].values()),
        "ML308": "1" in answer["listing"],
    }
    return {code for code, found in verdicts.items() if found}


def expected_codes(answer: dict, entries: Entries) -> tuple[set[str], set[str]]:
    """(codes mig-lint must report, codes it must not), from migrate's verdicts."""
    by_kind: dict[str, list[dict]] = {}
    for name, entry in answer["entries"].items():
        by_kind.setdefault(entry["kind"], []).append({"name": name, **entry})
    python = by_kind.get("py", [])
    sql = by_kind.get("sql", [])
    refused = refusal_codes(answer)
    verdicts = {
        "ML301": "ML301" in refused,
        # migrate refuses the name, or files it under an operation it never runs
        "ML303": "ML303" in refused or any(e["op"] not in OPERATIONS for e in sql),
        "ML304": len({(e["version"], e["dialect"], e["op"]) for e in sql}) < len(sql),
        "ML307": any(SHORT_NAME.fullmatch(name) for name in answer["listing"]),
        "ML308": "ML308" in refused,
    }
    unknown = {e["dialect"] for e in sql if not e["engine"]} - MIGRATE_DIALECTS
    if unknown - HISTORIC_DIALECTS:
        verdicts["ML305"] = True
    elif not unknown:
        verdicts["ML305"] = False
    empty_versions = [g for g in answer["groups"].values() if _kinds(answer, g) == {"none"}]
    if empty_versions:
        verdicts["ML306"] = True
    elif not by_kind.get("none"):
        verdicts["ML306"] = False
    # else: a numbered non-script beside a script of its number; migrate ignores it
    no_upgrade = [e for e in python if "def upgrade(" not in (entries[e["name"]] or "")]
    groups = answer["groups"]
    runs = {str(e["version"]): groups[str(e["version"])].get("upgrade_runs_python") for e in no_upgrade}
    if any(runs.values()):
        verdicts["ML311"] = True
    elif None not in runs.values():
        verdicts["ML311"] = False
    # else: a script without upgrade() in a version migrate refuses
    if answer["ok"]:  # migrate reads these two only when a command needs them
        verdicts["ML312"] = "repository_id_error" in answer or "version_table_error" in answer
    if answer["ok"] and answer["missing"] is not None:
        verdicts["ML302"] = bool(answer["missing"])
    must = {code for code, found in verdicts.items() if found}
    return must, {code for code, found in verdicts.items() if not found}


def _kinds(answer: dict, group: dict) -> set[str]:
    return {answer["entries"][name]["kind"] for name in group["files"]}


def _collisions(answer: dict) -> dict[str, list[str]]:
    python: dict[str, list[str]] = {}
    for name, entry in answer["entries"].items():
        if entry["kind"] == "py":
            python.setdefault(str(entry["version"]), []).append(name)
    return {version: sorted(names) for version, names in python.items() if len(names) > 1}


def graph_facts(answer: dict) -> dict:
    """The tree fields of mig-lint's report that migrate's loaded repository fixes."""
    versions = answer["versions"]
    has_sql = {int(v) for v, dialects in answer["sql"].items() if dialects}
    has_python = {int(v) for v, name in answer["python"].items() if name is not None}
    facts = {
        "format": "migrate",
        "revisions": len(versions),
        "first_version": versions[0] if versions else None,
        "latest_version": answer["latest"] if versions else None,
        "heads": [str(answer["latest"])] if versions else [],
        "bases": [str(versions[0])] if versions else [],
        "branch_points": [],
        "merge_points": [],
        "collisions": {},
        "sql_only_versions": sorted(has_sql - has_python),
    }
    for key in ("repository_id", "version_table"):
        if key + "_error" not in answer:  # else migrate.cfg lacks it: ML312
            facts[key] = answer[key]
    if answer["missing"] is not None:
        facts["gaps"] = answer["missing"]
        facts["linear"] = not answer["missing"]
    return facts


def assert_agrees(answer: dict, entries: Entries, rc: int, report: dict) -> None:
    [tree] = report["trees"]
    findings = report["findings"]
    codes = {f["code"] for f in findings}
    must, must_not = expected_codes(answer, entries)
    refused = refusal_codes(answer)
    # the probe's verdicts on single entries explain migrate's own refusal
    assert answer["ok"] == (not refused), (answer, refused)
    if not answer["ok"]:
        [code] = {c for cls, text, c in REFUSALS if cls == answer["error"] and text in answer["message"]}
        assert code in refused, (answer, refused)
        assert rc == 1, report
    else:
        assert {k: tree[k] for k in graph_facts(answer)} == graph_facts(answer)
    assert tree["collisions"] == _collisions(answer)
    assert {"must report": sorted(must - codes), "must not report": sorted(must_not & codes)} == {
        "must report": [],
        "must not report": [],
    }, findings
    for finding in findings:
        if finding["code"] in refused:
            assert finding["severity"] == "error", finding
    severities = [f["severity"] for f in findings]
    assert report["summary"] == {s: severities.count(s) for s in ("error", "warning", "info")}
    assert rc == (1 if "error" in severities else 0), (rc, findings)


# ---------------------------------------------------------------- pinned cases


def _py(*names: str, text: str = UPGRADE) -> Entries:
    return dict.fromkeys(names, text)


def _files(*names: str) -> Entries:
    return dict.fromkeys(names, "-- sql\n")


PINNED = [
    pytest.param(_py("001_init.py", "002_users.py", "003_index.py"), set(), id="linear-from-1"),
    pytest.param(_py("216_havana.py", "217_a.py", "218_b.py"), set(), id="starts-at-216"),
    pytest.param(_py("402_initial.py", "403_a.py"), set(), id="starts-at-402"),
    pytest.param(_py("0047_a.py", "048_b.py", "0049_c.py"), set(), id="leading-zeros"),
    pytest.param(_py("999_a.py", "1000_b.py", "1001_c.py"), set(), id="past-999"),
    pytest.param(_py("000_zero.py", "001_a.py"), set(), id="version-zero"),
    pytest.param({}, set(), id="no-versions"),
    pytest.param(_py("001_a.py", "002_b.py", "005_c.py"), {"ML302"}, id="gap"),
    pytest.param(_py("001_a.py", "003_b.py", "007_c.py"), {"ML302"}, id="two-gaps"),
    pytest.param(
        {**_py("001_a.py"), **_files("002_sqlite_upgrade.sql", "002_x_postgresql_upgrade.sql")},
        set(),
        id="sql-only-no-description",
    ),
    pytest.param(
        {**_py("001_a.py", "002_b.py"), **_files("002_b_sqlite_upgrade.sql", "002_b_sqlite_downgrade.sql")},
        set(),
        id="sql-beside-python",
    ),
    pytest.param(
        {**_py("001_a.py"), **_files("002_x_default_upgrade.sql", "002_x_mysql_downgrade.sql")},
        set(),
        id="default-dialect",
    ),
    pytest.param(
        {**_py("001_a.py"), **_files("002_multi_word_desc_sqlite_upgrade.sql")},
        set(),
        id="underscores-in-description",
    ),
    pytest.param(
        {**_py("001_a.py"), **_files("002_x_ibm_db_sa_upgrade.sql")}, set(), id="ibm-db-sa-dialect"
    ),
    pytest.param(
        {**_py("001_a.py"), **_files("002_ibm_db_sa_upgrade.sql")}, {"ML303"}, id="ibm-db-sa-bad-name"
    ),
    pytest.param({**_py("001_a.py"), **_files("002_upgrade.sql")}, {"ML303"}, id="invalid-sql-name"),
    pytest.param({**_py("001_a.py"), **_files("002_nosql")}, {"ML303"}, id="ends-in-sql-no-dot"),
    pytest.param(_py("046_a.py", "047_a.py", "0047_b.py"), {"ML301"}, id="two-py-047-0047"),
    pytest.param(_py("001_a.py", "002_b.py", "002_c.py"), {"ML301"}, id="two-py-same-width"),
    pytest.param(_py("001_a.py", "002_b.py", "002_copy"), {"ML301"}, id="ends-in-py-no-dot"),
    pytest.param(
        {**_py("001_a.py"), **_files("001_a_sqlite_upgrade.sql", "001_b_sqlite_upgrade.sql")},
        {"ML304"},
        id="duplicate-sql",
    ),
    pytest.param(
        {**_py("001_a.py"), **_files("001_a_sqlite_upgrade.sql", "0001_a_sqlite_upgrade.sql")},
        {"ML304"},
        id="duplicate-sql-leading-zero",
    ),
    pytest.param(
        {**_py("001_a.py"), **_files("001_a_postgres_upgrade.sql")}, {"ML305"}, id="unknown-dialect"
    ),
    pytest.param(
        {**_py("001_a.py"), **_files("001_a_SQLITE_upgrade.sql")}, {"ML305"}, id="dialect-in-capitals"
    ),
    pytest.param(
        {**_py("001_a.py"), **_files("002_x_oracle_upgrade.sql", "002_mssql_downgrade.sql", "002_mariadb_upgrade.sql")},
        set(),
        id="other-engine-dialects",
    ),
    pytest.param({**_py("001_a.py"), **_files("001_a_sqlite_up.sql")}, {"ML303"}, id="operation-never-run"),
    pytest.param({**_py("001_a.py"), **_files("001_sqlite_.sql")}, {"ML303"}, id="empty-operation"),
    pytest.param(
        {**_py("001_a.py"), **_files("001_a_sqlite_Upgrade.sql")}, {"ML303"}, id="operation-in-capitals"
    ),
    pytest.param({**_py("001_a.py"), **_files("002_a.sql.sql")}, {"ML303"}, id="sql-twice-too-short"),
    pytest.param(
        {**_py("001_a.py"), **_files("002_a.sql_sqlite_upgrade.sql")}, set(), id="sql-inside-description"
    ),
    pytest.param(
        {**_py("001_a.py"), **_files("002_x_sqlite_upgrade.SQL")}, {"ML306"}, id="extension-in-capitals"
    ),
    pytest.param(_py("001_a.py", "002.py", "003-c.py", "004x.py"), set(), id="no-underscore-after-number"),
    pytest.param(_py("001_a.py", "\u0660\u0660\u0662_x.py"), set(), id="arabic-indic-digits"),
    pytest.param({**_py("001_a.py", "003_c.py"), **_files("002_notes.txt")}, {"ML306"}, id="stray-file"),
    pytest.param({**_py("001_a.py", "003_c.py"), "002_old": None}, {"ML306"}, id="stray-folder"),
    pytest.param({**_py("001_a.py", "003_c.py"), **_files("002_b.pyc")}, {"ML306"}, id="orphan-pyc"),
    pytest.param(
        {**_py("001_a.py", "003_c.py"), **_files("002_b.py.orig")}, {"ML306"}, id="backup-file"
    ),
    pytest.param(_py("7_x.py", "001_a.py", "002_b.py"), {"ML307"}, id="one-digit-name"),
    pytest.param(
        {**_py("001_a.py"), **_files("12_x_sqlite_upgrade.sql")}, {"ML307"}, id="two-digit-sql-name"
    ),
    pytest.param(
        {**_py("001_a.py"), "__init__.py": "", "README": "docs\n", "__pycache__": None},
        set(),
        id="helper-files",
    ),
    pytest.param({**_py("001_a.py"), "1": None}, {"ML308"}, id="old-format"),
    pytest.param(
        {**_py("001_a.py"), **_py("002_b.py", text=DOWNGRADE)}, {"ML311"}, id="missing-upgrade"
    ),
    pytest.param(
        {**_py("001_a.py"), **_py("002_b.py", text=DOWNGRADE), **_files("002_b_sqlite_upgrade.sql")},
        {"ML311"},
        id="missing-upgrade-other-dialects-run-it",
    ),
    pytest.param(
        {**_py("001_a.py"), **_py("002_b.py", text=DOWNGRADE), **_files("002_b_default_upgrade.sql")},
        set(),
        id="missing-upgrade-default-sql-runs-instead",
    ),
]


@pytest.mark.parametrize(("entries", "codes"), PINNED)
def test_pinned_agrees_with_migrate(probe, tmp_path, capsys, entries, codes):
    root = write_repo(tmp_path / "repo", entries)
    answer = probe(root)
    must, _ = expected_codes(answer, entries)
    assert must == codes, answer
    rc, report = lint(root, capsys)
    assert_agrees(answer, entries, rc, report)


CONFIGS = [
    pytest.param(CFG.format(repository_id="nova", version_table="migrate_version"), set(), id="complete"),
    pytest.param(
        "# nova\n[db_settings]\nrepository_id =  nova \n; the table\nversion_table=nova_version\n"
        "required_dbs = ['sqlite']\nuse_timestamp_numbering = False\n",
        set(),
        id="comments-and-spaces",
    ),
    pytest.param("[other]\nrepository_id = nova\n", {"ML312"}, id="no-db-settings-section"),
    pytest.param(
        "[db_settings]\nrepository_id = nova\n",
        {"ML312"},
        id="no-version-table",
    ),
    pytest.param(
        "[db_settings]\nversion_table = migrate_version\n",
        {"ML312"},
        id="no-repository-id",
    ),
]


@pytest.mark.parametrize(("cfg", "codes"), CONFIGS)
def test_config_agrees_with_migrate(probe, tmp_path, capsys, cfg, codes):
    entries = _py("001_a.py", "002_b.py")
    root = write_repo(tmp_path / "repo", entries, cfg=cfg)
    answer = probe(root)
    must, _ = expected_codes(answer, entries)
    assert must == codes, answer
    rc, report = lint(root, capsys)
    assert_agrees(answer, entries, rc, report)


# ---------------------------------------------------------------- random repositories

DESCRIPTIONS = st.sampled_from(["init", "add_users", "drop_col", "havana", "x"])
DIALECTS = st.sampled_from(["sqlite", "postgresql", "mysql", "default"])
OPS = st.sampled_from(["upgrade", "downgrade"])
SCRIPT_TEXT = st.sampled_from([UPGRADE, UPGRADE + DOWNGRADE] * 3 + [DOWNGRADE])
NUMBERS = st.sampled_from([1, 216, 402]) | st.integers(0, 120)


def _name(number: int, wide: bool, rest: str) -> str:
    return f"{number:0{4 if wide else 3}d}_{rest}"


@st.composite
def _sql_names(draw, number: int) -> list[str]:
    names = []
    for dialect in draw(st.sets(DIALECTS, min_size=1, max_size=2)):
        for op in draw(st.sets(OPS, min_size=1)):
            desc = draw(st.none() | DESCRIPTIONS)
            tail = f"{dialect}_{op}.sql" if desc is None else f"{desc}_{dialect}_{op}.sql"
            names.append(_name(number, draw(st.booleans()), tail))
    return names


@st.composite
def _version(draw, number: int) -> Entries:
    shape = draw(st.sampled_from(["py", "py", "py", "py+sql", "sql"]))
    entries: Entries = {}
    if "py" in shape:
        wide = draw(st.sampled_from([False, False, False, True]))
        entries[_name(number, wide, f"{draw(DESCRIPTIONS)}.py")] = draw(SCRIPT_TEXT)
    if "sql" in shape:
        entries.update(_files(*draw(_sql_names(number))))
    return entries


def _n(number: int, rest: str) -> str:
    return _name(number, False, rest)


# odd entries migrate treats in some special way: kind -> (number, dialect, op) -> entries
EXTRAS: dict[str, Callable[[int, str, str], Entries]] = {
    "second_py": lambda n, d, o: {_n(n, "a.py"): UPGRADE, _name(n, True, "b.py"): UPGRADE},
    "duplicate_sql": lambda n, d, o: _files(_n(n, f"a_{d}_{o}.sql"), _n(n, f"b_{d}_{o}.sql")),
    "invalid_sql": lambda n, d, o: _files(_n(n, f"{o}.sql")),
    "bad_operation": lambda n, d, o: _files(_n(n, f"x_{d}_{o[:2]}.sql")),
    "unknown_dialect": lambda n, d, o: _files(_n(n, f"x_postgres_{o}.sql")),
    "engine_dialect": lambda n, d, o: _files(_n(n, f"x_{('oracle', 'mssql', 'mariadb')[n % 3]}_{o}.sql")),
    "stray_file": lambda n, d, o: _files(_n(n, "notes.txt")),
    "orphan_pyc": lambda n, d, o: _files(_n(n, "gone.pyc")),
    "stray_folder": lambda n, d, o: {_n(n, "old"): None},
    "ends_in_py": lambda n, d, o: {_n(n, "copy"): UPGRADE},
    "ends_in_sql": lambda n, d, o: _files(_n(n, "nosql")),
    "short_py": lambda n, d, o: {f"{n % 100}_x.py": UPGRADE},
    "short_sql": lambda n, d, o: _files(f"{n % 100}_x_{d}_{o}.sql"),
    "helpers": lambda n, d, o: {"__init__.py": "", "README": "docs\n", "__pycache__": None},
    "old_format": lambda n, d, o: {"1": None},
}


@st.composite
def migrate_versions(draw) -> Entries:
    """A versions/ folder: numbered scripts with gaps, plus a few odd entries."""
    number = draw(NUMBERS)
    entries: Entries = {}
    numbers = []
    for _ in range(draw(st.integers(0, 6))):
        numbers.append(number)
        entries.update(draw(_version(number)))
        number += draw(st.sampled_from([1, 1, 1, 1, 2, 4]))
    for kind in draw(st.lists(st.sampled_from(sorted(EXTRAS)), max_size=2)):
        where = draw(st.sampled_from(numbers) if numbers and draw(st.booleans()) else NUMBERS)
        entries.update(EXTRAS[kind](where, draw(DIALECTS), draw(OPS)))
    return entries


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(entries=migrate_versions(), repository_id=st.sampled_from(["nova", "glance", "keystone_expand"]))
def test_random_repositories_agree_with_migrate(probe, tmp_path_factory, capsys, entries, repository_id):
    root = write_repo(tmp_path_factory.mktemp("repo"), entries, repository_id)
    try:
        answer = probe(root)
        rc, report = lint(root, capsys)
        assert_agrees(answer, entries, rc, report)
    finally:
        shutil.rmtree(root)


def test_probe_serves_a_list_of_paths(tmp_path):
    """The probe's batch mode: one process, one JSON list, no script run."""
    trap = "raise SystemExit('a migration script ran')\n"
    first = write_repo(tmp_path / "a", {"001_a.py": trap, "003_b.py": trap})
    second = write_repo(tmp_path / "b", {"1": None})
    proc = subprocess.run(
        [legacy_python(), "-I", str(PROBE), str(first), str(second)],
        capture_output=True,
        text=True,
        check=True,
    )
    [loaded, refused] = json.loads(proc.stdout)
    assert {k: loaded[k] for k in ("ok", "versions", "latest", "missing", "python")} == {
        "ok": True,
        "versions": [1, 3],
        "latest": 3,
        "missing": [2],
        "python": {"1": "001_a.py", "3": "003_b.py"},
    }
    assert (refused["ok"], refused["error"]) == (False, "Exception")
