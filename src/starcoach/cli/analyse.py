"""``starcoach analyse INPUT...``: judge text, audio files and folders, one result per input.

Checks the arguments (company, manifest, workers, engine, model) before any work,
then runs a :class:`~starcoach.pipeline.batch.Batch` and prints each result
as it is ready (a report, a line per file, or JSON Lines) in input order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starcoach.cli.common import (
    load_catalogue_or_fail,
    load_vault_quiet,
    open_store,
    resolve_company,
    resolve_model_or_fail,
)
from starcoach.cli.env import Env, emit_json
from starcoach.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse


def cmd_analyse(args: "argparse.Namespace", env: Env) -> int:
    from pathlib import Path

    from rich.markup import escape

    from starcoach.pipeline.batch import Batch, WhisperFactory
    from starcoach.pipeline.plan import plan, read_manifest
    from starcoach.pipeline.process import MAX_TRANSCRIPT_BYTES, expand_inputs
    from starcoach.store.errors import StoreError
    from starcoach.views.batch import progress_bar, result_line, summary_view
    from starcoach.views.report import analysis_view

    catalogue = load_catalogue_or_fail(env)
    company = resolve_company(catalogue, args.company)
    if args.inputs.count("-") > 1:
        raise UsageError("standard input ('-') can be given only once")
    manifest = read_manifest(Path(args.manifest)) if args.manifest else None  # ManifestError: a usage error
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    engine = _engine(args)
    err = env.console(err=True)
    out = env.console()
    items = list(expand_inputs(args.inputs))
    jobs = plan(items, question=args.question, company_id=company.id if company else None, manifest=manifest)
    transcribers = None
    if any(j.audio for j in jobs):  # fail before any work if there is no usable model
        transcribers = WhisperFactory.resolve(resolve_model_or_fail(args.model, args, env))
    store = None
    storage_failed = False
    try:
        store = open_store(args, env)
    except UsageError as e:
        storage_failed = True  # the results are printed, but not kept: exit 3 says so
        err.print(f"[yellow]warning: results will not be stored: {escape(str(e))}[/yellow]", soft_wrap=True)
    single = len(jobs) == 1
    failed = 0

    def on_result(job, a) -> None:
        nonlocal failed
        if a.error is not None:
            failed += 1
            err.print(f"[bold red]error:[/bold red] {escape(a.error.message)}", highlight=False, soft_wrap=True)
        if args.json:
            emit_json(a.to_json(), env)
        elif a.error is None:
            if single:
                out.print(analysis_view(a))
            else:
                out.print(result_line(a), highlight=False)

    progress = progress_bar(err, len(jobs)) if any(j.audio for j in jobs) or len(jobs) > 3 else None

    def on_progress(done: int, total: int, audio_s: float) -> None:
        if progress is not None:
            progress.advance_to(done, audio_s)

    vault = None
    if store is not None:
        vault = load_vault_quiet(store.root / "vault.toml", catalogue, err, env)

    def on_storage_failure(message: str) -> None:
        err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)

    def on_transcribe(description: str) -> None:  # only once a file passed its checks and is not cached
        err.print(f"[dim]Transcribing with {description}…[/dim]")

    batch = Batch(jobs, catalogue, transcribers=transcribers, store=store, engine=engine, vault=vault,
                  stdin_read=lambda: env.read_stdin_bytes(MAX_TRANSCRIPT_BYTES + 1), on_result=on_result, on_progress=on_progress,
                  on_storage_failure=on_storage_failure, on_transcribe=on_transcribe)
    session_status = "interrupted"  # unless the batch runs to its end
    try:
        if progress is not None:
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
            batch.finish_session(session_status)
            store.close()
    if args.csv:
        from starcoach.export.batch_csv import write_csv

        try:
            write_csv(Path(args.csv), result.analyses)
        except OSError as e:
            err.print(f"[bold red]error:[/bold red] cannot write {escape(args.csv)}: {escape(str(e.strerror or e))}",
                      soft_wrap=True)
            failed += 1
    if not single:
        (err if args.json else out).print(summary_view(result))
    if storage_failed or batch.storage_failure is not None:  # said in one line when it happened
        return ExitStatus.STORAGE
    return ExitStatus.INPUT_FAILED if failed else ExitStatus.OK


def _engine(args: "argparse.Namespace"):
    """The engine --engine names, checked before any work: Ray must be installed to be asked for."""
    if args.engine != "ray":
        if args.ray_address:
            raise UsageError("--ray-address goes with --engine ray")
        from starcoach.pipeline.engine import LocalEngine

        return LocalEngine(args.workers)
    from starcoach.pipeline.ray_engine import RayEngine, check_installed

    check_installed()
    if args.ray_address is not None and not args.ray_address.strip():
        raise UsageError("--ray-address needs an address (auto, HOST:PORT or ray://HOST:PORT)")
    return RayEngine(args.ray_address, args.workers)


def _model_errors() -> tuple[type[BaseException], ...]:
    """The transcriber's "no usable model" error is a usage problem, not one input's."""
    try:
        from starcoach.speech.whisper_model import ModelNotFound
    except Exception:  # pragma: no cover - transcription extras missing
        return ()
    return (ModelNotFound,)
