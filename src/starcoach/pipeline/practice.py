"""The practice loop: ask, listen, judge, repeat; the product's main job.

For each question: show it and speak it, an optional think-time countdown,
then record with a live level meter until the candidate stops (about 3 s of
silence after speaking, Enter, or the time limit).  Transcription runs while
they speak (streaming.LiveTranscriber), so the report follows the end of the
answer within about a second, and the words transcribed so far feed live
cues under the meter (``pipeline.live``).  Then a one-key menu: next
question, retry, or quit; and a session summary at the end.  An answer cut by
the time limit is judged as cut (``Analysis.cut``): its length is not held
against it.

Nothing is lost: the answer row is stored before recording starts and the
WAV is written as it is captured (capture.wav.WavWriter), so Ctrl-C keeps the
audio and the session so far, and an answer cut off by a crash or kill is
offered for recovery at the next start.  While an answer is recorded and
judged its WAV is locked (store.AnswerLock), so a second starcoach on the
same data folder leaves it alone.

Shutdown is orderly, because native threads are running: PortAudio's
callback thread while recording, the live transcriber's worker inside
CTranslate2 while judging.  A process that exits with either still running
aborts (C++ ``terminate``, or a segmentation fault) instead of exiting 130.
So while recording, Ctrl-C only sets an event (``keys.sigint_sets``) that the
recording loop checks every 0.1 s; the stream is then closed, the
transcriber's worker joined, and only then does the session end.  A disk
that fills up mid-answer ends the recording the same way (exit status 3).

The loop talks to the outside through the edges (``starcoach.edges``), passed
in, so it runs the same with a real microphone, ``--mic-file``, and in tests.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from starcoach.catalogue.banks import Catalogue, Company, Question
from starcoach.edges import AudioSource, Clock, Speaker, SystemClock, Transcriber
from starcoach.model import Analysis
from starcoach.pipeline.keys import Keys, sigint_sets
from starcoach.pipeline.live import CueTracker
from starcoach.progress import next_focus
from starcoach.views.practice import countdown_view, cues_view, intro_view, meter_view, question_view, summary_view
from starcoach.views.report import analysis_view

if TYPE_CHECKING:
    from starcoach.capture.endpointer import Endpointer


@dataclass(frozen=True)
class PracticeOptions:
    """What the candidate asked for, checked by the command before the session starts."""

    company: Optional[Company] = None
    bank: Optional[str] = None
    competency: Optional[str] = None
    questions: int = 3
    think_time_s: float = 0.0
    max_answer_s: float = 180.0
    end_silence_s: float = 3.0
    #: The recording that answers in the candidate's place (``--mic-file``, the demo); shown in the intro.
    mic_file: Optional[Path] = None
    #: "gaps": questions aimed at the company values covered least (needs ``company``).
    focus: Optional[str] = None
    #: Ask exactly these questions, in this order (overrides the automatic choice).
    question_ids: tuple[str, ...] = ()


@dataclass
class AnswerOutcome:
    question: Question
    analysis: Optional[Analysis]
    audio_path: Path
    answer_id: int
    ended_by: str
    latency_s: Optional[float] = None


class Practice:
    """One practice session; the edges come in as parameters (``starcoach.edges``).

    ``source_factory`` opens a new :class:`~starcoach.edges.AudioSource` for
    each answer, ``transcriber`` transcribes it while it is spoken, ``speaker``
    (None: shown, not spoken) reads each question; ``clock`` times the think
    time and the feedback latency, and ``endpointer_factory`` (given
    ``end_silence_s``) decides when an answer is over (default:
    ``capture.endpointer.Endpointer``, the VAD).
    """

    def __init__(self, options: PracticeOptions, catalogue: Catalogue, store, console: Console, keys: Keys, *,
                 transcriber: Transcriber, source_factory: Callable[[], AudioSource],
                 speaker: Optional[Speaker] = None, err: Optional[Console] = None,
                 extra_questions: Sequence[Question] = (), vault=None, clock: Clock = SystemClock(),
                 endpointer_factory: Optional[Callable[[float], "Endpointer"]] = None):
        self.o = options
        self.catalogue = catalogue
        self.store = store
        self.console = console
        self.err = err or console
        self.keys = keys
        self.speaker = speaker
        self.source_factory = source_factory
        self.transcriber = transcriber
        self.clock = clock
        self.endpointer_factory = endpointer_factory
        self.outcomes: list[AnswerOutcome] = []
        self.session_id: Optional[int] = None
        self.extra_questions = list(extra_questions or [])
        self.vault = vault
        #: Why the session stopped early because something could not be stored (None: it did not).
        self.storage_failure: Optional[str] = None

    # ----- the whole session

    def run(self) -> int:
        from starcoach.errors import ExitStatus

        o = self.o
        self.intro()
        questions = self.pick_questions()
        if not questions:
            self.console.print("[red]No questions match those filters.[/red]")
            return ExitStatus.USAGE
        try:
            self.session_id = self.store.new_session(
                "practice", o.company.id if o.company else None,
                {"questions": [q.id for q, _ in questions], "competency": o.competency, "bank": o.bank,
                 "mic_file": str(o.mic_file) if o.mic_file else None})
        except (sqlite3.Error, OSError) as e:
            self._storage_failed(e)
            return ExitStatus.STORAGE
        status = "complete"
        try:
            i = 0
            while i < len(questions):
                q, values = questions[i]
                try:
                    outcome = self.ask_one(q, values, i + 1, len(questions))
                except (sqlite3.Error, OSError) as e:
                    self._storage_failed(e)
                    status = "interrupted"
                    break
                if outcome.ended_by == "write_failed":
                    status = "interrupted"
                    break
                if outcome.ended_by == "interrupt":
                    status = "interrupted"
                    break
                choice = self.keys.ask("\n[bold]\\[N][/bold]ext question, [bold]\\[r][/bold]etry this one, "
                                       "[bold]\\[q][/bold]uit? ", self.console,
                                       {"n": "next", "r": "retry", "q": "quit"}, "n")
                if choice == "quit":
                    break
                if choice == "next":
                    i += 1
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            try:
                self.store.finish_session(self.session_id, status)
            except (sqlite3.Error, OSError) as e:
                if self.storage_failure is None:
                    self._storage_failed(e)
        self.summary()
        if self.storage_failure is not None:
            return ExitStatus.STORAGE
        if status == "interrupted":
            self.console.print("[yellow]Stopped. Your answers so far are saved "
                               f"(session {self.session_id}: `starcoach replay {self.session_id}`).[/yellow]")
            return ExitStatus.INTERRUPTED
        return ExitStatus.OK

    def _storage_failed(self, exc: BaseException) -> None:
        """Say in one line that the data folder refused a write; the session stops."""
        from starcoach.store.database import DB_NAME
        from starcoach.store.errors import storage_error
        from starcoach.text import first_line

        e = storage_error(self.store.root / DB_NAME, exc)
        msg = str(e) if e is not None else f"the data folder {self.store.root} failed ({first_line(exc)})"
        self.storage_failure = msg
        self.console.print(f"[bold red]Stopped: {msg}.[/bold red]", soft_wrap=True)

    def intro(self) -> None:
        self.console.print(intro_view(self.o.company, self.o.mic_file))

    def pick_questions(self) -> list[tuple[Question, list]]:
        from starcoach.catalogue.questions import choose_questions

        o = self.o
        pool = self.catalogue.questions + self.extra_questions
        if o.bank:
            pool = [q for q in pool if q.bank == o.bank]
        if o.question_ids:
            by_id = {q.id: q for q in pool}
            return [(by_id[i], []) for i in o.question_ids if i in by_id]
        weights = None
        if o.focus == "gaps" and o.company:
            from starcoach.vault.coverage import gap_weights

            weights = gap_weights(o.company, self.store, self.vault)
            from starcoach.vault.coverage import gap_targets

            names = ", ".join(f"\u2018{n}\u2019" for n in gap_targets(o.company, weights))
            self.console.print(Text(f"Focus on gaps: questions aimed at the values your stories and answers cover "
                                    f"least: {names}.", style="cyan"))
        return choose_questions(pool, o.questions, company=o.company, competency=o.competency, weights=weights)

    # ----- one answer

    def ask_one(self, q: Question, values: list, n: int, total: int) -> AnswerOutcome:
        o = self.o
        self.console.print()
        self.console.print(question_view(q, values, n, total))
        self.say(q.text)
        if o.think_time_s > 0:
            self.countdown(o.think_time_s)
        return self.record_and_judge(q)

    def say(self, text: str) -> None:
        if self.speaker is None:
            return
        from starcoach.capture.speak import SpeechUnavailable

        try:
            self.speaker.say(text)
        except SpeechUnavailable as e:
            self.err.print(f"[dim](not spoken: {e})[/dim]")
            self.speaker = None

    def countdown(self, seconds: float) -> None:
        end = self.clock.monotonic() + seconds
        with Live(console=self.console, transient=True, refresh_per_second=8) as live:
            while True:
                left = end - self.clock.monotonic()
                if left <= 0 or self.keys.enter_pressed():
                    break
                live.update(countdown_view(left))
                self.clock.sleep(0.1)

    def record_and_judge(self, q: Question) -> AnswerOutcome:
        from starcoach.speech.streaming import LiveTranscriber

        o = self.o
        assert self.session_id is not None
        position = len(self.outcomes) + 1
        wav = self.store.new_audio_path(self.session_id, position)
        lock = self.store.hold_answer(wav)  # held until the answer is judged: it is not "unfinished"
        try:
            answer_id = self.store.new_answer(self.session_id, position, question=q.text, question_id=q.id,
                                              company=o.company.id if o.company else None, audio_path=wav)
            live_tx = LiveTranscriber(self.transcriber)
            try:
                return self._record_and_judge(q, wav, answer_id, live_tx)
            finally:
                live_tx.cancel()  # no-op once finished; else waits for the chunk in the model
        finally:
            if lock is not None:
                lock.release()

    def _record_and_judge(self, q: Question, wav: Path, answer_id: int, live_tx) -> AnswerOutcome:
        from starcoach.capture.endpointer import Endpointer
        from starcoach.capture.portaudio import HardwareError
        from starcoach.capture.recorder import Recorder

        o = self.o
        make_endpointer = self.endpointer_factory or (lambda end_silence_s: Endpointer(end_silence_s=end_silence_s))
        endpointer = make_endpointer(o.end_silence_s)
        stop = threading.Event()
        interrupted = threading.Event()
        state = {"elapsed": 0.0, "level": -90.0}

        def on_block(samples, elapsed_s, level_dbfs, ep) -> None:
            live_tx.feed(samples)
            state["elapsed"], state["level"] = elapsed_s, level_dbfs
            if self.keys.enter_pressed():
                stop.set()
            # A --mic-file with no speech in it would otherwise run to the time limit.
            if getattr(source, "exhausted", False) and not ep.speech_started:
                state["why"] = "the --mic-file ended"
                stop.set()

        source = None
        try:
            source = self.source_factory()
        except HardwareError as e:
            self.store.set_status(answer_id, "failed", str(e))
            raise
        recorder = Recorder(source, wav, endpointer, o.max_answer_s, on_block=on_block)
        result_box: dict = {}

        cues = CueTracker(live_tx.words_so_far, question=q.text, company=o.company)

        def render() -> Group:
            return Group(meter_view(state["elapsed"], o.max_answer_s, state["level"], endpointer),
                         cues_view(cues.current()))

        with Live(render(), console=self.console, transient=True, refresh_per_second=10) as live:
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
                        result_box["t_end"] = self.clock.monotonic()  # end of answer detected (before closing)
            finally:
                done.set()
                t.join()
        r = result_box["r"]
        t_end = result_box["t_end"]
        if r.ended_by == "write_failed":
            live_tx.cancel()
            with contextlib.suppress(sqlite3.Error, OSError):  # the database may be on the same full disk
                self.store.mark_recorded(answer_id, r.duration_s)
            kept = (f"{r.duration_s:.0f} s of audio kept in {wav}; the next `starcoach practice` offers to "
                    "recover it") if r.duration_s > 0 else "nothing was recorded"
            self.storage_failure = f"{r.error}: recording stopped; {kept}"
            self.console.print(f"[bold red]Stopped: {self.storage_failure}.[/bold red]", soft_wrap=True)
            outcome = AnswerOutcome(q, None, wav, answer_id, "write_failed")
            self.outcomes.append(outcome)
            return outcome
        if r.ended_by == "interrupt":
            live_tx.cancel()
            self.console.print(f"[yellow]Answer stopped; {r.duration_s:.0f} s of audio kept in {wav}.[/yellow]")
            self.store.mark_recorded(answer_id, r.duration_s)
            outcome = AnswerOutcome(q, None, wav, answer_id, "interrupt")
            self.outcomes.append(outcome)
            return outcome
        self.store.mark_recorded(answer_id, r.duration_s)
        how = {"silence": "you paused", "enter": "you pressed Enter", "max": "time limit reached"}.get(r.ended_by, "")
        how = state.get("why", how)  # not Enter: the --mic-file ran out before any speech
        self.console.print(f"[dim]Recorded {r.duration_s:.1f} s ({how}). Judging…[/dim]")
        if not r.heard_anything:
            live_tx.cancel()
            msg = ("we heard nothing - check your microphone; `starcoach devices` lists them "
                   "(or use --mic-file to feed a recording)")
            a = Analysis.failed(str(wav), "silent", msg, question=q.text,
                                company=o.company.id if o.company else None)
            self.store.save_analysis(answer_id, a)
            self.console.print(f"[bold red]{msg}[/bold red]")
            outcome = AnswerOutcome(q, a, wav, answer_id, r.ended_by)
            self.outcomes.append(outcome)
            return outcome
        transcript = live_tx.finish()
        from starcoach.pipeline.process import analyse_transcript

        a = analyse_transcript(transcript, input=self.store.relative(wav), question=q.text, company=o.company,
                               vault=self.vault, cut="time_limit" if r.ended_by == "max" else None)
        self.store.save_analysis(answer_id, a, transcript)
        if r.overflows:
            self.err.print(f"[yellow]Warning: the audio device dropped input {r.overflows} times "
                           "(the machine was too busy); the recording may have gaps.[/yellow]")
        self.console.print(analysis_view(a))
        degraded = live_tx.degradation()
        if degraded:  # the live transcriber cut back to keep up with a busy machine
            self.console.print(f"[yellow]{degraded}[/yellow]")
        latency = self.clock.monotonic() - t_end  # until the report is on screen
        self.console.print(f"[dim]Feedback ready {latency:.2f} s after the answer ended.[/dim]")
        outcome = AnswerOutcome(q, a, wav, answer_id, r.ended_by, latency)
        self.outcomes.append(outcome)
        return outcome

    # ----- the end

    def summary(self) -> None:
        done = [o for o in self.outcomes if o.analysis is not None and o.analysis.error is None]
        if not self.outcomes:
            return
        self.console.print()
        self.console.print(summary_view([(oc.question, oc.analysis) for oc in self.outcomes]))
        if done:
            mean = sum(o.analysis.score for o in done) / len(done)
            self.console.print(f"Mean score [bold]{mean:.0f}[/bold] over {len(done)} answer(s).")
            self.console.print(Text("Work on next: ", style="bold") + Text(next_focus([o.analysis for o in done])))

