"""A company's values as evidence: which words and phrases of a closing point at which value.

Built once per company from its profile (question_banks/companies/*.toml):
each value's name, cue phrases and the words of its meaning, weighted by how
specific they are.  Words any work story uses ("team", "always", "think")
never count on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Sequence

from starcoach.catalogue.banks import Company
from starcoach.catalogue.themes import themes
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
really just also more most much well even still each together team teams value values core principle
principles culture
""".split())

#: The kinds of evidence for a value, and what each weighs in the summary score
#: (hand-set; the sentence model and the value model in weights.json are fitted
#: on top of them).  A one-word name counts as a name phrase of weight 1.5.
KINDS = ("name_phrase", "name_word", "name_pair", "cue_phrase", "cue_word", "meaning", "theme_phrase", "theme_word")
KIND_WEIGHTS = {"name_phrase": 1.8, "name_word": 0.8, "name_pair": 1.2, "cue_phrase": 1.0, "cue_word": 0.6,
                "meaning": 0.2, "theme_phrase": 0.8, "theme_word": 0.4}
MEANING_CAP = 0.4


@dataclass(frozen=True)
class ValueLexicon:
    """A company's value cues indexed by first stem, for one pass per sentence."""

    names: tuple[str, ...]
    #: first stem -> list of (value index, stems, kind, weight)
    index: dict[str, list[tuple[int, tuple[str, ...], str, float]]]
    company_stems: frozenset[str]
    #: two consecutive words of a value's name (stop words included) -> values
    name_pairs: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    #: first stem of a theme phrase (every word stemmed) -> (value, the phrase's stems)
    theme_phrases: dict[str, list[tuple[int, tuple[str, ...]]]] = field(default_factory=dict)
    #: first stem -> (value, every word of its name stemmed), for the values whose name has no
    #: word or pair of words that counts ("We, not I", "Are Right, A Lot"): said word for word,
    #: such a name is named.
    whole_names: dict[str, list[tuple[int, tuple[str, ...]]]] = field(default_factory=dict)

    @classmethod
    def build(cls, company: Company) -> "ValueLexicon":
        index: dict[str, list[tuple[int, tuple[str, ...], str, float]]] = {}

        def add(vi: int, stems: Sequence[str], kind: str, weight: float) -> None:
            # ``stems`` are stemmed already: stemming twice is not idempotent ("obsess" -> "obses").
            if stems:
                index.setdefault(stems[0], []).append((vi, tuple(stems), kind, weight))

        company_stems = frozenset(stem(t) for t in tokens(company.name) + [company.id])
        theme_words = themes()
        phrases: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        pairs: dict[tuple[str, str], set[int]] = {}
        wholes: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for vi, v in enumerate(company.values):
            # "One Microsoft": saying "Microsoft" ties to the company, not to this value.
            name_stems = [s for s in content_stems(v.name) if s not in GENERIC_VALUE_WORDS
                          and not any(s.startswith(c) for c in company_stems)]
            if name_stems:
                add(vi, name_stems, "name_phrase", KIND_WEIGHTS["name_phrase"] if len(name_stems) > 1 else 1.5)
                for s in name_stems:
                    add(vi, (s,), "name_word", KIND_WEIGHTS["name_word"])
            # Two words of the name in a row ("one team" of "We are one team") are
            # strong evidence even when each word alone is too common to count.
            whole = [stem(t) for t in tokens(v.name)]
            for a, b in zip(whole, whole[1:]):
                if any(x.startswith(c) for x in (a, b) for c in company_stems):
                    continue
                if a in FUNCTION_STEMS or b in FUNCTION_STEMS:
                    continue
                pairs.setdefault((a, b), set()).add(vi)
            said = [x for x in whole if not any(x.startswith(c) for c in company_stems)]
            if not name_stems and not any(vi in vs for vs in pairs.values()) and len(said) >= 3:
                wholes.setdefault(said[0], []).append((vi, tuple(said)))
            for cue in v.cues:
                stems = content_stems(cue)
                if len(stems) == 1 and stems[0] in GENERIC_VALUE_WORDS:
                    continue
                kind = "cue_phrase" if len(stems) > 1 else "cue_word"
                add(vi, stems, kind, KIND_WEIGHTS[kind])
            for s in sorted(set(content_stems(v.meaning)) - GENERIC_VALUE_WORDS):
                add(vi, (s,), "meaning", KIND_WEIGHTS["meaning"])
            # Words people use for the value's kind without naming it (catalogue/themes_en.toml).
            # A phrase is matched on every word's stem ("stuck with it", "spoke up"), so
            # it needs a word that is not generic, or three words ("the right thing").
            for theme in v.themes:
                for entry in theme_words.get(theme, ()):
                    words = tokens(entry)
                    strong = [x for x in content_stems(entry) if x not in GENERIC_VALUE_WORDS]
                    if len(words) > 1:
                        if strong or len(words) >= 3:
                            full = tuple(stem(w) for w in words)
                            phrases.setdefault(full[0], []).append((vi, full))
                    elif strong:
                        add(vi, strong, "theme_word", KIND_WEIGHTS["theme_word"])
        return cls(names=tuple(v.name for v in company.values), index=index, company_stems=company_stems,
                   name_pairs={k: tuple(sorted(v)) for k, v in pairs.items()}, theme_phrases=phrases,
                   whole_names=wholes)

    def evidence(self, stems: Sequence[str], all_stems: Sequence[str] = ()
                 ) -> tuple[tuple[float, ...], tuple[tuple[int, ...], ...]]:
        """Per value, the evidence in a sentence as one number, and as counts of each kind (KINDS order).

        ``stems`` are its content stems, ``all_stems`` every word's (for name pairs)."""
        stems, all_stems = list(stems), list(all_stems)
        # Most sentences name no value at all: only what can be there is looked for.
        any_index = not self._index_keys.isdisjoint(stems)
        any_phrase = not self._phrase_keys.isdisjoint(all_stems)
        any_pair = not self._pair_keys.isdisjoint(all_stems)
        any_whole = bool(self.whole_names) and not self.whole_names.keys().isdisjoint(all_stems)
        if not (any_index or any_phrase or any_pair or any_whole):
            return self._nothing
        nv = len(self.names)
        out = [0.0] * nv
        weak = [0.0] * nv
        counts: dict[int, list[int]] = {}  # only the values with evidence
        matched: set[tuple[int, tuple[str, ...]]] = set()
        if any_index:
            n = len(stems)
            index = self._index_rows
            for i, s in enumerate(stems):
                entries = index.get(s)
                if entries is None:
                    continue
                for vi, pat, rest, k, ki, w, meaning in entries:
                    if k == 1 or (i + k <= n and stems[i + 1:i + k] == rest):
                        key = (vi, pat)
                        if key not in matched:
                            matched.add(key)
                            c = counts.get(vi)
                            if c is None:
                                c = counts[vi] = [0] * len(KINDS)
                            c[ki] += 1
                            if meaning:
                                weak[vi] += w
                            else:
                                out[vi] += w
        if any_phrase:
            # Every theme phrase weighs the same, so the order they are found in changes no sum.
            m_all = len(all_stems)
            phrases = self._phrase_rows
            ki, w = _KIND_INDEX["theme_phrase"], KIND_WEIGHTS["theme_phrase"]
            for i, s in enumerate(all_stems):
                entries = phrases.get(s)
                if entries is None:
                    continue
                for pat, rest, k, values in entries:
                    if i + k <= m_all and all_stems[i + 1:i + k] == rest:
                        for vi in values:
                            if (vi, pat) not in matched:
                                matched.add((vi, pat))
                                c = counts.get(vi)
                                if c is None:
                                    c = counts[vi] = [0] * len(KINDS)
                                c[ki] += 1
                                out[vi] += w
        if any_pair:
            named: set[int] = set()
            for pair in zip(all_stems, all_stems[1:]):
                named.update(self.name_pairs.get(pair, ()))
            ki = _KIND_INDEX["name_pair"]
            for vi in named:
                out[vi] += KIND_WEIGHTS["name_pair"]
                c = counts.get(vi)
                if c is None:
                    c = counts[vi] = [0] * len(KINDS)
                c[ki] += 1
        if any_whole:
            ki = _KIND_INDEX["name_phrase"]
            for i, s in enumerate(all_stems):
                for vi, pat in self.whole_names.get(s, ()):
                    if tuple(all_stems[i:i + len(pat)]) == pat and (vi, pat) not in matched:
                        matched.add((vi, pat))
                        out[vi] += KIND_WEIGHTS["name_phrase"]
                        c = counts.get(vi)
                        if c is None:
                            c = counts[vi] = [0] * len(KINDS)
                        c[ki] += 1
        # The words of a value's explanation are weak evidence: only a little of them counts.
        scores, kinds = list(self._nothing[0]), list(self._nothing[1])
        for vi, c in counts.items():
            scores[vi] = out[vi] + min(weak[vi], MEANING_CAP)
            kinds[vi] = tuple(c)
        return tuple(scores), tuple(kinds)

    @cached_property
    def _index_rows(self) -> dict[str, tuple]:
        """``index`` with what matching needs worked out: (value, stems, the stems after the
        first as a list, how many, the kind's place in KINDS, weight, is it a word of the meaning)."""
        return {first: tuple((vi, pat, list(pat[1:]), len(pat), _KIND_INDEX[kind], w, kind == "meaning")
                             for vi, pat, kind, w in entries)
                for first, entries in self.index.items()}

    @cached_property
    def _phrase_rows(self) -> dict[str, tuple]:
        """``theme_phrases`` by phrase: (stems, the stems after the first as a list, how many, values)."""
        out: dict[str, tuple] = {}
        for first, entries in self.theme_phrases.items():
            by_phrase: dict[tuple[str, ...], list[int]] = {}
            for vi, pat in entries:
                by_phrase.setdefault(pat, [])
                if vi not in by_phrase[pat]:
                    by_phrase[pat].append(vi)
            out[first] = tuple((pat, list(pat[1:]), len(pat), tuple(vs)) for pat, vs in by_phrase.items())
        return out

    @cached_property
    def _index_keys(self) -> frozenset[str]:
        return frozenset(self.index)

    @cached_property
    def _phrase_keys(self) -> frozenset[str]:
        return frozenset(self.theme_phrases)

    @cached_property
    def _pair_keys(self) -> frozenset[str]:
        return frozenset(a for a, _ in self.name_pairs)

    @cached_property
    def _nothing(self) -> tuple[tuple[float, ...], tuple[tuple[int, ...], ...]]:
        """What ``evidence`` gives for a sentence with none: zero for every value and kind."""
        return (tuple(0.0 + min(0.0, MEANING_CAP) for _ in self.names), tuple((0,) * len(KINDS) for _ in self.names))


_KIND_INDEX = {k: i for i, k in enumerate(KINDS)}


@lru_cache(maxsize=64)
def lexicon(company: Company) -> ValueLexicon:
    """The company's value lexicon, built once per company (companies are frozen)."""
    return ValueLexicon.build(company)
