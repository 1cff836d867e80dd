"""`starcoach practice` as a person meets it: the real command in a real terminal.

Every test spawns ``.venv/bin/starcoach practice ...`` on a pseudo-terminal
with pexpect (so the live meter, the Enter key, Ctrl-C and the menus behave
as at a desk), reads what is drawn, types, and then looks at what was kept:
``starcoach.db`` (the data folder is the test's own ``STARCOACH_HOME``) and
the WAV files.

Sound comes from a virtual microphone and goes to a virtual speaker: ALSA's
``file`` plugin, configured through ``ALSA_CONFIG_PATH`` (see
/work/shared/testing-audio.md and tests/alsa.py).  The plugin opens its
``infile`` again for every stream, from the beginning, and delivers it as fast
as it is read (no clock).  A practice session opens the microphone once to
check it and once per answer, so a plain file would give every question the
same answer.  So the infile is a FIFO that this test keeps open for writing
(:class:`FifoMic`): the plugin's blocking ``open`` returns at once, a thread
writes digital silence into it every 0.1 s (dropped while no stream reads
it), and when the test sees the recording meter for question *n* it queues
answer *n*, which the thread writes in real time, 0.1 s every 0.1 s.  The
silence never stops while the program runs, because a stream blocked in
``read()`` on an empty FIFO cannot be closed.

The spoken answers are espeak-ng, in SSML with pauses, written for these tests.
"""

from __future__ import annotations

import io
import os
import queue
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
import wave
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
import soundfile as sf

from alsa import HAVE_TOOLS, Speech, alsa_env
from starcoach.speech.decode import SAMPLE_RATE_HZ, load_audio

pexpect = pytest.importorskip("pexpect")

pytestmark = [pytest.mark.audio,
              pytest.mark.skipif(not HAVE_TOOLS, reason="needs espeak-ng, sox and ALSA's alsa.conf")]

STARCOACH = Path(sys.executable).with_name("starcoach")
if not STARCOACH.exists():  # pragma: no cover - not run from the project's virtualenv
    STARCOACH = Path(shutil.which("starcoach") or "starcoach")

# --------------------------------------------------------------------------- answers (espeak-ng SSML)

#: gen-003: a conflict with a coworker (about 17 s).
CONFLICT_SSML = (
    "<speak>Last spring a backend engineer on my team wanted to delay our release because of flaky tests, "
    "and I wanted to ship. <break time=\"1200ms\"/> I sat down with him, we listed every failing test, "
    "and I suggested we quarantine three of them. We shipped two days later with no incidents.</speak>")

#: gen-002: a failure that mattered (about 16 s).
FAILURE_SSML = (
    "<speak>A failure that mattered to me, um, was a data migration I led as a new team lead. "
    "<break time=\"800ms\"/> I skipped the full rehearsal to save time, and the migration stalled halfway, so we rolled back. "
    "I owned the mistake, and I learned to rehearse anything I cannot undo.</speak>")

#: A longer story (about 35 s), of which the interruption tests use the first seconds.
LONG_SSML = (
    "<speak>The accomplishment I am proudest of is the on-call handbook I wrote for our payments team. "
    "<break time=\"600ms\"/> When I joined, every incident was handled by the same two senior engineers, "
    "and they were burning out. I wanted anyone on the team to be able to take a page at night. "
    "<break time=\"1000ms\"/> First I sat in on ten incidents and wrote down every step they took. "
    "Then I turned the steps into short runbooks, and I paired each new person with a senior for their first "
    "week on call. Six months later, eight people shared the rotation, and pages that needed an escalation "
    "dropped by half.</speak>")

#: The question the long story answers (gen-001).
LONG_QID = "gen-001"

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Z0-9]|\x1b[=>]|\r")
_A = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"  # styles rich may put between two pieces of text
#: The live meter: "● REC 0:04.2  (2:55 left)  ███░░░  Enter = done".
METER = re.compile(rf"REC {_A}(\d+):(\d\d\.\d)")
MENU = "etry this one"
REPORT = re.compile(rf"Score {_A}\d+{_A}/100")
FEEDBACK = re.compile(r"Feedback ready (\d+\.\d\d) s after the answer ended")


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> dict[str, Speech]:
    d = tmp_path_factory.mktemp("answers")
    out = {name: Speech(d, name, ssml) for name, ssml in
           (("conflict", CONFLICT_SSML), ("failure", FAILURE_SSML), ("long", LONG_SSML))}
    silence = d / "silence.wav"
    sf.write(silence, np.zeros(2 * SAMPLE_RATE_HZ, dtype=np.int16), SAMPLE_RATE_HZ, subtype="PCM_16")
    out["silence"] = silence  # type: ignore[assignment]
    return out


# --------------------------------------------------------------------------- the virtual microphone


class FifoMic:
    """A virtual microphone that speaks when told to, in real time.

    ``path`` is a FIFO to use as the file plugin's ``infile``.  We hold it
    open read-write, so the plugin's blocking ``open(O_RDONLY)`` always finds a
    writer and never waits, and reads never see end-of-file.  A thread writes
    0.1 s of digital silence every 0.1 s (dropped when the pipe is full, i.e.
    while no stream reads it) and, once :meth:`say` queues some audio, that
    audio instead, 0.1 s every ``0.1 / speed`` s.  Audio queued while no stream
    is open waits in the pipe (the writer blocks) and is read by the next one;
    the pipe then also holds up to ~2 s of stale silence, read first.
    """

    BLOCK = SAMPLE_RATE_HZ // 10

    def __init__(self, directory: Path, speed: float = 1.0):
        self.path = Path(directory) / "mic.fifo"
        os.mkfifo(self.path)
        self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        self.period_s = 0.1 / speed
        self._jobs: "queue.Queue[tuple[bytes, threading.Event]]" = queue.Queue()
        self._closed = threading.Event()
        #: Wall-clock time at which the last block of the last queued audio was written.
        self.finished_at: Optional[float] = None
        self._thread = threading.Thread(target=self._run, name="fifo-mic", daemon=True)
        self._thread.start()

    def say(self, samples: np.ndarray) -> threading.Event:
        """Queue float32 16 kHz ``samples``; the event is set once all of them are in the pipe."""
        pcm = np.clip(np.round(np.asarray(samples, dtype=np.float32) * 32768), -32768, 32767).astype("<i2")
        done = threading.Event()
        self._jobs.put((pcm.tobytes(), done))
        return done

    def _write_all(self, data: bytes) -> None:
        while not self._closed.is_set():
            try:
                os.write(self.fd, data)  # <= PIPE_BUF, so all or nothing
                return
            except BlockingIOError:
                time.sleep(0.005)

    def _run(self) -> None:
        silence = bytes(2 * self.BLOCK)
        step = 2 * self.BLOCK
        while not self._closed.is_set():
            try:
                data, done = self._jobs.get_nowait()
            except queue.Empty:
                try:
                    os.write(self.fd, silence)
                except BlockingIOError:
                    pass  # nobody is listening: the silence is lost, as in a room
                self._closed.wait(self.period_s)
                continue
            due = time.monotonic()
            for i in range(0, len(data), step):
                chunk = data[i:i + step]
                self._write_all(chunk + bytes(step - len(chunk)))
                # Paced from the previous write, not from the start: after waiting for a reader
                # (a full pipe), carry on in real time instead of bursting to catch up.
                due = max(due + self.period_s, time.monotonic())
                self._closed.wait(max(0.0, due - time.monotonic()))
            self.finished_at = time.monotonic()
            done.set()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        os.close(self.fd)


def write_asound(directory: Path, infile: Path, played: Path) -> Path:
    """Default capture reads ``infile``; each playback stream writes a new file, ``played``,
    ``played.0001``, ... (``truncate false``), so every question spoken is kept."""
    conf = directory / "asound.conf"
    conf.write_text(textwrap.dedent(f"""\
        pcm.!default {{ type asym; playback.pcm "spk"; capture.pcm "mic" }}
        pcm.mic {{ type file; slave.pcm "null"; file "/dev/null"; infile "{infile}"; format "raw" }}
        pcm.spk {{ type file; slave.pcm "null"; file "{played}"; format "raw"; truncate false }}
        """))
    return conf


# --------------------------------------------------------------------------- the terminal


def base_env(data: Path, alsa_conf: Optional[Path] = None) -> dict:
    env = alsa_env(alsa_conf) if alsa_conf else dict(os.environ)
    if alsa_conf is None:
        env.pop("ALSA_CONFIG_PATH", None)
    env.update(STARCOACH_HOME=str(data), TERM="xterm-256color", PYTHONUNBUFFERED="1")
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


class Terminal:
    """`starcoach practice ARGS` on a 220-column pseudo-terminal; everything drawn is kept."""

    def __init__(self, args: list[str], env: dict, timeout_s: float = 60):
        self.log = io.StringIO()
        self.child = pexpect.spawn(str(STARCOACH), ["practice", *args], env=env, encoding="utf-8",
                                   codec_errors="replace", dimensions=(60, 220), timeout=timeout_s)
        self.child.logfile_read = self.log

    def expect(self, pattern, timeout_s: float = 60):
        self.child.expect(pattern, timeout=timeout_s)
        return self.child.match

    def type(self, line: str = "") -> None:
        self.child.send(line + "\r")  # the terminal turns CR into the newline the program reads

    def recording_for(self, seconds: float, timeout_s: float = 60) -> float:
        """Wait until the meter shows ``seconds`` recorded (reading the screen all the while); the shown time."""
        deadline = time.monotonic() + timeout_s
        while True:
            m = self.expect(METER, timeout_s=max(1.0, deadline - time.monotonic()))
            shown = int(m.group(1)) * 60 + float(m.group(2))
            if shown >= seconds:
                return shown

    def wait_exit(self, timeout_s: float = 60) -> int:
        self.child.expect(pexpect.EOF, timeout=timeout_s)
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -self.child.signalstatus

    @property
    def text(self) -> str:
        """What was drawn, without colours and cursor movements."""
        return ANSI.sub("", self.log.getvalue())

    def close(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)
        self.child.close(force=True)


@pytest.fixture
def terminals():
    opened: list[Terminal] = []

    def spawn(args: list[str], env: dict, timeout_s: float = 60) -> Terminal:
        t = Terminal(args, env, timeout_s)
        opened.append(t)
        return t

    yield spawn
    for t in opened:
        t.close()
        print(f"\n----- last screenfuls of `starcoach practice` -----\n{t.text[-4000:]}")  # shown on failure


# --------------------------------------------------------------------------- what was kept


def db_rows(data: Path, sql: str, *args) -> list[tuple]:
    db = sqlite3.connect(data / "starcoach.db")
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def answers(data: Path) -> list[tuple]:
    """(session id, position, question id, status, duration_s, audio path, transcript JSON, error) by id."""
    return db_rows(data, "SELECT session_id, position, question_id, status, duration_s, audio_path, transcript, "
                         "error FROM answers ORDER BY id")


def sessions(data: Path) -> list[tuple]:
    return db_rows(data, "SELECT id, status FROM sessions ORDER BY id")


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:  # the strict reader: the header sizes must be right
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (SAMPLE_RATE_HZ, 1, 2)
        return w.getnframes() / SAMPLE_RATE_HZ


def same_audio(path: Path, source: np.ndarray) -> float:
    """Correlation of a stored recording with the start of the audio that was played in."""
    got = load_audio(path)
    n = min(got.size, source.size)
    return float(np.corrcoef(got[:n], source[:n])[0, 1])


def assert_private(data: Path) -> None:
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for p in data.rglob("*"):
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), f"{p} is {oct(mode)}"


def espeak_seconds(text: str, wpm: int) -> float:
    """How long espeak-ng takes to say ``text`` at ``wpm`` (what pyttsx3 drives)."""
    wav = subprocess.run(["espeak-ng", "-s", str(wpm), "--stdout", text], capture_output=True, check=True).stdout
    info = sf.info(io.BytesIO(wav))
    return info.frames / info.samplerate


def no_traceback(text: str) -> None:
    assert "Traceback" not in text, text[-3000:]


# --------------------------------------------------------------------------- (a) a whole session, real microphone path


def test_two_questions_through_the_virtual_microphone_with_speech(voices, tmp_path, terminals):
    data = tmp_path / "data"
    played = tmp_path / "played.raw"
    mic = FifoMic(tmp_path)
    try:
        env = base_env(data, write_asound(tmp_path, mic.path, played))
        t = terminals(["--question-id", "gen-003", "--question-id", "gen-002", "--questions", "2",
                       "--company", "amazon", "--end-silence", "1.5"], env)
        for n, name in ((1, "conflict"), (2, "failure")):
            t.expect(f"Question {n}/2")
            t.expect("Enter = done")  # the question has been spoken; the meter is up
            mic.say(voices[name].samples)
            t.expect(r"you paused")
            t.expect(REPORT)
            t.expect(FEEDBACK)
            t.expect(MENU)
            t.type("")  # Enter: next question (then the end)
        t.expect("Session summary")
        t.expect("Mean score")
        assert t.wait_exit() == 0
    finally:
        mic.close()
    text = t.text
    no_traceback(text)
    assert "not spoken" not in text
    # Each question was spoken through PortAudio into the virtual speaker, one stream per question.
    questions = {"gen-003": "Tell me about a time you had a conflict with a coworker and how the two of you "
                            "resolved it.",
                 "gen-002": "Describe a time you failed at something that mattered to you. What did you learn?"}
    files = sorted(tmp_path.glob("played.raw*"))
    assert [f.name for f in files] == ["played.raw", "played.raw.0001"]
    for f, qid in zip(files, ("gen-003", "gen-002")):
        x = np.fromfile(f, dtype="<i2").astype(np.float32) / 32768
        seconds = x.size / 22050  # espeak-ng's rate, played as synthesised
        expected = espeak_seconds(questions[qid], wpm=170)  # the speaker's default rate
        rms_db = 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12)
        print(f"\n{f.name}: {seconds:.2f} s of speech, {rms_db:.0f} dBFS (espeak-ng alone: {expected:.2f} s)")
        assert rms_db > -40  # speech, not silence
        assert seconds == pytest.approx(expected, rel=0.15)  # the whole question, not a clip of it
    # Both answers are stored, analysed, with their audio.
    rows = answers(data)
    assert [(r[1], r[2], r[3]) for r in rows] == [(1, "gen-003", "analysed"), (2, "gen-002", "analysed")]
    assert sessions(data) == [(1, "complete")]
    for r, name, keyword in zip(rows, ("conflict", "failure"), ("release", "migration")):
        wav = data / r[5]
        assert wav.exists() and wav_seconds(wav) == pytest.approx(r[4], abs=1e-3)
        assert keyword in r[6].lower()  # the transcript is this answer's, not the other's
        s = voices[name]
        # The recording holds the answer (after up to ~2 s of silence left in the pipe).
        assert s.duration_s < r[4] < s.duration_s + 2.5 + 1.5 + 1.0
    latencies = [float(x) for x in FEEDBACK.findall(text)]
    print(f"feedback latencies: {latencies}")
    assert_private(data)


# --------------------------------------------------------------------------- (b) Enter ends the answer


def test_enter_stops_the_answer_early(voices, tmp_path, terminals):
    data = tmp_path / "data"
    s = voices["long"]
    t = terminals(["--mic-file", str(s.wav), "--question-id", LONG_QID, "--questions", "1", "--no-speak",
                   "--end-silence", "1.5"], base_env(data))
    t.expect("Enter = done")
    started = time.monotonic()
    shown = t.recording_for(4.0)
    t.type("")
    before_enter = time.monotonic() - started
    m = t.expect(r"Recorded (\d+\.\d) s \(([^)]*)\)")
    assert m.group(2) == "you pressed Enter"
    t.expect(REPORT)
    t.expect(FEEDBACK)
    t.expect(MENU)
    t.type("")
    assert t.wait_exit() == 0
    no_traceback(t.text)
    ((_, _, _, status, duration, audio, transcript, _),) = answers(data)
    assert status == "analysed" and transcript
    wav = data / audio
    print(f"\nEnter after {before_enter:.2f} s (meter showed {shown:.1f} s); stored {duration:.2f} s, "
          f"WAV {wav_seconds(wav):.2f} s; said 'Recorded {m.group(1)} s'")
    assert wav_seconds(wav) == pytest.approx(duration, abs=1e-3)
    assert duration == pytest.approx(before_enter, abs=0.5)
    assert duration < s.duration_s - 10  # nowhere near the end of the story
    assert same_audio(wav, s.samples) > 0.99


# --------------------------------------------------------------------------- (c) Ctrl-C keeps what was said


def test_ctrl_c_mid_answer_keeps_the_audio(voices, tmp_path, terminals):
    data = tmp_path / "data"
    s = voices["long"]
    t = terminals(["--mic-file", str(s.wav), "--question-id", LONG_QID, "--questions", "1", "--no-speak"],
                  base_env(data))
    t.expect("Enter = done")
    started = time.monotonic()
    t.recording_for(3.0)
    t.child.sendintr()  # the terminal's ^C: SIGINT to the foreground process group
    before_ctrl_c = time.monotonic() - started
    m = t.expect(r"Answer stopped; (\d+) s of audio kept in (\S+)\.")
    t.expect(r"Stopped\. Your answers so far are saved")
    code = t.wait_exit()
    text = t.text
    no_traceback(text)
    assert code == 130
    assert sessions(data) == [(1, "interrupted")]
    ((_, _, _, status, duration, audio, _, _),) = answers(data)
    assert status == "recorded"  # kept, not analysed
    wav = data / audio
    assert Path(m.group(2)) == wav
    print(f"\nCtrl-C after {before_ctrl_c:.2f} s; stored {duration:.2f} s; WAV {wav_seconds(wav):.2f} s")
    assert wav_seconds(wav) == pytest.approx(duration, abs=1e-3)  # closed cleanly: exact sizes
    assert duration == pytest.approx(before_ctrl_c, abs=0.5)
    assert int(m.group(1)) == round(duration) or abs(int(m.group(1)) - duration) < 1
    assert same_audio(wav, s.samples) > 0.99


# --------------------------------------------------------------------------- (d) kill -9, then recovery


def test_kill_9_mid_answer_then_recover_at_next_start(voices, tmp_path, terminals):
    data = tmp_path / "data"
    s = voices["long"]
    env = base_env(data)
    t = terminals(["--mic-file", str(s.wav), "--question-id", LONG_QID, "--questions", "1", "--no-speak"], env)
    t.expect("Enter = done")
    started = time.monotonic()
    shown = t.recording_for(4.5)
    t.child.kill(signal.SIGKILL)
    recorded = time.monotonic() - started
    t.child.expect(pexpect.EOF)
    t.child.close()
    assert t.child.signalstatus == signal.SIGKILL
    ((_, _, _, status, _, audio, _, _),) = answers(data)
    assert status == "recording"
    wav = data / audio
    raw = wav.read_bytes()
    assert raw[4:8] == b"\xff\xff\xff\xff"  # sizes still "unknown": nobody closed it

    r = terminals(["--mic-file", str(voices["silence"]), "--questions", "1", "--no-speak"], env)
    r.expect(r"was not finished")
    r.expect(r"recover and analyse it now")
    r.type("y")
    r.expect(REPORT)  # the recovered answer's report
    r.expect("Question 1/1")  # then a new session starts as usual
    r.expect("we heard nothing")
    r.expect(MENU)
    r.type("q")
    assert r.wait_exit() == 0
    no_traceback(r.text)
    rows = answers(data)
    assert rows[0][3] == "analysed" and rows[0][6]
    assert [x[1] for x in sessions(data)] == ["interrupted", "complete"]
    kept = wav_seconds(wav)  # repaired: exact sizes now
    print(f"\nkilled after {recorded:.2f} s of recording (meter showed {shown:.1f} s); recovered {kept:.2f} s "
          f"(lost {recorded - kept:.2f} s)")
    assert recorded - 1.0 <= kept <= recorded + 0.3
    assert kept >= shown - 0.2
    assert same_audio(wav, s.samples) > 0.99
    assert rows[0][4] == pytest.approx(kept, abs=0.05)


# --------------------------------------------------------------------------- (e) no microphone


def _has_capture_device() -> bool:
    code = "from starcoach.capture.portaudio import list_devices; print(any(d.inputs for d in list_devices()))"
    env = dict(os.environ)
    env.pop("ALSA_CONFIG_PATH", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    return out.stdout.strip() != "False"


def test_no_microphone_is_one_clear_line(tmp_path, terminals):
    if _has_capture_device():
        pytest.skip("this machine has a microphone")
    data = tmp_path / "data"
    t = terminals(["--questions", "1", "--no-speak"], base_env(data))
    code = t.wait_exit()
    text = t.text
    no_traceback(text)
    assert code == 2
    (line,) = [ln for ln in text.splitlines() if "microphone" in ln]
    print(f"\n{line}")
    assert line.startswith("starcoach: no microphone found")
    assert "`starcoach devices`" in line and "--mic-file" in line
    assert "Question 1/1" not in text  # it failed before asking anything


# --------------------------------------------------------------------------- (f) a silent microphone


def test_silence_ends_at_once_with_a_clear_message(voices, tmp_path, terminals):
    data = tmp_path / "data"
    t = terminals(["--mic-file", str(voices["silence"]), "--questions", "1", "--no-speak"], base_env(data))
    t.expect("Enter = done")
    started = time.monotonic()
    t.expect("we heard nothing - check your microphone", timeout_s=30)
    took = time.monotonic() - started
    t.expect(MENU)
    t.type("")
    assert t.wait_exit() == 0
    text = t.text
    no_traceback(text)
    print(f"\nsilence: told after {took:.1f} s (2 s file, --max-answer 180)")
    assert took < 4.0
    assert "you pressed Enter" not in text and "Recorded 2.0 s (the --mic-file ended)" in text
    ((_, _, _, status, duration, _, _, error),) = answers(data)
    assert status == "failed" and "heard nothing" in error
    assert duration == pytest.approx(2.0, abs=0.25)


# --------------------------------------------------------------------------- (e) the demo (last: it runs in the background)


DEMO_TEST = "test_demo_runs_the_whole_loop_with_stdin_closed"


@pytest.fixture(scope="module", autouse=True)
def demo_in_background(request, tmp_path_factory):
    """`starcoach practice --demo` with standard input closed, started before the other tests.

    The demo plays its 69 s example answer in real time, so it runs alongside
    the rest of this file (it needs no terminal and no sound card) and its
    test only collects the result.
    """
    if not any(item.name == DEMO_TEST for item in request.session.items):
        yield None
        return
    data = tmp_path_factory.mktemp("demo") / "data"
    box: dict = {"data": data, "started": time.monotonic()}
    proc = subprocess.Popen([str(STARCOACH), "practice", "--demo"], env=base_env(data), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def collect() -> None:
        box["out"], box["err"] = proc.communicate()
        box["took"] = time.monotonic() - box["started"]

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    box["proc"], box["reader"] = proc, reader
    yield box
    if proc.poll() is None:
        proc.kill()
    reader.join(timeout=10)


def test_demo_runs_the_whole_loop_with_stdin_closed(demo_in_background):
    box = demo_in_background
    box["reader"].join(timeout=max(1.0, 180 - (time.monotonic() - box["started"])))
    assert "took" in box, "the demo did not finish within 3 minutes"
    print(f"\ndemo took {box['took']:.1f} s (in the background)")
    out, err, data = box["out"], box["err"], box["data"]
    no_traceback(out + err)
    assert box["proc"].returncode == 0, err
    assert "Question 1/1" in out and "Tell me about a time you fixed a problem" in out
    # While a recording plays the candidate, nobody is told to answer out loud.
    assert "Answer out loud" not in out and "gives the answer in your place" in out
    assert re.search(r"Score \d+/100", out) and FEEDBACK.search(out)
    assert "Session summary" in out
    ((_, _, qid, status, duration, audio, _, _),) = answers(data)
    assert (qid, status) == ("example", "analysed")
    assert duration > 60 and (data / audio).exists()
    assert sessions(data) == [(1, "complete")]


# --------------------------------------------------------------------------- (g) Ctrl-C at a live microphone, several times


def test_ctrl_c_at_the_virtual_microphone_always_exits_130(voices, tmp_path, terminals):
    """Ctrl-C while the live transcriber is busy: the stream is closed and the worker joined before exit.

    Before, 1 run in 3 ended in "terminate called without an active exception" (exit 134) or a
    segmentation fault: the process exited with the transcriber still inside the model.
    """
    s = voices["long"]
    codes = []
    for run, after_s in enumerate((6.0, 9.0, 12.0)):
        d = tmp_path / f"run{run}"
        d.mkdir()
        data = d / "data"
        mic = FifoMic(d)
        try:
            t = terminals(["--question-id", LONG_QID, "--questions", "1", "--no-speak"],
                          base_env(data, write_asound(d, mic.path, d / "played.raw")))
            t.expect("Enter = done")
            mic.say(s.samples)
            t.recording_for(after_s)
            t.child.sendintr()
            m = t.expect(r"Answer stopped; (\d+) s of audio kept in (\S+)\.")
            t.expect(r"Stopped\. Your answers so far are saved")
            code = t.wait_exit(timeout_s=30)
        finally:
            mic.close()
        text = t.text
        codes.append(code)
        assert "terminate called" not in text and "Segmentation" not in text, text[-2000:]
        no_traceback(text)
        assert code == 130, text[-2000:]
        assert sessions(data) == [(1, "interrupted")]
        ((_, _, _, status, duration, audio, _, _),) = answers(data)
        assert status == "recorded" and Path(m.group(2)) == data / audio
        assert wav_seconds(data / audio) == pytest.approx(duration, abs=1e-3)  # closed: exact sizes
        assert duration >= after_s - 0.5
    print(f"\nexit statuses after Ctrl-C at 6, 9, 12 s: {codes}")


# --------------------------------------------------------------------------- (h) the disk fills up mid-answer


def _small_disk(path: Path, size: str) -> Optional[str]:
    """Mount a tmpfs of ``size`` at ``path``; the reason it cannot be done, or None."""
    path.mkdir()
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root"
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                       capture_output=True, text=True)
    return None if p.returncode == 0 else f"cannot mount a tmpfs here ({p.stderr.strip() or p.returncode})"


def test_disk_full_mid_answer_stops_cleanly_and_keeps_the_audio(voices, tmp_path):
    disk = tmp_path / "small"
    why = _small_disk(disk, "1m")
    if why:
        print(f"\nskipped: {why}")
        pytest.skip(why)
    try:
        data = disk / "data"
        from starcoach.store import Store

        Store.open(data).close()
        # Leave room for about 6 s of audio (32 KB/s) after the rows written before recording.
        st = os.statvfs(disk)
        free = st.f_bavail * st.f_frsize
        (disk / "filler").write_bytes(b"\0" * max(0, free - 260 * 1024))
        started = time.monotonic()
        p = subprocess.run([str(STARCOACH), "practice", "--mic-file", str(voices["long"].wav), "--no-speak",
                            "--questions", "1", "--question-id", LONG_QID], env=base_env(data),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        took = time.monotonic() - started
        text = p.stdout + p.stderr
        print(f"\nexit {p.returncode} after {took:.1f} s:\n{text[-600:]}")
        no_traceback(text)
        assert "terminate called" not in text
        assert p.returncode == 3
        (said,) = [ln for ln in text.splitlines() if "is full" in ln]  # one line, however long
        assert re.fullmatch(r"Stopped: the disk holding \S+ is full: recording stopped; \d+ s of audio kept in "
                            r"\S+; the next `starcoach practice` offers to recover it\.", said.strip()), said
        assert "move it aside" not in text  # not the advice for a damaged database
        (wav,) = list((data / "sessions").rglob("answer-*.wav"))
        kept = load_audio(wav)  # readable as it is (sizes still "unknown" or closed)
        assert kept.size / SAMPLE_RATE_HZ > 2.0
        assert same_audio(wav, voices["long"].samples) > 0.99
        (row,) = answers(data)
        assert row[3] in ("recording", "recorded")  # unfinished: offered for recovery once there is room
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# --------------------------------------------------------------------------- (i) a second practice while the first records


def test_a_second_practice_leaves_the_live_answer_alone(voices, tmp_path, terminals):
    """Before: the second process offered to "recover" the first one's live answer and ran repair_wav
    on the file being written (2 of 2 runs)."""
    data = tmp_path / "data"
    s = voices["long"]
    env = base_env(data)
    first = terminals(["--mic-file", str(s.wav), "--question-id", LONG_QID, "--questions", "1", "--no-speak"], env)
    first.expect("Enter = done")
    first.recording_for(3.0)
    second = subprocess.run([str(STARCOACH), "practice", "--mic-file", str(voices["silence"]), "--questions", "1",
                             "--no-speak"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=120)
    text2 = second.stdout + second.stderr
    no_traceback(text2)
    assert "was not finished" not in text2 and "recover and analyse" not in text2, text2
    assert "left alone" in " ".join(text2.split())
    assert second.returncode == 0, text2
    first.recording_for(6.0)
    first.child.sendintr()
    first.expect(r"Stopped\. Your answers so far are saved")
    assert first.wait_exit() == 130
    no_traceback(first.text)
    rows = answers(data)
    assert [r[3] for r in rows] == ["recorded", "failed"]  # the live answer kept; the silent one judged
    wav = data / rows[0][5]
    assert wav_seconds(wav) == pytest.approx(rows[0][4], abs=1e-3)
    assert same_audio(wav, s.samples) > 0.99
