"""`mig-lint convert`: a migrate repository read, each version translated, the alembic tree planned."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import pathlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from libcst import ParserSyntaxError

from mig_lint.convert.analyze import Helpers
from mig_lint.convert.analyze import HELPERS_PACKAGE
from mig_lint.convert.analyze import translate
from mig_lint.convert.analyze import Translation
from mig_lint.convert.analyze import Unsupported
from mig_lint.convert.leftovers import find_leftovers
from mig_lint.convert.leftovers import Leftover
from mig_lint.convert.render import ALEMBIC_INI
from mig_lint.convert.render import CHANGESET_IMPORT
from mig_lint.convert.render import CHANGESET_MODULE
from mig_lint.convert.render import ENV_PY
from mig_lint.convert.render import render_helper
from mig_lint.convert.render import render_revision
from mig_lint.convert.render import RevisionSource
from mig_lint.convert.render import SCRIPT_MAKO
from mig_lint.convert.render import slug
from mig_lint.model import MigrateEntry
from mig_lint.model import SLOTS
from mig_lint.rules.migrate import by_number
from mig_lint.sources.files import read_text
from mig_lint.sources.migrate import read_migrate_config
from mig_lint.sources.migrate import read_migrate_tree
from mig_lint.sources.paths import display_path
from mig_lint.words import counted

_IGNORED_SQL = re.compile(r"^\s*(BEGIN|END|COMMIT).*;?$", re.IGNORECASE)


class ConvertError(Exception):
    """The repository cannot be converted as asked; the message says why (exit 2)."""


@dataclass(frozen=True, **SLOTS)
class VersionReport:
    """What became of one migrate version."""

    number: int
    revision: str
    file: str
    status: str  # translated, partial, sql-only, placeholder, failed, squashed
    sources: tuple[str, ...]
    script: str | None  # the Python script among the sources
    operations: int
    unsupported: tuple[Unsupported, ...]
    problem: str | None = None
    leftovers: tuple[Leftover, ...] = ()  # what the emitted revision still holds, at its lines
    proved: bool | None = None  # equal to migrate's schema on every database of `convert --verify`; None: not run


@dataclass(frozen=True, **SLOTS)
class HelperReport:
    """A module beside the repository's versions/, translated into the converted tree."""

    source: str
    file: str  # relative to the folder of env.py
    operations: int
    leftovers: tuple[Leftover, ...]
    problem: str | None  # why it could not be translated (it is then written as a module that raises)


@dataclass(frozen=True, **SLOTS)
class Conversion:
    """The files to write (path, text) and the report of every version."""

    repository: str
    out: str
    files: tuple[tuple[str, str], ...]
    versions: tuple[VersionReport, ...]
    versions_folder: str
    appended: bool  # written into an existing tree (--onto)
    verified_on: tuple[str, ...] = ()  # the databases of `convert --verify`
    helpers: tuple[HelperReport, ...] = ()

    @property
    def stamp_map(self) -> tuple[tuple[int, str], ...]:
        """Each migrate version and the revision it became."""
        return tuple((v.number, v.revision) for v in self.versions)


def split_sql(text: str) -> list[str]:
    """Statements as migrate runs them: comments stripped, sqlparse's split, BEGIN/END/COMMIT skipped."""
    import sqlparse

    formatted = sqlparse.format(text, strip_comments=True, strip_whitespace=True)
    return [s for s in (part.strip() for part in sqlparse.split(formatted)) if s and not _IGNORED_SQL.match(s)]


def changeset_layer() -> str:
    """The changeset layer's source, as written into a converted tree."""
    return pathlib.Path(__file__).with_name(CHANGESET_MODULE).read_text(encoding="utf-8")


def source_uses_changeset(text: str) -> bool:
    """A revision `render_revision` wrote that imports the changeset layer."""
    return CHANGESET_IMPORT.strip() in text


def revision_id(number: int, scheme: str) -> str:
    """The revision id of a migrate version: its number zero-padded to 4, or 12 random hex digits."""
    return secrets.token_hex(6) if scheme == "hex" else str(number).zfill(4)


def plan_conversion(
    repository: str, out: str, scheme: str = "number", scaffold: bool = True, onto: str | None = None
) -> Conversion:
    """Read and translate every version; nothing is written.

    With `onto`, `out` is an existing alembic tree and the converted chain follows its
    head `onto` in its versions folder (no scaffold is written).
    """
    if not os.path.isfile(os.path.join(repository, "migrate.cfg")):
        raise ConvertError(f"{display_path(repository)} is not a migrate repository (it has no migrate.cfg)")
    tree = read_migrate_tree(repository)
    grouped = by_number(tree)
    collisions = [n for n, entries in grouped.items() if sum(e.kind == "py" for e in entries) > 1]
    if collisions:
        raise ConvertError(f"versions {', '.join(map(str, sorted(collisions)))} have more than one Python script "
                           "(ML301): run `mig-lint renumber` first")
    dates = _first_commit_dates(os.path.join(repository, "versions"))
    version_table = read_migrate_config(os.path.join(repository, "migrate.cfg")).version_table
    helpers = _helpers(repository)
    files: list[tuple[str, str]] = []
    reports: list[VersionReport] = []
    versions, taken = (os.path.join(out, "versions"), set()) if onto is None else _existing_tree(out, onto)
    down: str | None = onto
    for number in sorted(grouped):
        entries = [e for e in grouped[number] if e.kind in ("py", "sql")]
        if not entries:
            continue
        revision = revision_id(number, scheme)
        if revision in taken:
            raise ConvertError(f"revision id {revision} is already used in {display_path(out)}: "
                               "use --revision-ids hex")
        source, report = _version(number, revision, down, entries, dates, version_table, helpers)
        path = os.path.join(versions, report.file)
        text = render_revision(source)
        files.append((path, text))
        reports.append(_counted(report, text))
        down = revision
    helper_reports = []
    for name in sorted(helpers.modules):
        helper_file, helper_text, helper_report = _helper(repository, name, version_table, helpers)
        files.append((os.path.join(os.path.dirname(versions), helper_file), helper_text))
        helper_reports.append(helper_report)
    if helper_reports:
        files.append((os.path.join(os.path.dirname(versions), HELPERS_PACKAGE, "__init__.py"),
                      f'"""The helper modules of migrate repository {display_path(repository)}, translated."""\n'))
    if any(source_uses_changeset(text) for _path, text in files):
        files.append((os.path.join(os.path.dirname(versions), CHANGESET_MODULE), changeset_layer()))
    if scaffold and onto is None:
        files[:0] = [(os.path.join(out, "alembic.ini"), ALEMBIC_INI), (os.path.join(out, "env.py"), ENV_PY),
                     (os.path.join(out, "script.py.mako"), SCRIPT_MAKO)]
    files.append((os.path.join(out, "migrate-stamp-map.json"),
                  json.dumps({str(r.number): r.revision for r in reports}, indent=2) + "\n"))
    return Conversion(display_path(repository), display_path(out), tuple(files), tuple(reports),
                      display_path(versions), onto is not None, helpers=tuple(helper_reports))


def _helpers(repository: str) -> Helpers:
    """The modules beside versions/ (`schema.py`, utilities) that scripts may import; not manage.py."""
    names = {entry[:-3] for entry in os.listdir(repository)
             if entry.endswith(".py") and entry not in ("__init__.py", "manage.py")
             and os.path.isfile(os.path.join(repository, entry))}
    return Helpers(os.path.basename(os.path.abspath(repository)), frozenset(names))


def _helper(repository: str, name: str, version_table: str, helpers: Helpers) -> tuple[str, str, HelperReport]:
    """A helper module translated by the rules of the scripts (the file, its text, its report line)."""
    path = os.path.join(repository, f"{name}.py")
    file = os.path.join(HELPERS_PACKAGE, f"{name}.py")
    text = read_text(path)
    problem = None if isinstance(text, str) else f"{display_path(path)} {text.detail}"
    translation = None
    if isinstance(text, str):
        try:
            translation = translate(text, version_table, helpers)
        except ParserSyntaxError as e:
            problem = f"{display_path(path)}:{e.raw_line}: cannot be parsed: {e.message}"
    rendered = render_helper(display_path(path), translation, problem)
    leftovers = find_leftovers(rendered) if translation is not None else ()
    operations = len(translation.operations) if translation is not None else 0
    return file, rendered, HelperReport(display_path(path), file, operations, leftovers, problem)


def _existing_tree(out: str, onto: str) -> tuple[str, set[str]]:
    """The versions folder of the alembic tree at `out`, and its revision ids; `onto` must be its head."""
    from mig_lint.discover import discover
    from mig_lint.graph import build_graph
    from mig_lint.sources import read_tree

    specs = [spec for spec in discover([out], ()) if spec.format == "alembic"]
    if len(specs) != 1:
        raise ConvertError(f"--onto needs --out to be one alembic tree; {display_path(out)} holds {len(specs)}")
    graph = build_graph(read_tree(specs[0], ()))
    if onto not in graph.revisions:
        raise ConvertError(f"--onto {onto}: no such revision in {graph.tree.path}")
    if onto not in graph.heads:
        raise ConvertError(f"--onto {onto} is not a head of {graph.tree.path} (heads: {', '.join(graph.heads)}): "
                           "the converted chain would fork the history")
    return specs[0].version_locations[0], set(graph.revisions)


def _version(
    number: int, revision: str, down: str | None, entries: Sequence[MigrateEntry], dates: dict[str, str],
    version_table: str, helpers: Helpers,
) -> tuple[RevisionSource, VersionReport]:
    script = next((e for e in entries if e.kind == "py"), None)
    sql = {}
    for entry in entries:
        if entry.kind == "sql" and entry.dialect and entry.operation in ("upgrade", "downgrade"):
            text = read_text(entry.path)
            sql[(entry.dialect, entry.operation)] = split_sql(text) if isinstance(text, str) else []
    translation: Translation | None = None
    problem = None
    if script is not None:
        text = read_text(script.path)
        if not isinstance(text, str):
            problem = f"{script.path} {text.detail}"
        else:
            try:
                translation = translate(text, version_table, helpers)
            except ParserSyntaxError as e:
                problem = f"{script.path}:{e.raw_line}: cannot be parsed: {e.message}"
            if translation is not None and translation.upgrade is None:
                problem = f"{script.path} defines no upgrade(migrate_engine): migrate cannot run it either"
    named = script or entries[0]
    words = slug(named.name, named.dialect)
    message = (words or f"version {number}").replace("_", " ")
    file = f"{str(number).zfill(4)}_{'' if revision == str(number).zfill(4) else revision + '_'}{words or 'version'}.py"
    sources = tuple(e.path for e in entries)
    status = _status(translation, problem, sql)
    shown = script.path if script else None
    source = RevisionSource(number, revision, down, message, sources, shown, translation, problem, sql,
                            dates.get(os.path.basename(named.path)))
    report = VersionReport(number, revision, file, status, sources, shown,
                           len(translation.operations) if translation else 0,
                           translation.unsupported if translation else (), problem)
    return source, report


def _counted(report: VersionReport, text: str) -> VersionReport:
    """A translated version with migrate or SQLAlchemy-1.x code left in `text`, its emitted revision, is partial."""
    if report.status not in ("translated", "partial"):
        return report
    leftovers = find_leftovers(text)
    return dataclasses.replace(report, leftovers=leftovers, status="partial" if leftovers else report.status)


def _status(translation: Translation | None, problem: str | None, sql: dict[tuple[str, str], list[str]]) -> str:
    if problem is not None:
        return "failed"
    if translation is None:
        return "sql-only"
    if translation.unsupported:
        return "partial"
    if translation.placeholder and not sql:
        return "placeholder"
    return "translated"


def _first_commit_dates(folder: str) -> dict[str, str]:
    """Each file's first commit date (`git log`), by name; {} outside a git work tree."""
    from mig_lint.sources.git import GitError
    from mig_lint.sources.git import run_git

    try:
        log = run_git(folder, "log", "--diff-filter=A", "--format=%x00%ai", "--name-only", "--", ".")
    except GitError:
        return {}
    dates: dict[str, str] = {}
    date = ""
    for line in log.decode("utf-8", "surrogateescape").splitlines():
        if line.startswith("\0"):
            date = line[1:]
        elif line.strip():
            dates[os.path.basename(line.strip())] = date  # oldest commit last: it wins
    return dates


def write_conversion(conversion: Conversion, force: bool) -> None:
    """Write every file atomically; refuse to replace an existing one without `force`."""
    from mig_lint.atomic import write_atomically

    planned = {os.path.abspath(path) for path, _text in conversion.files}
    versions = conversion.versions_folder
    others = sorted(n for n in (os.listdir(versions) if os.path.isdir(versions) else [])
                    if n.endswith(".py") and os.path.abspath(os.path.join(versions, n)) not in planned)
    if others and not conversion.appended:
        raise ConvertError(f"{display_path(versions)} holds revisions this conversion does not write "
                           f"({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}): they would join the "
                           "converted chain; remove them or choose another --out")
    existing = [path for path, _text in conversion.files if os.path.exists(path)]
    if existing and not force:
        raise ConvertError(f"{display_path(existing[0])} exists ({counted(len(existing), 'file')} would be replaced): "
                           "use --force to replace them, or another --out")
    for path, text in conversion.files:
        write_atomically(path, text.encode("utf-8"), make_folder=True)
    run_post_write_hooks(conversion)


def run_post_write_hooks(conversion: Conversion) -> None:
    """The tree's post-write hooks (black, ruff... in its alembic.ini), run on each new revision as alembic would."""
    ini = os.path.join(conversion.out, "alembic.ini")
    if not os.path.isfile(ini):
        return
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.script import write_hooks
    from alembic.util import CommandError

    try:
        script = ScriptDirectory.from_config(Config(ini))
        hooks: Any = getattr(script, "hooks", None) or getattr(script, "hook_config", None)  # alembic >=1.16 / older
        with contextlib.redirect_stdout(io.StringIO()):  # alembic says "Running post write hook" for each
            for path, _text in conversion.files if hooks else ():
                if os.path.dirname(os.path.abspath(path)) == os.path.abspath(conversion.versions_folder):
                    write_hooks._run_hooks(path, hooks)
    except CommandError as e:
        raise ConvertError(f"{display_path(ini)}: a post-write hook failed on the new revisions: {e}") from None


def handoff_block(conversion: Conversion) -> str:
    """The configuration that tells `check` the migrate chain continues in the alembic tree."""
    last_number, last_revision = conversion.stamp_map[-1]
    return (f'[[tool.mig-lint.handoff]]\nmigrate = "{conversion.repository}"\n'
            f'alembic = "{conversion.out}"\nversion = {last_number}\nrevision = "{last_revision}"\n')
