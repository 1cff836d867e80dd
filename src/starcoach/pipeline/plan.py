"""Which question (and company) each input of a batch answers, decided before any work starts.

Each file's question and company come from, in order: a manifest CSV row
(``--manifest``), a sidecar ``NAME.json`` (``{"question": ..., "company": ...}``),
a sidecar ``NAME.txt`` (the question text), or ``--question`` for all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from starcoach.errors import UsageError
from starcoach.pipeline.process import is_audio


@dataclass(frozen=True)
class Job:
    index: int
    input: str
    question: Optional[str]
    company_id: Optional[str]
    audio: bool


class ManifestError(UsageError):
    """The manifest cannot be read or lacks a 'file' column (a usage error: exit 2)."""


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """file -> {question, company}; paths resolved against the manifest's folder."""
    import csv  # here: only --manifest reads CSV

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise ManifestError(f"{path}: empty manifest")
            cols = {c.strip().lower(): c for c in reader.fieldnames if c}
            file_col = next((cols[c] for c in ("file", "path", "audio", "input") if c in cols), None)
            if file_col is None:
                raise ManifestError(f"{path}: needs a 'file' column (and 'question', optionally 'company')")
            out: dict[str, dict[str, str]] = {}
            for n, row in enumerate(reader, start=2):
                f = (row.get(file_col) or "").strip()
                if not f:
                    raise ManifestError(f"{path}:{n}: empty file name")
                p = Path(f)
                if not p.is_absolute():
                    p = path.parent / p
                out[str(p.resolve())] = {
                    "question": (row.get(cols.get("question", ""), "") or "").strip(),
                    "company": (row.get(cols.get("company", ""), "") or "").strip(),
                }
            return out
    except OSError as e:
        raise ManifestError(f"{path}: {e.strerror or e}") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: not a readable CSV file ({e})") from None


#: A NAME.txt beside a recording is its question only if it is as short as a question: a longer
#: one is the answer's own transcript, kept beside the audio (a common layout), not its question.
SIDECAR_QUESTION_WORDS = 60


def sidecar(path: Path) -> dict[str, str]:
    """Question/company from NAME.json, or NAME.txt (of at most SIDECAR_QUESTION_WORDS words),
    beside an audio file."""
    j = path.with_suffix(".json")
    if j.is_file():
        try:
            data = json.loads(j.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return {k: str(data[k]).strip() for k in ("question", "company") if data.get(k)}
        except (OSError, ValueError):
            pass
    t = path.with_suffix(".txt")
    if t.is_file() and t != path:
        try:
            q = " ".join(t.read_text(encoding="utf-8").split())
            if q and len(q.split()) <= SIDECAR_QUESTION_WORDS:
                return {"question": q}
        except (OSError, UnicodeDecodeError):
            pass
    return {}


def plan(items: Iterable[str], *, question: Optional[str], company_id: Optional[str],
         manifest: Optional[dict[str, dict[str, str]]] = None) -> list[Job]:
    jobs = []
    for i, item in enumerate(items):
        audio = item != "-" and is_audio(Path(item))
        q, c = question, company_id
        if audio:
            meta = {}
            if manifest:
                meta = manifest.get(str(Path(item).resolve()), {})
            if not meta.get("question"):
                meta = {**sidecar(Path(item)), **{k: v for k, v in meta.items() if v}}
            q = meta.get("question") or q
            c = meta.get("company") or c
        jobs.append(Job(i, item, q, c, audio))
    return jobs
