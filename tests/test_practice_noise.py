"""`starcoach practice` in a noisy room: the real command in a real terminal, through the virtual microphone.

The same terminal and microphone as test_practice.py (pexpect on a
pseudo-terminal; ALSA's ``file`` plugin reading a FIFO that :class:`FifoMic`
writes in real time), with room noise from tests/noise.py mixed under the
spoken answer and going on after it: other people talking (four espeak-ng
voices over a hiss), which the voice detector hears as speech.

* 20 dB under the answer: the answer ends by itself, within end-silence + 1 s
  of the last word, and its 2.0 s pause does not end it;
* 10 dB under it: the voices keep the detector busy, so the live view says the
  room is noisy and that Enter ends the answer, and the ``--max-answer``
  limit ends it.

How long after the last word the answer ended is read from the WAV the
session kept: the FIFO may hold up to ~2 s of digital silence before the
queued audio, and the noise (never digital silence) marks where it starts.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import noise
from alsa import HAVE_TOOLS, Speech
from starcoach.speech.decode import SAMPLE_RATE_HZ, load_audio
from starcoach.views.practice import NOISY_ROOM
from test_practice import METER, FifoMic, Terminal, answers, base_env, no_traceback, wav_seconds, write_asound

pexpect = pytest.importorskip("pexpect")

pytestmark = [pytest.mark.audio, pytest.mark.realtime,
              pytest.mark.skipif(not HAVE_TOOLS, reason="needs espeak-ng, sox and ALSA's alsa.conf")]

#: Written for this test (about 7 s): the 2.0 s pause must not end it.
PAUSED_SSML = ("<speak>Our release checklist lived in one person's head. <break time=\"2000ms\"/> "
               "I wrote it down and the next release went out on time.</speak>")
#: A short answer (about 3 s) for the room too noisy to hear it end.
SHORT_SSML = "<speak>I wrote the runbook and trained two people to use it.</speak>"

LEAD_S = 1.0
END_SILENCE_S = 3.0
RATE = SAMPLE_RATE_HZ


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> dict[str, Speech]:
    d = tmp_path_factory.mktemp("answers")
    return {"paused": Speech(d, "paused", PAUSED_SSML), "short": Speech(d, "short", SHORT_SSML)}


@pytest.fixture
def terminal():
    opened: list[Terminal] = []

    def spawn(args: list[str], env: dict) -> Terminal:
        t = Terminal(args, env, timeout_s=90)
        opened.append(t)
        return t

    yield spawn
    for t in opened:
        t.close()
        print(f"\n----- last screenfuls of `starcoach practice` -----\n{t.text[-3000:]}")  # shown on failure


def in_room(s: Speech, snr_db: float, seconds: float, kind: str = "talkers") -> np.ndarray:
    """The answer after ``LEAD_S`` of the room, the room going on to ``seconds`` in all, at most 0.9 peak."""
    x = noise.under(s.samples, RATE, snr_db, kind, seed=5, lead_s=LEAD_S,
                    tail_s=seconds - LEAD_S - s.duration_s)
    return x * min(1.0, 0.9 / float(np.abs(x).max()))


def answer_start_s(wav) -> float:
    """Where the queued audio begins in the kept WAV: its first non-zero sample (the FIFO's silence before it)."""
    x = load_audio(wav)
    return float(np.nonzero(x)[0][0]) / RATE


class Session:
    """One question (gen-003, shown, not spoken) answered through the virtual microphone by ``audio``."""

    def __init__(self, tmp_path, terminal, audio: np.ndarray, *extra: str):
        self.data = tmp_path / "data"
        self.mic = FifoMic(tmp_path)
        env = base_env(self.data, write_asound(tmp_path, self.mic.path, tmp_path / "played.raw"))
        self.t = terminal(["--question-id", "gen-003", "--questions", "1", "--no-speak", "--follow-ups", "0",
                           "--end-silence", f"{END_SILENCE_S:g}", *extra], env)
        try:
            self.t.expect("Enter = done")  # the meter is up: recording
            self.mic.say(audio)
        except BaseException:
            self.mic.close()
            raise

    def finish(self) -> tuple:
        """Quit at the menu; the stored answer row (see test_practice.answers)."""
        try:
            self.t.expect("etry this one")
            self.t.child.send("q")
            code = self.t.wait_exit(timeout_s=60)
        finally:
            self.mic.close()
        no_traceback(self.t.text)
        assert code == 0, self.t.text[-2000:]
        (row,) = answers(self.data)
        return row

    def last_word_s(self, row, s: Speech) -> float:
        """Where the last word of ``s`` lies in the kept WAV."""
        return answer_start_s(self.data / row[5]) + LEAD_S + s.speech_end_s


def test_20db_noise_the_answer_ends_within_end_silence_plus_1s_and_the_pause_does_not_end_it(
        spoken, tmp_path, terminal):
    s = spoken["paused"]
    run = Session(tmp_path, terminal, in_room(s, 20.0, LEAD_S + s.duration_s + 8.0, "babble"))
    run.t.expect("you paused", timeout_s=60)  # ended by silence, not by the time limit
    row = run.finish()
    delay = wav_seconds(run.data / row[5]) - run.last_word_s(row, s)
    print(f"\n20 dB babble: the answer ended {delay:.2f} s after the last word")
    assert NOISY_ROOM not in run.t.text
    assert END_SILENCE_S - 0.5 <= delay <= END_SILENCE_S + 1.0  # after the last word, so not in the pause
    text = json.loads(row[6])["text"].lower()
    assert "checklist" in text and "release" in text.split("checklist", 1)[1]  # both halves were heard


def test_10db_voices_the_view_says_the_room_is_noisy_and_the_limit_ends_the_answer(spoken, tmp_path, terminal):
    s = spoken["short"]
    max_s = 9.0
    run = Session(tmp_path, terminal, in_room(s, 10.0, max_s + 3.0), "--max-answer", f"{max_s:g}")
    run.t.expect(NOISY_ROOM, timeout_s=60)
    run.t.expect("time limit reached", timeout_s=60)
    row = run.finish()
    assert wav_seconds(run.data / row[5]) == pytest.approx(max_s, abs=0.01)
    # The meter drawn just before the line first appeared: how far into the recording the room was called noisy.
    log = run.t.log.getvalue()
    at = [int(m) * 60 + float(sec) for m, sec in METER.findall(log[:log.index(NOISY_ROOM)])][-1]
    last_word = run.last_word_s(row, s)
    print(f"\n10 dB voices: 'noisy room' shown at {at:.1f} s, {at - last_word:+.1f} s after the last word")
    assert last_word < at <= last_word + END_SILENCE_S + 1.0
