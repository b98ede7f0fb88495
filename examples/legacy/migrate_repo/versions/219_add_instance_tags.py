from sqlalchemy import Column, Integer, MetaData, String, Table


def upgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    tags = Table(
        "tags", meta,
        Column("id", Integer, primary_key=True),
        Column("name", String(255), nullable=False),
    )
    tags.create()
