"""Where a batch's transcriptions run: the engine protocol, what every engine shares, and the local engine.

:class:`~starcoach.pipeline.batch.Batch` decides what must be transcribed
(the cache, the plan, the output order) and hands an engine the files in
input order; the engine transcribes each one with :func:`transcribe_one`
wherever its workers are, several at once longest first
(:func:`longest_first`, so that the last file does not run alone at the
end), and gives each result back as soon as it has it, as plain data (``{"transcript": ...}`` or
``{"error": [kind, message]}``), in any order.  An engine never raises for
one file; on Ctrl-C it stops its workers at once and lets
``KeyboardInterrupt`` through.

- :class:`LocalEngine`: worker processes on this machine (one per core,
  one thread each), or this process for one worker or one file.
- ``pipeline.ray_engine.RayEngine``: Ray actors, on a local Ray instance or a
  cluster (the ``ray`` extra).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from pathlib import Path
from typing import Callable, Optional, Protocol

from starcoach.edges import Transcriber, TranscriberFactory
from starcoach.model import transcript_to_json
from starcoach.text import first_line

#: How an engine gives a result back: (index in the list it was given, the result as data).
Deliver = Callable[[int, dict], None]


class Engine(Protocol):
    """Transcribes files somewhere; see the module's docstring for the rules every engine keeps."""

    def workers_for(self, n_audio: int) -> int:
        """How many workers transcribe ``n_audio`` files (as far as is known before starting)."""
        ...

    def describe(self, n_audio: int) -> str:
        """What the line before the progress bar says ("2 worker(s)")."""
        ...

    def run(self, factory: TranscriberFactory, paths: list[str], deliver: Deliver) -> None:
        """Transcribe every path (given in input order), calling ``deliver(i, result)`` for each."""
        ...


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


def worker_died(path: str, why: str) -> dict:
    """The result for a file whose worker died under it (killed, out of memory), as data."""
    return {"error": ["unreadable", f"{path}: transcription failed ({why})"]}


def longest_first(paths: list[str]) -> list[int]:
    """Indices of ``paths``, largest file first, so that the last file does not run alone at the end."""
    return sorted(range(len(paths)), key=lambda i: -file_size(paths[i]))


def file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def cores() -> int:
    return os.cpu_count() or 1


# --------------------------------------------------------------------------- the local engine's worker processes


def _worker_init() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    # Started with SIGINT and SIGTERM blocked (see LocalEngine._run_pool): a Ctrl-C that came during
    # start-up is dropped now (ignored), a terminate() from the parent takes effect now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@functools.lru_cache(maxsize=1)
def _worker_transcriber(factory: TranscriberFactory, threads: int) -> Transcriber:
    """The worker process's transcriber: made (the model loaded) by its first file, reused for the rest."""
    return factory(cpu_threads=threads)


def _worker_transcribe(factory: TranscriberFactory, threads: int, path: str) -> dict:
    return transcribe_one(_worker_transcriber(factory, threads), path)


class LocalEngine:
    """Worker processes on this machine.

    Two workers with one thread each beat one process with two threads on a
    2-core machine (CTranslate2 parallelises a tiny model poorly inside one
    decode), so workers = cores and threads = 1, unless there is one file.
    Workers are spawned (no fork of a process holding ONNX/CTranslate2
    threads) and ignore SIGINT: the parent handles Ctrl-C and terminates them.
    """

    def __init__(self, workers: Optional[int] = None):
        self.requested = workers

    def workers_for(self, n_audio: int) -> int:
        return max(1, min(self.requested or cores(), n_audio or 1))

    def describe(self, n_audio: int) -> str:
        return f"{self.workers_for(n_audio)} worker(s)"

    def run(self, factory: TranscriberFactory, paths: list[str], deliver: Deliver) -> None:
        workers = self.workers_for(len(paths))
        if workers == 1 or len(paths) == 1:
            tx = factory()
            for i in range(len(paths)):
                deliver(i, transcribe_one(tx, paths[i]))
            return
        self._run_pool(factory, paths, deliver, workers, max(1, cores() // workers))

    def _run_pool(self, factory: TranscriberFactory, paths: list[str], deliver: Deliver, workers: int,
                  threads: int) -> None:
        import multiprocessing as mp
        import signal

        # Here, not at the top: a batch of text files, or of one recording, never starts a pool,
        # and concurrent.futures brings in multiprocessing and logging (10 ms of every start).
        from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
            futures: dict[Future, int] = {}
            queue = longest_first(paths)

            def submit(i: int) -> None:
                futures[pool.submit(_worker_transcribe, factory, threads, paths[i])] = i

            try:
                first = True
                while queue or futures:
                    while queue and len(futures) < workers * 2:
                        if first and threading.current_thread() is threading.main_thread():
                            # Workers are started by the first submits, with SIGINT and SIGTERM blocked
                            # (the mask is inherited through exec): a Ctrl-C to the terminal's process
                            # group never reaches a worker still starting up, and the parent is not
                            # stopped half-way through handing a worker its start-up data (the worker
                            # printed "EOFError: Ran out of input").  Blocked, not ignored: a signal
                            # that came meanwhile reaches the parent once they are started.
                            previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
                            try:
                                for _ in range(min(workers, len(queue))):
                                    submit(queue.pop(0))
                            finally:
                                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
                            first = False
                            continue
                        submit(queue.pop(0))
                    ready, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for f in ready:
                        i = futures.pop(f)
                        try:
                            out = f.result()
                        except Exception as e:  # a worker died (e.g. killed by the OOM killer)
                            out = worker_died(paths[i], type(e).__name__)
                        deliver(i, out)
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
