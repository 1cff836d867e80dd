"""Follow-up questions in a practice session, in-process with the edges faked (tests/fakes.py).

A weak answer gets the follow-up its gap calls for, spoken through the same
speaker as the question, recorded, judged through the same path as a main
answer, stored linked to its answer, and judged with it as one story; a kill
mid-reply is recovered into the story; replay, export and progress show it.
The one real session through the virtual microphone is in test_practice.py.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from fakes import FakeTranscriber, ScriptedKeys, spoken
from sessions import QUESTIONS, REPLY, WEAK, Session, no_traceback, wav_seconds
from starcoach.catalogue.banks import builtin_dir, load_catalogue
from starcoach.errors import ExitStatus
from starcoach.judge.followups import load_templates
from starcoach.pipeline.practice import PracticeOptions
from starcoach.store.database import Store

TEMPLATES = load_templates([builtin_dir()])
#: What the built-in banks ask first when the result is missing (no competency variant for gen-003).
RESULT_MISSING = next(t.text for t in TEMPLATES if t.id == "result-missing-end")


def session(tmp_path: Path, scripts: list[str], **options) -> Session:
    """A session whose answers, in order, say ``scripts`` (the last one again after that)."""
    opts = dict(questions=1, question_ids=("gen-003",), end_silence_s=1.5)
    opts.update(options)
    s = Session(tmp_path, [spoken(x) for x in scripts], scripts[0], options=PracticeOptions(**opts))
    s.practice.turn.templates = TEMPLATES
    real = s._source

    def source():
        s.transcriber.script = scripts[min(len(s.sources), len(scripts) - 1)]
        return real()

    s.practice.source_factory = source
    return s


def follow_rows(s: Session) -> list[tuple]:
    return s.rows("SELECT id, position, parent_id, question, status, audio_path, follow_up, duration_s "
                  "FROM answers WHERE parent_id IS NOT NULL ORDER BY id")


def test_a_weak_answer_gets_the_follow_up_its_gap_calls_for_spoken_recorded_judged_and_stored(tmp_path):
    s = session(tmp_path, [WEAK, REPLY])
    assert s.run() == ExitStatus.OK
    text = s.text
    no_traceback(text)
    # The question, then the follow-up for the most important gap (no result), through the same speaker.
    assert s.speaker.said == [QUESTIONS["gen-003"], RESULT_MISSING]
    assert "Follow-up 1" in text and "asks about: Result" in text
    assert text.count("you paused") == 2 and text.count("Feedback ready") == 2
    assert "What the reply supplied" in text and "Result: now there" in text
    assert "Action: now what you did yourself" in text
    assert "first answer and the story with the follow-up" in text
    (main,) = s.practice.outcomes
    (follow,) = main.follow_ups
    assert follow.latency_s is not None and set(follow.supplied) == {"result", "action"}
    assert main.analysis.score < 40  # kept: the reply does not change the first answer's score
    ((fid, position, parent, question, status, audio, meta, duration),) = follow_rows(s)
    main_id, main_score = s.rows("SELECT id, score FROM answers WHERE parent_id IS NULL")[0]
    assert (position, parent, question, status) == (1, main_id, RESULT_MISSING, "analysed")
    assert main_score == main.analysis.score
    assert audio == "sessions/00001/answer-01-f1.wav" and wav_seconds(s.data / audio) == pytest.approx(duration)
    meta = json.loads(meta)
    assert (meta["reason"], meta["template"], meta["component"]) == ("result_missing", "result-missing-end",
                                                                     "result")
    assert {x["component"] for x in meta["supplied"]} == {"result", "action"}
    together = meta["together"]
    assert together["structure"]["result"]["present"] and together["score"] > main.analysis.score
    assert "two hours earlier" in together["transcript"] and "nightly data load" in together["transcript"]
    # The session's figures count the main answer only; its time counts both.
    with Store.open(s.data) as store:
        (row,) = store.sessions()
        assert row.answers == 1 and row.mean_score == main_score
        assert row.total_s == pytest.approx(main.analysis.duration_s + duration, abs=0.01)
    assert "1: +action, +result" in text  # the summary's follow-up column


def test_no_follow_ups_with_zero_and_none_asked_twice_in_a_session(tmp_path):
    s = session(tmp_path, [WEAK], follow_ups=0)
    assert s.run() == ExitStatus.OK
    assert s.speaker.said == [QUESTIONS["gen-003"]] and follow_rows(s) == [] and "Follow-up" not in s.text
    # Two follow-ups each for two questions, answered alike: four different templates, and per story the
    # gaps in order of importance, the second skipping what the first reply made plain.
    meeting = "We had a meeting about it."
    s2 = session(tmp_path / "2", [WEAK, meeting, meeting, WEAK, meeting, meeting],
                 questions=2, question_ids=("gen-003", "gen-001"), follow_ups=2)
    assert s2.run() == ExitStatus.OK
    rows = follow_rows(s2)
    metas = [json.loads(r[6]) for r in rows]
    assert len(rows) == 4
    assert len({m["template"] for m in metas}) == 4
    assert [m["reason"] for m in metas] == ["result_missing", "we_only", "result_missing", "we_only"]
    assert [r[5].rsplit("/", 1)[1] for r in rows] == ["answer-01-f1.wav", "answer-01-f2.wav", "answer-02-f1.wav",
                                                     "answer-02-f2.wav"]


def test_recordings_in_turn_answer_the_follow_ups_and_none_is_asked_when_they_run_out(tmp_path):
    s = session(tmp_path, [WEAK, REPLY], recordings=2, mic_file=Path("weak.wav"),
                mic_files=(Path("weak.wav"), Path("reply.wav")))
    assert s.run() == ExitStatus.OK
    assert len(follow_rows(s)) == 1
    # Every recording is kept with the session's settings (export --format json shows them).
    ((settings,),) = s.rows("SELECT settings FROM sessions")
    settings = json.loads(settings)
    assert settings["mic_files"] == ["weak.wav", "reply.wav"] and settings["mic_file"] == "weak.wav"
    s1 = session(tmp_path / "1", [WEAK], recordings=1, mic_file=Path("weak.wav"))
    assert s1.run() == ExitStatus.OK
    assert follow_rows(s1) == [] and len(s1.speaker.said) == 1  # one recording: the question only


def test_a_silent_reply_is_said_and_the_session_goes_on(tmp_path):
    s = Session(tmp_path, [spoken(WEAK), np.zeros(3 * 16000, dtype=np.float32)], WEAK,
                options=PracticeOptions(questions=1, question_ids=("gen-003",), end_silence_s=1.5, follow_ups=2))
    s.practice.turn.templates = TEMPLATES
    assert s.run() == ExitStatus.OK
    assert "we heard nothing" in s.text
    ((_, _, _, _, status, _, meta, _),) = follow_rows(s)  # one asked; a silent reply ends the follow-ups
    assert status == "failed" and "supplied" not in json.loads(meta)


def test_ctrl_c_in_a_reply_keeps_it_and_the_next_start_recovers_it_into_the_story(tmp_path, monkeypatch):
    import signal

    from starcoach.pipeline.recovery import recover_unfinished

    said_s = spoken(REPLY).size / 16000

    def on_block(n):
        if len(s.sources) == 2 and n == int(said_s * 10) + 5:  # the reply said, before its silence ends it
            signal.raise_signal(signal.SIGINT)

    s = session(tmp_path, [WEAK, REPLY])
    s.on_block = on_block
    assert s.run() == ExitStatus.INTERRUPTED
    ((fid, _, parent, _, status, audio, meta, _),) = follow_rows(s)
    assert status == "recorded" and "supplied" not in json.loads(meta)
    # As after a kill -9: the reply's row is unfinished; the next start offers it, judges it into its story.
    with Store.open(s.data) as store:
        assert [r.id for r in store.unfinished_answers()] == [fid]
        import io

        from rich.console import Console

        out = io.StringIO()
        recover_unfinished(store, FakeTranscriber(REPLY), load_catalogue(), ScriptedKeys(["y"]),
                           Console(file=out, width=200), Console(file=out, width=200))
        text = " ".join(out.getvalue().split())
        assert "An answer to a follow-up question" in text and "What the reply supplied" in text
        assert "Recovered: starcoach was stopped while this answer was being recorded" in text
        row = store.answer(fid)
        assert row.status == "analysed" and row.parent_id == parent
        assert "result" in {x["component"] for x in row.follow_up()["supplied"]}


def test_a_reply_cut_by_the_time_limit_says_so_everywhere_it_is_shown(tmp_path, cli):
    long_reply = REPLY + (" The batch script I wrote is still in use today, and the other teams now run "
                          "their nightly loads with it as well.")
    s = session(tmp_path, [WEAK, long_reply], max_answer_s=14.0)  # the answer ends by silence, the reply not
    assert s.run() == ExitStatus.OK
    text = " ".join(s.text.split())
    banner = "Cut off: the answer ran into the time limit"
    assert text.count("(time limit reached)") == 1 and text.count(banner) == 1
    assert text.index("Follow-up 1") < text.index(banner)
    ((fid, *_),) = follow_rows(s)
    analysis = {i: json.loads(a) for i, a in s.rows("SELECT id, analysis FROM answers")}
    assert analysis[fid]["cut"] == "time_limit" and "cut" not in analysis[1]
    data = str(s.data)
    assert cli("reanalyse", "1", "--data-dir", data).code == 0
    assert json.loads(s.rows(f"SELECT analysis FROM answers WHERE id = {fid}")[0][0])["cut"] == "time_limit"
    md = cli("export", "1", "--format", "md", "--data-dir", data).out
    assert md.count(f"> **{banner}") == 1 and md.index("### Follow-up 1.1") < md.index(banner)
    page = tmp_path / "s.html"
    assert cli("export", "1", "--format", "html", "-o", str(page), "--data-dir", data).code == 0
    html = page.read_text()
    assert html.count('class="note cut"') == 1 and html.index('id="answer-1-follow-up-1"') < html.index(banner)
    assert "Answer 1, follow-up 1" in (r := cli("replay", "--no-audio", "--data-dir", data)).out
    assert banner in " ".join(r.out.split())


def test_a_database_of_schema_2_opens_migrated_and_its_answers_are_main_answers(tmp_path, monkeypatch):
    import starcoach.store.migrations as store_mod

    root = tmp_path / "old"
    with monkeypatch.context() as m:
        m.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS[:2])
        m.setattr(store_mod, "SCHEMA_VERSION", 2)
        with Store.open(root) as store:
            sid = store.new_session("practice", None)
            store.db.execute("INSERT INTO answers (session_id, position, question, created_at, status, score) "
                             "VALUES (?, 1, 'Q', 'now', 'analysed', 70)", (sid,))
    with sqlite3.connect(root / "starcoach.db") as db:
        assert "parent_id" not in [r[1] for r in db.execute("PRAGMA table_info(answers)")]
    with Store.open(root) as store:
        assert store.schema_versions() == [1, 2, 3]
        (row,) = store.answers(sid)
        assert row.parent_id is None and row.follow_up() == {} and store.follow_ups(row.id) == []
        assert store.sessions()[0].answers == 1 and store.sessions()[0].mean_score == 70


@pytest.fixture
def practised(tmp_path):
    """A session of one weak answer and its follow-up, stored by the practice loop."""
    s = session(tmp_path, [WEAK, REPLY])
    assert s.run() == ExitStatus.OK
    return s


def test_replay_export_and_progress_show_the_follow_up_with_its_answer(practised, cli, tmp_path):
    data = str(practised.data)
    r = cli("replay", "--no-audio", "--data-dir", data)
    assert r.code == 0, r
    assert "Answer 1, follow-up 1" in r.out and RESULT_MISSING in r.out and "Result: now there" in r.out
    assert "two hours earlier" in r.out and r.out.index("nightly data load") < r.out.index("Answer 1, follow-up 1")
    doc = json.loads(cli("export", "1", "--format", "json", "--data-dir", data).out)
    (answer,) = doc["answers"]
    assert doc["session"]["answers"] == 1 and answer["schema"] == "starcoach.analysis/1"
    (f,) = answer["follow_ups"]
    assert f["question"] == RESULT_MISSING and f["reason"] == "result_missing"
    assert f["analysis"]["schema"] == "starcoach.analysis/1" and "two hours earlier" in f["analysis"]["transcript"]
    assert set(f["supplied"]) == {"result", "action"} and f["together"]["structure"]["result"]["present"]
    md = cli("export", "1", "--format", "md", "--data-dir", data).out
    assert f"### Follow-up 1.1: {RESULT_MISSING}" in md and "Supplied: Result: now there" in md
    page = tmp_path / "s.html"
    assert cli("export", "1", "--format", "html", "-o", str(page), "--data-dir", data).code == 0
    html = page.read_text()
    assert html.count("<audio ") == 2 and 'id="answer-1-follow-up-1"' in html and 'data-supplied="result"' in html
    p = cli("progress", "--data-dir", data)
    assert p.code == 0, p
    assert "did your reply supply what was missing?" in p.out
    assert re.search(r"Result\s+1\s+1 \(100%\)", p.out)
    assert re.search(r"Progress over 1 session\(s\), 1 answer\(s\)", p.out)  # the reply is not an answer
    # The progress page: the same table, and the charts count the main answer only.
    page = tmp_path / "progress.html"
    assert cli("export", "--progress", "-o", str(page), "--data-dir", data).code == 0
    html = page.read_text()
    assert "did your reply supply what was missing?" in html
    assert re.search(r'<tr data-component="result"><td[^>]*>Result</td><td class="n">1</td>'
                     r'<td class="n">1 \(100%\)</td></tr>', html)
    assert "1 session(s), 1 answer(s)" in html


def test_reanalyse_judges_the_reply_into_its_story_again(practised, cli):
    data = practised.data
    with Store.open(data) as store:
        (f,) = store.follow_ups(1)
        store.save_follow_up(f.id, {k: v for k, v in f.follow_up().items() if k not in ("supplied", "together")})
    r = cli("reanalyse", "1", "--data-dir", str(data))
    assert r.code == 0
    lines = [" ".join(x.split()) for x in r.out.splitlines()]
    # The reply is listed under its answer, numbered as export heads it.
    (main_i,) = [i for i, x in enumerate(lines) if x.startswith("1 1 ")]
    assert lines[main_i + 1].startswith("1 1.1 ↳ ") and "→" in lines[main_i + 1]
    assert lines[-1].startswith("Re-analysed 1 answer(s) and 1 follow-up answer(s) in 1 session(s)")
    with Store.open(data) as store:
        (f,) = store.follow_ups(1)
        assert {x["component"] for x in f.follow_up()["supplied"]} == {"result", "action"}
        assert set(store.reanalysed_at(1)) == {1, f.id}
