"""ML3xx: a sqlalchemy-migrate repository, as migrate's own loader reads it."""
from __future__ import annotations

import difflib
from collections.abc import Iterator
from collections.abc import Sequence

from mig_lint.model import Hit
from mig_lint.model import MigrateEntry
from mig_lint.model import Tree
from mig_lint.rules.base import rule
from mig_lint.rules.base import RuleContext
from mig_lint.rules.gate import branch_numbers
from mig_lint.rules.gate import new_files

# The `engine.name` values migrate compares SQL script dialects with.
KNOWN_DIALECTS = frozenset(
    {"default", "sqlite", "postgresql", "mysql", "mariadb", "oracle", "mssql", "firebird", "sybase",
     "ibm_db_sa", "drizzle", "access", "informix", "maxdb"}
)
_OPERATIONS = ("upgrade", "downgrade")
_TIMESTAMP_DIGITS = 12


def by_number(tree: Tree) -> dict[int, list[MigrateEntry]]:
    """The versions folder's entries grouped by version number, in number order."""
    grouped: dict[int, list[MigrateEntry]] = {}
    for entry in sorted(tree.entries, key=lambda e: (e.number, e.name)):
        grouped.setdefault(entry.number, []).append(entry)
    return grouped


def uses_timestamps(tree: Tree) -> bool:
    """True when the repository numbers versions by timestamp."""
    config = tree.migrate_config
    return bool(config and config.use_timestamp_numbering) or any(
        len(str(e.number)) >= _TIMESTAMP_DIGITS for e in tree.entries
    )


MAX_LISTED_GAPS = 10_000


def gap_runs(tree: Tree) -> list[tuple[int, int, int]]:
    """(first missing, last missing, next present) for each run of missing numbers."""
    numbers = sorted(by_number(tree))
    if uses_timestamps(tree):
        return []
    return [(low + 1, high - 1, high) for low, high in zip(numbers, numbers[1:]) if high - low > 1]


def gaps(tree: Tree) -> list[int]:
    """The missing numbers themselves, at most MAX_LISTED_GAPS of them."""
    listed: list[int] = []
    for first, last, _ in gap_runs(tree):
        listed.extend(range(first, min(last, first + MAX_LISTED_GAPS - len(listed) - 1) + 1))
        if len(listed) >= MAX_LISTED_GAPS:
            break
    return listed


def sql_only(tree: Tree) -> list[int]:
    """Versions that have SQL scripts and no Python script."""
    return [n for n, entries in by_number(tree).items()
            if any(e.kind == "sql" for e in entries) and not any(e.kind == "py" for e in entries)]


def collisions(tree: Tree) -> dict[int, list[str]]:
    """Versions claimed by more than one Python script."""
    return {n: [e.name for e in entries if e.kind == "py"] for n, entries in by_number(tree).items()
            if sum(e.kind == "py" for e in entries) > 1}


@rule("ML301", "number-collision", "error", formats=("migrate",))
def number_collision(ctx: RuleContext) -> Iterator[Hit]:
    """Two migrate `.py` scripts share a version number (`047_` and `0047_` included).

    Why: migrate refuses to load the repository ("You can only have one Python script
    per version"), so every `db sync` fails; this is what happens when two changes each
    take the next number and both merge.

    Fix: renumber the newer script (and its `.sql` scripts and tests) to the next free
    number: `mig-lint renumber` (with `--base REF`, the branch's own script moves).

    Example: `047_add_x.py` and `047_add_y.py`.
    """
    base_branch = ctx.base_branch
    moving = branch_numbers(ctx.tree, base_branch) if base_branch else {}
    added = {e.path for e in new_files(ctx.tree, base_branch)} if base_branch else set()
    new_numbers = dict(collision_moves(ctx.tree))
    for number, names in collisions(ctx.tree).items():
        taken = f"version {number} is taken by {', '.join(names)}"
        if base_branch and number in moving:
            for entry in version_pythons(ctx.tree, number):
                if entry.path in added:
                    yield Hit(entry.path, 1, taken, revision=str(number), hint=f"run `mig-lint renumber --base "
                              f"{base_branch.ref}` (this branch's {entry.name} becomes {moving[number]})")
            continue
        for entry in version_pythons(ctx.tree, number)[1:]:
            yield Hit(entry.path, 1, taken,
                      hint=f"renumber {entry.name} to {new_numbers[entry]} (`mig-lint renumber` does)",
                      revision=str(number))


def version_pythons(tree: Tree, number: int) -> list[MigrateEntry]:
    """The `.py` scripts of one version; the first keeps the number when they collide."""
    return sorted((e for e in tree.entries if e.number == number and e.kind == "py"),
                  key=lambda e: (description(e) or "", e.name))


def collision_moves(tree: Tree) -> list[tuple[MigrateEntry, int]]:
    """Without a base branch: each `.py` after the first of a version, with the next free number."""
    numbers = by_number(tree)
    moved = [entry for number in collisions(tree) for entry in version_pythons(tree, number)[1:]]
    return [(entry, max(numbers) + 1 + offset) for offset, entry in enumerate(moved)]


def description(entry: MigrateEntry) -> str | None:
    """The description that a versions folder's name carries, by migrate's grammar.

    `NNN_desc.py` -> `desc`; `NNN_desc_dialect_op.sql` and `NNN_desc_ibm_db_sa_op.sql`
    -> `desc`; `NNN_dialect_op.sql` -> "" (no description). migrate splits a SQL name at
    `_` after dropping `.sql`: the last part is the operation, the one before the
    dialect, unless the name holds `ibm_db_sa` (then exactly six parts). An upper-case
    `.SQL` name, which migrate lists under the number but never runs, is split alike.
    None: a name with no such parts (a folder, `NNN_upgrade.sql`).
    """
    name = entry.name
    if entry.kind == "py":
        rest = name[len(entry.digits):]
        return (rest[:-3] if rest.endswith(".py") else rest[:-2]).removeprefix("_")
    if entry.kind == "dir" or not name.lower().endswith("sql"):
        return None
    stem = name.replace(".sql", "") if entry.kind == "sql" else name[:-4]
    parts = stem.split("_")
    if "ibm_db_sa" in stem:
        return "_".join(parts[1:2]) if len(parts) == 6 else None
    return "_".join(parts[1:-2]) if len(parts) >= 3 else None


@rule("ML302", "numbering-gap", "error", formats=("migrate",))
def numbering_gap(ctx: RuleContext) -> Iterator[Hit]:
    """A missing version between the first and the latest.

    Why: migrate upgrades by counting from the database's version to the target, one
    number at a time, and stops with "Database schema file with version N doesn't exist"
    at the first missing number.

    Fix: restore the missing version, or add a placeholder (`def upgrade(migrate_engine): pass`).
    The JSON report's `gaps` lists the first 10,000 missing numbers; the findings name every run.
    With `--base REF`, a gap that REF's versions fill when the branch merges is not reported.

    Example: `046_a.py`, `048_b.py` and no 047.
    """
    grouped = by_number(ctx.tree)
    target = ctx.base_branch.target if ctx.base_branch else None
    arriving = {e.number for e in target.tree.entries} if target else set()
    for first, last, following in gap_runs(ctx.tree):
        if last - first < len(arriving) and arriving.issuperset(range(first, last + 1)):
            continue  # the base branch's versions fill it when this branch merges
        after = grouped[following][0]
        span = str(first) if first == last else f"{first}-{last}"
        yield Hit(after.path, 1, f"version {span} is missing before {following}: upgrades across it fail",
                  hint="add a placeholder script for each missing number", revision=str(following))


@rule("ML303", "invalid-sql-name", "error", formats=("migrate",))
def invalid_sql_name(ctx: RuleContext) -> Iterator[Hit]:
    """A `.sql` script whose name migrate cannot read (`NNN_upgrade.sql`).

    Why: migrate splits the name on `_` and needs `NNN[_description]_<dialect>_<operation>.sql`;
    a shorter name makes it refuse the whole repository, and an operation other than
    `upgrade` or `downgrade` is never run.

    Fix: rename it, e.g. `047_sqlite_upgrade.sql` or `047_add_x_default_upgrade.sql`.

    Example: `047_upgrade.sql`.
    """
    for entry in ctx.tree.entries:
        if entry.kind != "sql":
            continue
        if entry.dialect is None:
            yield Hit(entry.path, 1, f"{entry.name} is not named NNN[_description]_<dialect>_<operation>.sql",
                      hint=f"rename it to {entry.digits}_<dialect>_upgrade.sql", revision=str(entry.number))
        elif entry.operation not in _OPERATIONS:
            yield Hit(entry.path, 1,
                      f"{entry.name} has operation {entry.operation!r}: migrate runs only upgrade and downgrade",
                      hint="end the name with _upgrade.sql or _downgrade.sql", revision=str(entry.number))


@rule("ML304", "duplicate-sql-script", "error", formats=("migrate",))
def duplicate_sql_script(ctx: RuleContext) -> Iterator[Hit]:
    """Two `.sql` scripts for one version, dialect and direction.

    Why: migrate keeps one of them, whichever the folder listing gives last, and never
    says so; the other never runs.

    Fix: merge the two scripts into one, or give one of them its own version.

    Example: `047_a_sqlite_upgrade.sql` and `047_b_sqlite_upgrade.sql`.
    """
    seen: dict[tuple[int, str, str], MigrateEntry] = {}
    for entry in sorted(ctx.tree.entries, key=lambda e: e.name):
        if entry.kind != "sql" or entry.dialect is None or entry.operation is None:
            continue
        key = (entry.number, entry.dialect, entry.operation)
        if key in seen:
            role = f"the {entry.dialect} {entry.operation} of version {entry.number}"
            yield Hit(entry.path, 1, f"{entry.name} and {seen[key].name} are both {role}: migrate runs only one",
                      hint="merge them into one script", revision=str(entry.number))
        else:
            seen[key] = entry


@rule("ML305", "unknown-dialect", "warning", formats=("migrate",))
def unknown_dialect(ctx: RuleContext) -> Iterator[Hit]:
    """A SQL script for a dialect migrate never matches (`postgres` for `postgresql`).

    Why: migrate picks a SQL script by the engine's dialect name; a misspelt dialect is
    silently skipped and the Python script (or nothing) runs instead.

    Fix: use the dialect's engine name: sqlite, postgresql, mysql, oracle, mssql, or default.

    Example: `047_add_x_postgres_upgrade.sql`.
    """
    for entry in ctx.tree.entries:
        if entry.kind == "sql" and entry.dialect is not None and entry.dialect not in KNOWN_DIALECTS:
            near = difflib.get_close_matches(entry.dialect, sorted(KNOWN_DIALECTS), n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}?" if near else "use sqlite, postgresql, mysql, oracle, mssql or default"
            yield Hit(entry.path, 1,
                      f"{entry.name} is for dialect {entry.dialect!r}: no SQLAlchemy engine has that name, "
                      "so it never runs",
                      hint=hint, revision=str(entry.number))


@rule("ML306", "stray-numbered-entry", "error", formats=("migrate",))
def stray_numbered_entry(ctx: RuleContext) -> Iterator[Hit]:
    """A numbered file or folder that is no script: migrate makes it an empty version.

    Why: every name starting with three digits claims a version; a `047_notes.txt` or
    a `047_old/` folder alone makes version 47 exist with nothing to run, and an upgrade
    through it fails ("There is no script for 47 version"). Beside a script of the same
    number (a `047_x.pyc` next to `047_x.py`) such a name is harmless and not reported.

    Fix: rename or move the file so that its name does not start with digits.

    Example: `047_readme.txt`.
    """
    for number, entries in by_number(ctx.tree).items():
        if any(e.kind in ("py", "sql") for e in entries):
            continue
        for entry in entries:
            what = "folder" if entry.kind == "dir" else "file"
            yield Hit(entry.path, 1,
                      f"{entry.name} is a numbered {what} that is no script: version {number} exists with "
                      "nothing to run and upgrades through it fail",
                      hint="rename it so that it does not start with digits", revision=str(number))


@rule("ML307", "ignored-short-number", "warning", formats=("migrate",))
def ignored_short_number(ctx: RuleContext) -> Iterator[Hit]:
    """A script named with 1 or 2 digits, which migrate silently ignores.

    Why: migrate only reads names that start with at least three digits; `7_add_x.py`
    never runs and nothing says so.

    Fix: pad the number to three digits (`007_add_x.py`).

    Example: `7_add_x.py`.
    """
    for path in ctx.tree.short_numbered:
        name = path.rsplit("/", 1)[-1]
        digits = name.split("_", 1)[0].split(".", 1)[0]
        yield Hit(path, 1, f"{name} is ignored by migrate: version names need at least three digits",
                  hint=f"rename it to {digits.zfill(3)}{name[len(digits):]}")


@rule("ML308", "old-repository-format", "error", formats=("migrate",))
def old_repository_format(ctx: RuleContext) -> Iterator[Hit]:
    """The directory-per-version layout of migrate before 0.5 (a `versions/1/` folder).

    Why: migrate refuses to load a repository whose versions folder contains `1`
    ("It looks like you have a repository in the old format").

    Fix: convert the repository to numbered scripts (`001_description.py`).

    Example: `versions/1/` next to numbered scripts.
    """
    if ctx.tree.old_format:
        yield Hit(f"{ctx.tree.version_locations[0]}/1", 1,
                  "versions/1 is the old directory-per-version layout: migrate refuses the repository",
                  hint="convert it to numbered scripts (001_description.py)")


@rule("ML309", "timestamp-numbering", "error", formats=("migrate",))
def timestamp_numbering(ctx: RuleContext) -> Iterator[Hit]:
    """Timestamp version numbers: migrate cannot upgrade across them.

    Why: migrate walks every integer between two versions; with timestamp numbers the
    numbers in between do not exist, so `db sync` (an upgrade over more than one
    version) fails on the first missing number. Only an upgrade one version at a time
    works, which no deployment does: an error, like a numbering gap (ML302).

    Fix: renumber sequentially, or upgrade one version at a time.

    Example: `use_timestamp_numbering = True` and `20130101120000_x.py`.
    """
    tree = ctx.tree
    if uses_timestamps(tree) and len(by_number(tree)) > 1:
        first = sorted(by_number(tree).items())[1][1][0]
        yield Hit(first.path, 1, "versions are numbered by timestamp: migrate cannot upgrade across them "
                  "(`db sync` fails at the first missing number)",
                  hint="renumber the versions sequentially")


def _json_line(tree: Tree, key: str) -> int:
    versions_json = tree.versions_json
    assert versions_json is not None
    for version, _files, line in versions_json.versions:
        if version == key:
            return line
    return 1


@rule("ML310", "versions-json-mismatch", "error", formats=("migrate",))
def versions_json_mismatch(ctx: RuleContext) -> Iterator[Hit]:
    """`versions.json` disagrees with the files on disk.

    Why: `versions.json` maps each version to its files so that two changes taking the
    same number conflict in git instead of colliding after merge; once it disagrees with
    the folder, it no longer protects anything.

    Fix: list every numbered script under its number, and only existing files.

    Example: `{"047": ["047_a.py"]}` while the folder holds `047_b.py`.
    """
    tree = ctx.tree
    listing = tree.versions_json
    if listing is None:
        return
    if listing.problem:
        yield Hit(listing.path, listing.line, f"versions.json {listing.problem}")
        return
    on_disk = {e.name: e for e in tree.entries if e.kind in ("py", "sql")}
    listed: dict[str, str] = {}
    for key, files, line in listing.versions:
        for name in files:
            listed[name] = key
            entry = on_disk.get(name)
            if entry is None:
                yield Hit(listing.path, line, f"versions.json lists {name} under {key}, but there is no such script",
                          hint="remove it from versions.json or restore the file", revision=str(int(key)))
            elif entry.number != int(key):
                yield Hit(listing.path, line,
                          f"versions.json lists {name} under {key}, but its name says {entry.number}",
                          hint=f"move it under \"{entry.digits}\"", revision=str(int(key)))
    for name, entry in sorted(on_disk.items()):
        if name not in listed:
            yield Hit(listing.path, _json_line(tree, entry.digits),
                      f"{name} is not listed in versions.json", hint=f"add it under \"{entry.digits}\"",
                      revision=str(entry.number))


def _sql_covers_upgrade(entries: Sequence[MigrateEntry]) -> bool:
    return any(e.kind == "sql" and e.dialect == "default" and e.operation == "upgrade" for e in entries)


@rule("ML311", "missing-upgrade", "error", formats=("migrate",))
def missing_upgrade(ctx: RuleContext) -> Iterator[Hit]:
    """A migrate Python script with no `upgrade(migrate_engine)` function.

    Why: migrate calls `upgrade` of each script it runs and fails with "Function
    'upgrade' is not defined in this script" half way through an upgrade.

    Fix: define `def upgrade(migrate_engine):` (`pass` for a placeholder).

    Example: a script that defines only `downgrade`.
    """
    grouped = by_number(ctx.tree)
    by_path = {e.path: e for e in ctx.tree.entries}
    for script in ctx.tree.scripts:
        entry = by_path.get(script.path)
        unreadable = script.problem is not None and script.problem.kind != "empty"
        if unreadable or entry is None or "upgrade" in script.functions:
            continue
        if _sql_covers_upgrade(grouped[entry.number]):
            continue
        yield Hit(script.path, 1, f"{script.name} defines no upgrade(migrate_engine) function",
                  hint="add def upgrade(migrate_engine): pass", revision=str(entry.number))


@rule("ML312", "invalid-migrate-cfg", "error", formats=("migrate",))
def invalid_migrate_cfg(ctx: RuleContext) -> Iterator[Hit]:
    """`migrate.cfg` is missing, unreadable, or lacks `repository_id` or `version_table`.

    Why: migrate's `Repository` requires the file and reads `repository_id` and
    `version_table` from its `[db_settings]`; without them no command works.

    Fix: restore `migrate.cfg` with a `[db_settings]` section naming `repository_id`.

    Example: a repository folder with only `versions/`.
    """
    config = ctx.tree.migrate_config
    if config is not None and config.problem:
        yield Hit(f"{ctx.tree.path}/migrate.cfg", config.line, f"migrate.cfg {config.problem}",
                  hint="restore migrate.cfg with [db_settings] repository_id = <name>")
