"""The changeset layer in process: each call on a real database under alembic's `op`, checked by reflection.

The end-to-end proof (migrate and the conversion build the same schema) is in
tests/convert_runtime_test.py; these tests reach every branch of the layer itself.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from mig_lint.convert import migrate_changeset as changeset
from tests.databases import fresh_database


@contextlib.contextmanager
def operations(url: str) -> Iterator[sa.engine.Connection]:
    """alembic's `op` on a connection to `url`, in one transaction, as a revision sees it."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            with Operations.context(MigrationContext.configure(connection)):
                yield connection
    finally:
        engine.dispose()


@pytest.fixture
def db(tmp_path):
    with operations(f"sqlite:///{tmp_path / 'x.db'}") as connection:
        connection.exec_driver_sql("CREATE TABLE parents (id INTEGER PRIMARY KEY, name VARCHAR(20))")
        connection.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(20), "
                                   "email VARCHAR(20), parent_id INTEGER REFERENCES parents (id))")
        connection.exec_driver_sql("INSERT INTO users (id, name) VALUES (1, 'a')")
        yield connection


def reflect(connection, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=connection)


def columns(connection, table: str) -> dict[str, str]:
    return {c["name"]: str(c["type"]) for c in sa.inspect(connection).get_columns(table)}


def test_a_column_goes_into_the_database_and_its_table_with_what_migrate_adds(db):
    users = reflect(db, "users")
    count = sa.Column("count", sa.Integer, default=lambda: 5)
    assert changeset.create(count, users, db, index_name="users_count_idx") is count
    assert count.table is users
    assert db.exec_driver_sql("SELECT count FROM users").scalar() == 5
    changeset.create_column(users, sa.Column("code", sa.String(8), unique=True), unique_name="uniq_users0code")
    changeset.create_column(users, sa.Column("seq", sa.Integer, default=sa.Sequence("s")))
    changeset.create(sa.Column("parent2_id", sa.Integer, sa.ForeignKey("parents.id", ondelete="CASCADE")), table=users)
    changeset.create(sa.Column("parent3_id", sa.Integer, sa.ForeignKey("parents.id", name="users_p3_fk")), users)
    inspector = sa.inspect(db)
    assert [i["name"] for i in inspector.get_indexes("users")] == ["users_count_idx"]
    assert [u["name"] for u in inspector.get_unique_constraints("users")] == ["uniq_users0code"]
    assert sorted(fk["constrained_columns"] for fk in inspector.get_foreign_keys("users")) == [
        ["parent2_id"], ["parent3_id"], ["parent_id"]]
    assert db.exec_driver_sql("SELECT seq FROM users").scalar() is None


def test_a_column_made_elsewhere_or_named_and_the_errors_migrate_gave(db):
    users = reflect(db, "users")
    copy = sa.Column("note", sa.String(9))
    sa.Table("other", sa.MetaData(), copy)
    changeset.create_column(users, copy)
    assert "note" in columns(db, "users") and copy.table.name == "other"
    users.append_column(sa.Column("extra", sa.Integer, default=3))
    changeset.create_column(users, "extra")
    assert db.exec_driver_sql("SELECT extra FROM users").scalar() == 3
    with pytest.raises(TypeError, match="pass the Table, not its name"):
        changeset.create(sa.Column("x", sa.Integer), "users")
    with pytest.raises(TypeError, match="need the table it is in"):
        changeset.create(sa.Column("x", sa.Integer), db)


def test_a_primary_key_named_on_a_new_column(tmp_path):
    with operations(f"sqlite:///{tmp_path / 'k.db'}") as connection:
        connection.exec_driver_sql("CREATE TABLE t (a INTEGER)")
        changeset.create(sa.Column("id", sa.Integer), reflect(connection, "t"), primary_key_name="t_pk")
        assert sa.inspect(connection).get_pk_constraint("t")["constrained_columns"] == ["id"]


def test_columns_drop_by_object_or_name_even_one_the_table_object_lacks(db):
    users = reflect(db, "users")
    changeset.drop(users.c.email)
    assert "email" not in users.c
    changeset.drop_column(users, "name")
    changeset.drop_column(reflect(db, "users"), users.c.parent_id)
    db.exec_driver_sql("ALTER TABLE users ADD COLUMN ghost INTEGER")
    changeset.drop_column(users, "ghost")
    assert list(columns(db, "users")) == ["id"]


def test_alter_reads_its_arguments_as_migrate_did(db):
    users = reflect(db, "users")
    changeset.alter(users.c.name, sa.String, nullable=False, server_default="x")
    changeset.alter(users.c.email, sa.Column("mail", sa.String(40), server_default="m"))
    changeset.alter(reflect(db, "users").c.mail, sa.Column("mail", sa.String(40)))
    changeset.alter(users.c.parent_id, "parent", table=users)
    changeset.alter(users.c.id, default=1)  # Python-side: nothing changes in the database
    changeset.alter(reflect(db, "users").c.mail, server_default=sa.schema.DefaultClause("n"), engine=db)
    found = {c["name"]: c for c in sa.inspect(db).get_columns("users")}
    assert sorted(found) == ["id", "mail", "name", "parent"]
    assert (str(found["name"]["type"]), found["name"]["nullable"]) == ("VARCHAR", False)
    assert "'n'" in found["mail"]["default"] and str(found["mail"]["type"]) == "VARCHAR(40)"
    assert users.c.name.nullable is False
    changeset.rename(reflect(db, "users").c.parent, "parent_id")
    assert "parent_id" in columns(db, "users")


def test_tables_indexes_and_what_is_not_migrates(db):
    meta = sa.MetaData()
    audit = sa.Table("audit", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.Integer))
    changeset.create(audit, db, checkfirst=True)
    index = sa.Index("audit_at_idx", audit.c.at)
    changeset.create(index, bind=db)
    assert [i["name"] for i in sa.inspect(db).get_indexes("audit")] == ["audit_at_idx"]
    changeset.drop(index)
    changeset.rename(audit, "audit2")
    changeset.drop(sa.Table("audit2", sa.MetaData(), autoload_with=db))
    assert not sa.inspect(db).has_table("audit2")
    changeset.create(sa.Sequence("s"), db)  # SQLite has no sequences: SQLAlchemy skips it, as under migrate
    changeset.drop(sa.Sequence("s"))

    class Helper:
        def create(self, *args):
            return ("create", args)

        def drop(self, *args):
            return ("drop", args)

        def rename(self, name):
            return ("rename", name)

        def alter(self, **kw):
            return ("alter", kw)

        def create_column(self, column):
            return ("create_column", column)

        def drop_column(self, column):
            return ("drop_column", column)

    helper = Helper()
    assert changeset.create(helper, 1) == ("create", (1,))
    assert changeset.drop(helper) == ("drop", ())
    assert changeset.rename(helper, "n") == ("rename", "n")
    assert changeset.alter(helper, type=1) == ("alter", {"type": 1})
    assert changeset.create_column(helper, "c") == ("create_column", "c")
    assert changeset.drop_column(helper, "c") == ("drop_column", "c")
    with pytest.raises(NotImplementedError, match="ALTER INDEX"):
        changeset.rename(sa.Index("x", audit.c.at), "y")


def test_migrates_constraint_classes_create_and_drop_under_their_autonames(db):
    users = reflect(db, "users")
    parents = reflect(db, "parents")
    unique = changeset.UniqueConstraint(users.c.email)
    assert unique.table is users and users.constraints >= {unique}
    changeset.create(unique, db)
    changeset.create(changeset.UniqueConstraint("name", table=parents, name="uniq_parents0name"))
    check = changeset.CheckConstraint("id > 0", columns=[users.c.id])
    changeset.create(check)
    inspector = sa.inspect(db)
    assert [u["name"] for u in inspector.get_unique_constraints("users")] == ["users_email_key"]
    assert [c["name"] for c in inspector.get_check_constraints("users")] == ["users_id_check"]
    changeset.drop(unique)
    with pytest.raises(NotImplementedError, match="DROP CONSTRAINT"):
        changeset.drop(check)
    in_a_definition = changeset.UniqueConstraint("a", name="uniq_new0a")
    loose = changeset.UniqueConstraint(sa.Column("a", sa.Integer), name="uniq_new0a")
    assert sa.Table("new", sa.MetaData(), sa.Column("a", sa.Integer), in_a_definition).constraints >= {in_a_definition}
    assert loose.migrate_columns == ["a"]
    with pytest.raises(ValueError, match='needs "name" or "columns"'):
        changeset.CheckConstraint("id > 0")
    named = changeset.ForeignKeyConstraint(["parent_id"], ["parents.id"], table=users, name="users_parent_fk")
    assert named.referred() == ("parents", ["id"])
    changeset.drop(changeset.ForeignKeyConstraint([users.c.parent_id], [parents.c.id], name="absent"))
    assert sa.inspect(db).get_foreign_keys("users")[0]["referred_table"] == "parents"
    # migrate's SQLite rebuild for a key dropped without a name: every unnamed key goes
    changeset.drop(changeset.ForeignKeyConstraint([users.c.parent_id], [parents.c.id]))
    assert sa.inspect(db).get_foreign_keys("users") == []
    changeset.create(changeset.ForeignKeyConstraint([users.c.id], [parents.c.id], name="users_id_fk",
                                                    ondelete="CASCADE"))
    changeset.drop(changeset.ForeignKeyConstraint([users.c.id], [parents.c.id], name="users_id_fk"))
    plain = sa.ForeignKeyConstraint(["email"], [parents.c.name], name="users_email_fk")
    users.append_constraint(plain)
    changeset.create(plain)
    assert {fk["name"] for fk in sa.inspect(db).get_foreign_keys("users")} >= {"users_email_fk"}
    key = changeset.PrimaryKeyConstraint("id", table=reflect(db, "parents"))
    changeset.create(key)
    assert "parents_pkey" in [i["name"] for i in sa.inspect(db).get_indexes("parents")]
    changeset.drop(key)
    plain_unique = sa.UniqueConstraint("name", name="uniq_parents0name")
    reflect(db, "parents").append_constraint(plain_unique)
    changeset.drop(plain_unique)
    assert sa.inspect(db).get_unique_constraints("parents") == []


def test_sqlalchemy_1_statements_and_implicit_execution(db):
    users = reflect(db, "users")
    assert changeset.execute(changeset.insert(users, {"id": 2, "name": "b"})).rowcount == 1
    changeset.execute(changeset.insert(users), [{"id": 3, "name": "c"}, {"id": 4, "name": "d"}])
    changeset.execute(users.insert(), {"id": 5, "name": "e"}, {"id": 6, "name": "f"})
    changeset.execute(changeset.update(users, users.c.id == 2, {"name": "B"}))
    changeset.execute(changeset.update(users, values={"email": "x"}))
    changeset.execute(db, "UPDATE users SET email = 'a:b' WHERE id = 1")
    changeset.execute(db, "UPDATE users SET email = ? WHERE id = ?", ("q", 3))
    changeset.execute(db, changeset.delete(users, users.c.id == 6))
    changeset.execute(sa.text("UPDATE users SET email = :e WHERE id = 4"), e="k")
    assert changeset.scalar(changeset.select_([users.c.name], users.c.id == 2)) == "B"
    assert changeset.scalar(changeset.count(users, users.c.id > 4)) == 1
    assert changeset.scalar(changeset.count(users)) == 5 and changeset.count([1, 1, 2], 1) == 2
    assert changeset.scalar(db, sa.select(sa.func.count()).select_from(users)) == 5
    assert changeset.scalar(db.execute(sa.text("SELECT email FROM users WHERE id = 1"))) == "a:b"
    statement = changeset.select_([users.c.id], from_obj=users, order_by=[users.c.id.desc()], group_by=users.c.id,
                                  distinct=True)
    assert [r[0] for r in changeset.execute(statement)] == [5, 4, 3, 2, 1]
    assert changeset.execute(changeset.select_([users.c.id])).fetchall()
    with pytest.raises(TypeError, match="no translation for bind"):
        changeset.select_([users.c.id], bind=db)
    with pytest.raises(TypeError, match="needs a statement"):
        changeset.execute(db)
    row = {"a": 1}
    changeset.update(row, {"b": 2})
    assert row == {"a": 1, "b": 2} and changeset.insert([], 0, "x") is None
    assert changeset.execute(Runner(), 7) == 7 and changeset.scalar(Runner(), 8) == 8
    changeset.execute(changeset.delete(users))
    assert changeset.scalar(db, "SELECT count(*) FROM users") == 0


class Runner:
    def execute(self, value):
        return value

    def scalar(self, value):
        return value

    def delete(self):
        return "deleted"


def test_engine_api_on_alembics_connection(db):
    with changeset.connect(db) as connection:
        assert connection is db
    borrowed = changeset.connect(db)
    assert borrowed.dialect.name == "sqlite"
    assert borrowed.execute("SELECT 1").scalar() == 1
    assert changeset.execute(borrowed, "SELECT 2").scalar() == 2
    borrowed.close()
    transaction = changeset.begin(borrowed)
    transaction.commit()
    transaction.rollback()
    assert not db.closed and db.in_transaction()
    assert changeset.connect(Opener()) == "connected" and changeset.begin(Opener()) == "begun"
    assert changeset.delete(Runner()) == "deleted"


class Opener:
    def connect(self):
        return "connected"

    def begin(self):
        return "begun"


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_an_index_rename_and_keys_as_migrate_issued_them_on_servers(kind, tmp_path):
    with fresh_database(kind, tmp_path) as url, operations(url) as connection:
        connection.exec_driver_sql("CREATE TABLE t (a INTEGER NOT NULL, b INTEGER)")
        connection.exec_driver_sql("CREATE INDEX t_a_idx ON t (a)")
        t = reflect(connection, "t")
        index = next(iter(t.indexes))
        changeset.rename(index, "t_a_index")
        assert index.name == "t_a_index"
        assert [i["name"] for i in sa.inspect(connection).get_indexes("t")] == ["t_a_index"]
        changeset.create(changeset.PrimaryKeyConstraint(t.c.a))
        assert sa.inspect(connection).get_pk_constraint("t")["constrained_columns"] == ["a"]
        unique = changeset.UniqueConstraint(t.c.b)
        changeset.create(unique)
        changeset.drop(unique)
        assert sa.inspect(connection).get_unique_constraints("t") == []
