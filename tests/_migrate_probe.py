"""Report what sqlalchemy-migrate's own loader makes of migrate repositories.

Run BY a legacy interpreter that has sqlalchemy-migrate installed (see
tests/legacy_env.py); mig-lint never imports this file.  It only builds
``migrate.versioning.repository.Repository`` objects, which list the versions
folder and read migrate.cfg; no migration script is imported or run.

    python _migrate_probe.py REPO [REPO...]   prints one JSON list
    python _migrate_probe.py --serve          reads one JSON path per stdin line,
                                              answers one JSON object per line

Each answer is {"ok": true, "versions": [...], "latest": int, "python":
{ver: file or null}, "sql": {ver: {dialect: {op: file}}}, "missing": [...],
...} or {"ok": false, "error": class name, "message": str}; both carry
"entries" and "groups", migrate's verdict on each numbered entry and each
version taken alone, so one test sees every problem, not only the first.
"""
from __future__ import annotations

import json
import os
import sys

from migrate import exceptions
from migrate.versioning import version as migrate_version
from migrate.versioning.repository import Repository
from migrate.versioning.util import KeyedInstance

MAX_GAP_SCAN = 100_000
NO_SUCH_DIALECT = "no such dialect"


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


def _error(exc: BaseException) -> dict:
    return {"error": type(exc).__name__, "message": _message(exc)}


def _scripts(ver: migrate_version.Version) -> dict:
    python = os.path.basename(ver.python.path) if ver.python is not None else None
    sql = {
        dbms: {op: os.path.basename(script.path) for op, script in ops.items()}
        for dbms, ops in ver.sql.items()
    }
    return {"python": python, "sql": sql}


def _upgrade_runs_python(ver: migrate_version.Version) -> bool:
    """Whether upgrading some database through this version imports its .py.

    migrate takes ``<dialect>`` then ``default`` .sql scripts before the .py, so
    ask for a dialect that no file names.
    """
    try:
        script = ver.script(NO_SUCH_DIALECT, "upgrade")
    except AssertionError:  # no script at all: an empty version
        return False
    return script is not None and script is ver.python


def _loaded(repo: Repository) -> dict:
    versions = sorted(int(v) for v in repo.versions.versions)
    by_number = {int(v): ver for v, ver in repo.versions.versions.items()}
    latest = int(repo.latest)
    missing: list | None = []
    if versions and latest - versions[0] <= MAX_GAP_SCAN:
        for number in range(versions[0], latest + 1):
            try:
                repo.version(number)
            except exceptions.VersionNotFoundError:
                missing.append(number)
    elif versions:
        missing = None
    result = {
        "ok": True,
        "versions": versions,
        "latest": latest,
        "python": {},
        "sql": {},
        "missing": missing,
    }
    for number in versions:
        scripts = _scripts(by_number[number])
        result["python"][str(number)] = scripts["python"]
        result["sql"][str(number)] = scripts["sql"]
    for key, getter in (("repository_id", "id"), ("version_table", "version_table")):
        try:
            result[key] = getattr(repo, getter)
        except Exception as exc:  # configparser errors: no section or option
            result[key] = None
            result[key + "_error"] = _error(exc)
    return result


def _is_engine_name(dbms: str) -> bool:
    """Whether an SQLAlchemy engine of this interpreter can be named ``dbms``."""
    from sqlalchemy.dialects import registry

    try:
        return registry.load(dbms).name == dbms
    except Exception:  # NoSuchModuleError, or a broken third-party dialect
        return False


def _entries(versions_dir: str) -> tuple[dict, dict]:
    """migrate's verdict on each numbered entry alone and on each version."""
    entries: dict = {}
    groups: dict = {}
    pattern = migrate_version.Collection.FILENAME_WITH_VERSION
    for name in sorted(os.listdir(versions_dir)):
        match = pattern.match(name)
        if not match:
            continue
        number = int(match.group(1))
        groups.setdefault(str(number), {"files": []})["files"].append(name)
        try:
            alone = migrate_version.Version(number, versions_dir, [name])
        except Exception as exc:
            entries[name] = {"version": number, "kind": "error", **_error(exc)}
            continue
        if alone.python is not None:
            entries[name] = {"version": number, "kind": "py"}
        elif alone.sql:
            [(dbms, ops)] = alone.sql.items()
            [op] = ops
            entries[name] = {
                "version": number, "kind": "sql", "dialect": dbms, "op": op, "engine": _is_engine_name(dbms)
            }
        else:
            entries[name] = {"version": number, "kind": "none"}
    for key, group in groups.items():
        try:
            ver = migrate_version.Version(int(key), versions_dir, group["files"])
        except Exception as exc:
            group.update(_error(exc))
        else:
            group["upgrade_runs_python"] = _upgrade_runs_python(ver)
    return entries, groups


def probe(path: str) -> dict:
    """Load one repository with migrate; never raises."""
    try:
        try:
            result = _loaded(Repository(path))
        except Exception as exc:
            result = {"ok": False, **_error(exc)}
        versions_dir = os.path.join(path, "versions")
        listing = sorted(os.listdir(versions_dir)) if os.path.isdir(versions_dir) else []
        result["listing"] = listing
        result["entries"], result["groups"] = _entries(versions_dir) if listing else ({}, {})
        return result
    finally:
        # migrate keeps one object per path in a class-level dict
        KeyedInstance._instances.clear()


def _serve() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = probe(json.loads(line))
        except Exception as exc:  # keep serving; the test reports it
            answer = {"ok": False, "probe_error": True, **_error(exc)}
        sys.stdout.write(json.dumps(answer, sort_keys=True) + "\n")
        sys.stdout.flush()
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        return _serve()
    json.dump([probe(path) for path in argv], sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
