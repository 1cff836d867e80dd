"""What the practice loop and a batch show, rendered the rich way and compared with the expected text.

Each renderable is printed into ``Console(file=StringIO(), width=100)`` with no
colour, and the text is compared exactly: a change to the wording or layout
of the views shows up here first.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

from starcoach.catalogue.banks import Question
from starcoach.model import Analysis
from starcoach.views.practice import (
    countdown_view,
    gist,
    intro_view,
    meter_view,
    question_view,
    room_view,
    short,
    summary_view,
)


def render(renderable) -> str:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=100, force_terminal=False, color_system=None).print(renderable)
    return out.getvalue()


def lines(renderable) -> list[str]:
    """The rendered lines without the padding a table adds at their ends."""
    return [line.rstrip() for line in render(renderable).splitlines()]


QUESTION = Question(id="gen-003", text="Tell me about a time you had a conflict with a coworker and how the two "
                                       "of you resolved it.", competencies=("conflict",), bank="general")

INTRO_WITH_A_RECORDING = """\
╭──────────────────────────────────────────────────────────────────────────────────────────────────╮
│ starcoach practice                                                                               │
│ No company chosen: link back to the role or team (use --company ID to practise against a         │
│ company's values).                                                                               │
│                                                                                                  │
│ A recording (answer.ogg) gives the answer in your place: watch it transcribed live, then judged. │
│ R-STAR-L: Repeat the question in your words, Situation, Task, Action, Result, Link back.         │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯
"""

QUESTION_PANEL = """\
╭─ Question 1/2   probes: Customer Obsession, Ownership ───────────────────────────────────────────╮
│ Tell me about a time you had a conflict with a coworker and how the two of you resolved it.      │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯
"""


def test_the_intro_says_a_recording_answers_and_names_no_values_without_a_company():
    assert render(intro_view(None, Path("examples/answer.ogg"))) == INTRO_WITH_A_RECORDING


def test_the_intro_with_a_company_lists_its_values_in_brief():
    values = [SimpleNamespace(name=f"Value {i}", meaning=f"What value {i} means. And more.") for i in range(10)]
    company = SimpleNamespace(id="acme", name="Acme", values=values)
    assert [line.strip("│ ") for line in lines(intro_view(company, None))[1:-1]] == [
        "starcoach practice · Acme", "", "Values to link back to:",
        *[f"Value {i}  What value {i} means" for i in range(8)],  # eight, the first clause of each
        "… and 2 more (`starcoach companies acme`)", "",
        "Answer out loud. R-STAR-L: Repeat the question in your words, Situation, Task, Action, Result,",
        "Link back. Stop by pausing for a few seconds or pressing Enter."]


def test_the_question_panel_names_the_values_it_probes():
    values = [SimpleNamespace(name="Customer Obsession"), SimpleNamespace(name="Ownership")]
    assert render(question_view(QUESTION, values, 1, 2)) == QUESTION_PANEL


def test_the_meter_shows_time_left_level_and_the_silence_so_far():
    waiting = SimpleNamespace(speech_started=False)
    assert render(meter_view(65.3, 180, -20, waiting)) == (
        "● REC 1:05.3  (1:54 left)  ████████████████████░░░░░░░░░░  waiting for you to speak…   Enter = done\n")
    pausing = SimpleNamespace(speech_started=True, trailing_silence_s=2.4)
    assert render(meter_view(5.0, 180, -90, pausing)) == (
        "● REC 0:05.0  (2:55 left)  ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░  silence 2s   Enter = done\n")
    assert render(countdown_view(3.25)) == "Think time:  3.2 s  (Enter to start now)\n"


def test_a_noisy_room_is_one_line_that_says_enter_ends_the_answer():
    assert room_view(SimpleNamespace(noisy=False)) is None and room_view(SimpleNamespace()) is None
    line = "Noisy room: your answer may not end by itself; press Enter when you finish.\n"
    assert render(room_view(SimpleNamespace(noisy=True))) == line
    assert len(line) <= 80  # one line in an 80-column terminal


def test_the_session_summary_marks_answers_that_were_not_judged():
    failed = Analysis.failed("a.wav", "silent", "no speech was heard", question=QUESTION.text)
    assert lines(summary_view([(QUESTION, None), (QUESTION, failed)])) == [
        "Session summary",
        "#  question                                                      score  R S T A R L   time",
        "1  Tell me about a time you had a conflict with a coworker and…      —  not analysed",
        "2  Tell me about a time you had a conflict with a coworker and…      —  silent",
    ]


def test_short_and_gist_cut_at_a_word():
    assert short("x" * 70) == "x" * 59 + "…" and short("fine") == "fine"
    assert gist("Customers first. Then the rest.") == "Customers first"
    assert gist("word " * 30).endswith("…") and len(gist("word " * 30)) <= 71


def test_the_batch_summary_counts_failures_and_reuse():
    from starcoach.pipeline.batch import BatchResult
    from starcoach.views.batch import summary_view as batch_summary

    failed = Analysis.failed("b.mp3", "not_audio", "b.mp3: not an audio file")
    assert lines(batch_summary(BatchResult([failed], cached=0, transcribed=0, wall_s=0.5, audio_s=0.0))) == [
        "Batch summary",
        "Answers  1 (0 analysed, 1 failed; 0 transcripts reused)",
        "Failed:",
        "  b.mp3: not an audio file",
        "",
    ]
