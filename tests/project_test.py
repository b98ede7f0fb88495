"""ML401 and ML403: rules that read the configuration and the project around the trees."""
from __future__ import annotations

import json

import pytest

from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import write_tree

UP = "def upgrade(migrate_engine):\n    pass\n"
PROJECT = {
    "db/legacy/migrate.cfg": "[db_settings]\nrepository_id = nova\nversion_table = migrate_version\n",
    "db/legacy/versions/216_a.py": UP,
    "db/legacy/versions/217_b.py": UP,
    "db/alembic/env.py": "",
    "db/alembic/versions/8f2f.py": alembic_script("8f2f", None),
    "db/alembic/versions/9a0b.py": alembic_script("9a0b", "8f2f"),
}


def _handoff(migrate="db/legacy", alembic="db/alembic", version=217, revision="8f2f"):
    return (f'[tool.mig-lint]\n\n[[tool.mig-lint.handoff]]\nmigrate = "{migrate}"\nalembic = "{alembic}"\n'
            f'version = {version}\nrevision = "{revision}"\n')


def _messages(in_tmp, capsys, files):
    write_tree(in_tmp, files)
    code = main(["check", "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, [(f["code"], f["path"], f["line"], f["message"]) for f in findings]


@pytest.mark.parametrize(
    ("config", "messages"),
    (
        pytest.param(_handoff(), [], id="joins"),
        pytest.param(_handoff(version=216), ["migrate grew past the handoff at 216: version 217 never runs once databases move to alembic"], id="grew-past"),
        pytest.param(_handoff(version=300), ["handoff version 300 is not a version of db/legacy (latest is 217)"], id="unknown-version"),
        pytest.param(_handoff(revision="ffff"), ["handoff revision 'ffff' is not a revision of db/alembic"], id="unknown-revision"),
        pytest.param(_handoff(migrate="db/nope", alembic="db/none"),
                     ["handoff alembic = 'db/none' is not an alembic script location",
                      "handoff migrate = 'db/nope' is not a migrate repository"], id="trees-not-found"),
    ),
)
def test_handoff(in_tmp, capsys, config, messages):
    code, found = _messages(in_tmp, capsys, {**PROJECT, "pyproject.toml": config})
    assert found == [("ML401", "pyproject.toml", 3, m) for m in messages]
    assert code == (1 if messages else 0)


def test_migration_without_test(in_tmp, capsys):
    config = '[tool.mig-lint.tests]\npaths = ["tests/**/test_*.py"]\npattern = "_check_{version}"\n'
    files = {**PROJECT, "pyproject.toml": config,
             "tests/db/test_migrations.py": "def _check_216(self):\n    pass\n\ndef _check_8f2f(self):\n    pass\n"}
    code, found = _messages(in_tmp, capsys, files)
    assert code == 0
    assert [(c, p) for c, p, _, _ in found] == [("ML403", "db/alembic/versions/9a0b.py"), ("ML403", "db/legacy/versions/217_b.py")]
    assert found[1][3] == "no test names 217 (_check_217 is in none of tests/**/test_*.py)"


def test_migration_test_names_zero_padded_versions(in_tmp, capsys):
    files = {"r/migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n", "r/versions/001_a.py": UP,
             "t.py": "def _check_001(self): pass\n", "pyproject.toml": '[tool.mig-lint.tests]\npaths = ["t.py"]\n'}
    assert _messages(in_tmp, capsys, files) == (0, [])


def test_any_of_several_test_patterns_counts(in_tmp, capsys):
    files = {"r/migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n",
             "r/versions/001_a.py": UP, "r/versions/002_b.py": UP,
             "t.py": "def _check_001(self): pass\ndef _pre_upgrade_002(self): pass\n",
             "pyproject.toml": '[tool.mig-lint.tests]\npaths = ["t.py"]\npattern = ["_check_{version}", "_pre_upgrade_{version}"]\n'}
    assert _messages(in_tmp, capsys, files) == (0, [])
