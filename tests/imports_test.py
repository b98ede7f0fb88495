"""A pre-commit hook must start fast: `check` loads no heavy library."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import alembic_script
from tests.conftest import write_tree

PROBE = """
import sys
from mig_lint.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("sqlalchemy", "alembic", "libcst", "networkx", "sqlparse") if m in sys.modules)
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
raise SystemExit(code)
"""


def _loaded(*args):
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
    line = [x for x in run.stderr.splitlines() if x.startswith("HEAVY=")][0]
    return run.returncode, line[len("HEAVY="):].split(",") if line != "HEAVY=" else []


def test_check_loads_no_heavy_library(tmp_path):
    write_tree(tmp_path, {"env.py": "", "versions/a.py": alembic_script("a", None), "versions/b.py": alembic_script("b", "a"),
                          "m/migrate.cfg": "[db_settings]\nrepository_id = m\nversion_table = migrate_version\n", "m/versions/001_a.py": "def upgrade(migrate_engine): pass\n"})
    assert _loaded("check", "--format", "json", str(tmp_path)) == (0, [])


def test_networkx_is_loaded_only_to_name_a_cycle(tmp_path):
    write_tree(tmp_path, {"env.py": "", "versions/a.py": alembic_script("a", "b"), "versions/b.py": alembic_script("b", "a")})
    code, heavy = _loaded("check", str(tmp_path))
    assert (code, heavy) == (1, ["networkx"])


def test_cycle_is_named(tmp_path, capsys):
    from mig_lint.cli import main

    write_tree(tmp_path, {"env.py": "", "versions/a.py": alembic_script("a", "c"), "versions/b.py": alembic_script("b", "a"),
                          "versions/c.py": alembic_script("c", "b"), "versions/d.py": alembic_script("d", "c")})
    assert main(["check", "--format", "json", str(tmp_path)]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["code"], f["message"]) for f in findings if f["code"] == "ML105"] == [("ML105", "cycle a -> b -> c -> a")]
