"""Bad input is a finding with path and line, never a traceback, and the run goes on."""
from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import write_tree

BASE = {"env.py": "", "versions/a.py": alembic_script("a", None), "versions/b.py": alembic_script("b", "a")}


def _findings(capsys, *args):
    code = main(["check", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    report = json.loads(out)
    return code, report, sorted((f["code"], f["path"], f["line"]) for f in report["findings"])


def test_five_megabyte_script_is_read(in_tmp, capsys):
    blob = "ROWS = [\n" + "    ('abcdefghij', 12345),\n" * 250_000 + "]\n"
    write_tree(in_tmp, {**BASE, "versions/c.py": alembic_script("c", "b") + blob})
    assert os.path.getsize(in_tmp / "versions/c.py") > 4_000_000
    code, report, findings = _findings(capsys)
    assert (code, findings) == (0, [])
    assert report["trees"][0]["heads"] == ["c"]


def test_symlink_loop_in_versions(in_tmp, capsys):
    write_tree(in_tmp, BASE)
    os.symlink("loop.py", in_tmp / "versions" / "loop.py")
    os.symlink("versions", in_tmp / "versions" / "sub")
    code, _, findings = _findings(capsys)
    assert (code, findings) == (1, [("ML201", "versions/loop.py", 1)])


def test_dangling_symlink_is_unreadable(in_tmp, capsys):
    write_tree(in_tmp, BASE)
    os.symlink("gone.py", in_tmp / "versions" / "c.py")
    code, report, findings = _findings(capsys)
    assert findings == [("ML201", "versions/c.py", 1)]
    assert "cannot be read" in report["findings"][0]["message"]


def test_folder_named_like_a_script_is_not_a_script(in_tmp, capsys):
    write_tree(in_tmp, {**BASE, "versions/c.py/x": ""})
    assert _findings(capsys)[2] == []


def _check_as(user: int | None, top: Path) -> tuple[int, str]:
    """Run `check` in a forked child, as `user` when given (root ignores chmod 000)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (runs in the child; its result is asserted in the parent)
        os.close(read_end)
        try:
            if user is not None:
                os.setgid(user)
                os.setuid(user)
            os.chdir(top)
            sys.stdout = io.TextIOWrapper(os.fdopen(write_end, "wb"))
            code = main(["check", "--format", "json"])
            sys.stdout.flush()
        finally:
            os._exit(locals().get("code", 99))
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        out = reader.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX fork and permissions")
def test_unreadable_file():
    top = Path(tempfile.mkdtemp(prefix="mig-lint-perm-"))
    try:
        os.chmod(top, 0o755)
        write_tree(top, {**BASE, "versions/c.py": alembic_script("c", "b")})
        os.chmod(top / "versions" / "c.py", 0)
        code, out = _check_as(65534 if os.geteuid() == 0 else None, top)
        assert code == 1, out
        findings = json.loads(out)["findings"]
        assert [(f["code"], f["path"], f["line"]) for f in findings] == [("ML201", "versions/c.py", 1)]
        assert findings[0]["message"] == "c.py cannot be read: Permission denied"
    finally:
        shutil.rmtree(top)


@pytest.mark.parametrize(
    ("content", "code", "line"),
    (
        pytest.param("revision = 'c'\ndown_revision = 'b'\ndef upgrade(:\n", "ML201", 3, id="syntax-error-in-body"),
        pytest.param("revision = 'c'\ndown_revision = ('b',\n", "ML201", 2, id="syntax-error-in-header"),
        pytest.param(b"revision = 'c'\ndown_revision = 'b'\nx = '\xe9t\xe9'\n", "ML201", 3, id="non-utf8"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", "ML201", 1, id="binary"),
        pytest.param("", "ML202", 1, id="empty"),
        pytest.param("revision = 'c'\ndown_revision = ''\n", "ML206", 2, id="empty-down-revision"),
        pytest.param("revision = 123\ndown_revision = 'b'\n", "ML206", 1, id="int-revision"),
        pytest.param("import uuid\nrevision = uuid.uuid4().hex\ndown_revision = 'b'\n", "ML203", 2, id="call-in-header"),
    ),
)
def test_bad_script_is_one_finding_and_the_run_goes_on(in_tmp, capsys, content, code, line):
    write_tree(in_tmp, {**BASE, "versions/c.py": content, "versions/d.py": alembic_script("d", "a")})
    _, report, findings = _findings(capsys)
    own = [f for f in findings if f[1] == "versions/c.py" and f[0].startswith("ML2")]
    assert own == [(code, "versions/c.py", line)]
    assert "d" in report["trees"][0]["heads"]


def test_no_script_is_executed(in_tmp, capsys):
    marker = in_tmp / "EXECUTED"
    write_tree(in_tmp, {**BASE, "versions/c.py": (
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('ran')\n"
        "raise SystemExit('imported!')\n"
        "revision = 'c'\n"
        "down_revision = 'b'\n"
    )})
    code, report, findings = _findings(capsys)
    assert (code, findings) == (0, [])
    assert report["trees"][0]["heads"] == ["c"]
    assert not marker.exists()


def test_syntax_error_below_a_good_header_keeps_the_revision(in_tmp, capsys):
    write_tree(in_tmp, {**BASE, "versions/c.py": alembic_script("c", "b") + "\ndef broken(:\n"})
    code, report, findings = _findings(capsys)
    assert (code, findings) == (1, [("ML201", "versions/c.py", 7)])
    assert report["trees"][0]["heads"] == ["c"]
