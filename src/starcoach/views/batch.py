"""What a batch shows: the progress bar, one line per answer, the summary table at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from starcoach.model import Analysis
    from starcoach.pipeline.batch import BatchResult


class _Progress:
    """rich's Progress: files done of all, audio hours done, files per minute, ETA; ``advance_to`` as results come in."""

    def __init__(self, console: "Console", total: int):
        import time

        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._clock = time.perf_counter
        self._started = self._clock()
        self._bar = Progress(TextColumn("[bold]Analysing"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                             TimeRemainingColumn(), console=console, transient=True)
        self._task = self._bar.add_task("analyse", total=total, rate="")

    def __enter__(self) -> "_Progress":
        self._started = self._clock()
        self._bar.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self._bar.__exit__(*exc_info)

    def advance_to(self, done: int, audio_s: float = 0.0) -> None:
        dt = max(1e-6, self._clock() - self._started)
        audio = f"{audio_s / 3600:.2f} h of audio, " if audio_s else ""
        self._bar.update(self._task, completed=done, rate=f"{audio}{done / dt * 60:.1f} files/min")


def progress_bar(console: "Console", total: int) -> _Progress:
    """A transient progress bar on ``console`` (standard error) for ``total`` inputs."""
    return _Progress(console, total)


def result_line(a: "Analysis") -> str:
    """One analysed answer in a list: score, input, and the R-STAR-L parts present (``R S - A R L``)."""
    from starcoach.model import COMPONENT_LETTERS, COMPONENTS

    marks = " ".join(COMPONENT_LETTERS[c] if a.structure[c].present else "-" for c in COMPONENTS)
    return f"[bold]{a.score:3d}[/bold]  {a.input}  [dim]{marks}[/dim]"


def summary_view(result: "BatchResult"):
    """A rich table closing the batch: mean score, weakest components, filler rates, failures."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from starcoach.model import COMPONENT_TITLES, COMPONENTS

    ok = [a for a in result.analyses if a.error is None]
    failed = [a for a in result.analyses if a.error is not None]
    t = Table(title="Batch summary", title_justify="left", box=None, pad_edge=False, show_header=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("Answers", f"{len(result.analyses)} ({len(ok)} analysed, {len(failed)} failed; "
                         f"{result.cached} transcripts reused)")
    if ok:
        t.add_row("Mean score", f"{sum(a.score for a in ok) / len(ok):.0f}/100")
        rates = {c: sum(a.structure[c].present for a in ok) / len(ok) for c in COMPONENTS}
        weakest = [c for c in sorted(COMPONENTS, key=lambda c: rates[c])[:3] if rates[c] < 1.0]
        t.add_row("Weakest parts", ", ".join(f"{COMPONENT_TITLES[c]} ({rates[c]:.0%} present)" for c in weakest)
                  or "none: every part present in every answer")
        spoken = [a for a in ok if a.delivery]
        if spoken:
            fpm = sum(a.delivery.fillers_per_minute for a in spoken) / len(spoken)
            wpm = sum(a.delivery.wpm for a in spoken) / len(spoken)
            t.add_row("Fillers", f"{fpm:.1f} per minute on average; pace {wpm:.0f} words/min")
    if result.audio_s and result.wall_s:
        if result.transcribed_s > 0:
            # The transcription speed is of what was transcribed now: a transcript read back from
            # the cache takes no time, and counting its audio would flatter the figure.
            reused = f"; {result.cached} reused, not counted" if result.cached else ""
            t.add_row("Speed", f"{result.transcribed_s / 60:.1f} min of audio transcribed in {result.wall_s:.1f} s "
                               f"(real-time factor {result.wall_s / result.transcribed_s:.3f}{reused})")
        else:
            t.add_row("Speed", f"nothing transcribed: every transcript reused from earlier runs "
                               f"({result.wall_s:.1f} s in all)")
    parts = [t]
    if failed:
        ft = Text("Failed:\n", style="bold red")
        for a in failed:
            ft.append(f"  {a.error.message}\n")
        parts.append(ft)
    return Group(*parts)
