"""``starcoach vault add``: a new story by answering prompts, checked whole before it is saved.

Title, id (suggested from the title), kind, bullet points part by part,
competencies and company values, each checked as it is typed; Ctrl-D stops
without saving anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starcoach.cli.common import load_catalogue_or_fail
from starcoach.cli.env import Env
from starcoach.cli.vault import EndOfInput, load_vault, reader
from starcoach.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse


def add(args: "argparse.Namespace", env: Env, path: Path) -> int:
    from rich.markup import escape

    from starcoach.catalogue.banks import COMPETENCIES
    from starcoach.vault.format import (
        KINDS,
        PART_TITLES,
        PARTS,
        Story,
        VaultError,
        append_story,
        check_value_ref,
        slugify,
        valid_id,
    )
    from starcoach.vault.quantities import quantities

    catalogue = load_catalogue_or_fail(env)
    vault = load_vault(path, catalogue, env)
    out = env.console()
    ask = reader(env, out)
    taken = {s.id for s in vault.stories}
    kinds = {s.kind for s in vault.stories}
    out.print(f"New story for [bold]{path}[/bold] (Ctrl-D to stop without saving).")
    try:
        title = ""
        while not title:
            title = " ".join(ask("[bold]Title[/bold]: ").split())
            if not title:
                out.print("[red]A title is needed (a few words you will recognise the story by).[/red]")
        default_id = slugify(title) or "story"
        n = 2
        while default_id in taken:
            default_id = f"{slugify(title)}-{n}"
            n += 1
        while True:
            sid = ask(f"[bold]Id[/bold] [dim]\\[{default_id}][/dim]: ").lower() or default_id
            if not valid_id(sid):
                out.print(f"[red]'{escape(sid)}': use lower case letters, digits and '-' (e.g. {slugify(sid) or 'my-story'}).[/red]")
            elif sid in taken:
                out.print(f"[red]'{escape(sid)}' is already a story in the vault; choose another id.[/red]")
            else:
                break
        default_kind = next((k for k in ("success", "failure", "teamwork") if k not in kinds), "other")
        while True:
            kind = ask(f"[bold]Kind[/bold] ({', '.join(KINDS)}) [dim]\\[{default_kind}][/dim]: ").lower() \
                or default_kind
            if kind in KINDS:
                break
            out.print(f"[red]Unknown kind '{escape(kind)}'; use one of: {', '.join(KINDS)}.[/red]")
        parts: dict[str, tuple[str, ...]] = {}
        while True:
            for p in PARTS:
                out.print(f"[bold]{PART_TITLES[p]}[/bold] [dim]— bullet points, one per line; an empty line "
                          "ends[/dim]")
                bullets = []
                while True:
                    b = ask("  - ")
                    if not b:
                        break
                    bullets.append(" ".join(b.split()))
                parts[p] = tuple(bullets)
            if any(parts.values()):
                break
            out.print("[red]A story needs at least one bullet point; let's go through the parts again.[/red]")
        while True:
            raw = ask("[bold]Competencies[/bold] it shows [dim](comma-separated; ? lists them)[/dim]: ")
            if raw.strip() == "?":
                out.print(", ".join(COMPETENCIES))
                continue
            comps = tuple(dict.fromkeys(c.strip().lower() for c in raw.split(",") if c.strip()))
            bad = [c for c in comps if c not in COMPETENCIES]
            if not bad:
                break
            import difflib

            close = difflib.get_close_matches(bad[0], COMPETENCIES, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else " Type ? to list them."
            out.print(f"[red]Unknown competency '{escape(bad[0])}'.{escape(hint)}[/red]")
        while True:
            raw = ask("[bold]Company values[/bold] it shows [dim](company:value, comma-separated; empty for "
                      "none)[/dim]: ")
            values = tuple(dict.fromkeys(v.strip().lower() for v in raw.split(",") if v.strip()))
            try:
                for v in values:
                    check_value_ref(v, catalogue.companies, what="value")
                break
            except VaultError as e:
                out.print(f"[red]{escape(e.problem)}[/red]")
    except EndOfInput:
        raise UsageError("input ended before the story was complete; nothing was saved") from None
    story = Story(id=sid, title=title, kind=kind, competencies=comps, values=values, **parts)
    try:
        new = append_story(path, story, catalogue.companies)
    except VaultError as e:
        raise UsageError(f"{e}; nothing was saved") from None
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}; nothing was saved") from None
    out.print(f"Added [bold]{story.title}[/bold] ({story.id}) to {path}: {len(new.stories)} stories.")
    from rich.markup import escape

    from starcoach.cli.common import vault_edit_hint

    hint = escape(vault_edit_hint(path, env))
    if not story.result:
        out.print(f"[yellow]Tip: the story has no result yet; add one with {hint}.[/yellow]")
    elif not any(quantities(b) for b in story.result):
        out.print("[yellow]Tip: no number in the result. A measured result (\"from 9% to 3%\") is what "
                  f"interviewers remember; add it with {hint}.[/yellow]")
    return ExitStatus.OK
