"""`[tool.mig-lint]` in pyproject.toml or `[mig-lint]` in setup.cfg -> one frozen `Config`."""
from __future__ import annotations

import configparser
import os
import re
import sys
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from mig_lint.model import SEVERITIES
from mig_lint.model import Severity
from mig_lint.model import SLOTS

if sys.version_info >= (3, 11):  # pragma: no cover (version dependent)
    import tomllib
else:  # pragma: no cover (version dependent)
    import tomli as tomllib

CODE_PREFIX = re.compile(r"^ML\d{0,3}$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the key."""


@dataclass(frozen=True, **SLOTS)
class Handoff:
    """A migrate history continued by an alembic one."""

    migrate: str
    alembic: str
    version: int
    revision: str


@dataclass(frozen=True, **SLOTS)
class MigrationTests:
    """Where migration tests live and how a test names a migration (ML403)."""

    paths: tuple[str, ...]
    patterns: tuple[str, ...] = ("_check_{version}",)


@dataclass(frozen=True, **SLOTS)
class Baseline:
    """The merges and forks of an existing history that `check --add-baseline` accepted."""

    allow_merges: tuple[str, ...] = ()
    allow_forks: tuple[str, ...] = ()


@dataclass(frozen=True, **SLOTS)
class TreeConfig:
    """An alembic tree whose folders the project selects in code (`[[tool.mig-lint.trees]]`).

    `version_locations` are glob patterns relative to `path`.
    """

    path: str
    version_locations: tuple[str, ...] = ("versions",)
    recursive: bool = False


@dataclass(frozen=True, **SLOTS)
class Config:
    """Everything a run is configured with; paths are relative to `root`."""

    root: str = "."
    source: str | None = None
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ("ML",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()
    branch_labels: tuple[str, ...] | None = None  # None: every label the scripts declare is a chain
    allow_merges: tuple[str, ...] = ()
    handoff: tuple[Handoff, ...] = ()
    tests: MigrationTests | None = field(default=None)
    head_file: str | None = None
    head_file_per_label: str = "versions/{LABEL}_HEAD"
    trees: tuple[TreeConfig, ...] = ()
    baseline: Baseline = Baseline()
    allowed_imports: tuple[str, ...] = ()  # ML211: application modules revisions may import
    dialects: tuple[str, ...] = ()  # ML6xx: the databases the project runs on; () = not said

    def chain_labels(self, declared: Iterable[str]) -> tuple[str, ...]:
        """The branch labels that are chains of their own: `branch-labels`, else every label declared."""
        return self.branch_labels if self.branch_labels is not None else tuple(sorted(declared))

    @property
    def merges_allowed(self) -> frozenset[str]:
        """Merge revisions accepted by `allow-merges` or by the baseline."""
        return frozenset(self.allow_merges) | frozenset(self.baseline.allow_merges)


def find_config(start: str) -> str | None:
    """The nearest pyproject.toml with [tool.mig-lint] or setup.cfg with [mig-lint].

    The search walks up from `start` and stops at the project root (a folder with .git).
    """
    directory = os.path.abspath(start)
    while True:
        for name, has_section in (("pyproject.toml", _toml_has_section), ("setup.cfg", _ini_has_section)):
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and has_section(candidate):
                return candidate
        parent = os.path.dirname(directory)
        if parent == directory or os.path.exists(os.path.join(directory, ".git")):
            return None
        directory = parent


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:  # pragma: no cover (an unreadable file; root, which runs the tests, reads any)
        return b""


def _toml_has_section(path: str) -> bool:
    return b"[tool.mig-lint" in _read_bytes(path)


def _ini_has_section(path: str) -> bool:
    return re.search(rb"^\[mig-lint[\].]", _read_bytes(path), re.MULTILINE) is not None


def load_config(path: str | None) -> Config:
    """Read `path` (pyproject.toml, setup.cfg or any .toml/.cfg/.ini), or the defaults."""
    if path is None:
        return Config()
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: configuration file not found")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:  # pragma: no cover (an unreadable file; root, which runs the tests, reads any)
        raise ConfigError(f"{path}: cannot be read: {e}") from None
    return parse_config(data, path)


def parse_config(data: bytes, path: str) -> Config:
    """The configuration that `data` holds when it is the content of the file `path`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: cannot be read: {e}") from None
    table = _read_toml(text, path) if path.endswith(".toml") else _read_ini(text, path)
    return _build(table, os.path.dirname(os.path.abspath(path)), path)


def baseline_table(data: bytes, path: str) -> tuple[str, ...]:
    """Where the file `path` (holding `data`, or nothing yet) keeps the baseline: a TOML table or INI section."""
    if not path.endswith(".toml"):
        return ("mig-lint", "baseline")
    if os.path.basename(path) == "pyproject.toml" or "tool" in tomllib.loads(data.decode("utf-8")):
        return ("tool", "mig-lint", "baseline")
    return ("baseline",)


def _read_toml(text: str, path: str) -> Mapping[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    if os.path.basename(path) == "pyproject.toml" or "tool" in data:
        table = data.get("tool", {}).get("mig-lint", {})
    else:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.mig-lint] must be a table")
    return table


def _read_ini(text: str, path: str) -> Mapping[str, Any]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as e:
        raise ConfigError(f"{path}: invalid INI: {e}") from None
    table: dict[str, Any] = {}
    if parser.has_section("mig-lint"):
        for key, value in parser["mig-lint"].items():
            table[key] = _ini_value(key, value)
    handoffs = [s for s in parser.sections() if s == "mig-lint.handoff" or s.startswith("mig-lint.handoff.")]
    if handoffs:
        table["handoff"] = [dict(parser[s]) for s in handoffs]
    trees = [s for s in parser.sections() if s == "mig-lint.trees" or s.startswith("mig-lint.trees.")]
    if trees:
        table["trees"] = [_ini_tree(parser[s]) for s in trees]
    if parser.has_section("mig-lint.tests"):
        tests: dict[str, Any] = dict(parser["mig-lint.tests"])
        for name in ("paths", "pattern"):
            if name in tests:
                tests[name] = _split_list(tests[name])
        table["tests"] = tests
    if parser.has_section("mig-lint.baseline"):
        table["baseline"] = {k: _split_list(v) for k, v in parser["mig-lint.baseline"].items()}
    if parser.has_section("mig-lint.severity"):
        table["severity"] = dict((k.upper(), v.strip()) for k, v in parser["mig-lint.severity"].items())
    return table


def _ini_tree(section: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = dict(section)
    if "version-locations" in tree:
        tree["version-locations"] = _split_list(tree["version-locations"])
    if "recursive" in tree:
        tree["recursive"] = {"true": True, "false": False}.get(tree["recursive"].strip().lower(), tree["recursive"])
    return tree


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]


def _ini_value(key: str, value: str) -> Any:
    if key == "per-file-ignores":
        table: dict[str, list[str]] = {}
        for line in value.splitlines():
            if line.strip():
                pattern, _, codes = line.rpartition(":")
                table[pattern.strip()] = _split_list(codes)
        return table
    return _split_list(value)


def _build(table: Mapping[str, Any], root: str, source: str) -> Config:
    values: dict[str, Any] = {"root": root, "source": source}
    for key, raw in table.items():
        parse = _KEYS.get(key)
        if parse is None:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{source}: unknown key {key!r} in mig-lint configuration (known: {known})")
        values[key.replace("-", "_")] = parse(source, key, raw)
    return Config(**values)


def _strings(source: str, key: str, raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{source}: {key!r} must be a list of strings")
    return tuple(raw)


def _string(source: str, key: str, raw: Any) -> str:
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{source}: {key!r} must be a non-empty string")
    return raw.strip()


def parse_codes(source: str, key: str, raw: Any) -> tuple[str, ...]:
    """Code prefixes such as ML1 or ML104, upper-cased; ConfigError names `key` otherwise."""
    codes = tuple(code.strip().upper() for code in _strings(source, key, raw))
    for code in codes:
        if not CODE_PREFIX.match(code):
            raise ConfigError(f"{source}: {key!r} has {code!r}, which is not a code or prefix like ML1 or ML104")
    return codes


def _per_file_ignores(source: str, key: str, raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {key!r} must be a table of glob = [codes]")
    return tuple((glob, parse_codes(source, f"{key}.{glob}", codes)) for glob, codes in raw.items())


def _severity(source: str, key: str, raw: Any) -> tuple[tuple[str, Severity], ...]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {key!r} must be a table of code = severity")
    result: list[tuple[str, Severity]] = []
    for code, level in raw.items():
        parse_codes(source, f"{key}.{code}", [code])
        if level not in SEVERITIES:
            raise ConfigError(f"{source}: '{key}.{code}' must be one of error, warning, info (got {level!r})")
        result.append((code.upper(), level))
    return tuple(result)


def _handoff(source: str, key: str, raw: Any) -> tuple[Handoff, ...]:
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: {key!r} must be an array of tables")
    handoffs = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"migrate", "alembic", "version", "revision"}:
            raise ConfigError(f"{source}: each {key!r} needs exactly migrate, alembic, version and revision")
        try:
            version = int(item["version"])
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: '{key}.version' must be a whole number") from None
        handoffs.append(Handoff(str(item["migrate"]), str(item["alembic"]), version, str(item["revision"])))
    return tuple(handoffs)


def _tests(source: str, key: str, raw: Any) -> MigrationTests:
    if not isinstance(raw, dict) or not set(raw) <= {"paths", "pattern"} or "paths" not in raw:
        raise ConfigError(f"{source}: {key!r} needs 'paths' (and optionally 'pattern')")
    patterns = _strings(source, f"{key}.pattern", raw.get("pattern", "_check_{version}"))
    if not patterns or not all("{version}" in p for p in patterns):
        raise ConfigError(f"{source}: '{key}.pattern' must be a string (or list) containing {{version}}")
    return MigrationTests(_strings(source, f"{key}.paths", raw["paths"]), patterns)


def _baseline(source: str, key: str, raw: Any) -> Baseline:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {key!r} must be a table of allow-merges and allow-forks")
    lists = {}
    for name, ids in raw.items():
        if name not in ("allow-merges", "allow-forks"):
            raise ConfigError(f"{source}: unknown key '{key}.{name}' (known: allow-forks, allow-merges)")
        if not isinstance(ids, list) or not all(isinstance(i, str) and i and i.split() == [i] for i in ids):
            raise ConfigError(f"{source}: '{key}.{name}' must be a list of revision ids (non-empty strings)")
        lists[name.replace("-", "_")] = tuple(ids)
    return Baseline(**lists)


_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


def _module_names(source: str, key: str, raw: Any) -> tuple[str, ...]:
    """Dotted module names such as `myapp.types`; ConfigError names `key` otherwise."""
    names = tuple(name.strip() for name in _strings(source, key, raw))
    for name in names:
        if not _MODULE_NAME.match(name):
            raise ConfigError(f"{source}: {key!r} has {name!r}, which is not a dotted module name like myapp.types")
    return names


DIALECTS = ("postgresql", "mysql", "mariadb", "sqlite", "oracle", "mssql")


def _dialects(source: str, key: str, raw: Any) -> tuple[str, ...]:
    """SQLAlchemy dialect names; ConfigError names `key` and the known ones otherwise."""
    names = tuple(name.strip().lower() for name in _strings(source, key, raw))
    for name in names:
        if name not in DIALECTS:
            raise ConfigError(f"{source}: {key!r} has {name!r}; the dialects are {', '.join(DIALECTS)}")
    return names


_TREE_KEYS = {"path", "version-locations", "recursive"}


def _trees(source: str, key: str, raw: Any) -> tuple[TreeConfig, ...]:
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: {key!r} must be an array of tables")
    trees = []
    for item in raw:
        if not isinstance(item, dict) or "path" not in item or not set(item) <= _TREE_KEYS:
            raise ConfigError(f"{source}: each {key!r} needs 'path' (and optionally 'version-locations', 'recursive')")
        path = _string(source, f"{key}.path", item["path"])
        locations = _strings(source, f"{key}.version-locations", item.get("version-locations", ["versions"]))
        recursive = item.get("recursive", False)
        if not isinstance(recursive, bool):
            raise ConfigError(f"{source}: '{key}.recursive' must be true or false")
        trees.append(TreeConfig(path, locations, recursive))
    return tuple(trees)


_KEYS: dict[str, Callable[[str, str, Any], Any]] = {
    "paths": _strings,
    "exclude": _strings,
    "select": parse_codes,
    "extend-select": parse_codes,
    "ignore": parse_codes,
    "extend-ignore": parse_codes,
    "per-file-ignores": _per_file_ignores,
    "severity": _severity,
    "branch-labels": _strings,
    "allow-merges": _strings,
    "handoff": _handoff,
    "tests": _tests,
    "head-file": _string,
    "head-file-per-label": _string,
    "trees": _trees,
    "baseline": _baseline,
    "allowed-imports": _module_names,
    "dialects": _dialects,
}
