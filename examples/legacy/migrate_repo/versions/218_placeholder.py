# Placeholder for a backport; intentionally empty.


def upgrade(migrate_engine):
    pass
