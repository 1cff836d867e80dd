"""Transcribes an answer while it is still being spoken.

Feedback must be on screen within about a second of the end of an answer,
but transcribing three minutes of speech takes several seconds.  So the
recording is cut into chunks at natural pauses as it arrives, and a worker
thread transcribes each chunk while the candidate goes on talking.  The
end-of-answer detector waits for ~3 s of silence; we cut as soon as 0.6 s of
silence follows speech, so the last chunk is usually transcribed *during*
that wait and little or nothing is left to do when the answer ends.

Cuts are placed inside silences (found from frame energy relative to the
answer's own loudness), never mid-word, so chunk boundaries cost Whisper
almost nothing; each chunk's words and speech spans are shifted by the
chunk's start time and merged into one Transcript.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from starcoach.model import Span, Transcript, Word

FRAME_S = 0.02


@dataclass(frozen=True)
class ChunkTiming:
    start_s: float
    duration_s: float
    transcribe_s: float


class LiveTranscriber:
    """Feed it audio blocks as they are recorded; ``finish()`` returns the whole Transcript."""

    def __init__(self, transcriber, sample_rate_hz: int = 16000, *, min_chunk_s: float = 4.0,
                 max_chunk_s: float = 14.0, cut_after_silence_s: float = 0.6, min_gap_s: float = 0.3):
        self.transcriber = transcriber
        self.rate = sample_rate_hz
        self.min_chunk = int(min_chunk_s * sample_rate_hz)
        self.max_chunk = int(max_chunk_s * sample_rate_hz)
        self.frame = int(FRAME_S * sample_rate_hz)
        self.cut_after_silence_frames = int(cut_after_silence_s / FRAME_S)
        self.min_gap_frames = max(1, int(min_gap_s / FRAME_S))
        self._audio: list[np.ndarray] = []
        self._total = 0
        self._cut = 0  # samples already handed to the worker
        self._frame_rms: list[float] = []
        self._partial = np.zeros(0, dtype=np.float32)
        self._loud = 0.0  # running estimate of speech loudness
        self._speech_since_cut = False
        self._jobs: "queue.Queue[Optional[tuple[int, np.ndarray]]]" = queue.Queue()
        self._words: list[Word] = []
        self._speech: list[Span] = []
        self._lock = threading.Lock()
        self._error: Optional[BaseException] = None
        self.timings: list[ChunkTiming] = []
        self._worker = threading.Thread(target=self._work, name="live-transcriber", daemon=True)
        self._worker.start()

    # ----- feeding (recording thread)

    def feed(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if not samples.size:
            return
        self._audio.append(samples)
        self._total += samples.size
        buf = np.concatenate([self._partial, samples]) if self._partial.size else samples
        n = buf.size // self.frame
        if n:
            frames = buf[: n * self.frame].reshape(n, self.frame)
            rms = np.sqrt(np.mean(frames * frames, axis=1) + 1e-12)
            self._frame_rms.extend(float(x) for x in rms)
            peak = float(rms.max())
            self._loud = max(self._loud * 0.999, peak)
        self._partial = buf[n * self.frame:]
        self._maybe_cut()

    def _silent(self, rms: float) -> bool:
        # Quiet relative to this speaker's loudness, with an absolute floor for digital silence.
        return rms < max(0.003, 0.08 * self._loud)

    def _maybe_cut(self) -> None:
        first = self._cut // self.frame
        frames = self._frame_rms[first:]
        if not frames:
            return
        if not self._speech_since_cut:
            self._speech_since_cut = any(not self._silent(r) for r in frames[-25:])
        pending = self._total - self._cut
        # 1. Speech followed by a settled silence: hand it over now, so the
        #    end-of-answer wait is spent transcribing.
        tail = 0
        for r in reversed(frames):
            if not self._silent(r):
                break
            tail += 1
        if self._speech_since_cut and tail >= self.cut_after_silence_frames and tail < len(frames):
            self._cut_at(first + len(frames) - tail // 2)
            return
        # 2. A long stretch: cut at the latest real gap after min_chunk, else at the quietest frame.
        if pending >= self.max_chunk or (pending >= self.min_chunk and tail >= self.min_gap_frames):
            lo = self.min_chunk // self.frame
            run, best = 0, None
            for i in range(len(frames) - 1, lo - 1, -1):
                if self._silent(frames[i]):
                    run += 1
                    if run >= self.min_gap_frames:
                        best = i + run // 2
                        break
                else:
                    run = 0
            if best is None and pending >= self.max_chunk:
                window = frames[lo:]
                best = lo + int(np.argmin(window)) if window else len(frames)
            if best is not None:
                self._cut_at(first + best)

    def _cut_at(self, frame_index: int) -> None:
        end = min(self._total, frame_index * self.frame)
        if end <= self._cut:
            return
        audio = self._slice(self._cut, end)
        start = self._cut
        self._cut = end
        had_speech = self._speech_since_cut
        self._speech_since_cut = False
        if had_speech:
            self._jobs.put((start, audio))

    def _slice(self, a: int, b: int) -> np.ndarray:
        # Keep the buffer as one array once in a while so slicing stays cheap.
        if len(self._audio) > 1:
            self._audio = [np.concatenate(self._audio)]
        return self._audio[0][a:b].copy()

    # ----- worker

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                start, audio = job
                if self._error is not None:
                    continue
                t0 = time.perf_counter()
                try:
                    t = self.transcriber.transcribe(audio)
                except BaseException as e:  # reported by finish()
                    self._error = e
                    continue
                off = start / self.rate
                with self._lock:
                    self._words.extend(Word(w.text, w.start_s + off, w.end_s + off, w.probability) for w in t.words)
                    self._speech.extend(Span(s.start_s + off, s.end_s + off) for s in t.speech)
                    self.timings.append(ChunkTiming(off, audio.size / self.rate, time.perf_counter() - t0))
            finally:
                self._jobs.task_done()

    # ----- finishing

    @property
    def pending_s(self) -> float:
        return (self._total - self._cut) / self.rate

    def finish(self) -> Transcript:
        """Transcribe what is left and return the whole answer's Transcript."""
        if self._total > self._cut:
            first = self._cut // self.frame
            if any(not self._silent(r) for r in self._frame_rms[first:]) or self._speech_since_cut:
                self._speech_since_cut = True
                self._cut_at((self._total + self.frame - 1) // self.frame)
        self._jobs.put(None)
        self._worker.join()
        if self._error is not None:
            raise self._error
        with self._lock:
            words = tuple(sorted(self._words, key=lambda w: w.start_s))
            speech = _merge(sorted(self._speech, key=lambda s: s.start_s))
        text = "".join(w.text if w.text[:1].isspace() else " " + w.text for w in words).strip()
        return Transcript(text=text, words=words, duration_s=self._total / self.rate, speech=speech)

    def cancel(self, timeout_s: Optional[float] = 30.0) -> None:
        """Drop the chunks not yet transcribed and stop the worker, waiting for the one it is on.

        Waiting matters: a worker left inside the model while the program exits
        aborts the process (C++ ``terminate``) instead of letting it end cleanly.
        """
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
            self._jobs.task_done()
        self._jobs.put(None)
        if self._worker is not threading.current_thread():
            self._worker.join(timeout_s)


def _merge(spans: list[Span], join_gap_s: float = 0.05) -> tuple[Span, ...]:
    out: list[Span] = []
    for s in spans:
        if out and s.start_s - out[-1].end_s <= join_gap_s:
            out[-1] = Span(out[-1].start_s, max(out[-1].end_s, s.end_s))
        else:
            out.append(s)
    return tuple(out)
