"""The README's first command: `mig-lint check examples` exits 1 with seven findings."""
from __future__ import annotations

import json
from pathlib import Path

from mig_lint.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_bundled_examples(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["check", "--format", "json", "examples"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert sorted((f["code"], f["path"].rsplit("/", 1)[1]) for f in findings) == [
        ("ML101", "c41a7e09d5f2_add_customer_phone.py"),
        ("ML101", "f09b3c5d7e21_index_order_customer.py"),
        ("ML103", "3f1c0a9b2d11_create_customers.py"),
        ("ML205", "f09b3c5d7e21_index_order_customer.py"),
        ("ML301", "219_add_instance_tags.py"),
        ("ML302", "221_drop_old_column.py"),
        ("ML305", "221_drop_old_column_postgres_upgrade.sql"),
    ]
    assert "it exits 1 with seven findings" in (ROOT / "README.md").read_text()
