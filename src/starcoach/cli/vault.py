"""``starcoach vault``: create, list, show, add, edit and check the story vault.

The vault file is ``--vault FILE``, else ``vault.toml`` in the data folder
(``--data-dir``, ``$STARCOACH_HOME`` or ``./recordings``).  The format and
the matching live in ``vault/``; this module is the terminal side: init,
list, show and edit here, the prompts of ``add`` in ``cli/vault_add.py``,
``coverage`` in ``cli/vault_coverage.py``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from starcoach.cli.common import load_catalogue_or_fail
from starcoach.cli.env import Env
from starcoach.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse

    from starcoach.catalogue.banks import Catalogue
    from starcoach.vault.format import Vault

TEMPLATE = '''\
# starcoach story vault: your 2-3 deep stories, reused across many questions.
#
# Keep one success, one failure and one about teamwork or leadership, each
# deep enough to answer many questions.  Before an interview, map each of the
# company's values onto a story (`starcoach vault coverage --company ID` shows
# the gaps); in the interview, tweak a story to fit the question.
#
# Each story is a [[story]] table:
#   id            short name: lower case letters, digits and '-'
#   title         how you refer to it
#   kind          success | failure | teamwork | leadership | other
#   situation, task, action, result
#                 bullet points, one string each: the facts you want to say.
#                 Put the numbers in the result ("from 9% to 3%"): starcoach
#                 tells you when an answer leaves them out.
#   competencies  what the story shows, from:
{competencies}
#   values        company values it shows, as company:value
#                 (`starcoach companies ID` lists a company's values; the ids
#                 are the names in lower case with '-' for spaces)
#
# The example below is made up: replace it with your own
# (`starcoach vault edit`, or `starcoach vault add` to answer prompts).

[[story]]
id = "stale-stock-forecast"
title = "The stock forecast nobody trusted"
kind = "success"
situation = [
    "Analyst at a regional chain of 40 pharmacies",
    "Store managers ignored the weekly restock forecast and ordered by gut feel",
]
task = ["Find out why, and get the forecast used again before the winter flu season"]
action = [
    "Visited three stores and compared their orders with the forecast line by line",
    "Found that promotions were missing from the model's input and added the promotions calendar",
    "Sent each manager a one-page weekly note showing where the forecast had been right",
]
result = [
    "Stock-outs of flu medicine fell from 9% to 3% over the winter",
    "32 of the 40 stores were following the forecast by January",
]
competencies = ["data-quality", "influence", "ownership"]
values = ["amazon:dive-deep", "amazon:earn-trust"]
'''


def template_text() -> str:
    from starcoach.catalogue.banks import COMPETENCIES

    lines, line = [], "#                 "
    for i, c in enumerate(COMPETENCIES):
        piece = c + (", " if i < len(COMPETENCIES) - 1 else "")
        if len(line) + len(piece) > 78:
            lines.append(line.rstrip())
            line = "#                 "
        line += piece
    lines.append(line.rstrip())
    return TEMPLATE.format(competencies="\n".join(lines))


# --------------------------------------------------------------------------- helpers


def vault_path(args: "argparse.Namespace", env: Env) -> Path:
    from starcoach.store.database import default_data_dir

    if getattr(args, "vault", None):
        return Path(args.vault).expanduser()
    root = Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else default_data_dir(env.environ)
    return root / "vault.toml"


def _missing(path: Path, env: Optional[Env] = None) -> UsageError:
    from starcoach.cli.common import vault_edit_hint

    return UsageError(f"no story vault at {path}; create one with {vault_edit_hint(path, env, 'init')}")


def load_vault(path: Path, catalogue: "Catalogue", env: Optional[Env] = None) -> "Vault":
    from starcoach.vault.format import VaultError, VaultMissing, load

    try:
        return load(path, catalogue.companies)
    except VaultMissing:
        raise _missing(path, env) from None
    except VaultError as e:
        from starcoach.cli.common import vault_edit_hint

        raise UsageError(f"{e} (fix it with {vault_edit_hint(path, env)})") from None


class EndOfInput(Exception):
    """Standard input ended while a prompt waited for an answer."""


def reader(env: Env, out) -> Callable[[str], str]:
    """A prompt function: prints the prompt, returns the stripped line, raises EndOfInput at end of input."""
    from starcoach.pipeline.keys import MAX_LINE_CHARS

    def ask(prompt: str) -> str:
        out.print(prompt, end="", markup=True, highlight=False)
        out.file.flush()
        try:
            line = env.stdin.readline(MAX_LINE_CHARS) if env.stdin is not None else ""
        except (OSError, ValueError):  # closed
            line = ""
        if not line:
            out.print()
            raise EndOfInput
        if "\0" in line or (len(line) == MAX_LINE_CHARS and not line.endswith("\n")):
            out.print()
            raise UsageError(f"standard input is not answers typed at the prompts (binary data, or a line of more "
                             f"than {MAX_LINE_CHARS} characters)")
        return line.rstrip("\r\n").strip()

    return ask


def _value_label(ref: str, catalogue: "Catalogue") -> str:
    cid, _, vid = ref.partition(":")
    c = catalogue.companies.get(cid)
    v = c.value(vid) if c else None
    return f"{c.name}: {v.name}" if c and v else ref


# --------------------------------------------------------------------------- actions


def cmd_vault(args: "argparse.Namespace", env: Env) -> int:
    action = getattr(args, "vault_command", None)
    if not action:
        raise UsageError("vault: choose an action: init, list, show ID, add, edit, coverage --company ID "
                         "(see `starcoach vault --help`)")
    path = vault_path(args, env)
    if action == "init":
        return _init(path, env)
    if not path.exists():
        raise _missing(path, env)
    if action == "add":
        from starcoach.cli.vault_add import add

        return add(args, env, path)
    if action == "coverage":
        from starcoach.cli.vault_coverage import coverage

        return coverage(args, env, path)
    return {"list": _list, "show": _show, "edit": _edit}[action](args, env, path)


def _init(path: Path, env: Env) -> int:
    from starcoach.files import write_atomic

    if path.exists():
        from starcoach.cli.common import vault_edit_hint

        raise UsageError(f"{path} already exists; edit it with {vault_edit_hint(path, env)} "
                         "(init never overwrites a vault)")
    try:
        write_atomic(path, template_text(), make_parent=True)
    except OSError as e:
        raise UsageError(f"cannot create {path}: {e.strerror or e}") from None
    out = env.console()
    out.print(f"Created [bold]{path}[/bold] with one made-up example story.")
    from rich.markup import escape

    from starcoach.cli.common import vault_edit_hint

    edit_cmd = escape(vault_edit_hint(path, env).strip("`"))
    add_cmd = escape(vault_edit_hint(path, env, "add").strip("`"))
    out.print(f"Replace it with your own: [bold]{edit_cmd}[/bold] (in your editor) or "
              f"[bold]{add_cmd}[/bold] (answering prompts).")
    return ExitStatus.OK


def _kind_advice(vault: "Vault") -> Optional[str]:
    kinds = {s.kind for s in vault.stories}
    wanted = []
    if "success" not in kinds:
        wanted.append("a success")
    if "failure" not in kinds:
        wanted.append("a failure")
    if not kinds & {"teamwork", "leadership"}:
        wanted.append("a teamwork or leadership story")
    if not wanted:
        return None
    return "A good vault has one success, one failure and one teamwork or leadership story; missing: " + \
        ", ".join(wanted) + "."


def _list(args: "argparse.Namespace", env: Env, path: Path) -> int:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    catalogue = load_catalogue_or_fail(env)
    vault = load_vault(path, catalogue, env)
    out = env.console()
    if not vault.stories:
        out.print(f"No stories in {path} yet. Add one with [bold]starcoach vault add[/bold].")
        return ExitStatus.OK
    t = Table(box=None, pad_edge=False)
    t.add_column("id", style="bold", no_wrap=True)
    t.add_column("title")
    t.add_column("kind")
    t.add_column("competencies", style="dim", no_wrap=True)
    t.add_column("values", style="cyan", no_wrap=True)
    for s in vault.stories:
        t.add_row(s.id, Text(s.title), s.kind, "\n".join(s.competencies) or "—", "\n".join(s.values) or "—")
    out.print(t)
    n = len(vault.stories)
    out.print(f"[dim]{n} stor{'y' if n == 1 else 'ies'} in {escape(str(path))}. `starcoach vault show ID` shows one in "
              "full.[/dim]")
    advice = _kind_advice(vault)
    if advice:
        out.print(f"[yellow]{advice}[/yellow]")
    return ExitStatus.OK


def _show(args: "argparse.Namespace", env: Env, path: Path) -> int:
    from rich.text import Text

    from starcoach.vault.format import PART_TITLES, PARTS
    from starcoach.vault.quantities import quantities

    catalogue = load_catalogue_or_fail(env)
    vault = load_vault(path, catalogue, env)
    story = vault.story(args.story)
    if story is None:
        ids = ", ".join(s.id for s in vault.stories) or "none yet"
        raise UsageError(f"no story '{args.story}' in {path} (stories: {ids})")
    out = env.console()
    head = Text(story.title, style="bold")
    head.append(f"  ({story.id}, {story.kind})", style="dim")
    out.print(head)
    for p in PARTS:
        bullets = story.part(p)
        out.print(f"[bold magenta]{PART_TITLES[p]}[/bold magenta]")
        if not bullets:
            out.print("  [dim]—[/dim]")
        for b in bullets:
            line = Text("  • ")
            line.append(b)
            out.print(line)
    out.print(f"[bold]Competencies[/bold]  {', '.join(story.competencies) or '—'}")
    if story.values:
        out.print("[bold]Values[/bold]        " + "; ".join(f"{v} [dim]({_value_label(v, catalogue)})[/dim]"
                                                       for v in story.values))
    else:
        out.print("[bold]Values[/bold]        — [dim](map company values onto it: values = "
                  "[\"company:value\"])[/dim]")
    if story.result and not any(quantities(b) for b in story.result):
        out.print("[yellow]Tip: no number in the result. A measured result (\"from 9% to 3%\") is what "
                  "interviewers remember.[/yellow]")
    elif not story.result:
        out.print("[yellow]Tip: the story has no result yet.[/yellow]")
    return ExitStatus.OK


def _editor_command(args: "argparse.Namespace", env: Env) -> list[str]:
    cmd = args.editor or env.environ.get("VISUAL") or env.environ.get("EDITOR")
    if not cmd:
        for name in ("nano", "vi"):
            if shutil.which(name):
                cmd = name
                break
    if not cmd:
        raise UsageError("no editor found; pass --editor CMD or set $EDITOR")
    try:
        return shlex.split(cmd)
    except ValueError as e:
        raise UsageError(f"cannot read the editor command {cmd!r}: {e}") from None


def _aside_path(path: Path) -> Path:
    """vault.toml.bak, or vault.toml.bak.2, .3... when that exists (never overwrite kept text)."""
    bak = path.with_name(path.name + ".bak")
    n = 2
    while bak.exists():
        bak = path.with_name(f"{path.name}.bak.{n}")
        n += 1
    return bak


def _edit(args: "argparse.Namespace", env: Env, path: Path) -> int:
    from rich.markup import escape

    from starcoach.files import write_atomic
    from starcoach.vault.format import VaultError, load

    catalogue = load_catalogue_or_fail(env)
    cmd = _editor_command(args, env)
    out = env.console()
    err = env.console(err=True)
    ask = reader(env, out)
    before = path.read_text(encoding="utf-8")
    while True:
        try:
            proc = subprocess.run([*cmd, str(path)])
        except FileNotFoundError:
            raise UsageError(f"editor '{cmd[0]}' not found; pass --editor CMD or set $EDITOR") from None
        except OSError as e:
            raise UsageError(f"cannot run the editor '{cmd[0]}': {e.strerror or e}") from None
        if proc.returncode != 0:
            err.print(f"[yellow]The editor exited with status {proc.returncode}; checking the file anyway.[/yellow]")
        try:
            vault = load(path, catalogue.companies)
        except VaultError as e:
            if not path.exists():
                # The editor removed the file: put the text back rather than lose it.
                write_atomic(path, before, make_parent=True)
                err.print(f"[red]{escape(str(path))} was removed during the edit; the previous version is back.[/red]")
                return ExitStatus.INPUT_FAILED
            err.print("[bold red]The vault has a mistake:[/bold red]")
            err.print(str(e), markup=False, highlight=False, soft_wrap=True)
            try:
                choice = ask("[bold]\\[R][/bold]e-open the editor to fix it, or [bold]\\[k][/bold]eep your text "
                             "aside and restore the previous version? ").lower()
            except EndOfInput:
                choice = "k"
            if choice in ("", "r", "re-open", "reopen", "e", "edit"):
                continue
            broken = path.read_text(encoding="utf-8")
            bak = _aside_path(path)
            write_atomic(bak, broken, make_parent=True)
            write_atomic(path, before, make_parent=True)
            err.print(f"Your edited text is kept in [bold]{bak}[/bold]; {path} is back to the version before "
                      "this edit.")
            return ExitStatus.INPUT_FAILED
        n = len(vault.stories)
        os.chmod(path, 0o600)
        out.print(f"{escape(str(path))}: {n} stor{'y' if n == 1 else 'ies'}, all valid.")
        advice = _kind_advice(vault)
        if advice and n:
            out.print(f"[yellow]{advice}[/yellow]")
        return ExitStatus.OK
