"""The terminal views rendered the way rich tests itself: into a 100-column StringIO console, compared
with stored text (tests/data/render/*.txt).

The analyses and session numbers are built by hand, not by the judge, so a change to the judge's
rules never changes these files: only a change to what a view draws does.  After changing a view on
purpose, look at the new text and store it with

    STARCOACH_REGENERATE_RENDER=1 pytest tests/test_render.py

(the test then writes the files and fails, so a regenerated run is never taken for a passing one).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from rich.console import Console

from starcoach.model import Analysis, Checks, ComponentResult, Delivery, Filler, Pause, Sentence, Word
from starcoach.progress import SessionStats

DATA = Path(__file__).parent / "data" / "render"
REGENERATE = os.environ.get("STARCOACH_REGENERATE_RENDER") == "1"

QUESTION = "Tell me about a time you took ownership of a problem."
SENTENCES = (
    ("So you'd like to hear about a time I took charge of a problem nobody owned.", "repeat", 0.0, 4.1),
    ("Last winter I was a support engineer at a small travel company.", "situation", 4.6, 8.0),
    ("My goal was to get the booking emails out on time before the holiday rush.", "task", 8.4, 12.2),
    ("Um, I measured the queue, I found a stuck retry job, and I rewrote it to send in batches.", "action",
     13.9, 19.5),
    ("After that, emails went out within two minutes and support calls dropped by thirty percent.", "result",
     19.9, 25.0),
    ("That is the kind of customer obsession I would bring to Amazon.", None, 25.3, 28.4),
)


def _words() -> tuple[Word, ...]:
    words = []
    for text, _, start, end in SENTENCES:
        parts = text.split()
        step = (end - start) / len(parts)
        words += [Word(w, round(start + i * step, 2), round(start + (i + 1) * step, 2)) for i, w in enumerate(parts)]
    return tuple(words)


def _analysis(*, spoken: bool = True) -> Analysis:
    sentences = tuple(Sentence(t, c, s if spoken else None, e if spoken else None) for t, c, s, e in SENTENCES)
    structure = {
        "repeat": ComponentResult(True, 0.93, SENTENCES[0][0]),
        "situation": ComponentResult(True, 0.97, SENTENCES[1][0]),
        "task": ComponentResult(True, 0.64, SENTENCES[2][0]),
        "action": ComponentResult(True, 0.99, SENTENCES[3][0]),
        "result": ComponentResult(True, 0.95, SENTENCES[4][0]),
        "link_back": ComponentResult(False, 0.81, None),
    }
    delivery = None
    if spoken:
        delivery = Delivery(
            wpm=142.3, speaking_s=28.4,
            fillers=(Filler("um", 13.9), Filler("like", 21.0)),
            pauses=(Pause(12.2, 1.7), Pause(19.5, 1.2)),
            hedges=(Filler("i think", 22.0),),
            component_s=(("repeat", 4.1), ("situation", 3.4), ("task", 3.8), ("action", 5.6), ("result", 5.1),
                         ("link_back", 0.0)))
    checks = Checks(word_count=87, repeat_verbatim=False, result_quantified=True, action_voice="i",
                    hypothetical=False, on_topic=True, question_overlap=0.31)
    return Analysis(
        input="answer-1.wav" if spoken else "answer.txt", question=QUESTION, company="amazon",
        transcript=" ".join(t for t, *_ in SENTENCES), duration_s=29.0 if spoken else None, structure=structure,
        sentences=sentences, delivery=delivery, score=68,
        advice=("Close by linking the story to one of Amazon's values (\u2018Customer Obsession\u2019 or "
                "\u2018Ownership\u2019): one sentence on why this is how you would work at Amazon.",
                "Your task is only implied: say it in so many words (\u201cMy job was to\u2026\u201d)."),
        checks=checks, company_name="Amazon", words=_words() if spoken else ())


def _stats() -> list[SessionStats]:
    rows = [
        (1, "2026-03-02T09:15:00+00:00", 2, 48.0, {"repeat": 0, "situation": 2, "task": 1, "action": 2,
                                                   "result": 1, "link_back": 0}, 6.1, 171.0, 212.0, 95.0),
        (2, "2026-03-05T18:40:00+00:00", 3, 61.3, {"repeat": 1, "situation": 3, "task": 2, "action": 3,
                                                   "result": 2, "link_back": 1}, 4.2, 158.0, 245.0, 101.0),
        (3, "2026-03-09T07:05:00+00:00", 1, 74.0, {"repeat": 1, "situation": 1, "task": 1, "action": 1,
                                                   "result": 1, "link_back": 0}, None, None, 268.0, None),
        (4, "2026-03-12T20:30:00+00:00", 2, 82.5, {"repeat": 2, "situation": 2, "task": 2, "action": 2,
                                                   "result": 2, "link_back": 1}, 2.3, 149.0, 281.0, 118.0),
    ]
    return [SessionStats(id=i, started_at=at, answers=n, mean_score=m, present=p, fillers_per_min=f, wpm=w,
                         words=words, spoken_s=s) for i, at, n, m, p, f, w, words, s in rows]


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    """Session dates are shown in local time: render them in UTC wherever the tests run."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def render(renderable) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None, legacy_windows=False, emoji=False)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines()) + "\n"


def check(name: str, text: str) -> None:
    path = DATA / f"{name}.txt"
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        pytest.fail(f"regenerated {path}; look at it, then run again without STARCOACH_REGENERATE_RENDER")
    assert path.exists(), f"no stored rendering {path}; make it with STARCOACH_REGENERATE_RENDER=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} renders differently from {path} (regenerate it if the change is meant)"


def test_report_of_a_spoken_answer():
    from starcoach.views.report import analysis_view

    check("report_spoken", render(analysis_view(_analysis())))


def test_report_of_a_written_answer():
    from starcoach.views.report import analysis_view

    check("report_written", render(analysis_view(_analysis(spoken=False))))


def test_delivery_panel():
    from starcoach.views.report import delivery_panel

    assert delivery_panel(_analysis(spoken=False)) is None
    check("delivery_panel", render(delivery_panel(_analysis())))


def test_progress_view():
    from starcoach.catalogue.banks import load_catalogue, search_dirs
    from starcoach.views.progress import progress_view

    company = load_catalogue(search_dirs({})).company("amazon")
    check("progress", render(progress_view(_stats(), skipped=1, company=company, company_label="Amazon")))


def test_progress_view_when_every_part_is_there():
    from starcoach.views.progress import progress_view

    full = {c: 2 for c in ("repeat", "situation", "task", "action", "result", "link_back")}
    stats = [SessionStats(id=7, started_at="2026-04-01T10:00:00+00:00", answers=2, mean_score=91.0, present=full,
                          fillers_per_min=5.2, wpm=150.0, words=290.0, spoken_s=121.0)]
    check("progress_complete", render(progress_view(stats)))


def test_a_failed_input_is_named_once():
    from starcoach.views.report import analysis_view

    named = Analysis.failed("answer.txt", "not_found", "answer.txt: no such file")
    assert render(analysis_view(named)).strip() == "answer.txt: no such file"
    bare = Analysis.failed("answer.txt", "empty", "the answer has no words")
    assert render(analysis_view(bare)).strip() == "answer.txt: the answer has no words"


def test_an_unsure_part_is_unsure_in_every_export_and_not_counted_as_there(tmp_path):
    """The terminal shows a part the judge is not sure of as "?"; the exports say "unsure" and
    progress does not count it as there (the hand-built answer's task is at 64 %)."""
    from starcoach.export.html_page import session_html
    from starcoach.export.markdown import session_markdown
    from starcoach.progress import session_stats
    from starcoach.store.database import Store
    from starcoach.stored import load_answers

    a = _analysis(spoken=False)
    with Store.open(tmp_path / "data") as store:
        sid = store.new_session("analyse", None, {"inputs": 1})
        aid = store.new_answer(sid, 1, question=QUESTION, company="amazon", source="answer.txt", audio_path=None,
                               status="recorded")
        store.save_analysis(aid, a, None)
        store.finish_session(sid, "complete")
        s = store.session(sid)
        answers = load_answers(store, s, {"amazon": "Amazon"})
    md = session_markdown(s, answers, {"amazon": "Amazon"})
    assert "| T | Task | unsure | 64% |" in md and "| S | Situation | yes | 97% |" in md, md
    page = session_html(s, answers, {"amazon": "Amazon"})
    assert page.count('<span class="unsure">? unsure</span>') == 1, page
    stats = session_stats(1, s.started_at, [a])
    assert stats.present["task"] == 0 and stats.present["situation"] == 1


def test_work_on_next_after_hypothetical_answers_is_a_real_story():
    from dataclasses import replace

    from starcoach.progress import next_focus

    a = _analysis(spoken=False)
    hyp = replace(a, checks=replace(a.checks, hypothetical=True))
    assert next_focus([hyp]).startswith("1 of 1 answers told what you would do, not what you did")
    # One hypothetical answer in three: the part missing most often still comes first.
    assert next_focus([hyp, a, a]).startswith("Link back was missing in 3 of 3 answers")
