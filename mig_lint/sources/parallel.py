"""Compile a folder's scripts on every core while the main process reads their headers.

A cold check of 10,000 scripts spends most of its time in `compile()`. The scripts to
read are known before the first is read, so forked workers (one per spare core) compile
them from a shared queue of chunks while the main process reads the headers; then the
main process takes what is left of the queue itself. A worker only vouches for the
digests of the texts that compiled; every syntax error, and every script that a worker
did not get to (it failed, was slow, or the file changed in between), is compiled again
by the main process, so the findings are exactly those of the serial path.

The queue is a pipe filled with 4-byte chunk numbers and closed for writing before the
fork: each read of 4 bytes claims one chunk, and an empty read means no chunk is left.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Sequence
from collections.abc import Set
from dataclasses import dataclass

from mig_lint.model import Problem
from mig_lint.sources.files import decode
from mig_lint.sources.files import DISK

# Below this many scripts to compile (40-50 ms of compiling at 0.15-0.2 ms a script), a
# fork's few milliseconds and a worker's share of the start-up are not worth it.
MIN_SCRIPTS = 256
_CHUNK = 32
_MAX_CHUNKS = 1024  # 4 KiB of chunk numbers: the pipe takes them all before anyone reads
_TOKEN = 4
_DIGEST = 16

Digest = Callable[[str], bytes]


@dataclass(frozen=True)
class Pool:
    """Running workers: the scripts, the queue's read end, and (pid, result pipe) of each."""

    paths: tuple[str, ...]
    chunk: int
    queue: int
    workers: tuple[tuple[int, int], ...]


def spare_cores() -> int:
    """How many workers to fork: the cores this process may use, but one (the main process)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS and Windows have no affinity call)
        cores = os.cpu_count() or 1
    return cores - 1


def start(paths: Sequence[str], known: Set[bytes], digest: Digest) -> Pool | None:
    """Fork workers that compile `paths` (skipping `known` digests); None when not worth it."""
    workers = spare_cores()
    if len(paths) < MIN_SCRIPTS or workers < 1 or not hasattr(os, "fork"):
        return None
    chunk = max(_CHUNK, -(-len(paths) // _MAX_CHUNKS))
    count = -(-len(paths) // chunk)
    read_end, write_end = os.pipe()
    os.write(write_end, b"".join(i.to_bytes(_TOKEN, "little") for i in range(count)))
    os.close(write_end)
    pool = Pool(tuple(paths), chunk, read_end, ())
    forked = []
    for _ in range(workers):
        started = _fork(pool, known, digest)
        if started is None:
            break
        forked.append(started)
    return Pool(pool.paths, chunk, read_end, tuple(forked))


def _fork(pool: Pool, known: Set[bytes], digest: Digest) -> tuple[int, int] | None:
    """One worker: its pid and the pipe it reports on; None when the fork fails."""
    result_read, result_write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(result_read)
        os.close(result_write)
        return None
    if pid == 0:  # pragma: no cover (the forked worker exits without writing coverage data)
        _worker(pool, known, digest, result_read, result_write)
    os.close(result_write)
    return pid, result_read


def _worker(pool: Pool, known: Set[bytes], digest: Digest, unused: int, out: int) -> None:  # pragma: no cover
    """The forked process (coverage is not kept there): drain the queue, report, exit at once."""
    status = 1
    try:
        os.close(unused)
        data = b"".join(drain(pool, known, digest))
        while data:
            data = data[os.write(out, data):]
        status = 0
    finally:
        os._exit(status)


def drain(pool: Pool, known: Set[bytes], digest: Digest) -> list[bytes]:
    """Claim chunks until the queue is empty; the digests of the scripts that compiled."""
    compiled: list[bytes] = []
    while True:
        token = os.read(pool.queue, _TOKEN)
        if len(token) != _TOKEN:
            return compiled
        first = int.from_bytes(token, "little") * pool.chunk
        for path in pool.paths[first:first + pool.chunk]:
            found = compiled_digest(path, known, digest)
            if found is not None:
                compiled.append(found)


def compiled_digest(path: str, known: Set[bytes], digest: Digest) -> bytes | None:
    """The digest of the script at `path` when it compiles and is not known; else None."""
    try:
        text = decode(DISK.read_bytes(path))
    except OSError:
        return None
    if isinstance(text, Problem):
        return None
    from mig_lint.sources.syntax import compile_problem  # here: syntax imports this module

    found = digest(text)
    if found in known or compile_problem(text) is not None:
        return None
    return found


def finish(pool: Pool, known: Set[bytes], digest: Digest) -> set[bytes]:
    """Take the rest of the queue here, then gather what the workers compiled and reap them."""
    try:
        compiled = set(drain(pool, known, digest))
    finally:
        os.close(pool.queue)
    for pid, pipe in pool.workers:
        compiled.update(_report(pipe))
        os.waitpid(pid, 0)
    return compiled


def abandon(pool: Pool) -> None:
    """Stop early (the main process failed): empty the queue so that workers stop, and reap them."""
    while len(os.read(pool.queue, 4096)) > 0:
        pass
    os.close(pool.queue)
    for pid, pipe in pool.workers:
        os.close(pipe)
        os.waitpid(pid, 0)


def _report(pipe: int) -> list[bytes]:
    """The whole digests a worker wrote before it closed its pipe (a failed one writes fewer)."""
    parts = []
    try:
        while True:
            part = os.read(pipe, 1 << 16)
            if not part:
                break
            parts.append(part)
    finally:
        os.close(pipe)
    data = b"".join(parts)
    return [data[i:i + _DIGEST] for i in range(0, len(data) - len(data) % _DIGEST, _DIGEST)]
