"""ML3xx and the migrate reader on small generated repositories: the real command, exact findings."""
from __future__ import annotations

import json

import pytest

from mig_lint.cli import main
from tests.conftest import write_tree

CFG = "[db_settings]\nrepository_id = demo\nversion_table = migrate_version\nrequired_dbs = []\n"
UP = "def upgrade(migrate_engine):\n    pass\n"


def _run(in_tmp, capsys, files, cfg=CFG):
    tree = {"repo/versions/__init__.py": "", **{f"repo/versions/{k}": v for k, v in files.items()}}
    if cfg is not None:
        tree["repo/migrate.cfg"] = cfg
    write_tree(in_tmp, tree)
    code = main(["check", "--format", "json", "repo"])
    report = json.loads(capsys.readouterr().out)
    findings = sorted((f["code"], f["path"].replace("repo/versions/", ""), f["line"]) for f in report["findings"])
    return code, report["trees"][0], findings


@pytest.mark.parametrize(
    ("files", "findings"),
    (
        pytest.param({"216_a.py": UP, "217_b.py": UP}, [], id="clean-from-216"),
        pytest.param({"046_a.py": UP, "047_b.py": UP, "047_c.py": UP}, [("ML301", "047_c.py", 1)], id="collision"),
        pytest.param({"047_a.py": UP, "0047_b.py": UP}, [("ML301", "0047_b.py", 1)], id="collision-leading-zero"),
        pytest.param({"046_a.py": UP, "049_b.py": UP}, [("ML302", "049_b.py", 1)], id="gap"),
        pytest.param({"046_a.py": UP, "047_upgrade.sql": ""}, [("ML303", "047_upgrade.sql", 1)], id="sql-name-too-short"),
        pytest.param({"046_a.py": UP, "047_x_sqlite_apply.sql": ""}, [("ML303", "047_x_sqlite_apply.sql", 1)], id="sql-bad-operation"),
        pytest.param({"046_a.py": UP, "047_a_sqlite_upgrade.sql": "", "047_b_sqlite_upgrade.sql": ""},
                     [("ML304", "047_b_sqlite_upgrade.sql", 1)], id="duplicate-sql"),
        pytest.param({"046_a.py": UP, "047_a_postgres_upgrade.sql": ""}, [("ML305", "047_a_postgres_upgrade.sql", 1)], id="unknown-dialect"),
        pytest.param({"046_a.py": UP, "047_notes.txt": "", "048_b.py": UP}, [("ML306", "047_notes.txt", 1)], id="stray-file"),
        pytest.param({"046_a.py": UP, "046_old/x": ""}, [], id="stray-folder-beside-script-is-harmless"),
        pytest.param({"046_a.py": UP, "7_b.py": UP}, [("ML307", "7_b.py", 1)], id="short-number"),
        pytest.param({"001_a.py": UP, "1/x": ""}, [("ML308", "1", 1)], id="old-format"),
        pytest.param({"20130101120000_a.py": UP, "20130102120000_b.py": UP}, [("ML309", "20130102120000_b.py", 1)], id="timestamps"),
        pytest.param({"046_a.py": "def downgrade(migrate_engine):\n    pass\n"}, [("ML311", "046_a.py", 1)], id="no-upgrade"),
        pytest.param({"046_a.py": "def downgrade(migrate_engine):\n    pass\n", "046_a_default_upgrade.sql": "SELECT 1;"}, [],
                     id="default-sql-covers-upgrade"),
        pytest.param({"046_a.py": "def upgrade(migrate_engine:\n"}, [("ML201", "046_a.py", 1)], id="syntax-error"),
        pytest.param({"216_sqlite_upgrade.sql": "", "216_default_upgrade.sql": "", "ibm_x.py": "", "217_x_ibm_db_sa_upgrade.sql": ""},
                     [], id="sql-only-and-ibm"),
        pytest.param({"216_a.py": UP, "217_x_ibm_db_sa.sql": ""}, [("ML303", "217_x_ibm_db_sa.sql", 1)], id="bad-ibm-name"),
        pytest.param({"216_a.py": UP, "217_happy": ""}, [("ML311", "217_happy", 1)], id="name-ending-in-py-is-python"),
        pytest.param({"216_a.py": UP, "217_mysql": ""}, [("ML303", "217_mysql", 1)], id="name-ending-in-sql-is-sql"),
    ),
)
def test_migrate_rules(in_tmp, capsys, files, findings):
    assert _run(in_tmp, capsys, files)[2] == findings


def test_repository_facts(in_tmp, capsys):
    code, tree, _ = _run(in_tmp, capsys, {
        "216_havana.py": UP, "217_placeholder.py": UP, "219_x.py": UP, "219_y.py": UP,
        "220_sqlite_upgrade.sql": "", "220_postgresql_upgrade.sql": "",
    }, cfg="[db_settings]\nrepository_id = nova\nversion_table = my_version\nuse_timestamp_numbering = False\n")
    assert code == 1
    assert {k: tree[k] for k in ("format", "revisions", "heads", "bases", "first_version", "latest_version", "gaps",
                                  "collisions", "sql_only_versions", "repository_id", "version_table", "linear")} == {
        "format": "migrate", "revisions": 4, "heads": ["220"], "bases": ["216"], "first_version": 216,
        "latest_version": 220, "gaps": [218], "collisions": {"219": ["219_x.py", "219_y.py"]},
        "sql_only_versions": [220], "repository_id": "nova", "version_table": "my_version", "linear": False,
    }


@pytest.mark.parametrize(
    ("cfg", "message"),
    (
        pytest.param(None, "migrate.cfg is missing", id="missing"),
        pytest.param("[other]\nx = 1\n", "migrate.cfg has no [db_settings] section", id="no-section"),
        pytest.param("repository_id = x\n", "migrate.cfg cannot be parsed: File contains no section headers.", id="unparsable"),
        pytest.param(b"\xff\xfe[db_settings]\n", "migrate.cfg is not valid utf-8: byte 0xff at line 1", id="not-utf8"),
    ),
)
def test_invalid_migrate_cfg(in_tmp, capsys, cfg, message):
    if isinstance(cfg, bytes):
        write_tree(in_tmp, {"repo/migrate.cfg": cfg, "repo/versions/001_a.py": UP})
        main(["check", "--format", "json", "repo"])
        findings = json.loads(capsys.readouterr().out)["findings"]
    else:
        files = {"001_a.py": UP}
        if cfg is None:
            write_tree(in_tmp, {"repo/versions/001_a.py": UP})
            main(["check", "--format", "json", "repo/versions"])
            findings = json.loads(capsys.readouterr().out)["findings"]
        else:
            findings = [{"code": c, "path": p, "message": message} for c, p, _ in _run(in_tmp, capsys, files, cfg)[2]]
            main(["check", "--format", "json", "repo"])
            findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["code"], f["message"].split("\n")[0][:len(message)]) for f in findings] == [("ML312", message)]


@pytest.mark.parametrize(
    ("listing", "findings"),
    (
        pytest.param('{"046": ["046_a.py"], "047": ["047_b.py", "047_b_sqlite_upgrade.sql"]}', [], id="agrees"),
        pytest.param('{"046": ["046_a.py"]}', [("ML310", 1, "047_b.py is not listed in versions.json"),
                                               ("ML310", 1, "047_b_sqlite_upgrade.sql is not listed in versions.json")], id="unlisted"),
        pytest.param('{\n"046": ["046_a.py", "046_gone.py"],\n"047": ["047_b.py", "047_b_sqlite_upgrade.sql"]\n}',
                     [("ML310", 2, "versions.json lists 046_gone.py under 046, but there is no such script")], id="listed-but-missing"),
        pytest.param('{"046": ["046_a.py", "047_b.py"], "047": ["047_b_sqlite_upgrade.sql"]}',
                     [("ML310", 1, "versions.json lists 047_b.py under 046, but its name says 47")], id="wrong-number"),
        pytest.param('{"046": ', [("ML310", 1, "versions.json is not valid JSON: Expecting value")], id="invalid-json"),
        pytest.param('["046_a.py"]', [("ML310", 1, "versions.json is not a JSON object of version -> file names")], id="not-object"),
        pytest.param('{"x": []}', [("ML310", 1, "versions.json has a key 'x' that is not a version number")], id="bad-key"),
        pytest.param('{"046": "046_a.py"}', [("ML310", 1, "versions.json maps '046' to something other than a list of file names")], id="bad-value"),
    ),
)
def test_versions_json(in_tmp, capsys, listing, findings):
    _run(in_tmp, capsys, {"046_a.py": UP, "047_b.py": UP, "047_b_sqlite_upgrade.sql": "", "versions.json": listing})
    main(["check", "--format", "json", "repo"])
    report = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["line"], f["message"]) for f in report["findings"]] == findings


def test_huge_gap_is_one_finding_and_a_capped_list(in_tmp, capsys):
    code, tree, findings = _run(in_tmp, capsys, {"001_a.py": UP, "99999999999_b.py": UP})
    assert findings == [("ML302", "99999999999_b.py", 1)]
    assert len(tree["gaps"]) == 10_000
    assert tree["gaps"][:2] == [2, 3]


def test_gap_list_is_capped_across_runs(in_tmp, capsys):
    _, tree, findings = _run(in_tmp, capsys, {"001_a.py": UP, "9000_b.py": UP, "20000_c.py": UP})
    assert [f[0] for f in findings] == ["ML302", "ML302"]
    assert len(tree["gaps"]) == 10_000
    assert tree["gaps"][-1] == 9000 + 10_000 - 8998


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    (
        pytest.param("005_add_x.py", "py", "add_x", id="py"),
        pytest.param("005.py", "py", "", id="py-without-description"),
        pytest.param("005_copy", "py", "co", id="ends-in-py-without-a-dot"),
        pytest.param("005_add_x_sqlite_upgrade.sql", "sql", "add_x", id="sql"),
        pytest.param("005_sqlite_upgrade.sql", "sql", "", id="sql-without-description"),
        pytest.param("005_add_x_mysql_UPGRADE.sql", "sql", "add_x", id="upper-case-operation"),
        pytest.param("005_x_ibm_db_sa_upgrade.sql", "sql", "x", id="ibm_db_sa"),
        pytest.param("005_ibm_db_sa_upgrade.sql", "sql", None, id="ibm_db_sa-without-description"),
        pytest.param("005_upgrade.sql", "sql", None, id="too-few-parts"),
        pytest.param("005_add_x_sqlite_downgrade.SQL", "other", "add_x", id="upper-case-extension"),
        pytest.param("005_notes.txt", "other", None, id="other-file"),
        pytest.param("005_old", "dir", None, id="folder"),
    ),
)
def test_description_follows_migrates_grammar(name, kind, expected):
    from mig_lint.model import MigrateEntry
    from mig_lint.rules.migrate import description

    assert description(MigrateEntry(name, name, 5, "005", kind)) == expected
