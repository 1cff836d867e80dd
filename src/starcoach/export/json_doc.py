"""A session as one JSON document (``starcoach.session/1``): the session and its stored analyses.

Each answer is its stored ``starcoach.analysis/1`` object as it was saved, or
a failed one (``error.kind`` ``not_analysed``) saying why there is none, with
one key added: ``follow_ups``, the follow-up questions asked about it and
their answers (empty when none was asked); with the coach's notes
(``export --notes``), one key at the top: ``notes``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional, Sequence

from starcoach.model import Analysis
from starcoach.stored import StoredAnswer, StoredFollowUp, not_analysed_reason

if TYPE_CHECKING:
    from starcoach.store.database import SessionRow


SESSION_SCHEMA = "starcoach.session/1"


def _analysis_json(x: "StoredAnswer | StoredFollowUp", label: str) -> dict[str, Any]:
    """The stored ``starcoach.analysis/1`` object as saved, or a failed one saying why there is none."""
    if x.analysis is not None and x.row.analysis_json and x.unreadable is None:
        return json.loads(x.row.analysis_json)
    return Analysis.failed(x.row.audio_path or x.row.source or label, "not_analysed", not_analysed_reason(x),
                           question=x.row.question, company=x.row.company).to_json()


def follow_up_json(f: StoredFollowUp) -> dict[str, Any]:
    """One follow-up: the text asked, why, its answer's analysis, the parts it supplied (component
    names, then how and with which words), and the story judged together (score and checklist)."""
    t = f.together
    return {
        "question": f.row.question,
        "reason": f.reason,
        "component": f.component,
        "analysis": _analysis_json(f, f"follow-up {f.n}"),
        "supplied": [s.component for s in f.supplied],
        "supplied_detail": [s.to_json() for s in f.supplied],
        "together": None if t is None else {
            "score": t.score, "structure": {c: t.structure[c].to_json(c) for c in t.structure}},
    }


def session_json(s: "SessionRow", answers: Sequence[StoredAnswer], names: dict[str, str],
                 notes: Optional[dict[int, str]] = None) -> dict[str, Any]:
    """``starcoach.session/1``; with ``notes``, a ``notes`` object (answer number as text -> the coach's note)."""
    objs = []
    for x in answers:
        obj = _analysis_json(x, f"answer {x.n}")
        obj["follow_ups"] = [follow_up_json(f) for f in x.follow_ups]
        objs.append(obj)
    out = {
        "schema": SESSION_SCHEMA,
        "session": {
            "id": s.id, "kind": s.kind, "started_at": s.started_at, "ended_at": s.ended_at, "status": s.status,
            "company": s.company, "company_name": names.get(s.company or "") if s.company else None,
            "settings": s.settings, "answers": len(answers),
            "mean_score": None if s.mean_score is None else round(float(s.mean_score), 1),
            "total_s": round(float(s.total_s or 0.0), 2),
        },
        "answers": objs,
    }
    if notes is not None:
        out["notes"] = {str(n): text for n, text in sorted(notes.items())}
    return out
