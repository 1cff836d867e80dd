"""A company's values as evidence: which words and phrases of a closing point at which value.

Built once per company from its profile (question_banks/companies/*.toml):
each value's name, cue phrases and the words of its meaning, weighted by how
specific they are.  Words any work story uses ("team", "always", "think")
never count on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

from starcoach.banks import Company
from starcoach.text import content_stems, stem, tokens

#: Grammar words: a pair of name words with one of these ("a plan", "the room")
#: is too common to point at a value.
FUNCTION_STEMS = frozenset(stem(w) for w in """
a an the of at to for in on and or but not we are be is it our you your with by as from
""".split())

#: Words too common in any answer to count as evidence for a value on their
#: own ("I think" is not "Think Big"); they still count inside a cue phrase.
GENERIC_VALUE_WORDS = frozenset(stem(w) for w in """
we are be our you your the a an of to and work working thing things people make always every think big right
lot great good one day better best first small start get take go come know want need like time way new use look
really just also more most much well even still every each together first team teams
""".split())

#: Weights of the evidence kinds (hand-set; the judge's fitted weights decide
#: how much the total counts for a link back).
NAME_PHRASE_W, NAME_WORD_W, NAME_PAIR_W = 1.8, 0.8, 1.2
CUE_PHRASE_W, CUE_WORD_W, MEANING_WORD_W, MEANING_CAP = 1.0, 0.6, 0.2, 0.4


@dataclass(frozen=True)
class ValueLexicon:
    """A company's value cues indexed by first stem, for one pass per sentence."""

    names: tuple[str, ...]
    #: first stem -> list of (value index, stems, weight)
    index: dict[str, list[tuple[int, tuple[str, ...], float]]]
    company_stems: frozenset[str]
    #: two consecutive words of a value's name (stop words included) -> values
    name_pairs: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, company: Company) -> "ValueLexicon":
        index: dict[str, list[tuple[int, tuple[str, ...], float]]] = {}

        def add(vi: int, phrase: str, weight: float) -> None:
            stems = tuple(content_stems(phrase))
            if stems:
                index.setdefault(stems[0], []).append((vi, stems, weight))

        company_stems = frozenset(stem(t) for t in tokens(company.name) + [company.id])
        pairs: dict[tuple[str, str], set[int]] = {}
        for vi, v in enumerate(company.values):
            # "One Microsoft": saying "Microsoft" ties to the company, not to this value.
            name_stems = [s for s in content_stems(v.name) if s not in GENERIC_VALUE_WORDS
                          and not any(s.startswith(c) for c in company_stems)]
            if name_stems:
                add(vi, " ".join(name_stems), NAME_PHRASE_W if len(name_stems) > 1 else 1.5)
                for s in name_stems:
                    add(vi, s, NAME_WORD_W)
            # Two words of the name in a row ("one team" of "We are one team") are
            # strong evidence even when each word alone is too common to count.
            whole = [stem(t) for t in tokens(v.name)]
            for a, b in zip(whole, whole[1:]):
                if any(x.startswith(c) for x in (a, b) for c in company_stems):
                    continue
                if a in FUNCTION_STEMS or b in FUNCTION_STEMS:
                    continue
                pairs.setdefault((a, b), set()).add(vi)
            for cue in v.cues:
                stems = content_stems(cue)
                if len(stems) == 1 and stems[0] in GENERIC_VALUE_WORDS:
                    continue
                add(vi, cue, CUE_PHRASE_W if len(stems) > 1 else CUE_WORD_W)
            for s in set(content_stems(v.meaning)) - GENERIC_VALUE_WORDS:
                add(vi, s, MEANING_WORD_W)
        return cls(names=tuple(v.name for v in company.values), index=index, company_stems=company_stems,
                   name_pairs={k: tuple(sorted(v)) for k, v in pairs.items()})

    def scores(self, stems: Sequence[str], all_stems: Sequence[str] = ()) -> list[float]:
        """Evidence per value in a sentence: ``stems`` are its content stems, ``all_stems`` every word's."""
        out = [0.0] * len(self.names)
        weak = [0.0] * len(self.names)
        matched: set[tuple[int, tuple[str, ...]]] = set()
        n = len(stems)
        for i, s in enumerate(stems):
            for vi, pat, w in self.index.get(s, ()):
                k = len(pat)
                if k == 1 or (i + k <= n and tuple(stems[i:i + k]) == pat):
                    key = (vi, pat)
                    if key not in matched:
                        matched.add(key)
                        if w < 0.5:
                            weak[vi] += w
                        else:
                            out[vi] += w
        named: set[int] = set()
        for pair in zip(all_stems, all_stems[1:]):
            named.update(self.name_pairs.get(pair, ()))
        for vi in named:
            out[vi] += NAME_PAIR_W
        # Words of a value's explanation are weak evidence: only a little of it counts.
        return [o + min(wk, MEANING_CAP) for o, wk in zip(out, weak)]


@lru_cache(maxsize=64)
def lexicon(company: Company) -> ValueLexicon:
    """The company's value lexicon, built once per company (companies are frozen)."""
    return ValueLexicon.build(company)
