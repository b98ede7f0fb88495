"""The four helpers of oslo.db 8's sqlalchemy.utils that nova's migrations call.

They take what the migration passes: migrate's Engine, or the Connection of a converted
revision. On SQLAlchemy 1.4 the table's MetaData is bound as oslo.db bound it, since
migrate's changeset calls (`create_column`) execute on `table.bind`.
"""
import sqlalchemy
from sqlalchemy import Index
from sqlalchemy import inspect
from sqlalchemy import MetaData
from sqlalchemy import Table


def get_table(engine, name):
    metadata = MetaData()
    if sqlalchemy.__version__.startswith("1."):
        metadata.bind = engine
    return Table(name, metadata, autoload_with=engine)


def index_exists(engine, table_name, index_name):
    return index_name in [index["name"] for index in inspect(engine).get_indexes(table_name)]


def add_index(engine, table_name, index_name, idx_columns):
    table = get_table(engine, table_name)
    if index_exists(engine, table_name, index_name):
        raise ValueError(f"Index '{index_name}' already exists!")
    Index(index_name, *[getattr(table.c, column) for column in idx_columns]).create(engine)


def drop_index(engine, table_name, index_name):
    table = get_table(engine, table_name)
    for index in table.indexes:
        if index.name == index_name:
            index.drop(engine)
            return
    raise ValueError(f"Index '{index_name}' not found!")
