from sqlalchemy import MetaData, Table


def upgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    instances = Table("instances", meta, autoload=True)
    instances.c.old_state.drop()
