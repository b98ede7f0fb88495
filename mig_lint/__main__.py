from __future__ import annotations

from mig_lint.cli import main

raise SystemExit(main())
