"""The answer's WAV: written as it is spoken so a kill -9 loses nothing, and repaired afterwards."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import wave

import numpy as np
import pytest
import soundfile as sf

from starcoach.capture.wav import WavWriter
from starcoach.capture.wav_repair import repair_wav
from starcoach.speech.decode import SAMPLE_RATE_HZ, AudioError, load_audio

pytestmark = pytest.mark.audio


# --------------------------------------------------------------------------- WavWriter and repair_wav


KILL_CHILD = """
    import sys, time, numpy as np
    from starcoach.capture.wav import WavWriter
    sig = (np.random.default_rng(7).standard_normal(16000 * 60) * 0.1).astype(np.float32)
    w = WavWriter(sys.argv[1])
    i = 0
    while True:
        w.write(sig[i:i + 800]); i += 800   # 50 ms blocks, as a microphone delivers them
        print(i, flush=True)
        time.sleep(0.01)  # five times faster: WavWriter flushes after a second of audio at the latest either way
"""


def test_wav_writer_survives_kill_9(tmp_path):
    wav = tmp_path / "killed.wav"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILL_CHILD), str(wav)],
                            stdout=subprocess.PIPE, text=True)
    reported = 0
    try:
        for line in proc.stdout:
            reported = int(line)
            if reported >= int(2.5 * SAMPLE_RATE_HZ):
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    sig = (np.random.default_rng(7).standard_normal(16000 * 60) * 0.1).astype(np.float32)
    # The header still says "size unknown"...
    raw = wav.read_bytes()
    assert struct.unpack("<I", raw[4:8])[0] == 0xFFFFFFFF
    # ...and every reader takes that as "to the end of the file".
    by_sndfile, _ = sf.read(wav, dtype="float32")
    by_ffmpeg = load_audio(wav)
    lost_s = (reported - by_sndfile.size) / SAMPLE_RATE_HZ
    print(f"\nkill -9 after {reported / SAMPLE_RATE_HZ:.2f} s written: libsndfile reads "
          f"{by_sndfile.size / SAMPLE_RATE_HZ:.2f} s, FFmpeg {by_ffmpeg.size / SAMPLE_RATE_HZ:.2f} s "
          f"(lost {max(0.0, lost_s):.2f} s)")
    for got in (by_sndfile, by_ffmpeg):
        assert got.size >= reported - SAMPLE_RATE_HZ  # at most 1 s lost
        assert np.abs(got - sig[:got.size]).max() < 2 / 32768  # and what is there is right
    with wave.open(str(wav)) as w:  # the strict stdlib reader too
        assert len(w.readframes(10 ** 9)) // 2 == by_sndfile.size
    # repair_wav writes exact sizes, so any player reads it.
    duration = repair_wav(wav)
    assert duration == pytest.approx(by_sndfile.size / SAMPLE_RATE_HZ)
    with wave.open(str(wav)) as w:
        assert w.getnframes() == by_sndfile.size
    assert sf.info(str(wav)).frames == by_sndfile.size


def test_wav_writer_close_writes_exact_sizes(tmp_path):
    wav = tmp_path / "closed.wav"
    with WavWriter(wav) as w:
        w.write(np.full(16000, 2.0, dtype=np.float32))  # out of range: clipped, not wrapped
        w.write(np.zeros(8000, dtype=np.float32))
        assert w.duration_s == 1.5
    with wave.open(str(wav)) as r:
        assert (r.getnframes(), r.getframerate(), r.getnchannels(), r.getsampwidth()) == (24000, 16000, 1, 2)
    x, _ = sf.read(wav, dtype="int16")
    assert x[:16000].min() == 32767
    before = wav.read_bytes()
    assert repair_wav(wav) == 1.5
    assert wav.read_bytes() == before  # a good file is left alone


def _pcm_wav(samples: int, *, data_size: int | None, riff_size: int | None = None,
             extra: bytes = b"") -> bytes:
    data = (np.arange(samples, dtype=np.int16) % 1000).tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack(
        "<I", len(data) if data_size is None else data_size) + data + extra
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


@pytest.mark.parametrize("case, content, frames", [
    ("libsndfile unclosed", _pcm_wav(16000, data_size=0, riff_size=8), 16000),
    ("size too big", _pcm_wav(16000, data_size=10 ** 6), 16000),
    ("stale header + audio", _pcm_wav(24000, data_size=32000, riff_size=32036), 24000),
    ("half a sample at the end", _pcm_wav(16000, data_size=0xFFFFFFFF, extra=b"\x01"), 16000),
    ("chunk after the data", _pcm_wav(16000, data_size=None, extra=b"LIST\x04\x00\x00\x00INFO"), 16000),
])
def test_repair_wav(tmp_path, case, content, frames):
    wav = tmp_path / "x.wav"
    wav.write_bytes(content)
    assert repair_wav(wav) == pytest.approx(frames / 16000)
    with wave.open(str(wav)) as r:
        assert r.getnframes() == frames
        assert np.array_equal(np.frombuffer(r.readframes(frames), dtype="<i2"),
                              np.arange(frames, dtype=np.int16) % 1000)
    assert sf.info(str(wav)).frames == frames
    assert struct.unpack("<I", wav.read_bytes()[4:8])[0] == wav.stat().st_size - 8


def test_repair_wav_refuses_what_is_not_a_wav(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("not audio at all")
    with pytest.raises(AudioError):
        repair_wav(p)
    with pytest.raises(AudioError):
        repair_wav(tmp_path / "missing.wav")
