"""Edge cases of configuration, discovery, drawing and hints, each through the real command."""
from __future__ import annotations

import codecs
import json

import pytest

from mig_lint.cli import main
from mig_lint.config import ConfigError
from mig_lint.config import load_config
from mig_lint.sources.syntax import SyntaxCache
from tests.conftest import alembic_script
from tests.conftest import write_tree

LINEAR = {"env.py": "", "versions/a.py": alembic_script("a", None), "versions/b.py": alembic_script("b", "a")}


def _report(capsys, *args):
    code = main(["check", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


def test_keyboard_interrupt_is_aborted(in_tmp, capsys, monkeypatch):
    write_tree(in_tmp, LINEAR)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("mig_lint.cli.run_check", interrupted)
    assert main(["check"]) == 130
    assert capsys.readouterr().err.endswith("Aborted.\n")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    (
        pytest.param("pyproject.toml", b"[tool.mig-lint]\nignore = ['\xff']\n", "cannot be read", id="toml-not-utf8"),
        pytest.param("setup.cfg", b"[mig-lint]\nignore = \xff\n", "cannot be read", id="ini-not-utf8"),
        pytest.param("setup.cfg", b"[mig-lint.tests]\npattern = x_{version}\n", "'tests' needs 'paths'", id="ini-tests-without-paths"),
    ),
)
def test_unreadable_configuration(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message):
        load_config(str(path))


def test_ini_with_only_a_tests_section(tmp_path):
    path = tmp_path / "setup.cfg"
    path.write_text("[mig-lint.tests]\npaths = t.py\n")
    assert load_config(str(path)).tests.paths == ("t.py",)


def test_single_string_where_a_list_is_expected(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.mig-lint]\npaths = 'db'\n")
    assert load_config(str(path)).paths == ("db",)


def test_pyproject_as_path(in_tmp, capsys):
    write_tree(in_tmp, {"pyproject.toml": '[tool.alembic]\nscript_location = "db"\n', "db/env.py": "",
                        "db/versions/a.py": alembic_script("a", None), "db/versions/README": "notes\n"})
    code, report, _ = _report(capsys, "pyproject.toml")
    assert (code, report["trees"][0]["path"]) == (0, "db")


def test_pyproject_without_tool_alembic_as_path(in_tmp, capsys):
    write_tree(in_tmp, {"pyproject.toml": "[project]\nname = 'x'\n"})
    code, _, err = _report(capsys, "pyproject.toml")
    assert (code, err) == (2, "mig-lint: pyproject.toml: no [tool.alembic] script_location\n")


@pytest.mark.parametrize(
    ("text", "message"),
    (
        pytest.param("[tool.alembic\n", "cannot be read", id="invalid-toml"),
        pytest.param('[tool.alembic]\nscript_location = "db"\nversion_locations = "db/v"\n', "version_locations must be a list",
                     id="locations-not-a-list"),
    ),
)
def test_bad_tool_alembic(in_tmp, capsys, text, message):
    write_tree(in_tmp, {"pyproject.toml": text, "db/env.py": ""})
    code, _, err = _report(capsys)
    assert code == 2 and message in err


def test_versions_folder_with_other_files_first(in_tmp, capsys):
    write_tree(in_tmp, {"v/0_notes.txt": "", "v/a.py": alembic_script("a", None)})
    assert _report(capsys, "v")[1]["trees"][0]["format"] == "alembic"


def test_text_report_without_hint(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "versions/c.py": "revision = 'c'\ndown_revision = ('b',\n"})
    assert main(["check", "--no-color"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "versions/c.py:2:17: ML201 [syntax-error] c.py syntax error: '(' was never closed"


def test_per_file_ignores_relative_to_the_config_folder(in_tmp, capsys):
    write_tree(in_tmp, {**{f"db/{k}": v for k, v in LINEAR.items()}, "db/versions/c.py": alembic_script("c", "a"),
                        "pyproject.toml": '[tool.mig-lint.per-file-ignores]\n"db/versions/c.py" = ["ML101"]\n'
                                          '"db/versions/b.py" = ["ML2"]\n'})
    (in_tmp / "sub").mkdir()
    code, report, _ = _report(capsys, "--config", "pyproject.toml", "db")
    assert [(f["code"], f["path"]) for f in report["findings"]] == [("ML103", "db/versions/a.py"), ("ML101", "db/versions/b.py")]


def test_per_file_ignores_from_a_config_in_another_folder(in_tmp, capsys, monkeypatch):
    write_tree(in_tmp, {**{f"proj/{k}": v for k, v in LINEAR.items()}, "proj/versions/c.py": alembic_script("c", "a"),
                        "proj/pyproject.toml": '[tool.mig-lint.per-file-ignores]\n"versions/[bc].py" = ["ML101"]\n'})
    code, report, _ = _report(capsys, "--config", "proj/pyproject.toml", "proj")
    assert [f["code"] for f in report["findings"]] == ["ML103"]


@pytest.mark.parametrize(
    ("down", "hint"),
    (
        pytest.param("'a1b2'", "did you mean 'a1b2c3d4'? (ids must be written in full)", id="prefix"),
        pytest.param("'a1b2c3d5'", "did you mean 'a1b2c3d4'?", id="near"),
        pytest.param("'x9'", "versions/x9_second.py has 'x9' in its file name but declares revision 'zz'", id="file-name"),
    ),
)
def test_missing_parent_hints(in_tmp, capsys, down, hint):
    write_tree(in_tmp, {"env.py": "", "versions/a1b2c3d4_first.py": alembic_script("a1b2c3d4", None),
                        "versions/x9_second.py": alembic_script("zz", "a1b2c3d4"),
                        "versions/c.py": f"revision = 'c'\ndown_revision = {down}\n"})
    report = _report(capsys)[1]
    assert [f["hint"] for f in report["findings"] if f["code"] == "ML106"] == [hint]


def test_repeated_parent_is_still_a_merge_as_in_alembic(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "versions/c.py": alembic_script("c", ("b", "b"))})
    report = _report(capsys)[1]
    assert report["trees"][0]["merge_points"] == ["c"]
    assert [f["code"] for f in report["findings"]] == ["ML104"]


@pytest.mark.parametrize(
    ("content", "codes"),
    (
        pytest.param("revision = 'c'\n", ["ML202"], id="no-down-revision"),
        pytest.param("revision = None\ndown_revision = 'b'\n", ["ML206"], id="none-revision"),
        pytest.param("revision = ('c',)\ndown_revision = 'b'\n", ["ML206"], id="tuple-revision"),
        pytest.param("def helper():\n    return 1\n", ["ML208"], id="helper-module"),
    ),
)
def test_scripts_that_are_not_revisions(in_tmp, capsys, content, codes):
    write_tree(in_tmp, {**LINEAR, "versions/c.py": content})
    report = _report(capsys)[1]
    assert [f["code"] for f in report["findings"] if f["path"] == "versions/c.py"] == codes
    assert report["trees"][0]["revisions"] == 2


def test_utf8_bom(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "versions/c.py": codecs.BOM_UTF8 + alembic_script("c", "b").encode()})
    assert _report(capsys)[1]["trees"][0]["heads"] == ["c"]


def test_unreadable_versions_json(in_tmp, capsys):
    write_tree(in_tmp, {"r/migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n", "r/versions/001_a.py": "def upgrade(e): pass\n",
                        "r/versions/versions.json": b"{\x00}"})
    report = _report(capsys, "r")[1]
    assert [(f["code"], f["message"]) for f in report["findings"]] == [
        ("ML310", "versions.json is a binary file (it contains NUL bytes)")]


def test_ml403_selected_without_tests_config_finds_nothing(in_tmp, capsys):
    write_tree(in_tmp, LINEAR)
    assert _report(capsys, "--extend-select", "ML403")[1]["findings"] == []


def test_unreadable_test_file_is_skipped(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "t/test_a.py": b"\x00", "t/test_b.py": "a b",
                        "pyproject.toml": '[tool.mig-lint.tests]\npaths = ["t/*.py"]\npattern = "{version}"\n'})
    assert _report(capsys)[1]["findings"] == []


def test_deeply_nested_script_is_a_syntax_problem():
    assert SyntaxCache().check("x = " + "-" * 100000 + "1\n").kind == "syntax"


def test_cache_saved_twice_keeps_its_gitignore(tmp_path):
    cache = SyntaxCache(str(tmp_path))
    cache.check("x = 1\n")
    cache.save()
    cache.check("x = 2\n")
    cache.save()
    assert len(SyntaxCache(str(tmp_path))._load()) == 2


@pytest.mark.parametrize(
    ("revisions", "expected"),
    (
        pytest.param({"a": (None, ""), "b": ("b", "")}, ["* a (head, base)  versions/a.py", "* b  versions/b.py"], id="self-loop"),
        pytest.param({"a": (None, ""), "b": ("a", ""), "c": ("a", "depends_on = 'b'")},
                     ["* b (head)  versions/b.py", "| * c (head, depends on: b)  versions/c.py", "|/",
                      "* a (base, branch point)  versions/a.py"], id="depends-on"),
        pytest.param({"a": (None, ""), "b": ("a", ""), "c": ("a", ""), "d": ("a", ""), "m": (("b", "c"), ""),
                      "n": (("m", "d"), "")},
                     ["* n (head, merge)  versions/n.py", "|\\", "* | m (merge)  versions/m.py", "|\\ \\",
                      "* | | b  versions/b.py", "| * | c  versions/c.py", "|/ /", "| * d  versions/d.py", "|/",
                      "* a (base, branch point)  versions/a.py"], id="merges"),
        pytest.param({"a": (None, ""), "b": ("a", ""), "m": (("a", "b"), "")},
                     ["* m (head, merge)  versions/m.py", "|\\", "| * b  versions/b.py", "|/",
                      "* a (base, branch point)  versions/a.py"], id="merge-with-own-ancestor"),
        pytest.param({"a": (None, ""), "b": ("a", ""), "c": ("a", ""), "m": (("b", "a"), "")},
                     ["* c (head)  versions/c.py", "| * m (head, merge)  versions/m.py", "| * b  versions/b.py", "|/",
                      "* a (base, branch point)  versions/a.py"], id="merge-parent-already-drawn"),
    ),
)
def test_ascii_drawing(in_tmp, capsys, revisions, expected):
    files = {"env.py": ""}
    for rev, (down, extra) in revisions.items():
        files[f"versions/{rev}.py"] = f"revision = {rev!r}\ndown_revision = {down!r}\n{extra}\n"
    write_tree(in_tmp, files)
    assert main(["graph"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == expected


def test_mermaid_skips_unknown_dependency(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "versions/c.py": alembic_script("c", "b", depends_on="'zz'")})
    assert main(["graph", "--format", "mermaid"]) == 0
    assert "-.->" not in capsys.readouterr().out


def test_single_handoff_table_in_toml(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("[handoff]\nmigrate = 'm'\nalembic = 'a'\nversion = 3\nrevision = 'r'\n")
    assert load_config(str(path)).handoff[0].version == 3


def test_same_folder_listed_twice_is_read_once(in_tmp, capsys):
    write_tree(in_tmp, {"alembic.ini": "[alembic]\nscript_location = .\nversion_locations = v v\n", "env.py": "",
                        "v/a.py": alembic_script("a", None)})
    assert _report(capsys)[1]["trees"][0]["revisions"] == 1


def test_mermaid_dependency_edge(in_tmp, capsys):
    write_tree(in_tmp, {**LINEAR, "versions/c.py": alembic_script("c", "b", depends_on="'a'")})
    assert main(["graph", "--format", "mermaid"]) == 0
    assert "  r0 -.-> r2\n" in capsys.readouterr().out
