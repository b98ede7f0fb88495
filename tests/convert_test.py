"""`mig-lint convert` on a hand-written migrate repository: real alembic builds what real migrate builds."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mig_lint.cli import main
from tests.conftest import write_tree
from tests.databases import fresh_database
from tests.schema import snapshot

SHOP = Path(__file__).resolve().parent.parent / "fixtures" / "convert" / "shop"
CFG = "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n"
UP = "def upgrade(migrate_engine):\n    pass\n"

MIGRATE_UPGRADE = """\
import sys
from migrate.versioning import api
url, repo, start = sys.argv[1:]
api.version_control(url, repo, version=int(start))
api.upgrade(url, repo)
print(api.db_version(url, repo))
"""


def _alembic(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alembic", "-c", str(out / "alembic.ini"), *args],
                          capture_output=True, text=True)


@pytest.fixture
def shop(in_tmp):
    shutil.copytree(SHOP, in_tmp / "shop")
    return in_tmp / "shop"


def test_shop_converts_and_loads_in_alembic(shop, in_tmp, capsys):
    assert main(["convert", "shop", "--out", "alembic"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-7:] == [
        "12 versions: 9 translated (unproved), 1 sql-only, 2 placeholder.",
        "Stamp map: alembic/migrate-stamp-map.json. Handoff for your configuration:",
        "[[tool.mig-lint.handoff]]",
        'migrate = "shop"',
        'alembic = "alembic"',
        "version = 227",
        'revision = "0227"',
    ]
    assert "  222 -> 0222 0222_audit.py: SQL scripts only" in out
    assert json.loads((in_tmp / "alembic/migrate-stamp-map.json").read_text())["216"] == "0216"
    assert main(["check", "alembic"]) == 0
    heads = _alembic(in_tmp / "alembic", "heads")
    assert heads.returncode == 0 and heads.stdout.strip() == "0227 (head)", heads.stderr
    assert _alembic(in_tmp / "alembic", "history").stdout.count(" -> ") == 12


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_shop_converted_builds_the_schema_migrate_builds(shop, in_tmp, capsys, kind):
    from tests.legacy_env import legacy_python

    assert main(["convert", "shop", "--out", "alembic"]) == 0
    with fresh_database(kind, in_tmp) as by_alembic, fresh_database(kind, in_tmp) as by_migrate:
        upgraded = _alembic(in_tmp / "alembic", "-x", f"url={by_alembic}", "upgrade", "head")
        assert upgraded.returncode == 0, upgraded.stderr
        migrated = subprocess.run([legacy_python(), "-c", MIGRATE_UPGRADE, by_migrate, str(shop), "215"],
                                  capture_output=True, text=True)
        assert migrated.returncode == 0 and migrated.stdout.strip() == "227", migrated.stderr
        built = snapshot(by_alembic)
        assert built == snapshot(by_migrate)
    assert sorted(built) == ["audit", "purchases", "users"]


def test_json_report_and_dry_run(shop, in_tmp, capsys):
    assert main(["convert", "shop", "--out", "alembic", "--format", "json", "--dry-run"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert not os.path.exists(in_tmp / "alembic")
    assert report["schema"] == 1 and report["repository"] == "shop" and report["out"] == "alembic"
    first = report["versions"][0]
    assert first == {"version": 216, "revision": "0216", "file": "alembic/versions/0216_squashed.py",
                     "status": "placeholder", "sources": ["shop/versions/216_squashed.py"], "operations": 0,
                     "unsupported": [], "leftovers": [], "proved": None, "problem": None}
    assert [v["status"] for v in report["versions"]].count("translated") == 9


def test_untranslated_code_is_kept_under_not_implemented_error(in_tmp, capsys):
    write_tree(in_tmp, {
        "repo/migrate.cfg": CFG, "repo/versions/001_a.py": UP,
        "repo/versions/002_rename_index.py": "from sqlalchemy import *\nfrom migrate import *\n\n\n"
                                             "def upgrade(migrate_engine):\n    meta = MetaData(bind=migrate_engine)\n"
                                             "    t = Table('t', meta, autoload=True)\n"
                                             "    t.c.a.alter(primary_key=True)\n",
        "repo/versions/003_broken.py": "def upgrade(migrate_engine:\n",
    })
    assert main(["convert", "repo", "--out", "out", "--no-scaffold", "--revision-ids", "hex"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[2].startswith("  2 -> ") and lines[2].endswith("_rename_index.py: partial: some code kept under NotImplementedError")
    assert "      repo/versions/002_rename_index.py:8: t.c.a.alter(primary_key=True): alter(primary_key=...)" in out
    assert "repo/versions/003_broken.py:1: cannot be parsed: " in out
    assert not os.path.exists(in_tmp / "out/alembic.ini")
    files = sorted(os.listdir(in_tmp / "out/versions"))
    assert [f.split("_", 1)[0] for f in files] == ["0001", "0002", "0003"]
    assert all(len(f.split("_")[1]) == 12 for f in files)
    partial = (in_tmp / "out/versions" / files[1]).read_text()
    assert "    raise NotImplementedError(\"mig-lint convert could not translate 't.c.a.alter(primary_key=True)'" in partial
    assert "    # t = Table('t', meta, autoload_with=migrate_engine)\n" in partial
    compile(partial, files[1], "exec")
    broken = (in_tmp / "out/versions" / files[2]).read_text()
    assert "raise NotImplementedError('repo/versions/003_broken.py:1: cannot be parsed" in broken


def test_refusals_change_nothing(shop, in_tmp, capsys):
    write_tree(in_tmp, {"notrepo/versions/001_a.py": UP})
    assert main(["convert", "notrepo", "--out", "x"]) == 2
    assert capsys.readouterr().err == "mig-lint: notrepo is not a migrate repository (it has no migrate.cfg)\n"

    assert main(["convert", "shop", "--out", "alembic"]) == 0
    capsys.readouterr()
    assert main(["convert", "shop", "--out", "alembic"]) == 2
    assert "alembic/alembic.ini exists (17 files would be replaced): use --force" in capsys.readouterr().err
    assert main(["convert", "shop", "--out", "alembic", "--force"]) == 0
    capsys.readouterr()

    (in_tmp / "alembic/versions/9999_other.py").write_text("revision = 'x'\ndown_revision = None\n")
    assert main(["convert", "shop", "--out", "alembic", "--force"]) == 2
    assert "alembic/versions holds revisions this conversion does not write (9999_other.py)" in capsys.readouterr().err

    write_tree(in_tmp, {"twice/migrate.cfg": CFG, "twice/versions/001_a.py": UP, "twice/versions/001_b.py": UP})
    assert main(["convert", "twice", "--out", "t"]) == 2
    assert "versions 1 have more than one Python script (ML301): run `mig-lint renumber` first" in (
        capsys.readouterr().err)


def test_create_date_from_git(git, in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": CFG, "repo/versions/001_a.py": UP})
    git("add", "-A")
    git("commit", "-q", "-m", "a", "--date", "2013-05-01T10:00:00+00:00")
    write_tree(in_tmp, {"repo/versions/002_b.py": UP})
    assert main(["convert", "repo", "--out", "out"]) == 0
    first = (in_tmp / "out/versions/0001_a.py").read_text()
    assert "\nCreate Date: 2013-05-01 10:00:00 +0000\n" in first
    assert "Create Date" not in (in_tmp / "out/versions/0002_b.py").read_text()


def test_odd_versions(in_tmp, capsys):
    write_tree(in_tmp, {
        "repo/migrate.cfg": CFG,
        "repo/versions/001_only_downgrade.py": "def downgrade(migrate_engine):\n    pass\n",
        "repo/versions/002_binary.py": b"\x00\x01",
        "repo/versions/003_notes.txt": "not a script\n",
        "empty/migrate.cfg": CFG, "empty/versions/__init__.py": "",
    })
    assert main(["convert", "repo", "--out", "out", "--no-scaffold"]) == 1
    out = capsys.readouterr().out
    assert "  2 -> 0002 0002_binary.py: repo/versions/002_binary.py is a binary file" in out
    assert "  1 -> 0001 0001_only_downgrade.py: repo/versions/001_only_downgrade.py defines no upgrade" in out
    assert "2 versions: 2 failed." in out
    first = (in_tmp / "out/versions/0001_only_downgrade.py").read_text()
    assert "def upgrade() -> None:\n    raise NotImplementedError('migrate version 1 has no upgrade')\n" in first
    assert main(["convert", "empty", "--out", "out2"]) == 0
    assert capsys.readouterr().out == "converted empty into out2/versions:\n0 versions: nothing to convert.\n"


MARK = "import sys\nwith open(sys.argv[1], 'a') as f:\n    f.write('# formatted by the hook\\n')\n"


@pytest.fixture
def existing_tree(shop, in_tmp):
    write_tree(in_tmp, {
        "app/alembic.ini": "[alembic]\nscript_location = %(here)s\n\n[post_write_hooks]\nhooks = mark\n"
                           f"mark.type = exec\nmark.executable = {sys.executable}\n"
                           f"mark.options = {in_tmp / 'mark.py'} REVISION_SCRIPT_FILENAME\n",
        "app/env.py": "", "mark.py": MARK,
        "app/versions/a1_base.py": "revision = 'a1'\ndown_revision = None\n",
        "app/versions/b2_next.py": "revision = 'b2'\ndown_revision = 'a1'\n",
    })
    return in_tmp / "app"


def test_onto_appends_after_the_head_of_an_existing_tree(existing_tree, in_tmp, capsys):
    assert main(["convert", "shop", "--out", "app", "--onto", "b2"]) == 0
    assert capsys.readouterr().out.startswith("converted shop into app/versions:\n")
    assert not os.path.exists(in_tmp / "app/script.py.mako")
    first = (in_tmp / "app/versions/0216_squashed.py").read_text()
    assert "\ndown_revision = 'b2'\n" in first and first.endswith("# formatted by the hook\n")
    assert main(["check", "app"]) == 0
    heads = _alembic(in_tmp / "app", "heads")
    assert heads.returncode == 0 and heads.stdout.strip() == "0227 (head)", heads.stderr


def test_onto_refusals(existing_tree, in_tmp, capsys):
    def refused(*args):
        assert main(["convert", "shop", *args]) == 2
        return capsys.readouterr().err

    assert refused("--out", "app", "--onto", "zz") == "mig-lint: --onto zz: no such revision in app\n"
    assert refused("--out", "app", "--onto", "a1") == (
        "mig-lint: --onto a1 is not a head of app (heads: b2): the converted chain would fork the history\n")
    assert refused("--out", "shop", "--onto", "a1") == "mig-lint: --onto needs --out to be one alembic tree; shop holds 0\n"
    (in_tmp / "app/versions/x_0217.py").write_text("revision = '0217'\ndown_revision = 'b2'\n")
    assert refused("--out", "app", "--onto", "0217") == (
        "mig-lint: revision id 0217 is already used in app: use --revision-ids hex\n")


def test_a_failing_post_write_hook_is_reported(existing_tree, in_tmp, capsys):
    ini = in_tmp / "app/alembic.ini"
    ini.write_text(ini.read_text().replace("mark.type = exec", "mark.type = nosuch"))
    assert main(["convert", "shop", "--out", "app", "--onto", "b2"]) == 2
    assert "mig-lint: app/alembic.ini: a post-write hook failed on the new revisions: " in capsys.readouterr().err


def test_a_generated_repository_builds_the_same_schema(in_tmp, capsys):
    """The benchmark's generated repository (tables, column changes, foreign keys, data
    migrations, SQL scripts, placeholders), 40 versions, on SQLite."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        from bench_convert import generate
    finally:
        sys.path.pop(0)
    from tests.legacy_env import legacy_python

    generate(in_tmp, 40)
    assert main(["convert", "repo", "--out", "out"]) == 0
    capsys.readouterr()
    upgraded = _alembic(in_tmp / "out", "-x", f"url=sqlite:///{in_tmp / 'a.db'}", "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    migrated = subprocess.run([legacy_python(), "-c", MIGRATE_UPGRADE, f"sqlite:///{in_tmp / 'm.db'}", "repo", "215"],
                              capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    built = snapshot(f"sqlite:///{in_tmp / 'a.db'}")
    assert built == snapshot(f"sqlite:///{in_tmp / 'm.db'}") and len(built) == 24


def test_future_imports_stay_first_and_untranslated_code_is_named_in_its_script(in_tmp, capsys, monkeypatch):
    import mig_lint.convert.repository as repository

    monkeypatch.setattr(repository.secrets, "token_hex", lambda n: "123456789012")
    write_tree(in_tmp, {
        "repo/migrate.cfg": CFG,
        "repo/versions/015_mysql_upgrade.sql": "SELECT 1;\n",
        "repo/versions/015_quote.py": "from __future__ import print_function\nfrom sqlalchemy import *\n"
                                      "from migrate import *\n\n\ndef upgrade(migrate_engine):\n"
                                      "    t = Table('t', MetaData(), autoload=True)\n"
                                      "    t.c.a.alter(primary_key=True)\n",
    })
    assert main(["convert", "repo", "--out", "out", "--revision-ids", "hex"]) == 1
    assert "      repo/versions/015_quote.py:8: t.c.a.alter(primary_key=True)" in capsys.readouterr().out
    text = (in_tmp / "out/versions/0015_123456789012_quote.py").read_text()
    compile(text, "0015_quote.py", "exec")
    assert "(repo/versions/015_quote.py:8)" in text
