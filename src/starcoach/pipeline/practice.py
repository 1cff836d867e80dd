"""The practice loop: ask, listen, judge, repeat; the product's main job.

For each question: show it and speak it, an optional think-time countdown,
then record with a live level meter until the candidate stops (about 3 s of
silence after speaking, Enter, or the time limit).  Transcription runs while
they speak (streaming.LiveTranscriber), so the report follows the end of the
answer within about a second, and the words transcribed so far feed live
cues under the meter (``pipeline.live``).  Then up to ``follow_ups``
follow-up questions chosen from what the answer lacks
(pipeline/followup_turn.py), each answered and judged through this same
path; then a one-key menu: next question, retry, or quit; and a session
summary at the end.  An answer cut by the time limit is judged as cut
(``Analysis.cut``): its length is not held against it.

Nothing is lost: the answer row is stored before recording starts and the
WAV is written as it is captured (capture.wav.WavWriter), so Ctrl-C keeps the
audio and the session so far, and an answer cut off by a crash or kill is
offered for recovery at the next start.  While an answer is recorded and
judged its WAV is locked (store.AnswerLock), so a second starcoach on the
same data folder leaves it alone.

Shutdown is orderly, because native threads are running (PortAudio's
callback thread, the live transcriber's worker inside CTranslate2): while
recording (``pipeline.recording``), Ctrl-C only sets an event that the
recording loop checks every 0.1 s; the stream is closed and the
transcriber's worker joined before the session ends.  A disk that fills up
mid-answer ends the recording the same way (exit status 3).

The loop talks to the outside through the edges (``starcoach.edges``), passed
in, so it runs the same with a real microphone, ``--mic-file``, and in tests.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from starcoach.catalogue.banks import Catalogue, Company, Question
from starcoach.edges import AudioSource, Clock, Speaker, SystemClock, Transcriber
from starcoach.model import Analysis
from starcoach.pipeline.keys import Keys
from starcoach.pipeline.recording import record_answer
from starcoach.views.practice import countdown_view, intro_view, question_view
from starcoach.views.report import analysis_view

if TYPE_CHECKING:
    from starcoach.capture.endpointer import Endpointer
    from starcoach.judge.followups import Template
    from starcoach.pipeline.followup_turn import Asked


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
    #: Follow-up questions after each answer, at most (``--follow-ups``; 0: none).
    follow_ups: int = 1
    #: How many recordings answer in turn in the candidate's place (``--mic-file`` given that many
    #: times); 0: the microphone (or the one ``mic_file``).  A follow-up is asked only while one is left.
    recordings: int = 0
    #: Every ``--mic-file`` given, in the order they answer (stored with the session's settings).
    mic_files: tuple[Path, ...] = ()


@dataclass
class AnswerOutcome:
    question: Question
    analysis: Optional[Analysis]
    audio_path: Path
    answer_id: int
    ended_by: str
    latency_s: Optional[float] = None
    position: int = 0
    #: The answers to its follow-up questions, in order; for a follow-up answer, the parts it supplied.
    follow_ups: list["AnswerOutcome"] = field(default_factory=list)
    supplied: tuple[str, ...] = ()


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
                 endpointer_factory: Optional[Callable[[float], "Endpointer"]] = None,
                 follow_up_templates: Sequence["Template"] = ()):
        from starcoach.pipeline.followup_turn import FollowUpTurn

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
        self.turn = FollowUpTurn(self, follow_up_templates, options.follow_ups)
        self.recorded = 0  # answers whose recording was started (main and follow-up)

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
                 "mic_file": str(o.mic_file) if o.mic_file else None,
                 "mic_files": [str(m) for m in (o.mic_files or ((o.mic_file,) if o.mic_file else ()))],
                 "follow_ups": o.follow_ups})
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
                    if outcome.ended_by not in ("write_failed", "interrupt"):
                        outcome = self.turn.run(q, outcome) or outcome  # the follow-ups; one that stopped
                except (sqlite3.Error, OSError) as e:
                    self._storage_failed(e)
                    status = "interrupted"
                    break
                if outcome.ended_by in ("write_failed", "interrupt"):
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
        from starcoach.store.errors import busy_error, is_locked, storage_error
        from starcoach.text import first_line

        e = storage_error(self.store.root / DB_NAME, exc)
        if e is None and isinstance(exc, sqlite3.OperationalError) and is_locked(exc):
            e = busy_error(self.store.root / DB_NAME)  # another process held it past the wait
        msg = str(e) if e is not None else f"the data folder {self.store.root} failed ({first_line(exc)})"
        self.storage_failure = msg
        self.console.print(f"[bold red]Stopped: {escape(msg)}.[/bold red]", soft_wrap=True)

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
        if o.focus == "gaps" and o.company:
            from starcoach.vault.coverage import gap_line, gap_weights

            weights = gap_weights(o.company, self.store, self.vault)
            chosen = choose_questions(pool, o.questions, company=o.company, competency=o.competency, weights=weights)
            self.console.print(Text(gap_line(o.company, weights, chosen), style="cyan"))
            return chosen
        return choose_questions(pool, o.questions, company=o.company, competency=o.competency)

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
            self.err.print(f"[dim](not spoken: {escape(str(e))})[/dim]", soft_wrap=True)
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

    def recording_left(self) -> bool:
        """Whether an answer can be recorded now: always at the microphone; with recordings
        answering in turn, while one is left (a main question reuses the last one)."""
        n = self.o.recordings or (1 if self.o.mic_file else 0)
        return n == 0 or self.recorded < n

    def record_and_judge(self, q: Question, asked: Optional["Asked"] = None) -> AnswerOutcome:
        """Record, transcribe while recording, judge, store and show one answer: to ``q``, or with
        ``asked`` to a follow-up of an earlier answer to it (stored linked to that answer)."""
        from starcoach.speech.streaming import LiveTranscriber

        o = self.o
        assert self.session_id is not None
        position = asked.parent.position if asked else len(self.outcomes) + 1
        wav = self.store.new_audio_path(self.session_id, position, asked.k if asked else 0)
        lock = self.store.hold_answer(wav)  # held until the answer is judged: it is not "unfinished"
        try:
            answer_id = self.store.new_answer(
                self.session_id, position, question=asked.follow_up.text if asked else q.text, question_id=q.id,
                company=o.company.id if o.company else None, audio_path=wav,
                parent_id=asked.parent.answer_id if asked else None, follow_up=asked.meta() if asked else None)
            live_tx = LiveTranscriber(self.transcriber)
            self.recorded += 1
            try:
                outcome = self._record_and_judge(q, wav, answer_id, live_tx, asked)
                outcome.position = position
                (asked.parent.follow_ups if asked else self.outcomes).append(outcome)
                return outcome
            finally:
                live_tx.cancel()  # no-op once finished; else waits for the chunk in the model
        finally:
            if lock is not None:
                lock.release()

    def _record_and_judge(self, q: Question, wav: Path, answer_id: int, live_tx,
                          asked: Optional["Asked"]) -> AnswerOutcome:
        o = self.o
        rec = record_answer(self, asked.follow_up.text if asked else q.text, wav, answer_id, live_tx)
        r, t_end = rec.result, rec.t_end
        if r.ended_by == "write_failed":
            live_tx.cancel()
            with contextlib.suppress(sqlite3.Error, OSError):  # the database may be on the same full disk
                self.store.mark_recorded(answer_id, r.duration_s)
            kept = (f"{r.duration_s:.0f} s of audio kept in {wav}; the next `starcoach practice` offers to "
                    "recover it") if r.duration_s > 0 else "nothing was recorded"
            self.storage_failure = f"{r.error}: recording stopped; {kept}"
            self.console.print(f"[bold red]Stopped: {escape(self.storage_failure)}.[/bold red]", soft_wrap=True)
            return AnswerOutcome(q, None, wav, answer_id, "write_failed")
        if r.ended_by == "interrupt":
            live_tx.cancel()
            self.console.print(f"[yellow]Answer stopped; {r.duration_s:.0f} s of audio kept in {escape(str(wav))}.[/yellow]")
            self.store.mark_recorded(answer_id, r.duration_s)
            return AnswerOutcome(q, None, wav, answer_id, "interrupt")
        self.store.mark_recorded(answer_id, r.duration_s)
        how = {"silence": "you paused", "enter": "you pressed Enter", "max": "time limit reached"}.get(r.ended_by, "")
        how = rec.why or how  # not Enter: the --mic-file ran out before any speech
        self.console.print(f"[dim]Recorded {r.duration_s:.1f} s ({how}). Judging…[/dim]")
        if not r.heard_anything:
            live_tx.cancel()
            msg = ("we heard nothing - check your microphone; `starcoach devices` lists them "
                   "(or use --mic-file to feed a recording)")
            a = Analysis.failed(str(wav), "silent", msg, question=q.text,
                                company=o.company.id if o.company else None)
            self.store.save_analysis(answer_id, a)
            self.console.print(f"[bold red]{escape(msg)}[/bold red]")
            return AnswerOutcome(q, a, wav, answer_id, r.ended_by)
        transcript = live_tx.finish()
        from starcoach.pipeline.process import analyse_transcript

        a = analyse_transcript(transcript, input=self.store.relative(wav), question=asked.follow_up.text if asked
                               else q.text, company=o.company, vault=None if asked else self.vault,
                               cut="time_limit" if r.ended_by == "max" else None)
        self.store.save_analysis(answer_id, a, transcript)
        if r.overflows:
            self.err.print(f"[yellow]Warning: the audio device dropped input {r.overflows} times "
                           "(the machine was too busy); the recording may have gaps.[/yellow]", soft_wrap=True)
        self.console.print(self.turn.judged(asked, answer_id, a) if asked else analysis_view(a))
        degraded = live_tx.degradation()
        if degraded:  # the live transcriber cut back to keep up with a busy machine
            self.console.print(f"[yellow]{degraded}[/yellow]")
        latency = self.clock.monotonic() - t_end  # until the report is on screen
        self.console.print(f"[dim]Feedback ready {latency:.2f} s after the answer ended.[/dim]")
        return AnswerOutcome(q, a, wav, answer_id, r.ended_by, latency)

    # ----- the end

    def summary(self) -> None:
        if not self.outcomes:
            return
        from starcoach.views.practice import session_end_view

        cells = []
        for oc in self.outcomes:
            got = [c for f in oc.follow_ups for c in f.supplied]
            cells.append(f"{len(oc.follow_ups)}" + (": +" + ", +".join(got) if got else "") if oc.follow_ups else "")
        self.console.print()
        self.console.print(session_end_view([(oc.question, oc.analysis) for oc in self.outcomes], cells))
