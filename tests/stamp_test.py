"""`mig-lint stamp` on a database that sqlalchemy-migrate built: then `alembic upgrade head` has nothing to do."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from mig_lint.cli import main
from tests.convert_test import MIGRATE_UPGRADE
from tests.databases import fresh_database
from tests.schema import snapshot


def _migrate(url, repo="shop"):
    from tests.legacy_env import legacy_python

    done = subprocess.run([legacy_python(), "-c", MIGRATE_UPGRADE, url, repo, "215"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _alembic(*args):
    return subprocess.run([sys.executable, "-m", "alembic", "-c", "alembic/alembic.ini", *args],
                          capture_output=True, text=True)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_stamp_then_upgrade_is_a_no_op(converted, capsys, kind):
    with fresh_database(kind, converted) as url:
        _migrate(url)
        before = snapshot(url)
        assert main(["stamp", "--url", url, "--repo", "shop", "--alembic", "alembic"]) == 0
        assert capsys.readouterr().out == (
            "stamped 0227 (migrate version 227); `alembic upgrade head` goes on from there\n")
        upgrade = _alembic("-x", f"url={url}", "upgrade", "head")
        assert upgrade.returncode == 0 and "Running upgrade" not in upgrade.stderr, upgrade.stderr
        assert _alembic("-x", f"url={url}", "current").stdout.strip() == "0227 (head)"
        assert snapshot(url) == before

        assert main(["stamp", "--url", url, "--repo", "shop", "--alembic", "alembic"]) == 2
        assert capsys.readouterr().err == "mig-lint: alembic_version already holds 0227: this database is stamped\n"


def test_a_version_the_map_does_not_know_is_refused(converted, capsys):
    url = f"sqlite:///{converted / 'm.db'}"
    _migrate(url)
    mapping = json.loads((converted / "alembic/migrate-stamp-map.json").read_text())
    del mapping["227"]
    (converted / "alembic/migrate-stamp-map.json").write_text(json.dumps(mapping))
    assert main(["stamp", "--url", url, "--repo", "shop", "--alembic", "alembic"]) == 2
    assert capsys.readouterr().err == (
        "mig-lint: the database is at migrate version 227, which the stamp map does not know (it maps 216-226): "
        "convert the repository as this database has it\n")
    assert not sa.inspect(sa.create_engine(url)).has_table("alembic_version")


def test_refusals(converted, capsys):
    def refused(url, repo="shop", alembic="alembic"):
        assert main(["stamp", "--url", url, "--repo", repo, "--alembic", alembic]) == 2
        return capsys.readouterr().err

    empty = f"sqlite:///{converted / 'empty.db'}"
    assert refused(empty) == "mig-lint: the database has no migrate_version table: migrate never managed it\n"
    other = sa.create_engine(empty)
    with other.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE migrate_version (repository_id VARCHAR(250), version INTEGER)")
    other.dispose()
    assert refused(empty) == "mig-lint: migrate_version has no row for repository 'shop'\n"
    assert refused("nosuchdriver://x").startswith("mig-lint: cannot use --url nosuchdriver://x: ")
    assert refused("not a url").startswith("mig-lint: cannot use --url not a url: ")
    assert refused(f"sqlite:///{converted / 'missing' / 'x.db'}").startswith("mig-lint: sqlite:///")
    assert refused(empty, alembic="nowhere").startswith(
        "mig-lint: nowhere/migrate-stamp-map.json: cannot read the stamp map")
    (converted / "broken").mkdir()
    assert refused(empty, repo="broken") == "mig-lint: broken/migrate.cfg is missing\n"
