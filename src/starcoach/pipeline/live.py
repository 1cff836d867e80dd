"""Cues while the candidate speaks: words so far, fillers, recent pace, the R-STAR-L parts heard.

Computed from the words the live transcriber has finished so far
(``LiveTranscriber.words_so_far``), so they trail the voice by a chunk (a
pause or two).  The parts heard are the judge's verdict on the text so far;
the judge is pure and takes a few milliseconds on an answer of a few hundred
words, and it runs only when new words have arrived (``CueTracker``), on the
thread that draws the recording view, never on the transcriber's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from starcoach.model import COMPONENTS, Word

#: Pace is measured over the last this many seconds of transcribed speech.
PACE_WINDOW_S = 30.0
#: ... once at least this much of it is there (a pace over two words is noise).
PACE_MIN_S = 5.0


@dataclass(frozen=True)
class LiveCues:
    words: int
    fillers: int
    #: Words per minute over the last :data:`PACE_WINDOW_S` of transcribed speech; None until there is enough.
    wpm_recent: Optional[float]
    #: The R-STAR-L parts the judge finds in the answer so far, in order.
    parts: tuple[str, ...]


def recent_wpm(words: Sequence[Word], window_s: float = PACE_WINDOW_S) -> Optional[float]:
    """Words per minute from the start of the last ``window_s`` of speech to the last word's end."""
    spoken = [w for w in words if any(ch.isalnum() for ch in w.text)]
    if not spoken:
        return None
    end = max(w.end_s for w in spoken)
    start = max(end - window_s, min(w.start_s for w in spoken))
    span = end - start
    if span < PACE_MIN_S:
        return None
    n = sum(1 for w in spoken if w.start_s >= start)
    return n / (span / 60.0)


def live_cues(words: Sequence[Word], *, question: Optional[str] = None, company=None) -> LiveCues:
    """The cues for the words transcribed so far (in time order)."""
    from starcoach.judge.core import EmptyAnswer, analyse, text_from_words
    from starcoach.speech.delivery import find_fillers

    fillers = len(find_fillers(words))
    n = sum(1 for w in words if any(ch.isalnum() for ch in w.text))
    parts: tuple[str, ...] = ()
    text = text_from_words(words)
    if text:
        try:
            a = analyse(text, question=question, company=company)
        except EmptyAnswer:
            a = None
        if a is not None:
            parts = tuple(c for c in COMPONENTS if a.structure[c].present)
    return LiveCues(words=n, fillers=fillers, wpm_recent=recent_wpm(words), parts=parts)


class CueTracker:
    """The latest cues, worked out again only when the transcriber has added words."""

    def __init__(self, words_so_far: Callable[[], Sequence[Word]], *, question: Optional[str] = None,
                 company=None):
        self._words_so_far = words_so_far
        self._question = question
        self._company = company
        self._seen = -1
        self._cues: Optional[LiveCues] = None
        self._lock = threading.Lock()

    def current(self) -> Optional[LiveCues]:
        """None until the first words are transcribed."""
        with self._lock:
            words = self._words_so_far()
            if words and len(words) != self._seen:
                self._seen = len(words)
                self._cues = live_cues(words, question=self._question, company=self._company)
            return self._cues
