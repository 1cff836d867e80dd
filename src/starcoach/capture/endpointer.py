"""Deciding that a spoken answer is over: speech, then a few seconds of silence.

The candidate should not have to press a key: the answer ends
``end_silence_s`` after the last speech, judged by the Silero VAD, while a
cough before the answer, room noise and a breath in the middle do not end
it.  Other people talking in the room are speech to the VAD too; only
speech near the candidate's own level counts, so voices 20 dB under theirs
do not keep the answer open.  Where the room is louder than that (voices
10 dB under), the endpointer says so (``noisy``), and Enter or the time
limit ends the answer.  Timed in audio seconds, so a source faster than real
time decides as a live one would.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Optional

import numpy as np

from starcoach.model import Span
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

    Other voices in the room (a television, the next desk, a cafe) are speech
    to the VAD, so they would keep the answer from ever ending.  What tells the
    candidate from them is level: the candidate is nearest the microphone.
    :attr:`voice_dbfs` is the speaker's level (the ``voice_percentile`` of the
    levels of the last ``voice_window_s`` of 32 ms frames counted as their
    speech, so the room's frames after the answer do not pull it down), and a
    VAD span counts only from its first to its last frame within
    ``voice_range_db`` of it (widened by ``voice_hold_s``).  Before any speech
    every VAD span counts.  Measured
    (benchmarks/bench_endpointer_noise.py, docs/audio.md): an answer whose
    second half is up to 18 dB quieter still ends after its last word, never
    in its pause; four voices 20 dB under the answer end it 3.0-3.4 s after
    the last word in 8 of 10 answers (a narrower 12 dB range ended all 10,
    but then a speaker 15 dB quieter was cut off in the pause in 4 of 10: a
    cut-off answer is lost, an answer that goes on is not, so the wider range
    is kept).  One voice 20 dB under is not told apart: the answer goes on
    and the room is called noisy.  ``voice_range_db=None`` counts every VAD
    span.

    When even that leaves the VAD busy after the speaker has stopped (voices
    10 dB under the answer reach its quieter sounds), :attr:`noisy` says so, for
    the live view's line that Enter ends the answer; the recorder's time limit
    ends it otherwise.

    All times are audio seconds since the first block.
    """

    def __init__(self, end_silence_s: float = 3.0, *, sample_rate_hz: int = SAMPLE_RATE_HZ,
                 vad_every_s: float = 0.25, vad_window_s: float = 2.0, gate_dbfs: float = -60.0,
                 heard_dbfs: float = -50.0, min_speech_s: float = 0.4, vad_options: Optional[dict] = None,
                 voice_range_db: Optional[float] = 18.0, voice_hold_s: float = 0.25,
                 voice_window_s: float = 10.0, voice_percentile: float = 90.0, voice_peak_db: float = 3.0,
                 noisy_after_s: float = 2.0, noisy_share: float = 0.8, noisy_window_s: float = 3.0,
                 noisy_floor_db: float = 40.0):
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
        self.voice_range_db = voice_range_db
        self.voice_hold_s = voice_hold_s
        self.voice_percentile = voice_percentile
        self.voice_peak_db = voice_peak_db
        self.noisy_after_s = noisy_after_s
        self.noisy_share = noisy_share
        self.noisy_floor_db = noisy_floor_db
        frames_per_s = sample_rate_hz / _VAD_FRAME_SAMPLES
        self._frame_levels: deque = deque(maxlen=max(1, int(round(voice_window_s * frames_per_s))))
        self._shares: deque = deque(maxlen=max(1, int(round(noisy_window_s / vad_every_s))))
        self._voice_dbfs: Optional[float] = None
        self._voice_at = 0  # sample where the speaker's voice (near voice_dbfs) was last heard
        self._noisy = False
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

    @property
    def voice_dbfs(self) -> Optional[float]:
        """The speaker's level: the ``voice_percentile`` of the levels of the last ``voice_window_s`` of 32 ms
        frames counted as the speaker's speech (None before any)."""
        return self._voice_dbfs

    @property
    def noisy(self) -> bool:
        """Does the room keep the VAD busy after the speaker has stopped?

        Set once the answer has begun, when speech (as counted for the end) fills at least ``noisy_share``
        of the last ``noisy_window_s`` while nothing has come within ``voice_peak_db`` of the speaker's
        level for ``noisy_after_s`` and no 32 ms frame of the last ``vad_window_s`` was quieter than
        ``noisy_floor_db`` under it: other voices (a television, the next desk) as loud as the speaker's
        quieter sounds, in a room that never goes quiet.  (A speaker who only grows quieter in a quiet room
        leaves frames near the room's floor between words.)  The answer may then never end by silence; the
        view says that Enter ends it.  Cleared when a silence of 1 s is heard again.
        """
        return self._noisy

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
                self._run_vad(min(self._since_vad, self._recent.size))
            else:
                self._shares.append(0.0)
            self._since_vad %= self._hop  # keep the remainder: runs average one per vad_every_s
            self._loud_unjudged = False
            self._judged_until = self._now
            self._update_noisy()
        elif not self._loud_unjudged:
            self._judged_until = self._now  # gate: quiet blocks are silence without asking the VAD
        if self.speech_started and self.trailing_silence_s >= self.end_silence_s:
            self._ended = True

    def _note_levels(self, fresh_n: int, spans: list[Span]) -> None:
        """Add the levels of the newest ``fresh_n`` samples' frames that lie in the speaker's ``spans`` (window
        seconds) to the speaker's level, and note when the speaker's voice was last heard near that level."""
        fresh = self._recent[self._recent.size - fresh_n:]
        levels = _frame_dbfs(fresh)
        frame_s = _VAD_FRAME_SAMPLES / self.sample_rate_hz
        centres = (self._recent.size - fresh_n) / self.sample_rate_hz + (np.arange(levels.size) + 0.5) * frame_s
        spoken = np.zeros(levels.size, dtype=bool)
        for sp in spans:
            spoken |= (centres >= sp.start_s) & (centres < sp.end_s)
        self._frame_levels.extend(levels[spoken & (levels >= self.gate_dbfs)].tolist())
        if not self._frame_levels:
            return
        so_far = np.fromiter(self._frame_levels, dtype=np.float64, count=len(self._frame_levels))
        k = int(round(self.voice_percentile / 100 * (so_far.size - 1)))
        self._voice_dbfs = float(np.partition(so_far, k)[k])  # the percentile, without interpolating
        near = np.nonzero(levels >= self._voice_dbfs - self.voice_peak_db)[0]
        if near.size:
            self._voice_at = self._now - fresh.size + min(fresh.size, int(near[-1] + 1) * _VAD_FRAME_SAMPLES)

    def _voiced(self, spans: tuple[Span, ...]) -> list[Span]:
        """The parts of the VAD's ``spans`` (window seconds) loud enough to be the speaker.

        Silero calls any voice speech, a neighbour's as well as the candidate's; what tells them apart is
        level.  A span is kept from its first to its last frame within ``voice_range_db`` of the speaker's
        level (:attr:`voice_dbfs`), widened by ``voice_hold_s`` for the quiet sounds at a word's edges, and
        dropped if it has no such frame.  Voices ``voice_range_db`` below the speaker's then count as silence.
        """
        if self.voice_range_db is None or self._voice_dbfs is None or not spans:
            return list(spans)
        levels = _frame_dbfs(self._recent)
        loud = np.nonzero(levels >= self._voice_dbfs - self.voice_range_db)[0]
        frame_s = _VAD_FRAME_SAMPLES / self.sample_rate_hz
        kept = []
        for sp in spans:
            i0 = int(sp.start_s / frame_s)
            i1 = int(math.ceil(sp.end_s / frame_s))
            inside = loud[(loud >= i0) & (loud < i1)]
            if not inside.size:
                continue
            start = max(sp.start_s, inside[0] * frame_s - self.voice_hold_s)
            end = min(sp.end_s, (inside[-1] + 1) * frame_s + self.voice_hold_s)
            kept.append(Span(start, end))
        return kept

    def _update_noisy(self) -> None:
        if not self.speech_started:
            return
        if self.trailing_silence_s >= 1.0:
            self._noisy = False
        elif (len(self._shares) == self._shares.maxlen
              and sum(self._shares) >= self.noisy_share * len(self._shares)
              and (self._now - self._voice_at) / self.sample_rate_hz >= self.noisy_after_s
              and self._voice_dbfs is not None
              and float(_frame_dbfs(self._recent).min()) >= self._voice_dbfs - self.noisy_floor_db):
            self._noisy = True

    def _run_vad(self, fresh_n: int) -> None:
        self.vad_runs += 1
        start = self._now - self._recent.size
        heard = speech_spans(self._recent, self.sample_rate_hz, options=self.vad_options)
        # The VAD closes a span still open at the window's end there ("still speaking");
        # a later run, with what followed in view, gives the real end.  Open or not is the
        # VAD's call, so that it is asked again even if the span's tail is too quiet to count.
        end = self._recent.size - _VAD_FRAME_SAMPLES
        self._speech_open = bool(heard) and int(round(heard[-1].end_s * self.sample_rate_hz)) >= end
        spans = self._voiced(heard)
        self._shares.append(self._share_of_last_hop(spans))
        self._note_levels(fresh_n, spans)
        if not spans:
            return  # keep the previous estimate: speech may have slid out of the window
        last_end = int(round(spans[-1].end_s * self.sample_rate_hz))
        self._last_speech_end = start + last_end
        if not self.speech_started:
            # An open span's last min_silence is unconfirmed (the VAD's hang-over after
            # a click looks just like that), so it does not count towards min_speech_s.
            lengths = [s.duration_s for s in spans[:-1]]
            lengths.append(spans[-1].duration_s - (self._hangover_s if last_end >= end else 0.0))
            self.speech_started = max(lengths) >= self.min_speech_s

    def _share_of_last_hop(self, spans: list[Span]) -> float:
        """How much of the latest ``vad_every_s`` (before the VAD's hang-over) the spans cover."""
        size_s = self._recent.size / self.sample_rate_hz
        hi = size_s - self._hangover_s
        lo = max(0.0, hi - self._hop / self.sample_rate_hz)
        if hi <= lo:
            return 0.0
        covered = sum(max(0.0, min(sp.end_s, hi) - max(sp.start_s, lo)) for sp in spans)
        return covered / (hi - lo)


def _frame_dbfs(x: np.ndarray) -> np.ndarray:
    """RMS level (dBFS) of each 32 ms frame of ``x`` (a short last frame included)."""
    n = x.size
    if not n:
        return np.zeros(0)
    full = n // _VAD_FRAME_SAMPLES * _VAD_FRAME_SAMPLES
    power = [np.mean(np.square(x[:full].reshape(-1, _VAD_FRAME_SAMPLES), dtype=np.float64), axis=1)] if full else []
    if full < n:
        power.append(np.array([np.mean(np.square(x[full:], dtype=np.float64))]))
    p = np.concatenate(power)
    return 10.0 * np.log10(np.maximum(p, 1e-10))
