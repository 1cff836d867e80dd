"""Every cue family and question concept matches the examples it must and does not match the others."""

import json
import re
from pathlib import Path

import pytest

from starcoach.judge.checks import concepts, question_concepts
from starcoach.judge.cues import families, normalise

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

CUES = Path(__file__).resolve().parents[1] / "src" / "starcoach" / "judge" / "cues"
FAMILIES = families()


@pytest.mark.parametrize("fam", FAMILIES, ids=[f.id for f in FAMILIES])
def test_family_matches_its_examples_and_not_its_counter_examples(fam):
    assert fam.match and fam.nomatch, f"{fam.id} needs examples both ways"
    for s in fam.match:
        assert fam.count(normalise(s)) > 0, (fam.id, s)
    for s in fam.nomatch:
        assert fam.count(normalise(s)) == 0, (fam.id, s)


def test_a_family_is_compiled_when_first_used_and_once():
    from starcoach.judge.cues import families as read_families

    fresh = read_families.__wrapped__("en")
    assert all("regex" not in f.__dict__ for f in fresh)
    f = fresh[0]
    assert f.count(normalise(f.match[0])) > 0
    assert f.regex is f.regex and f.regex.pattern == f.pattern
    assert all("regex" not in g.__dict__ for g in fresh[1:])


def test_family_ids_are_unique_and_documented():
    ids = [f.id for f in FAMILIES]
    assert len(ids) == len(set(ids))
    assert all(f.about for f in FAMILIES)


CONCEPTS = tomllib.loads((CUES / "concepts_en.toml").read_text(encoding="utf-8"))["concept"]


@pytest.mark.parametrize("name", sorted(CONCEPTS))
def test_concept_markers_match_their_examples(name):
    _, answer_rx = concepts()[name]
    for s in CONCEPTS[name]["match"]:
        assert answer_rx.search(normalise(s)), (name, s)
    for s in CONCEPTS[name]["nomatch"]:
        assert not answer_rx.search(normalise(s)), (name, s)


@pytest.mark.parametrize("name", sorted(CONCEPTS))
def test_concept_questions_raise_only_their_concepts(name):
    for q in CONCEPTS[name].get("question_match", ()):
        assert name in question_concepts(q), (name, q)
    for q in CONCEPTS[name].get("question_nomatch", ()):
        assert name not in question_concepts(q), (name, q)


def test_no_pattern_has_a_literal_backslash_before_a_letter():
    # A doubled backslash before a letter matches a backslash, not a word character: a dead marker.
    doubled = re.compile(r"\\\\[a-z]")
    fams = tomllib.loads((CUES / "en.toml").read_text(encoding="utf-8"))["family"]
    patterns = [p for f in fams for p in f["patterns"]] + [v[k] for v in CONCEPTS.values() for k in ("question", "answer")]
    assert len(patterns) > 100
    for p in patterns:
        assert not doubled.search(p), p


def test_weights_name_only_features_the_families_can_produce():
    w = json.loads((CUES.parent / "weights.json").read_text(encoding="utf-8"))
    ids = {f"cue:{f.id}" for f in FAMILIES}
    for label, coef in w["coef"].items():
        for name in coef:
            if name.startswith("cue:"):
                assert name in ids, (label, name)


def test_no_family_repeats_a_pattern():
    for f in tomllib.loads((CUES / "en.toml").read_text(encoding="utf-8"))["family"]:
        assert len(f["patterns"]) == len(set(f["patterns"])), f["id"]


# ---------------------------------------------------------------- a play-back folded into the story's first sentence

from starcoach.judge import analyse  # noqa: E402
from starcoach.judge.pipeline import echo_split, topic_stems  # noqa: E402
from starcoach.text import Piece  # noqa: E402


def _cut(question: str, sentence: str) -> list[str]:
    return [sentence[p.start:p.end] for p in echo_split(sentence, Piece(0, len(sentence)), frozenset(topic_stems(question)))]


@pytest.mark.parametrize("question,sentence,head", [
    ("Tell me about a migration you planned.",
     "The biggest migration I planned last year was moving our ledger off a rented mainframe.",
     "The biggest migration I planned last year was"),
    ("Describe a time you showed patience with a customer.",
     "At the hardware store I showed real patience with a customer as the only person on the till that night.",
     "At the hardware store I showed real patience with a customer"),
])
def test_a_play_back_folded_into_the_first_sentence_is_cut_off(question, sentence, head):
    parts = _cut(question, sentence)
    assert parts[0] == head and len(parts) == 2 and sentence.endswith(parts[1])


@pytest.mark.parametrize("question,sentence", [
    # The question's words are used, but what follows is the story's own verb phrase.
    ("Tell me about a project you led.", "I led a project to move our invoices to a hosted system over one summer."),
    # Before "as" one question word is not enough.
    ("Describe a time you showed patience with a customer.",
     "A customer shouted at me as I was closing the shop on a Sunday evening."),
    # No question word at all in the lead.
    ("Tell me about a migration you planned.", "Our warehouse was where the old scanners lived for years."),
    # The speaker's own method, stated, is not the question played back.
    ("How do you deal with flaky tests?", "My way of dealing with flaky tests is to quarantine them and fix two of them every week."),
    # A comma after an opening that is a sentence, not a noun phrase, is no turn to the story.
    ("Tell me about a time you pushed back on a senior colleague.",
     "I pushed back on our director once, the example I'd pick is about a launch date."),
])
def test_a_sentence_that_does_not_play_the_question_back_stays_whole(question, sentence):
    assert _cut(question, sentence) == [sentence]


@pytest.mark.parametrize("question,sentence,head", [
    ("Tell me about a time you pushed back on a senior colleague.",
     "Pushing back on someone more senior and how it went, the example I'd pick is from my second year at the bank.",
     "Pushing back on someone more senior and how it went"),
    ("Tell me about a plan that fell apart.",
     "Oh, a plan that fell apart — sure, the warehouse move in my first job is the one.",
     "Oh, a plan that fell apart"),
])
def test_a_noun_phrase_play_back_is_cut_at_the_comma_or_dash_that_turns_to_the_story(question, sentence, head):
    parts = _cut(question, sentence)
    assert parts[0] == head and len(parts) == 2 and sentence.endswith(parts[1])


def test_a_general_claim_or_the_question_s_frame_alone_is_never_a_play_back():
    from starcoach.judge.pipeline import featurise

    q = "Tell me about a time you handled an angry customer."
    fz = featurise("I've handled plenty of angry callers over the years. Early on at a depot a client rang about a "
                   "lost pallet. I traced it in the logs and called him back. He kept his contract.", q, None)
    assert fz.repeat_ok[0] is False
    # "time" is in every such question: sharing it alone plays nothing back.
    fz = featurise("I was studying and working nights at the same time. My manager let me run the archive service. "
                   "I lost a week of files by not testing the write path.",
                   "Tell me about a time when you really messed up.", None)
    assert fz.repeat_ok[0] is False


def test_a_habit_taken_up_after_the_story_is_a_lesson_not_its_result():
    a = analyse("Our nightly job had started missing its window. I profiled each step and found one query scanning "
                "the whole table. I added an index and split the load into batches. "
                "Ever since, I've checked query plans before every release.",
                question="Tell me about a time you improved a process.")
    assert a.sentences[-1].component != "result"


def test_the_cut_off_play_back_is_credited_as_the_repeat():
    q = "Tell me about a migration you planned."
    a = analyse("The biggest migration I planned last year was moving our ledger off a rented mainframe. "
                "I wrote the cut-over plan and rehearsed it twice with the finance team. "
                "We switched over in one weekend with no lost entries.", question=q)
    assert a.structure["repeat"].present and a.sentences[0].component == "repeat"
    assert a.sentences[1].component == "situation"


# ---------------------------------------------------------------- value themes: a value paraphrased, not named

from starcoach.catalogue.themes import themes  # noqa: E402
from starcoach.judge.lexicon import GENERIC_VALUE_WORDS, KINDS, lexicon  # noqa: E402
from starcoach.text import content_stems, stem, tokens  # noqa: E402


@pytest.mark.parametrize("theme", sorted(themes()))
def test_every_theme_entry_can_match(theme):
    """An entry the lexicon would drop (only generic words) is dead data."""
    for entry in themes()[theme]:
        words = tokens(entry)
        strong = [x for x in content_stems(entry) if x not in GENERIC_VALUE_WORDS]
        assert strong or len(words) >= 3, f"{theme}: {entry!r} says too little to count"


def _theme_evidence(theme: str, sentence: str) -> int:
    """How many of a theme's words a sentence shows, for a value tagged with that theme alone."""
    from pathlib import Path

    from starcoach.catalogue.banks import Company, CompanyValue
    from starcoach.judge.lexicon import ValueLexicon

    value = CompanyValue(id="v", name="Qzx", meaning="", cues=(), themes=(theme,))
    lex = ValueLexicon.build(Company(id="qzx", name="Qzx", summary="", values=(value,), path=Path(".")))
    _, counts = lex.evidence(content_stems(sentence), [stem(t) for t in tokens(sentence)])
    return counts[0][KINDS.index("theme_phrase")] + counts[0][KINDS.index("theme_word")] if counts[0] else 0


@pytest.mark.parametrize("theme", sorted(themes()))
def test_theme_words_find_their_examples_and_not_the_others(theme):
    from starcoach.catalogue.themes import theme_examples

    match, nomatch = theme_examples()[theme]
    assert match and nomatch, f"{theme}: give match and nomatch examples"
    for s in match:
        assert _theme_evidence(theme, s) >= 1, (theme, s)
    for s in nomatch:
        assert _theme_evidence(theme, s) == 0, (theme, s)


def test_theme_evidence_is_only_for_the_theme_the_value_is_tagged_with():
    s = "We hit setback after setback and refused to give up."
    assert _theme_evidence("perseverance", s) >= 1
    assert _theme_evidence("frugality", s) == 0


def test_a_paraphrased_value_is_evidence_for_it_through_its_theme():
    from starcoach.catalogue.banks import load_catalogue

    uber = load_catalogue().companies["uber"]
    lex = lexicon(uber)
    s = "We pushed through setback after setback and refused to give up, which is how I would work."
    scores, counts = lex.evidence(content_stems(s), [stem(t) for t in tokens(s)])
    names = [v.name for v in uber.values]
    best = names[max(range(len(scores)), key=scores.__getitem__)]
    assert best == "We persevere"
    vi = names.index("We persevere")
    assert counts[vi][KINDS.index("theme_phrase")] >= 1  # "pushed through", "refused to give up"


def test_a_closing_tied_to_nothing_is_never_a_link_back():
    from starcoach.judge.pipeline import featurise

    story = ("In my second year at a print shop our biggest order came back smudged. I reran it overnight on the "
             "spare press and drove the boxes over myself before nine. ")
    untied = featurise(story + "The owner thanked me, and it brought the whole crew closer together.", None, None)
    assert untied.link_ok[-1] is False
    a = analyse(story + "The owner thanked me, and it brought the whole crew closer together.")
    assert not a.structure["link_back"].present
    tied = featurise(story + "Owning a problem like that is why I'm applying for this print operations role.", None, None)
    assert tied.link_ok[-1] is True


def test_a_task_told_inside_the_scene_sentence_counts_for_both():
    a = analyse("In my second week as a shift lead at a parcel depot, the site manager asked me to get the late "
                "vans down before the winter rush. I walked the loading bays each morning and moved two drivers "
                "to the early shift. By December only one van in twenty left late.",
                question="Tell me about a time you improved how your team worked.")
    assert a.sentences[0].component == "situation"
    assert a.structure["situation"].present and a.structure["task"].present
    assert a.structure["task"].evidence == a.sentences[0].text
