"""A session as one JSON document (``starcoach.session/1``): the session and its stored analyses.

Each answer is its stored ``starcoach.analysis/1`` object as it was saved, or
a failed one (``error.kind`` ``not_analysed``) saying why there is none.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional, Sequence

from starcoach.model import Analysis
from starcoach.stored import StoredAnswer, not_analysed_reason

if TYPE_CHECKING:
    from starcoach.store.database import SessionRow


SESSION_SCHEMA = "starcoach.session/1"


def session_json(s: "SessionRow", answers: Sequence[StoredAnswer], names: dict[str, str],
                 notes: Optional[dict[int, str]] = None) -> dict[str, Any]:
    """``starcoach.session/1``; with ``notes``, a ``notes`` object (answer number as text -> the coach's note)."""
    objs = []
    for x in answers:
        if x.analysis is not None and x.row.analysis_json and x.unreadable is None:
            objs.append(json.loads(x.row.analysis_json))
        else:
            objs.append(Analysis.failed(x.row.audio_path or x.row.source or f"answer {x.n}", "not_analysed",
                                        not_analysed_reason(x), question=x.row.question,
                                        company=x.row.company).to_json())
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
