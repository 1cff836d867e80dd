"""How well each of a company's values is covered by the vault's stories and past answers, and where the gaps are.

Two sources say a value is covered:

* the story vault: stories mapped onto the value (``values = ["company:value"]``)
  count fully, stories inferred to show it (``value_coverage``: the value's
  name and cue phrases in the bullets, or competency tags that mean it) count half;
* past answers for the company whose link back named the value
  (``structure['link_back'].values`` of the stored analyses; company ids
  compared in lower case, as history does).

``gap_weights`` turns that into a weight per value for
``questions.choose_questions(weights=...)``, so ``practice --focus gaps``
asks first about the values with no story and no practised link back::

    story factor   3 - min(2, stories)        3 with none, 2 with one, 1 with two or more
    answer factor  1 + 1 / (1 + answers)      2 never linked, 1.5 once, 1.33 twice...
    weight         story factor * answer factor

Works with no vault and no sessions (every value then weighs the same).  The
vault is the one the caller loaded and checked: a vault that cannot be read
is reported by whoever loaded it, once, never read again here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

from starcoach.catalogue.banks import Company, Question
from starcoach.text import content_stems, stem, tokens
from starcoach.vault.format import Vault
from starcoach.vault.matching import COMMON_STEMS

if TYPE_CHECKING:
    from starcoach.store.database import Store


class StoryRef(str):
    """A story id in ``value_coverage``; says whether the link was inferred and why."""

    inferred: bool
    evidence: str

    def __new__(cls, story_id: str, inferred: bool = False, evidence: str = "") -> "StoryRef":
        obj = super().__new__(cls, story_id)
        obj.inferred = inferred
        obj.evidence = evidence
        return obj

    def __repr__(self) -> str:
        return f"StoryRef({str(self)!r}, inferred={self.inferred}, evidence={self.evidence!r})"


#: Evidence needed to infer a value from a story's bullets: a cue phrase of
#: several words counts 1, the value's full name 1.5, a one-word cue or name
#: 0.5 (each distinct phrase once; words any work story uses not at all).
_INFER_AT = 1.0


def _value_phrases(company: Company) -> list[list[tuple[tuple[str, ...], float, str]]]:
    from starcoach.judge.lexicon import GENERIC_VALUE_WORDS as _GENERIC_VALUE_WORDS

    company_stems = {stem(t) for t in tokens(company.name) + [company.id]}
    out = []
    for v in company.values:
        phrases: list[tuple[tuple[str, ...], float, str]] = []
        name = tuple(s for s in content_stems(v.name) if s not in _GENERIC_VALUE_WORDS
                     and not any(s.startswith(c) for c in company_stems))
        seen: set[tuple[str, ...]] = set()
        if len(name) > 1 or (name and name[0] not in COMMON_STEMS):
            phrases.append((name, 1.5 if len(name) > 1 else 0.5, v.name))
            seen.add(name)
        for cue in v.cues:
            st = tuple(content_stems(cue))
            if not st or st in seen or (len(st) == 1 and (st[0] in _GENERIC_VALUE_WORDS or st[0] in COMMON_STEMS)):
                continue
            seen.add(st)
            phrases.append((st, 1.0 if len(st) > 1 else 0.5, cue))
        out.append(phrases)
    return out


def _find(seq: Sequence[str], pat: tuple[str, ...]) -> bool:
    k = len(pat)
    return any(tuple(seq[i:i + k]) == pat for i in range(len(seq) - k + 1))


def value_coverage(vault: Vault, company: Company) -> dict[str, list[StoryRef]]:
    """Company value id -> the stories that show it.

    Explicit ``values`` entries come first; then stories inferred from their
    bullets (the value's name and cue phrases, stemmed) and from competency
    tags that mean the value (the same mapping questions use), marked
    ``inferred`` with the evidence.
    """
    from starcoach.catalogue.questions import value_fit

    out: dict[str, list[StoryRef]] = {v.id: [] for v in company.values}
    phrases = _value_phrases(company)
    for story in vault.stories:
        explicit = set(story.values_for(company.id))
        for vid in explicit:
            if vid in out:
                out[vid].append(StoryRef(story.id, False, "listed in the story's values"))
        bullet_stems = [content_stems(b) for b in [story.title] + [b for _, b in story.bullets()]]
        tagged: dict[str, list[str]] = {}
        for comp in story.competencies:
            probe = Question(id=f"story:{story.id}", text="", competencies=(comp,), bank="vault")
            for v, score in value_fit(probe, company):
                if score >= 2.0:
                    tagged.setdefault(v.id, []).append(comp)
        for vi, v in enumerate(company.values):
            if v.id in explicit:
                continue
            total, said = 0.0, []
            for pat, w, label in phrases[vi]:
                if any(_find(bs, pat) for bs in bullet_stems):
                    total += w
                    said.append(label)
            if total >= _INFER_AT:
                out[v.id].append(StoryRef(story.id, True, "says " + ", ".join(f"\u201c{s}\u201d" for s in said[:3])))
            elif v.id in tagged:
                out[v.id].append(StoryRef(story.id, True, "tagged " + ", ".join(tagged[v.id])))
    return out


@dataclass(frozen=True)
class ValueCover:
    value_id: str
    name: str
    #: Stories mapped onto the value in the vault, and stories inferred to show it.
    explicit: tuple[str, ...]
    inferred: tuple[str, ...]
    #: Past answers for this company whose link back named the value.
    answers: int

    @property
    def stories(self) -> float:
        return len(self.explicit) + 0.5 * len(self.inferred)

    @property
    def weight(self) -> float:
        story_factor = 3.0 - min(2.0, self.stories)
        answer_factor = 1.0 + 1.0 / (1 + self.answers)
        return round(story_factor * answer_factor, 4)


def linked_answers(company: Company, store: Optional["Store"]) -> dict[str, int]:
    """Value id -> how many stored answers for this company linked back to it."""
    counts = {v.id: 0 for v in company.values}
    if store is None:
        return counts
    by_name = {v.name.lower(): v.id for v in company.values}
    want = company.id.lower()  # history and progress compare ids in lower case; an older row may not be
    for session in store.sessions():
        for row in store.answers(session.id):
            if (row.company or session.company or "").lower() != want or not row.analysis_json:
                continue
            try:
                analysis = row.analysis(company_name=company.name)
            except (ValueError, KeyError, TypeError):
                continue  # a row from an older or damaged schema: skip it
            if analysis is None or analysis.error is not None:
                continue
            link = analysis.structure.get("link_back")
            if link is None or not link.present:
                continue
            for name in set(link.values):
                vid = by_name.get(name.lower())
                if vid:
                    counts[vid] += 1
    return counts


def value_covers(company: Company, store: Optional["Store"], vault: Optional[Vault]) -> list[ValueCover]:
    """Each of the company's values with its stories and linked answers, in the company's order."""
    stories = value_coverage(vault, company) if vault is not None else {v.id: [] for v in company.values}
    answers = linked_answers(company, store)
    out = []
    for v in company.values:
        refs = stories.get(v.id, [])
        out.append(ValueCover(
            value_id=v.id, name=v.name,
            explicit=tuple(str(r) for r in refs if not getattr(r, "inferred", False)),
            inferred=tuple(str(r) for r in refs if getattr(r, "inferred", False)),
            answers=answers.get(v.id, 0)))
    return out


def gap_weights(company: Company, store: Optional["Store"], vault: Optional[Vault]) -> dict[str, float]:
    """Value id -> weight, higher for the values covered least by vault stories and past answers.

    ``vault`` is the one the session already loaded (None: no vault, or one
    that could not be read, which the caller has reported once).
    """
    return {c.value_id: c.weight for c in value_covers(company, store, vault)}


def least_covered(company: Company, weights: dict[str, float]) -> list[str]:
    """The ids of the values covered least (the highest weight), in the company's order."""
    top = max((weights.get(v.id, 0.0) for v in company.values), default=0.0)
    return [v.id for v in company.values if weights.get(v.id, 0.0) == top]


def gap_line(company: Company, weights: dict[str, float], chosen: Sequence[tuple[Question, Sequence]]) -> str:
    """What ``--focus gaps`` tells the candidate: how many values are covered least, and which of
    them the chosen questions probe (``chosen``: ``choose_questions``' questions and their values),
    so the values named are the ones asked about, not the first of many tied."""
    least = least_covered(company, weights)
    names = {v.id: v.name for v in company.values}
    aimed: list[str] = []
    for _, vals in chosen:
        for v in vals:
            if v.id in least and v.id not in aimed:
                aimed.append(v.id)
    n_all = len(company.values)
    if len(least) == n_all:
        head = f"none of {company.name}'s {n_all} values has a story or a practised link back yet"
    else:
        head = f"{len(least)} of {company.name}'s {n_all} values are covered least by your stories and answers"
    if not aimed:
        shown = ", ".join(f"\u2018{names[i]}\u2019" for i in least[:3]) + (", \u2026" if len(least) > 3 else "")
        return f"Focus on gaps: {head} ({shown}); no question in the bank probes them."
    said = ", ".join(f"\u2018{names[i]}\u2019" for i in aimed)
    which = "this question probes" if len(chosen) == 1 else "these questions probe"
    return f"Focus on gaps: {head}; {which} {said}."

