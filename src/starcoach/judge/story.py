"""An answer and the answers to its follow-up questions, judged as one story.

An interviewer who asks "How did you measure that?" hears the reply as part
of the same story: if it gives the number, the result is now measured.  So
after each follow-up the original answer's text and every follow-up answer so
far are judged together (``together``), and what the latest reply added is
named part by part (``supplied``): a part the story lacked (or the judge was
unsure of) that it now has, a result that is now measured, actions now in the
candidate's own voice, a hypothetical answer now told as a real time.  The
original answer's own analysis and score are never changed: an interviewer
remembers what was said first.

Pure: analyses in, an analysis and ``Supplied`` items out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional, Sequence

from starcoach.catalogue.banks import Company
from starcoach.judge.core import analyse
from starcoach.judge.pipeline import featurise
from starcoach.model import COMPONENT_TITLES, COMPONENTS, UNSURE_BELOW, Analysis, analysis_from_json

#: What a reply did for a part, as the report says it ("Result: now measured").
NOW_THERE = "now there"
NOW_MEASURED = "now measured"
NOW_OWN = "now what you did yourself"
NOW_REAL = "now a real time, not what you would do"


@dataclass(frozen=True)
class Supplied:
    """One part of R-STAR-L a follow-up answer added to the story, and the words that did it."""

    component: str
    how: str
    evidence: Optional[str] = None

    def line(self) -> str:
        """'Result: now measured — "churn fell from 9% to 6%"'."""
        text = f"{COMPONENT_TITLES[self.component]}: {self.how}"
        return text + (f" \u2014 \u201c{self.evidence}\u201d" if self.evidence else "")

    def to_json(self) -> dict[str, Any]:
        return {"component": self.component, "how": self.how, "evidence": self.evidence}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Supplied":
        return cls(str(d["component"]), str(d.get("how") or NOW_THERE), d.get("evidence"))


def story_text(first: str, replies: Sequence[str]) -> str:
    """The original answer and its follow-up answers as one text, in the order they were said."""
    parts = [t.strip() for t in (first, *replies) if t and t.strip()]
    out = []
    for p in parts:
        out.append(p if p[-1] in ".?!" else p + ".")
    return " ".join(out)


def together(first: Analysis, replies: Sequence[Analysis], *, question: Optional[str],
             company: Optional[Company]) -> Analysis:
    """The original answer and its follow-up answers judged as one written answer to ``question``."""
    text = story_text(first.transcript, [r.transcript for r in replies if r.error is None])
    return analyse(text, question=question, company=company, input=first.input)


def clearly(a: Analysis, component: str) -> bool:
    """The part is there and the judge is sure of it (a "?" in the checklist is not clearly heard)."""
    r = a.structure.get(component)
    return bool(r is not None and r.present and r.confidence >= UNSURE_BELOW)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _from_reply(reply: Analysis, story: Analysis, component: str) -> Optional[str]:
    """The reply's sentence that the story judged together labels ``component`` (None: none of the
    reply's words carry that part)."""
    said = _norm(reply.transcript)
    for s in story.sentences:
        if s.component == component and _norm(s.text) and _norm(s.text) in said:
            return s.text.strip()
    return None


def _evidence(reply: Analysis, story: Analysis, component: str) -> Optional[str]:
    """The reply's own words for ``component``, else its first sentence."""
    found = _from_reply(reply, story, component)
    if found:
        return found
    return reply.sentences[0].text.strip() if reply.sentences else None


@lru_cache(maxsize=8)
def _cues_of(text: str):
    """A reply's sentences and cues, judged with no question or company (once per reply text:
    ``own_actions`` and ``scene_sentence`` both read them)."""
    return featurise(text, None, None)


def own_actions(reply: Analysis) -> int:
    """How many things the reply says the candidate did themselves ("I rewrote", "I convinced"), by
    the judge's own first-person action cues, wherever the judge placed the sentence."""
    if not reply.transcript.strip():
        return 0
    return sum(c.n("action.i_past") + c.n("action.i_phrases") for c in _cues_of(reply.transcript).cues)


#: Cue families that set a scene: when and where ("Last spring", "At my last job", "There was").
SCENE_CUES = ("situation.scene", "situation.time_place_open")


def scene_sentence(reply: Analysis) -> Optional[str]:
    """The reply's first sentence that says when or where, by the judge's scene cues (None: none
    does; the judge labels a reply's lone sentence a situation by its place alone)."""
    text = reply.transcript
    if not text.strip():
        return None
    fz = _cues_of(text)
    for p, c in zip(fz.pieces, fz.cues):
        if any(c.n(f) for f in SCENE_CUES):
            return text[p.start:p.end].strip()
    return None


def _real_actions(reply: Analysis) -> bool:
    """The reply tells what the candidate did themselves, as it happened (not "I would")."""
    return reply.checks is not None and not reply.checks.hypothetical and (
        reply.checks.action_voice in ("i", "mixed") or own_actions(reply) > 0)


def supplied(before: Analysis, after: Analysis, reply: Analysis,
             earlier: Sequence[Analysis] = ()) -> tuple[Supplied, ...]:
    """What ``reply`` added: ``before`` is the story without it (the original answer, or it with the
    ``earlier`` follow-up answers), ``after`` the story with it, both from :func:`together` (or the
    original's own analysis for ``before``).  A part an earlier reply already supplied is not named again."""
    if reply.error is not None or not reply.structure or not after.structure:
        return ()
    out: list[Supplied] = []
    bc, ac, rc = before.checks, after.checks, reply.checks
    told = any(_real_actions(r) for r in earlier)
    own = bc is not None and bc.action_voice == "we" and not told and _real_actions(reply)
    for c in COMPONENTS:
        # A part counts as supplied when the story now has it and the reply's own words carry it.
        found = _from_reply(reply, after, c) if not clearly(before, c) and clearly(after, c) else None
        if found:
            # Actions only in "we" before: what the reply adds is what the candidate did.
            out.append(Supplied(c, NOW_OWN if c == "action" and own else NOW_THERE, found))
    done = {s.component for s in out}
    if bc is not None and rc is not None and ac is not None:
        if "result" not in done and clearly(before, "result") and not bc.result_quantified and (
                rc.result_quantified or ac.result_quantified):
            out.append(Supplied("result", NOW_MEASURED, _evidence(reply, after, "result")))
        if "action" not in done and own:
            out.append(Supplied("action", NOW_OWN, _evidence(reply, after, "action")))
        if bc.hypothetical and not told and _real_actions(reply) and "situation" not in done:
            # A real time is one with a scene: "I tracked the churn for six weeks" tells something
            # done, but not when or where, so it gives no situation.
            scene = scene_sentence(reply)
            if scene:
                out.append(Supplied("situation", NOW_REAL, scene))
    return tuple(sorted(out, key=lambda s: COMPONENTS.index(s.component)))


@dataclass(frozen=True)
class Judged:
    """A follow-up answer judged as part of its story."""

    together: Analysis
    supplied: tuple[Supplied, ...]


def judge_reply(first: Analysis, earlier: Sequence[Analysis], reply: Analysis, *, question: Optional[str],
                company: Optional[Company]) -> Judged:
    """The story with ``reply`` judged together, and what ``reply`` added to the story before it
    (the first answer and the ``earlier`` follow-up answers)."""
    replies = [r for r in earlier if r.error is None]
    before = together(first, replies, question=question, company=company) if replies else first
    after = together(first, [*replies, reply], question=question, company=company)
    return Judged(after, supplied(before, after, reply, replies))


def follow_up_record(meta: dict[str, Any], judged: Optional[Judged]) -> dict[str, Any]:
    """What is stored for a follow-up answer (``answers.follow_up``) once it is judged: why it was
    asked (``meta``: reason, template, component), what it supplied, and the story judged together."""
    out = {k: meta.get(k) for k in ("reason", "template", "component")}
    if judged is not None:
        out["supplied"] = [s.to_json() for s in judged.supplied]
        out["together"] = judged.together.to_json()
    return out


def story_from_json(meta: dict[str, Any]) -> tuple[Optional[Analysis], tuple[Supplied, ...]]:
    """The story judged together and what the reply supplied, as stored (None, () if not judged yet)."""
    t = meta.get("together")
    a = analysis_from_json(t) if isinstance(t, dict) else None
    return a, tuple(Supplied.from_json(s) for s in meta.get("supplied") or ())
