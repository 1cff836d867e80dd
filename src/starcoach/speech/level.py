"""Quiet speech raised to a working level before the speech model hears it.

Whisper's features are not level-invariant (its log-mel floor is fixed): the same answer
recorded 22 dB lower lost fillers and words (docs/audio.md, "Conditions").  Speech whose
loud peaks (the 99.9th percentile of the samples inside the VAD's speech, so a click
outside it counts for nothing) are below QUIET_PEAK_DBFS is scaled so that they reach
TARGET_PEAK_DBFS, by at most MAX_GAIN_DB.  Input at a normal level is not touched.  The
VAD hears the signal as it was recorded: its pauses were found at -25 dBFS already.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from starcoach.model import Span
from starcoach.speech.decode import SAMPLE_RATE_HZ

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

QUIET_PEAK_DBFS = -12.0
TARGET_PEAK_DBFS = -3.0
MAX_GAIN_DB = 30.0


def speech_gain(window: "np.ndarray", offset_s: float, spans: Sequence[Span]) -> float:
    """The factor quiet speech in ``window`` (which starts at ``offset_s``) is scaled by; 1.0 at a
    normal level, in silence, and with too little speech to measure."""
    import numpy as np

    parts = [window[max(0, int((sp.start_s - offset_s) * SAMPLE_RATE_HZ)):
                    max(0, int((sp.end_s - offset_s) * SAMPLE_RATE_HZ))] for sp in spans]
    speech = np.concatenate([p for p in parts if p.size] or [window[:0]])
    if speech.size < SAMPLE_RATE_HZ // 10:
        return 1.0
    peak = float(np.percentile(np.abs(speech), 99.9))
    if peak <= 0.0:
        return 1.0
    level_db = 20.0 * math.log10(peak)
    if level_db >= QUIET_PEAK_DBFS:
        return 1.0
    return 10.0 ** (min(TARGET_PEAK_DBFS - level_db, MAX_GAIN_DB) / 20.0)


def at_working_level(window: "np.ndarray", offset_s: float, spans: Sequence[Span]) -> tuple["np.ndarray", bool]:
    """``window`` as the model should hear it, and whether it was raised (a new array if so)."""
    gain = speech_gain(window, offset_s, spans)
    if gain == 1.0:
        return window, False
    import numpy as np

    return np.clip(window * np.float32(gain), -1.0, 1.0), True
