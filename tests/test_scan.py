"""The judge counts a cue family only where it can match (judge/heads.py, judge/scan.py): every
count must be what searching the whole sentence gives, on the project's answers, on each
family's own examples and on texts made to be awkward."""

import random
import re
from pathlib import Path

import pytest

from starcoach.judge.cues import families, normalise
from starcoach.judge.evaluation import load_labelled
from starcoach.judge.heads import read
from starcoach.judge.pipeline import read_patterns, scanned, scanner
from starcoach.judge.readings import from_json, reading, shipped, to_json
from starcoach.judge.scan import Scanner
from starcoach.text import split_sentences

DATA = Path(__file__).resolve().parent / "data"
FAMILIES = families()
PATTERNS = [(k, re.compile(rx)) for k, rx in scanned(FAMILIES)]


def searched(text: str, start: int, end: int) -> dict[str, int]:
    """The counts by brute force: every pattern searched in the whole stretch."""
    out = {k: len(rx.findall(text, start, end)) for k, rx in PATTERNS}
    return {k: n for k, n in out.items() if n}


def check(sc: Scanner, text: str, start: int = 0, end: int = -1) -> None:
    end = len(text) if end < 0 else end
    assert sc.counts(text, start, end) == searched(text, start, end), (text[start:end], start)


def test_counts_equal_a_search_of_every_sentence_of_the_answers():
    sc = scanner(FAMILIES)
    n = 0
    for name in ("answers_dev.toml", "answers_heldout.toml", "answers_styles_a.toml"):
        for item in load_labelled(DATA / name):
            for text in (item.text, re.sub(r"[^\w\s']", "", item.text.lower())):
                norm = normalise(text)
                for p in split_sentences(text):
                    check(sc, norm, p.start, p.end)
                    n += 1
    assert n > 1000


def test_counts_equal_a_search_on_the_families_own_examples():
    sc = scanner(FAMILIES)
    for f in FAMILIES:
        for s in f.match + f.nomatch:
            check(sc, normalise(s))


def test_counts_equal_a_search_on_awkward_stretches():
    """Stretches that begin or end inside a word, odd characters, words glued by apostrophes,
    and many words the patterns begin with, next to each other."""
    sc = scanner(FAMILIES)
    vocab = sorted({w for f in FAMILIES for s in f.match for w in re.findall(r"[\w']+", normalise(s))})
    vocab += ["i", "we", "my", "was", "had", "20%", "$40k", "3", "x", "caf\u00e9", "na\u00efve", "_", "ed", "wanted"]
    # Each pattern's own words, and words that begin with them, so that its phrases turn up.
    own = [sorted({v for w in re.findall(r"[a-z]{2,}", rx.pattern) for v in (w, w + "ed", w + "s")})
           for _, rx in PATTERNS]
    seps = [" ", " ", " ", ", ", ". ", "'", "-", " \u2014 ", "? ", "\n"]
    rnd = random.Random(10)
    for _ in range(800):
        words = rnd.choice(own)
        text = "".join(rnd.choice(words if rnd.random() < 0.8 else vocab) + rnd.choice(seps)
                       for _ in range(rnd.randint(1, 30)))
        check(sc, text)
        a, b = sorted(rnd.randint(0, len(text)) for _ in range(2))
        check(sc, text, a, b)


def test_counts_equal_a_search_where_each_pattern_can_begin():
    """Texts that begin with each pair of words a pattern's matches can begin with (a word that only
    has to begin a certain way, lengthened), followed by more of the pattern's own words."""
    sc = scanner(FAMILIES)
    rnd = random.Random(11)
    for _, rx in PATTERNS:
        h = read(rx).heads
        own = re.findall(r"[a-z]{2,}", rx.pattern)
        for head in sorted(h.words) if h else ():
            words = [w if kind == "=" else w + rnd.choice(["", "ed", "ing", "s"]) for kind, w in head]
            text = " ".join(words + rnd.sample(own, min(len(own), 4)))
            check(sc, text)
            check(sc, "so " + text + ".")


def test_a_sentence_the_heads_rule_out_is_not_searched(monkeypatch):
    sc = Scanner([("scene", re.compile(r"\b(?:in my (?:last|first) role)\b"))])
    calls = []

    class Spy:
        def __init__(self, rx):
            self.rx = rx

        def match(self, *a):
            calls.append(a)
            return self.rx.match(*a)

        def findall(self, *a):
            calls.append(a)
            return self.rx.findall(*a)

    monkeypatch.setattr(sc, "regexes", (Spy(sc.regexes[0]),))
    assert sc.counts("we shipped it in our own time", 0, 29) == {}
    assert calls == []
    text = "in my last role, and in my first role"
    assert sc.counts(text, 0, len(text)) == {"scene": 2}
    assert len(calls) == 2


@pytest.mark.parametrize("pattern, words, chars", [
    (r"\b(?:in my (?:last|first) role)\b", {(("=", "in"), ("=", "my"))}, None),
    (r"\b(?:(?:just |so )?to clarify|you'?re asking)\b",
     {(("=", "just"), ("=", "to")), (("=", "so"), ("=", "to")), (("=", "to"), ("=", "clarify")),
      (("=", "you"), ("=", "re")), (("=", "youre"), ("=", "asking"))}, None),
    (r"\b(?:(?:reduc|increas)\w*)\b", {(("^", "reduc"),), (("^", "increas"),), (("=", "reduc"),), (("=", "increas"),)},
     None),
    (r"\b(?:was (?:\w+ ){0,2}on me)\b", {(("=", "was"),), (("=", "was"), ("=", "on"))}, None),
    (r"\$\d|\b(?:two|three) days\b", {(("=", "two"), ("=", "days")), (("=", "three"), ("=", "days"))}, r"\$"),
    (r"\d+%", set(), r"\d"),
])
def test_heads_read_from_a_pattern(pattern, words, chars):
    h = read(re.compile(pattern)).heads
    assert h is not None and set(h.words) == words
    assert (h.chars.pattern if h.chars else None) == (f"[{chars}]" if chars else None)


@pytest.mark.parametrize("pattern", [r".x", r"(?i)\bfoo\b", r"[^a]b", r"\b(?:x?)", r"\b(?:y|.x)"])
def test_patterns_whose_start_cannot_be_told_are_searched_everywhere(pattern):
    assert read(re.compile(pattern)).heads is None
    assert Scanner([("p", re.compile(pattern))]).searched_everywhere == ("p",)


@pytest.mark.parametrize("pattern, whole", [
    (r"\b(?:\w{3,}ed|built|made)\b", True),
    (r"\b(?:value|values|align\w*)\b", True),
    (r"\bi\b|\bi'm\b", False),  # "i'm" is two words
    (r"\b\w*\b", False),  # matches nothing between two words
    (r"\b(?:used to)\b", False),
])
def test_whole_word_patterns(pattern, whole):
    assert read(re.compile(pattern)).whole_word is whole


def test_the_shipped_readings_are_what_the_patterns_read_now():
    """readings.json (scripts/build_data.py) holds the reading of every pattern the scanner
    counts and of each family's alternatives, as ``read`` makes it from the pattern now, and
    nothing else."""
    sources = read_patterns(FAMILIES)
    assert {rx.pattern for _, rx in PATTERNS} < set(sources)
    same = shipped() == {src: to_json(read(re.compile(src))) for src in sources}
    assert same, "judge/readings.json is stale: run scripts/build_data.py"
    for src in sources:
        assert from_json(shipped()[src]) == read(re.compile(src))
        assert reading(src) == reading(re.compile(src)) == read(re.compile(src))


def test_a_family_is_its_alternatives_tried_in_order():
    """At every position a family's first match is the first match of its alternatives, tried in
    order: what lets the scanner compile only the alternatives that can begin at a word."""
    rnd = random.Random(12)
    split = [f for f in FAMILIES if f.alternatives]
    assert len(split) > 15
    for f in split:
        alts = [re.compile(a) for a in f.alternatives]
        texts = [normalise(s) for s in f.match + f.nomatch]
        for text in texts + [" ".join(rnd.sample(texts, min(3, len(texts))))]:
            for p in range(len(text) + 1):
                whole = f.regex.match(text, p)
                first = next((m for m in (a.match(text, p) for a in alts) if m), None)
                assert (whole and whole.span()) == (first and first.span()), (f.id, text, p)


def test_a_pattern_tried_as_alternatives_compiles_only_those_that_can_begin_at_the_words():
    alts = (r"\b(?:in my (?:last|first) role)\b", r"\b(?:at my old job)\b", r"\b(?:back then)\b")
    whole = r"\b(?:in my (?:last|first) role|at my old job|back then)\b"
    sc = Scanner([("scene", whole)], [alts])
    text = "back then, at my old job, in my first role"
    assert sc.counts(text, 0, len(text)) == {"scene": 3}
    assert dict(sc.regexes) == {}  # the whole pattern was never needed
    sc = Scanner([("scene", whole)], [alts])
    assert sc.counts("so back then we did", 0, 19) == {"scene": 1}
    assert sorted(sc._alternatives) == [(0, 2)]


def test_a_pattern_not_shipped_is_read_from_itself():
    rx = r"\b(?:in my (?:last|first) post)\b"
    assert rx not in shipped()
    assert reading(rx) == read(re.compile(rx))
    flagged = re.compile(r"\bi\b|\bmy\b|\bme\b", re.IGNORECASE)  # a shipped pattern, with a flag
    assert reading(flagged).heads is None


def test_a_pattern_given_as_a_string_is_compiled_when_a_stretch_needs_it():
    sc = Scanner([("scene", r"\b(?:in my (?:last|first) role)\b"), ("money", r"\$\d+"),
                  ("past", r"\b(?:\w+ed|made)\b")])
    assert dict(sc.regexes) == {}
    assert sc.counts("so in our own time", 0, 18) == {}
    assert sorted(sc.regexes) == [2]  # a whole-word pattern is tried on each new word; no other had to be
    text = "i paid $40 in my last role"
    assert sc.counts(text, 0, len(text)) == {"scene": 1, "money": 1}
    assert sorted(sc.regexes) == [0, 1, 2]
    assert sc.regexes[0] is re.compile(r"\b(?:in my (?:last|first) role)\b")
