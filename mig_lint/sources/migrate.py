"""Read a sqlalchemy-migrate repository as migrate's own loader would, never importing it.

migrate (versioning/version.py) lists the versions folder, keeps the names matching
`^(\\d{3,})`, files a name ending in `py` as the Python script and one ending in `sql`
as a SQL script named `NNN[_desc]_<dialect>_<operation>.sql`; everything else of that
number is an empty version. A plain `1` in the folder means the old layout.
"""
from __future__ import annotations

import configparser
import json
import os
import re
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from mig_lint.model import MigrateConfig
from mig_lint.model import MigrateEntry
from mig_lint.model import Problem
from mig_lint.model import Revision
from mig_lint.model import Script
from mig_lint.model import Tree
from mig_lint.model import VersionsJson
from mig_lint.sources.cache import ScriptCache
from mig_lint.sources.collect import Collector
from mig_lint.sources.collect import Known
from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files
from mig_lint.sources.files import line_of
from mig_lint.sources.files import read_text
from mig_lint.sources.paths import display_join
from mig_lint.sources.paths import display_path
from mig_lint.sources.python import read_script

VERSION_NAME = re.compile(r"^(\d{3,})")
SHORT_NUMBER = re.compile(r"^\d{1,2}(?!\d)[^/]*\.(?:py|sql)$")
CONFIG_NAME = "migrate.cfg"
VERSIONS_JSON = "versions.json"


def read_migrate_tree(
    root: str,
    versions: str | None = None,
    roots: Sequence[str] = (),
    files: Files = DISK,
    cache: ScriptCache | None = None,
    known: Mapping[str, Known] | None = None,
) -> Tree:
    """Read a migrate repository: migrate.cfg, versions/ entries and their scripts."""
    versions = versions or os.path.join(root, "versions")
    try:
        names = sorted(files.listdir(versions))
    except OSError:  # pragma: no cover (an unreadable folder; root, which runs the tests, reads any)
        names = []
    entries = tuple(_entries(files, versions, names))
    json_path = os.path.join(versions, VERSIONS_JSON)
    return Tree(
        path=display_path(root),
        format="migrate",
        version_locations=(display_path(versions),),
        revisions=tuple(_revisions(entries)),
        entries=entries,
        short_numbered=tuple(
            display_path(os.path.join(versions, n)) for n in names if SHORT_NUMBER.match(n)
        ),
        migrate_config=read_migrate_config(os.path.join(root, CONFIG_NAME), files),
        versions_json=read_versions_json(json_path, files) if files.isfile(json_path) else None,
        old_format="1" in names,
        **_scripts(files, versions, entries, roots, cache, known),
    )


def _entries(files: Files, versions: str, names: Sequence[str]) -> Iterator[MigrateEntry]:
    for name in names:
        match = VERSION_NAME.match(name)
        if match is None:
            continue
        path = os.path.join(versions, name)
        digits = match.group(1)
        kind = _classify(name, files.isdir(path))
        yield MigrateEntry(name, display_join(versions, name), int(digits), digits, *kind)


def _classify(name: str, is_dir: bool) -> tuple[str, str | None, str | None]:
    """(kind, dialect, operation) with migrate's own tests, `endswith('py')` included."""
    if is_dir:
        return "dir", None, None
    if name.endswith("py"):
        return "py", None, None
    if not name.endswith("sql"):
        return "other", None, None
    if ".sql" not in name:
        return "sql", None, None
    parts = name.replace(".sql", "").split("_")
    if len(parts) < 3:
        return "sql", None, None
    if "ibm_db_sa" in name:
        if len(parts) != 6:
            return "sql", None, None
        return "sql", "_".join(parts[-4:-1]), parts[-1]
    return "sql", parts[-2], parts[-1]


def _scripts(
    files: Files,
    versions: str,
    entries: Sequence[MigrateEntry],
    roots: Sequence[str],
    cache: ScriptCache | None,
    known: Mapping[str, Known] | None,
) -> dict[str, Any]:
    """The `Tree` fields of the version scripts (a version's node comes from its number)."""

    def read(path: str, display: str) -> Script:
        return read_script(path, display, roots, functions_needed=True, files=files)

    collector = Collector(cache, "migrate", read, lambda script: None, known)
    collector.add_folder(versions, [entry.name for entry in entries if entry.kind == "py"], files)
    return collector.tree_fields()


def _revisions(entries: Sequence[MigrateEntry]) -> Iterator[Revision]:
    """One node per version number, each on top of the next lower existing version."""
    by_number: dict[int, list[MigrateEntry]] = {}
    for entry in entries:
        by_number.setdefault(entry.number, []).append(entry)
    previous: int | None = None
    for number in sorted(by_number):
        files = by_number[number]
        main = next((e for e in files if e.kind == "py"), files[0])
        down = () if previous is None else (str(previous),)
        yield Revision(id=str(number), path=main.path, line=1, down=down)
        previous = number


def read_migrate_config(path: str, files: Files = DISK) -> MigrateConfig:
    """`migrate.cfg`'s [db_settings], or the reason it cannot be used."""
    if not files.isfile(path):
        return MigrateConfig(problem="is missing")
    text = read_text(path, files)
    if isinstance(text, Problem):
        return MigrateConfig(problem=text.detail, line=text.line)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as e:
        return MigrateConfig(problem=f"cannot be parsed: {e.message}", line=getattr(e, "lineno", 1) or 1)
    if not parser.has_section("db_settings"):
        return MigrateConfig(problem="has no [db_settings] section")
    settings = parser["db_settings"]
    missing = [key for key in ("repository_id", "version_table") if not settings.get(key, "").strip()]
    timestamps = settings.get("use_timestamp_numbering", "False").strip().lower()
    return MigrateConfig(
        repository_id=settings.get("repository_id", "").strip() or None,
        version_table=settings.get("version_table", "").strip() or "migrate_version",
        use_timestamp_numbering=timestamps in ("true", "1", "yes", "on"),
        problem=f"has no {' and no '.join(missing)} in [db_settings]" if missing else None,
    )


def _key_line(text: str, key: str) -> int:
    return line_of(text, rf'"{re.escape(key)}"\s*:')


def read_versions_json(path: str, files: Files = DISK) -> VersionsJson:
    """`versions.json`: {"216": ["216_havana.py", ...]}, or why it cannot be used."""
    display = display_path(path)
    text = read_text(path, files)
    if isinstance(text, Problem):
        return VersionsJson(display, problem=text.detail, line=text.line)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return VersionsJson(display, problem=f"is not valid JSON: {e.msg}", line=e.lineno)
    if not isinstance(data, dict):
        return VersionsJson(display, problem="is not a JSON object of version -> file names")
    versions = []
    for key, files in data.items():
        if not (isinstance(key, str) and key.isdigit()):
            return VersionsJson(display, problem=f"has a key {key!r} that is not a version number")
        if not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
            return VersionsJson(display, problem=f"maps {key!r} to something other than a list of file names")
        versions.append((key, tuple(files), _key_line(text, key)))
    return VersionsJson(display, versions=tuple(versions))
