"""Write a file whole or not at all: a temp file in the same folder, then a rename."""
from __future__ import annotations

import contextlib
import os
import stat


def write_atomically(path: str, data: bytes, make_folder: bool = False) -> None:
    """Replace `path` with `data`; a reader never sees half a file.

    The file keeps its mode (a new one gets the umask's). Raises OSError when the folder
    is missing (unless `make_folder`) or not writable, and leaves no temp file behind.
    """
    import tempfile  # imported here: a check that writes nothing should not pay for it

    directory = os.path.dirname(os.path.abspath(path))
    if make_folder:
        os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".mig-lint-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
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
