"""Batch analysis: a folder (or list) of recorded answers, judged fast, with a table at the end.

Why it is shaped like this:

- Transcription is the only slow step, so only it runs in workers, each
  loading the model once: worker processes on this machine
  (``pipeline.engine.LocalEngine``) or Ray actors (``pipeline.ray_engine``).
  Analysis (milliseconds) and storage stay here, which keeps SQLite
  single-writer and the output in input order, whatever the engine.
- Transcripts are cached in the data folder by the audio's content hash and
  the transcription settings: an interrupted batch re-run skips what is done,
  and changing only the question or company re-analyses without
  re-transcribing.
- One bad file never stops the batch: it becomes an Analysis with ``error``.
- The transcriber is an edge (``edges.TranscriberFactory``): each worker
  makes its own from a picklable factory, :class:`WhisperFactory` for real,
  a scripted one in tests, so planning, the cache, resuming and Ctrl-C are
  tested in-process without the model.

Which question each input answers is decided before, in ``pipeline.plan``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from starcoach.catalogue.banks import Catalogue, Company, UnknownCompany
from starcoach.edges import Transcriber, TranscriberFactory
from starcoach.model import Analysis, Transcript, transcript_from_json
from starcoach.pipeline.engine import Engine, LocalEngine
from starcoach.pipeline.plan import Job
from starcoach.pipeline.process import InputError, analyse_transcript, check_path, read_text_input

#: Part of every cached transcript's key: raised when transcription itself changes, so a
#: transcript made the old way is made again. "2": both passes from one encoder run;
#: "3": a redone prompted window no longer keeps its first word twice (one filler too many);
#: "4": quiet speech is raised to a working level before the model hears it.
TRANSCRIPT_CACHE_VERSION = "4"


def content_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def settings_hash(model_path: str, strategy: str) -> str:
    return hashlib.sha256(f"{TRANSCRIPT_CACHE_VERSION}|{model_path}|{strategy}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class WhisperFactory:
    """The real :class:`~starcoach.edges.TranscriberFactory`: faster-whisper from one model directory."""

    model_path: str
    prompt_strategy: str

    @classmethod
    def resolve(cls, model: Optional[str]) -> "WhisperFactory":
        """For ``--model`` (None: the bundled model); ``transcribe.ModelNotFound`` if there is none."""
        from starcoach.speech.transcribe import DEFAULT_PROMPT_STRATEGY
        from starcoach.speech.whisper_model import resolve_model

        return cls(resolve_model(model), DEFAULT_PROMPT_STRATEGY)

    @property
    def cache_key(self) -> str:
        return settings_hash(self.model_path, self.prompt_strategy)

    def __call__(self, cpu_threads: Optional[int] = None) -> Transcriber:
        from starcoach.speech.transcribe import WhisperTranscriber

        return WhisperTranscriber(self.model_path, prompt_strategy=self.prompt_strategy, cpu_threads=cpu_threads)


# --------------------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    analyses: list[Analysis]
    cached: int
    transcribed: int
    wall_s: float
    audio_s: float
    #: seconds of audio transcribed in this run (not read back from the cache)
    transcribed_s: float = 0.0


class Batch:
    """Runs jobs; ``on_result(job, analysis)`` is called in input order as results become ready.

    ``transcribers`` makes the transcriber (in each worker, or here for one
    worker); it is needed only when there is audio among the jobs.  ``engine``
    says where transcription runs (default: a :class:`~starcoach.pipeline.engine.LocalEngine`
    with ``workers`` processes); everything else (the plan, the cache, the
    order, storage) is the same whatever the engine.
    """

    def __init__(self, jobs: list[Job], catalogue: Catalogue, *, transcribers: Optional[TranscriberFactory] = None,
                 store=None,
                 workers: Optional[int] = None, vault=None, stdin_read: Callable[[], bytes] = lambda: b"",
                 on_result: Optional[Callable[[Job, Analysis], None]] = None,
                 on_progress: Optional[Callable[[int, int, float], None]] = None,
                 on_storage_failure: Optional[Callable[[str], None]] = None,
                 on_transcribe: Optional[Callable[[str], None]] = None,
                 engine: Optional[Engine] = None):
        self.jobs = jobs
        self.catalogue = catalogue
        self.transcribers = transcribers
        self.store = store
        self.stdin_read = stdin_read
        self.vault = vault
        self.on_result = on_result or (lambda j, a: None)
        self.on_progress = on_progress or (lambda done, total, audio_s: None)
        self.engine: Engine = engine or LocalEngine(workers)
        self.n_audio = sum(1 for j in jobs if j.audio)
        self.session_id: Optional[int] = None
        #: Why results stopped being stored part-way (one line), or None; the caller says so and exits 3.
        self.storage_failure: Optional[str] = None
        #: Results analysed but not stored because of it.
        self.unstored = 0
        self.on_storage_failure = on_storage_failure or (lambda message: None)
        #: Called once, just before any file is transcribed, with where it runs ("2 worker(s)"); never
        #: when every input failed its checks or came from the cache.
        self.on_transcribe = on_transcribe or (lambda description: None)
        #: Failed results not yet stored: stored once an answer is analysed, else never.
        self._waiting: list = []

    @property
    def workers(self) -> int:
        """How many local worker processes transcribe (a local engine only)."""
        return self.engine.workers_for(self.n_audio)

    def describe(self, n_audio: Optional[int] = None) -> str:
        """Where transcription of ``n_audio`` files (default: every audio input) runs."""
        return self.engine.describe(self.n_audio if n_audio is None else n_audio)

    def _company(self, cid: Optional[str]) -> tuple[Optional[Company], Optional[str]]:
        if not cid:
            return None, None
        try:
            return self.catalogue.company(cid), None
        except UnknownCompany as e:
            return None, str(e)

    def _finish(self, job: Job, transcript: Optional[Transcript] = None, text: Optional[str] = None,
                error: Optional[tuple[str, str]] = None, chash: Optional[str] = None,
                shash: Optional[str] = None) -> Analysis:
        company, company_error = self._company(job.company_id)
        if error:
            a = Analysis.failed(job.input, error[0], error[1], question=job.question, company=job.company_id)
        elif company_error:
            a = Analysis.failed(job.input, "unknown_company", f"{job.input}: {company_error}",
                                question=job.question, company=job.company_id)
        else:
            a = analyse_transcript(transcript if transcript is not None else text, input=job.input,
                                   question=job.question, company=company, vault=self.vault)
        if self.store is not None and self.session_id is None and a.error is not None:
            # A run in which nothing could be analysed (a missing file, a typo) is not a session:
            # failures wait here until the first answer that is analysed opens one.
            self._waiting.append((job, a, transcript, chash, shash))
        elif self.store is not None:
            try:
                if self.session_id is None:
                    self.session_id = self.store.new_session("analyse", None, {"inputs": len(self.jobs)})
                for row in [*self._waiting, (job, a, transcript, chash, shash)]:
                    self._store(*row)
                self._waiting = []
            except Exception as e:  # storage trouble must not lose the result on screen, nor pass unsaid
                self.storage_failed(e)
        elif self.storage_failure is not None:
            self.unstored += 1
        return a

    def _store(self, job: Job, a: Analysis, transcript: Optional[Transcript], chash: Optional[str],
               shash: Optional[str]) -> None:
        aid = self.store.new_answer(self.session_id, job.index + 1, question=job.question,
                                    company=job.company_id, source=job.input,
                                    audio_path=Path(job.input) if job.audio else None, status="recorded")
        self.store.save_analysis(aid, a, transcript, content_hash=chash, settings_hash=shash)

    def finish_session(self, status: str) -> None:
        """Mark the batch's session ``complete`` or ``interrupted``; a store that refuses is said in one line."""
        if self.session_id is None or self.store is None:
            return
        try:
            self.store.finish_session(self.session_id, status)
        except Exception as e:  # said in one line, never a traceback
            self.storage_failed(e, result=False)

    def storage_failed(self, exc: BaseException, result: bool = True) -> None:
        from starcoach.store.database import DB_NAME
        from starcoach.store.errors import damaged_database_error

        store, self.store = self.store, None
        self.unstored += int(result)
        reason = str(store.damaged(exc)) if hasattr(store, "damaged") else \
            str(damaged_database_error(Path(DB_NAME), exc))
        what = "results from here on are printed but not stored" if result else "the session's end was not stored"
        self.storage_failure = f"{what}: {reason}"
        self.on_storage_failure(self.storage_failure)

    def run(self) -> BatchResult:
        t0 = time.perf_counter()
        results: dict[int, Analysis] = {}
        next_out = 0
        done = 0
        audio_s = 0.0
        cached = transcribed = 0
        transcribed_s = 0.0
        total = len(self.jobs)

        def emit_ready() -> None:
            nonlocal next_out
            while next_out in results:
                self.on_result(self.jobs[next_out], results[next_out])
                next_out += 1

        def record(job: Job, a: Analysis) -> None:
            nonlocal done, audio_s
            results[job.index] = a
            done += 1
            audio_s += a.duration_s or 0.0
            emit_ready()
            self.on_progress(done, total, audio_s)

        pending_audio: list[tuple[Job, str, str]] = []
        shash = None
        for job in self.jobs:
            if not job.audio:
                try:
                    text = read_text_input(job.input, self.stdin_read)
                    record(job, self._finish(job, text=text))
                except InputError as e:
                    record(job, self._finish(job, error=(e.kind, e.message)))
                continue
            p = Path(job.input)
            bad = check_path(job.input)  # before hashing: a FIFO would block the hash for ever
            if bad is not None:
                record(job, self._finish(job, error=(bad.kind, bad.message)))
                continue
            try:
                chash = content_hash(p)
            except OSError as e:
                record(job, self._finish(job, error=("unreadable", f"{job.input}: {e.strerror or e}")))
                continue
            if shash is None:
                if self.transcribers is None:
                    raise ValueError("a batch with audio needs a transcriber factory")
                shash = self.transcribers.cache_key
            row = self.store.cached(chash, shash) if self.store is not None else None
            t = row.transcript() if row is not None else None
            if t is not None:
                cached += 1
                record(job, self._finish(job, transcript=t, chash=chash, shash=shash))
            else:
                pending_audio.append((job, chash, shash))

        if pending_audio:
            transcribed = len(pending_audio)

            def deliver(i: int, out: dict) -> None:
                nonlocal transcribed_s
                job, chash, sh = pending_audio[i]
                a = self._from_worker(job, out, chash, sh)
                transcribed_s += a.duration_s or 0.0
                record(job, a)

            self.on_transcribe(self.describe(len(pending_audio)))
            self.engine.run(self.transcribers, [job.input for job, _, _ in pending_audio], deliver)
        return BatchResult([results[i] for i in sorted(results)], cached, transcribed,
                           time.perf_counter() - t0, audio_s, transcribed_s)

    def _from_worker(self, job: Job, out: dict, chash: str, shash: str) -> Analysis:
        if "error" in out:
            kind, msg = out["error"]
            return self._finish(job, error=(kind, msg))
        return self._finish(job, transcript=transcript_from_json(out["transcript"]), chash=chash, shash=shash)
