"""``starcoach vault coverage --company ID``: which of a company's values the stories show, and the gaps.

Per value: the stories mapped onto it or inferred to show it, and the past
answers whose link back named it (``vault.coverage``); then the questions
that probe the company's values with the story that fits each best.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starcoach.cli.common import load_catalogue_or_fail, resolve_company, vault_edit_hint
from starcoach.cli.env import Env
from starcoach.cli.vault import load_vault
from starcoach.errors import ExitStatus

if TYPE_CHECKING:
    import argparse

#: Below this fit a story is not offered as the answer to a question.
GOOD_FIT = 0.3


def _open_store_if_any(args: "argparse.Namespace", env: Env):
    """The data folder's store when it already exists (coverage never creates one)."""
    from rich.markup import escape

    from starcoach.store.database import DB_NAME, Store, default_data_dir
    from starcoach.store.errors import StoreError

    root = Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else default_data_dir(env.environ)
    if not (root / DB_NAME).exists():
        return None
    try:
        return Store.open(root)
    except StoreError as e:
        env.console(err=True).print(f"[yellow]warning: past answers not counted: {escape(str(e))}[/yellow]",
                                    soft_wrap=True)
        return None


def coverage(args: "argparse.Namespace", env: Env, path: Path) -> int:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from starcoach.catalogue.questions import rank_for_company
    from starcoach.vault.coverage import value_coverage, value_covers
    from starcoach.vault.matching import best_story

    catalogue = load_catalogue_or_fail(env)
    company = resolve_company(catalogue, args.company)
    assert company is not None
    vault = load_vault(path, catalogue, env)
    store = _open_store_if_any(args, env)
    try:
        covers = value_covers(company, store, vault)
    finally:
        if store is not None:
            store.close()
    refs = value_coverage(vault, company)
    out = env.console()
    out.print(f"[bold]{escape(company.name)}[/bold]: its values and the stories in your vault that show them")
    t = Table(box=None, pad_edge=False)
    t.add_column("value", max_width=30)
    t.add_column("coverage", no_wrap=True)
    t.add_column("answers", justify="right")
    t.add_column("stories that show it")
    none = one = 0
    for c in covers:
        cell = Text()
        for i, r in enumerate(refs.get(c.value_id, [])):
            if i:
                cell.append("\n")
            cell.append(str(r), style="bold" if not r.inferred else "")
            if r.inferred:
                cell.append(f" (inferred: {r.evidence})", style="dim")
        if not cell:
            cell.append("—", style="dim")
        count = len(c.explicit) + len(c.inferred)
        if count == 0:
            status, style = "no story", "bold red"
            none += 1
        elif count == 1:
            status, style = "only one" if c.explicit else "only one, inferred", "yellow"
            one += 1
        elif not c.explicit:
            status, style = "inferred only", "yellow"
        else:
            status, style = "covered", "green"
        t.add_row(Text(c.name, style="bold"), Text(status, style=style),
                  str(c.answers) if c.answers else "[dim]0[/dim]", cell)
    out.print(t)
    out.print(f"[dim]answers: past answers for {escape(company.name)} whose link back named the value. Inferred: "
              "from the story's words or competency tags, not from its values list; confirm one by adding "
              f"\"{company.id}:VALUE-ID\" to the story's values.[/dim]")
    if none or one:
        out.print(f"[yellow]{none} of {len(covers)} values have no story and {one} only one. Map each onto a "
                  f"vault story ({escape(vault_edit_hint(path, env))}), and practise them first with "
                  f"`starcoach practice --company {company.id} --focus gaps`.[/yellow]")
    else:
        out.print(f"[green]Every {escape(company.name)} value has at least two stories.[/green]")

    ranked = [(q, vals) for q, vals in rank_for_company(catalogue.questions, company) if vals]
    out.print()
    out.print(f"[bold]Questions that probe {escape(company.name)}'s values, and the story that fits best[/bold]")
    q_table = Table(box=None, pad_edge=False)
    q_table.add_column("id", style="dim", no_wrap=True)
    q_table.add_column("question", ratio=1)
    q_table.add_column("probes", style="cyan", max_width=26)
    q_table.add_column("best story (fit)", no_wrap=True)
    unfit = 0
    for q, vals in ranked:
        best = best_story(vault, q)
        if best is None or best[1] < GOOD_FIT:
            unfit += 1
            cell = Text("no story fits well", style="red")
        else:
            cell = Text(best[0].id)
            cell.append(f" ({best[1]:.2f})", style="dim")
        q_table.add_row(q.id, Text(q.text), Text("\n".join(v.name for v in vals)), cell)
    out.print(q_table)
    out.print(f"[dim]{len(ranked)} questions; {unfit} have no story that fits well "
              f"(fit below {GOOD_FIT}). `starcoach vault show ID` shows a story.[/dim]")
    return ExitStatus.OK
