"""sessions, replay, progress, export and reanalyse, on sessions built by the real code.

The data folder is filled the way practice and batch analysis fill it: the
Store API, analysis.analyse on answers written here, and one answer spoken by
espeak-ng, transcribed by the bundled Whisper model and stored with its WAV
as practice stores it.  The faults from the "Faults" issue are reproduced
for real: a deleted WAV, a database of random bytes, a damaged database, a
database written by the previous schema, and two processes writing at once.
The HTML export is opened in headless Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from starcoach import progress
from starcoach.catalogue.banks import load_catalogue, search_dirs
from starcoach.cli import replay
from starcoach.model import COMPONENT_TITLES, COMPONENTS, Analysis, Transcript, Word
from starcoach.pipeline.process import analyse_transcript
from starcoach.store.database import DB_NAME, Store, default_data_dir
from starcoach.stored import clock, short, word_at
from starcoach.targets import TIPS

# ----------------------------------------------------------------------------- answers written for these tests

SPOKEN_QUESTION = "Tell me about a time you took ownership of a problem."
SPOKEN = (
    "So you'd like to hear about a time I took charge of a problem that nobody owned. "
    "Last winter I was a support engineer at a small travel company. "
    "Our booking emails were arriving hours late and customers kept calling us. "
    "My goal was to get the emails out on time before the holiday rush. "
    "I measured the queue, I found a stuck retry job, and I rewrote it to send in batches. "
    "After that, emails went out within two minutes and support calls dropped by thirty percent. "
    "That is the kind of customer obsession I would bring to Amazon."
)

STAKEHOLDER_Q = "Tell me about a time you worked with a difficult stakeholder."
STAKEHOLDER = (
    "You want to know about a time I dealt with a difficult stakeholder. "
    "Two years ago I was a junior designer at an insurance firm. "
    "The head of sales wanted the quote form changed every single week. "
    "I needed to keep the release plan stable. "
    "I booked a weekly review with him, I wrote down each request, and I showed him what each change would delay."
)

RELIABILITY_Q = "Describe a time you made a system more reliable."
RELIABILITY = (
    "At my previous job I ran the data platform for a food delivery app. "
    "The nightly import of restaurant menus failed about twice a week. "
    "I had to make it reliable before we launched in three new cities. "
    "I added retries, I split the import into smaller jobs and I set up an alert for the on-call engineer. "
    "Failures dropped from eight a month to zero over the next quarter. "
    "I care about owning the systems our customers depend on, and that ownership is what I would bring to Amazon."
)

SCRIPT = "<script>alert(1)</script>"
SECURITY_Q = "Tell me about a time you found a serious bug."
SECURITY = (
    "So you're asking about a time I found a serious bug. "
    "Last year I was testing our internal search page at a logistics firm. "
    f"I typed {SCRIPT} into the search box and the page ran it. "
    "My job was to report it and help fix it before the next release. "
    "I wrote up the steps, I showed the team the popup, and I paired with the developer on escaping the output. "
    "The fix shipped in two days and a scan found no other pages with the same bug. "
    "I like working that carefully, and I think it fits Google's focus on the user."
)

#: Fixed session times (UTC); shown in New York local time (EST in early March) by the tests.
STARTED = {1: "2024-03-04T14:30:00+00:00", 2: "2024-03-05T14:30:00+00:00", 3: "2024-03-06T09:15:00+00:00"}
LOCAL = {1: "2024-03-04 09:30", 2: "2024-03-05 09:30", 3: "2024-03-06 04:15"}


# ----------------------------------------------------------------------------- the spoken answer (once per module)


@dataclass(frozen=True)
class Spoken:
    wav: Path
    transcript: Transcript


@pytest.fixture(scope="module")
def spoken(tmp_path_factory, whisper) -> Spoken:
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        pytest.fail("espeak-ng and sox are needed (scripts/bootstrap.sh --test installs them)")
    d = tmp_path_factory.mktemp("spoken")
    raw, wav = d / "raw.wav", d / "answer.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), SPOKEN], check=True, capture_output=True)
    # Practice records 16 kHz mono 16-bit PCM (capture.wav.WavWriter).
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)], check=True,
                   capture_output=True)
    transcript = whisper.transcribe_file(wav)
    assert len(transcript.words) > 60 and "travel company" in transcript.text
    return Spoken(wav, transcript)


@pytest.fixture
def new_york():
    """Local time is New York's, so 'local time' is checked against a zone that is not UTC."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def catalogue():
    return load_catalogue(search_dirs(dict(os.environ)))


def data_dir() -> Path:
    return default_data_dir(dict(os.environ))


def store_spoken(store: Store, spoken: Spoken, company) -> int:
    """Store the spoken answer exactly as practice.Practice.record_and_judge does."""
    sid = store.new_session("practice", company.id, {"questions": ["ownership-1"], "competency": None,
                                                      "bank": None, "mic_file": None})
    wav = store.new_audio_path(sid, 1)
    aid = store.new_answer(sid, 1, question=SPOKEN_QUESTION, question_id="ownership-1", company=company.id,
                           audio_path=wav)
    shutil.copyfile(spoken.wav, wav)
    store.mark_recorded(aid, spoken.transcript.duration_s)
    a = analyse_transcript(spoken.transcript, input=store.relative(wav), question=SPOKEN_QUESTION, company=company)
    store.save_analysis(aid, a, spoken.transcript)
    store.finish_session(sid, "complete")
    return sid


def store_written(store: Store, answers: list[tuple[str, str, str, str]]) -> int:
    """Store written answers as batch analysis does: (file name, question, company, text)."""
    cat = catalogue()
    sid = store.new_session("analyse", None, {"inputs": len(answers)})
    for i, (name, q, cid, text) in enumerate(answers):
        aid = store.new_answer(sid, i + 1, question=q, company=cid, source=name, audio_path=None, status="recorded")
        a = analyse_transcript(text, input=name, question=q, company=cat.companies[cid])
        store.save_analysis(aid, a, None)
    store.finish_session(sid, "complete")
    return sid


@pytest.fixture
def built(spoken, new_york) -> dict:
    """Three sessions: 1 practice (spoken, Amazon), 2 analyse (two written, Amazon), 3 analyse (written, Google)."""
    cat = catalogue()
    with Store.open(data_dir()) as store:
        s1 = store_spoken(store, spoken, cat.companies["amazon"])
        s2 = store_written(store, [("stakeholder.txt", STAKEHOLDER_Q, "amazon", STAKEHOLDER),
                                   ("reliability.txt", RELIABILITY_Q, "amazon", RELIABILITY)])
        s3 = store_written(store, [("security.txt", SECURITY_Q, "google", SECURITY)])
        assert (s1, s2, s3) == (1, 2, 3)
        for sid, when in STARTED.items():
            store.db.execute("UPDATE sessions SET started_at = ? WHERE id = ?", (when, sid))
        wav = store.absolute(store.answers(1)[0].audio_path)
    return {"wav": wav, "root": data_dir()}


def stored() -> dict[int, list]:
    """session id -> its answer rows, read back from the database."""
    with Store.open(data_dir()) as store:
        return {s.id: store.answers(s.id) for s in store.sessions()}


def analyses(session_id: int) -> list[Analysis]:
    return [r.analysis() for r in stored()[session_id]]


def line_matching(out: str, pattern: str) -> str:
    found = [ln for ln in out.splitlines() if re.fullmatch(pattern, ln.strip())]
    assert len(found) == 1, f"{pattern!r} not found once in:\n{out}"
    return found[0]


# ----------------------------------------------------------------------------- sessions


def test_sessions_with_an_empty_store_says_how_to_start(cli):
    r = cli("sessions")
    assert r.code == 0 and r.err == ""
    assert r.out.split() == (f"No sessions yet in {data_dir()}. Start one with `starcoach practice --company "
                             "amazon`, or judge recordings with `starcoach analyse FILE`.").split()


def test_looking_at_a_data_folder_that_does_not_exist_creates_nothing(cli, tmp_path):
    new = tmp_path / "new" / "data"
    r = cli("sessions", "--data-dir", str(new))
    assert r.code == 0 and f"No sessions yet in {new}" in " ".join(r.out.split())
    assert cli("progress", "--data-dir", str(new)).code == 0
    r = cli("replay", "--data-dir", str(new))
    assert r.code == 2 and "no sessions stored" in r.err
    r = cli("export", "latest", "--data-dir", str(new))
    assert r.code == 2 and "no sessions stored" in r.err
    assert not (tmp_path / "new").exists()


def test_sessions_lists_date_in_local_time_kind_company_answered_score_and_time(built, cli):
    r = cli("sessions")
    assert r.code == 0, r
    head = r.out.splitlines()[0].split()
    assert head == ["#", "date", "kind", "company", "answered", "mean", "score", "time"]
    a1, a2, a3 = analyses(1), analyses(2), analyses(3)
    mean2 = (a2[0].score + a2[1].score) / 2
    line_matching(r.out, rf"1\s+{LOCAL[1]}\s+practice\s+Amazon\s+1\s+{a1[0].score}\s+0:35")
    line_matching(r.out, rf"2\s+{LOCAL[2]}\s+batch\s+Amazon\s+2\s+{mean2:.0f}\s+—")
    line_matching(r.out, rf"3\s+{LOCAL[3]}\s+analysis\s+Google\s+1\s+{a3[0].score}\s+—")
    assert "3 session(s). `starcoach replay N` shows one" in r.out


def test_sessions_marks_interrupted_and_counts_unanalysed_answers(built, cli):
    with Store.open(data_dir()) as store:
        store.new_answer(2, 3, question="A question left unanswered", status="recording")
        store.finish_session(2, "interrupted")
    r = cli("sessions")
    line_matching(r.out, rf"2\s+{LOCAL[2]}\s+batch \(interrupted\)\s+Amazon\s+2 of 3\s+\d+\s+—")


# ----------------------------------------------------------------------------- replay


def test_word_at_maps_playback_time_to_the_word_being_heard():
    words = (Word("So", 0.0, 0.3), Word("last", 0.5, 0.8), Word("year", 0.8, 1.2),
             Word("I", 2.5, 2.6), Word("led", 2.6, 2.9))
    assert word_at(words, -0.1) is None
    assert word_at((), 3.0) is None
    # The word stays lit through the pause after it (1.2 s - 2.5 s) and after the last word.
    assert [word_at(words, t) for t in (0.0, 0.29, 0.4, 0.5, 0.79, 0.8, 1.9, 2.5, 2.599, 2.7, 60.0)] == \
        [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    # Whisper's times can step back a hair: the highlight never jumps backwards.
    jittery = (Word("we", 1.0, 1.2), Word("shipped", 1.19, 1.5), Word("it", 1.5, 1.6))
    seq = [word_at(jittery, t / 100) for t in range(100, 170)]
    assert seq == sorted(seq) and seq[-1] == 2
    late = (Word("um", 1.0, 1.2), Word("so", 1.3, 1.5))
    assert word_at(late, 0.99) is None and word_at(late, 1.0) == 0


class FakePlayer:
    """Stands in for capture.playback.Player: the position moves on by ``step_s`` (or along ``positions``) when asked."""

    def __init__(self, samples, rate_hz, step_s=0.25, positions=None):
        self.samples, self.rate_hz, self.step_s = samples, rate_hz, step_s
        self.duration_s = len(samples) / rate_hz
        self.positions = list(positions) if positions is not None else None
        self.t = 0.0
        self.started = self.stopped = False

    def start(self):
        self.started = True

    def position_s(self):
        if self.positions is not None:
            self.t = self.positions.pop(0) if self.positions else self.duration_s
        else:
            self.t += self.step_s
        return self.t

    @property
    def done(self):
        return self.t >= self.duration_s

    def stop(self):
        self.stopped = True


class NoKeys:
    def enter_pressed(self):
        return False


def test_playback_lights_each_word_in_time(spoken):
    a = analyse_transcript(spoken.transcript, input="answer.wav", question=SPOKEN_QUESTION, company=None)
    assert a.words == spoken.transcript.words
    # Ask at every word's start (and just before it), then at 0.1 s steps, all in playback order.
    starts = [w.start_s for w in a.words]
    times = sorted({*starts, *(max(0.0, t - 0.005) for t in starts), *np.arange(0, a.words[-1].end_s, 0.1)})
    player = FakePlayer(np.zeros(int(spoken.transcript.duration_s * 16000), np.float32), 16000, positions=times)
    frames = []
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    outcome = replay.play_with_highlight(console, a, player, NoKeys(), poll_s=0.0,
                                          on_frame=lambda t, k: frames.append((t, k)))
    assert outcome == "finished" and player.started and player.stopped, (outcome, len(frames), len(times))
    for t, k in frames:
        started = [i for i, w in enumerate(a.words) if w.start_s <= t]
        assert k == (started[-1] if started else None), (t, k, a.words)
    lit = {k for _, k in frames if k is not None}
    # every word was lit at some point, in order
    assert lit == set(range(len(a.words))), (sorted(set(range(len(a.words))) - lit), a.words)
    assert [k for _, k in frames if k is not None] == sorted(k for _, k in frames if k is not None)
    # What the terminal saw: the word under the cursor in reverse video inside the coloured transcript.
    screen = console.file.getvalue()
    assert "\x1b[" in screen and "Playing" in screen and "Enter or Ctrl-C skips" in screen


def test_playback_to_the_end_lights_a_last_word_placed_at_the_very_end():
    # Whisper can clamp the last word's start to the end of the audio; the loop stops when the
    # audio is done, and the final frame must still light that word.
    words = (Word("we", 0.1, 0.4), Word("shipped", 0.5, 0.9), Word("it.", 1.0, 1.0))
    a = analyse_transcript(Transcript(text="we shipped it.", words=words, duration_s=1.0, speech=()),
                           input="a.wav", question=None, company=None)
    player = FakePlayer(np.zeros(15990, np.float32), 16000, positions=[0.2, 0.6, 0.995])  # ends at 0.999 s
    frames = []
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    assert replay.play_with_highlight(console, a, player, NoKeys(), poll_s=0.0,
                                       on_frame=lambda t, k: frames.append((t, k))) == "finished"
    assert [k for _, k in frames] == [0, 1, 1, 1, 2]


def test_enter_skips_playback(spoken):
    a = analyse_transcript(spoken.transcript, input="answer.wav", question=None, company=None)
    player = FakePlayer(np.zeros(16000 * 30, np.float32), 16000)

    class Enter:
        n = 0

        def enter_pressed(self):
            self.n += 1
            return self.n > 3

    from rich.console import Console

    out = replay.play_with_highlight(Console(file=io.StringIO()), a, player, Enter(), poll_s=0.0)
    assert out == "skipped" and player.stopped and player.t < 2.0


def test_replay_no_audio_shows_question_transcript_checklist_delivery_and_advice(built, cli):
    r = cli("replay", "1", "--no-audio")
    assert r.code == 0 and r.err == "", r
    (a,) = analyses(1)
    lines = r.out.splitlines()
    assert lines[0].split("·")[0].strip() == "Session 1"
    assert f"practice  ·  {LOCAL[1]}  ·  Amazon  ·  1 answer(s)  ·  mean score {a.score}" in lines[0]
    assert lines[1].startswith("Answer 1 of 1 ─")
    assert lines[2] == f"Q: {SPOKEN_QUESTION}"
    assert lines[3] == f"sessions/00001/answer-01.wav  ·  company: Amazon  ·  {a.duration_s:.1f} s  ·  " \
                       f"{a.checks.word_count} words"
    flat = " ".join(re.sub(r"[│╭╮╰╯─]", " ", r.out).split())
    assert " ".join(a.sentences[1].text.split()) in flat
    for c in COMPONENTS:
        mark = "✓" if a.structure[c].present else "✗"
        assert re.search(rf"{COMPONENT_TITLES[c]}\s+{mark}\s+{a.structure[c].confidence:.0%}", r.out), c
    assert f"Score {a.score}/100" in r.out
    assert re.search(rf"│ Pace\s+{a.delivery.wpm:.0f} words/min \(comfortable: 120-170\)", r.out)
    assert re.search(rf"│ Length\s+0:{a.delivery.speaking_s:04.1f} spoken", r.out)
    assert "Delivery" in r.out and "What to work on" in r.out
    assert " ".join(a.advice[0].split()[:6]) in flat


def test_replay_defaults_to_the_latest_session_and_shows_markup_as_text(built, cli):
    r = cli("replay", "--no-audio")
    assert r.code == 0
    assert r.out.startswith("Session 3")
    assert f"Q: {SECURITY_Q}" in r.out and SCRIPT in r.out
    assert "Delivery" not in r.out  # a written answer has no delivery metrics


def test_replay_one_answer_and_bad_references(built, cli):
    r = cli("replay", "2", "--answer", "2", "--no-audio")
    assert r.code == 0
    assert "Answer 2 of 2" in r.out and f"Q: {RELIABILITY_Q}" in r.out and STAKEHOLDER_Q not in r.out
    r = cli("replay", "2", "--answer", "3")
    assert (r.code, r.out, r.err) == (2, "", "starcoach: session 2 has 2 answer(s); there is no answer 3\n")
    r = cli("replay", "9")
    assert r.code == 2 and r.err == f"starcoach: no session '9' in {data_dir()} (`starcoach sessions` lists them)\n"
    empty = cli("replay", "--data-dir", str(data_dir().parent / "elsewhere"))
    assert empty.code == 2 and "no sessions stored in" in empty.err and "starcoach practice" in empty.err


def test_replay_with_the_audio_file_deleted_shows_the_rest_and_says_so(built, cli):
    built["wav"].unlink()
    r = cli("replay", "1")
    assert r.code == 0 and r.err == ""
    assert "R-STAR-L" in r.out and "Delivery" in r.out and "What to work on" in r.out
    missing = [ln for ln in r.out.splitlines() if "missing" in ln]
    assert missing == [f"Audio file missing: {built['wav']} (the rest of the answer is shown above)."]


class TtyIO(io.StringIO):
    def isatty(self):
        return True


def run_in_terminal(*args):
    from starcoach.cli import main
    from starcoach.cli.env import Env

    out, err = TtyIO(), io.StringIO()
    code = main(list(args), Env(stdout=out, stderr=err, stdin=io.StringIO(""), environ=dict(os.environ)))
    return int(code), out.getvalue(), err.getvalue()


def test_replay_in_a_terminal_plays_the_answer_audio(built, monkeypatch):
    made = []

    def factory(samples, rate_hz):
        made.append(FakePlayer(samples, rate_hz, step_s=4.0))
        return made[-1]

    monkeypatch.setattr("starcoach.capture.playback.open_output", lambda **options: factory)
    code, out, err = run_in_terminal("replay", "1")
    assert code == 0, err
    (p,) = made
    with wave.open(str(built["wav"])) as w:
        frames = w.getnframes()
    assert p.started and p.stopped and p.rate_hz == 16000 and len(p.samples) == frames
    assert "Playing" in out


REPLAY_CHILD = """
    import io, json, os
    from starcoach.cli import main
    from starcoach.cli.env import Env

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out, err = Terminal(), io.StringIO()
    code = main(["replay", "1"], Env(stdout=out, stderr=err, stdin=io.StringIO(""), environ=dict(os.environ)))
    print(json.dumps({"code": int(code), "err": err.getvalue(), "out": out.getvalue()}))
"""


def test_replay_in_a_terminal_plays_through_portaudio(built, tmp_path):
    """The real sounddevice path, into ALSA's file plugin (a virtual speaker: see tests/alsa.py)."""
    from alsa import HAVE_TOOLS, alsa_env, run_child, write_asound

    if not HAVE_TOOLS:
        pytest.skip("needs espeak-ng, sox and ALSA's alsa.conf")
    played = tmp_path / "played.raw"
    conf = write_asound(tmp_path, None, played)
    result, proc = run_child(REPLAY_CHILD, alsa_env(conf))
    assert result["code"] == 0 and result["err"] == "", result
    assert "Playing" in result["out"] and "Audio not played" not in result["out"]
    assert "ALSA lib" not in proc.stderr
    heard = np.fromfile(played, dtype="<i2")
    with wave.open(str(built["wav"])) as w:
        sent = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    # Every sample of the answer reached the speaker, in order: after whatever silence PortAudio primes
    # the device with, and before the zeros that pad the last buffer.
    lead = int(np.flatnonzero(heard)[0]) - int(np.flatnonzero(sent)[0])
    assert 0 <= lead < 16000 and heard.size >= lead + sent.size
    assert np.abs(heard[lead:lead + sent.size].astype(int) - sent).max() <= 1
    assert not heard[:lead].any() and not heard[lead + sent.size:].any()


def test_replay_in_a_terminal_with_no_output_device_says_why(built):
    from starcoach.capture.portaudio import HardwareError, list_devices

    try:
        if any(d.outputs for d in list_devices()):
            pytest.skip("this machine has a sound output; the no-device path is covered by the fake above")
    except HardwareError:
        pass
    code, out, err = run_in_terminal("replay", "1")
    assert code == 0
    notes = [ln for ln in re.sub(r"\x1b\[[0-9;]*m", "", out).splitlines() if ln.startswith("Audio not played")]
    assert len(notes) == 1 and ("no speaker found" in notes[0] or "PortAudio" in notes[0])


# ----------------------------------------------------------------------------- progress


def test_progress_with_no_sessions(cli):
    r = cli("progress")
    assert r.code == 0
    assert " ".join(r.out.split()) == ("No analysed answers yet, so no progress to show. Start with `starcoach "
                                      "practice --company amazon`; each session adds a point to the charts.")


def test_progress_with_one_session(spoken, new_york, cli):
    with Store.open(data_dir()) as store:
        store_spoken(store, spoken, catalogue().companies["amazon"])
        store.db.execute("UPDATE sessions SET started_at = ?", (STARTED[1],))
    (a,) = analyses(1)
    r = cli("progress")
    assert r.code == 0, r
    assert r.out.splitlines()[0] == "Progress over 1 session(s), 1 answer(s)"
    line_matching(r.out, rf"1\s+{LOCAL[1]}\s+1\s+█+░*\s+{a.score}\s+[●○ ]+")
    spark = progress.sparkline([a.score], 0, 100)
    line_matching(r.out, rf"Mean score\s+{spark}\s+{a.score}\s+{a.score}\s+—")
    d = a.delivery
    line_matching(r.out, rf"Words per minute\s+{progress.sparkline([d.wpm])}\s+{d.wpm:.0f}\s+{d.wpm:.0f}\s+—")
    line_matching(r.out, rf"Answer length \(spoken\)\s+\S\s+{clock(d.speaking_s)}\s+"
                         rf"{clock(d.speaking_s)}\s+—")
    assert "this session" in r.out


def test_progress_over_many_sessions_charts_each_measure_and_names_the_part_to_practise(built, cli):
    per_session = {sid: analyses(sid) for sid in (1, 2, 3)}
    r = cli("progress", "--kind", "all")
    assert r.code == 0, r
    assert r.out.splitlines()[0] == "Progress over 3 session(s), 4 answer(s)"
    means = [sum(a.score for a in per_session[s]) / len(per_session[s]) for s in (1, 2, 3)]
    def change(d, unit=""):
        return re.escape(f"{d:+.0f}{unit}" if round(d) else f"0{unit}")

    line_matching(r.out, rf"Mean score\s+{progress.sparkline(means, 0, 100)}\s+{means[0]:.0f}\s+{means[2]:.0f}\s+"
                         + change(means[2] - means[0]))
    for c in COMPONENTS:
        pct = [100 * sum(a.structure[c].present for a in per_session[s]) / len(per_session[s]) for s in (1, 2, 3)]
        line_matching(r.out, rf"{COMPONENT_TITLES[c]} present\s+{progress.sparkline(pct, 0, 100)}\s+"
                             rf"{pct[0]:.0f}%\s+{pct[2]:.0f}%\s+" + change(pct[2] - pct[0], "%"))
    # Delivery is measured only in the spoken session: dots for the written ones, nothing to compare.
    d = per_session[1][0].delivery
    line_matching(r.out, rf"Words per minute\s+{progress.sparkline([d.wpm])}··\s+{d.wpm:.0f}\s+{d.wpm:.0f}\s+—")
    fpm = f"{d.fillers_per_minute:.1f}"
    line_matching(r.out, rf"Fillers per minute\s+{progress.sparkline([d.fillers_per_minute], 0)}··\s+{fpm}\s+"
                         rf"{fpm}\s+—")
    words = [sum(a.checks.word_count for a in per_session[s]) / len(per_session[s]) for s in (1, 2, 3)]
    line_matching(r.out, rf"Answer length \(words\)\s+{progress.sparkline(words, 0)}\s+{words[0]:.0f}\s+"
                         rf"{words[2]:.0f}\s+" + change(words[2] - words[0]))
    # The weakest part over the recent sessions, with its tip.
    everything = [a for s in (1, 2, 3) for a in per_session[s]]
    rate = {c: sum(a.structure[c].present for a in everything) for c in COMPONENTS}
    worst = min(COMPONENTS, key=lambda c: (rate[c], COMPONENTS.index(c)))
    flat = " ".join(re.sub(r"[│╭╮╰╯─]", " ", r.out).split())
    assert rate[worst] < 4, "the written answers were meant to leave a part out"
    assert (f"Practise next: {COMPONENT_TITLES[worst]} — present in {rate[worst]} of 4 answers "
            f"({100 * rate[worst] / 4:.0f}%) over the last 3 sessions.") in flat
    assert "Tip: " + TIPS[worst].full[0].upper() + " ".join(TIPS[worst].full[1:].split())[:40] in flat


def test_progress_counts_practice_only_unless_asked(built, cli):
    (a,) = analyses(1)
    r = cli("progress")
    assert r.code == 0, r
    assert r.out.splitlines()[0] == "Progress over 1 session(s), 1 answer(s)"
    line_matching(r.out, rf"1\s+{LOCAL[1]}\s+1\s+█+░*\s+{a.score}\s+[●○ ]+")
    assert ("Counted: practice sessions; not counted: 1 analysis, 1 batch (`--kind all` counts every session)."
            in r.out)
    r = cli("progress", "--kind", "batch")
    assert r.out.splitlines()[0] == "Progress over 1 session(s), 2 answer(s)"
    r = cli("progress", "--kind", "demo")
    assert " ".join(r.out.split()) == ("No analysed demo answers yet; not counted: 1 analysis, 1 batch, 1 practice "
                                      "(`--kind all` counts every session).")


def test_sessions_of_one_kind_and_the_demo_told_apart(built, cli):
    from starcoach.catalogue.banks import examples_dir
    from starcoach.cli.parser import SESSION_KINDS as parser_kinds
    from starcoach.stored import SESSION_KINDS

    assert parser_kinds == SESSION_KINDS
    r = cli("sessions", "--kind", "analysis")
    assert r.code == 0 and [ln.split()[0] for ln in r.out.splitlines()[1:-1]] == ["3"]
    assert "No demo sessions in" in cli("sessions", "--kind", "demo").out
    demo = examples_dir() / "answer.ogg"
    with Store.open(data_dir()) as store:
        store.new_session("practice", "amazon", {"mic_file": str(demo)})
    line_matching(cli("sessions", "--kind", "demo").out, r"4\s+\S+ \S+\s+demo \(unfinished\)\s+Amazon\s+0\s+—\s+—")


def test_progress_for_one_company(built, cli):
    r = cli("progress", "--company", "google", "--kind", "all")
    assert r.code == 0
    (a,) = analyses(3)
    assert r.out.splitlines()[0] == "Progress over 1 session(s), 1 answer(s) · Google"
    line_matching(r.out, rf"3\s+{LOCAL[3]}\s+1\s+█+░*\s+{a.score}\s+[●○ ]+")
    r = cli("progress", "--company", "stripe", "--kind", "all")
    assert r.code == 0
    assert " ".join(r.out.split()) == ("No analysed answers for company 'stripe' yet (sessions exist for: amazon, "
                                      "google). Practise with `starcoach practice --company stripe`.")
    # Google's only answer is in an analyse session, which progress leaves out by default: it says so.
    r = cli("progress", "--company", "google")
    assert r.code == 0
    assert " ".join(r.out.split()) == ("No analysed practice answers for company 'google' yet (sessions exist for: "
                                      "amazon); not counted: 1 analysis, 1 batch (`--kind all` counts every session). "
                                      "Practise with `starcoach practice --company google`."), r.out
    # A company neither known nor stored: a usage error (before: exit 0, advising a command that fails).
    r = cli("progress", "--company", "nosuch", "--kind", "all")
    assert r.code == 2 and r.out == ""
    assert r.err.strip() == ("starcoach: unknown company 'nosuch': neither a profile nor in any stored session "
                             "(see `starcoach companies`)")


def test_weakest_component_is_the_lowest_rate_over_recent_sessions():
    def st(i, present, n=2):
        return progress.SessionStats(i, STARTED[1], n, 50.0, present, None, None, None, None)

    full = dict.fromkeys(COMPONENTS, 2)
    old_gap = st(1, {**dict.fromkeys(COMPONENTS, 10), "repeat": 0}, n=10)
    recent = [st(i, {**full, "result": 1, "link_back": 1}) for i in range(2, 7)]
    # Session 1 (no repeat at all) is older than the last five: the recent gaps count.
    assert progress.weakest_component([old_gap, *recent]) == ("result", 5, 10, 5)
    assert progress.weakest_component([old_gap, *recent], recent=6)[0] == "repeat"
    assert progress.sparkline([0, 50, 100, None], 0, 100) == "▁▅█·"
    assert progress.sparkline([7, 7]) == "▅▅"


# ----------------------------------------------------------------------------- export


def test_export_json_is_the_session_and_its_stored_analyses(built, cli):
    r = cli("export", "2", "--format", "json")
    assert r.code == 0 and r.err == ""
    obj = json.loads(r.out)
    assert obj["schema"] == "starcoach.session/1"
    rows = stored()[2]
    # Each answer is its stored analysis with one key added: its follow-ups (none were asked here).
    assert [a.pop("follow_ups") for a in obj["answers"]] == [[], []]
    assert obj["answers"] == [json.loads(row.analysis_json) for row in rows]
    assert [a["schema"] for a in obj["answers"]] == ["starcoach.analysis/1"] * 2
    s = obj["session"]
    assert (s["id"], s["kind"], s["status"], s["started_at"], s["answers"]) == (2, "analyse", "complete",
                                                                              STARTED[2], 2)
    assert s["mean_score"] == round(sum(row.score for row in rows) / 2, 1)


def test_export_markdown_escapes_markup_and_has_every_part(built, cli, tmp_path):
    r = cli("export", "3", "--format", "md")
    assert r.code == 0
    (a,) = analyses(3)
    md = r.out
    assert md.startswith("# starcoach session 3\n\n- Date: 2024-03-06 04:15 (local time)\n")
    assert f"## 1. {SECURITY_Q}" in md and f"**Score: {a.score}/100**" in md
    assert SCRIPT not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    for c in COMPONENTS:
        assert f"| {COMPONENT_TITLES[c]} | {'yes' if a.structure[c].present else 'no'} |" in md
    assert "- **Action:** I wrote up the steps" in md
    assert "- Delivery: written answer: no delivery metrics" in md
    out = tmp_path / "s3.md"
    r = cli("export", "3", "--format", "md", "-o", str(out))
    assert r.code == 0 and out.read_text() == md and r.out.startswith(f"Wrote {out} (")
    assert out.stat().st_mode & 0o777 == 0o600


def audio_src(page: str) -> bytes:
    m = re.search(r'<audio controls preload="metadata" src="data:audio/ogg;base64,([A-Za-z0-9+/=]+)">', page)
    assert m, "no embedded audio"
    return base64.b64decode(m.group(1))


def test_export_html_embeds_compressed_audio_and_times_every_word(built, cli, tmp_path, monkeypatch):
    import hashlib

    import av

    monkeypatch.chdir(tmp_path)
    r = cli("export", "1", "--format", "html")
    assert r.code == 0, r
    page_path = tmp_path / "session-1.html"
    assert r.out.startswith("Wrote session-1.html (") and "1 answer(s)" in r.out
    page = page_path.read_text()
    ogg = audio_src(page)
    with av.open(io.BytesIO(ogg)) as f, wave.open(str(built["wav"])) as orig:
        stream = f.streams.audio[0]
        assert stream.codec_context.name == "opus"
        seconds = orig.getnframes() / orig.getframerate()
        assert abs(float(stream.duration * stream.time_base) - seconds) < 0.1
    # Well under 0.5 MB a minute of audio, the page included (WAV alone is 1.9 MB a minute).
    assert page_path.stat().st_size < 0.5e6 * seconds / 60
    assert "http://" not in page and "https://" not in page  # self-contained
    (a,) = analyses(1)
    for sent in a.sentences:
        if sent.component:
            assert f'data-component="{sent.component}"' in page
    # Every timed word is a span the script can light and seek to, in order.
    times = [float(x) for x in re.findall(r'<span class="w(?: filler)?(?: shaky)?"(?: title="[^"]*")? data-s="([0-9.]+)"', page)]
    assert len(times) == len(a.words) and times == sorted(times)
    assert times[0] == round(a.words[0].start_s, 2)
    assert page.count('<span class="w filler"') == len(a.delivery.fillers)
    assert len(re.findall(r'<span class="pause(?: long)?" title="pause">', page)) == len(a.delivery.pauses)
    # Fillers and pauses are marked where they fall (this answer has none: give it one of each).
    from dataclasses import replace

    from starcoach.export.html_page import transcript_html
    from starcoach.model import Filler, Pause

    w3, w5, w6 = a.words[3], a.words[5], a.words[6]
    marked = transcript_html(replace(a, delivery=replace(a.delivery, fillers=(Filler("um", w3.start_s),),
                                                          pauses=(Pause(w5.end_s, 3.5),))))
    assert f'<span class="w filler" data-s="{w3.start_s:.2f}" data-e="{w3.end_s:.2f}">{w3.text.strip()}</span>' in marked
    assert re.search(r'<span class="pause long" title="pause">3\.5 s</span> <span class="w" data-s="'
                     + f"{w6.start_s:.2f}", marked)
    # The one script runs by its hash and nothing else may.
    (script,) = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    (csp,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert [d for d in csp.split("; ") if d.startswith("script-src")] == [f"script-src 'sha256-{digest}'"]
    assert "default-src 'none'" in csp
    assert "fetch(" not in script and "XMLHttpRequest" not in script
    # A notes field per answer and one button that saves them all as a Markdown file.
    assert page.count('<textarea class="notes"') == 1
    assert '<button id="save-notes" data-file="session-1-notes.md">' in page


def test_export_with_the_audio_file_deleted_has_a_note_instead(built, cli, tmp_path):
    built["wav"].unlink()
    out = tmp_path / "s1.html"
    r = cli("export", "1", "--format", "html", "-o", str(out))
    assert r.code == 0
    page = out.read_text()
    assert "<audio" not in page and f'<p class="note">Audio file missing: {built["wav"]}</p>' in page
    assert r.err.strip() == f"Answer 1: audio file missing: {built['wav']} (exported without it)."
    md = cli("export", "1", "--format", "md").out
    assert f"*Audio file missing:* `{built['wav']}`" in md


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


#: A word span of the page: class "w", maybe "filler" and "shaky", maybe lit ("now").
WORD_SPAN = r'<span class="w(?: filler)?(?: shaky)?{now}"(?: title="[^"]*")? data-s="([0-9.]+)"'
#: Where the audio is and which words are lit (their starts), read from the page's own DOM.
STATE_FN = ("() => { const au = document.querySelector('section.answer audio'); "
            "const now = document.querySelectorAll('section.answer .w.now'); "
            "return {t: au.currentTime, paused: au.paused, lit: [...now].map(e => +e.dataset.s)}; }")


def follow_up_session(tmp_path: Path) -> Path:
    """The data folder of one practice session: a weak answer and the reply to its follow-up (edges faked)."""
    from fakes import FakeTranscriber, spoken
    from sessions import REPLY, WEAK, Session
    from starcoach.catalogue.banks import builtin_dir
    from starcoach.judge.followups import load_templates
    from starcoach.pipeline.practice import PracticeOptions

    tx = FakeTranscriber(WEAK)
    s = Session(tmp_path, [spoken(WEAK), spoken(REPLY)], WEAK, transcriber=tx,
                options=PracticeOptions(questions=1, question_ids=("gen-003",), end_silence_s=1.5))
    s.practice.turn.templates = load_templates([builtin_dir()])
    real = s.practice.source_factory

    def source():
        tx.script = REPLY if s.sources else WEAK
        return real()

    s.practice.source_factory = source
    assert s.run() == 0 and "What the reply supplied" in s.text
    return s.data


def test_html_export_in_headless_chromium(built, cli, tmp_path):
    """One browser for every check: the page as built, its script under the CSP, playback lighting the words,
    a click seeking, a deep link, the coach's notes saved and merged back, and the progress page."""
    from cdp import CHROMIUM, Browser

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium; scripts/bootstrap.sh --test installs it)")
    pages = {}
    for sid in (1, 3):
        out = tmp_path / f"session-{sid}.html"
        assert cli("export", str(sid), "--format", "html", "-o", str(out)).code == 0
        pages[sid] = out
    progress_page = tmp_path / "progress.html"
    assert cli("export", "--progress", "--kind", "all", "-o", str(progress_page)).code == 0
    (a,) = analyses(1)
    b = Browser(tmp_path / "chromium-profile", tmp_path / "downloads")
    try:
        # The spoken answer: transcript coloured by component, the checklist, the audio as a data: URI.
        b.go(pages[1].as_uri())
        dom = b.js("document.documentElement.outerHTML")
        assert "<main>" in dom
        for sent in a.sentences:
            cls = (sent.component or "none").replace("_", "-")
            assert f'<span class="c c-{cls}" data-component="{sent.component or "none"}" title="' in dom, sent
        for c in COMPONENTS:
            assert f'<tr data-component="{c}">' in dom and f">{COMPONENT_TITLES[c]}</td>" in dom
        assert re.search(r'<audio controls="" preload="metadata" src="data:audio/ogg;base64,[A-Za-z0-9+/]{1000}', dom)
        assert f"{a.delivery.wpm:.0f} words/min" in dom and "What to work on" in dom
        assert b.js("document.body.dataset.ready") == "1"  # the page's script ran under its CSP
        # The browser decodes the Opus audio: the recording's length.
        duration = b.js("new Promise(r => { const au = document.querySelector('audio'); "
                        "if (au.readyState >= 1) r(au.duration); else au.onloadedmetadata = () => r(au.duration); })")
        assert duration == pytest.approx(stored()[1][0].duration_s, abs=0.1)

        # Clicking a word seeks there, lights it, and plays; playback then lights the words that follow.
        b.js(f"window.state = {STATE_FN}")
        w = a.words[len(a.words) // 3]
        clicked = b.js("(() => { const el = [...document.querySelectorAll('.w')]"
                       f".find(e => e.dataset.s === '{w.start_s:.2f}'); el.click(); return state(); }})()")
        assert clicked["t"] == pytest.approx(w.start_s, abs=0.01) and clicked["lit"] == [round(w.start_s, 2)]
        later = b.js("new Promise(r => { const au = document.querySelector('audio'); const t0 = au.currentTime; "
                     "const check = () => { if (au.currentTime > t0 + 1.5) { const s = state(); au.pause(); "
                     "r(s); } else setTimeout(check, 50); }; check(); })")
        assert not clicked["paused"] or later["t"] > w.start_s + 1.5  # it played
        assert later["t"] > w.start_s + 1.5
        heard = word_at(a.words, later["t"])
        assert heard is not None and a.words[heard].start_s > w.start_s + 0.5
        # The word lit is the one heard then (within the time one animation frame and the pause take).
        assert later["lit"] and abs(later["lit"][0] - a.words[heard].start_s) <= 0.5, (later, a.words[heard])
        assert len(later["lit"]) == 1

        # "#t=SECONDS" lights the word heard then.
        w = a.words[len(a.words) // 2]
        b.go("about:blank")
        b.go(pages[1].as_uri() + f"#t={(w.start_s + w.end_s) / 2:.2f}")
        lit = re.findall(WORD_SPAN.format(now=" now"), b.js("document.documentElement.outerHTML"))
        assert lit == [f"{w.start_s:.2f}"], lit

        # The coach's notes: typed, saved as Markdown by the page (a download), merged back by the command.
        note = "Strong opening.\nSay what you measured <before> the fix & after it."
        b.js(f"(() => {{ const t = document.querySelector('textarea.notes'); t.value = {json.dumps(note)}; "
             "document.getElementById('save-notes').click(); })()")
        done = b.wait_event("Browser.downloadProgress", state="completed")
        saved = tmp_path / "downloads" / "session-1-notes.md"
        assert saved.exists(), done
        assert saved.read_text() == (f"# Notes on starcoach session 1\n\n## 1. {SPOKEN_QUESTION}\n\n{note}\n")
        again = tmp_path / "again.html"
        r = cli("export", "1", "--notes", str(saved), "-o", str(again))
        assert r.code == 0 and f"Notes on 1 of 1 answer(s) from {saved}." in r.err
        b.go(again.as_uri())
        assert b.js("document.querySelector('textarea.notes').value") == note  # escaped in, read back as typed
        md = cli("export", "1", "--format", "md", "--notes", str(saved)).out
        assert "### Coach's notes\n\n> Strong opening.\n> Say what you measured &lt;before&gt; the fix &amp; after it." in md

        # A session with a follow-up: the notes saved are on its answers only, not on the follow-up's section.
        fu = follow_up_session(tmp_path / "with-follow-up")
        fu_page = tmp_path / "with-follow-up.html"
        assert cli("export", "1", "--format", "html", "-o", str(fu_page), "--data-dir", str(fu)).code == 0
        saved.unlink()
        b.go(fu_page.as_uri())
        assert b.js("document.querySelectorAll('section.answer').length") == 2
        b.js("(() => { document.querySelector('textarea.notes').value = 'Ask how it turned out.'; "
             "document.getElementById('save-notes').click(); })()")
        done = b.wait_event("Browser.downloadProgress", state="completed")
        assert saved.exists(), done
        from sessions import QUESTIONS

        assert saved.read_text() == f"# Notes on starcoach session 1\n\n## 1. {QUESTIONS['gen-003']}\n\nAsk how it turned out.\n"
        r = cli("export", "1", "--format", "json", "--notes", str(saved), "--data-dir", str(fu))
        assert r.code == 0 and json.loads(r.out)["notes"] == {"1": "Ask how it turned out."}

        # A picture to look at (STARCOACH_KEEP_SCREENSHOT=FILE keeps it): the page renders at the asked size.
        shot = b.screenshot(1100, 1600)
        assert png_size(shot) == (1100, 1600) and len(shot) > 30_000
        if os.environ.get("STARCOACH_KEEP_SCREENSHOT"):
            Path(os.environ["STARCOACH_KEEP_SCREENSHOT"]).write_bytes(shot)

        # The answer with markup in it: shown as text, never run.
        b.go(pages[3].as_uri())
        dom3 = b.js("document.documentElement.outerHTML")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom3
        assert dom3.lower().count("<script") == 1  # the page's own, nothing from the transcript

        # The progress page: a chart per measure and per part, drawn by the browser, no script at all.
        b.go(progress_page.as_uri())
        charts = b.js("[...document.querySelectorAll('svg[data-chart]')].map(s => [s.dataset.chart, "
                      "[...s.querySelectorAll('circle')].map(c => +c.dataset.value), "
                      "Math.round(s.getBoundingClientRect().width)])")
        names = [c[0] for c in charts]
        assert names == ["score", "fillers", "pace", "length", *COMPONENTS]
        assert all(width > 200 for _, _, width in charts)  # laid out, not collapsed
        per = {sid: analyses(sid) for sid in (1, 2, 3)}
        means = [round(sum(x.score for x in per[s]) / len(per[s]), 2) for s in (1, 2, 3)]
        assert dict((c[0], c[1]) for c in charts)["score"] == pytest.approx(means, abs=0.01)
        assert dict((c[0], c[1]) for c in charts)["pace"] == [pytest.approx(a.delivery.wpm, abs=0.01)]
        assert b.js("document.scripts.length") == 0
        if os.environ.get("STARCOACH_KEEP_SCREENSHOT"):
            Path(os.environ["STARCOACH_KEEP_SCREENSHOT"]).with_suffix(".progress.png").write_bytes(
                b.screenshot(1100, 1400))
    finally:
        b.close()


def test_export_notes_are_merged_back_and_a_wrong_file_is_one_line(built, cli, tmp_path):
    notes = tmp_path / "session-2-notes.md"
    notes.write_text(f"# Notes on starcoach session 2\n\n## 1. {STAKEHOLDER_Q}\n\nGood set-up.\n\n## Not a heading "
                     f"of ours\nkept in the note\n\n## 2. {RELIABILITY_Q}\n\n(no notes)\n")
    r = cli("export", "2", "--format", "json", "--notes", str(notes))
    assert r.code == 0, r
    doc = json.loads(r.out)
    assert doc["notes"] == {"1": "Good set-up.\n\n## Not a heading of ours\nkept in the note"}
    assert "notes" not in json.loads(cli("export", "2", "--format", "json").out)
    page = tmp_path / "s2.html"
    assert cli("export", "2", "--notes", str(notes), "-o", str(page)).code == 0
    assert page.read_text().count('placeholder="Notes for the candidate on this answer">Good set-up.\n\n'
                                  "## Not a heading of ours\nkept in the note</textarea>") == 1
    # Notes on another session, a file that is not notes, a missing file: one line each, exit 2, nothing written.
    other = tmp_path / "other.md"
    other.write_text("# Notes on starcoach session 3\n\n## 1. x\n\ny\n")
    bad = tmp_path / "bad.md"
    bad.write_text("shopping list\n")
    for path, message in ((other, f"{other}: these are notes on session 3, not session 2"),
                          (bad, f"{bad}: not a notes file saved from a starcoach page (it should start with "
                                "'# Notes on starcoach session N')"),
                          (tmp_path / "none.md", f"{tmp_path / 'none.md'}: no such file")):
        r = cli("export", "2", "--notes", str(path), "-o", str(tmp_path / "never.html"))
        assert r.code == 2 and r.err.strip() == f"starcoach: {message}", r
        assert "Traceback" not in r.err
    assert not (tmp_path / "never.html").exists()


def test_export_progress_needs_no_session_and_says_when_there_is_nothing(built, cli, tmp_path):
    r = cli("export")
    assert r.code == 2 and "export needs a SESSION (a number, or 'latest'), or --progress" in r.err
    r = cli("export", "1", "--progress")
    assert r.code == 2 and "--progress writes one HTML page" in r.err
    r = cli("export", "1", "--kind", "all")
    assert r.code == 2 and "--company and --kind go with --progress" in r.err
    out = tmp_path / "p.html"
    r = cli("export", "--progress", "-o", str(out))  # practice only: session 1
    assert r.code == 0 and f"Wrote {out}" in r.out and "1 session(s)" in r.out
    page = out.read_text()
    assert "Counted: practice sessions; not counted: 1 analysis, 1 batch" in page
    assert "<script" not in page and "default-src 'none'" in page
    r = cli("export", "--progress", "--kind", "demo", "-o", str(tmp_path / "none.html"))
    assert r.code == 0 and "No analysed demo answers yet" in r.out and not (tmp_path / "none.html").exists()


# ----------------------------------------------------------------------------- reanalyse


def test_reanalyse_rejudges_stored_transcripts_without_transcribing(built, cli, monkeypatch):
    import starcoach.speech.transcribe

    def no_transcription(*a, **k):
        raise AssertionError("reanalyse must not transcribe")

    monkeypatch.setattr(starcoach.speech.transcribe, "WhisperTranscriber", no_transcription)
    before = {r.id: json.loads(r.analysis_json) for rows in stored().values() for r in rows}
    # Pretend answers were judged by an older, harsher version.
    with sqlite3.connect(built["root"] / DB_NAME) as db:
        for aid, obj in before.items():
            db.execute("UPDATE answers SET score = 3, analysis = ? WHERE id = ?",
                       (json.dumps({**obj, "score": 3, "advice": ["old advice"]}), aid))
    r = cli("reanalyse", "--all")
    assert r.code == 0, r
    assert r.out.splitlines()[0].split() == ["session", "#", "question", "old", "new", "change"]
    for sid, n, q in ((1, 1, SPOKEN_QUESTION), (2, 1, STAKEHOLDER_Q), (2, 2, RELIABILITY_Q), (3, 1, SECURITY_Q)):
        new = before[[r.id for r in stored()[sid]][n - 1]]["score"]
        shown = re.escape(short(q, 50))
        line_matching(r.out, rf"{sid}\s+{n}\s+{shown}\s+3\s+→\s+{new}\s+\+{new - 3}")
    assert r.out.splitlines()[-1] == "Re-analysed 4 answer(s) in 3 session(s) with the current rules; 4 score(s) " \
                                     "changed."
    after = {r.id: json.loads(r.analysis_json) for rows in stored().values() for r in rows}
    assert after == before  # same rules, same transcripts: the original analyses, delivery included
    with Store.open(built["root"]) as store:
        assert set(store.reanalysed_at(1)) == {1}
    replay = cli("replay", "1", "--no-audio")
    assert "Re-analysed 2024" not in replay.out and "Re-analysed 20" in replay.out


def test_reanalyse_one_session_with_a_company_no_longer_known(built, cli):
    with sqlite3.connect(built["root"] / DB_NAME) as db:
        db.execute("UPDATE answers SET company = 'acme' WHERE session_id = 3")
    r = cli("reanalyse", "latest")
    assert r.code == 0
    assert r.err.strip() == ("note: company 'acme' is no longer in the question banks: answers for it are "
                             "analysed without its values")
    (row,) = stored()[3]
    obj = json.loads(row.analysis_json)
    assert obj["company"] is None and obj["structure"]["link_back"]["values"] == []
    assert "1 answer(s) in 1 session(s)" in r.out


def test_reanalyse_usage(cli, built):
    assert cli("reanalyse").code == 2
    r = cli("reanalyse", "2", "--all")
    assert (r.code, r.err) == (2, "starcoach: give a session or --all, not both\n")


# ----------------------------------------------------------------------------- faults


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


COMMANDS = [("sessions",), ("replay", "--no-audio"), ("progress",), ("export", "1", "--format", "json"),
            ("reanalyse", "--all")]


def test_a_database_of_random_bytes_is_one_clear_error_and_the_audio_is_kept(built, cli):
    db = built["root"] / DB_NAME
    db.write_bytes(os.urandom(64 * 1024))
    wav_before, db_before = digest(built["wav"]), digest(db)
    for args in COMMANDS:
        r = cli(*args)
        assert r.code == 2 and r.out == "", (args, r)
        assert r.err == (f"starcoach: {db} is not a usable starcoach database (file is not a database); move it "
                         "aside and run again to start a new one (your audio files are kept)\n"), args
    assert digest(built["wav"]) == wav_before and digest(db) == db_before
    assert sorted(p.name for p in built["root"].iterdir()) == ["sessions", DB_NAME]


def test_a_database_damaged_inside_is_one_clear_error(built, cli):
    db = built["root"] / DB_NAME
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) > 3 * page
    data[page:] = os.urandom(len(data) - page)  # keep the header and schema page, ruin every table
    db.write_bytes(bytes(data))
    for args in COMMANDS:
        r = cli(*args)
        assert r.code == 2, (args, r)
        assert r.err.startswith(f"starcoach: {db} is not a usable starcoach database (") and r.err.count("\n") == 1
        assert r.err.endswith("move it aside and run again to start a new one (your audio files are kept)\n")
        assert "Traceback" not in r.out + r.err
    assert built["wav"].is_file()


def test_a_database_from_the_previous_schema_is_migrated_on_open_and_keeps_its_data(built, cli, monkeypatch):
    import starcoach.store.migrations as store_mod

    old_root = built["root"].parent / "old"
    # Exactly what the previous release (schema 1: migration 1 only) would have written.
    with monkeypatch.context() as m:
        m.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS[:1])
        m.setattr(store_mod, "SCHEMA_VERSION", 1)
        with Store.open(old_root) as store:
            store_written(store, [("stakeholder.txt", STAKEHOLDER_Q, "amazon", STAKEHOLDER),
                                  ("reliability.txt", RELIABILITY_Q, "amazon", RELIABILITY)])
            store.db.execute("UPDATE sessions SET started_at = ?", (STARTED[2],))
    with sqlite3.connect(old_root / DB_NAME) as db:
        assert [r[0] for r in db.execute("SELECT version FROM schema_migrations")] == [1]
        assert "reanalysed_at" not in [r[1] for r in db.execute("PRAGMA table_info(answers)")]
        old_sessions = db.execute("SELECT * FROM sessions").fetchall()
        old_answers = db.execute("SELECT * FROM answers ORDER BY id").fetchall()
    assert len(old_answers) == 2

    r = cli("sessions", "--data-dir", str(old_root))
    assert r.code == 0, r
    line_matching(r.out, rf"1\s+{LOCAL[2]}\s+batch\s+Amazon\s+2\s+\d+\s+—")
    with sqlite3.connect(old_root / DB_NAME) as db:
        assert [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")] == [1, 2, 3]
        cols = [r[1] for r in db.execute("PRAGMA table_info(answers)")]
        assert cols[-3:] == ["reanalysed_at", "parent_id", "follow_up"]
        assert db.execute("SELECT * FROM sessions").fetchall() == old_sessions
        assert [row[:-3] for row in db.execute("SELECT * FROM answers ORDER BY id")] == old_answers
        assert {row[-3:] for row in db.execute("SELECT * FROM answers")} == {(None, None, None)}
    # The migrated data is fully usable: replay it, re-analyse it (which uses the new column).
    assert f"Q: {RELIABILITY_Q}" in cli("replay", "--no-audio", "--data-dir", str(old_root)).out
    assert cli("reanalyse", "1", "--data-dir", str(old_root)).code == 0
    with Store.open(old_root) as store:
        assert store.schema_versions() == [1, 2, 3] and set(store.reanalysed_at(1)) == {1, 2}


WRITER = r"""
import sys, time
from pathlib import Path
from starcoach.pipeline.process import analyse_transcript
from starcoach.store.database import Store

root, go, tag, n = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
text = sys.stdin.read()
a = analyse_transcript(text, input=f"{tag}.txt", question="Q", company=None)
go.with_name(f"{go.name}.ready-{tag}").touch()  # imported and analysed: waiting for the start
while not go.exists():
    time.sleep(0.005)
with Store.open(root) as store:          # both open (and migrate) a brand-new folder at the same moment
    sid = store.new_session("analyse", None, {"writer": tag})
    for i in range(n):
        aid = store.new_answer(sid, i + 1, question=f"{tag} {i}", source=f"{tag}-{i}.txt", status="recorded")
        store.save_analysis(aid, a)
    store.finish_session(sid)
print(sid)
"""


def wait_ready(go: Path, n: int, procs: list, timeout_s: float = 60) -> None:
    """Until ``n`` children have said they wait for ``go`` (a file ``GO.ready-ID`` each); a child that
    exits first fails the test with its error."""
    deadline = time.monotonic() + timeout_s
    while len(list(go.parent.glob(f"{go.name}.ready-*"))) < n:
        for p in procs:
            assert p.poll() is None, p.stderr.read()
        assert time.monotonic() < deadline, "the children did not get ready"
        time.sleep(0.01)


def test_two_processes_writing_at_once_lose_nothing(tmp_path, cli):
    root = tmp_path / "shared"
    go = tmp_path / "go"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    n = 150
    procs = [subprocess.Popen([sys.executable, str(script), str(root), str(go), tag, str(n)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tag in ("alpha", "beta")]
    for p in procs:
        p.stdin.write(RELIABILITY)
        p.stdin.close()
    wait_ready(go, 2, procs)  # both have imported and analysed; now start together
    go.touch()
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, _out, err in results:
        assert code == 0 and err == "", err
    assert sorted(int(out) for _, out, _ in results) == [1, 2]
    with Store.open(root) as store:
        assert store.schema_versions() == [1, 2, 3]
        for s in store.sessions():
            rows = store.answers(s.id)
            assert [r.position for r in rows] == list(range(1, n + 1))
            assert {r.status for r in rows} == {"analysed"} and None not in {r.score for r in rows}
            tag = s.settings["writer"]
            assert [r.question for r in rows] == [f"{tag} {i}" for i in range(n)]
    r = cli("sessions", "--data-dir", str(root))
    assert r.code == 0 and len(re.findall(rf"batch\s+—\s+{n}\s", r.out)) == 2


OPENER = """
import os, sys, time
from starcoach.store.database import Store
root, go = sys.argv[1], sys.argv[2]
open(f"{go}.ready-{os.getpid()}", "w").close()  # imported: waiting for the start
while not os.path.exists(go):
    time.sleep(0.001)
Store.open(root).close()
"""


def test_processes_opening_a_new_data_folder_at_the_same_moment_all_get_it(tmp_path):
    # Turning a new database to WAL while another process does the same fails at once with
    # "database is locked" unless the opener waits: each round starts three at the same instant.
    script = tmp_path / "opener.py"
    script.write_text(OPENER)
    for round_ in range(6):
        root, go = tmp_path / f"data{round_}", tmp_path / f"go{round_}"
        procs = [subprocess.Popen([sys.executable, str(script), str(root), str(go)], stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
        wait_ready(go, 3, procs)  # all three have imported starcoach and are waiting
        go.touch()
        for p in procs:
            assert p.wait(timeout=60) == 0, p.stderr.read()
        with Store.open(root) as store:
            assert store.schema_versions() == [1, 2, 3]


def test_a_database_held_by_another_process_is_one_clear_line_not_damage(tmp_path, cli, monkeypatch):
    import starcoach.store.errors

    root = tmp_path / "data"
    root.mkdir()
    holder = sqlite3.connect(root / DB_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a fresh database, locked by another writer
    monkeypatch.setattr(starcoach.store.errors, "BUSY_TIMEOUT_S", 0.3)
    try:
        r = cli("sessions", "--data-dir", str(root))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.code == 2 and r.out == ""
    assert r.err.count("\n") == 1 and "in use by another starcoach process" in r.err, r.err
    assert "move it aside" not in r.err
    assert cli("sessions", "--data-dir", str(root)).code == 0  # once it is free, all is well


def test_clock_formats_negative_changes():
    # A shorter answer than before: 1:08 -> 0:32 is a change of -0:36, not "-1:59:24".
    assert clock(32 - 68) == "-0:36"
    assert clock(-3725) == "-1:02:05"
    assert clock(36) == "0:36" and clock(3725) == "1:02:05" and clock(0) == "0:00"
    assert clock(None) == "\u2014"
