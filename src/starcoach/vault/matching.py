"""Which vault story an answer told, which of its points were left out, and how well a story fits a question.

Answers retell a story in other words, so matching works on content stems
(``text.content_stems``) weighted by rarity: a stem that every story of the
vault uses ("team", "data") says little, a stem only one story uses ("GPS",
"reclassified") says a lot, and words common to any work story are damped.
Quantities are read in digits and in words alike ("4%", "four percent",
"one and a half percent", "40k", "forty thousand") and count extra.  A
story's score is the weighted share of its stems the answer said (recall)
blended with the share of the answer's distinctive stems that belong to the
story (focus); below ``MATCH_THRESHOLD`` nothing matches, and a close
runner-up lowers the confidence.  A bullet counts as said when most of its
weighted stems occur within two neighbouring sentences of the answer; a
result bullet with numbers counts as said only when its numbers were said.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Optional

from starcoach.catalogue.banks import Question
from starcoach.text import QUESTION_FRAME, content_stems, split_sentences, stem, tokens
from starcoach.vault.format import Story, Vault
from starcoach.vault.quantities import NUMBER_WORDS, Quantity, meaningful, quantities, same

#: Below this score an answer is not taken to tell any vault story.
MATCH_THRESHOLD = 0.25
#: A bullet counts as said when this share of its weighted stems is said nearby.
BULLET_SAID = 0.45


# --------------------------------------------------------------------------- stems and weights


#: Words any work story uses; they count for little when telling stories apart.
COMMON_STEMS = frozenset(stem(w) for w in """
team teams manager managers project projects work worked working company business people person week weeks
month months year years day days time problem problems issue issues help helped need needed want wanted start
started end ended result results change changed new old good better best big small first last next number
numbers data report reports meeting meetings lead colleague colleagues engineer engineers analyst stakeholder
stakeholders question questions answer decided decide using used use tried try took asked ask told said
show showed showing everyone someone nobody wasn't didn't couldn't because while after before still even
part role job task goal action actually found find back way ways point place every each set add added run ran
without within last list based base real actual own owned high low full whole whether across around keep kept
put gave give given per case cases example examples side sides across able enough agree agreed sat stop
stopped drop dropped went came got move moved fix fixed
""".split()) | frozenset(stem(w) for w in QUESTION_FRAME)
_NUMBER_STEMS = frozenset(stem(w) for w in NUMBER_WORDS)


_HYPHEN_RE = re.compile(r"\b([A-Za-z]+)-(?=([A-Za-z]+))")


class _Hyphen:
    """Joins hyphenated words ('cut-off' -> 'cutoff'), not numbers ('two-week')."""

    @staticmethod
    def sub(_: str, text: str) -> str:
        def join(m: re.Match[str]) -> str:
            a, b = m.group(1).lower(), m.group(2).lower()
            if a in NUMBER_WORDS or b in NUMBER_WORDS:
                return m.group(0)
            return m.group(1)

        return _HYPHEN_RE.sub(join, text)


_HYPHEN = _Hyphen()


def _stems(text: str) -> list[str]:
    """Content stems without number words, plus one '#value' token per quantity.

    Hyphenated words are one word ('post-mortem' -> 'postmortem'); answers
    also offer every pair of neighbouring words joined (``_answer``)."""
    out = [s for s in content_stems(_HYPHEN.sub("", text)) if s not in _NUMBER_STEMS and not s[0].isdigit()]
    out.extend(q.key for q in quantities(text) if meaningful(q))
    return out


def _base_weight(s: str) -> float:
    if s.startswith("#"):
        # '4%', '40000', '26' tell stories apart; 'three' of anything does not.
        v = float(s[1:])
        return 0.5 if v.is_integer() and v <= 12 else 2.0
    return 0.35 if s in COMMON_STEMS else 1.0


@dataclass(frozen=True)
class _Bullet:
    part: str
    text: str
    stems: frozenset[str]
    numbers: tuple[Quantity, ...]


@dataclass(frozen=True)
class _StoryIndex:
    story: Story
    stems: frozenset[str]
    bullets: tuple[_Bullet, ...]


@dataclass(frozen=True)
class _Index:
    stories: tuple[_StoryIndex, ...]
    weight: Mapping[str, float]

    def w(self, s: str) -> float:
        return self.weight.get(s, _base_weight(s))


def _story_index(story: Story) -> _StoryIndex:
    bullets = tuple(_Bullet(p, b, frozenset(_stems(b)), tuple(q for q in quantities(b) if meaningful(q)))
                    for p, b in story.bullets())
    allstems = set(_stems(story.title))
    for b in bullets:
        allstems |= b.stems
    return _StoryIndex(story, frozenset(allstems), bullets)


@lru_cache(maxsize=64)
def _index(vault: Vault) -> _Index:
    stories = tuple(_story_index(s) for s in vault.stories)
    n = len(stories)
    df: dict[str, int] = {}
    for si in stories:
        for s in si.stems:
            df[s] = df.get(s, 0) + 1
    weight = {}
    for s, d in df.items():
        # log(1 + N/df) / log(1 + N): 1 for a stem one story uses, 0.5 for one all three use.
        rarity = math.log(1 + n / d) / math.log(1 + n) if n > 1 else 1.0
        weight[s] = _base_weight(s) * rarity
    return _Index(stories, weight)


def _variants(s: str) -> set[str]:
    """What a stem may meet in other words: itself and its 4- and 5-letter
    prefixes ('cancel' ~ 'cancellation', 'leak' ~ 'leakage')."""
    if s.startswith("#") or len(s) < 4:
        return {s}
    return {s, s[:4] + "~", s[:5] + "~"} if len(s) >= 5 else {s, s + "~"}


def _loose(s: str) -> set[str]:
    """Keys a story stem is looked up by: exact, or sharing the stem as a prefix."""
    if s.startswith("#") or len(s) < 4:
        return {s}
    return {s, s[:5] + "~"} if len(s) >= 5 else {s, s + "~"}


@dataclass(frozen=True)
class _Answer:
    #: The answer's own stems (what its focus is measured on).
    stems: frozenset[str]
    #: Lookup keys: stems, their prefixes and joined word pairs, all answer / per window.
    keys: frozenset[str]
    windows: tuple[frozenset[str], ...]
    numbers: tuple[Quantity, ...]

    def has(self, s: str, where: Optional[frozenset[str]] = None) -> bool:
        keys = self.keys if where is None else where
        return any(k in keys for k in _loose(s))


def _answer(text: str) -> _Answer:
    sents = [text[p.start:p.end] for p in split_sentences(text)] or [text]
    per, own = [], set()
    for sent in sents:
        keys: set[str] = set()
        stems = _stems(sent)
        own.update(stems)
        for s in stems:
            keys |= _variants(s)
        toks = tokens(_HYPHEN.sub("", sent))
        for a, b in zip(toks, toks[1:]):  # 'cut off' ~ 'cut-off', 'post mortem' ~ 'post-mortem'
            if a.isalpha() and b.isalpha():
                keys |= _variants(stem(a + b))
        per.append(frozenset(keys))
    windows = tuple(per[i] | (per[i + 1] if i + 1 < len(per) else frozenset()) for i in range(len(per)))
    allkeys = frozenset().union(*per) if per else frozenset()
    return _Answer(frozenset(own), allkeys, windows, tuple(quantities(text)))


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class StoryMatch:
    story: Story
    #: 0..1: how sure the match is (score above the threshold, margin over the runner-up).
    confidence: float
    #: Weighted recall/focus blend the decision is made on.
    score: float
    #: (part, bullet) said and left out.
    told: tuple[tuple[str, str], ...]
    missing: tuple[tuple[str, str], ...]
    runner_up: Optional[str] = None


def _bullet_said(b: _Bullet, ans: _Answer, idx: _Index) -> bool:
    """Said when most of its weighted stems occur in one window of the answer;
    a result bullet with numbers only when every number was said."""
    said_numbers = [q for q in b.numbers if any(same(q.value, a.value) for a in ans.numbers)]
    if b.part == "result" and b.numbers:
        return len(said_numbers) == len(b.numbers)
    words = [s for s in b.stems if not s.startswith("#")]
    if not words and not b.numbers:
        return True
    total = sum(idx.w(s) for s in b.stems) or 1.0
    best = 0.0
    for win in ans.windows or (ans.stems,):
        got = sum(idx.w(s) for s in b.stems if ans.has(s, win) or (s.startswith("#") and s in ans.keys))
        best = max(best, got / total)
    return best >= BULLET_SAID


def _score_story(si: _StoryIndex, ans: _Answer, idx: _Index) -> tuple[float, float, float]:
    total = sum(idx.w(s) for s in si.stems) or 1.0
    hit = sum(idx.w(s) for s in si.stems if ans.has(s))
    recall = hit / total
    answer_total = sum(idx.w(s) for s in ans.stems) or 1.0
    focus = hit / answer_total
    return 0.6 * recall + 0.4 * focus, recall, focus


def match_story(answer_text: str, vault: Vault) -> Optional[StoryMatch]:
    """The vault story the answer told, or None when it told none of them."""
    if not vault.stories or not tokens(answer_text):
        return None
    idx = _index(vault)
    ans = _answer(answer_text)
    scored = sorted(((_score_story(si, ans, idx)[0], k, si) for k, si in enumerate(idx.stories)),
                    key=lambda t: (-t[0], t[1]))
    best_score, _, best = scored[0]
    if best_score < MATCH_THRESHOLD:
        return None
    second = scored[1][0] if len(scored) > 1 else 0.0
    above = min(1.0, (best_score - MATCH_THRESHOLD) / 0.25)
    margin = min(1.0, (best_score - second) / max(best_score, 1e-9) / 0.5)
    confidence = round(0.5 + 0.5 * above * margin, 3)
    told, missing = [], []
    for b in best.bullets:
        (told if _bullet_said(b, ans, idx) else missing).append((b.part, b.text))
    return StoryMatch(story=best.story, confidence=confidence, score=round(best_score, 3), told=tuple(told),
                      missing=tuple(missing), runner_up=scored[1][2].story.id if len(scored) > 1 else None)


def missing_points(answer_text: str, story: Story, vault: Optional[Vault] = None) -> list[tuple[str, str]]:
    """The story's bullets the answer never said, as (part, bullet), in story order.

    Weights come from ``vault`` when given (stems the other stories share count
    less), else from the story alone.
    """
    idx = _index(vault if vault is not None and story in vault.stories else Vault((story,)))
    si = next(s for s in idx.stories if s.story == story)
    ans = _answer(answer_text)
    return [(b.part, b.text) for b in si.bullets if not _bullet_said(b, ans, idx)]


def unsaid_numbers(answer_text: str, bullet: str) -> list[Quantity]:
    """The bullet's numbers the answer never said (in digits or in words)."""
    said = quantities(answer_text)
    return [q for q in quantities(bullet) if meaningful(q) and not any(same(q.value, a.value) for a in said)]


def _short(text: str, words: int = 12) -> str:
    w = text.split()
    return " ".join(w[:words]) + ("…" if len(w) > words else "")


def _describe(part: str, bullet: str, answer_text: str) -> str:
    """How a missing bullet is named in the advice line."""
    nums = [q for q in quantities(bullet) if meaningful(q)]
    if part == "result" and nums:
        if len(nums) == 2 and re.search(r"\bfrom\b.*\bto\b", bullet.lower()):
            what = f"the measured result ({nums[0].text} → {nums[1].text})"
        else:
            what = f"the measured result “{_short(bullet)}”"
        unsaid = unsaid_numbers(answer_text, bullet)
        if unsaid and len(unsaid) < len(nums):
            what = what.rstrip(")") + ("; " if what.endswith(")") else " (") + \
                f"you never said {' or '.join(q.text for q in unsaid)})"
        return what
    return f"the {part} “{_short(bullet)}”"


def story_feedback(answer_text: str, vault: Vault) -> Optional[str]:
    """One advice line when the answer told a vault story but left points out, else None.

    E.g. "You told your story 'Ghost failed deliveries' but left out: the
    measured result (4% → 1.5%)."  Results come first, then actions, task and
    situation; at most two points are named, from different parts when possible.
    """
    m = match_story(answer_text, vault)
    if m is None or not m.missing:
        return None
    order = {"result": 0, "action": 1, "task": 2, "situation": 3}
    missing = sorted(m.missing, key=lambda pb: order[pb[0]])
    picked = [missing[0]]
    rest = [pb for pb in missing[1:] if pb[0] != missing[0][0]] or missing[1:]
    picked += rest[:1]
    shown = [_describe(p, b, answer_text) for p, b in picked]
    more = len(missing) - len(shown)
    tail = f" (and {more} more point{'s' if more > 1 else ''})" if more else ""
    return f"You told your story '{m.story.title}' but left out: {' and '.join(shown)}{tail}."


# --------------------------------------------------------------------------- fit and values


_FAILURE_Q = re.compile(r"\b(?:fail\w*|mistake\w*|wrong|went badly|setback\w*|regret\w*)\b", re.I)
_KIND_FOR = {"teamwork": ("teamwork", "conflict", "stakeholder-management"),
             "leadership": ("leadership", "mentoring", "influence", "initiative"),
             "failure": ("failure", "learning")}


@lru_cache(maxsize=4096)
def fit(story: Story, question: Question) -> float:
    """0..1: how well a story can be tweaked to answer the question.

    Mostly shared competency tags, then the question's topic words found in
    the story (the frame of every question and words any work story uses left
    out), adjusted for the story's kind (a failure question needs a failure
    story).
    """
    qc, sc = set(question.competencies), set(story.competencies)
    comp = len(qc & sc) / len(qc) if qc else 0.0
    frame = {stem(w) for w in QUESTION_FRAME}
    topic = {s for s in _stems(question.text) if s not in frame and s not in COMMON_STEMS}
    ss = set(_stems(story.text()))
    words = len(topic & ss) / len(topic) if topic else 0.0
    score = 0.65 * comp + 0.35 * min(1.0, words * 2)
    wants_failure = "failure" in qc or bool(_FAILURE_Q.search(question.text))
    if wants_failure:
        score += 0.15 if story.kind == "failure" else (-0.05 if "failure" in sc else -0.3)
    elif story.kind in _KIND_FOR and qc & set(_KIND_FOR[story.kind]):
        score += 0.1
    return round(max(0.0, min(1.0, score)), 3)


def best_story(vault: Vault, question: Question) -> Optional[tuple[Story, float]]:
    scored = [(s, fit(s, question)) for s in vault.stories]
    if not scored:
        return None
    return max(scored, key=lambda t: t[1])
