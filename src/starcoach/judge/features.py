"""Features: one sentence in, named feature values out.

Every value is in 0..1 and has a name ("cue:result.reception", "pos:last",
"q:overlap"), so the fitted weights (weights.json) read as a table and an
ablation can drop any family or signal by name.  Pure and fast: the cue
families are compiled once, and families scoped to the opening or the
closing are only looked for where those parts can be.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

from starcoach.judge.cues import Family, families, normalise
from starcoach.judge.lexicon import ValueLexicon
from starcoach.text import STOPWORDS, lowered_tokens, stem

#: How many sentences after the opening fillers count as "the opening", and
#: from what share of the answer on (or how many last sentences) "the closing".
OPENING_SENTENCES = 3
CLOSING_SHARE, CLOSING_SENTENCES = 0.6, 3

_PAST_VERB = re.compile(r"\b(?:\w{3,}ed|built|wrote|ran|made|took|went|found|got|led|gave|told|kept|did|spent|"
                        r"sent|saw|came|brought|set|put|met|spoke|chose|thought|was|were|had)\b")
_I_RE = re.compile(r"\bi\b|\bmy\b|\bme\b")  # 'i' also matches in "i'm", "i'd" (the apostrophe is a word boundary)
_WE_RE = re.compile(r"\bwe\b|\bour\b|\bus\b")
_YOU_RE = re.compile(r"\byou(?:'re|'d|r)?\b")


def closing_start(n: int) -> int:
    """The first sentence of "the closing" of an answer of ``n`` sentences: the last
    CLOSING_SENTENCES, or everything from CLOSING_SHARE of the way on, whichever is more."""
    return max(0, min(n - CLOSING_SENTENCES, math.ceil(CLOSING_SHARE * (n - 1))))


def sat(x: float, k: float = 1.0) -> float:
    """Diminishing returns for counts: one cue counts fully, more add less."""
    return 1.0 - math.exp(-k * x) if x > 0 else 0.0


@dataclass(frozen=True)
class SentenceCues:
    """What was found in one sentence, before it is turned into feature values."""

    text: str  # normalised (lower case, plain apostrophes)
    n_words: int
    counts: dict[str, int]  # cue family id -> matches
    q_overlap: float  # share of the sentence's content words that are in the question
    q_cover: float  # share of the question's topic words the sentence has
    #: share of the question's pairs of neighbouring content words that the sentence has side by side
    #: ("work well under pressure" in "Yes, I do work well under pressure."): the question's own phrasing
    q_pairs: float
    value_scores: tuple[float, ...]  # evidence per company value (empty without a company)
    value_evidence: tuple[tuple[int, ...], ...]  # per value, counts of each kind (lexicon.KINDS)
    company_named: bool
    i_count: int
    we_count: int
    past_verbs: int
    you: bool
    qmark: bool

    def n(self, fid: str) -> int:
        return self.counts.get(fid, 0)

    @property
    def value_best(self) -> float:
        return max(self.value_scores, default=0.0)



#: Pronoun and tense counts, found like the cue families.
BASICS: dict[str, re.Pattern[str]] = {"_i": _I_RE, "_we": _WE_RE, "_past": _PAST_VERB, "_you": _YOU_RE}


_PLANS: dict[tuple[int, bool], tuple[tuple[Family, ...], tuple]] = {}


def _plan(fams: tuple[Family, ...], found: bool) -> tuple[tuple[str, Optional[re.Pattern[str]], str], ...]:
    """Per family, in order: its id, the pattern to count it with here (None: it is in ``found``),
    and its scope ("" for anywhere).  Kept per tuple of families (``families()`` gives the same
    one every time; hashing the families themselves would cost more than the plan saves)."""
    got = _PLANS.get((id(fams), found))
    if got is None or got[0] is not fams:
        if len(_PLANS) > 16:
            _PLANS.clear()
        plan = tuple((f.id, f.regex if f.anchored or not found else None, "" if f.scope == "any" else f.scope)
                     for f in fams)
        got = _PLANS[(id(fams), found)] = (fams, plan)
    return got[1]


def sentence_cues(text: str, q_stems: frozenset[str], q_topic: frozenset[str], lex: Optional[ValueLexicon], *,
                  opening: bool, closing: bool, fams: Optional[tuple[Family, ...]] = None,
                  found: Optional[dict[str, int]] = None,
                  q_pairs: frozenset[tuple[str, str]] = frozenset()) -> SentenceCues:
    """``found``: counts of the families that are not anchored, and of BASICS, already
    counted over the whole answer (pipeline.featurise); without it all are counted here."""
    t = normalise(text)
    toks = lowered_tokens(t)
    stems = [stem(x) for x in toks]
    content = [s for x, s in zip(toks, stems) if x not in STOPWORDS]
    s_set = set(content)
    counts: dict[str, int] = {}
    if found is None:
        found = {k: len(rx.findall(t)) for k, rx in BASICS.items()}
        plan = _plan(fams if fams is not None else families(), False)
    else:
        plan = _plan(fams if fams is not None else families(), True)
    for fid, rx, scope in plan:
        if scope and ((scope == "opening" and not opening) or (scope == "closing" and not closing)):
            continue
        k = len(rx.findall(t)) if rx is not None else found.get(fid, 0)
        if k:
            counts[fid] = k
    v_scores, v_evidence = lex.evidence(content, stems) if lex else ((), ())
    return SentenceCues(
        text=t, n_words=len(toks), counts=counts, value_evidence=v_evidence,
        q_overlap=len(s_set & q_stems) / len(s_set) if s_set else 0.0,
        q_cover=len(s_set & q_topic) / len(q_topic) if q_topic else 0.0,
        q_pairs=len(q_pairs & set(zip(content, content[1:]))) / len(q_pairs) if q_pairs else 0.0,
        value_scores=v_scores,
        company_named=bool(lex and (s_set & lex.company_stems)),
        i_count=found.get("_i", 0), we_count=found.get("_we", 0), past_verbs=found.get("_past", 0),
        you=bool(found.get("_you", 0)), qmark=t.rstrip().endswith("?"),
    )


@dataclass(frozen=True)
class AnswerCues:
    """What the whole answer is like, given to every sentence: a story told in the
    past, or a description of what the speaker would do or usually does."""

    hypothetical_share: float
    past_share: float

    @classmethod
    def of(cls, cues: "list[SentenceCues] | tuple[SentenceCues, ...]") -> "AnswerCues":
        n = max(1, len(cues))
        return cls(hypothetical_share=sum(1 for c in cues if c.n("action.hypothetical")) / n,
                   past_share=sum(1 for c in cues if c.past_verbs) / n)


def feature_values(c: SentenceCues, i: int, n: int, lead: int, has_company: bool,
                   answer: Optional[AnswerCues] = None, has_question: bool = True) -> dict[str, float]:
    """Named feature values of sentence ``i`` of ``n``; ``lead`` counts opening filler sentences ("Sure.")."""
    p = i / (n - 1) if n > 1 else 0.0
    first = i == lead
    x: dict[str, float] = {f"cue:{fid}": sat(k) for fid, k in c.counts.items()}
    tie = c.n("link.company") > 0 or c.company_named
    tied = tie or c.n("link.values_words") > 0 or c.value_best >= 0.6
    closing = i >= closing_start(n)
    x.update({
        "pos:first": float(first),
        "pos:second": float(i == lead + 1),
        "pos:before_lead": float(i < lead),
        "pos:last": float(i == n - 1),
        "pos:penultimate": float(i == n - 2 and n > 2),
        "pos:p": p,
        "pos:p2": p * p,
        "q:absent": float(not has_question),
        "len:short": float(c.n_words <= 3),
        "len:words": min(c.n_words, 40) / 40.0,
        "pron:i": sat(c.i_count),
        "pron:we": sat(c.we_count),
        "pron:you": float(c.you),
                "verb:past": sat(c.past_verbs),
        "verb:none_past": float(c.past_verbs == 0),
        "lesson:untied": float(c.n("lesson") > 0 and not tie),
        "link:present_self_no_past": float(c.n("link.self_present") > 0 and c.past_verbs == 0),
        "repeat:fragment_no_scene": float(c.n("repeat.fragment") > 0 and c.n("situation.scene") == 0),

        "repeat:fragment_short": float(c.n("repeat.fragment") > 0 and c.n_words <= 12),

        "link:untied_closing": float(closing and not tied),
        # A scene and a task told in one sentence ("At my first job, our group was pushed to release by May..."):
        # which one it counts as is learned from the labelled answers.
        "task:in_scene": float((c.n("situation.time_place_open") > 0 or c.n("situation.scene") > 0)
                               and any(c.n(k) for k in ("task.assigned", "task.goal", "task.stakes", "task.ownership"))),
    })
    if has_question:
        # Without a question there is nothing to overlap with: no evidence either way.
        x.update({"q:overlap": c.q_overlap, "q:cover": c.q_cover, "q:overlap_first": c.q_overlap * first,
                  "q:cover_first": c.q_cover * first, "q:cover_high_first": float(first and c.q_cover >= 0.5),
                  "repeat:first_no_overlap": float(first and c.q_overlap < 0.1),
                  "q:pairs_first": c.q_pairs * first})
    if answer is not None:
        x["answer:hypothetical"] = answer.hypothetical_share
        x["answer:past"] = answer.past_share
    if has_company:
        x["value:best"] = sat(c.value_best, 0.8)
        x["value:company_named"] = float(c.company_named)
    return {k: v for k, v in x.items() if v}


#: Feature-name prefixes that are signals rather than cue families (for the ablation).
SIGNALS = ("pos:", "q:", "len:", "pron:", "verb:", "lesson:", "link:", "repeat:", "task:", "value:", "answer:")
