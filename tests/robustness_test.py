"""Whatever a versions folder holds, `check` answers with findings, never a traceback."""
from __future__ import annotations

import ast
import codecs
import json
import tempfile
from pathlib import Path

import pytest
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


# Crash classes of issue 11, each through the real command.

BASE = {"env.py": "", "versions/a.py": "revision = 'a'\ndown_revision = None\n"}
HEADER = b'"""c\n\nRevision ID: c\nRevises: a\n"""\nrevision = \'c\'  # the id\ndown_revision = \'a\'\n\n\ndef upgrade():\n    pass\n'


def _check(capsys, *args: str) -> tuple[int, dict, list[tuple[str, str, int]]]:
    code = main(["check", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    report = json.loads(out)
    return code, report, sorted((f["code"], f["path"], f["line"]) for f in report["findings"])


def _write(root: Path, files: dict[str, bytes | str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())


@pytest.mark.parametrize("newline", [b"\r", b"\n\r", b"\r\n"], ids=["cr", "lf-cr", "crlf"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast-header", "full-parser"])
def test_any_line_endings_are_read(in_tmp, capsys, newline, fast):
    script = HEADER if not fast else HEADER.replace(b"  # the id", b"")
    _write(in_tmp, {**BASE, "versions/c.py": script.replace(b"\n", newline)})
    code, report, findings = _check(capsys)
    assert (code, findings) == (0, [])
    assert report["trees"][0]["heads"] == ["c"]


@pytest.mark.parametrize("newline", [b"\r", b"\n\r", b"\r\n"], ids=["cr", "lf-cr", "crlf"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast-header", "full-parser"])
def test_lines_are_counted_as_python_counts_them(in_tmp, capsys, newline, fast):
    # Python breaks lines at CR LF, CR and LF, and nowhere else (not at a form feed).
    script = b"\x0c\n# x\nrevision = 'c'" + (b"" if fast else b"  # id") + b"\n\ndown_revision = 'b'\n\ndef f():\n    pass\n"
    data = script.replace(b"\n", newline)
    line = next(n.lineno for n in ast.parse(data).body if isinstance(n, ast.Assign) and n.targets[0].id == "down_revision")
    _write(in_tmp, {**BASE, "versions/c.py": data})
    _, _, findings = _check(capsys)
    assert ("ML106", "versions/c.py", line) in findings


def test_mixed_line_endings_keep_their_lines(in_tmp, capsys):
    script = b"# one\r\n# two\r# three\nrevision = 'c'  # four\n\rdown_revision = 'b'\r\n"
    _write(in_tmp, {**BASE, "versions/c.py": script})
    _, report, findings = _check(capsys)
    assert ("ML106", "versions/c.py", 6) in findings
    assert report["trees"][0]["revisions"] == 2


def test_a_syntax_error_after_cr_line_breaks_is_on_its_line(in_tmp, capsys):
    _write(in_tmp, {**BASE, "versions/c.py": b"revision = 'c'\rdown_revision = 'a'\r\n\rdef f(:\n"})
    assert _check(capsys)[2] == [("ML201", "versions/c.py", 4)]


def test_stale_docstring_in_a_cr_only_script(in_tmp, capsys):
    script = b'"""c\r\rRevision ID: old\rRevises: a\r"""\rrevision = \'c\'\rdown_revision = \'a\'\r'
    _write(in_tmp, {**BASE, "versions/c.py": script})
    assert _check(capsys)[2] == [("ML204", "versions/c.py", 3)]


BODY = "revision = 'c'\ndown_revision = 'a'\nNAME = 'Ren\u00e9 \u20ac'\n"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"# -*- coding: latin-1 -*-\n" + BODY.replace("\u20ac", "").encode("latin-1"), id="latin-1"),
        pytest.param(b"# coding: cp1252\n" + BODY.encode("cp1252"), id="cp1252"),
        pytest.param(b"#!/usr/bin/env python\n# vim: set fileencoding=koi8-r :\n" + BODY.replace("\u00e9", "").replace("\u20ac", "").encode(), id="line-2"),
        pytest.param(b"# coding: utf-8-sig\n" + BODY.encode(), id="utf-8-sig-is-utf-8"),
        pytest.param(b"# coding: latin-1-unix\n" + BODY.replace("\u20ac", "").encode("latin-1"), id="latin-1-variant"),
        pytest.param(codecs.BOM_UTF8 + b"# coding: utf-8\n" + BODY.encode(), id="bom-and-utf-8"),
        pytest.param(codecs.BOM_UTF8 + BODY.encode(), id="bom"),
        pytest.param(b"# coding: unicode_escape\n" + BODY.encode("unicode_escape"), id="unicode-escape"),
        pytest.param(BODY.encode() + b"# \xe9t\xe9 (latin-1 in a comment: CPython lets it through)\n", id="bad-byte-in-comment"),
        pytest.param(b"# coding: latin-1\r" + BODY.replace("\u20ac", "").replace("\n", "\r").encode("latin-1"), id="cr-only"),
    ],
)
def test_a_codec_cpython_accepts_is_read(in_tmp, capsys, data):
    compile(data, "c.py", "exec", dont_inherit=True)  # the premise
    _write(in_tmp, {**BASE, "versions/c.py": data})
    code, report, findings = _check(capsys)
    assert (code, findings) == (0, [])
    assert report["trees"][0]["heads"] == ["c"]


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        pytest.param(b"# coding: undefined\n" + BODY.encode(), 1, "c.py cannot be decoded", id="undefined"),
        pytest.param(b"# coding: punycode\n" + BODY.encode(), 4, "c.py is not valid punycode: byte 0xc3 at line 4", id="punycode"),
        pytest.param(b"# coding: rot13\n" + BODY.encode(), 1, "c.py declares an unknown encoding 'rot13'", id="rot13"),
        pytest.param(b"# coding: bogus\n" + BODY.encode(), 1, "c.py declares an unknown encoding 'bogus'", id="unknown"),
        pytest.param(b"# coding: utf-16\n" + BODY.encode(), 4, "c.py is not valid utf-16", id="utf-16"),
        pytest.param(codecs.BOM_UTF8 + b"# coding: latin-1\n" + BODY.encode(), 1,
                     "c.py starts with a UTF-8 byte order mark but declares encoding 'iso-8859-1'", id="bom-and-latin-1"),
        pytest.param(codecs.BOM_UTF8 * 2 + BODY.encode(), 1, "c.py syntax error: invalid non-printable character U+FEFF",
                     id="two-boms"),
        pytest.param(b"# coding: cp1252\n" + BODY.encode() + b"X = '\x81'\n", 5, "c.py is not valid cp1252", id="undefined-byte"),
        pytest.param(b"# coding: latin-1\n" + BODY.replace("\u20ac", "").encode("latin-1") + b"def f(:\n", 5,
                     "c.py syntax error: invalid syntax", id="syntax-error-in-latin-1"),
        pytest.param(BODY.encode() + b"X = '\xe9'\n", 4, "c.py is not valid utf-8: byte 0xe9 at line 4", id="bad-byte-in-string"),
    ],
)
def test_a_codec_cpython_refuses_is_ml201(in_tmp, capsys, data, line, message):
    with pytest.raises(SyntaxError):
        compile(data, "c.py", "exec", dont_inherit=True)  # the premise
    _write(in_tmp, {**BASE, "versions/c.py": data})
    code, report, findings = _check(capsys)
    assert (code, findings) == (1, [("ML201", "versions/c.py", line)])
    assert report["findings"][0]["message"].startswith(message)


@pytest.mark.parametrize("statement", ["yield 1", "await f()", "return", "nonlocal x", "yield from x",
                                       "async with x:\n    pass", "async for y in x:\n    pass"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast-header", "full-parser"])
def test_module_level_statements_only_functions_may_hold_are_ml201(in_tmp, capsys, statement, fast):
    header = "revision = 'c'\ndown_revision = 'a'" + ("" if fast else "  # the parent")
    _write(in_tmp, {**BASE, "versions/c.py": f"{header}\n\n{statement}\n"})
    code, report, findings = _check(capsys)
    assert (code, findings) == (1, [("ML201", "versions/c.py", 4)])
    assert report["trees"][0]["heads"] == ["c"]


def test_module_level_yield_in_a_migrate_script(in_tmp, capsys):
    _write(in_tmp, {"migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = v\n",
                    "versions/001_a.py": "def upgrade(migrate_engine):\n    pass\n\nyield\n"})
    code, _, findings = _check(capsys)
    assert (code, findings) == (1, [("ML201", "versions/001_a.py", 4)])


@pytest.mark.parametrize(
    "script",
    [
        pytest.param("revision = 'c'\ndown_revision = 'a'\nx = (  # mig-lint: ignore[ML201]\n", id="ignore-on-its-line"),
        pytest.param("# mig-lint: ignore\nrevision = 'c'\ndown_revision = 'a'\nx = (\n", id="header-ignore"),
        pytest.param("revision = 'c'\ndown_revision = 'a'\nx = '''# mig-lint: ignore\n", id="ignore-in-a-broken-string"),
    ],
)
def test_no_comment_hides_a_syntax_error(in_tmp, capsys, script):
    _write(in_tmp, {**BASE, "versions/c.py": script})
    for _ in range(2):  # cold, then from the cache
        code, report, findings = _check(capsys)
        assert code == 1
        assert [f[0] for f in findings] == ["ML201"]
        assert report["trees"][0]["heads"] == ["c"]


def test_header_ignore_applies_to_its_script_only(in_tmp, capsys):
    _write(in_tmp, {**BASE,
                    "versions/c.py": '"""c\n\nRevises: x\n"""\n# mig-lint: ignore[ML205]\nrevision = "c"\ndown_revision = "a"\n',
                    "versions/d.py": '"""d\n\nRevises: x\n"""\nrevision = "d"\ndown_revision = "c"\n'})
    for _ in range(2):  # cold, then from the cache
        assert _check(capsys)[2] == [("ML205", "versions/d.py", 3)]
