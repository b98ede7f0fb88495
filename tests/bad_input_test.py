"""Bad input is a finding with path and line, never a traceback, and the run goes on."""
from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mig_lint.cli import main
from mig_lint.model import Problem
from mig_lint.sources import files as files_module
from mig_lint.sources.files import MAX_SCRIPT_BYTES
from mig_lint.sources.files import read_data
from mig_lint.sources.files import read_regular_file
from mig_lint.sources.files import Unfit
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


def _timed_check(capsys, *args):
    started = time.monotonic()
    result = _findings(capsys, *args)
    assert time.monotonic() - started < 10
    return result


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX special files")
@pytest.mark.parametrize(
    ("make", "message"),
    (
        pytest.param(os.mkfifo, "c.py is a named pipe (FIFO), not a regular file; it was not read", id="fifo"),
        pytest.param(lambda path: os.symlink("/dev/zero", path), "c.py is a character device, not a regular file; it was not read", id="dev-zero"),
        pytest.param(lambda path: socket.socket(socket.AF_UNIX).bind(str(path)), "c.py is a socket, not a regular file; it was not read", id="socket"),
    ),
)
def test_special_file_in_versions_is_a_finding_not_read(in_tmp, capsys, make, message):
    write_tree(in_tmp, BASE)
    make(in_tmp / "versions" / "c.py")
    code, report, findings = _timed_check(capsys)
    assert (code, findings) == (1, [("ML201", "versions/c.py", 1)])
    assert report["findings"][0]["message"] == message
    assert report["trees"][0]["heads"] == ["b"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX special files")
def test_special_files_in_a_migrate_repository(in_tmp, capsys):
    write_tree(in_tmp, {
        "migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = v\n",
        "versions/001_a.py": "def upgrade(migrate_engine):\n    pass\n",
    })
    os.mkfifo(in_tmp / "versions" / "002_b.py")
    os.mkfifo(in_tmp / "versions" / "002_b_sqlite_upgrade.sql")
    os.symlink("/dev/zero", in_tmp / "versions" / "003_c.py")
    os.mkdir(in_tmp / "versions" / "004_d.py")
    os.mkfifo(in_tmp / "versions" / "versions.json")
    code, report, findings = _timed_check(capsys)
    assert findings == [("ML201", "versions/002_b.py", 1), ("ML201", "versions/003_c.py", 1), ("ML306", "versions/004_d.py", 1)]
    assert report["trees"][0]["latest_version"] == 4


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX special files")
def test_a_fifo_does_not_block_discovery(in_tmp, capsys):
    # A folder with both migrate.cfg and env.py: its first script decides the format.
    write_tree(in_tmp, {"migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = v\n", **BASE})
    os.mkfifo(in_tmp / "versions" / "0.py")
    code, report, findings = _timed_check(capsys)
    assert report["trees"][0]["format"] == "alembic"
    assert findings == [("ML201", "versions/0.py", 1)]


def test_script_over_the_size_limit_is_a_finding_not_read(in_tmp, capsys):
    write_tree(in_tmp, {**BASE, "versions/c.py": alembic_script("c", "b")})
    with open(in_tmp / "versions" / "c.py", "ab") as f:
        f.write(b"#" * MAX_SCRIPT_BYTES)
    code, report, findings = _timed_check(capsys)
    assert (code, findings) == (1, [("ML201", "versions/c.py", 1)])
    assert report["findings"][0]["message"] == "c.py is larger than 10 MiB, the limit for a script; it was not read"


def _regular_stat(tmp_path: Path, size: int) -> os.stat_result:
    """What `os.stat` says of a regular file of `size` bytes."""
    (tmp_path / "regular").write_bytes(b"")
    real = os.stat(tmp_path / "regular")
    return os.stat_result((real.st_mode, real.st_ino, real.st_dev, real.st_nlink, real.st_uid, real.st_gid, size,
                           int(real.st_atime), int(real.st_mtime), int(real.st_ctime)))


def test_a_file_that_grew_after_its_stat_is_caught(tmp_path, monkeypatch):
    path = tmp_path / "c.py"
    path.write_bytes(b"x = 1\n" * 11)
    small = _regular_stat(tmp_path, 6)
    monkeypatch.setattr(files_module.os, "stat", lambda *args, **kwargs: small)
    monkeypatch.setattr(files_module.os, "fstat", lambda *args, **kwargs: small)
    assert read_regular_file(str(path), limit=66) == b"x = 1\n" * 11
    with pytest.raises(Unfit, match="larger than"):
        read_regular_file(str(path), limit=60)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX special files")
def test_a_file_replaced_by_a_fifo_after_its_stat_is_not_read(tmp_path, monkeypatch):
    path = tmp_path / "c.py"
    os.mkfifo(path)
    regular = _regular_stat(tmp_path, 6)
    monkeypatch.setattr(files_module.os, "stat", lambda *args, **kwargs: regular)
    with pytest.raises(Unfit, match="is a named pipe"):
        read_regular_file(str(path))  # opened without blocking, then refused


def test_a_git_blob_over_the_limit_is_a_finding():
    class Big:
        def read_bytes(self, path):
            return b"#" * (MAX_SCRIPT_BYTES + 1)

    assert read_data("c.py", Big()) == Problem("unreadable", "is larger than 10 MiB, the limit for a script; it was not read")


def test_compiling_a_script_prints_no_warning_of_python(in_tmp, capsys):
    """CPython warns of `'\\d'` when it compiles the script; that is the script's linter's business."""
    write_tree(in_tmp, {"env.py": "", "versions/a.py": alembic_script("a", None) + "PATTERN = '\\d+'\nassert (1, 2)\n"})
    done = subprocess.run([sys.executable, "-m", "mig_lint", "check", "--no-cache"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "default"})  # outside pytest, which records warnings
    assert (done.returncode, done.stderr) == (0, "")
