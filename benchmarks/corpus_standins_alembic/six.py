"""six, as cinder's migration 040 uses it (`six.text_type`), for the interpreter of the alembic side.

It lacks six; migrate's interpreter has the real one (sqlalchemy-migrate depends on it), so
this folder is on PYTHONPATH of mig-lint and the alembic side only.
"""
text_type = str
