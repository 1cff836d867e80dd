"""``starcoach devices``: microphones and speakers (and text-to-speech voices)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starcoach.cli.env import Env
from starcoach.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse


def cmd_devices(args: "argparse.Namespace", env: Env) -> int:
    from rich.table import Table
    from rich.text import Text

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
        t.add_row(str(d.index), Text(d.name), str(d.inputs), str(d.outputs), f"{d.default_samplerate:.0f}", default)
    out.print(t)
    if not any(d.inputs for d in devices):
        out.print("[yellow]No microphone found. Use `starcoach practice --mic-file FILE` to practise with a "
                  "recording.[/yellow]")
    if args.voices:
        from starcoach.capture.speak import list_voices

        voices = list_voices()
        out.print(f"\n[bold]Voices[/bold] ({len(voices)}): " + ", ".join(voices[:40]))
    return ExitStatus.OK
