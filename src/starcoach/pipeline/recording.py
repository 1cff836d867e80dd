"""Recording one answer in a practice session, with the live meter and cues under it.

The recorder (``capture.recorder.Recorder``) runs until the candidate stops
(the endpointer hears the end, Enter, the time limit, or a ``--mic-file``
with no speech in it runs out); every block goes to the live transcriber as
it is captured, and a rich Live view redraws the level meter, the line that
says the room is too noisy for the end to be heard (``Endpointer.noisy``:
press Enter) and the live cues (``pipeline.live``) ten times a second from
its own thread.

Shutdown is orderly, because native threads are running: PortAudio's
callback thread while recording, the live transcriber's worker inside
CTranslate2 while judging.  A process that exits with either still running
aborts (C++ ``terminate``, or a segmentation fault) instead of exiting 130.
So while recording, Ctrl-C only sets an event (``keys.sigint_sets``) that the
recording loop checks every 0.1 s; the stream is then closed and the view's
thread joined before this returns, and the caller joins the transcriber's
worker before the session ends.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from rich.console import Group
from rich.live import Live

from starcoach.pipeline.keys import sigint_sets
from starcoach.pipeline.live import CueTracker
from starcoach.views.practice import cues_view, meter_view, room_view

if TYPE_CHECKING:
    from starcoach.capture.recorder import RecordingResult
    from starcoach.pipeline.practice import Practice
    from starcoach.speech.streaming import LiveTranscriber


@dataclass
class Recorded:
    """How the recording went, when its end was detected, and why it ended if not by the recorder's rule."""

    result: "RecordingResult"
    #: ``clock.monotonic()`` when the end of the answer was detected (before the device was closed).
    t_end: float
    #: Set when a ``--mic-file`` ran out before any speech ("the --mic-file ended").
    why: Optional[str] = None


def record_answer(p: "Practice", question: str, wav: Path, answer_id: int,
                  live_tx: "LiveTranscriber") -> Recorded:
    """Record one answer into ``wav`` for session ``p``, feeding ``live_tx`` and drawing the meter and the
    live cues (judged against ``question``).  A device that cannot be opened marks the answer failed and
    raises ``HardwareError``."""
    from starcoach.capture.endpointer import Endpointer
    from starcoach.capture.portaudio import HardwareError
    from starcoach.capture.recorder import Recorder

    o = p.o
    make_endpointer = p.endpointer_factory or (lambda end_silence_s: Endpointer(end_silence_s=end_silence_s))
    endpointer = make_endpointer(o.end_silence_s)
    stop = threading.Event()
    interrupted = threading.Event()
    state: dict = {"elapsed": 0.0, "level": -90.0, "why": None}

    def on_block(samples, elapsed_s, level_dbfs, ep) -> None:
        live_tx.feed(samples)
        state["elapsed"], state["level"] = elapsed_s, level_dbfs
        if p.keys.enter_pressed():
            stop.set()
        # A --mic-file with no speech in it would otherwise run to the time limit.
        if getattr(source, "exhausted", False) and not ep.speech_started:
            state["why"] = "the --mic-file ended"
            stop.set()

    source = None
    try:
        source = p.source_factory()
    except HardwareError as e:
        p.store.set_status(answer_id, "failed", str(e))
        raise
    recorder = Recorder(source, wav, endpointer, o.max_answer_s, on_block=on_block)
    result_box: dict = {}
    cues = CueTracker(live_tx.words_so_far, question=question, company=o.company)

    def render() -> Group:
        room = room_view(endpointer)
        return Group(meter_view(state["elapsed"], o.max_answer_s, state["level"], endpointer),
                     *([room] if room is not None else []), cues_view(cues.current()))

    with Live(render(), console=p.console, transient=True, refresh_per_second=10) as live:
        done = threading.Event()

        def refresher() -> None:
            while not done.wait(0.1):
                live.update(render())

        t = threading.Thread(target=refresher, daemon=True)
        t.start()
        try:
            # Ctrl-C from here until the device is closed only asks the loop to stop.
            with sigint_sets(interrupted):
                with source:
                    result_box["r"] = recorder.run(stop, interrupted)
                    result_box["t_end"] = p.clock.monotonic()  # end of answer detected (before closing)
        finally:
            done.set()
            t.join()
    return Recorded(result_box["r"], result_box["t_end"], state["why"])
