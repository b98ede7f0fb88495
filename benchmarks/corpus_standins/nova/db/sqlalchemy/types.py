"""nova's column types: an IP address is INET on PostgreSQL and String(39) elsewhere."""
from sqlalchemy import types
from sqlalchemy.dialects import postgresql


class IPAddress(types.TypeDecorator):
    impl = types.String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.INET())
        return dialect.type_descriptor(types.String(39))


class CIDR(types.TypeDecorator):
    impl = types.String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.INET())
        return dialect.type_descriptor(types.String(43))
