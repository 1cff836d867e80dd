"""`starcoach practice` as a person meets it: the real command in a real terminal, once.

One session end to end (the virtual microphone, the real model, the question
spoken through PortAudio, the menu, Ctrl-C while the model is busy) and the
one-line refusal when there is no microphone.  Everything else the loop does
(Enter, silence, recovery, a second process, a full disk, the demo) is tested
in-process in test_practice_loop.py, with the edges faked.

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
import json
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
from starcoach.speech.decode import SAMPLE_RATE_HZ

pexpect = pytest.importorskip("pexpect")

pytestmark = [pytest.mark.audio, pytest.mark.realtime,
              pytest.mark.skipif(not HAVE_TOOLS, reason="needs espeak-ng, sox and ALSA's alsa.conf")]

STARCOACH = Path(sys.executable).with_name("starcoach")
if not STARCOACH.exists():  # pragma: no cover - not run from the project's virtualenv
    STARCOACH = Path(shutil.which("starcoach") or "starcoach")

# --------------------------------------------------------------------------- answers (espeak-ng SSML)

#: gen-003, answered weakly (about 11 s): no result, and every action "we".
WEAK_SSML = (
    "<speak>Last spring our team disagreed with another team about a release date. <break time=\"1200ms\"/> "
    "We talked it over in a long meeting, and we changed the plan so the work was split between us.</speak>")
#: The reply to the follow-up that asks how it turned out (about 9 s).
REPLY_SSML = (
    "<speak>In the end we shipped one week later, and I wrote the new plan myself. <break time=\"600ms\"/> "
    "Support tickets about the release fell from forty to five.</speak>")
#: What the built-in banks ask when the result is missing (question_banks/follow_ups/general.toml).
RESULT_FOLLOW_UP = "How did it turn out in the end? What changed because of what you did?"

#: A longer story (about 35 s), of which the Ctrl-C uses the first seconds.
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
#: The live cues under the meter: "live  23 words · 0 fillers · 151 wpm (last 30 s) · heard: R S T A R L (...)".
CUES = re.compile(rf"live  {_A}(\d+) words{_A} · {_A}(\d+) fillers?{_A} · {_A}(?:(\d+) wpm|pace)[^\n]*?heard: ")


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> dict[str, Speech]:
    d = tmp_path_factory.mktemp("answers")
    return {name: Speech(d, name, ssml) for name, ssml in (("weak", WEAK_SSML), ("reply", REPLY_SSML),
                                                            ("long", LONG_SSML))}


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


def test_a_session_through_the_virtual_microphone_then_ctrl_c(voices, tmp_path, terminals, cli):
    """Question 1 answered weakly (no result, only "we") and judged by the real model, with the live cues
    under the meter while it is spoken; the follow-up that asks how it turned out is spoken, answered,
    judged and stored with its answer, then replayed and exported; the menu answered with one key;
    question 2 stopped by Ctrl-C mid-answer while the live transcriber is busy: the stream is closed and
    the worker joined before the exit (130).

    Before, 1 run in 3 of the Ctrl-C ended in "terminate called without an active exception" (exit 134)
    or a segmentation fault: the process exited with the transcriber still inside the model.
    """
    data = tmp_path / "data"
    played = tmp_path / "played.raw"
    mic = FifoMic(tmp_path)
    try:
        env = base_env(data, write_asound(tmp_path, mic.path, played))
        t = terminals(["--question-id", "gen-003", "--question-id", LONG_QID, "--questions", "2",
                       "--company", "amazon", "--end-silence", "1.5"], env)
        t.expect("Question 1/2")
        t.expect("Enter = done")  # the question has been spoken; the meter is up
        mic.say(voices["weak"].samples)
        # While it is spoken: the words transcribed so far, fillers, pace and the parts heard.
        cue = t.expect(CUES)  # drawn only with the meter, so while recording
        t.expect(r"you paused")
        t.expect(REPORT)
        t.expect(FEEDBACK)
        t.expect("Follow-up 1")
        t.expect("Enter = done")  # the follow-up has been spoken; the meter is up again
        mic.say(voices["reply"].samples)
        t.expect("What the reply supplied")
        t.expect(FEEDBACK)
        t.expect(MENU)
        t.child.send("n")  # one key, no Enter: next question
        t.expect("Question 2/2")
        t.expect("Enter = done")
        mic.say(voices["long"].samples)
        t.recording_for(6.0)
        t.child.sendintr()  # the terminal's ^C: SIGINT to the foreground process group
        m = t.expect(r"Answer stopped; (\d+) s of audio kept in (\S+)\.")
        t.expect(r"Stopped\. Your answers so far are saved")
        code = t.wait_exit(timeout_s=30)
    finally:
        mic.close()
    text = t.text
    no_traceback(text)
    assert "terminate called" not in text and "Segmentation" not in text, text[-2000:]
    assert code == 130, text[-2000:]
    assert "not spoken" not in text
    # Each question and the follow-up were spoken through PortAudio into the virtual speaker, one stream each.
    questions = {"gen-003": "Tell me about a time you had a conflict with a coworker and how the two of you "
                            "resolved it.",
                 "follow-up": RESULT_FOLLOW_UP,
                 LONG_QID: "Tell me about the accomplishment you are most proud of and what your personal "
                           "contribution was."}
    files = sorted(tmp_path.glob("played.raw*"))
    assert [f.name for f in files] == ["played.raw", "played.raw.0001", "played.raw.0002"]
    assert f"\u2502 {RESULT_FOLLOW_UP}" in text  # the follow-up shown, as it was spoken
    for f, qid in zip(files, ("gen-003", "follow-up", LONG_QID)):
        x = np.fromfile(f, dtype="<i2").astype(np.float32) / 32768
        seconds = x.size / 22050  # espeak-ng's rate, played as synthesised
        expected = espeak_seconds(questions[qid], wpm=170)  # the speaker's default rate
        rms_db = 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12)
        print(f"\n{f.name}: {seconds:.2f} s of speech, {rms_db:.0f} dBFS (espeak-ng alone: {expected:.2f} s)")
        assert rms_db > -40  # speech, not silence
        assert seconds == pytest.approx(expected, rel=0.15)  # the whole question, not a clip of it
    # The first answer and its follow-up's are stored, analysed by the real model, with their audio, the reply
    # linked to its answer; the second answer kept, not judged.
    rows = answers(data)
    assert [(r[1], r[2], r[3]) for r in rows] == [(1, "gen-003", "analysed"), (1, "gen-003", "analysed"),
                                                  (2, LONG_QID, "recorded")]
    assert sessions(data) == [(1, "interrupted")]
    first, reply, second = rows
    ((parent, asked, meta),) = db_rows(data, "SELECT parent_id, question, follow_up FROM answers "
                                             "WHERE parent_id IS NOT NULL")
    assert parent == 1 and asked == RESULT_FOLLOW_UP
    assert json.loads(meta)["reason"] == "result_missing" and "result" in {
        x["component"] for x in json.loads(meta)["supplied"]}
    # The reply's own words: tiny.en hears the end of this reply differently from run to run through the
    # real-time microphone ("from forty to five" as "40 to 5", "4T5", "45"), its first sentence the same.
    assert "plan myself" in reply[6].lower()
    assert wav_seconds(data / reply[5]) == pytest.approx(reply[4], abs=1e-3)
    # Replayed and exported with its answer (the commands in this process: the data folder is this test's,
    # conftest.isolated_home's STARCOACH_HOME).
    assert os.environ["STARCOACH_HOME"] == str(data)
    replay = cli("replay", "1", "--no-audio")
    assert replay.code == 0 and "Answer 1, follow-up 1" in replay.out and RESULT_FOLLOW_UP in replay.out, replay
    export = cli("export", "1", "--format", "json")
    assert export.code == 0, export
    doc = json.loads(export.out)
    (f,) = doc["answers"][0]["follow_ups"]
    assert f["question"] == RESULT_FOLLOW_UP and "result" in f["supplied"]
    assert f["analysis"]["transcript"] and f["analysis"]["duration_s"] == pytest.approx(reply[4], abs=0.01)
    wav = data / first[5]
    assert wav.exists() and wav_seconds(wav) == pytest.approx(first[4], abs=1e-3)
    assert "release" in first[6].lower()  # the transcript is this answer's
    s = voices["weak"]
    # The recording holds the answer (after up to ~2 s of silence left in the pipe).
    assert s.duration_s < first[4] < s.duration_s + 2.5 + 1.5 + 1.0
    assert Path(m.group(2)) == data / second[5]
    assert wav_seconds(data / second[5]) == pytest.approx(second[4], abs=1e-3)  # closed: exact sizes
    assert second[4] >= 6.0 - 0.5
    print(f"live cues: {cue.group(0)!r}")
    assert 3 <= int(cue.group(1)) < len(json.loads(first[6])["words"])  # some words, before the whole answer
    latencies = [float(x) for x in FEEDBACK.findall(text)]
    print(f"feedback latency: {latencies}")
    assert_private(data)


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
