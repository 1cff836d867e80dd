"""The bodies of the CLI commands: glue between arguments, stages and output.

Kept apart from cli.py so that the parser (imported for every call, even
``--help``) stays free of heavy imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from starcoach.cli import Env, ExitStatus, UsageError, emit_json

if TYPE_CHECKING:
    import argparse

    from starcoach.banks import Catalogue, Company


def load_catalogue_or_fail(env: Env) -> "Catalogue":
    from starcoach.banks import BankError, load_catalogue, search_dirs

    try:
        return load_catalogue(search_dirs(env.environ))
    except BankError as e:
        raise UsageError(f"bad question bank or company file: {e}") from None


def resolve_company(catalogue: "Catalogue", company_id: Optional[str]) -> Optional["Company"]:
    from starcoach.banks import UnknownCompany

    if not company_id:
        return None
    try:
        return catalogue.company(company_id)
    except UnknownCompany as e:
        raise UsageError(str(e)) from None


def cmd_analyse(args: "argparse.Namespace", env: Env) -> int:
    from pathlib import Path

    from starcoach.batch import Batch, ManifestError, plan, read_manifest, summary_view, write_csv
    from starcoach.process import expand_inputs
    from starcoach.report import analysis_view
    from starcoach.store import StoreError

    catalogue = load_catalogue_or_fail(env)
    company = resolve_company(catalogue, args.company)
    if args.inputs.count("-") > 1:
        raise UsageError("standard input ('-') can be given only once")
    manifest = None
    if args.manifest:
        try:
            manifest = read_manifest(Path(args.manifest))
        except ManifestError as e:
            raise UsageError(str(e)) from None
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    err = env.console(err=True)
    out = env.console()
    items = list(expand_inputs(args.inputs))
    jobs = plan(items, question=args.question, company_id=company.id if company else None, manifest=manifest)
    if any(j.audio for j in jobs):
        from starcoach.speech.whisper_model import ModelNotFound, resolve_model

        try:
            resolve_model(args.model)  # fail before any work if there is no usable model
        except ModelNotFound as e:
            raise UsageError(str(e)) from None
    store = None
    storage_failed = False
    try:
        store = open_store(args, env)
    except UsageError as e:
        storage_failed = True  # the results are printed, but not kept: exit 3 says so
        err.print(f"[yellow]warning: results will not be stored: {e}[/yellow]", soft_wrap=True)
    single = len(jobs) == 1
    failed = 0

    def on_result(job, a) -> None:
        nonlocal failed
        if a.error is not None:
            failed += 1
            err.print(f"[bold red]error:[/bold red] {a.error.message}", highlight=False, soft_wrap=True)
        if args.json:
            emit_json(a.to_json(), env)
        elif a.error is None:
            if single:
                out.print(analysis_view(a))
            else:
                out.print(f"[bold]{a.score:3d}[/bold]  {a.input}  [dim]{_marks(a)}[/dim]", highlight=False)

    progress = None
    task = None
    if any(j.audio for j in jobs) or len(jobs) > 3:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        progress = Progress(TextColumn("[bold]Analysing"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                            TimeRemainingColumn(), console=err, transient=True)
        task = progress.add_task("analyse", total=len(jobs), rate="")
    started = [0.0]

    def on_progress(done: int, total: int, audio_s: float) -> None:
        import time

        if progress is not None:
            dt = max(1e-6, time.perf_counter() - started[0])
            progress.update(task, completed=done, rate=f"{done / dt:.2f} files/s")

    vault = None
    if store is not None:
        vault = load_vault_quiet(store.root / "vault.toml", catalogue, err)

    def on_storage_failure(message: str) -> None:
        err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)

    batch = Batch(jobs, catalogue, model=args.model, store=store, workers=args.workers, vault=vault,
                  stdin_read=env.read_stdin_bytes, on_result=on_result, on_progress=on_progress,
                  on_storage_failure=on_storage_failure)
    session_status = "interrupted"  # unless the batch runs to its end
    try:
        import time

        started[0] = time.perf_counter()
        if progress is not None:
            if any(j.audio for j in jobs):
                err.print(f"[dim]Transcribing with {batch.workers} worker(s)…[/dim]")
            with progress:
                result = batch.run()
        else:
            result = batch.run()
        session_status = "complete"
    except _model_errors() as e:
        raise UsageError(str(e)) from None
    except StoreError as e:
        raise UsageError(str(e)) from None
    finally:
        if store is not None:
            if batch.session_id is not None and batch.store is not None:
                try:
                    store.finish_session(batch.session_id, session_status)
                except Exception as e:  # said in one line, never a traceback
                    batch._storage_failed(e, result=False)
            store.close()
    if args.csv:
        try:
            write_csv(Path(args.csv), result.analyses)
        except OSError as e:
            err.print(f"[bold red]error:[/bold red] cannot write {args.csv}: {e.strerror or e}")
            failed += 1
    if not single:
        (err if args.json else out).print(summary_view(result))
    if storage_failed or batch.storage_failure is not None:  # said in one line when it happened
        return ExitStatus.STORAGE
    return ExitStatus.INPUT_FAILED if failed else ExitStatus.OK


def _marks(a) -> str:
    from starcoach.model import COMPONENT_LETTERS, COMPONENTS

    return " ".join(COMPONENT_LETTERS[c] if a.structure[c].present else "-" for c in COMPONENTS)


def _model_errors() -> tuple[type[BaseException], ...]:
    """The transcriber's "no usable model" error is a usage problem, not one input's."""
    try:
        from starcoach.speech.whisper_model import ModelNotFound
    except Exception:  # pragma: no cover - transcription extras missing
        return ()
    return (ModelNotFound,)


def cmd_companies(args: "argparse.Namespace", env: Env) -> int:
    from rich.table import Table

    catalogue = load_catalogue_or_fail(env)
    out = env.console()
    if args.company:
        c = resolve_company(catalogue, args.company)
        assert c is not None
        out.print(f"[bold]{c.name}[/bold] [dim]({c.id}, {c.path})[/dim]")
        if c.summary:
            out.print(c.summary)
        t = Table(show_lines=False, box=None, pad_edge=False)
        t.add_column("value", style="bold")
        t.add_column("what it means in practice")
        t.add_column("words that evoke it", style="dim")
        for v in c.values:
            t.add_row(v.name, v.meaning, ", ".join(v.cues[:8]))
        out.print(t)
        return ExitStatus.OK
    t = Table(box=None, pad_edge=False)
    t.add_column("id", style="bold")
    t.add_column("name")
    t.add_column("values", justify="right")
    t.add_column("e.g.", style="dim")
    for c in sorted(catalogue.companies.values(), key=lambda c: c.id):
        t.add_row(c.id, c.name, str(len(c.values)), "; ".join(v.name for v in c.values[:3]))
    out.print(t)
    out.print(f"[dim]{len(catalogue.companies)} companies. `starcoach companies ID` shows one in full.[/dim]")
    return ExitStatus.OK


def cmd_questions(args: "argparse.Namespace", env: Env) -> int:
    from rich.table import Table

    from starcoach.banks import COMPETENCIES
    from starcoach.questions import rank_for_company

    catalogue = load_catalogue_or_fail(env)
    questions = catalogue.questions
    if args.bank:
        if args.bank not in catalogue.banks:
            raise UsageError(f"unknown bank '{args.bank}' (known: {', '.join(sorted(catalogue.banks))})")
        questions = [q for q in questions if q.bank == args.bank]
    if args.competency:
        comp = args.competency.lower()
        if comp not in COMPETENCIES:
            raise UsageError(f"unknown competency '{args.competency}' (known: {', '.join(COMPETENCIES)})")
        questions = [q for q in questions if comp in q.competencies]
    out = env.console()
    t = Table(box=None, pad_edge=False)
    t.add_column("id", style="bold", no_wrap=True)
    t.add_column("question")
    t.add_column("competencies", style="dim")
    company = resolve_company(catalogue, args.company)
    if company:
        t.add_column(f"{company.name} values it probes", style="cyan")
        for q, vals in rank_for_company(questions, company):
            t.add_row(q.id, q.text, ", ".join(q.competencies), ", ".join(v.name for v in vals) or "—")
    else:
        for q in questions:
            t.add_row(q.id, q.text, ", ".join(q.competencies))
    out.print(t)
    out.print(f"[dim]{len(questions)} questions.[/dim]")
    return ExitStatus.OK


def open_store(args: "argparse.Namespace", env: Env):
    from pathlib import Path

    from starcoach.store import Store, StoreError, default_data_dir

    root = Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else default_data_dir(env.environ)
    try:
        return Store.open(root)
    except StoreError as e:
        raise UsageError(str(e)) from None


def load_vault_quiet(path, catalogue, err):
    """The story vault if there is one; a broken vault is reported once and ignored."""
    from starcoach.vault import VaultError, VaultMissing, load

    try:
        return load(path, catalogue.companies)
    except VaultMissing:
        return None
    except VaultError as e:
        err.print(f"[yellow]warning: story vault not used: {e} (fix it with `starcoach vault edit`)[/yellow]",
                  soft_wrap=True)
        return None


def load_transcriber(model: Optional[str], err):
    """The speech model, loaded once and warmed up, with a note on standard error."""
    import time

    from starcoach.speech.transcribe import WhisperTranscriber
    from starcoach.speech.whisper_model import ModelNotFound, TranscriptionError

    t0 = time.perf_counter()
    try:
        from starcoach.speech.whisper_model import resolve_model

        with err.status("Loading the speech model…"):
            tx = WhisperTranscriber(resolve_model(model))
            tx.warm_up()
    except ModelNotFound as e:
        raise UsageError(str(e)) from None
    except TranscriptionError as e:
        raise UsageError(f"cannot load the speech model: {e}") from None
    err.print(f"[dim]Speech model ready ({time.perf_counter() - t0:.1f} s).[/dim]")
    return tx


def recover_unfinished(store, transcriber, catalogue, keys, out, err, vault=None) -> None:
    """Offer to analyse answers whose recording was cut off (crash, kill, power loss)."""
    for row in store.unfinished_answers():
        path = store.absolute(row.audio_path)
        lock = store.hold_answer(path) if path is not None and path.exists() else None
        if path is not None and path.exists() and lock is None:
            # Another starcoach process is recording or judging this answer right now.
            err.print(f"[dim]An answer being recorded by another starcoach process (session {row.session_id}) "
                      "is left alone.[/dim]")
            continue
        try:
            _recover_one(store, row, path, transcriber, catalogue, keys, out, err, vault)
        finally:
            if lock is not None:
                lock.release()


def _recover_one(store, row, path, transcriber, catalogue, keys, out, err, vault) -> None:
    from starcoach.capture.wav_repair import repair_wav
    from starcoach.process import analyse_transcript
    from starcoach.report import analysis_view

    if path is None or not path.exists() or path.stat().st_size <= 44:
        store.set_status(row.id, "failed", "the recording was cut off before any audio was saved")
        return
    try:
        repair_wav(path)
    except Exception as e:  # a damaged file: keep it, say so, move on
        err.print(f"[yellow]Could not repair {path}: {e}[/yellow]")
    from starcoach.speech.decode import AudioError

    q = row.question or "(no question)"
    choice = keys.ask(f"\n[yellow]An answer from {row.created_at} was not finished[/yellow] "
                      f"(question: \u201c{q}\u201d, audio kept in {path}).\n"
                      "[bold]\\[Y][/bold] recover and analyse it now, [bold]\\[n][/bold] later? ",
                      out, {"y": "yes", "n": "no"}, "y")
    if choice != "yes":
        return
    try:
        transcript = transcriber.transcribe_file(path)
    except AudioError as e:
        store.set_status(row.id, "failed", str(e))
        err.print(f"[red]{e}[/red]")
        return
    company = catalogue.companies.get(row.company) if row.company else None
    a = analyse_transcript(transcript, input=store.relative(path), question=row.question, company=company,
                           vault=vault)
    store.save_analysis(row.id, a, transcript)
    store.finish_session(row.session_id, "interrupted")
    out.print(analysis_view(a) if a.error is None else f"[red]{a.error.message}[/red]")


def cmd_practice(args: "argparse.Namespace", env: Env) -> int:
    from pathlib import Path

    from starcoach.banks import COMPETENCIES
    from starcoach.capture.mic_file import FileSource
    from starcoach.capture.microphone import MicrophoneSource
    from starcoach.capture.portaudio import HardwareError
    from starcoach.practice import Keys, Practice, PracticeOptions

    catalogue = load_catalogue_or_fail(env)
    company = resolve_company(catalogue, args.company)
    if args.bank and args.bank not in catalogue.banks:
        raise UsageError(f"unknown bank '{args.bank}' (known: {', '.join(sorted(catalogue.banks))})")
    if args.competency and args.competency not in COMPETENCIES:
        raise UsageError(f"unknown competency '{args.competency}' (known: {', '.join(COMPETENCIES)})")
    known_ids = {q.id for q in catalogue.questions}
    for qid in args.question_id:
        if qid not in known_ids:
            raise UsageError(f"unknown question id '{qid}' (see `starcoach questions`)")
    mic_file = Path(args.mic_file) if args.mic_file else None
    extra_questions = []
    if args.demo:
        import json

        from starcoach.banks import Question, examples_dir

        ex = examples_dir()
        meta = json.loads((ex / "answer.json").read_text())
        mic_file = ex / "answer.ogg"
        extra_questions = [Question(id="example", text=meta["question"], competencies=("ownership",), bank="example")]
        if company is None:
            company = resolve_company(catalogue, meta.get("company"))
        args.questions = 1
    if mic_file is not None:
        from starcoach.process import check_path

        bad = check_path(str(mic_file))
        if bad is not None:
            raise UsageError(f"--mic-file {bad.message}")
    out = env.console()
    err = env.console(err=True)
    store = open_store(args, env)
    keys = Keys(env.stdin)
    try:
        transcriber = load_transcriber(args.model, err)
        vault = load_vault_quiet(Path(args.vault) if args.vault else store.root / "vault.toml", catalogue, err)
        if not args.no_recover:
            recover_unfinished(store, transcriber, catalogue, keys, out, err, vault)
        if mic_file is not None:
            def source_factory():
                return FileSource(mic_file, realtime=True)
        else:
            device = args.input_device
            if device is not None and device.isdigit():
                device = int(device)

            def source_factory():
                return MicrophoneSource(device=device)

            # Fail before the first question if there is no usable microphone.
            try:
                with source_factory():
                    pass
            except HardwareError as e:
                raise UsageError(str(e)) from None
        speaker = None
        if not args.no_speak:
            from starcoach.capture.speak import TtsSpeaker

            speaker = TtsSpeaker(voice=args.voice, rate_wpm=args.rate)
            if not speaker.available:
                err.print(f"[dim]Questions will be shown, not spoken ({speaker.unavailable_reason}).[/dim]")
                speaker = None
        options = PracticeOptions(
            company=company, bank=args.bank, competency=args.competency, questions=args.questions,
            think_time_s=args.think_time, max_answer_s=args.max_answer, end_silence_s=args.end_silence,
            speak=not args.no_speak, voice=args.voice, rate_wpm=args.rate, input_device=args.input_device,
            mic_file=mic_file, model=args.model, question_ids=list(args.question_id), focus=args.focus,
            vault_path=Path(args.vault) if args.vault else store.root / "vault.toml")
        if args.focus == "gaps" and company is None:
            raise UsageError("--focus gaps needs --company (the values to cover)")
        if extra_questions:
            options.question_ids = [q.id for q in extra_questions]
        practice = Practice(options, catalogue, store, out, keys, speaker=speaker, source_factory=source_factory,
                            transcriber=transcriber, err=err, extra_questions=extra_questions, vault=vault)
        try:
            return practice.run()
        except HardwareError as e:
            raise UsageError(str(e)) from None
    finally:
        store.close()


def cmd_devices(args: "argparse.Namespace", env: Env) -> int:
    from rich.table import Table

    from starcoach.capture.portaudio import HardwareError, list_devices

    out = env.console()
    try:
        devices = list_devices()
    except HardwareError as e:
        raise UsageError(str(e)) from None
    t = Table(box=None, pad_edge=False)
    for col in ("id", "name", "in", "out", "rate", "default"):
        t.add_column(col)
    for d in devices:
        default = ", ".join(x for x, ok in (("input", d.is_default_input), ("output", d.is_default_output)) if ok)
        t.add_row(str(d.index), d.name, str(d.inputs), str(d.outputs), f"{d.default_samplerate:.0f}", default)
    out.print(t)
    if not any(d.inputs for d in devices):
        out.print("[yellow]No microphone found. Use `starcoach practice --mic-file FILE` to practise with a "
                  "recording.[/yellow]")
    if args.voices:
        from starcoach.capture.speak import list_voices

        voices = list_voices()
        out.print(f"\n[bold]Voices[/bold] ({len(voices)}): " + ", ".join(voices[:40]))
    return ExitStatus.OK
