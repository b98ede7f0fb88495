"""`mig-lint verify --downgrade`: after the walk up, both chains walk back down, compared after each downgrade."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mig_lint.cli import main
from tests.databases import require_server


def _verify(capsys, *args: str) -> tuple[int, list[str]]:
    from tests.legacy_env import legacy_python

    code = main(["verify", "shop", "alembic", "--migrate-python", legacy_python(), "--downgrade", *args])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_walk_back_goes_down_to_the_first_version_migrate_cannot_undo(converted, capsys, kind):
    urls = [] if kind == "sqlite" else ["--url", require_server(kind, Path("."))]
    code, lines = _verify(capsys, *urls)
    assert code == 1
    assert lines[1:] == [
        "  ok: all 12 versions build the same schema",
        "  downgrades: 8 of 12 versions walked back to the same schema; undoing migrate version 219 (revision 0219) "
        "does not:",
        "  the migrate step 219 failed: ScriptError: Function 'downgrade' is not defined in this script",
    ]


def test_a_wrong_downgrade_is_caught_at_its_version(converted, capsys):
    script = converted / "alembic" / "versions" / "0226_drop_legacy_flag.py"
    text = script.read_text()
    script.write_text(text.replace("op.add_column('users', Column('legacy_flag', Boolean))",
                                   "op.add_column('users', Column('legacy_flag', sa.Integer))"))
    code, lines = _verify(capsys, "--format", "json")
    assert code == 1
    [database] = json.loads("\n".join(lines))["databases"]
    assert database["ok"] is False and database["matched"] == 12
    downgrade = database["downgrade"]
    assert (downgrade["ok"], downgrade["versions"], downgrade["matched"]) == (False, 12, 1)
    assert [(s["version"], s["revision"]) for s in downgrade["steps"]] == [("227", "0227"), ("226", "0226")]
    assert downgrade["steps"][-1]["differences"][0]["name"] == "users.legacy_flag"


def test_every_version_above_a_squash_walks_back(shop, in_tmp, capsys):
    assert main(["convert", "shop", "--out", "alembic", "--squash-to", "221", "--python", sys.executable]) == 0
    capsys.readouterr()
    code, lines = _verify(capsys)
    assert code == 0
    assert lines[1:] == ["  ok: all 12 versions build the same schema",
                         "  ok: all 6 versions build back down to the same schema "
                         "(the 6 versions up to the squashed revision stay)"]


def test_a_difference_going_up_leaves_the_walk_back_out(converted, capsys):
    script = converted / "alembic" / "versions" / "0221_name_not_null.py"
    script.write_text(script.read_text().replace("String(100)", "String(120)"))
    code, lines = _verify(capsys)
    assert code == 1
    assert lines[-1] == ("  downgrades: not walked (the walk up stopped on a difference, or matched nothing to "
                         "undo)")


def test_a_migrate_step_that_fails_going_up_walks_back_from_the_version_before(converted, capsys):
    script = converted / "shop" / "versions" / "227_rename_orders.py"
    script.write_text(script.read_text().replace("def upgrade(migrate_engine):\n",
                                                 "def upgrade(migrate_engine):\n    raise RuntimeError('no')\n"))
    code, lines = _verify(capsys)
    assert code == 1
    assert lines[3:] == [
        "  downgrades from migrate version 226: 7 of 11 versions walked back to the same schema; undoing migrate "
        "version 219 (revision 0219) does not:",
        "  the migrate step 219 failed: ScriptError: Function 'downgrade' is not defined in this script",
    ]


def test_without_the_option_there_is_no_walk_back(converted, capsys):
    from tests.legacy_env import legacy_python

    assert main(["verify", "shop", "alembic", "--migrate-python", legacy_python(), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["databases"][0]["downgrade"] is None
