"""What replay shows while an answer plays: the transcript with the word being heard lit, and a progress bar.

Builds rich renderables and never prints; the word is chosen by
``history.word_at``.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from starcoach.model import Analysis
from starcoach.stored import clock, word_at
from starcoach.views.report import legend, transcript_text


def playback_view(a: Analysis, position_s: float, duration_s: float) -> RenderableType:
    """The transcript with the word at ``position_s`` lit, and where playback is."""
    k = word_at(a.words, position_s)
    bar = Text()
    width = 30
    frac = 0.0 if duration_s <= 0 else min(1.0, max(0.0, position_s / duration_s))
    filled = int(round(frac * width))
    bar.append("\u25b6 ", style="bold green")
    bar.append(f"{clock(position_s)} / {clock(duration_s)}  ", style="bold")
    bar.append("\u2501" * filled, style="green")
    bar.append("\u2501" * (width - filled), style="grey35")
    bar.append("   Enter or Ctrl-C skips", style="dim")
    return Panel(Group(transcript_text(a, highlight_word=k), Text(""), legend(), bar), title="Playing",
                 title_align="left", border_style="green")
