"""The `mig-lint` command: parses options, calls one function, maps results to exit codes."""
from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Sequence
from typing import Any
from typing import TYPE_CHECKING

import click

from mig_lint import __version__
from mig_lint.check import check as run_check
from mig_lint.check import load_graphs
from mig_lint.config import Config
from mig_lint.config import ConfigError
from mig_lint.config import find_config
from mig_lint.config import load_config
from mig_lint.config import parse_codes
from mig_lint.discover import DiscoveryError
from mig_lint.sources.git import GitError

if TYPE_CHECKING:
    from mig_lint.convert.repository import Conversion
    from mig_lint.db.options import Interpreters
    from mig_lint.db.replay import Step
    from mig_lint.fix.edits import FileChange
    from mig_lint.fix.renumber import Rename
    from mig_lint.heads import HeadFile

TRACKER = "https://github.com/mig-lint/mig-lint/issues"
_FORMAT = click.Choice(["text", "json", "github", "sarif", "junit"])
_DATA_FORMATS = ("json", "sarif", "junit")


class UsageProblem(click.ClickException):
    """A usage or configuration error: one line on stderr, exit 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"mig-lint: {self.message}", err=True)


def _config(config_file: str | None, **overrides: str | None) -> Config:
    from mig_lint.rules import require_known_codes

    try:
        config = require_known_codes(load_config(config_file if config_file else find_config(os.getcwd())))
        changes: dict[str, Any] = {key: _codes_option(key, value) for key, value in overrides.items() if value}
    except ConfigError as e:
        raise UsageProblem(str(e)) from None
    return dataclasses.replace(config, **changes)


def _codes_option(key: str, value: str) -> tuple[str, ...]:
    """`--select ML1,ML2`: code prefixes that each name a rule."""
    from mig_lint.rules import known_codes

    option = "--" + key.replace("_", "-")
    return known_codes("command line", option, parse_codes("command line", option, value.split(",")))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mig-lint")
def cli() -> None:
    """Keep SQLAlchemy migration histories (alembic and sqlalchemy-migrate) linear."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path(), help="pyproject.toml or setup.cfg to read.")
@click.option("--format", "fmt", type=_FORMAT, help="Report format [default: text; github when GITHUB_ACTIONS=true].")
@click.option("--output", metavar="FILE", type=click.Path(),
              help="Write the report to FILE; print the text report (github when GITHUB_ACTIONS=true).")
@click.option("--statistics", is_flag=True, help="Count the findings of each code after the findings.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the findings: no summary line.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when errors are found (2 still means a usage error).")
@click.option("--select", help="Comma-separated code prefixes to check (replaces the configured ones).")
@click.option("--ignore", help="Comma-separated code prefixes to skip.")
@click.option("--extend-select", help="Code prefixes to add to the selection.")
@click.option("--extend-ignore", help="Code prefixes to add to the ignored ones.")
@click.option("--exclude", "exclude", multiple=True, metavar="PATTERN",
              help="Paths to skip while searching (repeatable or comma-separated; replaces the configured exclude).")
@click.option("--extend-exclude", "extend_exclude", multiple=True, metavar="PATTERN",
              help="Paths to skip besides the configured exclude (repeatable or comma-separated).")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a terminal).")
@click.option("--no-cache", is_flag=True, help="Compile every script instead of trusting .mig-lint-cache.")
@click.option("--base", metavar="REF", help="Compare with the branch REF the change will merge into (ML5xx).")
@click.option("--add-baseline", is_flag=True,
              help="First accept today's merges and forks (ML104, ML103) in the configuration's baseline.")
def check(paths: tuple[str, ...], config_file: str | None, fmt: str | None, output: str | None, statistics: bool,
          quiet: bool, exit_zero: bool, select: str | None, ignore: str | None, extend_select: str | None,
          extend_ignore: str | None, exclude: tuple[str, ...], extend_exclude: tuple[str, ...], color: bool | None,
          no_cache: bool, base: str | None, add_baseline: bool) -> int:
    """Report every problem of the migration trees under PATHS (default: the project)."""
    from mig_lint.report import FORMATS
    from mig_lint.report.options import ReportOptions

    chosen = _report_format(fmt, output, statistics)
    config = _with_excludes(_config(config_file, select=select, ignore=ignore, extend_select=extend_select,
                                    extend_ignore=extend_ignore), exclude, extend_exclude)
    if add_baseline:
        config = _add_baseline(paths, config, not no_cache, to_stderr=chosen in _DATA_FORMATS and not output)
    try:
        result = run_check(paths, config, use_cache=not no_cache, base=base)
    except (DiscoveryError, GitError) as e:
        raise UsageProblem(str(e)) from None
    use_color = sys.stdout.isatty() and "NO_COLOR" not in os.environ if color is None else color
    options = ReportOptions(color=use_color, version=__version__, statistics=statistics, summary=not quiet)
    if output:
        _write_report(output, FORMATS[chosen](result, dataclasses.replace(options, color=False)))
        chosen = _terminal_format()
    click.echo(FORMATS[chosen](result, options), nl=False, color=use_color)
    return 1 if result.has_errors and not exit_zero else 0


def _with_excludes(config: Config, exclude: Sequence[str], extend_exclude: Sequence[str]) -> Config:
    """ruff's choice: `--exclude` replaces the configured `exclude`, `--extend-exclude` adds to it."""
    replaced = _patterns(exclude) if exclude else config.exclude
    return dataclasses.replace(config, exclude=(*replaced, *_patterns(extend_exclude)))


def _patterns(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(pattern.strip() for value in values for pattern in value.split(",") if pattern.strip())


def _add_baseline(paths: Sequence[str], config: Config, use_cache: bool, to_stderr: bool) -> Config:
    """Write the baseline, say what was written, and return the configuration with it."""
    from mig_lint.adopt import add_baseline
    from mig_lint.adopt import AdoptError
    from mig_lint.sources.paths import display_path

    try:
        adoption = add_baseline(load_graphs(paths, config, use_cache), config, os.getcwd())
    except (DiscoveryError, AdoptError) as e:
        raise UsageProblem(str(e)) from None
    shown = display_path(adoption.path)
    if adoption.written:
        added = [f"{key} + {', '.join(ids)}" for key, ids in
                 (("allow-merges", adoption.added_merges), ("allow-forks", adoption.added_forks)) if ids]
        click.echo(f"{shown}: baseline written: {'; '.join(added)}", err=to_stderr)
    elif adoption.baseline.allow_merges or adoption.baseline.allow_forks:
        click.echo(f"{shown}: the baseline already accepts every merge and fork; nothing written", err=to_stderr)
    else:
        click.echo("the history has no merges or forks to accept; nothing written", err=to_stderr)
    click.echo("ML101 is not baselined: several heads make `alembic upgrade head` fail; join them "
               "(`mig-lint rebase`, or a merge revision that the next --add-baseline accepts)", err=to_stderr)
    return dataclasses.replace(config, baseline=adoption.baseline)


def _report_format(fmt: str | None, output: str | None, statistics: bool) -> str:
    """`--format`, else the terminal's; `--statistics` needs a text report."""
    chosen = fmt or _terminal_format()
    if statistics and not output and chosen in _DATA_FORMATS:
        raise UsageProblem(f"--statistics adds to the text report, not to {chosen}; write {chosen} with --output FILE")
    return chosen


def _terminal_format() -> str:
    """What stdout shows: GitHub Actions annotations on GitHub Actions, else text."""
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def _write_report(path: str, text: str) -> None:
    from mig_lint.report.output import write_report

    try:
        write_report(path, text)
    except OSError as e:
        raise UsageProblem(f"cannot write {path}: {e.strerror or e}") from None


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path(), help="pyproject.toml or setup.cfg to read.")
@click.option("--format", "fmt", type=click.Choice(["ascii", "dot", "mermaid", "json"]), default="ascii",
              show_default=True)
def graph(paths: tuple[str, ...], config_file: str | None, fmt: str) -> int:
    """Draw the history of each migration tree under PATHS."""
    from mig_lint.report.history import GRAPH_FORMATS
    from mig_lint.report.history import render_json

    config = _config(config_file)
    try:
        graphs = load_graphs(paths, config)
    except DiscoveryError as e:
        raise UsageProblem(str(e)) from None
    if fmt == "json":
        click.echo(render_json(graphs), nl=False)
    else:
        click.echo("\n".join(GRAPH_FORMATS[fmt](g) for g in graphs), nl=False)
    return 0


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path(), help="pyproject.toml or setup.cfg to read.")
@click.option("--write", "mode", flag_value="write", help="Write stale or missing head files (exit 1 if any).")
@click.option("--check", "mode", flag_value="check", help="Exit 1 when a head file is missing or stale.")
@click.option("--update", "mode", flag_value="update",
              help="Write stale or missing head files; exit 0 when all are current then (a revision hook).")
def heads(paths: tuple[str, ...], config_file: str | None, mode: str | None) -> int:
    """Show, check or write the head file of each chain under PATHS.

    A revision script as PATH (alembic's post_write_hooks pass the new one) selects the tree that reads it.
    """
    from mig_lint.check import read_graphs
    from mig_lint.heads import head_files
    from mig_lint.heads import head_trees
    from mig_lint.heads import write_head_files

    config = _config(config_file)
    try:
        graphs = read_graphs(head_trees(paths, config), config)
    except DiscoveryError as e:
        raise UsageProblem(str(e)) from None
    files = [head for graph in graphs for head in head_files(graph, config)]
    written = write_head_files(files) if mode in ("write", "update") else []
    for head in files:
        click.echo(_head_line(head, head in written))
    stale = [head for head in files if not head.current and head not in written]
    if mode == "update":
        return 1 if stale else 0
    return 1 if written or (mode is not None and stale) else 0


def _head_line(head: HeadFile, written: bool) -> str:
    if head.expected is None:
        return f"{head.path}: {head.chain} has {len(head.heads)} heads ({', '.join(head.heads)}): fix the fork first"
    if written:
        return f"{head.path}: wrote {head.expected}"
    if head.current:
        return f"{head.path}: {head.expected}"
    return f"{head.path}: {'missing' if head.actual is None else 'says ' + head.actual}, head is {head.expected}"


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path(), help="pyproject.toml or setup.cfg to read.")
@click.option("--diff", is_flag=True, help="Print a unified diff of the fixes and write nothing.")
@click.option("--dry-run", is_flag=True, help="List the fixes and write nothing.")
@click.option("--base", metavar="REF",
              help="First move this branch's migrations above REF's (rebase alembic, renumber migrate).")
@click.option("--onto", metavar="REV", help="The revision to put a moved alembic chain on where REF has several heads.")
def fix(paths: tuple[str, ...], config_file: str | None, diff: bool, dry_run: bool, base: str | None,
        onto: str | None) -> int:
    """Apply every automatic fix under PATHS, then check again (exit 1 when it changed files or errors remain).

    With --base, or inside a merge, rebase or cherry-pick that git stopped, this branch's
    migrations are first moved above the base branch's; then header lines and head files
    are fixed (files the base branch has are left as they are there).
    """
    from mig_lint.fix.edits import EditError
    from mig_lint.fix.moves import plan_fix
    from mig_lint.fix.rebase import RebaseError
    from mig_lint.fix.renumber import apply_renames
    from mig_lint.fix.renumber import RenumberError
    from mig_lint.report.options import ReportOptions
    from mig_lint.report.text import render

    config = _config(config_file)
    planned = diff or dry_run
    try:
        keep = None
        if not base:
            base = _stopped_base()
        if not base:
            base, keep = _branch_bases()
        plan = plan_fix(paths, config, base, onto, keep)
        _show_or_write(plan.changes, diff, dry_run, "fixed")
        click.echo("".join(f"left as on {_short(base or keep)}: {reason}\n" for reason in plan.left), nl=False)
        if not planned:
            apply_renames(plan.renames)
        _echo_renames(plan.renames, set(), planned)
        click.echo("".join(f"{note}\n" for note in plan.notes), nl=False)
        changed = bool(plan.changes or plan.renames)
        if planned:
            return 1 if changed else 0
        result = run_check(paths, config, base=base)
    except (DiscoveryError, GitError, RebaseError, RenumberError, EditError, OSError) as e:
        raise UsageProblem(str(e)) from None
    click.echo(render(result, ReportOptions()), nl=False)
    return 1 if changed or result.has_errors else 0


@cli.command()
@click.argument("revisions", nargs=-1)
@click.option("--onto", metavar="REV", help="The revision to put them on (default: the head of --base).")
@click.option("--base", metavar="REF", help="Move the revisions that the branch REF does not have.")
@click.option("--path", "path", type=click.Path(), help="The alembic tree (default: the only one found).")
@click.option("--config", "config_file", type=click.Path(), help="pyproject.toml or setup.cfg to read.")
@click.option("--force", is_flag=True, help="Move revisions that are already merged on the base branch.")
@click.option("--diff", is_flag=True, help="Print a unified diff and write nothing.")
@click.option("--dry-run", is_flag=True, help="List the edits and write nothing.")
def rebase(revisions: tuple[str, ...], onto: str | None, base: str | None, path: str | None,
           config_file: str | None, force: bool, diff: bool, dry_run: bool) -> int:
    """Put alembic REVISIONS (a chain) on top of --onto, or this branch's new ones on --base."""
    from mig_lint.fix.edits import EditError
    from mig_lint.fix.edits import plan_changes
    from mig_lint.fix.rebase import plan_rebase
    from mig_lint.fix.rebase import RebaseError

    config = _config(config_file)
    try:
        if not (revisions or onto or base):
            base = _stopped_base() or _merged_base()
        refusal_base = None if base or force or not revisions else _default_base()
        edits = plan_rebase(list(revisions), onto, base, path, config, force, refusal_base)
        changes = plan_changes(edits)
        _show_or_write(changes, diff, dry_run)
    except (DiscoveryError, GitError, RebaseError, EditError, OSError) as e:
        raise UsageProblem(str(e)) from None
    return 1 if changes else 0


@cli.command()
@click.option("--base", metavar="REF", help="Move this branch's versions that REF already uses or is past.")
@click.option("--path", "path", type=click.Path(), help="One migrate repository (default: every one that needs it).")
@click.option("--config", "config_file", type=click.Path(), help="pyproject.toml or setup.cfg to read.")
@click.option("--diff", is_flag=True, help="Print the renames and a unified diff, and write nothing.")
@click.option("--dry-run", is_flag=True, help="List the renames and edits, and write nothing.")
def renumber(base: str | None, path: str | None, config_file: str | None, diff: bool, dry_run: bool) -> int:
    """Give colliding migrate versions the next free numbers (files, versions.json, tests)."""
    from mig_lint.fix.edits import EditError
    from mig_lint.fix.renumber import apply_renames
    from mig_lint.fix.renumber import git_base_text
    from mig_lint.fix.renumber import plan_renumber
    from mig_lint.fix.renumber import renumber_changes
    from mig_lint.fix.renumber import RenumberError

    config = _config(config_file)
    try:
        base = base or _stopped_base() or _merged_base()
        plans = plan_renumber(base, path, config)
        renames = [rename for plan in plans for rename in plan.renames]
        changes, kept, notes = renumber_changes(plans, config, git_base_text(base) if base and plans else None)
        _show_or_write(changes, diff, dry_run)
        if not (diff or dry_run):
            apply_renames(renames)
        _echo_renames(renames, kept, diff or dry_run)
        click.echo("".join(f"{note}\n" for note in [*notes, *(n for plan in plans for n in plan.notes)]), nl=False)
    except (DiscoveryError, GitError, RenumberError, EditError, OSError) as e:
        raise UsageProblem(str(e)) from None
    return 1 if renames or changes else 0


def _echo_renames(renames: Sequence[Rename], kept: set[int], planned: bool) -> None:
    for rename in renames:
        click.echo(f"{'rename' if planned else 'renamed'} {rename.source} -> {rename.target}")
    for number in sorted(kept):
        click.echo(f"tests that name version {number} are left as they are: another script keeps {number}")


def _short(ref: str | None) -> str | None:
    """A commit id as git abbreviates it (12 digits); a branch name as it is."""
    return ref[:12] if ref and len(ref) == 40 and all(c in "0123456789abcdef" for c in ref) else ref


_KEPT_SIDE = {"merge": "MERGE_HEAD", "rebase": "the rebase's onto commit", "cherry-pick": "HEAD"}


def _stopped_base() -> str | None:
    """The side that stays in a merge, rebase or cherry-pick git stopped in (said on stderr), else None."""
    from mig_lint.sources.git import stopped_operation

    stopped = stopped_operation(".")
    if stopped is None:
        return None
    kind, commit = stopped
    if kind == "revert":
        raise UsageProblem(
            f"git revert of {commit[:12]} in progress: a revert brings no revisions to move, it removes them, and "
            "the revisions above a removed one (on HEAD) now name a missing parent; nothing was changed. Point "
            "them at its parent (`mig-lint rebase REV --onto PARENT --force`) or revert them too, "
            "then `mig-lint heads --write`")
    click.echo(f"mig-lint: git {kind} in progress: moving this side's migrations above {_KEPT_SIDE[kind]} "
               f"({commit[:12]})", err=True)
    return commit


def _merged_base() -> str | None:
    """The base branch this branch has merged (said on stderr), for a command given none."""
    from mig_lint.sources.git import merged_base

    return _said_merged(merged_base("."))


def _branch_bases() -> tuple[str | None, str | None]:
    """The base branch this branch has merged, else (as the second) the one it has not merged yet,
    whose files `fix` leaves alone; each said on stderr."""
    from mig_lint.sources.git import branch_bases

    merged, target = branch_bases(".")
    if merged is not None:
        return _said_merged(merged), None
    if target is not None:
        click.echo(f"mig-lint: {target} is not merged here: its files are left as they are there, nothing moves "
                   f"(`git merge {target}`, then `mig-lint fix`, moves this branch's migrations above it)", err=True)
    return None, target


def _said_merged(ref: str | None) -> str | None:
    if ref is not None:
        click.echo(f"mig-lint: this branch has merged {ref}: moving its migrations above {ref}'s, leaving {ref}'s "
                   "files as they are there (--base names another branch)", err=True)
    return ref


def _default_base() -> str | None:
    """The branch whose merged revisions `rebase` refuses to move when --base is not given (said on stderr)."""
    from mig_lint.sources.git import default_base

    ref = default_base(".")
    if ref is None:
        click.echo("mig-lint: no upstream branch, origin/HEAD, main or master: revisions already merged are not "
                   "looked for (give --base)", err=True)
    else:
        click.echo(f"mig-lint: revisions already on {ref} are not moved (--base names another branch)", err=True)
    return ref


@cli.command()
@click.argument("repository", type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(), help="The folder of the alembic tree to write.")
@click.option("--revision-ids", "scheme", type=click.Choice(["number", "hex"]), default="number", show_default=True,
              help="number: the migrate number zero-padded (0217); hex: 12 random hex digits.")
@click.option("--no-scaffold", is_flag=True, help="Write only versions/ (no alembic.ini, env.py, script.py.mako).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--dry-run", is_flag=True, help="Report what would be written, and write nothing.")
@click.option("--force", is_flag=True, help="Replace files that already exist in --out.")
@click.option("--onto", metavar="REV", help="Append the converted chain after REV, the head of the alembic tree --out.")
@click.option("--squash-to", type=int, metavar="N", help="One base revision creating the schema of versions up to N.")
@click.option("--squash-url", metavar="URL", callback=lambda _ctx, _param, url: _with_driver(url),
              help="The server whose scratch database --squash-to builds on "
              "[default: SQLite].")
@click.option("--python", "python", metavar="PATH", help="The interpreter that runs the revisions for --squash-to "
              "and --verify.")
@click.option("--verify", "prove", is_flag=True, help="Run `mig-lint verify` on the result and report the versions "
              "it proved equal.")
@click.option("--url", "urls", multiple=True, callback=lambda _ctx, _param, urls: tuple(map(_with_driver, urls)),
              help="A server for --verify (repeatable) [default: SQLite].")
@click.option("--migrate-python", metavar="PATH", help="The interpreter for migrate in --verify (see legacy-env).")
def convert(repository: str, out: str, scheme: str, no_scaffold: bool, fmt: str, dry_run: bool, force: bool,
            onto: str | None, squash_to: int | None, squash_url: str | None, python: str | None, prove: bool,
            urls: tuple[str, ...], migrate_python: str | None) -> int:
    """Turn the migrate REPOSITORY into alembic revisions in --out (exit 1 when some code is left untranslated)."""
    from mig_lint.convert.report import render_json
    from mig_lint.convert.report import render_text
    from mig_lint.convert.repository import ConvertError
    from mig_lint.convert.repository import plan_conversion
    from mig_lint.convert.repository import write_conversion

    if (urls or migrate_python) and not prove or prove and dry_run:
        raise UsageProblem("--url and --migrate-python go with --verify, which needs the files written (no --dry-run)")
    try:
        conversion = plan_conversion(repository, out, scheme, scaffold=not no_scaffold, onto=onto)
        if squash_to is not None:
            conversion = _squashed(conversion, squash_to, squash_url, python or sys.executable)
        if not dry_run:
            write_conversion(conversion, force)
    except (ConvertError, OSError) as e:
        raise UsageProblem(str(e)) from None
    if prove:
        conversion = _proved(conversion, repository, urls, _interpreters(python, migrate_python))
    click.echo(render_json(conversion) if fmt == "json" else render_text(conversion, written=not dry_run), nl=False)
    unproved = prove and not all(v.proved for v in conversion.versions)
    return 1 if unproved or any(v.status in ("partial", "failed") for v in conversion.versions) else 0


def _proved(conversion: Conversion, repository: str, urls: tuple[str, ...], interpreters: Interpreters) -> Conversion:
    """The conversion with the versions that `verify` (the command's own function) proved equal."""
    from mig_lint.convert.proof import with_proof
    from mig_lint.db.databases import shown_url
    from mig_lint.db.run import run_verify
    from mig_lint.db.run import RunError

    try:
        results = run_verify(repository, conversion.out, list(urls) or [None], interpreters)
    except RunError as e:
        raise UsageProblem(f"{conversion.out} was written, but verify could not run: {e}") from None
    return with_proof(conversion, results, [shown_url(u) for u in urls] or ["SQLite"])


def _squashed(conversion: Conversion, number: int, url: str | None, python: str) -> Conversion:
    from mig_lint.convert.squash import squash
    from mig_lint.db.run import run_guarded
    from mig_lint.db.run import RunError

    try:
        return run_guarded(squash, conversion, number, url, python)
    except RunError as e:
        raise UsageProblem(str(e)) from None


@cli.command()
@click.option("--url", required=True, callback=lambda _ctx, _param, url: _with_driver(url),
              help="The database (a SQLAlchemy URL).")
@click.option("--repo", "repository", required=True, type=click.Path(),
              help="The migrate repository it was built with.")
@click.option("--alembic", "alembic_dir", required=True, type=click.Path(),
              help="The converted alembic tree (with its migrate-stamp-map.json).")
def stamp(url: str, repository: str, alembic_dir: str) -> int:
    """Stamp a migrate-managed database with the alembic revision its migrate version became."""
    from mig_lint.db.stamp import stamp as run_stamp
    from mig_lint.db.stamp import StampError

    try:
        version, revision = run_stamp(url, repository, alembic_dir)
    except StampError as e:
        raise UsageProblem(str(e)) from None
    click.echo(f"stamped {revision} (migrate version {version}); `alembic upgrade head` goes on from there")
    return 0


_SECONDS = click.FloatRange(min=0, min_open=True)


@cli.command()
@click.argument("tree", type=click.Path())
@click.option("--url", callback=lambda _ctx, _param, url: _with_driver(url),
              help="The database (a SQLAlchemy URL) [default: a temporary SQLite file].")
@click.option("--from", "start", metavar="VERSION", help="Start at VERSION: the database is there (or is stamped so).")
@click.option("--load", metavar="FILE", type=click.Path(), help="Restore this SQL dump into the database first.")
@click.option("--budget", type=_SECONDS, metavar="SECONDS", help="Fail every step that runs longer.")
@click.option("--timeout", type=_SECONDS, metavar="SECONDS", default=3600, show_default=True,
              help="Kill a step that runs longer and stop.")
@click.option("--downgrade", is_flag=True, help="Then walk back down; each step must restore the schema.")
@click.option("--snake", is_flag=True, help="Go up, down and up again at every step.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--python", "python", metavar="PATH", help="The interpreter for an alembic tree [default: mig-lint's].")
@click.option("--migrate-python", metavar="PATH", help="The interpreter for a migrate tree (see legacy-env).")
def replay(tree: str, url: str | None, start: str | None, load: str | None, budget: float | None, timeout: float,
           downgrade: bool, snake: bool, fmt: str, python: str | None, migrate_python: str | None) -> int:
    """Apply the migrations of TREE one step at a time; time each and say what it changed (exit 1 on a failure)."""
    from mig_lint.db.options import ReplayOptions
    from mig_lint.db.run import run_replay
    from mig_lint.db.run import RunError

    options = ReplayOptions(_interpreters(python, migrate_python), start, budget, timeout, downgrade, snake)
    try:
        with _ProgressBar(fmt == "text" and sys.stderr.isatty()) as bar:
            result = run_replay(tree, url, options, load, bar.advance)
    except RunError as e:
        raise UsageProblem(str(e)) from None
    from mig_lint.db.report import replay_json
    from mig_lint.db.report import replay_text

    click.echo(replay_json(result) if fmt == "json" else replay_text(result), nl=False)
    return 1 if result.failed else 0


def _interpreters(python: str | None, migrate_python: str | None) -> Interpreters:
    from mig_lint.db.options import Interpreters

    return Interpreters(migrate_python or sys.executable, python or sys.executable)


class _ProgressBar:
    """A bar on stderr while the steps run (when stderr is a terminal and the report is text)."""

    WIDTH = 30

    def __init__(self, shown: bool) -> None:
        self.shown = shown

    def __enter__(self) -> _ProgressBar:
        return self

    def advance(self, step: Step, total: int) -> None:
        if self.shown:
            filled = self.WIDTH * step.index // max(total, 1)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            click.echo(f"\r[{bar}] {step.index}/{total} {step.direction} {step.done.version}\033[K", err=True, nl=False)

    def __exit__(self, *exc: object) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)


@cli.command()
@click.argument("repository", type=click.Path())
@click.argument("alembic_dir", type=click.Path())
@click.option("--url", "urls", multiple=True, callback=lambda _ctx, _param, urls: tuple(map(_with_driver, urls)),
              help="A server to make the two databases on (repeatable) "
              "[default: two SQLite files].")
@click.option("--dialect-all", is_flag=True, help="Verify on SQLite as well as on every --url.")
@click.option("--timeout", type=_SECONDS, metavar="SECONDS", default=3600, show_default=True,
              help="Kill a step that runs longer and stop.")
@click.option("--keep", is_flag=True, help="Keep the two databases for inspection.")
@click.option("--downgrade", is_flag=True,
              help="Once every version matched, walk both back down and compare after each downgrade.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--python", "python", metavar="PATH", help="The interpreter for the alembic tree [default: mig-lint's].")
@click.option("--migrate-python", metavar="PATH", help="The interpreter for migrate (see `mig-lint legacy-env`).")
def verify(repository: str, alembic_dir: str, urls: tuple[str, ...], dialect_all: bool, timeout: float, keep: bool,
           downgrade: bool, fmt: str, python: str | None, migrate_python: str | None) -> int:
    """Prove that ALEMBIC_DIR, converted from REPOSITORY, builds the same schema at every version (exit 1 if not)."""
    from mig_lint.db.report import verify_json
    from mig_lint.db.report import verify_text
    from mig_lint.db.run import run_verify
    from mig_lint.db.run import RunError

    servers: list[str | None] = [None] if dialect_all or not urls else []
    interpreters = _interpreters(python, migrate_python)
    try:
        results = run_verify(repository, alembic_dir, [*servers, *urls], interpreters, timeout, keep, downgrade)
    except RunError as e:
        raise UsageProblem(str(e)) from None
    click.echo(verify_json(results) if fmt == "json" else verify_text(results), nl=False)
    return 0 if all(r.ok for r in results) else 1


def _with_driver(url: str | None) -> str | None:
    """`url` with the installed driver when it names none or a missing one (said on stderr)."""
    from mig_lint.db.drivers import usable_url

    if url is None:
        return None
    usable, note = usable_url(url)
    if note:
        click.echo(f"mig-lint: {note}", err=True)
    return usable


@cli.command("legacy-env")
@click.argument("directory", type=click.Path())
@click.option("--with", "extra", multiple=True, metavar="REQUIREMENT",
              help="Another package to install, such as a database driver (repeatable).")
@click.option("--sqlalchemy", "sqlalchemy_version", type=click.Choice(["1.4.54", "1.3.24"]), default="1.4.54",
              show_default=True, help="1.3.24 for scripts that use what SQLAlchemy 1.4 removed (Table.count()).")
def legacy_env(directory: str, extra: tuple[str, ...], sqlalchemy_version: str) -> int:
    """Make (or update) a virtualenv in DIRECTORY in which sqlalchemy-migrate 0.13.0 runs."""
    from mig_lint.db.legacy import LegacyEnvError
    from mig_lint.db.legacy import make_legacy_env

    try:
        python = make_legacy_env(directory, extra, sqlalchemy=sqlalchemy_version)
    except LegacyEnvError as e:
        raise UsageProblem(str(e)) from None
    click.echo(f"{python}: sqlalchemy-migrate runs here; pass it as --migrate-python")
    return 0


def _show_or_write(changes: Sequence[FileChange], diff: bool, dry_run: bool, verb: str = "changed") -> None:
    """Print the diff, or list the changes, or write them and say so."""
    from mig_lint.fix.edits import write_changes

    if diff:
        click.echo("".join(c.diff() for c in changes), nl=False)
    elif dry_run:
        click.echo("".join(f"{reason}\n" for c in changes for reason in c.reasons), nl=False)
    else:
        write_changes(changes)
        click.echo("".join(f"{verb} {reason}\n" for c in changes for reason in c.reasons), nl=False)


@cli.command()
@click.argument("code", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
def rules(code: str | None, fmt: str) -> int:
    """List every rule, or print the documentation of the rule CODE."""
    from mig_lint.report.rules_doc import render_markdown
    from mig_lint.report.rules_doc import render_rule
    from mig_lint.report.rules_doc import render_table
    from mig_lint.rules import ALL_RULES
    from mig_lint.rules import RULES_BY_CODE

    if code is None:
        click.echo(render_markdown(ALL_RULES) if fmt == "markdown" else render_table(ALL_RULES), nl=False)
        return 0
    found = RULES_BY_CODE.get(code.upper()) or next((r for r in ALL_RULES if r.name == code), None)
    if found is None:
        raise UsageProblem(f"no rule {code!r}; `mig-lint rules` lists them")
    click.echo(render_markdown([found]) if fmt == "markdown" else render_rule(found), nl=False)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 clean, 1 errors found, 2 usage)."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="mig-lint",
                          standalone_mode=False)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except BrokenPipeError:  # pragma: no cover (depends on the reader closing early)
        return 1
    except Exception as e:  # noqa: BLE001 - the one top-level guard
        click.echo(f"mig-lint: internal error: {type(e).__name__}: {e} (please report it at {TRACKER})", err=True)
        return 3
    return result if isinstance(result, int) else 0
