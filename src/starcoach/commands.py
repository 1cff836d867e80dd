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
    from starcoach.process import TranscriberSource, expand_inputs, process_input

    catalogue = load_catalogue_or_fail(env)
    company = resolve_company(catalogue, args.company)
    if args.inputs.count("-") > 1:
        raise UsageError("standard input ('-') can be given only once")
    err = env.console(err=True)
    out = env.console()

    def on_load() -> None:
        err.print("[dim]Loading the speech model…[/dim]")

    transcribers = TranscriberSource(args.model, on_load=on_load)
    failed = 0
    analyses = []
    for item in expand_inputs(args.inputs):
        if len(args.inputs) > 1 or item not in args.inputs:
            err.print(f"[dim]Analysing {item}…[/dim]")
        try:
            a = process_input(item, question=args.question, company=company, transcribers=transcribers,
                              stdin_read=env.read_stdin_bytes)
        except _model_errors() as e:
            raise UsageError(str(e)) from None
        analyses.append(a)
        if a.error is not None:
            failed += 1
            err.print(f"[bold red]error:[/bold red] {a.error.message}", markup=True, highlight=False)
        if args.json:
            emit_json(a.to_json(), env)
        elif a.error is None:
            from starcoach.report import analysis_view

            out.print(analysis_view(a))
    return ExitStatus.INPUT_FAILED if failed else ExitStatus.OK


def _model_errors() -> tuple[type[BaseException], ...]:
    """The transcriber's "no usable model" error is a usage problem, not one input's."""
    try:
        from starcoach.transcribe import ModelNotFound
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
