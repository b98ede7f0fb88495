"""`mig-lint verify`: the converted shop fixture builds migrate's schema at every version, on every database."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from mig_lint.cli import main
from tests.databases import require_server
from tests.databases import SERVERS

KINDS = ["sqlite", "postgresql", "mariadb"]


def _server(kind: str) -> list[str]:
    """The --url for `kind` (none for SQLite); a missing server fails (CI) or skips, as for the other tests."""
    return [] if kind == "sqlite" else ["--url", require_server(kind, Path("."))]


def _verify(capsys, *args: str) -> tuple[int, dict]:
    from tests.legacy_env import legacy_python

    code = main(["verify", "shop", "alembic", "--migrate-python", legacy_python(), "--format", "json", *args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else captured.err


@pytest.mark.parametrize("kind", KINDS)
def test_the_converted_shop_matches_at_every_version(converted, capsys, kind):
    code, report = _verify(capsys, *_server(kind))
    assert code == 0, report
    [database] = report["databases"]
    assert database["ok"] and database["versions"] == 12
    assert [(s["version"], s["revision"]) for s in database["steps"]] == [(str(v), f"0{v}") for v in range(216, 228)]
    assert not any(s["differences"] for s in database["steps"])
    assert all(s["migrate"]["error"] is None and len(s["alembic"]) == 1 for s in database["steps"])


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_conversion_is_caught_at_its_version(converted, capsys, kind):
    script = converted / "alembic" / "versions" / "0221_name_not_null.py"
    text = script.read_text()
    assert text.count("String(100)") >= 1
    script.write_text(text.replace("String(100)", "String(120)"))
    code, report = _verify(capsys, *_server(kind))
    assert code == 1
    steps = report["databases"][0]["steps"]
    assert [s["version"] for s in steps] == [str(v) for v in range(216, 222)]
    assert steps[-1]["differences"] == [{"action": "altered", "kind": "column", "name": "users.name",
                                         "detail": "type VARCHAR(100) -> VARCHAR(120)"}]


def test_text_report_and_dialect_all(converted, capsys):
    from tests.legacy_env import legacy_python

    script = converted / "alembic" / "versions" / "0218_add_email.py"
    script.write_text(script.read_text().replace("op.add_column('users', Column('email', String(255)",
                                                 "op.add_column('users', Column('email', String(255), nullable=False"))
    assert main(["verify", "shop", "alembic", "--migrate-python", legacy_python(), "--dialect-all",
                 *_server("postgresql")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("migrate on sqlite:///") and ", alembic on sqlite:///" in lines[0]
    assert lines[1:4] == [
        "  2 of 12 versions matched; migrate version 218 (revision 0218) does not:",
        "  ~ column users.email: nullable NULL -> NOT NULL",
        "  (- and + read from migrate's schema to alembic's)",
    ]
    assert lines[4].startswith("migrate on postgresql+psycopg2://postgres@127.0.0.1:5432/mig_lint_")
    assert lines[5:] == lines[1:4]


def test_ok_text_and_kept_databases(converted, capsys):
    from tests.legacy_env import legacy_python

    assert main(["verify", "shop", "alembic", "--migrate-python", legacy_python(), "--keep"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "  ok: all 12 versions build the same schema"
    kept = Path(lines[0].split(", alembic on sqlite:///")[1])
    assert kept.is_file()
    shutil.rmtree(kept.parent)


def test_a_failing_step_stops_the_walk(converted, capsys):
    script = converted / "alembic" / "versions" / "0220_orders.py"
    script.write_text(script.read_text().replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    raise ValueError('bad')\n"))
    code, report = _verify(capsys)
    assert code == 1
    last = report["databases"][0]["steps"][-1]
    assert last["version"] == "220" and last["alembic"][0]["error"]["type"] == "ValueError"
    from tests.legacy_env import legacy_python

    assert main(["verify", "shop", "alembic", "--migrate-python", legacy_python()]) == 1
    assert "  the alembic step 0220 failed: ValueError: bad (" in capsys.readouterr().out


@pytest.mark.parametrize(("change", "message"), [
    pytest.param(lambda root: (root / "alembic" / "migrate-stamp-map.json").unlink(),
                 "migrate-stamp-map.json: cannot read the stamp map", id="no-stamp-map"),
    pytest.param(lambda root: (root / "alembic" / "migrate-stamp-map.json").write_text('{"216": "0216"}'),
                 "the stamp map has no revision for migrate version 217", id="short-stamp-map"),
    pytest.param(lambda root: (root / "alembic" / "migrate-stamp-map.json").write_text('{"216": "0217", "217": "0216"}'),
                 "migrate version 217 maps to 0216, which is not above 0217 in the alembic tree", id="out-of-order"),
])
def test_stamp_map_problems(converted, capsys, change, message):
    from tests.legacy_env import legacy_python

    change(converted)
    assert main(["verify", "shop", "alembic", "--migrate-python", legacy_python()]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_the_trees_must_be_a_migrate_repository_and_an_alembic_tree(converted, capsys):
    assert main(["verify", "alembic", "shop"]) == 2
    assert capsys.readouterr().err == "mig-lint: alembic: holds 0 migrate trees; name the folder of one\n"


def test_scratch_databases_need_a_known_server(converted, capsys):
    assert main(["verify", "shop", "alembic", "--url", "oracle://u@h/db", "--migrate-python", sys.executable]) == 2
    assert capsys.readouterr().err == ("mig-lint: cannot make scratch databases on oracle: "
                                       "give a SQLite, PostgreSQL or MySQL/MariaDB URL\n")


def test_a_failing_migrate_step_stops_the_walk(converted, capsys):
    from tests.legacy_env import legacy_python

    script = converted / "shop" / "versions" / "217_create_users.py"
    script.write_text(script.read_text().replace("def upgrade(migrate_engine):\n",
                                                 "def upgrade(migrate_engine):\n    raise KeyError('users')\n"))
    assert main(["verify", "shop", "alembic", "--migrate-python", legacy_python()]) == 1
    out = capsys.readouterr().out
    assert "  1 of 12 versions matched; migrate version 217 (revision 0217) does not:" in out
    assert "  the migrate step 217 failed: KeyError: 'users' (" in out


def test_a_server_that_cannot_be_reached(converted, capsys):
    assert main(["verify", "shop", "alembic", "--url", "postgresql+psycopg2://postgres@127.0.0.1:1/test"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mig-lint: postgresql+psycopg2://postgres@127.0.0.1:1/test: (psycopg2.OperationalError)")


def test_kept_server_databases(converted):
    import sqlalchemy as sa

    from mig_lint.db.databases import scratch_databases

    with scratch_databases(require_server("postgresql", converted), ("one",), keep=True) as (url,):
        pass
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    engine.dispose()
    admin = sa.create_engine(SERVERS["postgresql"], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE {sa.engine.make_url(url).database}")
    admin.dispose()
