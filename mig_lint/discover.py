"""Find migration trees under the given paths, the way the projects' own alembic and migrate find them.

Alembic: every section of an `alembic.ini` with a `script_location` (`[alembic]`, and the
named sections `alembic --name` reads), `version_locations` split by `path_separator`,
`recursive_version_locations`, `%(here)s`; an ini with no `script_location` names its own
folder when that folder holds env.py and versions/ (Flask-Migrate gives the folder in
code); `[tool.alembic]` in pyproject.toml; a folder with env.py and versions/; or a tree
of mig-lint's `trees` configuration. A relative location is looked up from the ini's
folder, its parents up to the repository root, and the working directory (where alembic
looks); `package.module:folder` in the same folders and their `src/`. Migrate: a folder
with migrate.cfg and versions/. The format is decided by these markers and, where a
folder carries both, by the content of its versions folder, never by file names.

Subfolders of a versions folder that the configuration does not name (neutron's
`versions/<release>/expand/`, prefect's `versions/sqlite/`) are grouped by the graph:
those whose scripts join the history are read with it, disjoint histories under a
versions folder that holds none of its own become trees of their own, and the rest are
recorded as not read (ML111). Files found while walking that cannot be used are warnings;
a path given by the user that cannot be used is a DiscoveryError (exit 2).
"""
from __future__ import annotations

import configparser
import fnmatch
import glob
import os
import re
import sys
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

from mig_lint.config import TreeConfig
from mig_lint.model import DEFAULT_FILE_TEMPLATE
from mig_lint.model import Format
from mig_lint.model import TreeSpec
from mig_lint.sources.alembic import ALEMBIC_SCRIPT
from mig_lint.sources.files import line_of
from mig_lint.sources.files import read_head
from mig_lint.sources.headers import folder_links
from mig_lint.sources.paths import display_path

if sys.version_info >= (3, 11):  # pragma: no cover (version dependent)
    import tomllib
else:  # pragma: no cover (version dependent)
    import tomli as tomllib

_SKIP_DIRS = frozenset(
    {"__pycache__", "node_modules", "site-packages", "venv", "build", "dist", "htmlcov", "bower_components"}
)
_SCRIPT_FOLDERS = frozenset({"migrations", "migration", "versions", "revisions", "alembic"})
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}
_LEGACY_SPLIT = re.compile(r", *|(?: +)")
_DOWN_REVISION = re.compile(r"^down_revision\b", re.MULTILINE)


class DiscoveryError(Exception):
    """A path or an alembic configuration that cannot be used (exit 2)."""


@dataclass
class _Walk:
    """What one discovery run knows: the exclusions, the configured trees, and the warnings so far."""

    exclude: Sequence[str]
    warnings: list[str] = field(default_factory=list)

    def problem(self, message: str, strict: bool) -> None:
        if strict:
            raise DiscoveryError(message)
        self.warnings.append(message)


def discover(
    paths: Sequence[str],
    exclude: Sequence[str] = (),
    trees: Sequence[TreeConfig] = (),
    config_root: str = ".",
    warnings: list[str] | None = None,
) -> tuple[TreeSpec, ...]:
    """Every tree under `paths` (files, tree roots, versions folders or projects).

    `trees` (mig-lint's configuration, relative to `config_root`) replace what the
    folders declare at their roots. Problems with files found on the way (not given
    in `paths`) are appended to `warnings`.
    """
    configured = [_configured_spec(t, config_root) for t in trees]
    configured_roots = {os.path.realpath(s.root) for s in configured}
    named = {os.path.realpath(v) for s in configured for v in s.version_locations}
    walk = _Walk(exclude)
    found: dict[tuple[str, ...], TreeSpec] = {}
    walked: set[tuple[str, ...]] = set()
    templates: dict[str, str] = {}
    for path in paths:
        if not os.path.exists(path) and not os.path.islink(path):
            raise DiscoveryError(f"{path}: no such file or directory")
        for spec in configured:
            if _is_below(os.path.realpath(spec.root), os.path.realpath(path)):
                found.setdefault((os.path.realpath(spec.root), spec.format, *spec.version_locations), spec)
        for spec, by_walking in _specs_for(path, walk):
            key = (os.path.realpath(spec.root), spec.format)
            if key[0] in configured_roots:
                templates.setdefault(key[0], spec.file_template)
            elif key not in found:
                found[key] = spec
                if by_walking:
                    walked.add(key)
    for found_key, spec in found.items():  # a configured tree keeps the file_template its own ini gives it
        if found_key[0] in templates:
            found[found_key] = replace(spec, file_template=templates[found_key[0]])
    ignored = _git_ignored([spec.root for key, spec in found.items() if key in walked])
    if warnings is not None:
        warnings.extend(walk.warnings)
    return tuple(g for spec in found.values() if spec.root not in ignored for g in _group(spec, named))


def _is_below(path: str, top: str) -> bool:
    return path == top or path.startswith(os.path.join(top, ""))


def _configured_spec(tree: TreeConfig, root: str) -> TreeSpec:
    path = os.path.normpath(os.path.join(root, tree.path))
    locations = tuple(
        sorted({os.path.normpath(found) for pattern in tree.version_locations
                for found in glob.glob(os.path.join(path, pattern)) if os.path.isdir(found)})
    )
    return TreeSpec(path, "alembic", locations, tree.recursive, configured_by="mig-lint's `trees` configuration")


def _specs_for(path: str, walk: _Walk) -> Iterator[tuple[TreeSpec, bool]]:
    if os.path.isfile(path):
        yield from ((spec, False) for spec in _specs_for_file(path, walk))
        return
    here = _tree_at(path, walk, strict=True)
    yield from ((spec, False) for spec in here)
    parent = os.path.dirname(os.path.abspath(path))
    if not here and os.path.basename(os.path.abspath(path)) == "versions" and _tree_at(parent, walk):
        yield from ((spec, False) for spec in _tree_at(parent, walk))
        return
    walked = list(_walk(path, walk))
    yield from ((spec, True) for spec in walked)
    if not here and not walked and _holds_scripts(path):
        yield _bare_versions_folder(path), False


def _specs_for_file(path: str, walk: _Walk) -> Iterator[TreeSpec]:
    name = os.path.basename(path)
    if name == "pyproject.toml":
        spec = _from_pyproject(path, walk, strict=True)
        if spec is None:
            raise DiscoveryError(f"{path}: no [tool.alembic] script_location")
        yield spec
    elif name.endswith(".ini"):
        yield from _from_ini(path, walk, strict=True)
    else:
        directory = os.path.dirname(os.path.abspath(path))
        for candidate in (directory, os.path.dirname(directory), os.path.dirname(os.path.dirname(directory))):
            specs = _tree_at(candidate, walk)
            if specs:
                yield from specs
                return
        raise DiscoveryError(f"{path}: not inside a migration tree")


def _walk(top: str, walk: _Walk) -> Iterator[TreeSpec]:
    covered: set[str] = set()  # the version locations of the trees found so far, wherever they are
    for directory, dirs, _files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not _skipped(directory, d, walk.exclude))
        specs = _tree_at(directory, walk) or _scripts_without_markers(directory)
        yield from specs
        covered.update(os.path.abspath(v) for s in specs for v in s.version_locations)
        if covered:
            dirs[:] = [d for d in dirs if os.path.abspath(os.path.join(directory, d)) not in covered]


def _skipped(directory: str, name: str, exclude: Sequence[str]) -> bool:
    """Folders that are not the project: hidden ones (.git, .tox), virtualenvs, caches, templates."""
    if name.startswith(".") or name in _SKIP_DIRS or name.endswith(".egg-info") or "{{" in name or "{%" in name:
        return True
    path = os.path.join(directory, name)
    return os.path.isfile(os.path.join(path, "pyvenv.cfg")) or _excluded(path, exclude)


def _excluded(path: str, exclude: Sequence[str]) -> bool:
    shown = display_path(path)
    names = (shown, shown + "/", os.path.basename(path))
    return any(fnmatch.fnmatch(name, pattern) for name in names for pattern in exclude)


def _git_ignored(paths: Sequence[str]) -> set[str]:
    """The paths git ignores (none tracked); empty outside a repository or without git."""
    if not paths:
        return set()
    import subprocess  # imported here: most runs find nothing to ask git about

    try:
        done = subprocess.run(
            ["git", "check-ignore", "--stdin", "-z"], input="\0".join(os.path.abspath(p) for p in paths) + "\0",
            capture_output=True, text=True, check=False,
        )
    except OSError:  # pragma: no cover (git is installed wherever the tests run)
        return set()
    ignored = {p for p in done.stdout.split("\0") if p}
    return {p for p in paths if os.path.abspath(p) in ignored}


def _tree_at(directory: str, walk: _Walk, strict: bool = False) -> list[TreeSpec]:
    """The trees a folder declares through alembic.ini, pyproject.toml or its layout."""
    specs: list[TreeSpec] = []
    ini = os.path.join(directory, "alembic.ini")
    if os.path.isfile(ini):
        specs.extend(_from_ini(ini, walk, strict))
    pyproject = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(pyproject):
        spec = _from_pyproject(pyproject, walk, strict)
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
        specs.append(TreeSpec(directory, fmt, (versions,), configured_by="the env.py and versions/ layout"))
    elif has_cfg:
        specs.append(TreeSpec(directory, "migrate", (versions,)))
    elif has_env:
        specs.append(TreeSpec(directory, "alembic", (versions,), configured_by="the env.py and versions/ layout"))
    return specs


def _scripts_without_markers(directory: str) -> list[TreeSpec]:
    """A folder of revision scripts with no env.py or ini around it, which code hands to alembic
    as `script_location` and `version_locations` (CTFd's plugins); only folders named as
    such folders are (a header is read from one script of each)."""
    if os.path.basename(directory) not in _SCRIPT_FOLDERS or not _has_alembic_scripts(directory):
        return []
    return [TreeSpec(directory, "alembic", (directory,), unnamed=(directory,), configured_by="any configuration")]


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
    return TreeSpec(root if fmt == "migrate" else directory, fmt, (directory,), configured_by="the path given")


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


def _from_ini(path: str, walk: _Walk, strict: bool) -> list[TreeSpec]:
    """A tree per section with a `script_location`, else the ini's own folder (Flask-Migrate)."""
    here = os.path.dirname(os.path.abspath(path))
    parser = configparser.ConfigParser(defaults={"here": here})
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        parser.read_string(text, source=path)
        sections = [s for s in parser.sections() if parser.get(s, "script_location", fallback="").strip()]
        specs = [_ini_section(parser, section, path, text) for section in sections]
    except (OSError, UnicodeDecodeError) as e:
        walk.problem(f"{path}: cannot be read: {e}", strict)
        return []
    except configparser.Error as e:
        walk.problem(f"{path}:{getattr(e, 'lineno', 1) or 1}: invalid alembic.ini: {e.message.splitlines()[0]}", strict)
        return []
    except DiscoveryError as e:
        walk.problem(str(e), strict)
        return []
    if not specs and os.path.isfile(os.path.join(here, "env.py")) and os.path.isdir(os.path.join(here, "versions")):
        why = f"{display_path(path)} (no script_location: its own folder, as Flask-Migrate sets it in code)"
        return [TreeSpec(here, "alembic", (os.path.join(here, "versions"),), configured_by=why,
                         file_template=_ini_file_template(parser, "alembic"))]
    if not specs:
        walk.problem(f"{path}: no script_location in any section, and no env.py and versions/ beside it", strict)
    return specs


def _ini_section(parser: configparser.ConfigParser, section: str, path: str, text: str) -> TreeSpec:
    here = parser.defaults()["here"]
    location = parser.get(section, "script_location").strip()
    versions = parser.get(section, "version_locations", fallback=None)
    separator = parser.get(section, "path_separator", fallback=None) or parser.get(
        section, "version_path_separator", fallback=None
    )
    recursive = parser.get(section, "recursive_version_locations", fallback=None) == "true"
    root = _resolve_location(location, here, path, text, "script_location")
    if versions:
        locations = tuple(_resolve(v, here) for v in _split_locations(versions, separator, path, text))
    else:
        locations = (os.path.join(root, "versions"),)
    return TreeSpec(root, "alembic", locations, recursive, configured_by=f"{display_path(path)} [{section}]",
                    file_template=_ini_file_template(parser, section))


def _ini_file_template(parser: configparser.ConfigParser, section: str) -> str:
    """A section's `file_template` as alembic formats it (the ini's `%%` is one `%`), else alembic's default.

    A named section without one takes the `[alembic]` section's: projects such as
    dispatch keep the template there and choose the folders in code.
    """
    for name in (section, "alembic"):
        template = parser.get(name, "file_template", raw=True, fallback="").strip() if parser.has_section(name) else ""
        if template:
            return template.replace("%%", "%")
    return DEFAULT_FILE_TEMPLATE


def _split_locations(value: str, separator: str | None, path: str, text: str) -> list[str]:
    if separator is None:
        return [v for v in _LEGACY_SPLIT.split(value) if v]
    if separator not in _SEPARATORS:
        line = _line_of(text, "path_separator")
        raise DiscoveryError(
            f"{path}:{line}: path_separator {separator!r} is not one of space, newline, os, ':', ';'"
        )
    return [v.strip() for v in value.split(_SEPARATORS[separator]) if v.strip()]


def _from_pyproject(path: str, walk: _Walk, strict: bool) -> TreeSpec | None:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        walk.problem(f"{path}: cannot be read: {e}", strict)
        return None
    table = data.get("tool", {}).get("alembic")
    if not isinstance(table, dict) or "script_location" not in table:
        return None
    here = os.path.dirname(os.path.abspath(path))
    try:
        return _pyproject_spec(table, here, path, text)
    except DiscoveryError as e:
        walk.problem(str(e), strict)
        return None


def _pyproject_spec(table: dict[str, object], here: str, path: str, text: str) -> TreeSpec:
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
    template = table.get("file_template")
    return TreeSpec(root, "alembic", locations, recursive, configured_by=f"{display_path(path)} [tool.alembic]",
                    file_template=template.replace("%%", "%") if isinstance(template, str) and template.strip()
                    else DEFAULT_FILE_TEMPLATE)


def _resolve(location: str, here: str) -> str:
    """The folder a location names, looked up where the project's alembic would find it.

    Relative: the ini's folder, its parents up to the repository root, then the working
    directory (alembic's own base). `package.module:folder`: the same folders and their
    `src/`. The first that exists wins; else the path from the ini's folder.
    """
    package_form = ":" in location and not os.path.isabs(location) and not re.match(r"^[A-Za-z]:[\\/]", location)
    if package_form:
        package, *resource = location.split(":")  # alembic: a package, then a path part per colon
        relative = os.path.join(*package.split("."), *resource)
    elif os.path.isabs(location):
        return os.path.normpath(location)
    else:
        relative = location
    for base in _search_bases(here, package_form):
        candidate = os.path.normpath(os.path.join(base, relative))
        if os.path.isdir(candidate):
            return candidate
    return os.path.normpath(os.path.join(here, relative))


def _search_bases(here: str, with_src: bool) -> Iterator[str]:
    directory = here
    while True:
        yield directory
        if with_src:
            yield os.path.join(directory, "src")
        parent = os.path.dirname(directory)
        if parent == directory or os.path.exists(os.path.join(directory, ".git")):
            break
        directory = parent
    yield os.getcwd()
    if with_src:
        yield os.path.join(os.getcwd(), "src")


def _resolve_location(location: str, here: str, path: str, text: str, key: str) -> str:
    resolved = _resolve(location, here)
    if not os.path.isdir(resolved):
        raise DiscoveryError(f"{path}:{_line_of(text, key)}: {key} {location!r} is not a folder")
    return resolved


def _line_of(text: str, key: str) -> int:
    return line_of(text, rf"^[ \t]*{re.escape(key)}[ \t]*[=:]", re.MULTILINE)


def _group(spec: TreeSpec, named_elsewhere: set[str]) -> list[TreeSpec]:
    """The spec with the unnamed subfolders that join its history, or disjoint histories as trees.

    A tree whose subfolders other configured trees name, and that holds no script of
    its own, is left out.
    """
    if spec.format != "alembic" or spec.recursive:
        return [spec]
    own = {os.path.realpath(v) for v in spec.version_locations}
    below = [d for v in spec.version_locations for d in _script_folders_below(v) if os.path.realpath(d) not in own]
    folders = [d for d in below if os.path.realpath(d) not in named_elsewhere]
    if not below:
        return [spec]
    main_ids, main_refs, _ = folder_links(spec.version_locations)
    if not folders:
        return [spec] if main_ids else []
    links = {folder: folder_links([folder]) for folder in folders}
    joined: list[str] = []
    unread: list[str] = []
    separate: list[list[str]] = []
    for component in _components(links):
        ids = set().union(*(links[f][0] for f in component))
        refs = set().union(*(links[f][1] for f in component))
        if (refs - ids) & main_ids or (main_refs - main_ids) & ids:
            joined.extend(component)
        elif main_ids:
            unread.extend(p for f in component for p in links[f][2])
        else:
            separate.append(component)
    if len(separate) > 1:
        return [TreeSpec(_common_folder(c), "alembic", tuple(sorted(c)), unnamed=tuple(sorted(c)),
                         configured_by=spec.configured_by, file_template=spec.file_template) for c in separate]
    for component in separate:
        joined.extend(component)
    return [replace(spec, version_locations=spec.version_locations + tuple(sorted(joined)),
                    unnamed=tuple(sorted(joined)), unread=tuple(sorted(unread)))]


def _script_folders_below(location: str) -> Iterator[str]:
    """Folders below a version location (not itself) that hold `.py` files alembic would load.

    Names ending in `.py` are taken for files without asking: a versions folder holds
    thousands of them, and this runs on every check. A folder whose link count says it
    has no subfolder but `__pycache__` is not listed at all.
    """
    if not _may_have_subfolders(location):
        return
    try:
        with os.scandir(location) as entries:
            folders = sorted(e.path for e in entries if not e.name.endswith(".py") and e.name[0] != "."
                             and e.name != "__pycache__" and e.is_dir(follow_symlinks=False))
    except OSError:
        return
    for folder in folders:
        if any(ALEMBIC_SCRIPT.match(n) for n in os.listdir(folder)):
            yield folder
        yield from _script_folders_below(folder)


def _may_have_subfolders(folder: str) -> bool:
    """False when the folder's link count (2 + its subfolders, where the filesystem counts them)
    leaves room for no subfolder other than `__pycache__`."""
    try:
        links = os.stat(folder).st_nlink
    except OSError:
        return False
    if links < 2:  # a file, or a filesystem that does not count subfolders (btrfs): list it to know
        return True
    return links - 2 > os.path.isdir(os.path.join(folder, "__pycache__"))


def _components(links: dict[str, tuple[set[str], set[str], list[str]]]) -> list[list[str]]:
    """Folders grouped by the revisions their scripts name in each other; folders without revisions left out.

    A folder joins another when it names a revision that only the other holds.
    """
    folders = [f for f in sorted(links) if links[f][0]]
    owner = {rev: f for f in folders for rev in links[f][0]}
    group = {f: f for f in folders}

    def find(f: str) -> str:
        while group[f] != f:
            f = group[f]
        return f

    for folder in folders:
        for ref in links[folder][1] - links[folder][0]:  # an id both hold (a copy per dialect) joins nothing
            if ref in owner:
                group[find(folder)] = find(owner[ref])
    components: dict[str, list[str]] = {}
    for folder in folders:
        components.setdefault(find(folder), []).append(folder)
    return list(components.values())


def _common_folder(folders: Sequence[str]) -> str:
    return folders[0] if len(folders) == 1 else os.path.commonpath(list(folders))
