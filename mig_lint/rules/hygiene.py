"""ML209-ML212: revision hygiene that alembic itself never checks (issue 14).

All four are alembic-only: a migrate version is its file's number (ML3xx judge those
names), migrate reads its history from file names and imports a script only to run it,
and migrate has no offline `--sql` mode.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace

from mig_lint.model import Hit
from mig_lint.model import Script
from mig_lint.model import SLOTS
from mig_lint.rules.base import rule
from mig_lint.rules.base import RuleContext
from mig_lint.rules.base import script_rule
from mig_lint.rules.placeholder import placeholder_reason

# alembic formats file_template with `%`: `%(rev)s`, `%(slug)s`, `%(year)d`, `%(month).2d`...
_TOKEN = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")
_NUMBERS = frozenset({"epoch", "year", "month", "day", "hour", "minute", "second"})
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")
_ORDER_PREFIX = r"(?:\d+_)?"  # `NNN_<rev>_<slug>.py`: a number that orders the files (ckan)


@dataclass(frozen=True, **SLOTS)
class _NameTemplate:
    """A `file_template` as two patterns: what may stand before `%(rev)s`, and after it.

    `separator`: for a template `%(rev)s<separator>%(slug)s` (alembic's own), the text between.
    """

    before: re.Pattern[str]
    after: re.Pattern[str]
    separator: str | None = None

    def carries(self, name: str, revision: str) -> bool:
        """Whether the file name (without `.py`) holds `revision` where the template puts it."""
        if self.separator is not None and name.startswith(revision) and "\n" not in name:
            if len(name) == len(revision) or name.startswith(self.separator, len(revision)):
                return True  # what the patterns say (their `.*` stops at a newline), found without them
        at = name.find(revision)
        while at != -1:
            if self.before.fullmatch(name, 0, at) and self.after.fullmatch(name, at + len(revision)):
                return True
            at = name.find(revision, at + 1)
        return False


def _pattern(template: str) -> str:
    """A piece of a template as a regex: numbers are digits, the slug and other tokens free text.

    The slug may be missing with the separator before it (`1a2b.py`).
    """
    pattern, at = "", 0
    for match in _TOKEN.finditer(template):
        literal = re.escape(template[at:match.start()])
        pattern += literal + r"\d+" if match.group(1) in _NUMBERS else f"(?:{literal}.*)?"
        at = match.end()
    return pattern + re.escape(template[at:])


def name_template(template: str) -> _NameTemplate | None:
    """The file names `template` makes, or None when it puts no `%(rev)s` in them."""
    rev = next((m for m in _TOKEN.finditer(template) if m.group(1) == "rev"), None)
    if rev is None:
        return None
    at = template.find("%", rev.end())
    slug = _TOKEN.fullmatch(template, at) if at != -1 else None
    plain = rev.start() == 0 and slug is not None and slug.group(1) == "slug"
    return _NameTemplate(re.compile(_ORDER_PREFIX + _pattern(template[:rev.start()])),
                         re.compile(_pattern(template[rev.end():])), template[rev.end():at] if plain else None)


def _shown_template(template: str, revision: str) -> str:
    return _TOKEN.sub(lambda m: revision if m.group(1) == "rev" else f"<{m.group(1)}>", template) + ".py"


@rule("ML209", "file-name-mismatch", "warning", formats=("alembic",))
def file_name_mismatch(ctx: RuleContext) -> Iterator[Hit]:
    """The file name does not carry the revision id where the tree's `file_template` puts it.

    Why: `alembic revision` names each file from `file_template` (alembic.ini or
    `[tool.alembic]`; `%%(rev)s_%%(slug)s` by default), so people and tools find a
    revision by its id in the file name. A file copied from another revision keeps the
    old id in its name, and a search for the new id finds nothing, or the wrong file.
    The slug may be any text and may be missing; dates and times in the template are
    any digits; a leading number that orders the files (`001_<rev>_<slug>.py`, as ckan
    names them) is allowed. A template without `%%(rev)s` puts no id in the name:
    nothing is checked; nor is an id ML206 reports invalid. A named ini section without `file_template` takes the
    `[alembic]` section's.

    Fix: rename the file so the id stands where the template puts it.

    Example: `versions/7f74b9710cef_add_users.py` holding `revision = '337a09a89aad'` (bad).
    Safe: `versions/337a09a89aad_add_users.py`.
    """
    template = ctx.tree.file_template
    names = name_template(template)
    if names is None:
        return
    invalid = {hit.path for code, hit in ctx.tree.script_hits if code == "ML206"}  # no place in a name
    for revision in ctx.graph.revisions.values():
        name = revision.path.rpartition(os.sep)[2]
        if not name.endswith(".py") or revision.path in invalid or names.carries(name[:-3], revision.id):
            continue
        expected = _shown_template(template, revision.id)
        yield Hit(revision.path, revision.line,
                  f"{name} does not carry revision {revision.id!r} where file_template {template!r} puts it",
                  hint=f"rename it to {expected}", revision=revision.id)


@script_rule("ML210", "placeholder-revision-id", "warning", formats=("alembic",))
def placeholder_revision_id(script: Script) -> Iterator[Hit]:
    """A hand-typed revision id: `a1b2c3d4e5f6`, `000000000001`, `abc123`, a run or a repetition.

    Why: alembic makes each id from 12 random hex digits (`uuid4().hex[-12:]`), so two
    branches never pick the same one. An id typed by hand follows a pattern, and the
    next person types the same pattern: two revisions with one id (ML108) on merge.

    The heuristic is chosen so that ids made as alembic makes them almost never match
    (`benchmarks/placeholder_ids.py`: 4 of 2,000,000 on 2026-12-04, one in 500,000).
    Only ids written in lower-case hex digits are judged, so word ids (`liberty`,
    `add_users`), ids with separators or capitals are chosen names; so are numbered
    ids shorter than 12 digits (`001`, the `0217` ids `mig-lint convert` writes) and
    hex words shorter than 12 letters (`facade`). An id is hand-typed when it holds a
    hex word of 6 letters or more (`deadbeef`, `c0ffee`); or, at 12 characters or
    more, a run of 7 digits stepping by one (`123456789abc`), two interleaved runs of
    6 and 4 (`a1b2c3d4e5f6`), or 6 characters in a row each equal to the one 1, 2 or 3
    places before (`000000000001`, `abababababab`); or, shorter than 12, two
    interleaved runs of 3 or more (`a1b2c3`); or, from 6 characters, when it is made
    wholly of runs of 3 or more characters each stepping by -1, 0 or +1 (`abc123`,
    `aaa111`, `abcdef012345`).

    Fix: give the revision a generated id (`alembic revision` makes one;
    `python -c "import uuid; print(uuid.uuid4().hex[-12:])"`) and update the
    revisions that name it.

    Example: `revision = 'a1b2c3d4e5f6'` (bad).
    Safe: `revision = '3f9c41e07b2d'`, as `alembic revision` makes it.
    """
    revision = script.assignment("revision")  # read even when a syntax error follows the header, as the graph is
    reason = placeholder_reason(revision.value) if revision is not None and isinstance(revision.value, str) else None
    if revision is not None and reason is not None:
        yield Hit(script.path, revision.span.line,
                  f"revision {revision.value!r} looks hand-typed ({reason}): another branch may type the same id",
                  hint="use a generated id: python -c \"import uuid; print(uuid.uuid4().hex[-12:])\"",
                  revision=str(revision.value), column=revision.span.column)


def _project_root(start: str) -> str | None:
    """The nearest folder at or above `start` with pyproject.toml, setup.py or setup.cfg, within the repository."""
    directory = os.path.abspath(start)
    while True:
        if any(os.path.isfile(os.path.join(directory, marker)) for marker in _PROJECT_MARKERS):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory or os.path.exists(os.path.join(directory, ".git")):
            return None
        directory = parent


def _top_level_names(folder: str) -> set[str]:
    """The packages (folders with `__init__.py`) and modules a folder puts on the import path."""
    names: set[str] = set()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return names
    for entry in entries:
        if entry.name.endswith(".py") and entry.name[:-3].isidentifier() and entry.name != "setup.py":
            names.add(entry.name[:-3])
        elif entry.name.isidentifier() and os.path.isfile(os.path.join(entry.path, "__init__.py")):
            names.add(entry.name)
    return names


def _dotted(folder: str, base: str) -> str | None:
    """`folder` as a module path from `base` when every folder between holds `__init__.py`."""
    relative = os.path.relpath(folder, base)
    if relative.startswith(".."):
        return None
    parts = [] if relative == "." else relative.split(os.sep)
    for i in range(1, len(parts) + 1):
        if not os.path.isfile(os.path.join(base, *parts[:i], "__init__.py")):
            return None
    return ".".join(parts) or None


def application(tree_root: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The application's top-level names, and the module paths of the tree itself (its own helpers).

    The application is what the project around the tree puts on the import path: the
    packages and modules of its root (the nearest folder with pyproject.toml, setup.py
    or setup.cfg) and of its `src/` folder.
    """
    root = _project_root(tree_root)
    if root is None:
        return frozenset(), ()
    bases = (root, os.path.join(root, "src"))
    names = frozenset(n for base in bases for n in _top_level_names(base))
    own = tuple(d for d in (_dotted(os.path.abspath(tree_root), base) for base in bases) if d)
    return names, own


def _is_under(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def _application_imports(ctx: RuleContext, hits: Iterator[Hit]) -> Iterator[Hit]:
    """The module-level imports of the application that `allowed-imports` does not allow."""
    found = list(hits)
    if not found:
        return
    names, own = application(ctx.tree.path)
    allowed = ctx.config.allowed_imports
    for hit in found:
        imported = [n for n in hit.subject if n.split(".")[0] in names
                    and not _is_under(n, own) and not _is_under(n, allowed)]
        if imported:
            top = imported[0].split(".")[0]
            yield replace(hit, message=f"imports {', '.join(imported)} of the application ({top}) at module level: "
                                       f"reading the history then imports the application, and a change to it "
                                       f"breaks this revision")


@script_rule("ML211", "application-import", "warning", formats=("alembic",), judge=_application_imports)
def application_import(script: Script) -> Iterator[Hit]:
    """A revision that imports the application at module level.

    Why: alembic imports every revision to read the history (`heads`, `history`,
    `upgrade` of any revision), so a module-level `from myapp.models import User`
    makes every alembic command import the application, with its settings and
    services; and a later rename or change of `myapp.models` breaks the old revision,
    which must keep describing the schema as it was.

    The application is what the project around the tree puts on the import path: the
    packages and modules at the root of the nearest folder above the tree with
    pyproject.toml, setup.py or setup.cfg, and in its `src/` folder. Third-party
    libraries (sqlalchemy_utils, geoalchemy2, sqlmodel...) and the standard library are
    not the application; nor are modules inside the tree itself, relative imports,
    imports under `if TYPE_CHECKING:` and imports inside functions. `allowed-imports =
    ["myapp.types"]` allows a module and everything below it.

    Fix: import inside `upgrade()` / `downgrade()`, or better copy into the revision
    what it needs (a table definition, a constant), as it was when the revision was
    written; allow modules that are stable on purpose in `allowed-imports`.

    Example: `from myapp.models import User` at the top of a revision (bad).
    Safe: `users = sa.table("users", sa.column("id"))` inside the revision.
    """
    for imported in script.imports:
        yield Hit(script.path, imported.line, f"imports {', '.join(imported.names)} at module level",
                  hint="import inside upgrade()/downgrade(), copy what the revision needs into it, "
                       "or list the module in allowed-imports",
                  column=imported.column, subject=imported.names)


@script_rule("ML212", "offline-unsafe", "warning", formats=("alembic",), opt_in=True)
def offline_unsafe(script: Script) -> Iterator[Hit]:
    """Code in `upgrade()` / `downgrade()` that needs a live connection (opt-in).

    Why: `alembic upgrade --sql` (offline mode) renders the migration as a SQL script
    without a database; `op.get_bind()` then returns a connection that only prints,
    so anything reading from the database fails: `inspect(bind)` and
    `Inspector.from_engine`, reflection (`autoload_with=`, `autoload=True`,
    `MetaData.reflect`), results of `.execute(...)` (assigned, iterated, `.fetchall()`,
    `.scalar()`, `.first()`...), `.scalar(...)`, ORM queries and sessions. Projects whose
    DBAs review or run the SQL script hit this at release time. Functions that
    `upgrade` / `downgrade` call are read too; code behind `if not
    context.is_offline_mode():`, or after an `if context.is_offline_mode():` that
    returns or raises, is online-only by design and not reported. `op.execute(...)`
    and statements whose result is not used render fine. Enable with
    `extend-select = ["ML212"]`.

    Fix: write the change as SQL (`op.execute(...)`, `op.bulk_insert`, SQL
    expressions with `sa.table`), or guard the online-only part with
    `context.is_offline_mode()`.

    Example: `if "users" not in sa.inspect(op.get_bind()).get_table_names():` in
    `upgrade()` (bad).
    Safe: `op.create_table("users", ...)` alone, or the check inside
    `if not context.is_offline_mode():`.
    """
    for use in script.live_uses:
        yield Hit(script.path, use.line,
                  f"{use.what} in {use.function}() needs a live connection: `alembic upgrade --sql` fails here",
                  hint="write it as SQL (op.execute), or guard it with context.is_offline_mode()",
                  column=use.column)
