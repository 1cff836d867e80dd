"""What goes wrong with a data folder, each said in one line that says what to do.

A full disk, a read-only file, a damaged database and one another starcoach
process holds are different problems with different remedies ("free some
space", "check its permissions", "move it aside", "try again"); every caller
(the store, the recorder, batch, the CLI) words them through here.  Waiting
out a lock another process holds is here too: it is what turns "database is
locked" into either success or the one "in use" line.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Optional

from starcoach.errors import StarcoachError
from starcoach.text import disk_full, first_line


class StoreError(StarcoachError):
    """The data folder or database cannot be used (one line, says what to do; exit 3)."""

    default_kind = "storage"


def storage_error(path: Path, exc: BaseException) -> Optional[StoreError]:
    """The one line for a write the data folder refused (full disk, read-only), else None."""
    import errno

    text = str(exc).lower()
    # "disk I/O error" is what SQLite says when its WAL index cannot grow: then ask the file system.
    full = disk_full(path.parent, exc, spare_bytes=256 * 1024 if "disk i/o error" in text else 0)
    if full:
        return StoreError(f"the disk holding {path.parent} is full; free some space and run again "
                          "(everything saved before is kept)")
    if (isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)) or "readonly" in text \
            or "read-only" in text:
        return StoreError(f"{path} cannot be written (it is read-only: check its permissions)")
    if isinstance(exc, sqlite3.OperationalError) and "disk i/o error" in text:
        return StoreError(f"{path} could not be written (disk I/O error); check the disk")
    return None


#: How long a command waits for another starcoach process to let go of the database.
BUSY_TIMEOUT_S = 10.0


def is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def busy_error(path: Path) -> StoreError:
    return StoreError(f"{path} is in use by another starcoach process and stayed locked for "
                      f"{BUSY_TIMEOUT_S:.0f} s; try again when it has finished (nothing was lost)")


def when_unlocked(fn: Callable[[], Any], timeout_s: Optional[float] = None) -> Any:
    """Run ``fn``, retrying while SQLite says the database is locked, for up to ``timeout_s``
    (default :data:`BUSY_TIMEOUT_S`)."""
    deadline = time.monotonic() + (BUSY_TIMEOUT_S if timeout_s is None else timeout_s)
    pause = 0.01
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if not is_locked(e) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def damaged_database_error(path: Path, exc: BaseException) -> StoreError:
    """Same advice as :meth:`Store.open` gives for a file that is not a database.

    A full disk or a read-only file is not damage: those get their own line
    (:func:`storage_error`), never "move it aside"."""
    storage = storage_error(path, exc)
    if storage is not None:
        return storage
    reason = first_line(exc)
    return StoreError(f"{path} is not a usable starcoach database ({reason}); move it aside and "
                      "run again to start a new one (your audio files are kept)")
