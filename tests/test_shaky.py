"""Words the speech model was unsure of: shown dim, never the only evidence of a part, and a poor
transcript said to be poor."""

from __future__ import annotations

from starcoach.export.html_page import transcript_html
from starcoach.model import UNSURE_BELOW, Transcript, Word
from starcoach.pipeline.process import analyse_transcript
from starcoach.shaky import POOR_SHARE, SHAKY_BELOW, shaky_share
from starcoach.views.report import transcript_text

ANSWER = ("Last year I was the only tester at a small logistics firm. "
          "Our delivery app crashed every night after the update. "
          "I traced the crash to a memory leak in the map screen and I fixed it myself. "
          "After the fix the crashes stopped and ratings went up by a full star.")


def transcript(unsure: set[int], p_low: float = 0.2) -> Transcript:
    """ANSWER with word i said at 0.4 s steps; the words in ``unsure`` at probability ``p_low``."""
    words = tuple(Word(" " + w, 0.4 * i, 0.4 * i + 0.3, p_low if i in unsure else 0.95)
                  for i, w in enumerate(ANSWER.split()))
    return Transcript(text=ANSWER, words=words, duration_s=0.4 * len(words) + 1.0,
                      speech=())


def opening_words() -> set[int]:
    """The first two sentences: the situation."""
    return set(range(len(" ".join(ANSWER.split(". ")[:2]).split())))


def test_a_part_heard_only_in_unsure_words_is_marked_unsure():
    clear = analyse_transcript(transcript(set()), input="a.wav", question=None, company=None)
    assert clear.structure["situation"].present and clear.structure["situation"].confidence >= UNSURE_BELOW
    shaky = analyse_transcript(transcript(opening_words()), input="a.wav", question=None, company=None)
    s = shaky.structure["situation"]
    assert s.present and s.confidence < UNSURE_BELOW  # still found, but shown as "?" and not asserted
    assert shaky.to_json()["structure"]["situation"]["unsure"] is True
    # Parts heard in clear words are untouched.
    assert shaky.structure["action"] == clear.structure["action"]
    # Two unsure words in a sentence of twelve leave it as evidence.
    some = analyse_transcript(transcript({1, 2}), input="a.wav", question=None, company=None)
    assert some.structure["situation"] == clear.structure["situation"]


def test_a_poor_transcript_says_so_and_how_to_get_a_better_one():
    n = len(ANSWER.split())
    few = set(range(0, n, 6))  # one word in six
    assert shaky_share(transcript(few).words) < POOR_SHARE
    ok = analyse_transcript(transcript(few), input="a.wav", question=None, company=None)
    assert not any("unsure of" in line for line in ok.advice)
    many = set(range(0, n, 3))  # one word in three
    poor = analyse_transcript(transcript(many), input="a.wav", question=None, company=None)
    share = len(many) / n
    assert poor.advice[0].startswith(f"The speech model was unsure of {share:.0%} of the words (shown dim)")
    assert "better microphone" in poor.advice[0] and "larger speech model" in poor.advice[0]
    # A written answer has no word probabilities: nothing to say.
    written = analyse_transcript(ANSWER, input="a.txt", question=None, company=None)
    assert not any("unsure of" in line for line in written.advice)


def test_unsure_words_are_dim_in_the_report_and_faded_on_the_page():
    unsure = {4, 5}  # "the only"
    a = analyse_transcript(transcript(unsure, p_low=SHAKY_BELOW - 0.01), input="a.wav", question=None,
                           company=None)
    t = transcript_text(a)
    dim = sorted(t.plain[s.start:s.end] for s in t.spans if s.style == "dim")
    assert dim == ["only", "the"]
    page = transcript_html(a)
    assert page.count(' shaky" title="the speech model was unsure of this word"') == 2
    assert '<span class="w shaky" title="the speech model was unsure of this word" data-s="2.00"' in page
