from __future__ import annotations

import json

import pytest

from mig_lint.cli import main
from mig_lint.config import Config
from mig_lint.config import ConfigError
from mig_lint.config import find_config
from mig_lint.config import Handoff
from mig_lint.config import load_config
from mig_lint.config import MigrationTests
from mig_lint.config import TreeConfig
from tests.conftest import alembic_script
from tests.conftest import write_tree

FORKED = {
    "env.py": "",
    "versions/a.py": alembic_script("a", None),
    "versions/b.py": alembic_script("b", "a"),
    "versions/c.py": alembic_script("c", "a"),
}


def test_pyproject_table_is_read(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": """
        [tool.mig-lint]
        paths = ["db"]
        select = ["ML1", "ml2"]
        ignore = ["ML204"]
        branch-labels = ["expand", "contract"]
        allow-merges = ["m1"]

        [tool.mig-lint.per-file-ignores]
        "versions/0001_*.py" = ["ML205"]

        [tool.mig-lint.severity]
        ML109 = "error"

        [[tool.mig-lint.handoff]]
        migrate = "legacy"
        alembic = "alembic"
        version = 422
        revision = "8f2f"

        [tool.mig-lint.tests]
        paths = ["tests/test_migrations.py"]
    """})
    config = load_config(str(tmp_path / "pyproject.toml"))
    assert config == Config(
        root=str(tmp_path), source=str(tmp_path / "pyproject.toml"), paths=("db",), select=("ML1", "ML2"),
        ignore=("ML204",), per_file_ignores=(("versions/0001_*.py", ("ML205",)),), severity=(("ML109", "error"),),
        branch_labels=("expand", "contract"), allow_merges=("m1",),
        handoff=(Handoff("legacy", "alembic", 422, "8f2f"),),
        tests=MigrationTests(("tests/test_migrations.py",), ("_check_{version}",)),
    )


def test_setup_cfg_is_read_as_flake8_does(tmp_path):
    write_tree(tmp_path, {"setup.cfg": """
        [metadata]
        name = x

        [mig-lint]
        select =
            ML1
            ML3
        ignore = ML101, ML102
        per-file-ignores =
            versions/old_*.py: ML204,ML205
        branch-labels = expand

        [mig-lint.severity]
        ml109 = info

        [mig-lint.handoff]
        migrate = legacy
        alembic = alembic
        version = 7
        revision = abc

        [mig-lint.tests]
        paths = tests/a.py, tests/b.py
        pattern = test_{version}
    """})
    config = load_config(str(tmp_path / "setup.cfg"))
    assert config.select == ("ML1", "ML3")
    assert config.ignore == ("ML101", "ML102")
    assert config.per_file_ignores == (("versions/old_*.py", ("ML204", "ML205")),)
    assert config.branch_labels == ("expand",)
    assert config.severity == (("ML109", "info"),)
    assert config.handoff == (Handoff("legacy", "alembic", 7, "abc"),)
    assert config.tests == MigrationTests(("tests/a.py", "tests/b.py"), ("test_{version}",))


@pytest.mark.parametrize(
    ("text", "message"),
    (
        pytest.param("[tool.mig-lint]\nselct = ['ML1']\n", "unknown key 'selct'", id="unknown-key"),
        pytest.param("[tool.mig-lint]\nselect = 'XX'\n", "'select' has 'XX'", id="bad-code"),
        pytest.param("[tool.mig-lint]\npaths = 3\n", "'paths' must be a list of strings", id="bad-type"),
        pytest.param("[tool.mig-lint.severity]\nML101 = 'fatal'\n", "'severity.ML101' must be one of error, warning, info", id="bad-severity"),
        pytest.param("[tool.mig-lint]\nseverity = 1\n", "'severity' must be a table", id="severity-not-table"),
        pytest.param("[tool.mig-lint]\nper-file-ignores = 1\n", "'per-file-ignores' must be a table", id="pfi-not-table"),
        pytest.param("[[tool.mig-lint.handoff]]\nmigrate = 'x'\n", "each 'handoff' needs exactly migrate, alembic, version and revision", id="handoff-keys"),
        pytest.param("[[tool.mig-lint.handoff]]\nmigrate='a'\nalembic='b'\nversion='x'\nrevision='r'\n", "'handoff.version' must be a whole number", id="handoff-version"),
        pytest.param("[tool.mig-lint]\nhandoff = 1\n", "'handoff' must be an array of tables", id="handoff-type"),
        pytest.param("[tool.mig-lint.tests]\npattern = 'x'\n", "'tests' needs 'paths'", id="tests-paths"),
        pytest.param("[[tool.mig-lint.trees]]\nversion-locations = ['v']\n", "each 'trees' needs 'path'", id="trees-path"),
        pytest.param("[[tool.mig-lint.trees]]\npath = 'db'\nlocations = ['v']\n", "each 'trees' needs 'path'", id="trees-keys"),
        pytest.param("[[tool.mig-lint.trees]]\npath = 'db'\nrecursive = 'yes'\n", "'trees.recursive' must be true or false", id="trees-recursive"),
        pytest.param("[tool.mig-lint]\ntrees = 1\n", "'trees' must be an array of tables", id="trees-type"),
        pytest.param("[tool.mig-lint.tests]\npaths = ['t.py']\npattern = 'x'\n", "'tests.pattern' must be a string (or list) containing {version}", id="tests-pattern"),
        pytest.param("[tool.mig-lint\n", "invalid TOML", id="invalid-toml"),
        pytest.param("[tool]\nmig-lint = 1\n", "[tool.mig-lint] must be a table", id="not-a-table"),
    ),
)
def test_bad_configuration_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(str(path))
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_bad_ini_is_a_clear_error(tmp_path):
    path = tmp_path / "setup.cfg"
    path.write_text("[mig-lint\nselect = ML1\n")
    with pytest.raises(ConfigError, match="invalid INI"):
        load_config(str(path))


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(str(tmp_path / "nope.toml"))


def test_standalone_toml_file_is_the_table(tmp_path):
    path = tmp_path / "mig-lint.toml"
    path.write_text("ignore = ['ML1']\n")
    assert load_config(str(path)).ignore == ("ML1",)


def test_find_config_walks_up_to_the_repository_root(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": "[tool.mig-lint]\n", "a/b/x.txt": ""})
    (tmp_path / ".git").mkdir()
    assert find_config(str(tmp_path / "a" / "b")) == str(tmp_path / "pyproject.toml")


def test_find_config_skips_files_without_the_section_and_stops_at_git(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": "[tool.mig-lint]\n", "repo/pyproject.toml": "[tool.black]\n",
                          "repo/setup.cfg": "[flake8]\n", "repo/sub/x.txt": ""})
    (tmp_path / "repo" / ".git").mkdir()
    assert find_config(str(tmp_path / "repo" / "sub")) is None


def test_find_config_prefers_setup_cfg_section(tmp_path):
    write_tree(tmp_path, {"setup.cfg": "[mig-lint]\nignore = ML1\n"})
    assert find_config(str(tmp_path)) == str(tmp_path / "setup.cfg")


def test_config_error_exits_2_with_the_key(in_tmp, capsys):
    write_tree(in_tmp, {**FORKED, "pyproject.toml": "[tool.mig-lint]\nbogus = 1\n"})
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mig-lint: ") and "unknown key 'bogus'" in err and err.count("\n") == 1


def test_config_option_points_elsewhere(in_tmp, capsys):
    write_tree(in_tmp, {**FORKED, "conf/lint.toml": "[tool.mig-lint]\nignore = ['ML1']\n"})
    assert main(["check", "--config", "conf/lint.toml"]) == 0


def test_paths_from_config_are_relative_to_it(in_tmp, capsys):
    write_tree(in_tmp, {"pyproject.toml": "[tool.mig-lint]\npaths = ['db']\n",
                        **{f"db/{k}": v for k, v in FORKED.items()}})
    (in_tmp / "sub").mkdir()
    assert main(["check", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["trees"][0]["path"] == "db"


def test_severity_override_changes_exit_code(in_tmp, capsys):
    write_tree(in_tmp, {**FORKED, "pyproject.toml": """
        [tool.mig-lint.severity]
        ML101 = "warning"
        ML103 = "info"
    """})
    assert main(["check", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"] == {"error": 0, "warning": 2, "info": 1}


def test_per_file_ignores(in_tmp, capsys):
    write_tree(in_tmp, {**FORKED, "pyproject.toml": """
        [tool.mig-lint.per-file-ignores]
        "versions/[bc].py" = ["ML101"]
    """})
    assert main(["check", "--format", "json"]) == 1
    assert [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]] == ["ML103"]


def test_inline_ignore_on_the_finding_line(in_tmp, capsys):
    files = dict(FORKED)
    files["versions/a.py"] = "revision = 'a'  # mig-lint: ignore[ML103]\ndown_revision = None\n"
    files["versions/b.py"] = "revision = 'b'  # mig-lint: ignore\ndown_revision = 'a'\n"
    write_tree(in_tmp, files)
    assert main(["check", "--format", "json"]) == 1
    assert [(f["code"], f["path"]) for f in json.loads(capsys.readouterr().out)["findings"]] == [("ML101", "versions/c.py")]


def test_extend_ignore_on_the_command_line_and_in_the_configuration(in_tmp, capsys):
    from tests.conftest import alembic_script
    from tests.conftest import write_tree

    forked = {"env.py": "", "versions/a.py": alembic_script("a", None), "versions/b.py": alembic_script("b", "a"),
              "versions/c.py": alembic_script("c", "a")}
    write_tree(in_tmp, forked)

    def codes(*args):
        main(["check", "--format", "json", *args])
        return sorted({f["code"] for f in json.loads(capsys.readouterr().out)["findings"]})

    assert codes() == ["ML101", "ML103"]
    assert codes("--extend-ignore", "ML103") == ["ML101"]
    write_tree(in_tmp, {"pyproject.toml": "[tool.mig-lint]\nextend-ignore = ['ML101']\n"})
    assert codes() == ["ML103"]


def test_baseline_is_read_from_pyproject_and_setup_cfg(tmp_path):
    from mig_lint.config import Baseline

    write_tree(tmp_path, {
        "pyproject.toml": "[tool.mig-lint]\nallow-merges = ['m0']\n[tool.mig-lint.baseline]\nallow-merges = ['m1']\n"
                          "allow-forks = ['f1', 'f2']\n",
        "setup.cfg": "[mig-lint.baseline]\nallow-merges =\n    m1\n    m2\nallow-forks = f1, f2\n",
    })
    toml = load_config(str(tmp_path / "pyproject.toml"))
    assert toml.baseline == Baseline(("m1",), ("f1", "f2"))
    assert toml.merges_allowed == frozenset({"m0", "m1"})
    assert load_config(str(tmp_path / "setup.cfg")).baseline == Baseline(("m1", "m2"), ("f1", "f2"))
    assert Config().baseline == Baseline()


def test_trees_in_pyproject_and_setup_cfg(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[[tool.mig-lint.trees]]\npath = 'db'\nversion-locations = ['versions', 'versions/*/expand']\n"
        "[[tool.mig-lint.trees]]\npath = 'other'\nrecursive = true\n")
    assert load_config(str(tmp_path / "pyproject.toml")).trees == (
        TreeConfig("db", ("versions", "versions/*/expand")), TreeConfig("other", ("versions",), True))
    (tmp_path / "setup.cfg").write_text(
        "[mig-lint.trees.main]\npath = db\nversion-locations =\n    versions\n    versions/*/expand\n"
        "[mig-lint.trees.other]\npath = other\nrecursive = true\n")
    assert load_config(str(tmp_path / "setup.cfg")).trees == (
        TreeConfig("db", ("versions", "versions/*/expand")), TreeConfig("other", ("versions",), True))


def test_branch_labels_unset_means_the_scripts_labels():
    assert Config().chain_labels(["expand", "contract"]) == ("contract", "expand")
    assert Config(branch_labels=()).chain_labels(["expand"]) == ()
    assert Config(branch_labels=("expand",)).chain_labels(["expand", "contract"]) == ("expand",)


def test_one_trees_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.mig-lint.trees]\npath = 'db'\n")
    assert load_config(str(tmp_path / "pyproject.toml")).trees == (TreeConfig("db"),)
