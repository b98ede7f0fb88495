"""`--output FILE`: a report written whole or not at all."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile


def write_report(path: str, text: str) -> None:
    """Write `text` to `path` through a temp file in the same folder and a rename.

    A reader never sees half a report; the file keeps its mode, a new one gets the umask's.
    Raises OSError when the folder is missing or not writable.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".mig-lint-report-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(text)
        os.chmod(temporary, _mode(path))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _mode(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
