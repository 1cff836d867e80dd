"""Recording an answer: the --mic-file source, the end-of-answer detector and the recorder tying them
to the WAV (Enter, Ctrl-C, a source that goes quiet).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from alsa import make_speech, needs_tools
from starcoach.capture.endpointer import Endpointer
from starcoach.capture.mic_file import FileSource
from starcoach.capture.portaudio import HardwareError
from starcoach.capture.recorder import Recorder
from starcoach.speech.decode import SAMPLE_RATE_HZ, AudioError, load_audio

pytestmark = pytest.mark.audio


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return make_speech(tmp_path_factory)


# --------------------------------------------------------------------------- FileSource


def _tone_file(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), SAMPLE_RATE_HZ, subtype="PCM_16")
    return path


def test_file_source_is_paced_in_real_time(tmp_path):
    src = FileSource(_tone_file(tmp_path / "tone.wav", 2.0), realtime=True)
    with src:
        assert src.read(0.0) is None  # the first block has not "been spoken" yet
        t0 = time.monotonic()
        got = 0
        while not src.exhausted:
            b = src.read(0.5)
            if b is not None:
                got += b.size
        took = time.monotonic() - t0
        after = src.read(0.5)
    print(f"\nFileSource: 2.00 s of audio delivered in {took:.3f} s")
    assert got == 2 * SAMPLE_RATE_HZ
    assert took == pytest.approx(2.0, rel=0.10)
    assert after is not None and after.size == 1600 and not after.any()  # silence after the end


def test_file_source_unpaced_is_fast_then_silent(tmp_path):
    src = FileSource(_tone_file(tmp_path / "tone.wav", 2.0), realtime=False)
    t0 = time.monotonic()
    with src:
        blocks = [src.read(1.0) for _ in range(30)]
    assert time.monotonic() - t0 < 0.2
    x = np.concatenate(blocks)
    assert np.abs(x[:2 * SAMPLE_RATE_HZ]).max() > 0.29 and not x[2 * SAMPLE_RATE_HZ:].any()
    with pytest.raises(AudioError):
        FileSource(tmp_path / "missing.wav")


# --------------------------------------------------------------------------- Endpointer


def _feed(ep: Endpointer, audio: np.ndarray, block: int = 1600) -> float | None:
    """Push ``audio`` block by block; the audio time at which ``ended`` first became true."""
    for i in range(0, audio.size, block):
        ep.push(audio[i:i + block])
        if ep.ended:
            return (i + min(block, audio.size - i)) / SAMPLE_RATE_HZ
    return None


@needs_tools
def test_endpointer_ends_3s_after_speech_on_digital_silence(speech):
    s = speech["answer"]
    audio = np.concatenate([s.samples, np.zeros(6 * SAMPLE_RATE_HZ, dtype=np.float32)])
    ep = Endpointer()
    ended_at = _feed(ep, audio)
    assert ep.speech_started and ep.heard_anything
    assert ended_at - s.speech_end_s == pytest.approx(3.0, abs=0.5)
    assert ep.end_of_speech_s == pytest.approx(s.speech_end_s, abs=0.3)
    assert ep.level_dbfs == -100.0


@needs_tools
def test_endpointer_with_room_noise_uses_the_vad_and_stays_cheap(speech):
    s = speech["answer"]
    rng = np.random.default_rng(3)
    tail = 20 * SAMPLE_RATE_HZ
    audio = np.concatenate([s.samples, np.zeros(tail, dtype=np.float32)])
    audio = audio + (rng.standard_normal(audio.size) * 10 ** (-50 / 20)).astype(np.float32)  # -50 dBFS hiss
    Endpointer.warm_up()
    ep = Endpointer()
    ended_at = _feed(ep, audio)
    assert ended_at is not None and ended_at - s.speech_end_s == pytest.approx(3.0, abs=0.5)
    # Keep going through 20 s of noise to measure the VAD's cost where it cannot skip.
    noise = audio[-tail:]
    ep2 = Endpointer()
    cpu0 = time.process_time()
    _feed(ep2, noise)
    per_audio_s = (time.process_time() - cpu0) / 20
    print(f"\nEndpointer: ended {ended_at - s.speech_end_s:.2f} s after speech in -50 dBFS noise; "
          f"CPU {per_audio_s * 1000:.1f} ms per audio second ({ep2.vad_runs} VAD runs / 20 s)")
    assert per_audio_s < 0.05
    assert ep2.vad_runs == pytest.approx(20 / 0.25, abs=2)  # the gate cannot skip noise


def test_endpointer_hears_nothing_from_a_dead_microphone():
    rng = np.random.default_rng(4)
    for audio in (np.zeros(5 * SAMPLE_RATE_HZ, dtype=np.float32),
                  (rng.standard_normal(5 * SAMPLE_RATE_HZ) * 10 ** (-75 / 20)).astype(np.float32)):
        ep = Endpointer()
        assert _feed(ep, audio) is None
        assert not ep.heard_anything and not ep.speech_started
        assert ep.trailing_silence_s == pytest.approx(5.0)
        assert ep.end_of_speech_s is None


@needs_tools
def test_endpointer_ignores_a_click_before_the_answer(speech):
    s = speech["answer"]
    first = s.spans[0].start_s
    blip = s.samples[int(first * SAMPLE_RATE_HZ): int((first + 0.2) * SAMPLE_RATE_HZ)]
    audio = np.concatenate([blip, np.zeros(5 * SAMPLE_RATE_HZ, dtype=np.float32)])
    ep = Endpointer()
    assert _feed(ep, audio) is None
    assert not ep.speech_started and ep.heard_anything


# --------------------------------------------------------------------------- Recorder


@needs_tools
def test_recorder_with_file_source_enter_and_callbacks(speech, tmp_path):
    s = speech["answer"]
    src = FileSource(s.wav, realtime=False)
    seen = []
    with src:
        r = Recorder(src, tmp_path / "a.wav", Endpointer(), 60,
                     on_block=lambda b, t, lvl, ep: seen.append((t, lvl, ep.speech_started))).run()
    assert r.ended_by == "silence" and r.heard_anything and r.overflows == 0
    assert r.duration_s - s.speech_end_s == pytest.approx(3.0, abs=0.5)
    assert seen[0][0] == pytest.approx(0.1) and seen[-1][0] == pytest.approx(r.duration_s)
    assert max(lvl for _, lvl, _ in seen) > -30

    stop = threading.Event()

    def press_enter_after_1s(b, t, lvl, ep):
        if t >= 1.0:
            stop.set()

    with FileSource(s.wav, realtime=False) as src:
        r = Recorder(src, tmp_path / "b.wav", Endpointer(), 60, on_block=press_enter_after_1s).run(stop)
    assert r.ended_by == "enter" and r.duration_s == pytest.approx(1.0)
    assert sf.info(str(tmp_path / "b.wav")).frames == SAMPLE_RATE_HZ


@needs_tools
def test_recorder_keeps_the_audio_on_ctrl_c(speech, tmp_path):
    s = speech["answer"]
    wav = tmp_path / "interrupted.wav"
    code = f"""
        import json, sys, threading
        from starcoach.capture.endpointer import Endpointer
        from starcoach.capture.mic_file import FileSource
        from starcoach.capture.recorder import Recorder
        src = FileSource({str(s.wav)!r}, realtime=True)
        with src:
            print("recording", flush=True)
            r = Recorder(src, {str(wav)!r}, Endpointer(), 60).run(threading.Event())
        print(json.dumps({{"ended_by": r.ended_by, "duration_s": r.duration_s}}), flush=True)
    """
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "recording"
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["ended_by"] == "interrupt"
    assert res["duration_s"] == pytest.approx(1.5, abs=0.3)
    with wave.open(str(wav)) as w:  # closed cleanly: exact header
        assert w.getnframes() == round(res["duration_s"] * SAMPLE_RATE_HZ)
    got = load_audio(wav)
    assert np.corrcoef(got, s.samples[:got.size])[0, 1] > 0.999


def test_recorder_raises_when_the_source_goes_quiet(tmp_path):
    class DeadSource:
        sample_rate_hz = SAMPLE_RATE_HZ
        overflows = 0

        def __init__(self):
            self.n = 0

        def read(self, timeout_s):
            self.n += 1
            if self.n <= 3:
                return np.full(1600, 0.1, dtype=np.float32)
            time.sleep(timeout_s)
            return None

    with pytest.raises(HardwareError, match=r"no audio from the microphone for 0.3 s .* saved in"):
        Recorder(DeadSource(), tmp_path / "dead.wav", Endpointer(), 60, stall_timeout_s=0.3).run()
    assert sf.info(str(tmp_path / "dead.wav")).frames == 4800
