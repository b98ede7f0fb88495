"""The database driver of a URL: the one installed, when the URL names none or one that is missing.

`postgresql://` means psycopg2 to SQLAlchemy and `mysql://` means mysqlclient; with only
psycopg 3 or only PyMySQL installed, the URL is rewritten to `postgresql+psycopg://` or
`mysql+pymysql://`, and the caller says so. Standard library only: the worker loads this file
by path in interpreters that have no mig-lint (the legacy one).
"""
from __future__ import annotations

import importlib

# Each backend's drivers in order of preference: (the name in a URL, the module it imports).
_FAMILIES = {
    "postgresql": (("psycopg2", "psycopg2"), ("psycopg", "psycopg")),
    "mysql": (("mysqldb", "MySQLdb"), ("pymysql", "pymysql")),
    "mariadb": (("mysqldb", "MySQLdb"), ("pymysql", "pymysql")),
}


def usable_url(url: str) -> tuple[str, str | None]:
    """`url` with a driver that imports here, and a sentence saying what was changed (None: nothing).

    A URL whose driver is not one of the family, or when no driver of the family imports,
    is left as given: SQLAlchemy's own error then names the missing module.
    """
    scheme, separator, rest = url.partition("://")
    backend, _plus, driver = scheme.partition("+")
    family = _FAMILIES.get(backend)
    if not separator or family is None:
        return url, None
    named = driver or family[0][0]
    modules = dict(family)
    if named not in modules or _imports(modules[named]):
        return url, None
    for name, module in family:
        if _imports(module):
            return (f"{backend}+{name}://{rest}",
                    f"{scheme}:// needs {modules[named]}, which is not installed: using {backend}+{name}:// ({module})")
    return url, None


def _imports(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
