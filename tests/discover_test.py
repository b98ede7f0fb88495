from __future__ import annotations

import json
import os
import subprocess

import pytest

from mig_lint.cli import main
from mig_lint.discover import discover
from mig_lint.discover import DiscoveryError
from tests.conftest import alembic_script
from tests.conftest import write_tree

A = alembic_script("a", None)
B = alembic_script("b", "a")
MIGRATE_CFG = "[db_settings]\nrepository_id = demo\nversion_table = migrate_version\n"
UPGRADE = "def upgrade(migrate_engine):\n    pass\n"


def _trees(capsys, *args):
    code = main(["check", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return [(t["path"], t["format"], t["revisions"]) for t in json.loads(out)["trees"]]


def test_env_py_and_versions(in_tmp, capsys):
    write_tree(in_tmp, {"proj/alembic/env.py": "", "proj/alembic/versions/a.py": A})
    assert _trees(capsys) == [("proj/alembic", "alembic", 1)]


def test_alembic_ini_with_here_and_version_locations(in_tmp, capsys):
    write_tree(in_tmp, {
        "alembic.ini": "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
                       f"version_locations = %(here)s/migrations/versions{os.pathsep}%(here)s/more\n",
        "migrations/env.py": "",
        "migrations/versions/a.py": A,
        "more/b.py": B,
    })
    assert _trees(capsys, ".") == [("migrations", "alembic", 2)]


@pytest.mark.parametrize(
    ("separator", "joined"),
    (
        pytest.param(None, "v1, v2", id="legacy-space-comma"),
        pytest.param("space", "v1 v2", id="space"),
        pytest.param("newline", "\n    v1\n    v2", id="newline"),
        pytest.param(";", "v1;v2", id="semicolon"),
        pytest.param(":", "v1:v2", id="colon"),
    ),
)
def test_path_separators(in_tmp, capsys, separator, joined):
    line = f"path_separator = {separator}\n" if separator else ""
    write_tree(in_tmp, {
        "alembic.ini": f"[alembic]\nscript_location = mig\n{line}version_locations = {joined}\n",
        "mig/env.py": "", "v1/a.py": A, "v2/b.py": B,
    })
    assert _trees(capsys) == [("mig", "alembic", 2)]


def test_bad_path_separator_names_file_and_line(in_tmp, capsys):
    write_tree(in_tmp, {"alembic.ini": "[alembic]\nscript_location = mig\npath_separator = tab\nversion_locations = a\n",
                        "mig/env.py": ""})
    assert main(["check"]) == 2
    assert capsys.readouterr().err == (
        "mig-lint: ./alembic.ini:3: path_separator 'tab' is not one of space, newline, os, ':', ';'\n"
    )


@pytest.mark.parametrize(("value", "codes"), (pytest.param("true", [], id="true"),
                                               pytest.param("True", ["ML111"], id="only-exact-true")))
def test_recursive_version_locations(in_tmp, capsys, value, codes):
    """Not recursive, the subfolder is still read, since it joins the history, and ML111 says so."""
    write_tree(in_tmp, {
        "alembic.ini": f"[alembic]\nscript_location = mig\nrecursive_version_locations = {value}\n",
        "mig/env.py": "", "mig/versions/a.py": A, "mig/versions/2024/b.py": B,
        "mig/versions/__pycache__/c.py": alembic_script("c", "b"),
    })
    assert main(["check", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(t["path"], t["revisions"]) for t in report["trees"]] == [("mig", 2)]
    assert [f["code"] for f in report["findings"]] == codes


def test_recursive_locations_do_not_follow_linked_folders(in_tmp, capsys):
    """As alembic's `os.walk`: a symbolic link to a folder is not descended into."""
    write_tree(in_tmp, {
        "alembic.ini": "[alembic]\nscript_location = mig\nrecursive_version_locations = true\n",
        "mig/env.py": "", "mig/versions/a.py": A, "elsewhere/b.py": B,
    })
    os.symlink(in_tmp / "elsewhere", in_tmp / "mig/versions/linked")
    assert _trees(capsys) == [("mig", "alembic", 1)]


def test_pyproject_tool_alembic(in_tmp, capsys):
    write_tree(in_tmp, {
        "pyproject.toml": '[tool.alembic]\nscript_location = "%(here)s/db"\nversion_locations = ["%(here)s/db/v"]\nrecursive_version_locations = true\n',
        "db/env.py": "", "db/v/a.py": A, "db/v/sub/b.py": B,
    })
    assert _trees(capsys) == [("db", "alembic", 2)]


def test_pyproject_bad_recursive_value(in_tmp, capsys):
    write_tree(in_tmp, {"pyproject.toml": '[tool.alembic]\nscript_location = "db"\nrecursive_version_locations = "yes"\n',
                        "db/env.py": ""})
    assert main(["check"]) == 2
    assert "recursive_version_locations must be true or false" in capsys.readouterr().err


def test_script_location_that_does_not_exist(in_tmp, capsys):
    write_tree(in_tmp, {"alembic.ini": "[alembic]\n\nscript_location = gone\n"})
    assert main(["check"]) == 2
    assert capsys.readouterr().err == "mig-lint: ./alembic.ini:3: script_location 'gone' is not a folder\n"


def test_ini_without_script_location(in_tmp, capsys):
    write_tree(in_tmp, {"alembic.ini": "[alembic]\nsqlalchemy.url = x\n"})
    assert main(["check", "alembic.ini"]) == 2
    assert capsys.readouterr().err == (
        "mig-lint: alembic.ini: no script_location in any section, and no env.py and versions/ beside it\n")


def test_package_resource_location(in_tmp, capsys):
    write_tree(in_tmp, {"alembic.ini": "[alembic]\nscript_location = myapp.db:migrations\n",
                        "myapp/db/migrations/env.py": "", "myapp/db/migrations/versions/a.py": A})
    assert _trees(capsys) == [("myapp/db/migrations", "alembic", 1)]


def test_migrate_repository(in_tmp, capsys):
    write_tree(in_tmp, {"repo/migrate.cfg": MIGRATE_CFG, "repo/versions/001_a.py": UPGRADE,
                        "repo/versions/__init__.py": ""})
    assert _trees(capsys) == [("repo", "migrate", 1)]


@pytest.mark.parametrize(
    ("script", "fmt"),
    (pytest.param(A, "alembic", id="alembic-content"), pytest.param(UPGRADE, "migrate", id="migrate-content")),
)
def test_folder_with_both_markers_is_decided_by_content(in_tmp, capsys, script, fmt):
    write_tree(in_tmp, {"db/migrate.cfg": MIGRATE_CFG, "db/env.py": "", "db/versions/001_a.py": script})
    assert _trees(capsys)[0][1] == fmt


def test_versions_folder_as_path(in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": A})
    assert _trees(capsys, "db/versions") == [("db", "alembic", 1)]


def test_bare_versions_folder_without_markers(in_tmp, capsys):
    write_tree(in_tmp, {"somewhere/a.py": A, "somewhere/b.py": B, "legacy/001_x.py": UPGRADE})
    assert _trees(capsys, "somewhere") == [("somewhere", "alembic", 2)]
    assert _trees(capsys, "legacy") == [(".", "migrate", 1)]


def test_script_file_as_path(in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": A})
    assert _trees(capsys, "db/versions/a.py") == [("db", "alembic", 1)]


def test_file_outside_any_tree(in_tmp, capsys):
    write_tree(in_tmp, {"x.txt": "hi"})
    assert main(["check", "x.txt"]) == 2
    assert capsys.readouterr().err == "mig-lint: x.txt: not inside a migration tree\n"


def test_several_repositories_in_one_project(in_tmp, capsys):
    files = {}
    for name in ("expand_repo", "data_migration_repo", "contract_repo"):
        files[f"ks/{name}/migrate.cfg"] = MIGRATE_CFG.replace("demo", name)
        files[f"ks/{name}/versions/001_a.py"] = UPGRADE
    write_tree(in_tmp, files)
    assert sorted(_trees(capsys)) == [("ks/contract_repo", "migrate", 1), ("ks/data_migration_repo", "migrate", 1),
                                      ("ks/expand_repo", "migrate", 1)]


def test_hidden_and_virtualenv_folders_are_skipped(in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": A, ".tox/x/env.py": "", ".tox/x/versions/a.py": A,
                        "venv/y/env.py": "", "venv/y/versions/a.py": A})
    assert _trees(capsys) == [("db", "alembic", 1)]


def test_exclude(in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": A, "old/env.py": "", "old/versions/a.py": A,
                        "pyproject.toml": "[tool.mig-lint]\nexclude = ['old']\n"})
    assert _trees(capsys) == [("db", "alembic", 1)]


def test_same_tree_named_twice_is_read_once(in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": A})
    assert _trees(capsys, "db", "db/versions", ".") == [("db", "alembic", 1)]


def test_unreadable_alembic_ini(in_tmp):
    write_tree(in_tmp, {"alembic.ini": b"[alembic]\nscript_location = \xff\n"})
    with pytest.raises(DiscoveryError, match="cannot be read"):
        discover(["."])


def test_invalid_alembic_ini(in_tmp):
    write_tree(in_tmp, {"alembic.ini": "[alembic\nscript_location = x\n"})
    with pytest.raises(DiscoveryError, match="invalid alembic.ini"):
        discover(["."])


def test_package_location_with_a_colon_per_folder(in_tmp, capsys):
    """alembic reads `pkg:a:b` as package `pkg`, then one path part per colon (prefect's ini)."""
    write_tree(in_tmp, {"svc/alembic.ini": "[alembic]\nscript_location = shop:server:_migrations\n",
                        "src/shop/server/_migrations/env.py": "",
                        "src/shop/server/_migrations/versions/a.py": A})
    assert _trees(capsys) == [("src/shop/server/_migrations", "alembic", 1)]


def test_git_ignored_trees_are_skipped_and_tracked_ones_kept(in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": A, "out/copy/env.py": "", "out/copy/versions/a.py": A,
                        ".gitignore": "out/\n"})
    subprocess.run(["git", "init", "-q"], check=True)
    assert _trees(capsys) == [("db", "alembic", 1)]
    assert _trees(capsys, "out/copy") == [("out/copy", "alembic", 1)]


def test_problems_below_the_given_folder_are_warnings(in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": A,
                        "tools/alembic.ini": "[alembic]\nscript_location = gone\n",
                        "tools/x/alembic.ini": "[alembic\n",
                        "tools/y/alembic.ini": "[alembic]\nsqlalchemy.url = x\n",
                        "docs/pyproject.toml": "[tool.alembic\n"})
    assert main(["check", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert [t["path"] for t in json.loads(out)["trees"]] == ["db"]
    assert [line.split(" (at line")[0] for line in err.splitlines()] == [
        "mig-lint: warning: ./docs/pyproject.toml: cannot be read: Expected ']' at the end of a table declaration",
        "mig-lint: warning: ./tools/alembic.ini:2: script_location 'gone' is not a folder",
        "mig-lint: warning: ./tools/x/alembic.ini:1: invalid alembic.ini: File contains no section headers.",
        "mig-lint: warning: ./tools/y/alembic.ini: no script_location in any section, and no env.py and versions/ beside it",
    ]
    assert main(["check", "tools/alembic.ini"]) == 2
    assert capsys.readouterr().err == "mig-lint: tools/alembic.ini:2: script_location 'gone' is not a folder\n"


def test_configured_tree_replaces_what_its_folder_declares(in_tmp, capsys):
    write_tree(in_tmp, {
        "pyproject.toml": "[[tool.mig-lint.trees]]\npath = 'mig/versions/sqlite'\nversion-locations = ['.']\n"
                          "[[tool.mig-lint.trees]]\npath = 'mig/versions/pg'\nversion-locations = ['.']\n",
        "mig/env.py": "", "mig/versions/sqlite/a.py": A, "mig/versions/sqlite/b.py": B,
        "mig/versions/pg/x.py": alembic_script("x", None)})
    main(["check", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert [(t["path"], t["revisions"]) for t in report["trees"]] == [("mig/versions/sqlite", 2), ("mig/versions/pg", 1)]
    assert report["findings"] == []


def test_configured_tree_outside_the_path_given_is_not_read(in_tmp, capsys):
    write_tree(in_tmp, {"pyproject.toml": "[[tool.mig-lint.trees]]\npath = 'db'\n", "db/env.py": "", "db/versions/a.py": A,
                        "other/env.py": "", "other/versions/a.py": A})
    assert _trees(capsys, "other") == [("other", "alembic", 1)]


def test_bad_settings_below_the_given_folder_are_warnings(in_tmp, capsys):
    write_tree(in_tmp, {"db/env.py": "", "db/versions/a.py": A,
                        "x/alembic.ini": "[alembic]\nscript_location = .\nversion_locations = v\npath_separator = tab\n",
                        "y/pyproject.toml": "[tool.alembic]\nscript_location = '.'\nrecursive_version_locations = 'yes'\n",
                        "z/alembic.ini": b"[alembic]\nscript_location = \xff\n"})
    assert main(["check"]) == 0
    assert capsys.readouterr().err.splitlines()[:-1] == [
        "mig-lint: warning: ./x/alembic.ini:4: path_separator 'tab' is not one of space, newline, os, ':', ';'",
        "mig-lint: warning: ./y/pyproject.toml: [tool.alembic] recursive_version_locations must be true or false",
    ]


def test_package_location_found_nowhere(in_tmp, capsys):
    write_tree(in_tmp, {"alembic.ini": "[alembic]\nscript_location = nowhere.pkg:migrations\n"})
    assert main(["check"]) == 2
    assert capsys.readouterr().err == "mig-lint: ./alembic.ini:2: script_location 'nowhere.pkg:migrations' is not a folder\n"


def test_one_history_in_a_subfolder_of_an_empty_versions_folder(in_tmp, capsys):
    write_tree(in_tmp, {"mig/env.py": "", "mig/versions/__init__.py": "", "mig/versions/main/a.py": A,
                        "mig/versions/main/b.py": B, "mig/versions/main/notes": "", "mig/versions/main/sub.py/x": ""})
    assert main(["check", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(t["path"], t["revisions"]) for t in report["trees"]] == [("mig", 2)]
    assert [(f["code"], f["message"]) for f in report["findings"]] == [
        ("ML111", "2 revision scripts in versions/main not named by the env.py and versions/ layout, "
                  "read since they hold a history of their own")]


def test_version_location_that_does_not_exist_beside_subfolders(in_tmp, capsys):
    write_tree(in_tmp, {"alembic.ini": "[alembic]\nscript_location = mig\nversion_locations = mig/versions mig/gone mig/x\n",
                        "mig/x": "not a folder\n",
                        "mig/env.py": "", "mig/versions/a.py": A, "mig/versions/r1/b.py": B,
                        "mig/versions/r1/helpers.py": "X = 1\n"})
    assert _trees(capsys) == [("mig", "alembic", 2)]
