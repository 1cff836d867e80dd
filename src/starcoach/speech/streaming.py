"""Transcribes an answer while it is still being spoken.

Feedback must be on screen within about a second of the end of an answer,
but transcribing three minutes of speech takes several seconds.  So the
recording is cut into chunks at natural pauses as it arrives, and a worker
thread transcribes each chunk while the candidate goes on talking.  The
end-of-answer detector waits for ~3 s of silence; we cut as soon as 0.6 s of
silence follows speech, so the last chunk is usually transcribed *during*
that wait and little or nothing is left to do when the answer ends.

An answer ended by Enter does not wait for that silence.  So whenever the
speaker pauses (:data:`SPECULATE_AFTER_SILENCE_S`) and the worker is idle,
the audio since the last cut is transcribed *speculatively*.  If nothing
but silence follows it, that result is the chunk: when the chunk is cut, or
when Enter is pressed, it is used as it is, and only a speculation still
running is waited for.  If the speaker goes on, the speculation is dropped.

When the machine is too busy to keep up (another program sharing the CPU),
the backlog stays bounded instead of growing (docs/audio.md, "Under load"):

1. chunks waiting for the worker are transcribed together, as one job
   (every Whisper call costs a 30 s window, however short the chunk);
2. a job whose audio has waited longer than :data:`SINGLE_PASS_AFTER_S`
   gets the unprompted pass only (about half the work; "um"/"uh" there may
   be missed), and so does the last job after Enter when the worker was
   behind;
3. no speculation unless the worker is idle.

:meth:`LiveTranscriber.degradation` says in one line what was degraded, for
the report.

Cuts are placed inside silences (found from frame energy relative to the
answer's own loudness), never mid-word, so chunk boundaries cost Whisper
almost nothing; each chunk's words and speech spans are shifted by the
chunk's start time and merged into one Transcript.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

import numpy as np

from starcoach.model import Span, Transcript, Word
from starcoach.speech.chunks import ChunkJob, ChunkTiming, accepts_passes, merge_spans

FRAME_S = 0.02

#: Silence after speech (s) that starts a speculative transcription of the tail.
SPECULATE_AFTER_SILENCE_S = 0.24
#: A job whose oldest audio has waited this long (s) gets a single pass.
SINGLE_PASS_AFTER_S = 4.0
#: At most this much audio (s) is merged into one job.
MERGE_MAX_S = 28.0


class LiveTranscriber:
    """Feed it audio blocks as they are recorded; ``finish()`` returns the whole Transcript."""

    def __init__(self, transcriber, sample_rate_hz: int = 16000, *, min_chunk_s: float = 4.0,
                 max_chunk_s: float = 14.0, cut_after_silence_s: float = 0.6, min_gap_s: float = 0.3,
                 speculate: bool = True):
        self.transcriber = transcriber
        self.rate = sample_rate_hz
        self.min_chunk = int(min_chunk_s * sample_rate_hz)
        self.max_chunk = int(max_chunk_s * sample_rate_hz)
        self.frame = int(FRAME_S * sample_rate_hz)
        self.cut_after_silence_frames = int(cut_after_silence_s / FRAME_S)
        self.min_gap_frames = max(1, int(min_gap_s / FRAME_S))
        self.speculate_frames = max(1, int(round(SPECULATE_AFTER_SILENCE_S / FRAME_S)))
        self.speculate = speculate
        self._audio: list[np.ndarray] = []
        self._total = 0
        self._cut = 0  # samples already handed to the worker
        self._frame_rms: list[float] = []
        self._partial = np.zeros(0, dtype=np.float32)
        self._loud = 0.0  # running estimate of speech loudness
        self._speech_since_cut = False
        self._last_speech_frame = -1
        self._jobs: list[ChunkJob] = []
        self._busy = False
        self._closing = False
        self._cv = threading.Condition()
        self._spec: Optional[ChunkJob] = None  # the latest speculation on the audio since the last cut
        self._words: list[Word] = []
        self._speech: list[Span] = []
        self._lock = threading.Lock()
        self._error: Optional[BaseException] = None
        self._single_pass_s = 0.0  # audio transcribed with the unprompted pass only
        self._merged_jobs = 0
        self._passes_kw = accepts_passes(transcriber)
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
            first = len(self._frame_rms)
            self._frame_rms.extend(float(x) for x in rms)
            peak = float(rms.max())
            self._loud = max(self._loud * 0.999, peak)
            loud = [i for i, r in enumerate(rms) if not self._silent(float(r))]
            if loud:
                self._last_speech_frame = first + loud[-1]
        self._partial = buf[n * self.frame:]
        self._maybe_cut()
        self._maybe_speculate()

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
        start = self._cut
        self._cut = end
        had_speech = self._speech_since_cut
        self._speech_since_cut = False
        spec, self._spec = self._spec, None
        if not had_speech:
            self._drop(spec)
            return
        with self._cv:
            if spec is not None and spec.start == start and self._only_silence(spec.end, end):
                # The speculation heard all of this chunk's speech: it is the chunk.
                self._jobs.append(ChunkJob(start, np.zeros(0, np.float32), time.monotonic(), adopt=spec))
            else:
                self._drop_locked(spec)
                self._jobs.append(ChunkJob(start, self._slice(start, end), time.monotonic()))
            self._cv.notify_all()

    def _only_silence(self, a: int, b: int) -> bool:
        """No speech frame between samples ``a`` and ``b`` (either order)."""
        lo, hi = sorted((a, b))
        frames = self._frame_rms[lo // self.frame:(hi + self.frame - 1) // self.frame]
        return all(self._silent(r) for r in frames)

    def _maybe_speculate(self) -> None:
        if not self.speculate or not self._speech_since_cut or self._error is not None:
            return
        silent_frames = len(self._frame_rms) - 1 - self._last_speech_frame
        if silent_frames < self.speculate_frames or self._last_speech_frame * self.frame < self._cut:
            return
        if self._spec is not None and self._spec.end > self._last_speech_frame * self.frame:
            return  # the latest speculation already heard the last speech
        with self._cv:
            if self._jobs or self._busy or self._closing:
                return  # never queue a speculation behind real work
            end = len(self._frame_rms) * self.frame
            self._spec = ChunkJob(self._cut, self._slice(self._cut, end), time.monotonic(), speculative=True)
            self._jobs.append(self._spec)
            self._cv.notify_all()

    def _drop(self, spec: Optional[ChunkJob]) -> None:
        if spec is not None:
            with self._cv:
                self._drop_locked(spec)

    def _drop_locked(self, spec: Optional[ChunkJob]) -> None:
        if spec is not None and spec in self._jobs:
            self._jobs.remove(spec)  # not started yet: never run it

    def _slice(self, a: int, b: int) -> np.ndarray:
        # Keep the buffer as one array once in a while so slicing stays cheap.
        if len(self._audio) > 1:
            self._audio = [np.concatenate(self._audio)]
        return self._audio[0][a:b].copy()

    # ----- worker

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._jobs and not self._closing:
                    self._cv.wait()
                if not self._jobs:
                    return
                job = self._jobs.pop(0)
                adopted = job.adopt is not None
                if not job.speculative and not adopted:
                    job = self._merge_locked(job)
                self._busy = True
            try:
                if adopted:
                    self._adopt(job)
                else:
                    self._run(job)
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def _merge_locked(self, job: ChunkJob) -> ChunkJob:
        """``job`` and the chunks queued right behind it, as one job (step 1 under load)."""
        parts, end, n = [job.audio], job.end, 1
        single = job.single
        while self._jobs and not self._jobs[0].speculative and self._jobs[0].adopt is None:
            nxt = self._jobs[0]
            if (nxt.end - job.start) > MERGE_MAX_S * self.rate:
                break
            self._jobs.pop(0)
            parts += [np.zeros(nxt.start - end, np.float32), nxt.audio]  # a chunk with no speech in between
            end, n, single = nxt.end, n + 1, single or nxt.single
        if n == 1:
            return job
        return ChunkJob(job.start, np.concatenate(parts), job.queued_at, single=single, merged=n)

    def _run(self, job: ChunkJob) -> None:
        if self._error is not None:
            job.done.set()
            return
        waited = time.monotonic() - job.queued_at
        passes = 1 if not job.speculative and (job.single or waited > SINGLE_PASS_AFTER_S) else 2
        t0 = time.perf_counter()
        try:
            if passes == 1 and self._passes_kw:
                t = self.transcriber.transcribe(job.audio, passes=1)
            else:
                passes = 2
                t = self.transcriber.transcribe(job.audio)
        except BaseException as e:  # reported by finish()
            job.error = e
            if not job.speculative:
                self._error = e
            job.done.set()
            return
        took = time.perf_counter() - t0
        kind = "speculative" if job.speculative else ("merged" if job.merged > 1 else "chunk")
        with self._lock:
            self.timings.append(ChunkTiming(job.start / self.rate, job.audio.size / self.rate, took, kind, passes))
            if not job.speculative:
                self._merged_jobs += job.merged > 1
                if passes == 1:
                    self._single_pass_s += job.audio.size / self.rate
        if job.speculative:
            job.result = t
        else:
            self._add(job.start, t)
        job.done.set()

    def _adopt(self, job: ChunkJob) -> None:
        spec = job.adopt
        assert spec is not None
        spec.done.wait()  # already run: the worker takes jobs in order
        if spec.error is not None:
            self._error = spec.error
        elif spec.result is not None:
            self._add(spec.start, spec.result)

    def _add(self, start: int, t: Transcript) -> None:
        off = start / self.rate
        with self._lock:
            self._words.extend(Word(w.text, w.start_s + off, w.end_s + off, w.probability) for w in t.words)
            self._speech.extend(Span(s.start_s + off, s.end_s + off) for s in t.speech)

    def words_so_far(self) -> tuple[Word, ...]:
        """The words of the chunks transcribed so far, in time order (for the live cues)."""
        with self._lock:
            return tuple(sorted(self._words, key=lambda w: w.start_s))

    # ----- finishing

    @property
    def pending_s(self) -> float:
        return (self._total - self._cut) / self.rate

    def finish(self) -> Transcript:
        """Transcribe what is left and return the whole answer's Transcript."""
        if self._total > self._cut:
            first = self._cut // self.frame
            if any(not self._silent(r) for r in self._frame_rms[first:]) or self._speech_since_cut:
                with self._cv:
                    # Real work still waiting for the worker: it is behind (step 2).
                    behind = any(not j.speculative and j.adopt is None for j in self._jobs)
                self._speech_since_cut = True
                self._cut_at((self._total + self.frame - 1) // self.frame)
                if behind:
                    with self._cv:
                        for j in self._jobs:
                            j.single = not j.speculative and j.adopt is None
        self._close()
        if self._error is not None:
            raise self._error
        with self._lock:
            words = tuple(sorted(self._words, key=lambda w: w.start_s))
            speech = merge_spans(sorted(self._speech, key=lambda s: s.start_s))
        text = "".join(w.text if w.text[:1].isspace() else " " + w.text for w in words).strip()
        return Transcript(text=text, words=words, duration_s=self._total / self.rate, speech=speech)

    def _close(self) -> None:
        with self._cv:
            self._closing = True
            # A speculation nobody will use is not worth waiting for.
            wanted = {id(j.adopt) for j in self._jobs if j.adopt is not None}
            self._jobs = [j for j in self._jobs if not j.speculative or id(j) in wanted]
            self._cv.notify_all()
        self._worker.join()

    def cancel(self, timeout_s: Optional[float] = 30.0) -> None:
        """Drop the chunks not yet transcribed and stop the worker, waiting for the one it is on.

        Waiting matters: a worker left inside the model while the program exits
        aborts the process (C++ ``terminate``) instead of letting it end cleanly.
        """
        with self._cv:
            self._closing = True
            self._jobs = []
            self._cv.notify_all()
        if self._worker is not threading.current_thread():
            self._worker.join(timeout_s)

    def degradation(self) -> Optional[str]:
        """One line on what was cut back to keep up, or None when nothing was."""
        with self._lock:
            single, merged = self._single_pass_s, self._merged_jobs
        parts = []
        if single:
            parts.append(f"{single:.0f} s of the answer transcribed in one pass, without the filler pass "
                         "(\"um\"/\"uh\" there may be missed)")
        if merged:
            parts.append(f"{merged} time(s) waiting chunks were transcribed together")
        if not parts:
            return None
        return "The machine was busy while you spoke: " + "; ".join(parts) + "."
