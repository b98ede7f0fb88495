"""Schema snapshots by reflection, to compare what two migration chains built (a test helper)."""
from __future__ import annotations

import sqlalchemy as sa

VERSION_TABLES = ("migrate_version", "alembic_version")


def snapshot(url: str) -> dict:
    """Tables, columns (name, type, nullability, default), keys, indexes, unique and foreign keys."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        tables = {}
        for table in sorted(inspector.get_table_names()):
            if table in VERSION_TABLES:
                continue
            tables[table] = {
                "columns": sorted((c["name"], str(c["type"]), c["nullable"], c.get("default"))
                                  for c in inspector.get_columns(table)),
                "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
                "indexes": sorted((i["name"], i["column_names"], bool(i["unique"]))
                                  for i in inspector.get_indexes(table)),
                "unique": sorted(u["column_names"] for u in inspector.get_unique_constraints(table)),
                "foreign keys": sorted((f["constrained_columns"], f["referred_table"], f["referred_columns"])
                                       for f in inspector.get_foreign_keys(table)),
            }
        return tables
    finally:
        engine.dispose()
