"""Batch analysis: a folder (or list) of recorded answers, judged fast, with a table at the end.

Why it is shaped like this:

- Transcription is the only slow step, so only it runs in worker processes,
  each loading the model once (``_worker_init``); analysis (milliseconds) and
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

Each file's question (and company) comes from, in order: a manifest CSV row
(``--manifest``), a sidecar ``NAME.json`` (``{"question": ..., "company": ...}``),
a sidecar ``NAME.txt`` (the question text), or ``--question`` for all.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from starcoach.banks import Catalogue, Company, UnknownCompany
from starcoach.model import Analysis, Transcript, transcript_from_json, transcript_to_json
from starcoach.pipeline.process import InputError, analyse_transcript, check_path, is_audio, read_text_input

#: Part of every cached transcript's key: raised when transcription itself changes, so a
#: transcript made the old way is made again. "2": both passes from one encoder run.
TRANSCRIPT_CACHE_VERSION = "2"


@dataclass(frozen=True)
class Job:
    index: int
    input: str
    question: Optional[str]
    company_id: Optional[str]
    audio: bool


class ManifestError(Exception):
    pass


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """file -> {question, company}; paths resolved against the manifest's folder."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise ManifestError(f"{path}: empty manifest")
            cols = {c.strip().lower(): c for c in reader.fieldnames if c}
            file_col = next((cols[c] for c in ("file", "path", "audio", "input") if c in cols), None)
            if file_col is None:
                raise ManifestError(f"{path}: needs a 'file' column (and 'question', optionally 'company')")
            out: dict[str, dict[str, str]] = {}
            for n, row in enumerate(reader, start=2):
                f = (row.get(file_col) or "").strip()
                if not f:
                    raise ManifestError(f"{path}:{n}: empty file name")
                p = Path(f)
                if not p.is_absolute():
                    p = path.parent / p
                out[str(p.resolve())] = {
                    "question": (row.get(cols.get("question", ""), "") or "").strip(),
                    "company": (row.get(cols.get("company", ""), "") or "").strip(),
                }
            return out
    except OSError as e:
        raise ManifestError(f"{path}: {e.strerror or e}") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: not a readable CSV file ({e})") from None


def sidecar(path: Path) -> dict[str, str]:
    """Question/company from NAME.json or NAME.txt beside an audio file."""
    j = path.with_suffix(".json")
    if j.is_file():
        try:
            data = json.loads(j.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return {k: str(data[k]).strip() for k in ("question", "company") if data.get(k)}
        except (OSError, ValueError):
            pass
    t = path.with_suffix(".txt")
    if t.is_file() and t != path:
        try:
            q = t.read_text(encoding="utf-8").strip()
            if q and len(q) < 2000:
                return {"question": " ".join(q.split())}
        except (OSError, UnicodeDecodeError):
            pass
    return {}


def plan(items: Iterable[str], *, question: Optional[str], company_id: Optional[str],
         manifest: Optional[dict[str, dict[str, str]]] = None) -> list[Job]:
    jobs = []
    for i, item in enumerate(items):
        audio = item != "-" and is_audio(Path(item))
        q, c = question, company_id
        if audio:
            meta = {}
            if manifest:
                meta = manifest.get(str(Path(item).resolve()), {})
            if not meta.get("question"):
                meta = {**sidecar(Path(item)), **{k: v for k, v in meta.items() if v}}
            q = meta.get("question") or q
            c = meta.get("company") or c
        jobs.append(Job(i, item, q, c, audio))
    return jobs


def content_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def settings_hash(model_path: str, strategy: str) -> str:
    return hashlib.sha256(f"{TRANSCRIPT_CACHE_VERSION}|{model_path}|{strategy}".encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- worker processes

_WORKER_TX = None


def _worker_init(model_path: str, threads: int) -> None:
    global _WORKER_TX
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    from starcoach.speech.transcribe import WhisperTranscriber

    _WORKER_TX = WhisperTranscriber(model_path, cpu_threads=threads)


def _worker_transcribe(path: str) -> dict:
    """Transcribe one file in a worker; errors come back as data, never as exceptions."""
    from starcoach.speech.decode import AudioError

    try:
        t = _WORKER_TX.transcribe_file(Path(path))
        return {"transcript": transcript_to_json(t)}
    except AudioError as e:
        return {"error": [e.kind, str(e)]}
    except Exception as e:  # a decoder crash on one file must not end the batch
        return {"error": ["unreadable", f"{path}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"]}


# --------------------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    analyses: list[Analysis]
    cached: int
    transcribed: int
    wall_s: float
    audio_s: float


class Batch:
    """Runs jobs; ``on_result(job, analysis)`` is called in input order as results become ready."""

    def __init__(self, jobs: list[Job], catalogue: Catalogue, *, model: Optional[str], store=None,
                 workers: Optional[int] = None, vault=None, stdin_read: Callable[[], bytes] = lambda: b"",
                 on_result: Optional[Callable[[Job, Analysis], None]] = None,
                 on_progress: Optional[Callable[[int, int, float], None]] = None,
                 on_storage_failure: Optional[Callable[[str], None]] = None):
        self.jobs = jobs
        self.catalogue = catalogue
        self.model = model
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
                self._storage_failed(e)
        elif self.storage_failure is not None:
            self.unstored += 1
        return a

    def _storage_failed(self, exc: BaseException, result: bool = True) -> None:
        from starcoach.store import DB_NAME, damaged_database_error

        store, self.store = self.store, None
        self.unstored += int(result)
        reason = str(store.damaged(exc)) if hasattr(store, "damaged") else \
            str(damaged_database_error(Path(DB_NAME), exc))
        what = "results from here on are printed but not stored" if result else "the session's end was not stored"
        self.storage_failure = f"{what}: {reason}"
        self.on_storage_failure(self.storage_failure)

    def run(self) -> BatchResult:
        from starcoach.speech.whisper_model import resolve_model

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
        model_path = None
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
            if model_path is None:
                model_path = resolve_model(self.model)
                shash = settings_hash(model_path, _strategy())
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
                from starcoach.speech.transcribe import WhisperTranscriber

                tx = WhisperTranscriber(model_path)
                global _WORKER_TX
                _WORKER_TX = tx
                for job, chash, sh in pending_audio:
                    out = _worker_transcribe(job.input)
                    record(job, self._from_worker(job, out, chash, sh))
            else:
                self._run_pool(pending_audio, model_path, record)
        return BatchResult([results[i] for i in sorted(results)], cached, transcribed,
                           time.perf_counter() - t0, audio_s)

    def _from_worker(self, job: Job, out: dict, chash: str, shash: str) -> Analysis:
        if "error" in out:
            kind, msg = out["error"]
            return self._finish(job, error=(kind, msg))
        return self._finish(job, transcript=transcript_from_json(out["transcript"]), chash=chash, shash=shash)

    def _run_pool(self, pending: list[tuple[Job, str, str]], model_path: str, record) -> None:
        import multiprocessing as mp

        # Longest files first, so the last file does not run alone at the end.
        pending = sorted(pending, key=lambda t: -_size(t[0].input))
        import signal

        ctx = mp.get_context("spawn")  # no fork of a process holding ONNX/CTranslate2 threads
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(model_path, self.threads)) as pool:
            futures: dict[Future, tuple[Job, str, str]] = {}
            queue = list(pending)
            try:
                first = True
                while queue or futures:
                    while queue and len(futures) < self.workers * 2:
                        item = queue.pop(0)
                        if first and threading.current_thread() is threading.main_thread():
                            # Workers are started by the first submits.  An ignored SIGINT is inherited
                            # through exec, so a Ctrl-C to the terminal's process group never reaches a
                            # worker still starting up (it would print a traceback); the parent handles it.
                            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
                            try:
                                futures[pool.submit(_worker_transcribe, item[0].input)] = item
                                for _ in range(self.workers - 1):
                                    if queue:
                                        item = queue.pop(0)
                                        futures[pool.submit(_worker_transcribe, item[0].input)] = item
                            finally:
                                signal.signal(signal.SIGINT, previous)
                            first = False
                            continue
                        futures[pool.submit(_worker_transcribe, item[0].input)] = item
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


def _strategy() -> str:
    from starcoach.speech.transcribe import DEFAULT_PROMPT_STRATEGY

    return DEFAULT_PROMPT_STRATEGY


# --------------------------------------------------------------------------- CSV and summary

CSV_FIELDS = ["input", "question", "company", "score", "repeat", "situation", "task", "action", "result",
              "link_back", "link_back_values", "duration_s", "wpm", "fillers_per_minute", "longest_pause_s",
              "word_count", "error"]


def csv_row(a: Analysis) -> dict[str, object]:
    row: dict[str, object] = {"input": a.input, "question": a.question or "", "company": a.company or ""}
    if a.error:
        row["error"] = a.error.message
        return row
    row["score"] = a.score
    for c in ("repeat", "situation", "task", "action", "result", "link_back"):
        row[c] = int(a.structure[c].present)
    row["link_back_values"] = "; ".join(a.structure["link_back"].values)
    row["duration_s"] = round(a.duration_s, 2) if a.duration_s is not None else ""
    if a.delivery:
        row["wpm"] = round(a.delivery.wpm, 1)
        row["fillers_per_minute"] = round(a.delivery.fillers_per_minute, 2)
        row["longest_pause_s"] = round(a.delivery.longest_pause_s, 2)
    row["word_count"] = a.checks.word_count if a.checks else ""
    row["error"] = ""
    return row


def write_csv(path: Path, analyses: list[Analysis]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        w.writeheader()
        for a in analyses:
            w.writerow(csv_row(a))
    os.replace(tmp, path)


def summary_view(result: BatchResult):
    """A rich table closing the batch: mean score, weakest components, filler rates, failures."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from starcoach.model import COMPONENT_TITLES, COMPONENTS

    ok = [a for a in result.analyses if a.error is None]
    failed = [a for a in result.analyses if a.error is not None]
    t = Table(title="Batch summary", title_justify="left", box=None, pad_edge=False, show_header=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("Answers", f"{len(result.analyses)} ({len(ok)} analysed, {len(failed)} failed; "
                         f"{result.cached} transcripts reused)")
    if ok:
        t.add_row("Mean score", f"{sum(a.score for a in ok) / len(ok):.0f}/100")
        rates = {c: sum(a.structure[c].present for a in ok) / len(ok) for c in COMPONENTS}
        weakest = [c for c in sorted(COMPONENTS, key=lambda c: rates[c])[:3] if rates[c] < 1.0]
        t.add_row("Weakest parts", ", ".join(f"{COMPONENT_TITLES[c]} ({rates[c]:.0%} present)" for c in weakest)
                  or "none: every part present in every answer")
        spoken = [a for a in ok if a.delivery]
        if spoken:
            fpm = sum(a.delivery.fillers_per_minute for a in spoken) / len(spoken)
            wpm = sum(a.delivery.wpm for a in spoken) / len(spoken)
            t.add_row("Fillers", f"{fpm:.1f} per minute on average; pace {wpm:.0f} words/min")
    if result.audio_s and result.wall_s:
        t.add_row("Speed", f"{len(result.analyses) / result.wall_s * 60:.1f} files/min, "
                           f"{result.audio_s / 60:.1f} min of audio in {result.wall_s:.1f} s "
                           f"(real-time factor {result.wall_s / result.audio_s:.3f})")
    parts = [t]
    if failed:
        ft = Text("Failed:\n", style="bold red")
        for a in failed:
            ft.append(f"  {a.error.message}\n")
        parts.append(ft)
    return Group(*parts)
