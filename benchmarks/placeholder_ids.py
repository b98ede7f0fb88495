"""How often ML210 takes an id that alembic generated for a hand-typed one.

    python benchmarks/placeholder_ids.py [COUNT]     # default 1,000,000

alembic makes each revision id as `uuid.uuid4().hex[-12:]`; this makes COUNT such ids,
and prints how many `placeholder_reason` flags, with the ids and reasons.
"""
from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence

from mig_lint.rules.placeholder import placeholder_reason


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    count = int(args[0]) if args else 1_000_000
    flagged = [(revision, reason) for revision in (uuid.uuid4().hex[-12:] for _ in range(count))
               if (reason := placeholder_reason(revision)) is not None]
    for revision, reason in flagged:
        print(f"{revision}: {reason}")
    print(f"{len(flagged)} of {count:,} generated ids taken for hand-typed ({len(flagged) / count:.2e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
