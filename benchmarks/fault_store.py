"""The fault matrix's check for lost or damaged data: the data folder before and after a case.

``PRAGMA integrity_check``; every session, answer (with its transcript) and
recording there before is there after, unchanged; every recording an answer
names in the data folder exists; a database that was unusable to start with
is not overwritten.  Findings go to the case's context (``ctx.loss``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Snapshot:
    db: str = ""  # "" no database; "ok"; or why it is not usable
    db_hash: str = ""
    sessions: dict = field(default_factory=dict)
    answers: dict = field(default_factory=dict)  # id -> (session, transcript, audio_path)
    recordings: dict = field(default_factory=dict)  # path under data -> sha256


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def snapshot(data: Path) -> Snapshot:
    s = Snapshot()
    if not data.is_dir():
        return s
    for wav in data.rglob("*.wav"):
        s.recordings[str(wav.relative_to(data))] = _sha(wav)
    db = data / "starcoach.db"
    if not db.is_file():
        return s
    s.db_hash = _sha(db)
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=20)
        try:
            s.db = con.execute("PRAGMA integrity_check").fetchone()[0]
            if s.db == "ok":
                s.sessions = dict(con.execute("SELECT id, status FROM sessions"))
                s.answers = {r[0]: r[1:] for r in con.execute(
                    "SELECT id, session_id, transcript, audio_path FROM answers")}
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        s.db = f"not usable: {e}"
    return s


def compare(before: Snapshot, after: Snapshot, data: Path, ctx) -> None:
    if before.db == "ok" and after.db != "ok":
        ctx.loss(f"database damaged: {after.db or 'gone'}")
    if before.db and before.db != "ok" and after.db_hash != before.db_hash:
        others = {_sha(p) for p in data.rglob("*") if p.is_file()} if data.is_dir() else set()
        if before.db_hash not in others:
            ctx.loss("the unusable database was overwritten")
    if after.db == "ok":
        gone = set(before.sessions) - set(after.sessions)
        if gone:
            ctx.loss(f"sessions gone: {sorted(gone)}")
        for aid, (_sid, transcript, _audio) in before.answers.items():
            now = after.answers.get(aid)
            if now is None:
                ctx.loss(f"answer {aid} gone")
            elif transcript and now[1] != transcript:
                ctx.loss(f"answer {aid}'s transcript changed")
        for aid, (_sid, _t, audio) in after.answers.items():  # a recording kept in the data folder
            if audio and not os.path.isabs(audio) and not (data / audio).exists():
                ctx.loss(f"answer {aid}'s audio {audio} is missing")
    for rel, h in before.recordings.items():
        if not (data / rel).exists():
            ctx.loss(f"recording {rel} gone")
        elif after.recordings.get(rel) != h:
            ctx.loss(f"recording {rel} changed")
