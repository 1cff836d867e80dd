"""``starcoach companies [ID]``: the company profiles, or one company's values in full."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starcoach.cli.common import load_catalogue_or_fail, resolve_company
from starcoach.cli.env import Env
from starcoach.errors import ExitStatus

if TYPE_CHECKING:
    import argparse


def cmd_companies(args: "argparse.Namespace", env: Env) -> int:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    catalogue = load_catalogue_or_fail(env)
    out = env.console()
    if args.company:
        c = resolve_company(catalogue, args.company)
        assert c is not None
        out.print(f"[bold]{escape(c.name)}[/bold] [dim]({c.id}, {escape(str(c.path))})[/dim]")
        if c.summary:
            out.print(Text(c.summary))
        t = Table(show_lines=False, box=None, pad_edge=False)
        t.add_column("value", style="bold")
        t.add_column("what it means in practice")
        t.add_column("words that evoke it", style="dim")
        for v in c.values:
            t.add_row(Text(v.name), Text(v.meaning), Text(", ".join(v.cues[:8])))
        out.print(t)
        return ExitStatus.OK
    t = Table(box=None, pad_edge=False)
    t.add_column("id", style="bold")
    t.add_column("name")
    t.add_column("values", justify="right")
    t.add_column("e.g.", style="dim")
    for c in sorted(catalogue.companies.values(), key=lambda c: c.id):
        t.add_row(c.id, Text(c.name), str(len(c.values)), Text("; ".join(v.name for v in c.values[:3])))
    out.print(t)
    out.print(f"[dim]{len(catalogue.companies)} companies. `starcoach companies ID` shows one in full.[/dim]")
    return ExitStatus.OK
