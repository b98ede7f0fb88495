"""ML209-ML212 (rules/hygiene.py, rules/placeholder.py) through the real command, and their pure parts."""
from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mig_lint.cli import main
from mig_lint.rules.hygiene import application
from mig_lint.rules.hygiene import name_template
from mig_lint.rules.placeholder import placeholder_reason
from tests.conftest import alembic_script
from tests.conftest import write_tree


@pytest.mark.parametrize(("revision", "reason"), [
    pytest.param("a1b2c3d4e5f6", "two interleaved runs", id="interleaved"),
    pytest.param("1a2b3c4d5e6f", "two interleaved runs", id="interleaved-odd"),
    pytest.param("000000000001", "a repetition", id="zeros"),
    pytest.param("aaaaaaaaaaaa", "a repetition", id="one-character"),
    pytest.param("abababababab", "a pattern repeating every 2 characters", id="period-2"),
    pytest.param("123456789abc", "the run '123456789abc'", id="run"),
    pytest.param("fedcba987654", "the run 'fedcba987654'", id="descending-run"),
    pytest.param("deadbeef0042", "the word 'deadbeef'", id="deadbeef"),
    pytest.param("31337c0ffee0", "the word 'c0ffee'", id="coffee"),
    pytest.param("abc123", "the runs 'abc', '123'", id="abc123"),
    pytest.param("a1b2c3", "two interleaved runs", id="short-interleaved"),
    pytest.param("abcdef012345", "the runs 'abcdef', '012345'", id="two-runs"),
    pytest.param("123412341234", "the runs '1234', '1234', '1234'", id="runs-repeated"),
    pytest.param("0123456789abcdef0123456789abcdef", "the run '0123456789abcdef'", id="32-characters"),
])
def test_placeholder_ids(revision, reason):
    assert placeholder_reason(revision) == reason


@pytest.mark.parametrize("revision", [
    pytest.param("3f9c41e07b2d", id="generated"),
    pytest.param("7c3e91d0b2a4", id="generated-2"),
    pytest.param("001", id="numbered"),
    pytest.param("0217", id="convert-numbered"),
    pytest.param("202401151030", id="timestamp"),
    pytest.param("liberty", id="word"),
    pytest.param("add_users", id="separator"),
    pytest.param("A1B2C3D4E5F6", id="capitals"),
    pytest.param("facade", id="hex-word"),
    pytest.param("1a2b", id="too-short-to-tell"),
    pytest.param("ab12c", id="short-mixed"),
    pytest.param("", id="empty"),
])
def test_chosen_or_generated_ids(revision):
    assert placeholder_reason(revision) is None


@pytest.mark.parametrize(("template", "name", "carries"), [
    pytest.param("%(rev)s_%(slug)s", "1f4c9a02b7e3_add_users", True, id="default"),
    pytest.param("%(rev)s_%(slug)s", "1f4c9a02b7e3", True, id="default-no-slug"),
    pytest.param("%(rev)s_%(slug)s", "004_1f4c9a02b7e3_add_users", True, id="ordering-number"),
    pytest.param("%(rev)s_%(slug)s", "add_users_1f4c9a02b7e3", False, id="id-last"),
    pytest.param("%(rev)s_%(slug)s", "1f4c9a02b7e3x_add", False, id="id-longer"),
    pytest.param("%(year)d-%(month).2d-%(day).2d_%(rev)s", "2021-06-02_1f4c9a02b7e3", True, id="dispatch"),
    pytest.param("%(year)d-%(month).2d-%(day).2d_%(rev)s", "2021-06-02a_1f4c9a02b7e3", False, id="dispatch-letter"),
    pytest.param("%(epoch)s_%(rev)s", "1714642200_1f4c9a02b7e3", True, id="epoch"),
    pytest.param("%(rev)s", "1f4c9a02b7e3", True, id="rev-only"),
    pytest.param("%(rev)s-%(custom)s", "1f4c9a02b7e3-anything", True, id="unknown-token-is-free-text"),
    pytest.param("%(rev)s_%(slug)s", "1f4c9a02b7e3_1f4c9a02b7e3", True, id="id-twice"),
    pytest.param("x_%(rev)s", "1f4c9a02b7e3_x_1f4c9a02b7e3", False, id="id-twice-neither-placed"),
])
def test_name_template(template, name, carries):
    names = name_template(template)
    assert names is not None
    assert names.carries(name, "1f4c9a02b7e3") is carries


@given(template=st.sampled_from(["%(rev)s_%(slug)s", "%(rev)s-%(slug)s", "%(rev)s%(slug)s", "%(rev)s_%%_%(slug)s",
                                  "%(rev)s", "x_%(rev)s_%(slug)s"]),
       revision=st.text("ab01", min_size=1, max_size=3), rest=st.text("ab01_-%\n", max_size=8), first=st.booleans())
def test_the_quick_reading_of_alembic_templates_agrees_with_the_patterns(template, revision, rest, first):
    names = name_template(template)
    assert names is not None
    name = revision + rest if first else rest
    by_patterns = dataclasses.replace(names, separator=None)
    assert names.carries(name, revision) is by_patterns.carries(name, revision)


def test_a_template_without_rev_checks_nothing():
    assert name_template("%(year)d_%(slug)s") is None


def _check(args: list[str], capsys) -> tuple[int, list[tuple[str, str, int]], str]:
    code = main(["check", "--format", "json", "--no-cache", *args])
    out, err = capsys.readouterr()
    if code == 2:
        return code, [], err
    return code, [(f["code"], f["path"], f["line"]) for f in json.loads(out)["findings"]], err


def test_pyproject_file_template(in_tmp, capsys):
    write_tree(in_tmp, {
        "pyproject.toml": '[tool.alembic]\nscript_location = "db"\nfile_template = "%%(rev)s"\n',
        "db/env.py": "",
        "db/versions/1f4c9a02b7e3.py": alembic_script("1f4c9a02b7e3", None),
        "db/versions/7c3e91d0b2a4_add_users.py": alembic_script("7c3e91d0b2a4", "1f4c9a02b7e3"),
    })
    assert _check(["."], capsys)[1] == [("ML209", "db/versions/7c3e91d0b2a4_add_users.py", 1)]


def test_flask_migrate_ini_file_template(in_tmp, capsys):
    write_tree(in_tmp, {
        "migrations/alembic.ini": "[alembic]\nfile_template = %%(rev)s_%%(slug)s_x\n",
        "migrations/env.py": "",
        "migrations/versions/1f4c9a02b7e3_create_x.py": alembic_script("1f4c9a02b7e3", None),
        "migrations/versions/7c3e91d0b2a4_add_users.py": alembic_script("7c3e91d0b2a4", "1f4c9a02b7e3"),
    })
    assert _check(["."], capsys)[1] == [("ML209", "migrations/versions/7c3e91d0b2a4_add_users.py", 1)]


def test_application_is_the_project_around_the_tree(tmp_path):
    write_tree(tmp_path, {
        "setup.cfg": "[metadata]\nname = app\n",
        "src/app/__init__.py": "", "manage.py": "", "setup.py": "", "docs/conf.py": "", "not-a-name.py": "",
        "migrations/env.py": "",
    })
    names, own = application(str(tmp_path / "migrations"))
    assert names == {"app", "manage"}
    assert own == ()


def test_no_project_means_no_application(tmp_path):
    write_tree(tmp_path, {"migrations/env.py": "", "app/__init__.py": ""})
    assert application(str(tmp_path / "migrations")) == (frozenset(), ())


def test_application_stops_at_the_repository_root(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": "", "repo/.git/HEAD": "", "repo/migrations/env.py": ""})
    assert application(str(tmp_path / "repo" / "migrations")) == (frozenset(), ())


def test_allowed_imports_in_setup_cfg(in_tmp, capsys):
    write_tree(in_tmp, {
        "setup.cfg": "[mig-lint]\nallowed-imports =\n    app.types\n    app.db\n",
        "app/__init__.py": "",
        "migrations/env.py": "",
        "migrations/versions/1f4c9a02b7e3_x.py": "from app.types import GUID\nfrom app.db import base\n"
                                                 "from app.models import User\n"
                                                 + alembic_script("1f4c9a02b7e3", None),
    })
    assert _check(["."], capsys)[1] == [("ML211", "migrations/versions/1f4c9a02b7e3_x.py", 3)]


def test_allowed_imports_must_be_module_names(in_tmp, capsys):
    write_tree(in_tmp, {
        "pyproject.toml": '[tool.mig-lint]\nallowed-imports = ["app/types"]\n',
        "migrations/env.py": "",
        "migrations/versions/1f4c9a02b7e3_x.py": alembic_script("1f4c9a02b7e3", None),
    })
    code, _, err = _check(["."], capsys)
    assert code == 2
    assert "'allowed-imports' has 'app/types', which is not a dotted module name like myapp.types" in err


def test_offline_unsafe_is_opt_in(in_tmp, capsys):
    script = "from alembic import op\nimport sqlalchemy as sa\n" + alembic_script("1f4c9a02b7e3", None).replace(
        "    pass", "    sa.inspect(op.get_bind())")
    write_tree(in_tmp, {"migrations/env.py": "", "migrations/versions/1f4c9a02b7e3_x.py": script})
    assert _check(["."], capsys)[1] == []
    assert _check(["--extend-select", "ML212", "."], capsys)[1] == [
        ("ML212", "migrations/versions/1f4c9a02b7e3_x.py", 7)]
    assert _check(["--select", "ML2", "."], capsys)[1] == []


@pytest.mark.parametrize("code", ["ML209", "ML210", "ML211", "ML212"])
def test_rules_prints_the_bad_and_the_safe_example(code, capsys):
    assert main(["rules", code]) == 0
    out = capsys.readouterr().out
    assert "Example:" in out and "(bad)" in out and "Safe:" in out


def test_a_configured_tree_keeps_its_ini_file_template(in_tmp, capsys):
    write_tree(in_tmp, {
        "pyproject.toml": '[tool.mig-lint]\n[[tool.mig-lint.trees]]\npath = "db"\nversion-locations = ["versions", "v2"]\n',
        "db/alembic.ini": "[alembic]\nscript_location = %(here)s\nfile_template = %%(rev)s\n",
        "db/env.py": "",
        "db/versions/1f4c9a02b7e3.py": alembic_script("1f4c9a02b7e3", None),
        "db/v2/7c3e91d0b2a4_add_users.py": alembic_script("7c3e91d0b2a4", "1f4c9a02b7e3"),
    })
    assert _check(["."], capsys)[1] == [("ML209", "db/v2/7c3e91d0b2a4_add_users.py", 1)]


def test_a_template_without_the_id_puts_nothing_to_check(in_tmp, capsys):
    write_tree(in_tmp, {
        "pyproject.toml": '[tool.alembic]\nscript_location = "db"\nfile_template = "%%(year)d_%%(slug)s"\n',
        "db/env.py": "",
        "db/versions/2024_create_users.py": alembic_script("1f4c9a02b7e3", None),
    })
    assert _check(["."], capsys)[1] == []
