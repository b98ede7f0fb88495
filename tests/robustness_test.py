"""Whatever a versions folder holds, `check` answers with findings, never a traceback."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from mig_lint.cli import main

HEADER_BITS = st.sampled_from([
    "revision = ", "down_revision = ", "branch_labels = ", "depends_on = ", "revision: str = ", "'a'", '"b"', "None",
    "(", ")", "[", "]", ",", "'a', 'b'", "\n", "    ", "# mig-lint: ignore[ML1]", '"""', "'''", "Revision ID: a\n",
    "Revises: b\n", "from x import y\n", "import cli\n", "cli.X", "f()", "\\\n", "\x00", "\ufeff", "if x:\n",
    "def upgrade(migrate_engine):\n    pass\n", ";", "=", ":", "@", "-", "\r\n", "é",
])
SCRIPT = st.one_of(st.lists(HEADER_BITS, max_size=30).map("".join), st.text(max_size=200))
NAMES = st.sampled_from(["a.py", "b.py", "_c.py", "001_x.py", "001_y.py", "002_x_sqlite_upgrade.sql", "7_z.py",
                         "003_notes.txt", "versions.json", "HEAD"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(NAMES, st.one_of(SCRIPT, st.binary(max_size=64)), max_size=6),
       marker=st.sampled_from(["env.py", "migrate.cfg"]))
def test_any_versions_folder_gets_findings_not_a_traceback(files, marker, capsys):
    with tempfile.TemporaryDirectory() as top:
        root = Path(top)
        (root / marker).write_text("[db_settings]\nrepository_id = r\nversion_table = v\n" if marker == "migrate.cfg" else "")
        (root / "versions").mkdir()
        for name, content in files.items():
            path = root / "versions" / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogatepass")
        code = main(["check", "--format", "json", "--no-cache", str(root)])
        out, err = capsys.readouterr()
        assert code in (0, 1), err
        report = json.loads(out)
        assert len(report["trees"]) == 1
