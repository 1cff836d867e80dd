"""Deciding that a spoken answer is over: speech, then a few seconds of silence.

The candidate should not have to press a key: the answer ends
``end_silence_s`` after the last speech, judged by the Silero VAD, while a
cough before the answer, room noise and a breath in the middle do not end
it.  Timed in audio seconds, so a source faster than real time decides as
a live one would.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from starcoach.speech.decode import SAMPLE_RATE_HZ
from starcoach.speech.vad import PAUSE_VAD_OPTIONS, load_vad_model, speech_spans

__all__ = ["SILENCE_FLOOR_DBFS", "Endpointer"]

#: Level reported for digital silence (log of zero), and the bottom of a meter.
SILENCE_FLOOR_DBFS = -100.0

#: The Silero VAD judges 512-sample (32 ms) frames.
_VAD_FRAME_SAMPLES = 512


class Endpointer:
    """Decides when an answer is over: speech, then ``end_silence_s`` of non-speech.

    Speech/non-speech comes from the Silero VAD (faster-whisper's copy, via
    :func:`starcoach.speech.vad.speech_spans`), run every ``vad_every_s`` on the last
    ``vad_window_s`` of audio rather than on every 0.1 s block: the VAD needs
    a few hundred ms of context to call a silence, and batching keeps its cost
    around 1-2 % of one core.  Each run re-judges the whole window, and the
    newest run wins, because it has seen more of what followed.

    An energy gate handles the easy case without the model: a block quieter
    than ``gate_dbfs`` (digital silence, a muted mic) is non-speech at once, so
    the silence count advances block by block; louder audio is only counted
    as silence once the VAD has looked at it, so a word is never missed
    between two VAD runs.

    A cough or click must not start the answer (and so arm the 3 s timer):
    ``speech_started`` needs one VAD speech span of at least ``min_speech_s``.

    All times are audio seconds since the first block.
    """

    def __init__(self, end_silence_s: float = 3.0, *, sample_rate_hz: int = SAMPLE_RATE_HZ,
                 vad_every_s: float = 0.25, vad_window_s: float = 2.0, gate_dbfs: float = -60.0,
                 heard_dbfs: float = -50.0, min_speech_s: float = 0.4, vad_options: Optional[dict] = None):
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"Endpointer needs {SAMPLE_RATE_HZ} Hz audio")
        if vad_window_s < vad_every_s:
            raise ValueError("vad_window_s must be at least vad_every_s")
        self.end_silence_s = float(end_silence_s)
        self.sample_rate_hz = sample_rate_hz
        self.gate_dbfs = gate_dbfs
        self.heard_dbfs = heard_dbfs
        self.min_speech_s = min_speech_s
        self.vad_options = vad_options
        options = {**PAUSE_VAD_OPTIONS, **(vad_options or {})}
        self._hangover_s = float(options["min_silence_duration_ms"]) / 1000
        self._hop = max(1, int(round(vad_every_s * sample_rate_hz)))
        self._window = max(self._hop, int(round(vad_window_s * sample_rate_hz)))
        self._recent = np.zeros(0, dtype=np.float32)
        self._now = 0  # samples pushed
        self._since_vad = 0
        self._loud_unjudged = False  # loud audio arrived that the VAD has not seen yet
        self._judged_until = 0  # samples classified (by the gate or the VAD)
        self._last_speech_end: Optional[int] = None  # sample where the latest speech ended
        self._speech_open = False  # the last VAD run saw speech reaching the window's end
        self._heard = False
        self._ended = False
        #: Has someone started answering (a real stretch of speech, not a click)?
        self.speech_started = False
        #: RMS level of the last block, in dBFS (:data:`SILENCE_FLOOR_DBFS` for digital silence).
        self.level_dbfs = SILENCE_FLOOR_DBFS
        #: Loudest block so far, in dBFS.
        self.peak_dbfs = SILENCE_FLOOR_DBFS
        #: Number of VAD runs so far (to check the CPU budget).
        self.vad_runs = 0

    @staticmethod
    def warm_up() -> None:
        """Load the VAD model now (about 0.1 s) rather than during the first words."""
        load_vad_model()

    @property
    def elapsed_s(self) -> float:
        return self._now / self.sample_rate_hz

    @property
    def trailing_silence_s(self) -> float:
        """Non-speech since the last speech (since the start if none yet), as far as judged."""
        start = self._last_speech_end if (self.speech_started and self._last_speech_end is not None) else 0
        return max(0, self._judged_until - start) / self.sample_rate_hz

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def heard_anything(self) -> bool:
        """False while the input is near-silent: "we heard nothing — check your microphone"."""
        return self._heard or self.speech_started

    @property
    def end_of_speech_s(self) -> Optional[float]:
        """Where the last speech ended (None before any)."""
        if not self.speech_started or self._last_speech_end is None:
            return None
        return self._last_speech_end / self.sample_rate_hz

    def push(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        if not x.size:
            return
        rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
        self.level_dbfs = max(SILENCE_FLOOR_DBFS, 20.0 * math.log10(rms)) if rms > 0 else SILENCE_FLOOR_DBFS
        self.peak_dbfs = max(self.peak_dbfs, self.level_dbfs)
        if self.level_dbfs >= self.heard_dbfs:
            self._heard = True
        self._recent = np.concatenate([self._recent, x])[-self._window:]
        self._now += x.size
        self._since_vad += x.size
        if self.level_dbfs >= self.gate_dbfs:
            self._loud_unjudged = True
        if self._since_vad >= self._hop:
            # Also re-run after speech that reached the end of the last window, even
            # if what followed is gated silence: only now can the VAD place its end.
            if self._loud_unjudged or self._speech_open:
                self._run_vad()
            self._since_vad %= self._hop  # keep the remainder: runs average one per vad_every_s
            self._loud_unjudged = False
            self._judged_until = self._now
        elif not self._loud_unjudged:
            self._judged_until = self._now  # gate: quiet blocks are silence without asking the VAD
        if self.speech_started and self.trailing_silence_s >= self.end_silence_s:
            self._ended = True

    def _run_vad(self) -> None:
        self.vad_runs += 1
        start = self._now - self._recent.size
        spans = speech_spans(self._recent, self.sample_rate_hz, options=self.vad_options)
        if not spans:
            self._speech_open = False
            return  # keep the previous estimate: speech may have slid out of the window
        # The VAD closes a span still open at the window's end there ("still speaking");
        # a later run, with what followed in view, gives the real end.
        self._last_speech_end = start + int(round(spans[-1].end_s * self.sample_rate_hz))
        self._speech_open = self._last_speech_end >= self._now - _VAD_FRAME_SAMPLES
        if not self.speech_started:
            # An open span's last min_silence is unconfirmed (the VAD's hang-over after
            # a click looks just like that), so it does not count towards min_speech_s.
            lengths = [s.duration_s for s in spans[:-1]]
            lengths.append(spans[-1].duration_s - (self._hangover_s if self._speech_open else 0.0))
            self.speech_started = max(lengths) >= self.min_speech_s
