"""`mig-lint fix`: byte-preserving edits of stale header lines and head files."""
from __future__ import annotations

import codecs

import pytest

from mig_lint.cli import main
from mig_lint.fix.edits import Edit
from mig_lint.fix.edits import EditError
from mig_lint.fix.edits import plan_changes
from mig_lint.fix.edits import write_changes
from tests.conftest import write_tree

A = b'"""first\n\nRevision ID: a\nRevises: \n"""\nrevision = "a"\ndown_revision = None\n'


@pytest.mark.parametrize(
    ("before", "after"),
    (
        pytest.param(b'"""x\n\nRevision ID: zz\nRevises: a\n"""\nrevision = "b"\ndown_revision = "a"\n',
                     b'"""x\n\nRevision ID: b\nRevises: a\n"""\nrevision = "b"\ndown_revision = "a"\n', id="revision-id"),
        pytest.param(b'"""x\r\n\r\nRevision ID: b\r\nRevises: zz  \r\n"""\r\nrevision = \'b\'  # id\r\ndown_revision = \'a\'\r\n',
                     b'"""x\r\n\r\nRevision ID: b\r\nRevises: a  \r\n"""\r\nrevision = \'b\'  # id\r\ndown_revision = \'a\'\r\n',
                     id="crlf-and-trailing-spaces"),
        pytest.param(b'"""x\n\nRevision ID: b\nRevises:\n"""\nrevision = "b"\ndown_revision = "a"\n',
                     b'"""x\n\nRevision ID: b\nRevises: a\n"""\nrevision = "b"\ndown_revision = "a"\n', id="empty-revises"),
        pytest.param(b'"""x\n\nRevision ID: b\nRevises: \n"""\nrevision = "b"\ndown_revision = "a"\n',
                     b'"""x\n\nRevision ID: b\nRevises: a\n"""\nrevision = "b"\ndown_revision = "a"\n', id="blank-revises"),
        pytest.param(b'"""x\n\nRevision ID: m\nRevises: a\n"""\nrevision = "m"\ndown_revision = (\n    "a",\n    "b",\n)\n',
                     b'"""x\n\nRevision ID: m\nRevises: a, b\n"""\nrevision = "m"\ndown_revision = (\n    "a",\n    "b",\n)\n',
                     id="merge"),
        pytest.param(codecs.BOM_UTF8 + b'"""\xc3\xa9\n\nRevision ID: zz\n"""\nrevision = "b"\ndown_revision = "a"\n',
                     codecs.BOM_UTF8 + b'"""\xc3\xa9\n\nRevision ID: b\n"""\nrevision = "b"\ndown_revision = "a"\n', id="bom"),
        pytest.param(b'# -*- coding: latin-1 -*-\n"""caf\xe9\n\nRevises: zz\n"""\nrevision = "b"\ndown_revision = "a"\n',
                     b'# -*- coding: latin-1 -*-\n"""caf\xe9\n\nRevises: a\n"""\nrevision = "b"\ndown_revision = "a"\n',
                     id="latin-1"),
        pytest.param(b'# x\n#\n# Revision ID: zz\n# Revises: zz\nrevision = "b"\ndown_revision = "a"\n',
                     b'# x\n#\n# Revision ID: b\n# Revises: a\nrevision = "b"\ndown_revision = "a"\n',
                     id="comment-header"),
        pytest.param(b'#Revision ID: b  \r\n  #   Revises:\r\nrevision = "b"\r\ndown_revision = "a"\r\n',
                     b'#Revision ID: b  \r\n  #   Revises: a\r\nrevision = "b"\r\ndown_revision = "a"\r\n',
                     id="comment-header-empty-revises-crlf"),
        pytest.param(b'# Revision ID: m\n# Revises: b\nrevision = "m"\ndown_revision = ("a", "b")\n',
                     b'# Revision ID: m\n# Revises: a, b\nrevision = "m"\ndown_revision = ("a", "b")\n',
                     id="comment-header-merge"),
    ),
)
def test_stale_header_lines_are_fixed_byte_for_byte(in_tmp, capsys, before, after):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": A, "versions/b.py": before})
    assert main(["fix"]) == 1
    assert (in_tmp / "versions" / "b.py").read_bytes() == after
    assert (in_tmp / "versions" / "a.py").read_bytes() == A
    capsys.readouterr()
    assert main(["fix", "--dry-run"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "before",
    (
        pytest.param(b'"""x\n\nRevision ID: b\nRevises: a\n"""\nrevision = "b"\ndown_revision = "a"\n', id="current"),
        pytest.param(b'revision = "b"\ndown_revision = "a"\n', id="no-header-string"),
        pytest.param(b'# Revision ID: b\n# Revises: a\nrevision = "b"\ndown_revision = "a"\n', id="current-comment-header"),
        pytest.param(b'x = 1  # Revision ID: zz\nrevision = "b"\ndown_revision = "a"  # Revises: zz\n',
                     id="trailing-comments-are-no-header"),
        pytest.param(b'"""x\n\nRevision ID: b\n"""\nrevision = make()\ndown_revision = other()\n', id="dynamic"),
    ),
)
def test_nothing_to_fix(in_tmp, capsys, before):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": A, "versions/b.py": before})
    main(["fix"])
    assert (in_tmp / "versions" / "b.py").read_bytes() == before


def test_diff_and_dry_run_write_nothing(in_tmp, capsys):
    stale = b'"""x\n\nRevision ID: zz\nRevises: a\n"""\nrevision = "b"\ndown_revision = "a"\n'
    write_tree(in_tmp, {"env.py": "", "versions/a.py": A, "versions/b.py": stale})
    assert main(["fix", "--dry-run"]) == 1
    assert capsys.readouterr().out == "versions/b.py:3: Revision ID: zz -> b\n"
    assert main(["fix", "--diff"]) == 1
    assert capsys.readouterr().out == (
        "--- a/versions/b.py\n+++ b/versions/b.py\n@@ -1,6 +1,6 @@\n \"\"\"x\n \n-Revision ID: zz\n+Revision ID: b\n"
        " Revises: a\n \"\"\"\n revision = \"b\"\n"
    )
    assert (in_tmp / "versions" / "b.py").read_bytes() == stale
    assert main(["fix", "--dry-run"]) == 1


def test_fix_writes_configured_head_files(in_tmp, capsys):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": A, "pyproject.toml": "[tool.mig-lint]\nhead-file = 'versions/HEAD'\n"})
    assert main(["fix"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "fixed versions/HEAD: head of the history is a"
    assert (in_tmp / "versions" / "HEAD").read_text().endswith("\na\n")
    assert main(["fix"]) == 0


def test_fix_reports_what_is_left(in_tmp, capsys):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": A, "versions/b.py": b'revision = "b"\ndown_revision = None\n'})
    assert main(["fix"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "Found 4 errors in 1 tree, 2 revisions."


def test_fix_of_missing_path(in_tmp, capsys):
    assert main(["fix", "nowhere"]) == 2


def test_a_file_changed_during_the_run_stops_every_write(tmp_path):
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text("x = 1\n")
    second.write_text("y = 2\n")
    changes = plan_changes([Edit(str(first), 4, 5, "9", "a"), Edit(str(second), 4, 5, "8", "b")])
    second.write_text("y = 3\n")
    with pytest.raises(EditError, match="changed on disk during the run; nothing was written"):
        write_changes(changes)
    assert (first.read_text(), second.read_text()) == ("x = 1\n", "y = 3\n")


def test_overlapping_edits_are_refused(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("abcdef\n")
    with pytest.raises(EditError, match="two edits overlap"):
        plan_changes([Edit(str(path), 0, 3, "x", "one"), Edit(str(path), 2, 4, "y", "two")])


@pytest.mark.parametrize(
    ("data", "message"),
    (pytest.param(b"\xff\xfe", "is not valid utf-8", id="not-utf8"),
     pytest.param(b"# coding: unicode_escape\nx = '\\u00e9'\n", "do not survive decoding", id="no-round-trip")),
)
def test_undecodable_files_are_not_edited(tmp_path, data, message):
    path = tmp_path / "a.py"
    path.write_bytes(data)
    with pytest.raises(EditError, match=message):
        plan_changes([Edit(str(path), 0, 0, "x", "one")])


def test_an_edit_that_changes_nothing_is_dropped(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("abc\n")
    assert plan_changes([Edit(str(path), 0, 3, "abc", "same")]) == []


def test_write_keeps_the_file_mode(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("abc\n")
    path.chmod(0o640)
    write_changes(plan_changes([Edit(str(path), 0, 3, "xyz", "one")]))
    assert (path.read_text(), path.stat().st_mode & 0o777) == ("xyz\n", 0o640)


def test_edit_error_in_the_command_is_one_line(in_tmp, capsys, monkeypatch):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": A,
                        "versions/b.py": b'"""x\n\nRevision ID: zz\n"""\nrevision = "b"\ndown_revision = "a"\n'})

    def refuse(changes):
        raise EditError("versions/b.py: changed on disk during the run; nothing was written")

    monkeypatch.setattr("mig_lint.fix.edits.write_changes", refuse)
    assert main(["fix"]) == 2
    assert capsys.readouterr().err == "mig-lint: versions/b.py: changed on disk during the run; nothing was written\n"


def test_both_lines_of_one_header_and_a_broken_script(in_tmp, capsys):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": A, "versions/c.py": "def broken(:\n",
                        "versions/b.py": b'"""x\n\nRevision ID: zz\nRevises: yy\n"""\nrevision = "b"\ndown_revision = "a"\n'})
    assert main(["fix", "--dry-run"]) == 1
    assert capsys.readouterr().out == "versions/b.py:3: Revision ID: zz -> b\nversions/b.py:4: Revises: yy -> a\n"


def test_stale_head_file_is_rewritten(in_tmp, capsys):
    write_tree(in_tmp, {"env.py": "", "versions/a.py": A, "versions/HEAD": "# old\nzz\n"})
    assert main(["fix"]) == 1
    assert (in_tmp / "versions" / "HEAD").read_text().endswith("\na\n")


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    from mig_lint.atomic import write_atomically

    target = tmp_path / "adir"
    (target / "inside").mkdir(parents=True)
    with pytest.raises(OSError):
        write_atomically(str(target), b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]
