"""Find migration trees under the given paths, the way alembic and migrate find them.

Alembic: `alembic.ini` ([alembic] script_location, version_locations split by
path_separator, recursive_version_locations == "true", `%(here)s`), `[tool.alembic]` in
pyproject.toml, or a folder with env.py and versions/. Migrate: a folder with
migrate.cfg and versions/. The format is decided by these markers and, where a folder
carries both, by the content of its versions folder, never by file names.
"""
from __future__ import annotations

import configparser
import fnmatch
import os
import re
import sys
from collections.abc import Iterator
from collections.abc import Sequence

from mig_lint.model import Format
from mig_lint.model import TreeSpec
from mig_lint.sources.files import line_of
from mig_lint.sources.files import read_head
from mig_lint.sources.paths import display_path

if sys.version_info >= (3, 11):  # pragma: no cover (version dependent)
    import tomllib
else:  # pragma: no cover (version dependent)
    import tomli as tomllib

_SKIP_DIRS = frozenset(
    {"__pycache__", "node_modules", "site-packages", "venv", "build", "dist", "htmlcov"}
)
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}
_LEGACY_SPLIT = re.compile(r", *|(?: +)")
_DOWN_REVISION = re.compile(r"^down_revision\b", re.MULTILINE)


class DiscoveryError(Exception):
    """A path or an alembic configuration that cannot be used (exit 2)."""


def discover(paths: Sequence[str], exclude: Sequence[str] = ()) -> tuple[TreeSpec, ...]:
    """Every tree under `paths` (files, tree roots, versions folders or projects)."""
    found: dict[tuple[str, str], TreeSpec] = {}
    for path in paths:
        if not os.path.exists(path) and not os.path.islink(path):
            raise DiscoveryError(f"{path}: no such file or directory")
        for spec in _specs_for(path, exclude):
            found.setdefault((os.path.realpath(spec.root), spec.format), spec)
    return tuple(found.values())


def _specs_for(path: str, exclude: Sequence[str]) -> Iterator[TreeSpec]:
    if os.path.isfile(path):
        yield from _specs_for_file(path)
        return
    here = _tree_at(path)
    if here:
        yield from here
        return
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.basename(os.path.abspath(path)) == "versions" and _tree_at(parent):
        yield from _tree_at(parent)
        return
    walked = list(_walk(path, exclude))
    if walked:
        yield from walked
    elif _holds_scripts(path):
        yield _bare_versions_folder(path)


def _specs_for_file(path: str) -> Iterator[TreeSpec]:
    name = os.path.basename(path)
    if name == "pyproject.toml":
        spec = _from_pyproject(path)
        if spec is None:
            raise DiscoveryError(f"{path}: no [tool.alembic] script_location")
        yield spec
    elif name.endswith(".ini"):
        yield _from_ini(path)
    else:
        directory = os.path.dirname(os.path.abspath(path))
        for candidate in (directory, os.path.dirname(directory), os.path.dirname(os.path.dirname(directory))):
            specs = _tree_at(candidate)
            if specs:
                yield from specs
                return
        raise DiscoveryError(f"{path}: not inside a migration tree")


def _walk(top: str, exclude: Sequence[str]) -> Iterator[TreeSpec]:
    for directory, dirs, _files in os.walk(top):
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d not in _SKIP_DIRS and not _excluded(os.path.join(directory, d), exclude)
        )
        specs = _tree_at(directory)
        yield from specs
        if specs:
            covered = {os.path.realpath(v) for s in specs for v in s.version_locations}
            dirs[:] = [d for d in dirs if os.path.realpath(os.path.join(directory, d)) not in covered]


def _excluded(path: str, exclude: Sequence[str]) -> bool:
    names = (display_path(path), os.path.basename(path))
    return any(fnmatch.fnmatch(name, pattern) for name in names for pattern in exclude)


def _tree_at(directory: str) -> list[TreeSpec]:
    """The trees a folder declares through alembic.ini, pyproject.toml or its layout."""
    specs: list[TreeSpec] = []
    ini = os.path.join(directory, "alembic.ini")
    if os.path.isfile(ini):
        specs.append(_from_ini(ini))
    pyproject = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(pyproject):
        spec = _from_pyproject(pyproject)
        if spec is not None:
            specs.append(spec)
    declared = {os.path.realpath(s.root) for s in specs}
    versions = os.path.join(directory, "versions")
    if os.path.realpath(directory) in declared or not os.path.isdir(versions):
        return specs
    has_env = os.path.isfile(os.path.join(directory, "env.py"))
    has_cfg = os.path.isfile(os.path.join(directory, "migrate.cfg"))
    if has_cfg and has_env:
        fmt: Format = "alembic" if _has_alembic_scripts(versions) else "migrate"
        specs.append(TreeSpec(directory, fmt, (versions,)))
    elif has_cfg:
        specs.append(TreeSpec(directory, "migrate", (versions,)))
    elif has_env:
        specs.append(TreeSpec(directory, "alembic", (versions,)))
    return specs


def _holds_scripts(directory: str) -> bool:
    try:
        names = os.listdir(directory)
    except OSError:  # pragma: no cover (an unreadable folder; root, which runs the tests, reads any)
        return False
    return any(n.endswith((".py", ".sql")) and n[:3].isdigit() for n in names) or _has_alembic_scripts(directory)


def _bare_versions_folder(directory: str) -> TreeSpec:
    """A versions folder given directly, with no markers around it."""
    root = os.path.dirname(os.path.abspath(directory))
    fmt: Format = "alembic" if _has_alembic_scripts(directory) else "migrate"
    return TreeSpec(root if fmt == "migrate" else directory, fmt, (directory,))


def _has_alembic_scripts(directory: str) -> bool:
    try:
        names = sorted(os.listdir(directory))
    except OSError:  # pragma: no cover (an unreadable folder; root, which runs the tests, reads any)
        return False
    for name in names:
        if name.endswith(".py") and not name.startswith("__init__"):
            try:
                head = read_head(os.path.join(directory, name), 65536).decode("utf-8", "replace")
            except OSError:  # a FIFO, a device, an unreadable script: the next one decides
                continue
            return _DOWN_REVISION.search(head) is not None
    return False


def _from_ini(path: str) -> TreeSpec:
    here = os.path.dirname(os.path.abspath(path))
    parser = configparser.ConfigParser(defaults={"here": here})
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        parser.read_string(text, source=path)
        if not parser.has_option("alembic", "script_location"):
            raise DiscoveryError(f"{path}: no script_location in [alembic]")
        location = parser.get("alembic", "script_location")
        versions = parser.get("alembic", "version_locations", fallback=None)
        separator = parser.get("alembic", "path_separator", fallback=None) or parser.get(
            "alembic", "version_path_separator", fallback=None
        )
        recursive = parser.get("alembic", "recursive_version_locations", fallback=None) == "true"
    except (OSError, UnicodeDecodeError) as e:
        raise DiscoveryError(f"{path}: cannot be read: {e}") from None
    except configparser.Error as e:
        raise DiscoveryError(f"{path}:{getattr(e, 'lineno', 1) or 1}: invalid alembic.ini: {e.message}") from None
    root = _resolve_location(location, here, path, text, "script_location")
    if versions:
        locations = tuple(_resolve(v, here) for v in _split_locations(versions, separator, path, text))
    else:
        locations = (os.path.join(root, "versions"),)
    return TreeSpec(root, "alembic", locations, recursive)


def _split_locations(value: str, separator: str | None, path: str, text: str) -> list[str]:
    if separator is None:
        return [v for v in _LEGACY_SPLIT.split(value) if v]
    if separator not in _SEPARATORS:
        line = _line_of(text, "path_separator")
        raise DiscoveryError(
            f"{path}:{line}: path_separator {separator!r} is not one of space, newline, os, ':', ';'"
        )
    return [v.strip() for v in value.split(_SEPARATORS[separator]) if v.strip()]


def _from_pyproject(path: str) -> TreeSpec | None:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise DiscoveryError(f"{path}: cannot be read: {e}") from None
    table = data.get("tool", {}).get("alembic")
    if not isinstance(table, dict) or "script_location" not in table:
        return None
    here = os.path.dirname(os.path.abspath(path))
    root = _resolve_location(str(table["script_location"]) % {"here": here}, here, path, text, "script_location")
    versions = table.get("version_locations")
    recursive = table.get("recursive_version_locations", False)
    if not isinstance(recursive, bool):
        raise DiscoveryError(f"{path}: [tool.alembic] recursive_version_locations must be true or false")
    if versions:
        if not isinstance(versions, list):
            raise DiscoveryError(f"{path}: [tool.alembic] version_locations must be a list")
        locations = tuple(_resolve(str(v) % {"here": here}, here) for v in versions)
    else:
        locations = (os.path.join(root, "versions"),)
    return TreeSpec(root, "alembic", locations, recursive)


def _resolve(location: str, here: str) -> str:
    if ":" in location and not os.path.isabs(location) and not re.match(r"^[A-Za-z]:[\\/]", location):
        package, _, resource = location.partition(":")
        location = os.path.join(*package.split("."), resource)
    return os.path.normpath(os.path.join(here, location))


def _resolve_location(location: str, here: str, path: str, text: str, key: str) -> str:
    resolved = _resolve(location, here)
    if not os.path.isdir(resolved):
        raise DiscoveryError(f"{path}:{_line_of(text, key)}: {key} {location!r} is not a folder")
    return resolved


def _line_of(text: str, key: str) -> int:
    return line_of(text, rf"^[ \t]*{re.escape(key)}[ \t]*[=:]", re.MULTILINE)
