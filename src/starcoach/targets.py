"""What good looks like, written once: score bands, the colour of each R-STAR-L part, the tips.

The terminal report, the practice summary, the progress charts and the
Markdown/HTML exports all grade a score, colour a part and suggest what to
practise.  They read it from here so that a score of 74 is "yellow" (and
``ok`` on paper) everywhere, and a tip is reworded in one place.  The
delivery targets the judge scores against (``TARGET_DURATION_S``,
``COMFORTABLE_WPM``, ``FILLERS_OK_PER_MIN``, ``LONG_PAUSE_S``) live with the
judge in ``judge/score.py``.

Pure: plain data and one function; no rich, no terminal.
"""

from __future__ import annotations

from typing import NamedTuple

#: A score at or above ``GOOD_SCORE`` is good, at or above ``OK_SCORE`` is fair, below it poor.
GOOD_SCORE = 75
OK_SCORE = 50

#: Band -> terminal colour (rich style name).
BAND_COLOURS: dict[str, str] = {"good": "green", "ok": "yellow", "poor": "red"}


#: The banner over the report of an answer whose recording stopped before the candidate finished
#: (``model.Analysis.cut``): what happened, and that its length is not judged.
CUT_BANNERS: dict[str, str] = {
    "time_limit": "Cut off: the answer ran into the time limit, so it may stop mid-story; "
                  "its length is not judged.",
    "recovered": "Recovered: starcoach was stopped while this answer was being recorded, and the audio up to "
                 "then was kept; its length is not judged.",
}


def cut_banner(cut: str) -> str:
    return CUT_BANNERS.get(cut, f"The recording stopped early ({cut}); its length is not judged.")


def score_band(score: float) -> str:
    """``"good"``, ``"ok"`` or ``"poor"`` (the HTML export's class names too)."""
    return "good" if score >= GOOD_SCORE else ("ok" if score >= OK_SCORE else "poor")


def score_colour(score: float) -> str:
    """The terminal colour of a score: green, yellow or red."""
    return BAND_COLOURS[score_band(score)]


#: One colour per component, shared by the transcript, checklist, timeline, charts and summaries.
COLOURS: dict[str, str] = {
    "repeat": "magenta",
    "situation": "blue",
    "task": "cyan",
    "action": "green",
    "result": "yellow",
    "link_back": "bright_red",
}
#: The style of a sentence that is no part of R-STAR-L.
NONE_STYLE = "dim"


class Tip(NamedTuple):
    """How to put a missing part in: the full tip (progress) and the one-line form (practice summary)."""

    full: str
    short: str


TIPS: dict[str, Tip] = {
    "repeat": Tip(
        "open with one sentence that plays the question back in your own words, e.g. "
        "\u201cSo you'd like to hear about a time I \u2026\u201d \u2014 rephrase it, don't read it back.",
        "open every answer by playing the question back in your own words."),
    "situation": Tip(
        "set the scene in one or two sentences before any action: where you were, your role and "
        "when, e.g. \u201cLast spring I was the analyst on the grocery team at \u2026\u201d.",
        "set the scene in one or two sentences before the action."),
    "task": Tip(
        "say what you had to achieve and why it mattered: \u201cMy goal was to \u2026, because \u2026\u201d.",
        "say what you had to achieve and why it mattered."),
    "action": Tip(
        "walk through the steps you took yourself, with \u201cI\u201d: \u201cI pulled \u2026, I wrote "
        "\u2026, I walked the lead through \u2026\u201d \u2014 not \u201cwe\u201d.",
        "say step by step what you did, with \u201cI\u201d."),
    "result": Tip(
        "end the story with a measured outcome \u2014 a number, a before and after, or what it "
        "saved, e.g. \u201cthe failure rate fell from six to two percent\u201d.",
        "end the story with a measured result."),
    "link_back": Tip(
        "close by tying the story to one of the company's values or to the role, e.g. "
        "\u201cThat's the kind of ownership I'd bring to your team.\u201d",
        "close by tying the story to one of the company's values."),
}
