"""The overall score (0-100) and the bands the advice and reports share.

Hand-set and documented (docs/heuristics.md): the weights say what a coach
values most (the action, then the result), not anything fitted.
"""

from __future__ import annotations

from typing import Optional

from starcoach.model import UNSURE_BELOW, Checks, ComponentResult, Delivery  # noqa: F401 (UNSURE_BELOW re-exported)

#: Spoken answers of 1.5-2.5 minutes run to about this many words.
TARGET_WORDS = (200, 350)
TARGET_DURATION_S = (90.0, 150.0)
#: A comfortable conversational pace, words per minute; outside it the advice says so.
COMFORTABLE_WPM = (120.0, 170.0)
#: Fillers per minute above which the advice asks for silent pauses instead.
FILLERS_OK_PER_MIN = 3.0
#: A silence this long (seconds) is called out.
LONG_PAUSE_S = 3.0

#: Points per component present (70 % of them for being there, 30 % by confidence).
COMPONENT_POINTS = {"repeat": 8, "situation": 12, "task": 12, "action": 24, "result": 18, "link_back": 14}


def score(structure: dict[str, ComponentResult], checks: Checks, delivery: Optional[Delivery], *,
          judge_length: bool = True) -> int:
    """0-100.  ``judge_length=False`` (an answer cut off by the time limit or a crash): no points off for its length."""
    s = 0.0
    for c, w in COMPONENT_POINTS.items():
        r = structure[c]
        if r.present:
            s += w * (0.7 + 0.3 * r.confidence)
    # Quality of the parts present (12 points).
    if structure["result"].present and checks.result_quantified:
        s += 4
    if checks.action_voice == "i":
        s += 3
    elif checks.action_voice == "mixed":
        s += 1.5
    if structure["repeat"].present and not checks.repeat_verbatim:
        s += 2
    if structure["link_back"].present and structure["link_back"].values:
        s += 3
    # Problems with the answer as a whole.
    if checks.hypothetical:
        s -= 20
    if checks.on_topic is False:
        s -= 12
    if judge_length:
        s -= length_penalty(checks.word_count)
    shares = dict(checks.shares)
    if shares["situation"] + shares["task"] > 0.4:
        s -= 4
    if delivery is not None:
        if delivery.fillers_per_minute > 6:
            s -= 4
        elif delivery.fillers_per_minute > 3:
            s -= 2
        if delivery.wpm and (delivery.wpm < 100 or delivery.wpm > 185):
            s -= 3
    return int(max(0, min(100, round(s))))


def length_penalty(word_count: int) -> float:
    """Points off for an answer much shorter or longer than :data:`TARGET_WORDS`."""
    lo, hi = TARGET_WORDS
    if word_count < lo * 0.6:
        return 10
    if word_count < lo:
        return 4
    if word_count > hi * 1.5:
        return 8
    if word_count > hi:
        return 3
    return 0
