"""Keeps every session and answer: SQLite beside the audio files (the ``Store``).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from starcoach.model import Analysis, Transcript, analysis_from_json, transcript_from_json, transcript_to_json
from starcoach.store import errors
from starcoach.store.errors import StoreError, busy_error, damaged_database_error, is_locked, when_unlocked
from starcoach.store.location import default_data_dir  # noqa: F401  (where it has always been imported from)
from starcoach.store.migrations import migrate, now

DB_NAME = "starcoach.db"


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
    #: The answer this one follows up (None: a main answer).
    parent_id: Optional[int] = None
    #: JSON: why the follow-up was asked and, once judged, what it supplied (``pipeline.followup_turn``).
    follow_up_json: Optional[str] = None

    def follow_up(self) -> dict[str, Any]:
        return json.loads(self.follow_up_json) if self.follow_up_json else {}

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
    def open(cls, root: Path, *, create: bool = True) -> "Store":
        """``create=False`` (commands that only read): a data folder with no database yet is left as
        it is, and an empty store in memory stands for it, so looking creates nothing."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise StoreError(f"cannot use the data folder {root}: it is a file, not a folder")
        if not create and not (root / DB_NAME).exists():
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.execute("PRAGMA foreign_keys = ON")
            migrate(db, root / DB_NAME)
            return cls(root, db)
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(root, 0o700)
        except OSError as e:
            raise StoreError(f"cannot use the data folder {root}: {e.strerror or e}") from None
        path = root / DB_NAME
        new = not path.exists()
        try:
            db = sqlite3.connect(path, timeout=errors.BUSY_TIMEOUT_S, isolation_level=None)
            if new:
                os.chmod(path, 0o600)
            db.execute(f"PRAGMA busy_timeout = {int(errors.BUSY_TIMEOUT_S * 1000)}")
            # Switching a new database to WAL while another process opens it fails at once with
            # "database is locked" (SQLite does not wait on its busy handler there): wait here.
            when_unlocked(lambda: db.execute("PRAGMA journal_mode = WAL"))
            db.execute("PRAGMA foreign_keys = ON")
            store = cls(root, db)
            migrate(db, path)
            db.execute("SELECT count(*) FROM sessions").fetchone()
        except StoreError:
            raise
        except sqlite3.OperationalError as e:
            if is_locked(e):
                raise busy_error(path) from None
            raise damaged_database_error(path, e) from None
        except sqlite3.DatabaseError as e:
            raise damaged_database_error(path, e) from None
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- files

    def new_audio_path(self, session_id: int, position: int, follow_up: int = 0) -> Path:
        """A new private WAV for answer ``position`` (``answer-01.wav``), or for its follow-up
        number ``follow_up`` (``answer-01-f1.wav``)."""
        folder = self.root / "sessions" / f"{session_id:05d}"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder.parent, 0o700)
        os.chmod(folder, 0o700)
        n = 0
        stem = f"answer-{position:02d}" + (f"-f{follow_up}" if follow_up else "")
        while True:
            p = folder / (f"{stem}.wav" if n == 0 else f"{stem}-{n}.wav")
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
                              (kind, now(), company, json.dumps(settings or {})))
        return int(cur.lastrowid)

    def finish_session(self, session_id: int, status: str = "complete") -> None:
        self.db.execute("UPDATE sessions SET status = ?, ended_at = ? WHERE id = ?", (status, now(), session_id))

    def sessions(self, company: Optional[str] = None) -> list[SessionRow]:
        # Answers and the mean score count main answers; the time recorded counts follow-ups too.
        q = """SELECT s.id, s.kind, s.started_at, s.ended_at, s.status, s.company, s.settings,
                      sum(CASE WHEN a.id IS NOT NULL AND a.parent_id IS NULL THEN 1 ELSE 0 END),
                      avg(CASE WHEN a.parent_id IS NULL THEN a.score END), coalesce(sum(a.duration_s), 0)
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
             "duration_s, transcript, analysis, score, error, parent_id, follow_up")

    def _row(self, r: tuple) -> AnswerRow:
        return AnswerRow(*r[:11], transcript_json=r[11], analysis_json=r[12], score=r[13], error=r[14],
                         parent_id=r[15], follow_up_json=r[16])

    def new_answer(self, session_id: int, position: int, *, question: Optional[str], question_id: Optional[str] = None,
                   company: Optional[str] = None, audio_path: Optional[Path] = None, source: Optional[str] = None,
                   status: str = "recording", parent_id: Optional[int] = None,
                   follow_up: Optional[dict[str, Any]] = None) -> int:
        """A new answer row; with ``parent_id``, the answer to a follow-up of that answer (``follow_up``:
        why it was asked)."""
        cols = ["session_id", "position", "question_id", "question", "company", "source", "audio_path",
                "created_at", "status"]
        values: list[Any] = [session_id, position, question_id, question, company, source,
                             self.relative(audio_path) if audio_path else None, now(), status]
        if parent_id is not None:  # a main answer is written as before migration 3
            cols += ["parent_id", "follow_up"]
            values += [parent_id, json.dumps(follow_up) if follow_up is not None else None]
        cur = self.db.execute(f"INSERT INTO answers ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                              values)
        return int(cur.lastrowid)

    def save_follow_up(self, answer_id: int, follow_up: dict[str, Any]) -> None:
        """Replace a follow-up answer's JSON (what it supplied, the story judged together)."""
        self.db.execute("UPDATE answers SET follow_up = ? WHERE id = ?", (json.dumps(follow_up), answer_id))

    def answer(self, answer_id: int) -> Optional[AnswerRow]:
        r = self.db.execute(f"SELECT {self._COLS} FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return self._row(r) if r else None

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
        """The session's main answers in order (follow-up answers: :meth:`follow_ups`)."""
        rows = self.db.execute(f"SELECT {self._COLS} FROM answers WHERE session_id = ? AND parent_id IS NULL "
                               "ORDER BY position, id", (session_id,)).fetchall()
        return [self._row(r) for r in rows]

    def follow_ups(self, parent_id: int) -> list[AnswerRow]:
        """The answers to the follow-ups of one answer, in the order they were asked."""
        rows = self.db.execute(f"SELECT {self._COLS} FROM answers WHERE parent_id = ? ORDER BY id",
                               (parent_id,)).fetchall()
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
        self.db.execute("UPDATE answers SET reanalysed_at = ? WHERE id = ?", (now(), answer_id))

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
        if isinstance(exc, sqlite3.OperationalError) and is_locked(exc):
            return busy_error(self.root / DB_NAME)
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
