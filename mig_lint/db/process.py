"""The mig-lint side of the worker: start it, ask for one step at a time, and bound each step's time.

A step that outlives its timeout gets the worker's whole process group killed; the database
stays as the step left it. Whatever the migrations printed is kept in a temporary file and
its last lines are shown when the worker fails.
"""
from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
# `python -c` keeps the working directory on sys.path, as running the project's tools does,
# and running worker.py by path needs no mig-lint in the interpreter (the legacy one).
_BOOT = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
_OUTPUT_LINES = 20
_LEGACY_HINT = "; `mig-lint legacy-env DIR` makes an interpreter with migrate: pass DIR/bin/python as --migrate-python"


class WorkerError(Exception):
    """The worker could not start the tree, died, or said something that is not an answer."""


@dataclass(frozen=True, slots=True)
class StepError:
    """Why a step failed: the exception, its message, and the migration line that raised it."""

    type: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" + (f" ({self.where})" if self.where else "")


@dataclass(frozen=True, slots=True)
class StepDone:
    """One step's outcome: the version, its wall time, and the error or timeout that stopped it."""

    version: str
    seconds: float
    error: StepError | None = None
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class Opened:
    """The worker's first answer: the version the database is at and the versions above it."""

    current: str | None
    plan: tuple[str, ...]


class Worker:
    """One worker process running the migrations of one tree against one database.

    The process starts at once and imports SQLAlchemy and alembic while mig-lint gets ready;
    `open` hands it the tree and the database.
    """

    def __init__(self, python: str, timeout: float | None) -> None:
        self.timeout = timeout
        self._output = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(
                [python, "-c", _BOOT, WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._output, start_new_session=True)
        except OSError as e:
            self._output.close()
            raise WorkerError(f"cannot run {python}: {e.strerror or e}") from None
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin, self._stdout = self._process.stdin, self._process.stdout
        self._buffer = b""
        self._sent = 0.0
        self.opened = Opened(None, ())

    def open(self, request: dict[str, Any]) -> Opened:
        """Open the tree and the database of `request`; the versions the database is at and above."""
        try:
            answer = self._ask(request, timeout=None)
        except WorkerError:
            self.close()
            raise
        if answer.get("event") != "ready":
            self.close()
            error = _error(answer.get("error"))
            hint = _LEGACY_HINT if error.type == "ModuleNotFoundError" and "'migrate" in error.message else ""
            said = error.message if error.type == "Refusal" else str(error)
            raise WorkerError(f"cannot open {request['tree']}: {said}{hint}")
        self.opened = Opened(answer["current"], tuple(answer["plan"]))
        return self.opened

    def step(self, op: str, version: str) -> StepDone:
        """Apply the next upgrade (`up`) or undo the last one (`down`); `version` names it."""
        self.send(op)
        return self.receive(version)

    def send(self, op: str) -> None:
        """Start the step `op` (`up` or `down`); `receive` waits for it."""
        self._sent = time.perf_counter()
        self._write({"op": op})

    def receive(self, version: str) -> StepDone:
        """The outcome of the step sent last, killed when it outlives the timeout; `version` names it."""
        left = None if self.timeout is None else max(0.0, self._sent + self.timeout - time.perf_counter())
        try:
            answer = self._answer(left)
        except TimeoutError:
            self.close()
            return StepDone(version, time.perf_counter() - self._sent, timed_out=True)
        except WorkerError as e:  # the migration took the worker down with it
            return StepDone(version, time.perf_counter() - self._sent, StepError("WorkerDied", str(e)))
        error = answer.get("error")
        return StepDone(version, float(answer["seconds"]), _error(error) if error else None)

    def close(self) -> None:
        """Stop the worker (killing it if it does not stop) and drop its output."""
        if self._process.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self._stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover (a worker that ignores its closed stdin for 5 s)
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._stdout.close()
        self._output.close()

    def _ask(self, request: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        self._write(request)
        return self._answer(timeout)

    def _write(self, request: dict[str, Any]) -> None:
        with contextlib.suppress(BrokenPipeError):  # a worker gone is noticed when its answer does not come
            self._stdin.write(json.dumps(request).encode() + b"\n")
            self._stdin.flush()

    def _answer(self, timeout: float | None) -> dict[str, Any]:
        line = self._read_line(timeout)
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError:
            raise WorkerError(f"the worker said {line[:200]!r}") from None
        return answer

    def _read_line(self, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not selector.select(left):
                    os.killpg(self._process.pid, signal.SIGKILL)
                    raise TimeoutError
                chunk = os.read(self._stdout.fileno(), 65536)
                if not chunk:
                    raise WorkerError(self._died())
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _died(self) -> str:
        code = self._process.wait()
        self._output.seek(0)
        tail = self._output.read().decode(errors="replace").splitlines()[-_OUTPUT_LINES:]
        return f"the worker exited with {code}" + "".join(f"\n  {line}" for line in tail)


def _error(data: dict[str, str] | None) -> StepError:
    data = data or {}
    return StepError(data.get("type", "Error"), data.get("message", ""), data.get("where", ""))
