"""Convert real sqlalchemy-migrate repositories and prove the untouched output with `mig-lint verify`.

    python benchmarks/convert_corpus.py [--only NAME] [--db sqlite|postgresql|mysql] [--keep DIR] [--each-version]

The repositories are taken from the history of nova, cinder and ironic, read from git
mirrors already on this machine (`--mirrors`, default /work/.mirror: `openstack+nova/repo`
...; nothing is fetched). Each is pinned to a commit in CORPUS and extracted with `git
archive`. Their project imports (nova.db.sqlalchemy.types, oslo_db, oslo_log...) are
served by the hand-written modules in benchmarks/corpus_standins/, put on PYTHONPATH of
both sides. For each repository: `mig-lint convert REPO --out OUT --format json` (its
counts), then on each database `mig-lint verify REPO OUT --format json` with migrate in
`--migrate-python` (proved N of M, the first divergence). The mig-lint under test is
`python -m mig_lint` with this interpreter and the caller's PYTHONPATH.

Prints a markdown table, the first divergences with their reasons, and what convert left
in the revisions (construct: reason, counted over the repositories). Exit 0 when every
version is proved on every database, 1 otherwise, 2 when a mirror, a commit or the migrate
interpreter is missing.

verify stops at the first divergence. `--each-version` (on SQLite, or PostgreSQL with
`--db postgresql`) instead judges every version on its own: migrate builds each version's
database (copied aside after every step: a file, or a PostgreSQL template database); for
version V, a copy of migrate's database at V-1 is stamped with V-1's revision,
`alembic upgrade` runs V's revision on it, and the result is compared with migrate's
database at V (with verify's own comparison). It lists every version that diverges, so a
defect hidden behind an earlier one shows too.
"""
from __future__ import annotations

import argparse
import collections
import configparser
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STANDINS = HERE / "corpus_standins"
ALEMBIC_ONLY_STANDINS = HERE / "corpus_standins_alembic"
MIRRORS = Path("/work/.mirror")
STATUSES = ("translated", "partial", "sql-only", "placeholder", "failed")
SERVERS = {"sqlite": None, "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
           "mysql": "mysql://root@127.0.0.1:3306/test"}
DATABASE_TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB"}
REASON_WIDTH = 240


@dataclass(frozen=True)
class Repository:
    """A migrate repository in a project's history: the mirror, the commit and the folder."""

    name: str
    mirror: str
    commit: str
    path: str
    versions: str
    last_version: int | None = None  # versions above it are left out of the extracted repository
    note: str = ""


CORPUS = (
    Repository("nova", "openstack+nova", "4701d28da39f2fe843f90ce02084132de9170c52",
               "nova/db/sqlalchemy/migrate_repo", "216-417",
               note="committed 2021-01-07, the last commit before 'Compact Icehouse database migrations'"),
    Repository("nova-api", "openstack+nova", "a172b75587f4ab185efb47a9a31f1e0e7c158932",
               "nova/db/sqlalchemy/api_migrations/migrate_repo", "1-82",
               note="committed 2021-02-10, the last commit before 'apidb: Compact Liberty database migrations'; "
                    "its versions are those of 2020-10 (78ad4a4efd)"),
    Repository("cinder", "openstack+cinder", "53cfde43b88b169c0cf6c908fd8e792e7ea78701",
               "cinder/db/sqlalchemy/migrate_repo", "1-45", last_version=45,
               note="committed 2016-04-29, the last commit before 'Compact Kilo database migrations', which "
                    "folded 001-045 into 046_cinder_init; versions 046-074 are left out"),
    Repository("ironic", "openstack+ironic", "5983ad8523fa6d686a77d985c863006cc0155f4d",
               "ironic/db/sqlalchemy/migrate_repo", "1-15",
               note="committed 2014-01-27, the last commit before ironic moved to alembic"),
)


@dataclass(frozen=True)
class Conversion:
    """What `convert --format json` said: versions by status, leftovers by construct, or why it refused."""

    counts: Mapping[str, int]
    leftovers: Mapping[str, int]
    seconds: float
    refused: str | None = None


@dataclass(frozen=True)
class Proof:
    """What `verify --format json` said on one database."""

    database: str
    matched: int
    planned: int
    failed_version: str | None
    reason: str | None
    seconds: float
    down: Proof | None = None  # with --downgrade: the walk back down, read the same way


@dataclass(frozen=True)
class Row:
    repository: Repository
    conversion: Conversion
    proofs: tuple[Proof, ...]


class CorpusError(Exception):
    pass


def mig_lint_command() -> list[str]:
    """The mig-lint under test: this interpreter's, as the caller's PYTHONPATH selects it."""
    return [sys.executable, "-m", "mig_lint"]


def child_environment(base: Mapping[str, str], folders: Sequence[Path]) -> dict[str, str]:
    """BASE with FOLDERS first on PYTHONPATH, then the caller's entries."""
    paths = [*map(str, folders), *[p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return {**base, "PYTHONPATH": os.pathsep.join(paths)}


def migrate_wrapper(workdir: Path, migrate_python: str, base: Mapping[str, str]) -> Path:
    """A script that runs MIGRATE_PYTHON with the stand-ins of both sides only (not those of alembic's side).

    mig-lint passes its own environment to both workers; migrate's interpreter must keep its real six.
    """
    pythonpath = child_environment(base, [STANDINS])["PYTHONPATH"]
    wrapper = workdir / "migrate-python"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(pythonpath)} exec {shlex.quote(migrate_python)} \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper


def extract(repository: Repository, mirrors: Path, into: Path) -> Path:
    """`git archive` the repository's folder at its commit into INTO/NAME; returns the repository folder."""
    git_dir = mirrors / repository.mirror / "repo"
    done = subprocess.run(["git", f"--git-dir={git_dir}", "archive", "--format=tar", repository.commit,
                           repository.path], capture_output=True)
    if done.returncode:
        raise CorpusError(f"{repository.name}: git archive {repository.commit} {repository.path} in {git_dir} "
                          f"failed: {done.stderr.decode(errors='replace').strip()}")
    root = into / repository.name
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(root, filter="data")
    folder = root / repository.path
    for script in versions_above(folder / "versions", repository.last_version):
        script.unlink()
    return folder


def versions_above(versions: Path, last: int | None) -> list[Path]:
    """The numbered scripts of VERSIONS whose number is above LAST (none when LAST is None)."""
    if last is None:
        return []
    return sorted(p for p in versions.iterdir() if p.name[:1].isdigit()
                  and int(p.name.split("_", 1)[0]) > last)


def convert(repository: Path, out: Path, env: Mapping[str, str]) -> Conversion:
    """Run `convert REPO --out OUT --format json` and count its versions by status and its leftovers."""
    started = time.perf_counter()
    done = subprocess.run([*mig_lint_command(), "convert", str(repository), "--out", str(out), "--format", "json"],
                          capture_output=True, text=True, env=env, cwd=out.parent)
    seconds = time.perf_counter() - started
    if done.returncode == 2:
        return Conversion({}, {}, seconds, refused=first_line(done.stderr))
    return conversion_counts(json.loads(done.stdout), seconds)


def conversion_counts(report: Mapping[str, Any], seconds: float) -> Conversion:
    """Versions by status and leftover constructs (`construct: reason`) of a convert JSON report."""
    counts = collections.Counter(v["status"] for v in report["versions"])
    leftovers = collections.Counter(f"{item['construct']}: {item['reason']}"
                                    for v in report["versions"] for item in v.get("leftovers", ()))
    leftovers.update(f"unsupported: {item['reason']}" for v in report["versions"] for item in v["unsupported"])
    return Conversion(dict(counts), dict(leftovers), seconds)


def verify(repository: Path, out: Path, database: str, migrate_python: str, env: Mapping[str, str],
           downgrade: bool = False) -> Proof:
    """Run `verify REPO OUT --format json` on DATABASE and read the matched count and first divergence."""
    url = SERVERS[database]
    argv = [*mig_lint_command(), "verify", str(repository), str(out), "--format", "json",
            "--migrate-python", migrate_python, *(["--url", url] if url else []),
            *(["--downgrade"] if downgrade else [])]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=out.parent)
    seconds = time.perf_counter() - started
    if done.returncode == 2 or not done.stdout.strip():
        return Proof(database, 0, 0, None, f"verify refused: {last_line(done.stderr)}", seconds)
    return proof_of(database, json.loads(done.stdout)["databases"][0], seconds)


def proof_of(database: str, result: Mapping[str, Any], seconds: float) -> Proof:
    """A Proof from one database's entry of a verify JSON report (its walk back down too, when there is one)."""
    reason = divergence(result["steps"][-1]) if result["failed_version"] is not None else None
    walked = result.get("downgrade")
    down = None
    if walked is not None:
        stopped = walked["steps"][-1] if walked["matched"] < walked["versions"] else None
        down = Proof(database, walked["matched"], walked["versions"], stopped and stopped["version"],
                     stopped and divergence(stopped), seconds)
    return Proof(database, result["matched"], result["versions"], result["failed_version"], reason, seconds, down)


def divergence(step: Mapping[str, Any]) -> str:
    """One line saying why a verify step did not match: a failed migrate or alembic step, a comparison, a difference."""
    for side, done in (("migrate", step["migrate"]), *(("alembic", d) for d in step["alembic"])):
        if done["timed_out"]:
            return f"{side} step {done['version']} timed out after {done['seconds']:.0f} s"
        if done["error"]:
            error = done["error"]
            where = error["where"] or ""
            where = where[where.find("versions/"):] if "versions/" in where else where
            message = shorten(f"{side}: {error['type']}: {first_line(error['message'])}")
            return message + (f" ({where})" if where else "")
    if step["comparison_error"]:
        return shorten(f"comparison failed: {step['comparison_error']}")
    changes = [change_line(c) for c in step["differences"]]
    more = f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""
    return shorten(f"schema differs: {changes[0]}{more}" if changes else "schema differs")


def change_line(change: Mapping[str, str]) -> str:
    """A difference as verify's text report writes it (`~ column t.c: detail`)."""
    sign = {"added": "+", "removed": "-", "altered": "~"}[change["action"]]
    return f"{sign} {change['kind']} {change['name']}" + (f": {change['detail']}" if change["detail"] else "")


def first_line(text: str) -> str:
    """The first line of TEXT, or the last of a traceback."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines and lines[0].startswith("Traceback") else (lines[0] if lines else "")


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def shorten(text: str) -> str:
    return text if len(text) <= REASON_WIDTH else text[:REASON_WIDTH - 3] + "..."


def cell(text: str) -> str:
    """TEXT made safe for a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def proof_cell(proof: Proof | None) -> str:
    if proof is None:
        return "-"
    if proof.planned == 0:
        return "not run"
    stop = f", stops at {proof.failed_version}" if proof.failed_version is not None else ""
    down = ""
    if proof.down is not None:
        down_stop = f", stops at {proof.down.failed_version}" if proof.down.failed_version is not None else ""
        down = f"; down {proof.down.matched}/{proof.down.planned}{down_stop}"
    return f"proved {proof.matched}/{proof.planned}{stop}{down}"


def render_table(rows: Sequence[Row], databases: Sequence[str]) -> str:
    """The markdown table: repository, commit, versions, convert's counts, proved N/M per database."""
    header = ["repository", "commit", "versions", "translated", "partial", "SQL only", "placeholder", "failed",
              "convert s", *(DATABASE_TITLES[d] for d in databases)]
    lines = ["| " + " | ".join(header) + " |", "|---|---|---|" + "---:|" * 6 + "---|" * len(databases)]
    for row in rows:
        by_database = {p.database: p for p in row.proofs}
        counts = row.conversion.counts
        converted = ([str(counts.get(s, 0)) for s in STATUSES] if row.conversion.refused is None
                     else [f"refused: {cell(row.conversion.refused)}", "", "", "", ""])
        lines.append("| " + " | ".join([
            row.repository.name, row.repository.commit[:10], row.repository.versions, *converted,
            f"{row.conversion.seconds:.1f}", *(proof_cell(by_database.get(d)) for d in databases)]) + " |")
    return "\n".join(lines) + "\n"


def render_divergences(rows: Sequence[Row]) -> str:
    """The first divergence of every repository on every database, with verify's time."""
    lines = ["| repository | database | version | first divergence | verify s |", "|---|---|---|---|---:|"]
    for row in rows:
        for proof in row.proofs:
            lines.append(f"| {row.repository.name} | {DATABASE_TITLES[proof.database]} | "
                         f"{proof.failed_version or '-'} | {cell(proof.reason or 'none: every version proved')} | "
                         f"{proof.seconds:.1f} |")
            if proof.down is not None and proof.down.reason:
                lines.append(f"| {row.repository.name} | {DATABASE_TITLES[proof.database]}, down | "
                             f"{proof.down.failed_version} | {cell(proof.down.reason)} | |")
    return "\n".join(lines) + "\n"


def render_leftovers(rows: Sequence[Row]) -> str:
    """What convert left in the revisions, counted over all repositories, most common first."""
    total: collections.Counter[str] = collections.Counter()
    for row in rows:
        total.update(row.conversion.leftovers)
    return "".join(f"  {count:4d}  {what}\n" for what, count in total.most_common())


def all_proved(rows: Iterable[Row]) -> bool:
    return all(p.planned and p.matched == p.planned and (p.down is None or p.down.reason is None)
               for row in rows for p in row.proofs)


MIGRATE_STEPS = """
import json, shutil, sys, traceback
import sqlalchemy as sa
from migrate.versioning import api
from migrate.versioning.repository import Repository
folder, server, place = sys.argv[1:4]
admin = sa.create_engine(server, isolation_level="AUTOCOMMIT") if server else None


def url(name):
    if admin is None:
        return "sqlite:///%s/%s.db" % (place, name)
    return str(sa.engine.make_url(server).set(database="%s_%s" % (place, name)))


def copy(source, target):
    if admin is None:
        shutil.copy("%s/%s.db" % (place, source), "%s/%s.db" % (place, target))
        return
    with admin.connect() as connection:
        connection.execute('CREATE DATABASE "%s_%s" TEMPLATE "%s_%s"' % (place, target, place, source))


versions = sorted(int(v) for v in Repository(folder).versions.versions)
api.version_control(url("migrate"), folder, version=versions[0] - 1)
copy("migrate", "m%d" % (versions[0] - 1))
for version in versions:
    try:
        api.upgrade(url("migrate"), folder, version)
    except Exception as e:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith(folder + "/versions/")]
        where = "%s:%d" % (frames[-1].filename, frames[-1].lineno) if frames else ""
        print(json.dumps({"version": version, "error": "%s: %s" % (type(e).__name__, e), "where": where}))
        break
    copy("migrate", "m%d" % version)
    print(json.dumps({"version": version, "error": None}), flush=True)
"""
ALEMBIC_STEP = """
import sys
from alembic import command
from alembic.config import Config
ini, url, before, revision = sys.argv[1:5]
config = Config(ini)
config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
if before != "-":
    command.stamp(config, before)
command.upgrade(config, revision)
"""
FRAME = re.compile(r'File "(?P<file>[^"]*)", line (?P<line>\d+)')
EACH_VERSION_SERVERS = {"sqlite": None, "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/test"}


@dataclass(frozen=True)
class Verdict:
    """One version judged on its own: None when the two databases are the same, else why not."""

    version: int
    reason: str | None


@dataclass(frozen=True)
class Scratch:
    """Where --each-version keeps its databases: SQLite files in PLACE, or databases PLACE_NAME on SERVER.

    A database is copied as a file, or as a PostgreSQL template (`CREATE DATABASE ... TEMPLATE`).
    """

    server: str | None
    place: str

    def url(self, name: str) -> str:
        import sqlalchemy as sa

        if self.server is None:
            return f"sqlite:///{self.place}/{name}.db"
        return sa.make_url(self.server).set(database=f"{self.place}_{name}").render_as_string(hide_password=False)

    def copy(self, source: str, target: str) -> None:
        """TARGET made anew as a copy of SOURCE."""
        if self.server is None:
            shutil.copy(f"{self.place}/{source}.db", f"{self.place}/{target}.db")
            return
        self._admin(f'DROP DATABASE IF EXISTS "{self.place}_{target}"',
                    f'CREATE DATABASE "{self.place}_{target}" TEMPLATE "{self.place}_{source}"')

    def create(self, name: str) -> None:
        if self.server is not None:
            self._admin(f'CREATE DATABASE "{self.place}_{name}"')

    def drop_all(self) -> None:
        """Drop the server's databases of this scratch (SQLite files go with their folder)."""
        if self.server is None:
            return
        import sqlalchemy as sa

        engine = sa.create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            names = connection.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                       {"p": f"{self.place}\\_%"}).scalars().all()
            for name in names:
                connection.execute(sa.text(f'DROP DATABASE "{name}"'))
        engine.dispose()

    def _admin(self, *statements: str) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self.server or "", isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
        engine.dispose()


def migrate_steps(folder: Path, scratch: Scratch, migrate_python: str) -> tuple[list[int], Verdict | None]:
    """Migrate's database after every version V (copied to `mV`), and its failure if any."""
    scratch.create("migrate")
    done = subprocess.run([migrate_python, "-c", MIGRATE_STEPS, str(folder), scratch.server or "", scratch.place],
                          capture_output=True, text=True)
    steps = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    built = [s["version"] for s in steps if not s["error"]]
    reached = [built[0] - 1, *built] if built else []
    failed = next((s for s in steps if s["error"]), None)
    if failed is None and done.returncode:
        return reached, Verdict(-1, f"migrate: {last_line(done.stderr)}")
    if failed is None:
        return reached, None
    where = failed["where"][failed["where"].find("versions/"):] if failed["where"] else ""
    return reached, Verdict(failed["version"], shorten(f"migrate: {first_line(failed['error'])}")
                            + (f" ({where})" if where else ""))


def alembic_failure(stderr: str, versions: Path) -> str:
    """The exception and the line of a revision in VERSIONS that raised it, from alembic's traceback."""
    frames = [(path, line) for path, line in FRAME.findall(stderr) if Path(path).parent == versions]
    where = f"versions/{Path(frames[-1][0]).name}:{frames[-1][1]}" if frames else ""
    return shorten(f"alembic: {exception_line(stderr)}") + (f" ({where})" if where else "")


def exception_line(stderr: str) -> str:
    """The first line of the exception a traceback ends with (SQLAlchemy's go on with the SQL), else the last line."""
    lines = stderr.splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    after = [line for line in lines[frames[-1] + 1:] if line[:1].strip()] if frames else []
    return after[0].strip() if after else last_line(stderr)


def judge_version(version: int, scratch: Scratch, stamp_map: Mapping[str, str], out: Path,
                  ignore: frozenset[str], env: Mapping[str, str]) -> Verdict:
    """Run V's revision on a copy of migrate's database at V-1, then compare it with migrate's at V."""
    scratch.copy(f"m{version - 1}", "alembic")
    before = stamp_map.get(str(version - 1), "-")
    done = subprocess.run([sys.executable, "-c", ALEMBIC_STEP, str(out / "alembic.ini"), scratch.url("alembic"),
                           before, stamp_map[str(version)]], capture_output=True, text=True, env=env, cwd=out.parent)
    if done.returncode:
        return Verdict(version, alembic_failure(done.stderr, out / "versions"))
    changes = differences(scratch.url(f"m{version}"), scratch.url("alembic"), ignore)
    more = f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""
    return Verdict(version, shorten(f"schema differs: {changes[0]}{more}") if changes else None)


def differences(migrate: str, alembic: str, ignore: frozenset[str]) -> list[str]:
    """verify's comparison of two databases: what turns migrate's schema into alembic's."""
    import sqlalchemy as sa

    from mig_lint.db.schema import compare
    from mig_lint.db.schema import take_snapshot

    engines = [sa.create_engine(url) for url in (migrate, alembic)]
    try:
        with engines[0].connect() as connection:
            before = take_snapshot(connection, None, ignore)
        with engines[1].connect() as connection:
            return [str(change) for change in compare(connection, before, None, ignore)[0]]
    finally:
        for engine in engines:
            engine.dispose()


def version_table(folder: Path) -> str:
    parser = configparser.ConfigParser()
    parser.read(folder / "migrate.cfg")
    return parser.get("db_settings", "version_table", fallback="migrate_version")


def each_version(folder: Path, out: Path, migrate_python: str, env: Mapping[str, str],
                 server: str | None = None) -> list[Verdict]:
    """Every version of the repository judged on its own on SQLite, or on the PostgreSQL SERVER (see the docstring)."""
    if server is None:
        workdir = out.parent / f"{out.name}-each-version"
        workdir.mkdir()
        scratch = Scratch(None, str(workdir))
    else:
        scratch = Scratch(server, f"corpus_{os.getpid()}_{time.time_ns() % 10**8}")
    try:
        reached, failure = migrate_steps(folder, scratch, migrate_python)
        stamp_map = json.loads((out / "migrate-stamp-map.json").read_text())
        ignore = frozenset({"alembic_version", version_table(folder)})
        verdicts = [judge_version(v, scratch, stamp_map, out, ignore, env) for v in reached[1:]]
    finally:
        scratch.drop_all()
    return verdicts + ([failure] if failure else [])


def render_each_version(name: str, database: str, verdicts: Sequence[Verdict]) -> str:
    """The versions that diverge when judged on their own, and how many were judged."""
    wrong = [v for v in verdicts if v.reason]
    judged = [v for v in verdicts if not (v.reason or "").startswith("migrate: ")]  # migrate ran them
    lines = [f"{name}: {len(verdicts) - len(wrong)} of {len(judged)} versions judged on their own match "
             f"on {DATABASE_TITLES[database]}"]
    lines.extend(f"  {v.version if v.version >= 0 else '?'}: {v.reason}" for v in wrong)
    return "\n".join(lines) + "\n"


def reason_classes(verdicts: Iterable[Verdict]) -> list[tuple[str, int]]:
    """The reasons of diverging versions by class (the side and exception, or the kind of difference)."""
    classes: collections.Counter[str] = collections.Counter()
    for verdict in verdicts:
        if verdict.reason:
            classes[reason_class(verdict.reason)] += 1
    return classes.most_common()


def reason_class(reason: str) -> str:
    """A reason without its place: the side and error, or the kind of difference (`~ column: nullable`)."""
    reason = re.sub(r" \((and \d+ more|versions/[^)]*)\)$", "", reason)
    if not reason.startswith("schema differs: "):
        return reason
    sign, kind, *rest = reason.removeprefix("schema differs: ").split(" ", 2)
    detail = rest[0].partition(": ")[2].split(" ")[0] if rest and sign == "~" else ""
    return f"schema differs: {sign} {kind}" + (f": {detail}" if detail else "")


def selected(names: Sequence[str] | None) -> tuple[Repository, ...]:
    """The repositories of CORPUS named by --only (all without it); an unknown name is refused."""
    if not names:
        return CORPUS
    known = {r.name: r for r in CORPUS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CorpusError(f"unknown repository {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(known[n] for n in names)


def default_migrate_python() -> str | None:
    found = os.environ.get("MIG_LINT_LEGACY_PYTHON")
    beside = Path(sys.executable).parent.parent.parent / ".venv-legacy" / "py311" / "bin" / "python"
    return found or (str(beside) if beside.exists() else None)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"a repository to run (repeatable): {', '.join(r.name for r in CORPUS)}")
    parser.add_argument("--db", action="append", choices=list(SERVERS), help="a database (repeatable; default all)")
    parser.add_argument("--keep", type=lambda p: Path(p).resolve(), metavar="DIR",
                        help="extract and convert into DIR and keep it")
    parser.add_argument("--downgrade", action="store_true",
                        help="verify --downgrade: then walk back down (a mig-lint with verify --downgrade)")
    parser.add_argument("--each-version", action="store_true",
                        help="judge every version on its own instead of running verify (sqlite, postgresql; "
                             "default sqlite)")
    parser.add_argument("--mirrors", type=Path, default=MIRRORS, help=f"the git mirrors [default: {MIRRORS}]")
    parser.add_argument("--migrate-python", default=default_migrate_python(),
                        help="the interpreter with sqlalchemy-migrate "
                             "[default: $MIG_LINT_LEGACY_PYTHON, else .venv-legacy/py311 beside the venv]")
    return parser.parse_args(argv)


def run(repositories: Sequence[Repository], databases: Sequence[str], workdir: Path, mirrors: Path,
        migrate_python: str, judged: dict[tuple[str, str], list[Verdict]] | None = None,
        downgrade: bool = False) -> list[Row]:
    """Extract, convert and verify each repository; with JUDGED, judge each version on its own into it instead."""
    env = child_environment(os.environ, [STANDINS, ALEMBIC_ONLY_STANDINS])
    migrate_python = str(migrate_wrapper(workdir, migrate_python, os.environ))
    rows = []
    for repository in repositories:
        folder = extract(repository, mirrors, workdir)
        out = workdir / f"{repository.name}-alembic"
        conversion = convert(folder, out, env)
        print(f"{repository.name}: converted in {conversion.seconds:.1f} s {dict(conversion.counts)}",
              file=sys.stderr, flush=True)
        proofs = []
        if conversion.refused is None and judged is not None:
            for database in databases:
                started = time.perf_counter()
                judged[repository.name, database] = each_version(folder, out, migrate_python, env,
                                                                  EACH_VERSION_SERVERS[database])
                print(f"{repository.name}: each version judged on {database} in "
                      f"{time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        elif conversion.refused is None:
            for database in databases:
                proof = verify(folder, out, database, migrate_python, env, downgrade)
                print(f"{repository.name} on {database}: {proof_cell(proof)} in {proof.seconds:.1f} s"
                      + (f": {proof.reason}" if proof.reason else ""), file=sys.stderr, flush=True)
                proofs.append(proof)
        rows.append(Row(repository, conversion, tuple(proofs)))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    databases = list(dict.fromkeys(arguments.db or (["sqlite"] if arguments.each_version else SERVERS)))
    if arguments.each_version and "mysql" in databases:
        print("--each-version runs on sqlite and postgresql (MariaDB has no template databases to copy)",
              file=sys.stderr)
        return 2
    if not arguments.migrate_python:
        print("no interpreter with sqlalchemy-migrate: give --migrate-python or set MIG_LINT_LEGACY_PYTHON",
              file=sys.stderr)
        return 2
    judged: dict[tuple[str, str], list[Verdict]] | None = {} if arguments.each_version else None
    try:
        repositories = selected(arguments.only)
        if arguments.keep:
            shutil.rmtree(arguments.keep, ignore_errors=True)
            arguments.keep.mkdir(parents=True)
            rows = run(repositories, databases, arguments.keep, arguments.mirrors, arguments.migrate_python, judged,
                       arguments.downgrade)
        else:
            with tempfile.TemporaryDirectory(prefix="convert-corpus-") as workdir:
                rows = run(repositories, databases, Path(workdir), arguments.mirrors, arguments.migrate_python,
                           judged, arguments.downgrade)
    except CorpusError as e:
        print(e, file=sys.stderr)
        return 2
    if judged is not None:
        return report_each_version(rows, judged)
    print(render_table(rows, databases))
    print(render_divergences(rows))
    print("Left in the revisions by convert (construct: reason):")
    print(render_leftovers(rows))
    for repository in repositories:
        print(f"{repository.name}: {repository.commit} {repository.path} ({repository.note})")
    return 0 if all_proved(rows) else 1


def report_each_version(rows: Sequence[Row], judged: Mapping[tuple[str, str], list[Verdict]]) -> int:
    """Print the conversion table, every diverging version, and the reasons by class; exit 1 unless all match."""
    print(render_table(rows, []))
    for (name, database), verdicts in judged.items():
        print(render_each_version(name, database, verdicts))
    for database in dict.fromkeys(d for _, d in judged):
        print(f"Reasons by class on {DATABASE_TITLES[database]} (versions judged on their own, all repositories):")
        for reason, count in reason_classes(v for (_, d), verdicts in judged.items() if d == database
                                            for v in verdicts):
            print(f"  {count:4d}  {reason}")
    return 0 if all(v.reason is None for verdicts in judged.values() for v in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
