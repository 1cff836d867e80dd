"""What the commands that look back at stored sessions share: the store, a session by reference, company names.

``sessions``, ``replay``, ``progress``, ``export`` and ``reanalyse`` read the
data folder; a database that fails part-way through, or a session that is
not there, becomes one usage error (exit 2) here, and a message line is
printed the same way by all of them (``say``).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Optional

from starcoach.cli.env import Env
from starcoach.errors import UsageError

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from starcoach.store.database import SessionRow, Store


@contextmanager
def opened_store(args: "argparse.Namespace", env: Env, *, create: bool = False) -> Iterator["Store"]:
    """The data folder's store; a database that fails part-way through becomes one usage error.
    Without ``create``, a data folder with no database yet is not made (an empty store stands for it)."""
    from starcoach.cli.common import open_store

    store = open_store(args, env, create=create)
    try:
        yield store
    except sqlite3.DatabaseError as e:
        raise UsageError(str(store.damaged(e))) from None
    finally:
        store.close()


def session_or_fail(store: "Store", ref: Optional[str]) -> "SessionRow":
    """Session ``ref`` (a number or 'latest'), or a usage error saying what there is."""
    if not store.sessions():
        raise UsageError(f"no sessions stored in {store.root} yet; start one with `starcoach practice` "
                         "(or `starcoach analyse FILE`)")
    row = store.session(ref or "latest")
    if row is None:
        raise UsageError(f"no session {ref!r} in {store.root} (`starcoach sessions` lists them)")
    return row


def company_names(env: Env) -> dict[str, str]:
    """Company id -> display name; empty if the banks cannot be read (ids are shown instead)."""
    try:
        from starcoach.cli.common import load_catalogue_or_fail

        return {cid: c.name for cid, c in load_catalogue_or_fail(env).companies.items()}
    except UsageError:
        return {}


def say(console: "Console", line: str, style: str = "") -> None:
    """Print one message line: never wrapped (so it can be grepped), never parsed as markup (paths, errors)."""
    from rich.text import Text

    console.print(Text(line, style=style), soft_wrap=True)
