"""Compare `mig-lint check` with alembic's own `ScriptDirectory` on public projects.

    python benchmarks/real_projects.py --projects /work/projects            # every project
    python benchmarks/real_projects.py neutron keystone --allow-disagree    # some, print only
    python benchmarks/real_projects.py --history                            # two heads in git history

Each project is a checkout at PROJECTS/<name> (see README.md for fetching them). For each
one, this script holds as data the tree(s) that the project's *own code* configures: the
script_location, version_locations and recursive_version_locations that its CLI, env.py,
Flask-Migrate call or alembic.ini selects, resolved to folders of the checkout (so that
alembic never has to import the project to resolve `package:folder`).

mig-lint side: `mig-lint check --format json` and `mig-lint graph --format json`, run from the
project root with no configuration and an empty temporary MIG_LINT_CACHE_DIR.

alembic side: one subprocess per project (this file run with `--alembic-side`) builds
`alembic.config.Config()` with those options, `ScriptDirectory.from_config`, and reads the
revision map: the revision ids, `get_heads()` and the branch labels of each head. alembic
loads every revision script as a module, and the scripts import their project and
third-party packages that are not installed here, so the subprocess:

- puts the project's source folder first on sys.path, so that the project's own modules
  (e.g. neutron's `neutron.db.migration.cli`, whose `EXPAND_BRANCH` neutron's scripts use
  in `branch_labels = (cli.EXPAND_BRANCH,)`) are imported from the checkout, never from an
  installed copy; alembic itself (and so SQLAlchemy) is imported before anything below;
- appends to sys.meta_path a finder that is asked last, only for modules that no other
  finder can find and that are not standard-library names (oslo_*, flask, flask_migrate,
  sqlmodel, pydantic, peewee, ... and any missing module of the project), and supplies a
  permissive stub package for each: any attribute is a stub value; calling a stub returns a
  new stub, or, called with a single function or class, returns it (decorators pass
  through); a stub can be subclassed (the class then answers unknown class attributes with
  stubs and accepts any class keywords), indexed, iterated (empty), used as a context manager,
  combined with operators (a stub) and is false;
- when a class mixes a stub-derived base with a real metaclass (say a declarative base),
  creates a metaclass deriving from both (`builtins.__build_class__` is wrapped for that);
- when a module of the project itself raises while being imported (because it computes
  with stubs at import time), replaces it by a stub module, and when a revision script
  raises after it has set `revision` (e.g. lifelike's `sa.Binary`, gone in SQLAlchemy 2),
  keeps what it defined; each such case is counted on stderr and listed with -v;
- rejects the tree (an error in the table) if a header value alembic reads (`revision`,
  `down_revision`, `branch_labels`, `depends_on`) is or holds a stub, so the stubs never
  stand in for a value that is compared;
- sets sys.dont_write_bytecode, so no __pycache__ is written into the checkout.

What is installed in the interpreter (alembic, SQLAlchemy, the standard library) is used
for real.

The table: alembic revisions / mig-lint revisions are counts; heads are the heads' ids;
labels are `label=head` for each branch label alembic sees on a head; ML111 counts that
tree's ML111 findings; exit is mig-lint check's exit code; agree is `yes` when mig-lint's
revision ids, heads and head labels equal alembic's, `ML111` when they differ but every
folder holding a revision that only one side read is named (its path, or its path inside
the mig-lint tree) by an ML111 finding of the tree, else `no`. A mig-lint run that prints no
report shows its last stderr line instead of the count. The script exits 1 when a row
disagrees (unless --allow-disagree).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from bench_check import mig_lint_command


@dataclass(frozen=True)
class Tree:
    """One alembic configuration of a project: folders relative to the project root."""

    name: str
    script_location: str
    version_locations: tuple[str, ...] = ()
    recursive: bool = False


@dataclass(frozen=True)
class Project:
    name: str
    repo: str
    commit: str  # the commit the tree data below was read and measured at
    source: str  # the folder holding the project's top-level package (first on sys.path)
    trees: tuple[Tree, ...] = field(default=())


def _releases(versions: str, releases: Sequence[str], branches: Sequence[str]) -> tuple[str, ...]:
    """versions/ then versions/<release>/<branch> for each release and branch, as neutron and keystone build it."""
    return (versions, *(f"{versions}/{r}/{b}" for r in releases for b in branches))


NEUTRON_RELEASES = ("liberty", "mitaka", "newton", "ocata", "pike", "queens", "rocky", "stein", "train",
                    "ussuri", "victoria", "wallaby", "xena", "yoga", "zed", "2023.1", "2023.2", "2024.1",
                    "2024.2", "2025.1", "2025.2", "2026.1", "2026.2")
NEUTRON = "neutron/db/migration/alembic_migrations"
KEYSTONE = "keystone/common/sql/migrations"
PREFECT = "src/prefect/server/database/_migrations"

PROJECTS: tuple[Project, ...] = (
    # nova/db/migration.py:39-46 `_find_alembic_conf(database)` loads nova/db/{main,api}/alembic.ini,
    # whose script_location is %(here)s/migrations (line 5); no version_locations.
    Project("nova", "openstack/nova", "00a030403f672b975364c855b7d25b40ef83e757", ".", (
        Tree("main", "nova/db/main/migrations"),
        Tree("api", "nova/db/api/migrations"),
    )),
    # neutron/db/migration/cli.py:548-559 `_set_version_locations`: versions/ plus
    # versions/<release>/{expand,contract} for RELEASES (cli.py:42-65, MIGRATION_BRANCHES :70);
    # script_location neutron.db.migration:alembic_migrations (setup.cfg entry point, cli.py:569-572).
    Project("neutron", "openstack/neutron", "2131d26f73262ec89a5d3e3e0d65521df4908e65", ".", (
        Tree("neutron", NEUTRON, _releases(f"{NEUTRON}/versions", NEUTRON_RELEASES, ("expand", "contract"))),
    )),
    # keystone/common/sql/upgrades.py:69-95 `_find_alembic_conf`: alembic.ini (script_location
    # %(here)s/migrations) plus version_locations VERSIONS_PATH and <release>/{expand,contract}
    # for RELEASES (upgrades.py:40, 46-49, 88-93).
    Project("keystone", "openstack/keystone", "30ef2ffa65a3486ef882f00538e20f2253c57d4c", ".", (
        Tree("keystone", KEYSTONE, _releases(f"{KEYSTONE}/versions", ("yoga", "bobcat", "2024.1", "2025.2", "2026.1"),
                                             ("expand", "contract"))),
    )),
    # glance/db/sqlalchemy/alembic_migrations/__init__.py:26-45 `get_alembic_config`: the alembic.ini
    # next to it, script_location %(here)s (alembic.ini:5); no version_locations.
    Project("glance", "openstack/glance", "c76abb08e2bc82582389059dcbbc234293ce13b9", ".", (
        Tree("glance", "glance/db/sqlalchemy/alembic_migrations"),
    )),
    # octavia/db/migration/cli.py:146-151: alembic.ini, then script_location
    # octavia.db.migration:alembic_migrations.
    Project("octavia", "openstack/octavia", "0e6ea11c2992ce2746bb0cf0fb5cb3e81d5b94ba", ".", (
        Tree("octavia", "octavia/db/migration/alembic_migrations"),
    )),
    # ironic/db/sqlalchemy/migration.py:29-30: ironic/db/sqlalchemy/alembic.ini, script_location
    # %(here)s/alembic (alembic.ini:5).
    Project("ironic", "openstack/ironic", "7bc6aba7dda0b8a863d0310af6f06925d30c9563", ".", (
        Tree("ironic", "ironic/db/sqlalchemy/alembic"),
    )),
    # placement/db/sqlalchemy/migration.py:32-33: placement/db/sqlalchemy/alembic.ini,
    # script_location %(here)s/alembic (alembic.ini:5).
    Project("placement", "openstack/placement", "7ad9ef078b490423ac6605e805fad2b75c8f2107", ".", (
        Tree("placement", "placement/db/sqlalchemy/alembic"),
    )),
    # aodh/storage/impl_sqlalchemy.py:152-157 `_get_alembic_config`: aodh/storage/sqlalchemy/alembic/
    # alembic.ini, script_location aodh.storage.sqlalchemy:alembic (alembic.ini:2).
    Project("aodh", "openstack/aodh", "a52eaa00527eb71b50d5b5301bad8dcab84fb3c2", ".", (
        Tree("aodh", "aodh/storage/sqlalchemy/alembic"),
    )),
    # mistral/db/sqlalchemy/migration/cli.py:144-151: alembic.ini, then script_location
    # mistral.db.sqlalchemy.migration:alembic_migrations (the ini's own is relative to the cwd).
    Project("mistral", "openstack/mistral", "3422e078abaeb1257d986369007966768c10d4c5", ".", (
        Tree("mistral", "mistral/db/sqlalchemy/migration/alembic_migrations"),
    )),
    # gnocchi/indexer/sqlalchemy.py:308-314 `_get_alembic_config`: gnocchi/indexer/alembic/alembic.ini,
    # script_location gnocchi.indexer:alembic (alembic.ini:2).
    Project("gnocchi", "gnocchixyz/gnocchi", "a72db93f93034540974e22ecad115980dd2c5e68", ".", (
        Tree("gnocchi", "gnocchi/indexer/alembic"),
    )),
    # ckan/model/__init__.py:190-193 `_alembic_ini` = ckan/migration/alembic.ini (script_location
    # %(here)s); plugins: ckan/cli/db.py:253-273 `_resolve_alembic_config` takes
    # <plugin package>/migration/<plugin>/alembic.ini (script_location %(here)s).
    Project("ckan", "ckan/ckan", "2dbe2c18f65ec75798c3667dd412c2320ac44ab0", ".", (
        Tree("ckan", "ckan/migration"),
        Tree("activity", "ckanext/activity/migration/activity"),
        Tree("tracking", "ckanext/tracking/migration/tracking"),
        Tree("example_database_migrations",
             "ckanext/example_database_migrations/migration/example_database_migrations"),
    )),
    # redash/__init__.py:50 `Migrate(compare_type=True)`, redash/app.py:50 init_app: Flask-Migrate's
    # default directory "migrations" (run from the root); migrations/alembic.ini has no script_location.
    Project("redash", "getredash/redash", "ca79fe988d81cdac9675b412f3dfcab107bc1fbc", ".", (
        Tree("redash", "migrations"),
    )),
    # CTFd/utils/migrations/__init__.py:14 `Migrate()` (init_app CTFd/__init__.py:254, upgrade() :182-183 with
    # Flask-Migrate's default directory "migrations"; stamp :50-52 with <root>/migrations);
    # plugins: CTFd/plugins/migrations.py:66-79 script_location = version_locations =
    # CTFd/plugins/<plugin>/migrations.
    Project("ctfd", "CTFd/CTFd", "91ced62d44d3ec3142a0948ee96ed19947cfc979", ".", (
        Tree("ctfd", "migrations"),
        Tree("dynamic_challenges", "CTFd/plugins/dynamic_challenges/migrations",
             ("CTFd/plugins/dynamic_challenges/migrations",)),
    )),
    # web/pgadmin/setup/db_upgrade.py:18-25 flask_migrate.upgrade(<web>/migrations);
    # web/migrations/alembic.ini has no script_location.
    Project("pgadmin4", "pgadmin-org/pgadmin4", "bc58657d3d3ab4209cdadea6d191b632cf1572cc", "web", (
        Tree("pgadmin4", "web/migrations"),
    )),
    # indico/core/db/sqlalchemy/migration.py:24 `Migrate(db=db)`, :94 directory
    # <indico>/migrations; indico/migrations/alembic.ini has no script_location.
    Project("indico", "indico/indico", "b8f1fde8b81b199341cc84a75909cb0ed362d44e", ".", (
        Tree("indico", "indico/migrations"),
    )),
    # data/runmigration.py:13-14 Config() with script_location data:migrations (alembic.ini:5 at the
    # root says data/migrations too).
    Project("quay", "quay/quay", "ffba0c70e2d8d522290a4fbbaa704dbf2fc37f34", ".", (
        Tree("quay", "data/migrations"),
    )),
    # src/dispatch/config.py:220-227 ALEMBIC_{CORE,TENANT}_REVISION_PATH, set as script_location in
    # src/dispatch/cli.py:476-484 and database/manage.py:28-33 (alembic.ini sections [core], [tenant]).
    Project("dispatch", "Netflix/dispatch", "dd2837e82a0bf5565b1b4b4b91ea30b7262d4061", "src", (
        Tree("core", "src/dispatch/database/revisions/core"),
        Tree("tenant", "src/dispatch/database/revisions/tenant"),
    )),
    # src/prefect/server/database/alembic_commands.py:41-50 loads alembic.ini (script_location
    # prefect:server:database:_migrations); _migrations/env.py:99,214 sets version_locations to
    # orm.versions_dir, which orm_models.py:1606-1631 makes versions/postgresql or versions/sqlite.
    Project("prefect", "PrefectHQ/prefect", "ce79dd3d6cfa2b7337265498210dbc4d25bcdc98", "src", (
        Tree("postgresql", PREFECT, (f"{PREFECT}/versions/postgresql",)),
        Tree("sqlite", PREFECT, (f"{PREFECT}/versions/sqlite",)),
    )),
    # Config() with script_location <backend>/migrations: src/aiida/storage/psql_dos/migrator.py:425-430,
    # storage/sqlite_dos/backend.py:122-127, storage/sqlite_zip/migrator.py:312-315.
    Project("aiida-core", "aiidateam/aiida-core", "60eef76a736ff669ca31f0d0ce67a76e350cf94d", "src", (
        Tree("psql_dos", "src/aiida/storage/psql_dos/migrations"),
        Tree("sqlite_dos", "src/aiida/storage/sqlite_dos/migrations"),
        Tree("sqlite_zip", "src/aiida/storage/sqlite_zip/migrations"),
    )),
    # server/scripts/db.py:23-24 Config(server/alembic.ini), script_location migrations
    # (alembic.ini:5, relative to server/, where the project runs alembic).
    Project("polar", "polarsource/polar", "c6c3645e639ee8eeaa05aa0835cf8e39e330382f", "server", (
        Tree("polar", "server/migrations"),
    )),
    # appserver/neo4japp/database.py:41 `Migrate(compare_type=True)`, factory.py:164 init_app: directory
    # "migrations" from appserver/; appserver/migrations/alembic.ini:10 script_location "." (run there
    # by appserver/bin/migration-integrity-check:8-10).
    Project("lifelike", "SBRG/lifelike", "c16a63cbe776ea2e2ecca411a4d3a960afa84507", "appserver", (
        Tree("lifelike", "appserver/migrations"),
    )),
)


# --- alembic side (runs in a subprocess per project) ----------------------------------------


class _StubMeta(type):
    """The metaclass of stub-derived classes: class attributes are stubs too."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub()


class _StubBase:
    """What a class subclassing a stub gets as its base (see _Stub.__mro_entries__)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        pass

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub()


class _Stub:
    """A value of a module that is not installed: permissive in every way a header needs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # also answers `StubClass.__init__(self, ...)` in a subclass's __init__

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and (isinstance(args[0], type) or callable(args[0])):
            return args[0]
        return _Stub()

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        return (_StubMeta("Stub", (_StubBase,), {}),)

    def __getitem__(self, key: Any) -> Any:
        return _Stub()

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False

    def __enter__(self) -> Any:
        return _Stub()

    def __exit__(self, *args: Any) -> None:
        return None

    def __or__(self, other: Any) -> Any:
        return _Stub()

    __ror__ = __or__
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __or__
    __mod__ = __rmod__ = __and__ = __rand__ = __neg__ = __invert__ = __lt__ = __gt__ = __le__ = __ge__ = __or__


def _resolve_metaclass_conflicts() -> None:
    """A class with a stub-derived base and, say, a declarative base gets both metaclasses combined."""
    import builtins
    import types

    original = builtins.__build_class__

    def build_class(func: Any, name: str, *bases: Any, **kwargs: Any) -> Any:
        try:
            return original(func, name, *bases, **kwargs)
        except TypeError as e:
            metas = list(dict.fromkeys(type(b) for b in types.resolve_bases(bases) if isinstance(b, type)))
            if "metaclass conflict" not in str(e) or "metaclass" in kwargs or len(metas) < 2:
                raise
            stubs = [m for m in metas if issubclass(m, _StubMeta)]
            combined = type("Combined", (*[m for m in metas if m not in stubs], *stubs), {})
            return original(func, name, *bases, metaclass=combined, **kwargs)

    builtins.__build_class__ = build_class  # type: ignore[assignment]


def _install_finders(source: Path, failed: list[str]) -> None:
    """Stubs for modules nothing can find; a project module that raises on import becomes a stub."""
    import importlib.abc
    import importlib.machinery
    import types

    class StubModule(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            return _Stub()

    class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
            if fullname.partition(".")[0] in sys.stdlib_module_names:
                return None  # winreg, msvcrt, ...: the standard library probes them with try/except ImportError
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

        def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
            module = StubModule(spec.name)
            module.__path__ = []
            module.__all__ = []  # type: ignore[attr-defined]
            return module

        def exec_module(self, module: types.ModuleType) -> None:
            pass

    class Guarded(importlib.abc.Loader):
        def __init__(self, loader: Any) -> None:
            self.loader = loader

        def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
            created: types.ModuleType | None = self.loader.create_module(spec)
            return created

        def exec_module(self, module: types.ModuleType) -> None:
            try:
                self.loader.exec_module(module)
            except Exception as e:
                failed.append(f"module {module.__name__} stubbed ({type(e).__name__}: {e})".splitlines()[0][:200])
                module.__class__ = StubModule

    class ProjectFinder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is None or spec.loader is None or not (spec.origin or "").startswith(f"{source}{os.sep}"):
                return None
            spec.loader = Guarded(spec.loader)
            return spec

    sys.meta_path.insert(0, ProjectFinder())
    sys.meta_path.append(StubFinder())


def _keep_partial_scripts(failed: list[str]) -> None:
    """A revision script that raises after its header (say `sa.Binary`, gone in SQLAlchemy 2) still counts."""
    import importlib.util

    from alembic.util import pyfiles

    def load_module_py(module_id: str, path: Any) -> Any:
        spec = importlib.util.spec_from_file_location(module_id, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            if not hasattr(module, "revision"):
                raise
            failed.append(f"script {os.path.basename(path)} kept ({type(e).__name__}: {e})".splitlines()[0][:200])
        return module

    pyfiles.load_module_py = load_module_py


def _alembic_tree(root: Path, tree: dict[str, Any]) -> dict[str, Any]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(root / tree["script_location"]))
    if tree["version_locations"]:
        config.set_main_option("version_locations", os.pathsep.join(str(root / v) for v in tree["version_locations"]))
    if tree["recursive"]:
        config.set_main_option("recursive_version_locations", "true")
    try:
        script = ScriptDirectory.from_config(config)
        revisions = list(script.walk_revisions("base", "heads"))
        heads = script.get_heads()
    except Exception as e:  # alembic raises on any graph problem or script that fails to load
        return {"error": f"{type(e).__name__}: {e}".splitlines()[0][:300]}
    for revision in revisions:
        for name in ("revision", "down_revision", "branch_labels", "depends_on"):
            value = getattr(revision.module, name, None)
            if isinstance(value, _Stub) or (isinstance(value, (tuple, list)) and any(isinstance(v, _Stub)
                                                                                      for v in value)):
                return {"error": f"{os.path.relpath(revision.path, root)}: {name} comes from a stub"}
    return {
        "revisions": sorted(r.revision for r in revisions),
        "paths": sorted(os.path.relpath(r.path, root) for r in revisions),
        "heads": sorted(heads),
        "labels": {h: sorted(script.get_revision(h).branch_labels) for h in heads},
    }


def alembic_side(spec: dict[str, Any]) -> dict[str, Any]:
    """In a fresh interpreter: every tree of one project as alembic reads it."""
    root = Path(spec["root"]).resolve()
    sys.dont_write_bytecode = True
    import alembic.config  # noqa: F401  (imported before the finders, so its own imports are real)
    import alembic.script  # noqa: F401

    source = root / spec["source"]
    sys.path.insert(0, str(source))
    failed: list[str] = []
    _install_finders(source, failed)
    _resolve_metaclass_conflicts()
    _keep_partial_scripts(failed)
    trees = {tree["name"]: _alembic_tree(root, tree) for tree in spec["trees"]}
    return {"trees": trees, "errors": failed}


# --- mig-lint side and the comparison --------------------------------------------------------


@dataclass(frozen=True)
class Row:
    project: str
    tree: str
    alembic: dict[str, Any]
    mig_lint: dict[str, Any] | None  # the tree of mig-lint's report matched to this one
    ml111: tuple[str, ...]  # the ML111 messages and paths of that tree
    ml101: int
    other: int  # findings of other codes on that tree
    exit_code: int
    agree: str
    error: str = ""  # mig-lint's last stderr line when it printed no report


def run_alembic(project: Project, root: Path, verbose: bool = False, timeout: float = 300) -> dict[str, Any]:
    spec = {"root": str(root), "source": project.source, "trees": [
        {"name": t.name, "script_location": t.script_location, "version_locations": list(t.version_locations),
         "recursive": t.recursive} for t in project.trees]}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        done = subprocess.run([sys.executable, "-B", __file__, "--alembic-side", json.dumps(spec)], cwd=root,
                              capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {t.name: {"error": f"alembic side timed out after {timeout} s"} for t in project.trees}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {t.name: {"error": f"alembic side failed: {last}"} for t in project.trees}
    result = json.loads(done.stdout)
    if result["errors"] and not verbose:
        print(f"{project.name}: {len(result['errors'])} import errors on the alembic side (-v lists them)",
              file=sys.stderr)
    for error in result["errors"] if verbose else ():
        print(f"{project.name}: {error}", file=sys.stderr)
    trees: dict[str, Any] = result["trees"]
    return trees


def run_mig_lint(command: list[str], root: Path) -> tuple[dict[str, Any], dict[str, Any], int]:
    """check's report, graph's report and check's exit code, from the project root, no config.

    A run that prints no JSON report gives empty reports with its last stderr line as "error".
    """
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "MIG_LINT_CACHE_DIR": cache}
        check = subprocess.run([*command, "check", "--format", "json"], cwd=root, capture_output=True,
                               text=True, env=env)
        graph = subprocess.run([*command, "graph", "--format", "json"], cwd=root, capture_output=True,
                               text=True, env=env)
    try:
        return json.loads(check.stdout), json.loads(graph.stdout), check.returncode
    except json.JSONDecodeError:
        last = (check.stderr.strip().splitlines() or ["no output"])[-1]
        return {"trees": [], "findings": [], "error": last}, {"trees": []}, check.returncode


def _ml_trees(check: dict[str, Any], graph: dict[str, Any]) -> list[dict[str, Any]]:
    """mig-lint's trees, each with its revision ids and files (from graph), findings and label heads."""
    trees = []
    for index, tree in enumerate(check["trees"]):
        nodes = graph["trees"][index]["nodes"] if index < len(graph.get("trees", ())) else []
        findings = [f for f in check["findings"] if f.get("tree") == tree["path"]]
        trees.append({**tree, "ids": sorted(n["id"] for n in nodes), "files": {n["path"] for n in nodes},
                      "findings": findings})
    return trees


def _match(alembic: dict[str, Any], trees: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The mig-lint tree holding most of the files alembic read for this tree."""
    files = set(alembic.get("paths", ()))
    scored = [(len(files & t["files"]), -i) for i, t in enumerate(trees)]
    best = max(scored, default=(0, 0))
    return trees[-best[1]] if best[0] else None


def _label_heads(alembic: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for head, labels in alembic["labels"].items():
        for label in labels:
            found.setdefault(label, []).append(head)
    return {label: sorted(heads) for label, heads in sorted(found.items())}


def _agree(alembic: dict[str, Any], tree: dict[str, Any] | None, ml111: tuple[str, ...]) -> str:
    if "error" in alembic:
        return "no"
    if tree is None:
        differing = set(alembic["paths"])
    else:
        same = (tree["ids"] == alembic["revisions"] and sorted(tree["heads"]) == alembic["heads"]
                and {k: sorted(v) for k, v in tree.get("label_heads", {}).items()} == _label_heads(alembic))
        if same:
            return "yes"
        differing = set(alembic["paths"]) ^ tree["files"]
    folders = {os.path.dirname(p) for p in differing}
    base = tree["path"] if tree else ""
    # a folder counts as named when its path, or its path inside the mig-lint tree, is in the text
    names = [{f, os.path.relpath(f, base)} if base else {f} for f in folders]
    if ml111 and folders and all(any(n in text for n in group for text in ml111) for group in names):
        return "ML111"
    return "no"


def compare(project: Project, root: Path, command: list[str], verbose: bool = False) -> list[Row]:
    alembic = run_alembic(project, root, verbose)
    check, graph, exit_code = run_mig_lint(command, root)
    trees = _ml_trees(check, graph)
    rows = []
    for tree in project.trees:
        side = alembic[tree.name]
        matched = _match(side, trees)
        findings = matched["findings"] if matched else check["findings"]
        ml111 = tuple(f"{f['message']} {f['path']}" for f in findings if f["code"] == "ML111")
        ml101 = sum(f["code"] == "ML101" for f in findings)
        other = len(findings) - len(ml111) - ml101
        error = f"mig-lint error: {check['error']}".replace("|", "/") if "error" in check else ""
        rows.append(Row(project.name, tree.name, side, matched, ml111, ml101, other, exit_code,
                        _agree(side, matched, ml111), error))
    return rows


def _heads(heads: Sequence[str]) -> str:
    return " ".join(heads) if heads else "-"


def _labels(label_heads: dict[str, list[str]]) -> str:
    return " ".join(f"{k}={','.join(sorted(v))}" for k, v in sorted(label_heads.items())) or "-"


def render(rows: Sequence[Row]) -> str:
    lines = ["| project | tree | alembic revisions | mig-lint revisions | alembic heads | mig-lint heads | labels "
             "| ML111 | ML101 | other | exit | agree |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        a, m = row.alembic, row.mig_lint
        if "error" in a:
            a_count, a_heads, labels = "error", a["error"].replace("|", "/"), "-"
        else:
            a_count, a_heads = str(len(a["revisions"])), _heads(a["heads"])
            labels = _labels(_label_heads(a))
            if m and {k: sorted(v) for k, v in m.get("label_heads", {}).items()} != _label_heads(a):
                labels += f" (mig-lint: {_labels(m.get('label_heads', {}))})"
        m_count = f"{m['revisions']} ({m['path']})" if m else row.error or "not found"
        m_heads = _heads(sorted(m["heads"])) if m else "-"
        lines.append(f"| {row.project} | {row.tree} | {a_count} | {m_count} | {a_heads} | {m_heads} | {labels} "
                     f"| {len(row.ml111)} | {row.ml101} | {row.other} | {row.exit_code} | {row.agree} |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class HistoryCase:
    """A commit of a project at which a tree had two (or more) heads, and the commit that fixed it."""

    project: str
    broken: str
    fix: str
    source: str
    tree: Tree


HISTORY: tuple[HistoryCase, ...] = (
    # e71ccf5de "Fix: add a merge migration to solve multi head issue (#5364)": 0ec979123ba4 and
    # d7d747033183 both revise e5c7a4e2df4d; Flask-Migrate's default directory, as today.
    HistoryCase("redash", "bb42e92cd05c328fc216e878981427fc269ec15c", "e71ccf5de559b6e5342e1ca1d09a509d61ea2f0f",
                ".", Tree("redash", "migrations")),
    # 638f02caad "Fix multiple heads on alembic due to migrations in master": re-points f789f233226e;
    # ckan/model/__init__.py:263 there sets script_location to ckan/migration.
    HistoryCase("ckan", "f71a230b3e1fb3a9f5acaecd210777207f290de5", "638f02caad74a270d23fe7e8bf27a88834b5a478",
                ".", Tree("ckan", "ckan/migration")),
    # 2de53d46c "Fixing issue with multiple heads (#354)": src/dispatch/alembic.ini:5 there says
    # script_location = dispatch:alembic.
    HistoryCase("dispatch", "ee47d2471b62ddb4a1ea1b07278e4c52abe382cb", "2de53d46c7d42ec2551c9d64b322d86a09bc4ce9",
                "src", Tree("alembic", "src/dispatch/alembic")),
    # 55e9544516 "Fixes down_revision on postgres migration": e905fd199258 re-pointed. There,
    # src/prefect/orion/database/alembic.ini:2 says prefect:orion:database:migrations and
    # migrations/env.py:25,89 set version_locations to orm_models.py:1292-1298 versions/postgresql.
    HistoryCase("prefect", "bef158f796fd13651da880b61c61ed2c26531613", "55e9544516601c9369afdbc574af7a3555cde9b1",
                "src", Tree("postgresql", "src/prefect/orion/database/migrations",
                            ("src/prefect/orion/database/migrations/versions/postgresql",))),
    # Not here: dispatch 9631cf8ce (three tenant heads merged) is right for mig-lint, but its base
    # revision says `down_revision = ""`, which alembic 1.20 cannot load (KeyError '').
)


def _history_row(case: HistoryCase, commit: str, work: Path, command: list[str]) -> tuple[str, bool]:
    """One markdown row for the tree at `commit`, and whether it is what the case expects."""
    alembic = run_alembic(Project(case.project, "", commit, case.source, (case.tree,)), work)[case.tree.name]
    check, graph, exit_code = run_mig_lint(command, work)
    matched = _match(alembic, _ml_trees(check, graph))
    findings = matched["findings"] if matched else []
    ml101 = sum(f["code"] == "ML101" for f in findings)
    others = sorted({f["code"] for f in findings} - {"ML101"})
    heads = alembic.get("heads", [])
    broken = commit == case.broken
    expected = len(heads) > 1 and ml101 > 0 if broken else len(heads) == 1 and ml101 == 0
    m_heads = _heads(sorted(matched["heads"])) if matched else "not found"
    a_heads = alembic["error"] if "error" in alembic else _heads(heads)
    row = (f"| {case.project} | {case.tree.name} | {commit[:10]} | {'two heads' if broken else 'fix'} | {a_heads} "
           f"| {m_heads} | {ml101} | {' '.join(others) or '-'} | {exit_code} | {'yes' if expected else 'no'} |")
    return row, expected


def run_history(projects: Path, command: list[str], names: Sequence[str], allow: bool) -> int:
    """Check out each case's two commits in temporary worktrees; ML101 at the first, none at the fix."""
    lines = ["| project | tree | commit | state | alembic heads | mig-lint heads | ML101 | other codes | exit "
             "| as expected |", "|---|---|---|---|---|---|---|---|---|---|"]
    failed = 0
    for case in HISTORY:
        root = projects / case.project
        if names and case.project not in names:
            continue
        if not root.is_dir():
            print(f"{case.project}: no checkout at {root}; skipped", file=sys.stderr)
            continue
        for commit in (case.broken, case.fix):
            with tempfile.TemporaryDirectory() as temp:
                work = Path(temp) / case.project
                added = subprocess.run(["git", "-C", str(root), "worktree", "add", "-q", "--detach", str(work),
                                        commit], capture_output=True, text=True)
                if added.returncode != 0:
                    raise SystemExit(f"{case.project}: git worktree add {commit} failed: {added.stderr.strip()}")
                try:
                    row, expected = _history_row(case, commit, work, command)
                finally:
                    subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(work)],
                                   capture_output=True)
            lines.append(row)
            failed += not expected
    print("\n".join(lines))
    if failed:
        print(f"\n{failed} commit(s) not as expected (ML101 and several heads before the fix, neither after)")
    return 1 if failed and not allow else 0


def _selected(names: Sequence[str]) -> list[Project]:
    known = {p.name: p for p in PROJECTS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown project(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names] if names else list(PROJECTS)


def _head_commit(root: Path) -> str:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="PROJECT", help="projects to run (default: all)")
    parser.add_argument("--projects", type=Path, default=Path("/work/projects"), help="folder of the checkouts")
    parser.add_argument("--mig-lint", help="mig-lint executable (default: next to this interpreter)")
    parser.add_argument("--allow-disagree", action="store_true", help="print the table, exit 0 anyway")
    parser.add_argument("--history", action="store_true", help="check the commits of HISTORY instead")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the alembic side's import errors")
    parser.add_argument("--alembic-side", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.alembic_side:
        print(json.dumps(alembic_side(json.loads(args.alembic_side))))
        return 0
    command = [args.mig_lint] if args.mig_lint else mig_lint_command()
    if args.history:
        return run_history(args.projects, command, args.names, args.allow_disagree)
    rows: list[Row] = []
    for project in _selected(args.names):
        root = args.projects / project.name
        if not root.is_dir():
            print(f"{project.name}: no checkout at {root} (fetch {project.repo}); skipped", file=sys.stderr)
            continue
        if _head_commit(root) != project.commit:
            print(f"{project.name}: checkout is at {_head_commit(root)[:12]}, the data was read at "
                  f"{project.commit[:12]}", file=sys.stderr)
        rows.extend(compare(project, root, command, args.verbose))
    print(render(rows), end="")
    disagree = [f"{r.project}/{r.tree}" for r in rows if r.agree == "no"]
    if disagree:
        print(f"\n{len(disagree)} of {len(rows)} trees disagree: {', '.join(disagree)}")
    return 1 if disagree and not args.allow_disagree else 0


if __name__ == "__main__":
    raise SystemExit(main())
