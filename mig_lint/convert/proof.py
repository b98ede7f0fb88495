"""`convert --verify`: which converted versions `verify` proved equal to migrate's, on every database asked."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mig_lint.convert.repository import Conversion

if TYPE_CHECKING:
    from mig_lint.db.verify import Verification


def with_proof(conversion: Conversion, results: Sequence[Verification], servers: Sequence[str]) -> Conversion:
    """Each version marked proved when every database's walk reached it and found the same schema.

    `results` holds one walk per database (at least one); `servers` names the databases
    (SQLite, or the URL without its password) for the report.
    """
    proved = set.intersection(*({int(p.version) for p in r.pairs if not p.failed} for r in results))
    versions = tuple(dataclasses.replace(v, proved=v.number in proved) for v in conversion.versions)
    return dataclasses.replace(conversion, versions=versions, verified_on=tuple(servers))
