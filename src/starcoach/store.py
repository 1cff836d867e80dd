"""Keeps every session and answer: SQLite beside the audio files.

The data folder (default ``recordings/`` in the current directory;
``$STARCOACH_HOME`` or ``--data-dir`` moves it) holds ``starcoach.db`` and
``sessions/<id>/answer-<n>.wav``; the database refers to audio by paths
relative to the folder, so the folder can be moved or copied whole.

Why SQLite: one file, transactions (a crash never leaves half a row), and
safe concurrent use by two processes (WAL mode plus a busy timeout).  The
schema is versioned: numbered migrations run on open and are recorded in
``schema_migrations``.  An answer row is created *before* recording starts
(status ``recording``), so an answer whose process was killed is found on
the next start and offered for recovery.

Recordings are personal: folders are created 0700 and files 0600.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from starcoach.model import Analysis, Transcript, analysis_from_json, transcript_from_json, transcript_to_json
from starcoach.text import disk_full, first_line

DB_NAME = "starcoach.db"


class StoreError(Exception):
    """The data folder or database cannot be used (one line, says what to do)."""


def default_data_dir(environ: Optional[dict[str, str]] = None) -> Path:
    env = os.environ if environ is None else environ
    home = env.get("STARCOACH_HOME")
    return Path(home).expanduser() if home else Path.cwd() / "recordings"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- migrations


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, which would break the migration's transaction.
    for stmt in script.split(";"):
        lines = [ln.split("--")[0] for ln in stmt.splitlines()]
        sql = "\n".join(lines).strip()
        if sql:
            db.execute(sql)


def _m1_initial(db: sqlite3.Connection) -> None:
    _run_script(db, """
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
    _run_script(db, "ALTER TABLE answers ADD COLUMN reanalysed_at TEXT")


MIGRATIONS: list[tuple[int, str, Callable[[sqlite3.Connection], None]]] = [
    (1, "sessions and answers", _m1_initial),
    (2, "answers.reanalysed_at", _m2_reanalysed_at),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class AnswerRow:
    id: int
    session_id: int
    position: int
    question_id: Optional[str]
    question: Optional[str]
    company: Optional[str]
    source: Optional[str]
    audio_path: Optional[str]
    created_at: str
    status: str
    duration_s: Optional[float]
    transcript_json: Optional[str]
    analysis_json: Optional[str]
    score: Optional[int]
    error: Optional[str]

    def transcript(self) -> Optional[Transcript]:
        return transcript_from_json(json.loads(self.transcript_json)) if self.transcript_json else None

    def analysis(self, company_name: Optional[str] = None) -> Optional[Analysis]:
        if not self.analysis_json:
            return None
        t = self.transcript()
        return analysis_from_json(json.loads(self.analysis_json), words=t.words if t else (),
                                  company_name=company_name)


@dataclass(frozen=True)
class SessionRow:
    id: int
    kind: str
    started_at: str
    ended_at: Optional[str]
    status: str
    company: Optional[str]
    settings: dict[str, Any]
    answers: int
    mean_score: Optional[float]
    total_s: float


class Store:
    """The data folder: open with ``Store.open(path)``; close, or use as a context manager."""

    def __init__(self, root: Path, db: sqlite3.Connection):
        self.root = root
        self.db = db

    # ----- opening

    @classmethod
    def open(cls, root: Path) -> "Store":
        root = Path(root)
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(root, 0o700)
        except OSError as e:
            raise StoreError(f"cannot use the data folder {root}: {e.strerror or e}") from None
        path = root / DB_NAME
        new = not path.exists()
        try:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            if new:
                os.chmod(path, 0o600)
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            # Switching a new database to WAL while another process opens it fails at once with
            # "database is locked" (SQLite does not wait on its busy handler there): wait here.
            _when_unlocked(lambda: db.execute("PRAGMA journal_mode = WAL"))
            db.execute("PRAGMA foreign_keys = ON")
            store = cls(root, db)
            store._migrate()
            db.execute("SELECT count(*) FROM sessions").fetchone()
        except StoreError:
            raise
        except sqlite3.OperationalError as e:
            if _is_locked(e):
                raise _busy_error(path) from None
            raise damaged_database_error(path, e) from None
        except sqlite3.DatabaseError as e:
            raise damaged_database_error(path, e) from None
        return store

    def _migrate(self) -> None:
        db = self.db
        db.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                   "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        done = {r[0] for r in db.execute("SELECT version FROM schema_migrations")}
        newer = [v for v in done if v > SCHEMA_VERSION]
        if newer:
            raise StoreError(f"{self.root / DB_NAME} was written by a newer starcoach (schema {max(newer)}, "
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
                db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, _now()))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- files

    def new_audio_path(self, session_id: int, position: int) -> Path:
        folder = self.root / "sessions" / f"{session_id:05d}"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder.parent, 0o700)
        os.chmod(folder, 0o700)
        n = 0
        while True:
            p = folder / (f"answer-{position:02d}.wav" if n == 0 else f"answer-{position:02d}-{n}.wav")
            if not p.exists():
                # Created private before the recorder opens it (opening keeps the mode).
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                return p
            n += 1

    def hold_answer(self, path: Path) -> Optional["AnswerLock"]:
        """Lock an answer's WAV for as long as this process records or recovers it (None if another holds it)."""
        return AnswerLock.try_acquire(path)

    def relative(self, path: Path) -> str:
        try:
            resolved = Path(path).resolve()
        except (RuntimeError, OSError):  # a symbolic-link loop (an input that failed): keep it as given
            return os.path.abspath(path)
        try:
            return str(resolved.relative_to(self.root.resolve()))
        except ValueError:
            return str(resolved)

    def absolute(self, rel: Optional[str]) -> Optional[Path]:
        if not rel:
            return None
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    # ----- sessions

    def new_session(self, kind: str, company: Optional[str] = None, settings: Optional[dict] = None) -> int:
        cur = self.db.execute("INSERT INTO sessions (kind, started_at, status, company, settings) "
                              "VALUES (?, ?, 'active', ?, ?)",
                              (kind, _now(), company, json.dumps(settings or {})))
        return int(cur.lastrowid)

    def finish_session(self, session_id: int, status: str = "complete") -> None:
        self.db.execute("UPDATE sessions SET status = ?, ended_at = ? WHERE id = ?", (status, _now(), session_id))

    def sessions(self, company: Optional[str] = None) -> list[SessionRow]:
        q = """SELECT s.id, s.kind, s.started_at, s.ended_at, s.status, s.company, s.settings,
                      count(a.id), avg(a.score), coalesce(sum(a.duration_s), 0)
               FROM sessions s LEFT JOIN answers a ON a.session_id = s.id
               {where} GROUP BY s.id ORDER BY s.id"""
        rows = self.db.execute(q.format(where="WHERE s.company = ?" if company else ""),
                               (company,) if company else ()).fetchall()
        return [SessionRow(id=r[0], kind=r[1], started_at=r[2], ended_at=r[3], status=r[4], company=r[5],
                           settings=json.loads(r[6] or "{}"), answers=r[7], mean_score=r[8], total_s=r[9])
                for r in rows]

    def session(self, ref: str | int) -> Optional[SessionRow]:
        rows = self.sessions()
        if not rows:
            return None
        if ref in ("latest", "last", None):
            return rows[-1]
        try:
            sid = int(ref)
        except (TypeError, ValueError):
            return None
        return next((r for r in rows if r.id == sid), None)

    # ----- answers

    _COLS = ("id, session_id, position, question_id, question, company, source, audio_path, created_at, status, "
             "duration_s, transcript, analysis, score, error")

    def _row(self, r: tuple) -> AnswerRow:
        return AnswerRow(*r[:11], transcript_json=r[11], analysis_json=r[12], score=r[13], error=r[14])

    def new_answer(self, session_id: int, position: int, *, question: Optional[str], question_id: Optional[str] = None,
                   company: Optional[str] = None, audio_path: Optional[Path] = None, source: Optional[str] = None,
                   status: str = "recording") -> int:
        cur = self.db.execute(
            "INSERT INTO answers (session_id, position, question_id, question, company, source, audio_path, "
            "created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, position, question_id, question, company, source,
             self.relative(audio_path) if audio_path else None, _now(), status))
        return int(cur.lastrowid)

    def mark_recorded(self, answer_id: int, duration_s: float) -> None:
        self.db.execute("UPDATE answers SET status = 'recorded', duration_s = ? WHERE id = ?", (duration_s, answer_id))

    def save_analysis(self, answer_id: int, analysis: Analysis, transcript: Optional[Transcript] = None, *,
                      content_hash: Optional[str] = None, settings_hash: Optional[str] = None) -> None:
        status = "failed" if analysis.error else "analysed"
        self.db.execute(
            "UPDATE answers SET status = ?, duration_s = coalesce(?, duration_s), transcript = coalesce(?, transcript), "
            "analysis = ?, score = ?, error = ?, content_hash = coalesce(?, content_hash), "
            "settings_hash = coalesce(?, settings_hash) WHERE id = ?",
            (status, analysis.duration_s, json.dumps(transcript_to_json(transcript)) if transcript else None,
             json.dumps(analysis.to_json()), None if analysis.error else analysis.score,
             analysis.error.message if analysis.error else None, content_hash, settings_hash, answer_id))

    def answers(self, session_id: int) -> list[AnswerRow]:
        rows = self.db.execute(f"SELECT {self._COLS} FROM answers WHERE session_id = ? ORDER BY position, id",
                               (session_id,)).fetchall()
        return [self._row(r) for r in rows]

    def all_answers(self) -> Iterator[AnswerRow]:
        for r in self.db.execute(f"SELECT {self._COLS} FROM answers ORDER BY id"):
            yield self._row(r)

    def unfinished_answers(self) -> list[AnswerRow]:
        """Answers whose recording never reached analysis (the process was killed)."""
        rows = self.db.execute(f"SELECT {self._COLS} FROM answers WHERE status IN ('recording', 'recorded') "
                               "ORDER BY id").fetchall()
        return [self._row(r) for r in rows]

    def cached(self, content_hash: str, settings_hash: str) -> Optional[AnswerRow]:
        r = self.db.execute(f"SELECT {self._COLS} FROM answers WHERE content_hash = ? AND settings_hash = ? "
                            "AND status = 'analysed' ORDER BY id DESC LIMIT 1",
                            (content_hash, settings_hash)).fetchone()
        return self._row(r) if r else None

    def set_status(self, answer_id: int, status: str, error: Optional[str] = None) -> None:
        self.db.execute("UPDATE answers SET status = ?, error = coalesce(?, error) WHERE id = ?",
                        (status, error, answer_id))

    # ----- history (sessions, replay, progress, export, reanalyse)

    def mark_reanalysed(self, answer_id: int) -> None:
        """Record that the answer's stored analysis was just re-made by ``starcoach reanalyse``."""
        self.db.execute("UPDATE answers SET reanalysed_at = ? WHERE id = ?", (_now(), answer_id))

    def reanalysed_at(self, session_id: int) -> dict[int, str]:
        """answer id -> when it was last re-analysed (UTC ISO time), for the answers of a session that were."""
        rows = self.db.execute("SELECT id, reanalysed_at FROM answers WHERE session_id = ? "
                               "AND reanalysed_at IS NOT NULL", (session_id,)).fetchall()
        return {int(r[0]): str(r[1]) for r in rows}

    def schema_versions(self) -> list[int]:
        """The migrations applied to this database, in order."""
        return [int(r[0]) for r in self.db.execute("SELECT version FROM schema_migrations ORDER BY version")]

    def damaged(self, exc: BaseException) -> StoreError:
        """The one-line error for a database that fails part-way through a command: damaged pages,
        or held by another process for longer than the busy timeout."""
        if isinstance(exc, sqlite3.OperationalError) and _is_locked(exc):
            return _busy_error(self.root / DB_NAME)
        return damaged_database_error(self.root / DB_NAME, exc)


class AnswerLock:
    """An exclusive ``flock`` on an answer's WAV, held while a process records or recovers it.

    An answer whose row says ``recording`` is unfinished only if nobody holds
    its lock: a second ``starcoach practice`` on the same data folder must not
    "recover" (and repair) the file the first one is still writing.  The
    kernel drops the lock when its holder dies, so a killed recording is
    offered for recovery as before.
    """

    def __init__(self, fd: int):
        self._fd: Optional[int] = fd

    @classmethod
    def try_acquire(cls, path: Path) -> Optional["AnswerLock"]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return cls(-1)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return cls(-1)  # no file to protect (it is reported as lost elsewhere)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return cls(fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None and fd >= 0:
            os.close(fd)  # closing drops the flock


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


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _busy_error(path: Path) -> StoreError:
    return StoreError(f"{path} is in use by another starcoach process and stayed locked for "
                      f"{BUSY_TIMEOUT_S:.0f} s; try again when it has finished (nothing was lost)")


def _when_unlocked(fn: Callable[[], Any], timeout_s: Optional[float] = None) -> Any:
    """Run ``fn``, retrying while SQLite says the database is locked, for up to ``timeout_s``
    (default :data:`BUSY_TIMEOUT_S`)."""
    deadline = time.monotonic() + (BUSY_TIMEOUT_S if timeout_s is None else timeout_s)
    pause = 0.01
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if not _is_locked(e) or time.monotonic() >= deadline:
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
