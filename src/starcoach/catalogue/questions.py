"""Which company values a question probes, and choosing questions to cover them.

A question's competency tags and wording are matched against each value's
name, meaning and cue words (stemmed), so "Tell me about a time you took
ownership…" tagged ``ownership`` maps to Amazon's "Ownership" and DoorDash's
"Be an owner" without a hand-made table per company.
"""

from __future__ import annotations

import random
from typing import Iterable, Optional, Sequence

from starcoach.catalogue.banks import Company, CompanyValue, Question
from starcoach.text import QUESTION_FRAME, content_stems, stem

#: Extra words for each competency tag, so tags meet value vocabularies.
_COMPETENCY_WORDS: dict[str, str] = {
    "ownership": "owner ownership own accountable responsibility end to end",
    "initiative": "initiative proactive leader lead action nobody asked",
    "teamwork": "team together collaborate collaboration partner one team",
    "conflict": "disagree disagreement debate backbone commit direct candor dissent courage",
    "failure": "fail mistake learn resilience persevere courage",
    "learning": "learn curious curiosity growth improve better",
    "leadership": "leader lead develop mentor vision direction",
    "ambiguity": "ambiguity uncertain judgment first principles truth seeking",
    "customer-focus": "customer user member host obsess needs",
    "data-driven": "data evidence rigor rigorous dive deep truth metrics detail",
    "deadlines": "deliver results urgency speed fast deadline",
    "communication": "communication communicate clear direct honest transparent open",
    "influence": "influence convince persuade trust earn trust",
    "prioritisation": "focus priority prioritise impact",
    "data-quality": "standards quality detail rigor meticulous craft",
    "stakeholder-management": "trust stakeholder relationships partner",
    "technical-depth": "dive deep craft detail first principles",
    "innovation": "invent innovate bold think big new ideas build",
    "mentoring": "develop mentor hire coach teach",
    "ethics": "integrity right thing trust responsibility",
    "resilience": "persevere resilience optimism adventure",
    "bias-for-action": "bias action speed fast move urgency doers",
    "feedback": "feedback candor honest direct improve",
    "simplification": "simplify simple frugal",
}


def _question_stems(q: Question) -> set[str]:
    frame = {stem(w) for w in QUESTION_FRAME}
    stems = {s for s in content_stems(q.text) if s not in frame}
    for c in q.competencies:
        stems.update(content_stems(_COMPETENCY_WORDS.get(c, c.replace("-", " "))))
    return stems


def _value_stems(v: CompanyValue) -> tuple[set[str], set[str]]:
    strong = set(content_stems(v.name))
    for cue in v.cues:
        strong.update(content_stems(cue))
    weak = set(content_stems(v.meaning))
    return strong, weak


def value_fit(q: Question, company: Company) -> list[tuple[CompanyValue, float]]:
    """Company values the question probes, best first, with a fit score."""
    qs = _question_stems(q)
    out = []
    for v in company.values:
        strong, weak = _value_stems(v)
        score = 1.0 * len(qs & strong) + 0.3 * len(qs & (weak - strong))
        if score >= 1.0:
            out.append((v, score))
    out.sort(key=lambda vs: -vs[1])
    return out


def rank_for_company(questions: Iterable[Question], company: Company) -> list[tuple[Question, list[CompanyValue]]]:
    scored = []
    for q in questions:
        fit = value_fit(q, company)
        scored.append((q, [v for v, _ in fit[:2]], fit[0][1] if fit else 0.0))
    scored.sort(key=lambda t: -t[2])
    return [(q, vals) for q, vals, _ in scored]


def choose_questions(questions: Sequence[Question], n: int, *, company: Optional[Company] = None,
                     competency: Optional[str] = None, exclude: Iterable[str] = (),
                     weights: Optional[dict[str, float]] = None,
                     rng: Optional[random.Random] = None) -> list[tuple[Question, list[CompanyValue]]]:
    """Pick n distinct questions; with a company, spread them over its values.

    ``weights`` (value id -> weight) favours values the candidate has covered
    least; without it every value counts the same.
    """
    rng = rng or random.Random()
    excluded = set(exclude)
    pool = [q for q in questions if q.id not in excluded and (not competency or competency in q.competencies)]
    if not pool:
        pool = [q for q in questions if not competency or competency in q.competencies]
    rng.shuffle(pool)
    if not company:
        return [(q, []) for q in pool[:n]]
    fits = {q.id: value_fit(q, company) for q in pool}
    covered: dict[str, int] = {v.id: 0 for v in company.values}
    chosen: list[tuple[Question, list[CompanyValue]]] = []
    for _ in range(min(n, len(pool))):
        best, best_score = None, -1e9
        for q in pool:
            if any(q.id == c.id for c, _ in chosen):
                continue
            score = 0.0
            for v, fit in fits[q.id][:2]:
                need = (weights or {}).get(v.id, 1.0)
                score += fit * need / (1 + 2 * covered[v.id])
            if score > best_score:
                best, best_score = q, score
        if best is None:
            break
        vals = [v for v, _ in fits[best.id][:2]]
        for v in vals:
            covered[v.id] += 1
        chosen.append((best, vals))
    return chosen
