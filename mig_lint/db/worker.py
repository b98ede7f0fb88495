"""The process that runs migration code, one step per request, for `replay` and `verify`.

mig-lint never runs a migration in its own process: `python -m mig_lint.db.worker` (or
this file run by path under a legacy interpreter that has sqlalchemy-migrate and no
mig-lint) reads one JSON request per line on stdin and answers one JSON line on stdout.
The first request opens the tree and the database; then "up" and "down" apply one step.
Everything the migration prints goes to stderr, so stdout stays the channel. This file
imports nothing from mig_lint and runs on SQLAlchemy 1.4 and 2.

    -> {"format": "alembic"|"migrate", "tree": DIR, "version_locations": [...], "url": URL,
        "from": VERSION|null}
    <- {"event": "ready", "current": VERSION|null, "plan": [VERSION, ...]}  (or "error")
    -> {"op": "up"} | {"op": "down"}
    <- {"event": "step", "version": VERSION, "seconds": S, "error": null|{"type", "message", "where"}}
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any
from typing import IO


class Refusal(Exception):
    """The request cannot be carried out; the message says why."""


class AlembicSteps:
    """An alembic tree's upgrade plan from the database's current revision, one step at a time."""

    def __init__(self, request: dict[str, Any], connection: Any) -> None:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        self.connection = connection
        self.script = ScriptDirectory(request["tree"], version_locations=request["version_locations"] or None)
        with connection.begin():
            current = MigrationContext.configure(connection).get_current_heads()
            if request["from"] is not None:
                current = self._start_at(request["from"], current)
        self.current = ",".join(current) or None
        heads: Any = current  # alembic's own run_migrations passes the tuple of heads
        self.plan = [step.revision for step in self.script._upgrade_revs("heads", heads)]
        self.done: list[Any] = []
        self._next: list[Any] = []
        # One context for every step; each step commits on its own, as alembic's transaction_per_migration does.
        self.context = MigrationContext.configure(connection, opts={
            "fn": lambda heads, context: self._next, "transaction_per_migration": True})

    def _start_at(self, version: str, current: tuple[str, ...]) -> tuple[str, ...]:
        from alembic.runtime.migration import MigrationContext

        if current and set(current) != {version}:
            raise Refusal(f"--from {version}: the database is at {', '.join(current)}")
        self.script.get_revision(version)
        if not current:
            MigrationContext.configure(self.connection).stamp(self.script, version)
        return (version,)

    def versions(self) -> list[str]:
        return [revision.revision for revision in self.plan]

    def up(self) -> str:
        from alembic.runtime.migration import MigrationStep

        revision = self.plan[len(self.done)]
        self._run(MigrationStep.upgrade_from_script(self.script.revision_map, revision))
        self.done.append(revision)
        return str(revision.revision)

    def down(self) -> str:
        from alembic.runtime.migration import MigrationStep

        revision = self.done[-1]
        self._run(MigrationStep.downgrade_from_script(self.script.revision_map, revision))
        self.done.pop()
        return str(revision.revision)

    def _run(self, step: Any) -> None:
        from alembic.operations import Operations

        self._next = [step]
        with Operations.context(self.context):
            self.context.run_migrations()


class MigrateSteps:
    """A sqlalchemy-migrate repository's versions above the database's, one step at a time."""

    def __init__(self, request: dict[str, Any], engine: Any) -> None:
        from migrate.exceptions import DatabaseNotControlledError
        from migrate.versioning.repository import Repository
        from migrate.versioning.schema import ControlledSchema

        self.repository = Repository(request["tree"])
        versions = sorted(int(v) for v in self.repository.versions.versions)
        start = request["from"]
        try:
            self.schema = ControlledSchema(engine, self.repository)
        except DatabaseNotControlledError:
            initial = int(start) if start is not None else (versions[0] - 1 if versions else 0)
            self.schema = ControlledSchema.create(engine, self.repository, initial)
        if start is not None and int(self.schema.version) != int(start):
            raise Refusal(f"--from {start}: the database is at migrate version {self.schema.version}")
        self.current = str(self.schema.version)
        self.plan = [v for v in versions if v > int(self.schema.version)]
        self.done: list[int] = []

    def versions(self) -> list[str]:
        return [str(v) for v in self.plan]

    def up(self) -> str:
        version = self.plan[len(self.done)]
        self._run(version)
        self.done.append(version)
        return str(version)

    def down(self) -> str:
        version = self.done[-1]
        self._run(version - 1)
        self.done.pop()
        return str(version)

    def _run(self, target: int) -> None:
        changeset = self.schema.changeset(target)
        for version, change in changeset:
            self.schema.runchange(version, change, changeset.step)


def _open(request: dict[str, Any]) -> AlembicSteps | MigrateSteps:
    import sqlalchemy as sa

    url, note = _drivers().usable_url(request["url"])
    if note:
        print(f"mig-lint worker ({sys.executable}): {note}", file=sys.stderr)
    engine = sa.create_engine(url)
    if request["format"] == "migrate":
        return MigrateSteps(request, engine)
    return AlembicSteps(request, engine.connect())


def _drivers() -> Any:
    """mig_lint/db/drivers.py, loaded by path: this interpreter may have no mig-lint."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "drivers.py")
    spec = importlib.util.spec_from_file_location("_mig_lint_drivers", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]  # the file is always there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _error(exc: BaseException, folders: tuple[str, ...] = ()) -> dict[str, str]:
    """The exception and the innermost frame of the tree's `folders` (its migration's line) that raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if os.path.abspath(f.filename).startswith(folders)]
    where = f"{inside[-1].filename}:{inside[-1].lineno}" if inside else ""
    message = str(exc).strip().splitlines()
    return {"type": type(exc).__name__, "message": message[0] if message else "", "where": where}


def serve(requests: IO[str], answers: IO[str]) -> None:
    """Answer each request line with one JSON line until stdin closes."""
    def say(answer: dict[str, Any]) -> None:
        answers.write(json.dumps(answer) + "\n")
        answers.flush()

    request = json.loads(requests.readline())
    folders = tuple(os.path.join(os.path.abspath(f), "") for f in [request["tree"], *request["version_locations"]])
    try:
        steps = _open(request)
    except Exception as exc:  # noqa: BLE001 - reported to mig-lint, which says it
        say({"event": "error", "error": _error(exc, folders)})
        return
    say({"event": "ready", "current": steps.current, "plan": steps.versions()})
    for line in requests:
        op = json.loads(line)["op"]
        started = time.perf_counter()
        try:
            version, error = (steps.up() if op == "up" else steps.down()), None
        except Exception as exc:  # noqa: BLE001 - the step failed; the database stays as it left it
            version, error = None, _error(exc, folders)
        say({"event": "step", "version": version, "seconds": time.perf_counter() - started, "error": error})


def _preload() -> None:
    """Import what the steps will need while mig-lint is still starting (alembic is absent in a legacy env)."""
    import sqlalchemy  # noqa: F401

    try:
        import alembic.operations  # noqa: F401
        import alembic.runtime.migration  # noqa: F401
        import alembic.script  # noqa: F401
    except ImportError:  # pragma: no cover (a legacy env made by `legacy-env` has no alembic, nor coverage)
        pass


def main() -> None:
    """Serve on stdin/stdout; the migrations' own output goes to stderr."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _preload()
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
