"""Judging stored answers again, so improvements to the judge reach old sessions.

Never re-transcribes: the stored ``Transcript`` (or, for a written answer,
the stored text) is judged again with the current rules through the one
process path (``pipeline.process.analyse_transcript``), with the story vault
as ``analyse`` and ``practice`` judge, and the new analysis is saved back
(``answers.reanalysed_at``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from starcoach.model import Analysis

if TYPE_CHECKING:
    from starcoach.store.database import SessionRow, Store


@dataclass(frozen=True)
class Reanalysed:
    session_id: int
    n: int
    question: Optional[str]
    old_score: Optional[int]
    new: Analysis
    #: 0 for an answer to a main question; k for the answer to that answer's k-th follow-up.
    follow_up: int = 0


def reanalyse_session(store: "Store", session: "SessionRow", catalogue,
                      notes: Callable[[str], None], vault=None) -> tuple[list[Reanalysed], int]:
    """Judge every stored answer of ``session`` again; (results, answers skipped for want of a transcript).

    With the story vault, as `analyse` and `practice` judge: the advice says which story was told
    and what of it was left out.
    """
    from starcoach.pipeline.process import analyse_transcript

    done: list[Reanalysed] = []
    skipped = 0
    warned: set[str] = set()
    for n, row in enumerate(store.answers(session.id), start=1):
        transcript = row.transcript()
        old = None
        if row.analysis_json:
            try:
                old = json.loads(row.analysis_json)
            except ValueError:
                old = None
        answer = transcript if transcript is not None and (transcript.words or transcript.text.strip()) else None
        if answer is None and old and (old.get("transcript") or "").strip():
            answer = old["transcript"]  # a written answer: the text is the transcript
        if answer is None:
            skipped += 1
            continue
        cid = row.company or session.company
        company = None
        if cid:
            company = catalogue.companies.get(cid.lower())
            if company is None and cid not in warned:
                warned.add(cid)
                notes(f"company '{cid}' is no longer in the question banks: answers for it are analysed "
                      "without its values")
        question = row.question if row.question is not None else (old or {}).get("question")
        input_name = (old or {}).get("input") or row.source or row.audio_path or f"answer {row.id}"
        a = analyse_transcript(answer, input=input_name, question=question, company=company, vault=vault,
                               cut=(old or {}).get("cut"))
        store.save_analysis(row.id, a)
        store.mark_reanalysed(row.id)
        done.append(Reanalysed(session.id, n, question, row.score, a))
        done += _reanalyse_follow_ups(store, session.id, n, row.id, company)
    return done, skipped


def _reanalyse_follow_ups(store: "Store", session_id: int, n: int, parent_id: int,
                          company) -> list[Reanalysed]:
    """The answers to an answer's follow-ups, judged again and into the story again (after the parent).

    A follow-up that was asked but not answered (no transcript) has nothing to judge and is left out.
    """
    from starcoach.pipeline.followup_turn import rejudge_stored
    from starcoach.pipeline.process import analyse_transcript

    done: list[Reanalysed] = []
    for k, row in enumerate(store.follow_ups(parent_id), start=1):
        transcript = row.transcript()
        if transcript is None or not (transcript.words or transcript.text.strip()):
            continue
        try:
            old = json.loads(row.analysis_json) if row.analysis_json else {}
        except ValueError:
            old = {}
        a = analyse_transcript(transcript, input=row.audio_path or f"answer {row.id}", question=row.question,
                               company=company, cut=old.get("cut") if isinstance(old, dict) else None)
        store.save_analysis(row.id, a)
        store.mark_reanalysed(row.id)
        if a.error is None:
            rejudge_stored(store, row, a, company)
        done.append(Reanalysed(session_id, n, row.question, row.score, a, follow_up=k))
    return done
