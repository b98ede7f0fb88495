"""Time whole processes: `mig-lint check` against `alembic heads` and a file-reading floor.

    python benchmarks/bench_check.py --sizes 1000 10000 100000 --runs 5

Trees are generated into benchmarks/trees/ (reused when present). For each size, one
untimed warm-up pass runs every command (it fills the page cache and checks each
output against the known head), then each timed run calls the commands round-robin.

Both tools cache per tree: alembic's imports write versions/__pycache__, and mig-lint keeps
digests of scripts known to compile in $MIG_LINT_CACHE_DIR. `--cache warm` (default) times
both with their caches filled by the warm-up. `--cache cold` times a CI run: every run makes
a fresh `git clone` of a generated repository (main: the tree; feature: one more revision)
and times, in it, `mig-lint check` and `mig-lint check --base origin/main` (each with no
.mig-lint-cache), `alembic heads` (its first run in the clone, then a second one), the floor,
and the compile floor: every script compiled on every core and nothing else, which no check
that runs ML201 can beat.
PYTHONDONTWRITEBYTECODE is removed from the children's environment so that the tools' own
modules are byte-compiled, as `pip install` leaves them.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from typing import Sequence

from generate import generate
from generate import revision_ids

HERE = Path(__file__).resolve().parent
TREES = HERE / "trees"
SEED = 0
# t(100k) / t(10k) is 10 for linear growth; allow this much before calling it superlinear.
LINEAR_GROWTH_MAX = 12.5
FEATURE = "ffffeeee0001"  # the revision the feature branch of a cold run's repository adds
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "bench",
           "GIT_AUTHOR_EMAIL": "bench@example.invalid", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
READ_ALL = (
    "import os,sys\n"
    "for root, dirs, files in os.walk(os.path.join(sys.argv[1], 'versions')):\n"
    "    dirs[:] = [d for d in dirs if d != '__pycache__']\n"
    "    for name in files:\n"
    "        with open(os.path.join(root, name), encoding='utf-8') as f:\n"
    "            f.read()\n"
)
# What no check that runs ML201 (CPython's compile() of every script) can beat: each script
# read and compiled, nothing else, on every core this process may use (a fork per spare one).
COMPILE_ALL = (
    "import os,sys\n"
    "paths = []\n"
    "for root, dirs, files in os.walk(os.path.join(sys.argv[1], 'versions')):\n"
    "    dirs[:] = [d for d in dirs if d != '__pycache__']\n"
    "    paths += [os.path.join(root, n) for n in files if n.endswith('.py')]\n"
    "cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1\n"
    "share, pids = 0, []\n"
    "for k in range(1, cores):\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        share = k\n"
    "        break\n"
    "    pids.append(pid)\n"
    "for path in paths[share::cores]:\n"
    "    with open(path, 'rb') as f:\n"
    "        compile(f.read(), path, 'exec', dont_inherit=True)\n"
    "if share:\n"
    "    os._exit(0)\n"
    "for pid in pids:\n"
    "    os.waitpid(pid, 0)\n"
)


# The cold table's two rows: (shown in the table, in a target, suffix of the mig-lint columns).
CACHE_ROWS = (("none", "no cache", ""), ("restored (CI cache)", "the CI cache restored", " CI cache"))
ALEMBIC_RUNS = (("1st", "alembic"), ("2nd", "alembic 2nd"))  # (run, column)


class CommandFailed(Exception):
    pass


@dataclass(frozen=True)
class Command:
    column: str
    argv: tuple[str, ...]
    cache: Path | None = None  # emptied before each run with --cache cold
    cwd: Path | None = None
    restore: Path | None = None  # with --cache cold, copied into `cache` first (a CI cache restored)


def mig_lint_command() -> list[str]:
    """mig-lint next to this interpreter, else the one on PATH."""
    found = Path(sys.executable).with_name("mig-lint")
    return [str(found)] if found.exists() else ["mig-lint"]


def _executable(option: str | None, name: str) -> str | None:
    if option:
        return option
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def _interpreter(script: str) -> str:
    """The Python a console script runs on (its shebang), so the floor starts the same one."""
    try:
        with open(script, "rb") as f:
            first = f.readline().decode("utf-8", "replace").strip()
    except OSError:
        return sys.executable
    path = first[2:].strip() if first.startswith("#!") else ""
    usable = os.path.basename(path).startswith("python") and os.path.exists(path)
    return path if usable else sys.executable


def ensure_tree(size: int) -> Path:
    path = TREES / f"alembic-{size}"
    versions = path / "versions"
    if (path / "alembic.ini").exists() and versions.is_dir():
        if sum(1 for n in os.listdir(versions) if n.endswith(".py")) == size:
            return path
    print(f"generating {size} revisions into {path} ...", file=sys.stderr)
    TREES.mkdir(parents=True, exist_ok=True)
    generate(size, path, SEED)
    return path


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def feature_script(down: str) -> str:
    """The one revision the feature branch adds on top of the generated history."""
    return (f'"""feature\n\nRevision ID: {FEATURE}\nRevises: {down}\n"""\n'
            f"revision = '{FEATURE}'\ndown_revision = '{down}'\n\n\ndef upgrade():\n    pass\n")


def ensure_origin(size: int) -> Path:
    """A repository (reused when complete): `main` holds the tree, `feature` adds FEATURE."""
    origin = TREES / f"origin-{size}"
    if (origin / ".git" / "bench-complete").exists():
        return origin
    print(f"committing {size} revisions into {origin} ...", file=sys.stderr)
    shutil.rmtree(origin, ignore_errors=True)
    shutil.copytree(ensure_tree(size), origin, ignore=shutil.ignore_patterns("__pycache__"))
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "history")
    git(origin, "checkout", "-q", "-b", "feature")
    (origin / "versions" / f"{FEATURE}_feature.py").write_text(feature_script(revision_ids(size, SEED)[-1]))
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "feature")
    (origin / ".git" / "bench-complete").write_text("")
    return origin


def fresh_clone(origin: Path, into: Path) -> Path:
    """`git clone` of the feature branch, as a CI job checks out a pull request."""
    shutil.rmtree(into, ignore_errors=True)
    git(origin.parent, "clone", "-q", "--branch", "feature", str(origin), str(into))
    return into


def seed_ci_cache(origin: Path, seed: Path, into: Path, mig_lint: str, env: dict[str, str]) -> None:
    """What a CI cache holds for a pull request: `.mig-lint-cache` of a check of the main branch,
    run in a clone elsewhere (another folder, other mtimes and inodes)."""
    shutil.rmtree(seed, ignore_errors=True)
    git(origin.parent, "clone", "-q", "--branch", "main", str(origin), str(seed))
    subprocess.run((mig_lint, "check", "."), cwd=seed, env=env, capture_output=True, check=True)
    shutil.copytree(seed / ".mig-lint-cache", into)
    shutil.rmtree(seed)


def run(cmd: Command, env: dict[str, str], cold: bool) -> tuple[float, str]:
    if cold and cmd.cache is not None:
        shutil.rmtree(cmd.cache, ignore_errors=True)
        if cmd.restore is not None:
            shutil.copytree(cmd.restore, cmd.cache)
    start = time.perf_counter()
    proc = subprocess.run(cmd.argv, capture_output=True, text=True, env=env, cwd=cmd.cwd)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise CommandFailed(
            f"command failed with exit {proc.returncode}: {' '.join(cmd.argv)}\n"
            f"--- stderr ---\n{proc.stderr}\n--- stdout (first 2000 chars) ---\n{proc.stdout[:2000]}"
        )
    return elapsed, proc.stdout


def sanity_notes(column: str, stdout: str, size: int, head: str) -> list[str]:
    """Facts a correct tool states about the generated linear tree, as notes when they differ."""
    if column.startswith("alembic") and stdout.strip() != f"{head} (head)":
        return [f"{column} at {size}: expected {head!r} (head), got {stdout.strip()[:200]!r}"]
    if not column.startswith("mig-lint"):
        return []
    try:
        report = json.loads(stdout)
        tree = report["trees"][0]
        got = (len(report["trees"]), tree["revisions"], tree["heads"], tree["linear"], report["findings"])
    except (ValueError, KeyError, IndexError, TypeError) as e:
        return [f"mig-lint at {size}: unreadable JSON report ({e!r}): {stdout[:200]!r}"]
    want: tuple[object, ...] = (1, size, [head], True, [])
    return [] if got == want else [f"{column} at {size}: expected {want}, got {str(got)[:500]}"]


def bench_size(
    size: int, commands: list[Command], args: argparse.Namespace, env: dict[str, str], clone: Callable[[], object]
) -> tuple[dict[str, float], list[str]]:
    """Medians by column; each pass of a cold run starts from `clone()` (a fresh clone)."""
    cold = args.cache == "cold"
    head, count = (FEATURE, size + 1) if cold else (revision_ids(size, SEED)[-1], size)
    notes: list[str] = []
    for i in range(args.warmup):
        clone()
        for cmd in commands:
            _, stdout = run(cmd, env, cold)
            if i == 0:
                notes += sanity_notes(cmd.column, stdout, count, head)
    times: dict[str, list[float]] = {cmd.column: [] for cmd in commands}
    for i in range(args.runs):
        clone()
        for cmd in commands:
            times[cmd.column].append(run(cmd, env, cold)[0])
        print(f"  {size}: run {i + 1}/{args.runs} done", file=sys.stderr)
    return {col: statistics.median(ts) for col, ts in times.items()}, notes


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else format(value, spec) + suffix


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def render_table(results: dict[int, dict[str, float]], cold: bool) -> list[str]:
    if cold:
        return _cold_table(results)
    lines = [
        "| revisions | mig-lint (s) | alembic heads (s) | floor: read all (s) | python -c pass (s) "
        "| alembic / mig-lint | mig-lint / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, med in results.items():
        mig, alembic, floor = med.get("mig-lint"), med.get("alembic"), med.get("floor")
        lines.append(
            f"| {size:,} | {_fmt(mig, '.3f')} | {_fmt(alembic, '.3f')} | {_fmt(floor, '.3f')} "
            f"| {_fmt(med.get('startup'), '.3f')} | {_fmt(_ratio(alembic, mig), '.1f')} "
            f"| {_fmt(_ratio(mig, floor), '.2f')} |"
        )
    return lines


def _cold_table(results: dict[int, dict[str, float]]) -> list[str]:
    lines = [
        "| revisions | .mig-lint-cache | check (s) | check --base (s) | alembic heads, 1st run (s) "
        "| alembic heads, 2nd run (s) | floor (s) | compile floor (s) | alembic 1st / check | alembic 2nd / check "
        "| check --base / check |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, med in results.items():
        first, second, floor = med.get("alembic"), med.get("alembic 2nd"), med.get("floor")
        for cache, _, suffix in CACHE_ROWS:
            mig, base = med.get("mig-lint" + suffix), med.get("mig-lint --base" + suffix)
            lines.append(
                f"| {size:,} | {cache} | {_fmt(mig, '.3f')} | {_fmt(base, '.3f')} | {_fmt(first, '.3f')} "
                f"| {_fmt(second, '.3f')} | {_fmt(floor, '.3f')} | {_fmt(med.get('compile floor'), '.3f')} "
                f"| {_fmt(_ratio(first, mig), '.1f')} | {_fmt(_ratio(second, mig), '.1f')} "
                f"| {_fmt(_ratio(base, mig), '.2f')} |"
            )
    return lines


def evaluate_targets(results: dict[int, dict[str, float]], cold: bool = False) -> list[tuple[str, str, bool | None]]:
    """(target, measured value, holds) with holds None when the sizes needed were not run."""
    if cold:
        return _cold_targets(results)
    r10k, r1k, r100k = results.get(10000, {}), results.get(1000, {}), results.get(100000, {})
    speedup = _ratio(r10k.get("alembic"), r10k.get("mig-lint"))
    to_floor = _ratio(r10k.get("mig-lint"), r10k.get("floor"))
    small = r1k.get("mig-lint")
    growth = _ratio(r100k.get("mig-lint"), r10k.get("mig-lint"))
    return [
        ("10,000: alembic heads / mig-lint >= 10", _fmt(speedup, ".1f", "x"),
         None if speedup is None else speedup >= 10),
        ("10,000: mig-lint / floor <= 2", _fmt(to_floor, ".2f", "x"),
         None if to_floor is None else to_floor <= 2),
        ("1,000: mig-lint < 0.15 s", _fmt(small, ".3f", " s"), None if small is None else small < 0.15),
        (f"growth t(100k) / t(10k) about 10 (<= {LINEAR_GROWTH_MAX})", _fmt(growth, ".1f"),
         None if growth is None else growth <= LINEAR_GROWTH_MAX),
    ]


def _cold_targets(results: dict[int, dict[str, float]]) -> list[tuple[str, str, bool | None]]:
    r10k = results.get(10000, {})
    targets: list[tuple[str, str, bool | None]] = []
    for _, cache, suffix in CACHE_ROWS:
        check, base = r10k.get("mig-lint" + suffix), r10k.get("mig-lint --base" + suffix)
        for run, column in ALEMBIC_RUNS:
            speedup = _ratio(r10k.get(column), check)
            targets.append((f"10,000, fresh clone, {cache}: alembic heads ({run} run) / check >= 5",
                            _fmt(speedup, ".1f", "x"), None if speedup is None else speedup >= 5))
        gate = _ratio(base, check)
        targets.append((f"10,000, fresh clone, {cache}: check --base / check <= 1.5", _fmt(gate, ".2f", "x"),
                        None if gate is None else gate <= 1.5))
    for run, column in ALEMBIC_RUNS:
        bound = _ratio(r10k.get(column), r10k.get("compile floor"))
        targets.append((f"bound, not a target: alembic heads ({run} run) / compile floor, the most that any "
                        "check compiling every script can reach on this machine", _fmt(bound, ".1f", "x"), None))
    return targets


def render_targets(targets: list[tuple[str, str, bool | None]]) -> list[str]:
    lines = ["| target | measured | holds |", "|---|---:|---|"]
    for name, value, holds in targets:
        lines.append(f"| {name} | {value} | {'-' if holds is None else 'yes' if holds else 'NO'} |")
    return lines


def _alembic_version(alembic: str) -> str:
    proc = subprocess.run([alembic, "--version"], capture_output=True, text=True)
    return (proc.stdout or proc.stderr).strip() or "alembic ?"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="untimed passes per size (default 1)")
    parser.add_argument("--out-md", type=Path, help="also write the markdown report here")
    parser.add_argument("--mig-lint", help="mig-lint executable (default: next to sys.executable or on PATH)")
    parser.add_argument("--alembic", help="alembic executable (default: next to sys.executable)")
    parser.add_argument("--skip-alembic-above", type=int, metavar="N", help="no alembic run for sizes > N")
    parser.add_argument("--check-targets", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--cache", choices=("warm", "cold"), default="warm",
                        help="time with the per-tree caches of both tools filled (default), or in fresh clones")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")
    return args


def _commands(
    args: argparse.Namespace, mig_lint: str, alembic: str, tree: Path, size: int, cache: Path
) -> list[Command]:
    python = _interpreter(mig_lint)
    with_alembic = args.skip_alembic_above is None or size <= args.skip_alembic_above
    if args.cache == "cold":
        return _clone_commands(mig_lint, alembic if with_alembic else None, python, tree, cache)
    commands = [Command("mig-lint", (mig_lint, "check", "--format", "json", str(tree)), cache)]
    if with_alembic:
        argv = (alembic, "-c", str(tree / "alembic.ini"), "heads")
        commands.append(Command("alembic", argv, tree / "versions" / "__pycache__"))
    commands.append(Command("startup", (python, "-c", "pass")))
    commands.append(Command("floor", (python, "-c", READ_ALL, str(tree))))
    return commands


def _clone_commands(
    mig_lint: str, alembic: str | None, python: str, clone: Path, ci_cache: Path | None = None
) -> list[Command]:
    """Run inside a fresh clone, in this order: each mig-lint starts with no .mig-lint-cache,
    or (the `CI cache` columns) with a copy of `ci_cache`, made by a check in another clone."""
    cache = clone / ".mig-lint-cache"
    check = (mig_lint, "check", "--format", "json", ".")
    commands = [Command("mig-lint", check, cache, clone),
                Command("mig-lint --base", (*check, "--base", "origin/main"), cache, clone)]
    if ci_cache is not None:
        commands += [Command("mig-lint CI cache", check, cache, clone, ci_cache),
                     Command("mig-lint --base CI cache", (*check, "--base", "origin/main"), cache, clone, ci_cache)]
    if alembic is not None:
        argv = (alembic, "-c", "alembic.ini", "heads")
        commands += [Command("alembic", argv, None, clone), Command("alembic 2nd", argv, None, clone)]
    commands.append(Command("startup", (python, "-c", "pass")))
    commands.append(Command("floor", (python, "-c", READ_ALL, str(clone))))
    commands.append(Command("compile floor", (python, "-c", COMPILE_ALL, str(clone))))
    return commands


def bench_all(
    args: argparse.Namespace, mig_lint: str, alembic: str
) -> tuple[dict[int, dict[str, float]], list[str]]:
    results: dict[int, dict[str, float]] = {}
    notes: list[str] = []
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "MIG_LINT_CACHE_DIR")}
    with tempfile.TemporaryDirectory(prefix="mig-lint-bench-") as work:
        for size in args.sizes:
            size_env = dict(env)
            clone: Callable[[], object]
            if args.cache == "cold":
                origin, tree = ensure_origin(size), Path(work, f"clone-{size}")
                clone = functools.partial(fresh_clone, origin, tree)
                seed_ci_cache(origin, Path(work, f"seed-{size}"), Path(work, f"cache-{size}"), mig_lint, env)
            else:
                tree, clone = ensure_tree(size), (lambda: None)
                size_env["MIG_LINT_CACHE_DIR"] = str(Path(work, f"cache-{size}"))
            commands = _commands(args, mig_lint, alembic, tree, size, Path(work, f"cache-{size}"))
            results[size], size_notes = bench_size(size, commands, args, size_env, clone)
            notes += size_notes
    return results, notes


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    mig_lint = _executable(args.mig_lint, "mig-lint")
    alembic = args.alembic or str(Path(sys.executable).parent / "alembic")
    if mig_lint is None:
        print("mig-lint not found: pip install . in this venv, or pass --mig-lint PATH", file=sys.stderr)
        return 1
    needs_alembic = any(args.skip_alembic_above is None or s <= args.skip_alembic_above for s in args.sizes)
    if needs_alembic and not os.path.exists(alembic):
        print(f"alembic not found at {alembic}: pip install alembic, or pass --alembic PATH", file=sys.stderr)
        return 1
    try:
        results, notes = bench_all(args, mig_lint, alembic)
    except CommandFailed as e:
        print(e, file=sys.stderr)
        return 1
    cold = args.cache == "cold"
    targets = evaluate_targets(results, cold)
    load = f"load average {os.getloadavg()[0]:.2f} at the end" if hasattr(os, "getloadavg") else ""
    lines = [
        f"Median of {args.runs} runs, whole processes, {args.cache} caches; "
        f"Python {platform.python_version()}, {_alembic_version(alembic) if needs_alembic else 'alembic not run'}, "
        f"{os.cpu_count()} CPUs, {load}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        *render_table(results, cold),
        "",
        *render_targets(targets),
        *([""] + [f"- note: {n}" for n in notes] if notes else []),
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out_md:
        args.out_md.write_text(text)
    failed = any(holds is False for _, _, holds in targets)
    return 1 if args.check_targets and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
