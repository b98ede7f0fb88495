"""Differential: ML201 is reported for a mutated revision script exactly when CPython refuses to compile it.

Alembic imports a revision with `compile(bytes, path, "exec", dont_inherit=True)` (importlib's
`source_to_code`), so that is the judge. Every run must end with exit 0 or 1.
`MIG_LINT_MUTATIONS=5000` runs a bigger sample than the default.
"""
from __future__ import annotations

import codecs
import json
import os
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from mig_lint.cli import main

SEEDS = (
    b'''"""add widgets

Revision ID: 1a2b3c4d5e6f
Revises:
Create Date: 2024-01-02 03:04:05

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '1a2b3c4d5e6f'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('widgets', sa.Column('id', sa.Integer, primary_key=True))


def downgrade():
    op.drop_table('widgets')
''',
    b'''"""add gadgets (typed header)"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "2b3c4d5e6f70"
down_revision: Union[str, None] = "1a2b3c4d5e6f"
branch_labels: Union[str, Sequence[str], None] = ("gadgets",)
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(sa.Column("gadget", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.drop_column("gadget")
''',
    b'''# Revision ID: 3c4d5e6f7081
# Revises: 2b3c4d5e6f70, 1a2b3c4d5e6f
# mig-lint: ignore[ML104]
from alembic import op

revision = '3c4d5e6f7081'
down_revision = ('2b3c4d5e6f70',
                 '1a2b3c4d5e6f')  # a merge
branch_labels = None
depends_on = [
    '1a2b3c4d5e6f',
]


def upgrade():
    pass


def downgrade():
    pass
''',
    b'''# -*- coding: utf-8 -*-
"""Donn\xc3\xa9es: \xc3\xa9t\xc3\xa9 \xe2\x80\x94 caf\xc3\xa9."""
from alembic import op

revision = "4d5e6f708192"
down_revision = "3c4d5e6f7081"
branch_labels = depends_on = None
NOTE = """Revises: nothing
revision = 'not-a-header'
"""


def upgrade():
    op.execute("UPDATE widgets SET name = 'caf\xc3\xa9'")  # mig-lint: ignore


def downgrade():
    op.execute(
        "UPDATE widgets SET name = 'cafe'"
    )
''',
)
CODECS = ("utf-8", "utf8", "latin-1", "iso-8859-1", "cp1252", "utf-8-sig", "ascii", "utf-16", "utf-32", "undefined",
          "punycode", "rot13", "hex", "idna", "utf-7", "unicode_escape", "raw_unicode_escape", "shift_jis",
          "koi8-r", "bogus", "mbcs", "latin-1-unix", "UTF_8", "euc-jp")
INSERTS = (b"\r", b"\n", b"\r\n", b"\n\r", b"\x00", b"'", b'"', b'"""', b"(", b")", b"[", b"#", b"\\", b"\xe9",
           b"\xff", b"\xc3", codecs.BOM_UTF8, b"\t", b"\x0c", b"\x0b", b" ", b"    ", b"yield 1\n", b"await x\n",
           b"return 1\n", b"nonlocal x\n", b"# mig-lint: ignore\n", b"# mig-lint: ignore[ML201]", b"revision = ",
           b"down_revision = 'x'\n", b"\xe2\x80\xa8", b"\xed\xa0\x80", b"coding: latin-1", b"def f(:\n", b":=",
           b"f'{", b"\xc2\x85", b"\x1a", b"from __future__ import braces\n", b"if x:\n", b"lambda: (yield)\n")


def _mutation():
    position = st.floats(0, 1)
    return st.one_of(
        st.tuples(st.just("delete"), position, st.integers(1, 40)),
        st.tuples(st.just("insert"), position, st.one_of(st.sampled_from(INSERTS), st.binary(min_size=1, max_size=4))),
        st.tuples(st.just("replace"), position, st.integers(0, 255)),
        st.tuples(st.just("newlines"), st.sampled_from([b"\r", b"\r\n", b"\n\r"]), st.floats(0, 1)),
        st.tuples(st.just("cookie"), st.sampled_from(CODECS), st.booleans()),
        st.tuples(st.just("bom"), st.booleans(), st.booleans()),
        st.tuples(st.just("truncate"), position, st.booleans()),
        st.tuples(st.just("module-level"), position, st.sampled_from([b"yield", b"await f()", b"return", b"nonlocal x",
                                                                      b"yield from x", b"async with x: pass"])),
    )


def _at(data: bytes, fraction: float) -> int:
    return int(len(data) * fraction)


def _line_start(data: bytes, fraction: float) -> int:
    return data.rfind(b"\n", 0, _at(data, fraction)) + 1


def _apply(data: bytes, mutation: tuple) -> bytes:
    kind, a, b = mutation
    if kind == "delete":
        at = _at(data, a)
        return data[:at] + data[at + b:]
    if kind == "insert":
        at = _at(data, a)
        return data[:at] + b + data[at:]
    if kind == "replace":
        at = min(_at(data, a), len(data) - 1)
        return data if at < 0 else data[:at] + bytes([b]) + data[at + 1:]
    if kind == "newlines":
        at = _at(data, b)  # from here on (0: the whole file)
        return data[:at] + data[at:].replace(b"\n", a)
    if kind == "cookie":
        cookie = f"# -*- coding: {a} -*-\n".encode()
        if b:  # on line 2, after a shebang
            return b"#!/usr/bin/env python\n" + cookie + data
        return cookie + data
    if kind == "bom":
        return (codecs.BOM_UTF8 + data) if a else (data + codecs.BOM_UTF8 if b else codecs.BOM_UTF8 * 2 + data)
    if kind == "truncate":
        return data[:_at(data, a)] if b else data[_at(data, a):]
    at = _line_start(data, a)
    return data[:at] + b + b"\n" + data[at:]


def _cpython_refuses(data: bytes, path: str) -> bool:
    try:
        compile(data, path, "exec", dont_inherit=True)
    except Exception:
        return True
    return False


def _check(data: bytes, capsys) -> tuple[int, list[dict], str]:
    with tempfile.TemporaryDirectory() as top:
        root = Path(top)
        (root / "env.py").write_text("")
        (root / "versions").mkdir()
        script = root / "versions" / "m.py"
        script.write_bytes(data)
        code = main(["check", "--format", "json", "--no-cache", str(root)])
        out, err = capsys.readouterr()
        findings = json.loads(out)["findings"] if code in (0, 1) else []
        return code, [f for f in findings if f["path"].endswith("versions/m.py")], err


@settings(max_examples=int(os.environ.get("MIG_LINT_MUTATIONS", "250")), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), mutations=st.lists(_mutation(), min_size=1, max_size=4))
def test_ml201_iff_cpython_refuses_to_compile(seed, mutations, capsys):
    data = seed
    for mutation in mutations:
        data = _apply(data, mutation)
    code, findings, err = _check(data, capsys)
    assert code in (0, 1), err
    ml201 = [f for f in findings if f["code"] == "ML201"]
    assert bool(ml201) == _cpython_refuses(data, "m.py"), (data, findings)
    assert all(f["line"] >= 1 and f["column"] >= 1 for f in findings)


def test_every_seed_is_clean_of_ml201(capsys):
    for seed in SEEDS:
        code, findings, err = _check(seed, capsys)
        assert code in (0, 1), err
        assert not [f for f in findings if f["code"] == "ML201"], findings
