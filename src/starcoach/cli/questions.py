"""``starcoach questions``: the questions in the banks, filtered by bank, competency, role or company."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starcoach.cli.common import load_catalogue_or_fail, resolve_company
from starcoach.cli.env import Env
from starcoach.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse


def cmd_questions(args: "argparse.Namespace", env: Env) -> int:
    from rich.table import Table
    from rich.text import Text

    from starcoach.catalogue.banks import COMPETENCIES, ROLES
    from starcoach.catalogue.questions import rank_for_company

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
    if getattr(args, "role", None):
        role = args.role.lower()
        if role not in ROLES:
            raise UsageError(f"unknown role '{args.role}' (known: {', '.join(ROLES)})")
        questions = [q for q in questions if not q.roles or role in q.roles]
    out = env.console()
    t = Table(box=None, pad_edge=False)
    t.add_column("id", style="bold", no_wrap=True)
    t.add_column("question")
    t.add_column("competencies", style="dim")
    company = resolve_company(catalogue, args.company)
    if company:
        t.add_column(f"{company.name} values it probes", style="cyan")
        for q, vals in rank_for_company(questions, company):
            t.add_row(q.id, Text(q.text), ", ".join(q.competencies), Text(", ".join(v.name for v in vals) or "—"))
    else:
        for q in questions:
            t.add_row(q.id, Text(q.text), ", ".join(q.competencies))
    out.print(t)
    out.print(f"[dim]{len(questions)} questions.[/dim]")
    return ExitStatus.OK
