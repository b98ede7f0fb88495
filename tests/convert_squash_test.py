"""`convert --squash-to N`: one base revision with the schema of versions up to N, proved by `verify`."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from mig_lint.cli import main
from tests.databases import require_server

SHOP = Path(__file__).resolve().parent.parent / "fixtures" / "convert" / "shop"


def _verify(capsys, *urls: str) -> str:
    from tests.legacy_env import legacy_python

    assert main(["verify", "shop", "alembic", "--migrate-python", legacy_python(), *urls]) == 0, capsys.readouterr()
    return capsys.readouterr().out


def test_squash_to_a_version(shop, in_tmp, capsys):
    assert main(["convert", "shop", "--out", "alembic", "--squash-to", "221", "--python", sys.executable]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == ("  221 -> 0221 0221_squashed.py: 6 migrate files squashed into the 2 tables they built "
                      "(rows they inserted are not included)")
    assert out[8] == "7 versions: 1 squashed, 5 translated (unproved), 1 sql-only."
    assert sorted(p.name for p in (in_tmp / "alembic" / "versions").iterdir()) == [
        "0221_squashed.py", "0222_audit.py", "0223_unique_email.py", "0224_timestamps.py", "0225_dialects.py",
        "0226_drop_legacy_flag.py", "0227_rename_orders.py"]
    squashed = (in_tmp / "alembic" / "versions" / "0221_squashed.py").read_text()
    assert "revision = '0221'\ndown_revision = None\n" in squashed
    assert "    op.create_table('users'," in squashed and "    op.drop_table('orders')" in squashed
    stamp_map = json.loads((in_tmp / "alembic" / "migrate-stamp-map.json").read_text())
    assert list(stamp_map) == [str(v) for v in range(221, 228)]
    assert main(["check", "alembic"]) == 0
    capsys.readouterr()
    assert _verify(capsys).splitlines()[1] == "  ok: all 12 versions build the same schema"


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_squash_built_on_a_server_uses_its_types(shop, in_tmp, capsys, kind):
    server = require_server(kind, in_tmp)
    assert main(["convert", "shop", "--out", "alembic", "--squash-to", "224", "--squash-url", server]) == 0
    squashed = (in_tmp / "alembic" / "versions" / "0224_squashed.py").read_text()
    module = "postgresql" if kind == "postgresql" else "mysql"
    assert f"from sqlalchemy.dialects import {module}\n" in squashed and f"{module}." in squashed
    capsys.readouterr()
    assert "ok: all 12 versions" in _verify(capsys, "--url", server)


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--squash-to", "300"], "mig-lint: --squash-to 300: the repository has no version 300\n",
                 id="no-such-version"),
    pytest.param(["--squash-to", "221", "--squash-url", "oracle://u@h/x"],
                 "mig-lint: cannot make scratch databases on oracle: give a SQLite, PostgreSQL or MySQL/MariaDB URL\n",
                 id="unknown-server"),
])
def test_squash_refusals(shop, in_tmp, capsys, args, message):
    assert main(["convert", "shop", "--out", "alembic", *args]) == 2
    assert capsys.readouterr().err == message
    assert not (in_tmp / "alembic").exists()


def test_squash_onto_an_existing_tree_is_refused(shop, in_tmp, capsys):
    assert main(["convert", "shop", "--out", "alembic"]) == 0
    shutil.rmtree(in_tmp / "shop")
    shutil.copytree(SHOP, in_tmp / "shop")
    (in_tmp / "shop" / "versions" / "228_more.py").write_text("def upgrade(migrate_engine):\n    pass\n")
    capsys.readouterr()
    assert main(["convert", "shop", "--out", "alembic", "--onto", "0227", "--revision-ids", "hex",
                 "--squash-to", "221"]) == 2
    assert capsys.readouterr().err == "mig-lint: --squash-to writes a base revision: it cannot be combined with --onto\n"


def test_a_revision_that_fails_while_squashing(shop, in_tmp, capsys):
    script = shop / "versions" / "218_add_email.py"
    script.write_text(script.read_text().replace("def upgrade(migrate_engine):\n",
                                                 "def upgrade(migrate_engine):\n    raise RuntimeError('no')\n"))
    assert main(["convert", "shop", "--out", "alembic", "--squash-to", "221"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mig-lint: --squash-to: revision 0218 failed on the scratch database: RuntimeError: no (")
    assert not (in_tmp / "alembic").exists()
