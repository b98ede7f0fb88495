# The environment alembic runs; mig-lint never imports it.
from alembic import context

config = context.config
