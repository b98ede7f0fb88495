from sqlalchemy import Index, MetaData, Table


def upgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    instances = Table("instances", meta, autoload=True)
    Index("instances_host_idx", instances.c.host).create(migrate_engine)
