"""`convert --squash-to N`: one base revision that creates the schema of versions up to N.

nova and cinder each squashed their oldest migrations by hand into one initial schema.
Here the converted revisions up to N run, in a worker, on a scratch database (a SQLite
file, or a new database on the `--squash-url` server, whose types the squash then uses),
the schema they built is reflected, and alembic's autogenerate renders the operations
that create it (and drop it, for the downgrade). The squash takes the revision id of
version N, so the chain after it and the stamp map from N on are unchanged; a database at
a version before N cannot be stamped (the stamp map no longer knows it). Rows that the
squashed versions inserted are not part of a schema: the report says so.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.autogenerate import render_python_code
from alembic.runtime.migration import MigrationContext

from mig_lint.convert.render import CHANGESET_MODULE
from mig_lint.convert.repository import changeset_layer
from mig_lint.convert.repository import Conversion
from mig_lint.convert.repository import ConvertError
from mig_lint.convert.repository import source_uses_changeset
from mig_lint.convert.repository import VersionReport
from mig_lint.model import TreeSpec

_DIALECT_MODULE = re.compile(r"\b(postgresql|mysql|sqlite|mssql|oracle)\.")


def squash(conversion: Conversion, number: int, url: str | None, python: str) -> Conversion:
    """`conversion` with the revisions of versions up to `number` replaced by one that builds their schema."""
    kept = [v for v in conversion.versions if v.number <= number]
    if not kept or kept[-1].number != number:
        raise ConvertError(f"--squash-to {number}: the repository has no version {number}")
    if conversion.appended:
        raise ConvertError("--squash-to writes a base revision: it cannot be combined with --onto")
    texts = {os.path.basename(path): text for path, text in conversion.files}
    metadata = _schema_of([(v.file, texts[v.file]) for v in kept], url, python)
    squashed = VersionReport(number, kept[-1].revision, f"{str(number).zfill(4)}_squashed.py", "squashed",
                             tuple(s for v in kept for s in v.sources), None, len(metadata.tables), ())
    later = tuple(v for v in conversion.versions if v.number > number)
    result = dataclasses.replace(conversion, versions=(squashed, *later))
    dropped = {v.file for v in kept}
    files = []
    for path, text in conversion.files:
        name = os.path.basename(path)
        if name == kept[0].file:
            files.append((os.path.join(os.path.dirname(path), squashed.file), _render(squashed, metadata, kept)))
        elif name == "migrate-stamp-map.json":
            files.append((path, json.dumps({str(n): r for n, r in result.stamp_map}, indent=2) + "\n"))
        elif name not in dropped:
            files.append((path, text))
    if not any(source_uses_changeset(text) for _path, text in files):
        files = [(path, text) for path, text in files if os.path.basename(path) != CHANGESET_MODULE]
    return dataclasses.replace(result, files=tuple(files))


def _schema_of(revisions: list[tuple[str, str]], url: str | None, python: str) -> sa.MetaData:
    """Run the revisions on a scratch database and reflect what they built."""
    from mig_lint.db.databases import scratch_databases
    from mig_lint.db.process import Worker
    from mig_lint.db.replay import worker_request
    from mig_lint.db.schema import take_snapshot

    with tempfile.TemporaryDirectory(prefix="mig-lint-squash-") as folder:
        versions = os.path.join(folder, "versions")
        os.makedirs(versions)
        for name, text in revisions:
            with open(os.path.join(versions, name), "w", encoding="utf-8") as f:
                f.write(text)
        if any(source_uses_changeset(text) for _name, text in revisions):
            with open(os.path.join(folder, CHANGESET_MODULE), "w", encoding="utf-8") as f:
                f.write(changeset_layer())
        tree = TreeSpec(folder, "alembic", (versions,))
        with scratch_databases(url, ("squash",)) as (database,):
            worker = Worker(python, None)
            try:
                for version in worker.open(worker_request(tree, database, None)).plan:
                    done = worker.step("up", version)
                    if done.error:
                        raise ConvertError(f"--squash-to: revision {version} failed on the scratch database: "
                                           f"{done.error}")
            finally:
                worker.close()
            engine = sa.create_engine(database)
            try:
                with engine.connect() as connection:
                    return take_snapshot(connection).metadata()
            finally:
                engine.dispose()


def _render(squashed: VersionReport, metadata: sa.MetaData, kept: list[VersionReport]) -> str:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as connection:
        script = produce_migrations(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert script.upgrade_ops is not None and script.downgrade_ops is not None
    upgrade = render_python_code(script.upgrade_ops)
    downgrade = render_python_code(script.downgrade_ops)
    modules = sorted(set(_DIALECT_MODULE.findall(upgrade + downgrade)))
    header = [
        f'"""The schema of migrate versions {kept[0].number}-{squashed.number}, squashed',
        "",
        f"Revision ID: {squashed.revision}",
        "Revises: ",
        "",
        f"Written by mig-lint convert --squash-to {squashed.number} from the schema that the converted",
        f"revisions of versions {kept[0].number}-{squashed.number} built; rows they inserted are not part of it.",
        '"""',
        "from alembic import op",
        "import sqlalchemy as sa",
        *[f"from sqlalchemy.dialects import {module}" for module in modules],
    ]
    return "\n".join(header) + (
        "\n\n\n# revision identifiers, used by Alembic.\n"
        f"revision = {squashed.revision!r}\n"
        "down_revision = None\n"
        "branch_labels = None\n"
        "depends_on = None\n"
        f"\n\ndef upgrade() -> None:\n    {upgrade.lstrip()}\n"
        f"\n\ndef downgrade() -> None:\n    {downgrade.lstrip()}\n"
    )
