"""The database schema as numbered migrations, applied in order on open and recorded.

An old data folder must keep working after an upgrade, and a newer one must
not be damaged by an older starcoach: each schema change is a numbered
function run once inside its own transaction and recorded in
``schema_migrations``; a database with a version this program does not know
is refused with one line.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from starcoach.store.errors import StoreError


def now() -> str:
    """The time a row is written: UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_script(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, which would break the migration's transaction.
    for stmt in script.split(";"):
        lines = [ln.split("--")[0] for ln in stmt.splitlines()]
        sql = "\n".join(lines).strip()
        if sql:
            db.execute(sql)


def _m1_initial(db: sqlite3.Connection) -> None:
    run_script(db, """
        CREATE TABLE sessions (
            id          INTEGER PRIMARY KEY,
            kind        TEXT NOT NULL,              -- practice | analyse
            started_at  TEXT NOT NULL,
            ended_at    TEXT,
            status      TEXT NOT NULL,              -- active | complete | interrupted
            company     TEXT,
            settings    TEXT NOT NULL DEFAULT '{}'  -- JSON
        );
        CREATE TABLE answers (
            id            INTEGER PRIMARY KEY,
            session_id    INTEGER NOT NULL REFERENCES sessions(id),
            position      INTEGER NOT NULL,
            question_id   TEXT,
            question      TEXT,
            company       TEXT,
            source        TEXT,                     -- original input path for batch analysis
            audio_path    TEXT,                     -- relative to the data folder
            created_at    TEXT NOT NULL,
            status        TEXT NOT NULL,            -- recording | recorded | analysed | failed
            duration_s    REAL,
            transcript    TEXT,                     -- JSON: text, words, speech spans
            analysis      TEXT,                     -- JSON: starcoach.analysis/1
            score         INTEGER,
            error         TEXT,
            content_hash  TEXT,
            settings_hash TEXT
        );
        CREATE INDEX answers_session ON answers(session_id, position);
        CREATE INDEX answers_cache ON answers(content_hash, settings_hash);
    """)


def _m2_reanalysed_at(db: sqlite3.Connection) -> None:
    # When `starcoach reanalyse` last replaced the answer's analysis with the then-current rules
    # (NULL: the analysis is the one made when the answer was given).  Old rows keep NULL.
    run_script(db, "ALTER TABLE answers ADD COLUMN reanalysed_at TEXT")


def _m3_follow_ups(db: sqlite3.Connection) -> None:
    # A follow-up question's answer is an answer row of its own, linked to the answer it follows
    # (NULL: a main answer, as every row before this migration is).  ``follow_up`` is JSON: why it
    # was asked (reason, template, component) and, once judged, what it supplied and the story
    # judged together.  ``question`` holds the follow-up's text.
    run_script(db, """
        ALTER TABLE answers ADD COLUMN parent_id INTEGER REFERENCES answers(id);
        ALTER TABLE answers ADD COLUMN follow_up TEXT;
        CREATE INDEX answers_parent ON answers(parent_id)
    """)


MIGRATIONS: list[tuple[int, str, Callable[[sqlite3.Connection], None]]] = [
    (1, "sessions and answers", _m1_initial),
    (2, "answers.reanalysed_at", _m2_reanalysed_at),
    (3, "answers.parent_id and follow_up (follow-up answers)", _m3_follow_ups),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the database at ``path`` up to :data:`SCHEMA_VERSION` (another process may be doing the same)."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
               "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    done = {r[0] for r in db.execute("SELECT version FROM schema_migrations")}
    newer = [v for v in done if v > SCHEMA_VERSION]
    if newer:
        raise StoreError(f"{path} was written by a newer starcoach (schema {max(newer)}, "
                         f"this one knows {SCHEMA_VERSION}); upgrade starcoach to use it")
    for version, name, fn in MIGRATIONS:
        if version in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if db.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                db.execute("COMMIT")
                continue
            fn(db)
            db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, now()))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
