"""Batch analysis: a folder (or list) of recorded answers, judged fast, with a table at the end.

Why it is shaped like this:

- Transcription is the only slow step, so only it runs in worker processes,
  each loading the model once (``_worker_transcriber``); analysis (milliseconds) and
  storage stay in the parent, which keeps SQLite single-writer and the output
  in input order.
- Two workers with one thread each beat one process with two threads on a
  2-core machine (CTranslate2 parallelises a tiny model poorly inside one
  decode), so workers = cores and threads = 1, unless there is one file.
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

import contextlib
import functools
import hashlib
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from starcoach.catalogue.banks import Catalogue, Company, UnknownCompany
from starcoach.edges import Transcriber, TranscriberFactory
from starcoach.model import Analysis, Transcript, transcript_from_json, transcript_to_json
from starcoach.pipeline.plan import Job
from starcoach.pipeline.process import InputError, analyse_transcript, check_path, read_text_input
from starcoach.text import first_line

#: Part of every cached transcript's key: raised when transcription itself changes, so a
#: transcript made the old way is made again. "2": both passes from one encoder run.
TRANSCRIPT_CACHE_VERSION = "2"


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


def transcribe_one(transcriber: Transcriber, path: str) -> dict:
    """Transcribe one file; errors come back as data, never as exceptions (one bad file never ends a batch)."""
    from starcoach.speech.decode import AudioError

    try:
        t = transcriber.transcribe_file(Path(path))
        return {"transcript": transcript_to_json(t)}
    except AudioError as e:
        return {"error": [e.kind, str(e)]}
    except Exception as e:  # a decoder crash on one file must not end the batch
        return {"error": ["unreadable", f"{path}: {type(e).__name__}: {first_line(e) if str(e) else ''}"]}


# --------------------------------------------------------------------------- worker processes


def _worker_init() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    # Started with SIGINT and SIGTERM blocked (see Batch._run_pool): a Ctrl-C that came during
    # start-up is dropped now (ignored), a terminate() from the parent takes effect now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@functools.lru_cache(maxsize=1)
def _worker_transcriber(factory: TranscriberFactory, threads: int) -> Transcriber:
    """The worker process's transcriber: made (the model loaded) by its first file, reused for the rest."""
    return factory(cpu_threads=threads)


def _worker_transcribe(factory: TranscriberFactory, threads: int, path: str) -> dict:
    return transcribe_one(_worker_transcriber(factory, threads), path)


# --------------------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    analyses: list[Analysis]
    cached: int
    transcribed: int
    wall_s: float
    audio_s: float


class Batch:
    """Runs jobs; ``on_result(job, analysis)`` is called in input order as results become ready.

    ``transcribers`` makes the transcriber (in each worker process, or here for one
    worker); it is needed only when there is audio among the jobs.
    """

    def __init__(self, jobs: list[Job], catalogue: Catalogue, *, transcribers: Optional[TranscriberFactory] = None,
                 store=None,
                 workers: Optional[int] = None, vault=None, stdin_read: Callable[[], bytes] = lambda: b"",
                 on_result: Optional[Callable[[Job, Analysis], None]] = None,
                 on_progress: Optional[Callable[[int, int, float], None]] = None,
                 on_storage_failure: Optional[Callable[[str], None]] = None):
        self.jobs = jobs
        self.catalogue = catalogue
        self.transcribers = transcribers
        self.store = store
        self.stdin_read = stdin_read
        self.vault = vault
        self.on_result = on_result or (lambda j, a: None)
        self.on_progress = on_progress or (lambda done, total, audio_s: None)
        n_audio = sum(1 for j in jobs if j.audio)
        cores = os.cpu_count() or 1
        self.workers = max(1, min(workers or cores, n_audio or 1))
        self.threads = max(1, cores // self.workers)
        self.session_id: Optional[int] = None
        #: Why results stopped being stored part-way (one line), or None; the caller says so and exits 3.
        self.storage_failure: Optional[str] = None
        #: Results analysed but not stored because of it.
        self.unstored = 0
        self.on_storage_failure = on_storage_failure or (lambda message: None)

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
        if self.store is not None:
            try:
                if self.session_id is None:
                    self.session_id = self.store.new_session("analyse", None, {"inputs": len(self.jobs)})
                aid = self.store.new_answer(self.session_id, job.index + 1, question=job.question,
                                            company=job.company_id, source=job.input,
                                            audio_path=Path(job.input) if job.audio else None, status="recorded")
                self.store.save_analysis(aid, a, transcript, content_hash=chash, settings_hash=shash)
            except Exception as e:  # storage trouble must not lose the result on screen, nor pass unsaid
                self.storage_failed(e)
        elif self.storage_failure is not None:
            self.unstored += 1
        return a

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
            if self.workers == 1 or len(pending_audio) == 1:
                tx = self.transcribers()
                for job, chash, sh in pending_audio:
                    record(job, self._from_worker(job, transcribe_one(tx, job.input), chash, sh))
            else:
                self._run_pool(pending_audio, record)
        return BatchResult([results[i] for i in sorted(results)], cached, transcribed,
                           time.perf_counter() - t0, audio_s)

    def _from_worker(self, job: Job, out: dict, chash: str, shash: str) -> Analysis:
        if "error" in out:
            kind, msg = out["error"]
            return self._finish(job, error=(kind, msg))
        return self._finish(job, transcript=transcript_from_json(out["transcript"]), chash=chash, shash=shash)

    def _run_pool(self, pending: list[tuple[Job, str, str]], record) -> None:
        import multiprocessing as mp

        # Longest files first, so the last file does not run alone at the end.
        pending = sorted(pending, key=lambda t: -_size(t[0].input))
        import signal

        ctx = mp.get_context("spawn")  # no fork of a process holding ONNX/CTranslate2 threads
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_worker_init) as pool:
            futures: dict[Future, tuple[Job, str, str]] = {}
            queue = list(pending)

            def submit(path: str) -> Future:
                return pool.submit(_worker_transcribe, self.transcribers, self.threads, path)

            try:
                first = True
                while queue or futures:
                    while queue and len(futures) < self.workers * 2:
                        item = queue.pop(0)
                        if first and threading.current_thread() is threading.main_thread():
                            # Workers are started by the first submits, with SIGINT and SIGTERM blocked
                            # (the mask is inherited through exec): a Ctrl-C to the terminal's process
                            # group never reaches a worker still starting up, and the parent is not
                            # stopped half-way through handing a worker its start-up data (the worker
                            # printed "EOFError: Ran out of input").  Blocked, not ignored: a signal
                            # that came meanwhile reaches the parent once they are started.
                            previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
                            try:
                                futures[submit(item[0].input)] = item
                                for _ in range(self.workers - 1):
                                    if queue:
                                        item = queue.pop(0)
                                        futures[submit(item[0].input)] = item
                            finally:
                                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
                            first = False
                            continue
                        futures[submit(item[0].input)] = item
                    ready, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for f in ready:
                        job, chash, sh = futures.pop(f)
                        try:
                            out = f.result()
                        except Exception as e:  # a worker died (e.g. killed by the OOM killer)
                            out = {"error": ["unreadable", f"{job.input}: transcription failed ({type(e).__name__})"]}
                        record(job, self._from_worker(job, out, chash, sh))
            except KeyboardInterrupt:
                # Stop now: the workers ignore SIGINT and would finish their files first (30-38 s
                # measured).  What is finished is stored already and reused by the next run.
                for f in futures:
                    f.cancel()
                for proc in list(getattr(pool, "_processes", {}).values()):
                    with contextlib.suppress(Exception):
                        proc.terminate()
                pool.shutdown(wait=True, cancel_futures=True)
                raise


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
