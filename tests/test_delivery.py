"""Unit tests for the delivery stage: the contract's filler rule, hedges, pauses, pace.

Pure: no audio, no model.  Words are built from text the way Whisper gives
them (one Word per whitespace-separated token, punctuation attached).
"""

from __future__ import annotations

import pytest

from starcoach.model import COMPONENTS, Pause, Sentence, Span, Transcript, Word
from starcoach.speech.delivery import (
    component_seconds,
    compute_delivery,
    filler_word_indices,
    find_fillers,
    find_hedges,
)
from starcoach.speech.pauses import find_pauses


def words(text: str, start_s: float = 0.0, step_s: float = 0.4) -> list[Word]:
    """One Word per token, each ``step_s`` long, back to back."""
    return [Word(tok, start_s + k * step_s, start_s + (k + 1) * step_s) for k, tok in enumerate(text.split())]


def fillers(text: str) -> list[str]:
    return [f.word for f in find_fillers(words(text))]


def hedges(text: str) -> list[str]:
    return [h.word for h in find_hedges(words(text))]


# --------------------------------------------------------------------------- hesitation sounds


@pytest.mark.parametrize(
    "token, form",
    [
        ("um", "um"), ("Um,", "um"), ("Umm...", "um"), ("uhm", "um"), ("erm,", "um"),
        ("uh", "uh"), ("Uh,", "uh"), ("uhh", "uh"),
        ("er", "er"), ("Er,", "er"), ("err", "er"),
        ("ah", "ah"), ("Ahh,", "ah"),
        ("hmm", "hmm"), ("Hmm...", "hmm"), ("HM,", "hmm"), ("hm", "hmm"), ("Mm,", "hmm"), ("mm-hmm", "hmm"),
    ],
)
def test_hesitations_always_count_in_contract_form(token: str, form: str) -> None:
    assert fillers(f"So {token} we shipped it.") == [form]


def test_words_that_merely_contain_hesitation_letters_do_not_count() -> None:
    assert fillers("The umbrella team uses a hummingbird logo and an ahead-of-time compiler.") == []
    assert fillers("Hummus, huh, and ahem are not fillers here, nor is Erm-Street.") == []


def test_filler_start_time_is_its_first_word() -> None:
    ws = words("So, um, you know, it worked.", start_s=10.0, step_s=0.5)
    found = find_fillers(ws)
    assert [(f.word, f.start_s) for f in found] == [("um", 10.5), ("you know", 11.0)]


# --------------------------------------------------------------------------- "like"

LIKE_NOT_FILLER = [
    "I like working with data.",
    "I really like this team.",
    "We like to ship small changes.",
    "They didn't like the old tool.",
    "I would like to lead that project.",
    "I'd like to add one more thing.",
    "We'd like a faster build.",
    "It looks like the cache was stale.",
    "It looked like nobody owned the problem.",
    "That sounds like a plan.",
    "It seemed like the right call.",
    "The search felt like a maze.",
    "I feel like that was fair.",
    "Do you like it?",
    "Something like that happened twice.",
    "We saw nothing like it before.",
    "Just like the one our engineers used.",
    "Tools like Jira help.",
    "Companies like yours move fast.",
    "We need more people like her.",
    "I built a prototype like this one.",
    "Small tools like this one can change a team.",
    "It was like a maze in there.",
    "It is a lot like the old system.",
    "Like most teams, we had a backlog.",
    "It was kind of like a puzzle.",
    "What I liked most was the people.",
    "Customers were likely to churn.",
    "Unlike the old dashboard, it loads fast.",
    "It was like one of those weeks.",
    "She likes the new process.",
    "I would like it if we could.",
    # After "be", a simile goes on with what is compared, or compares an activity.
    "The new tool was like Jira, only faster.",
    "It was like working in the dark.",
    "That was like my first job.",
    "Our release was like nothing we had seen.",
    "We built it just like the mobile team did.",
]


@pytest.mark.parametrize("sentence", LIKE_NOT_FILLER)
def test_like_as_verb_or_preposition_is_not_a_filler(sentence: str) -> None:
    assert "like" not in fillers(sentence)


LIKE_FILLER = [
    ("My colleague wanted to, like, rewrite everything.", 1),
    ("So, like, we had no tests at all.", 1),
    ("Like, the whole team was tired.", 1),
    ("It took like two weeks.", 1),
    ("It took, like, ten days.", 1),
    ("We cut costs by like 40%.", 1),
    ("It was like super slow.", 1),
    ("And like we rebuilt the whole thing.", 1),
    ("I like rebuilt the pipeline in a week.", 1),
    ("We like went through every ticket.", 1),
    ("Um like they never called back.", 1),
    ("The tests were, like, flaky and, like, slow.", 2),
    ("In the end, like, all twelve services moved.", 1),
    ("It was, like, a third of the customers.", 1),
    # Whisper often writes these without the commas the speaker paused for.
    ("the build was like broken", 1),
    ("and then it just like changed", 1),
    ("The fix was like done in a day.", 1),
    ("So we were like stuck on the old version.", 1),
    ("The tickets were like piling up again.", 1),
    ("The dashboard was like real slow.", 1),
    ("She was like we cannot ship this.", 1),
    ("Our lead just like left the company.", 1),
    ("We had like no tests for the billing code.", 1),
]


@pytest.mark.parametrize("sentence, n", LIKE_FILLER)
def test_like_as_filler_counts(sentence: str, n: int) -> None:
    assert fillers(sentence).count("like") == n


def test_verb_heavy_answer_has_no_like_fillers() -> None:
    answer = (
        "I would like to talk about a project I really liked. Our support team did not like the old "
        "ticket tool, and it looked like nobody owned the problem. I asked what they would like. The "
        "search felt like a maze, so I built something that looked like the tool they knew, just like "
        "the one our engineers used. It seems like tools like this one help, and I'd like to keep doing it."
    )
    assert fillers(answer) == []


# --------------------------------------------------------------------------- phrases


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("We, you know, demoed every evening.", ["you know"]),
        ("It was hard, you know.", ["you know"]),
        ("You know, I never thought of that.", ["you know"]),
        ("And you know it was faster.", ["you know"]),
        ("I mean, I understood why.", ["i mean"]),
        ("So, I mean, the best example is this.", ["i mean"]),
        ("It was kind of slow.", ["kind of"]),
        ("I kind of panicked at first.", ["kind of"]),
        ("We sort of skipped the load tests.", ["sort of"]),
        ("It was kinda rushed.", ["kind of"]),
        ("Basically, I automated it.", ["basically"]),
        ("He actually thanked us.", ["actually"]),
        ("I literally printed it.", ["literally"]),
    ],
)
def test_phrase_fillers(sentence: str, expected: list[str]) -> None:
    assert fillers(sentence) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "Do you know what the target was?",
        "Did you know about the outage?",
        "As you know, we sell to banks.",
        "I will let you know tomorrow.",
        "You know how it is with legacy code.",
        "You know him from the last team.",
        "That is the kind of ownership I bring.",
        "What sort of team do you run?",
        "It was a new kind of problem.",
        "What I mean is that we were late.",
        "I mean it when I say that.",
        "We built the same sort of tool.",
    ],
)
def test_phrases_used_as_grammar_are_not_fillers(sentence: str) -> None:
    assert fillers(sentence) == []


def test_phrase_split_by_punctuation_is_not_the_phrase() -> None:
    assert fillers("Thank you, know that I tried.") == []


def test_mixed_answer_counts_each_filler_once_in_order() -> None:
    text = ("So, um, in my last role, uh, we were, like, moving to a new database. I mean, basically "
            "the team was, you know, kind of stuck. Hmm, we actually shipped it.")
    assert fillers(text) == ["um", "uh", "like", "i mean", "basically", "you know", "kind of", "hmm",
                             "actually"]


def test_filler_word_indices_cover_phrase_words() -> None:
    ws = words("So, um, you know, it worked.")
    assert filler_word_indices(ws) == {1, 2, 3}


# --------------------------------------------------------------------------- hedges


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("I think that shows ownership.", ["i think"]),
        ("Maybe we could have tested more.", ["maybe"]),
        ("It probably saved a week.", ["probably"]),
        ("I guess it worked out.", ["i guess"]),
        ("Perhaps I should have asked.", ["perhaps"]),
        ("It was somewhat faster, I suppose.", ["somewhat", "i suppose"]),
        ("I would say it helped.", ["i would say"]),
        ("I'm not sure it mattered.", ["i'm not sure"]),
    ],
)
def test_hedges(sentence: str, expected: list[str]) -> None:
    assert hedges(sentence) == expected


def test_hedges_exclude_verbs_and_kind_of() -> None:
    assert hedges("I think about latency a lot, and I believe in testing.") == []
    # kind of / sort of are fillers (contract), not double-counted as hedges.
    assert hedges("It was kind of slow and sort of flaky.") == []
    assert fillers("It was kind of slow and sort of flaky.") == ["kind of", "sort of"]


# --------------------------------------------------------------------------- pauses


def test_find_pauses_reports_silences_between_words_only() -> None:
    speech = [Span(0.0, 2.0), Span(3.5, 6.0), Span(6.4, 9.0), Span(11.0, 12.0), Span(15.0, 16.0)]
    # The words run from 0.2 s to 12.0 s: the silence before 15 s is after the last word.
    pauses = find_pauses(speech, first_word_start_s=0.2, last_word_end_s=12.0)
    assert pauses == (Pause(2.0, 1.5), Pause(9.0, 2.0))


def test_find_pauses_threshold_is_inclusive_and_configurable() -> None:
    speech = [Span(0.0, 1.0), Span(2.0, 3.0), Span(3.9, 5.0)]
    assert [p.duration_s for p in find_pauses(speech, 0.0, 5.0)] == [pytest.approx(1.0)]
    assert len(find_pauses(speech, 0.0, 5.0, min_pause_s=0.5)) == 2


def test_find_pauses_ignores_lead_in_and_clips_to_words() -> None:
    # A cough at 0-0.3 s, then 3 s of waiting, then the answer from 3.3 s.
    speech = [Span(0.0, 0.3), Span(3.3, 6.0), Span(7.5, 9.0)]
    assert find_pauses(speech, first_word_start_s=3.3, last_word_end_s=9.0) == (Pause(6.0, 1.5),)


def test_find_pauses_merges_overlapping_spans_and_sorts() -> None:
    speech = [Span(5.0, 8.0), Span(0.0, 3.0), Span(2.5, 4.0)]
    assert find_pauses(speech, 0.0, 8.0) == (Pause(4.0, 1.0),)


def test_find_pauses_empty_cases() -> None:
    assert find_pauses([], 0.0, 10.0) == ()
    assert find_pauses([Span(0, 1), Span(3, 4)], 5.0, 5.0) == ()


# --------------------------------------------------------------------------- compute_delivery


def _sentences() -> list[Sentence]:
    return [
        Sentence("So, um, the situation.", "situation", 0.0, 4.0),
        Sentence("My task was clear.", "task", 4.0, 6.5),
        Sentence("I did it.", "action", 6.5, 10.0),
        Sentence("Aside.", None, 10.0, 11.0),
        Sentence("More action.", "action", 11.0, 12.0),
    ]


def test_compute_delivery_pace_fillers_pauses_components() -> None:
    # 30 words over 12 s of speaking from 1.0 s to 13.0 s  -> 150 wpm.
    ws = words(" ".join(["So, um, we"] + ["shipped"] * 27), start_s=1.0, step_s=0.4)
    assert len(ws) == 30
    speech = (Span(0.9, 5.0), Span(6.5, 13.1))
    d = compute_delivery(Transcript(text="", words=tuple(ws), duration_s=14.0, speech=speech), _sentences())
    assert d.speaking_s == pytest.approx(12.0)
    assert d.wpm == pytest.approx(150.0)
    assert [f.word for f in d.fillers] == ["um"]
    assert d.pauses == (Pause(5.0, 1.5),)
    assert dict(d.component_s) == {"repeat": 0.0, "situation": 4.0, "task": 2.5, "action": 4.5,
                                   "result": 0.0, "link_back": 0.0}
    assert [name for name, _ in d.component_s] == list(COMPONENTS)
    j = d.to_json()
    assert j["fillers"]["total"] == 1 and j["fillers"]["counts"] == {"um": 1}
    assert j["longest_pause_s"] == 1.5 and j["wpm"] == 150.0


def test_compute_delivery_without_words() -> None:
    d = compute_delivery(Transcript(text="", words=(), duration_s=3.0, speech=()), [])
    assert (d.wpm, d.speaking_s, d.fillers, d.pauses) == (0.0, 0.0, (), ())
    assert d.to_json()["longest_pause_s"] == 0.0


def test_compute_delivery_counts_only_real_words_for_pace() -> None:
    ws = words("one two three ... four", step_s=1.0)  # the "..." token is not a word
    d = compute_delivery(Transcript(text="", words=tuple(ws), speech=(Span(0, 5),)), [])
    assert d.speaking_s == pytest.approx(5.0)
    assert d.wpm == pytest.approx(4 / 5 * 60)


def test_compute_delivery_falls_back_to_word_gaps_without_vad() -> None:
    ws = [Word("We", 0.0, 0.5), Word("shipped.", 0.5, 1.0),
          Word("Then", 3.0, 3.4), Word("stopped.", 3.4, 4.0)]
    d = compute_delivery(Transcript(text="", words=tuple(ws), speech=()), [])
    assert d.pauses == (Pause(1.0, 2.0),)


def test_component_seconds_ignores_untimed_sentences() -> None:
    got = dict(component_seconds([Sentence("x", "result", None, None), Sentence("y", "result", 1.0, 2.5)]))
    assert got["result"] == pytest.approx(1.5)


def test_delivery_is_pure_it_imports_no_audio_model_terminal_or_storage() -> None:
    import subprocess
    import sys

    forbidden = ("numpy", "rich", "sqlite3", "sounddevice", "faster_whisper", "av", "onnxruntime", "starcoach.capture")
    code = ("import sys; from starcoach.speech.delivery import compute_delivery; "
            "from starcoach.model import Transcript; compute_delivery(Transcript(text='', words=(), speech=()), []); "
            f"print(','.join(m for m in {forbidden!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"starcoach.speech.delivery imports {out}"
