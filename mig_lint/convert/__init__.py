"""`mig-lint convert`: a sqlalchemy-migrate repository to alembic revisions (analyze -> render)."""
