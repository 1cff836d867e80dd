"""Writing a file whole or not at all: the one atomic write.

A vault, an exported page and a batch's CSV are written to a temporary file in
the same folder and renamed over the target, so Ctrl-C, a full disk or a
crash mid-write never leaves half a file where a whole one was (the old
version stays until the new one is complete).  Personal files (the vault, an
export of recordings) are created readable by the owner only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Optional

#: Mode of a personal file: read and write for its owner only.
PRIVATE = 0o600


def write_atomic(path: Path | str, text: str, *, mode: Optional[int] = PRIVATE, newline: Optional[str] = None,
                 make_parent: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it.

    ``mode`` is the new file's permission bits (``None``: the default the
    umask leaves, as ``open`` would); ``newline`` is passed to ``open``
    (``""`` for CSV).  ``make_parent`` creates a missing folder (mode 0700).
    OSError propagates, and the temporary file is removed.

    A target that is not a regular file (``/dev/stdout``, a named pipe, a
    device such as ``/dev/full``) is written to as it is, never replaced by a
    file; a symbolic link keeps pointing where it did, at the new version.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError:
        st = None  # missing (made below), or a link loop (open says so)
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        with open(path, "w", encoding="utf-8", newline=newline) as fh:
            fh.write(text)
        return
    if path.is_symlink() and st is not None:
        path = Path(os.path.realpath(path))
    if make_parent and not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # an older temporary file of the same name kept its own mode
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
