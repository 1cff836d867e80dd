"""Words the speech model was unsure of, and a transcript too unsure overall to trust.

Whisper gives each word a probability.  Below :data:`SHAKY_BELOW` a word is
shown dim (terminal report, HTML page); a part of R-STAR-L whose every
evidence sentence is mostly such words is not taken as plainly there (the
judge marks it unsure, ``judge.core``); and when :data:`POOR_SHARE` of an
answer's words are shaky, the advice says the transcript is poor and how to
get a better one.  The thresholds come from the conditions benchmark
(docs/audio.md, "Shaky words"): clean and noisy speech leave 3-17 % of words
below 0.5, the telephone band with espeak-ng's voice (word error rate 45 %)
29-39 %.

Pure: words in, numbers out.
"""

from __future__ import annotations

from typing import Optional, Sequence

from starcoach.model import Word

#: A word with a lower probability than this is shaky.
SHAKY_BELOW = 0.5
#: An evidence sentence with at least this share of shaky words is not evidence on its own.
SHAKY_SENTENCE_SHARE = 0.5
#: An answer with at least this share of shaky words has a poor transcript.
POOR_SHARE = 0.25


def is_shaky(w: Word) -> bool:
    return w.probability < SHAKY_BELOW


def shaky_share(words: Sequence[Word]) -> float:
    """The share of real words (not bare punctuation) that are shaky; 0.0 for none."""
    real = [w for w in words if any(ch.isalnum() for ch in w.text)]
    return sum(1 for w in real if is_shaky(w)) / len(real) if real else 0.0


def poor_transcript_advice(words: Sequence[Word]) -> Optional[str]:
    """One advice line when the transcript is too unsure to trust, else None."""
    share = shaky_share(words)
    if share < POOR_SHARE:
        return None
    return (f"The speech model was unsure of {share:.0%} of the words (shown dim), so the transcript and this "
            "feedback may be wrong in places: use a better microphone closer to you, in a quieter room, or a "
            "larger speech model (--model; docs/audio.md).")
