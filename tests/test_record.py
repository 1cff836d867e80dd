"""Capturing answers: the real PortAudio path through a virtual ALSA microphone, and everything around it.

The microphone tests run the code in a child process with ALSA_CONFIG_PATH
pointing at an asound.conf whose capture device is ALSA's ``file`` plugin
reading a raw file of espeak-ng speech (see /work/shared/testing-audio.md).
A child process because PortAudio reads the ALSA configuration once, when
sounddevice is first imported.

What ALSA's file plugin does (measured here: alsa-lib on Debian, slave "null",
PortAudio's ALSA host API; test_alsa_file_plugin_at_end_of_input checks it):

* At the end of ``infile`` it neither stops the stream, nor loops the file,
  nor gives silence: it stops writing into the capture ring buffer, so the
  stream keeps returning the stale buffer - the last period of the file
  (~700 samples, ~40 ms) repeated for ever.  A file that ends loudly would
  buzz.  So every raw file the tests feed it ends with 1 s of digital zeros;
  what repeats is then exact silence, as after a real speaker stops talking.
* It is not paced: with the ``null`` slave there is no clock, so 10 s of
  "microphone" arrive in a few milliseconds.  Recorder and Endpointer count
  audio seconds (samples / rate), not wall time, so their decisions are the
  same as live.  MicrophoneSource's bounded queue (30 s) fills at once and
  then paces the device to the reader, so nothing is dropped.
* PortAudio negotiates the sample format closest to what the stream asks
  for; the plugin accepts any, so a float32 stream would read the s16 raw
  file as float32 garbage.  MicrophoneSource asks for int16.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import signal
import struct
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

from starcoach.audio import SAMPLE_RATE_HZ, AudioError, load_audio, speech_spans
from starcoach.capture.resample import LinearResampler
from starcoach.record import (
    Endpointer,
    FileSource,
    HardwareError,
    MicrophoneSource,
    Recorder,
    WavWriter,
    list_devices,
    repair_wav,
)

pytestmark = pytest.mark.audio

SYSTEM_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
HAVE_TOOLS = bool(shutil.which("espeak-ng") and shutil.which("sox") and SYSTEM_ALSA_CONF.exists())
needs_tools = pytest.mark.skipif(not HAVE_TOOLS, reason="needs espeak-ng, sox and ALSA's alsa.conf")

#: A short answer with a 1.2 s pause in the middle (which must not end it).
ANSWER_SSML = ('<speak>In my last role I rebuilt our deployment pipeline. <break time="1200ms"/> '
               'Releases went from two days to two hours.</speak>')
#: A long answer with no pause longer than a breath.
LONG_SSML = ("<speak>" + " ".join(
    ["I started by mapping every manual step in the release, then I automated the slowest ones first."] * 4)
    + "</speak>")


# --------------------------------------------------------------------------- helpers


class Speech:
    """An espeak-ng recording as a 16 kHz WAV and as the raw s16le the file plugin reads."""

    def __init__(self, directory: Path, name: str, ssml: str):
        tmp = directory / f"{name}-espeak.wav"
        self.wav = directory / f"{name}.wav"
        self.raw = directory / f"{name}.raw"
        subprocess.run(["espeak-ng", "-m", "-s", "160", "-w", str(tmp), ssml], check=True)
        subprocess.run(["sox", str(tmp), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed", str(self.wav)],
                       check=True)
        subprocess.run(["sox", str(self.wav), "-t", "raw", str(self.raw)], check=True)
        with open(self.raw, "ab") as fh:  # the plugin repeats the file's last period: make it silence
            fh.write(bytes(2 * SAMPLE_RATE_HZ))
        self.samples = load_audio(self.wav)
        self.spans = speech_spans(self.samples)
        self.speech_end_s = self.spans[-1].end_s
        self.duration_s = self.samples.size / SAMPLE_RATE_HZ


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if not HAVE_TOOLS:
        pytest.skip("needs espeak-ng, sox and ALSA's alsa.conf")
    d = tmp_path_factory.mktemp("speech")
    return {"answer": Speech(d, "answer", ANSWER_SSML), "long": Speech(d, "long", LONG_SSML)}


def write_asound(directory: Path, infile: Path | str | None, outfile: Path | str) -> Path:
    """A virtual sound card: default capture reads ``infile``, default playback writes ``outfile``."""
    infile_line = f'infile "{infile}"; ' if infile is not None else ""
    conf = directory / "asound.conf"
    conf.write_text(textwrap.dedent(f"""\
        pcm.!default {{ type asym; playback.pcm "spk"; capture.pcm "mic" }}
        pcm.mic {{ type file; slave.pcm "null"; file "/dev/null"; {infile_line}format "raw" }}
        pcm.spk {{ type file; slave.pcm "null"; file "{outfile}"; format "raw" }}
        """))
    return conf


def alsa_env(conf: Path) -> dict:
    env = dict(os.environ)
    env["ALSA_CONFIG_PATH"] = f"{SYSTEM_ALSA_CONF}:{conf}"
    return env


def run_child(code: str, env: dict, timeout_s: float = 60) -> tuple[dict, subprocess.CompletedProcess]:
    """Run ``code`` in a fresh Python; it prints one JSON object as its last line."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=timeout_s)
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc


RECORD_CHILD = """
    import json, sys, threading
    from starcoach.record import Endpointer, MicrophoneSource, Recorder
    wav, max_s = {wav!r}, {max_s!r}
    src = MicrophoneSource()
    seen = []
    def on_block(samples, elapsed_s, level_dbfs, ep):
        seen.append((elapsed_s, level_dbfs, samples.size))
    with src:
        r = Recorder(src, wav, Endpointer(end_silence_s=3.0), max_answer_s=max_s, on_block=on_block).run(
            threading.Event())
    print(json.dumps({{"duration_s": r.duration_s, "ended_by": r.ended_by, "heard_anything": r.heard_anything,
                      "end_of_speech_s": r.end_of_speech_s, "device_rate_hz": src.device_rate_hz,
                      "overflows": r.overflows, "blocks": len(seen),
                      "elapsed_increasing": all(a[0] < b[0] for a, b in zip(seen, seen[1:])),
                      "block_sizes": sorted(set(s for _, _, s in seen))}}))
"""


# --------------------------------------------------------------------------- the virtual microphone itself


@needs_tools
def test_alsa_file_plugin_at_end_of_input(speech, tmp_path):
    ramp = tmp_path / "ramp.raw"
    (np.arange(20000) % 30000).astype("<i2").tofile(ramp)
    s = speech["answer"]
    code = """
        import json, sys, time, numpy as np, sounddevice as sd
        n = int(sys.argv[1])
        t0 = time.perf_counter()
        x = sd.rec(n, samplerate=16000, channels=1, dtype="int16"); sd.wait()
        took = time.perf_counter() - t0
        print(json.dumps({"x": x.reshape(-1).tolist(), "took_s": took}))
    """
    results = {}
    for name, raw, n in (("ramp", ramp, 60000), ("speech", s.raw, int(s.samples.size * 2.5))):
        conf = write_asound(tmp_path, raw, tmp_path / "played.raw")
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(n)], env=alsa_env(conf),
                              capture_output=True, text=True, timeout=60, check=True)
        results[name] = json.loads(proc.stdout)
    x = np.array(results["ramp"]["x"])
    assert np.array_equal(x[:20000], np.arange(20000))  # the file, sample for sample
    after = x[20000:]
    period = next(p for p in range(1, 8192) if np.array_equal(after[p:p + 4096], after[:4096]))
    assert np.array_equal(after[:period], np.arange(20000 - period, 20000))  # the file's last period...
    assert np.array_equal(after, np.resize(after[:period], after.size))  # ...repeated for ever
    y = np.array(results["speech"]["x"])
    n = s.samples.size
    assert np.array_equal(y[:n], np.round(s.samples * 32768).astype(int))
    assert not y[n:].any()  # with 1 s of zeros at the end of the file, what repeats is silence
    took = results["speech"]["took_s"]
    print(f"\nALSA file plugin: after end of infile it repeats the last {period} samples; "
          f"{len(y) / 16000:.1f} s captured in {took * 1000:.0f} ms (not paced)")


# --------------------------------------------------------------------------- MicrophoneSource + Recorder


@needs_tools
def test_microphone_recording_captures_answer_and_ends_3s_after_speech(speech, tmp_path):
    s = speech["answer"]
    conf = write_asound(tmp_path, s.raw, tmp_path / "played.raw")
    wav = tmp_path / "answer-recorded.wav"
    out, proc = run_child(RECORD_CHILD.format(wav=str(wav), max_s=60.0), alsa_env(conf))
    assert out["ended_by"] == "silence"
    assert out["heard_anything"]
    assert out["device_rate_hz"] == SAMPLE_RATE_HZ
    assert out["overflows"] == 0
    assert out["elapsed_increasing"] and out["block_sizes"] == [1600]
    # The 1.2 s pause mid-answer did not end it; the end came ~3 s after the last word.
    wait_s = out["duration_s"] - s.speech_end_s
    print(f"\nend detected {wait_s:.2f} s after speech ended (target 3.0); "
          f"endpointer's end of speech {out['end_of_speech_s']:.2f} s vs source {s.speech_end_s:.2f} s")
    assert abs(wait_s - 3.0) <= 0.5
    assert abs(out["end_of_speech_s"] - s.speech_end_s) <= 0.3
    # The WAV holds what the microphone heard.
    rec, rate = sf.read(wav, dtype="float32")
    assert rate == SAMPLE_RATE_HZ
    assert abs(rec.size / rate - out["duration_s"]) < 1e-6
    n = s.samples.size
    assert np.corrcoef(rec[:n], s.samples)[0, 1] > 0.999
    assert np.abs(rec[n:]).max() == 0  # the silence after it
    got = speech_spans(load_audio(wav))
    assert sum(x.duration_s for x in got) == pytest.approx(sum(x.duration_s for x in s.spans), abs=0.3)
    assert "ALSA lib" not in proc.stderr and "Expression" not in proc.stderr


@needs_tools
def test_max_answer_cuts_a_long_answer(speech, tmp_path):
    s = speech["long"]
    assert s.duration_s > 10
    conf = write_asound(tmp_path, s.raw, tmp_path / "played.raw")
    wav = tmp_path / "long-recorded.wav"
    out, _ = run_child(RECORD_CHILD.format(wav=str(wav), max_s=4.0), alsa_env(conf))
    assert out["ended_by"] == "max"
    assert out["duration_s"] == pytest.approx(4.0, abs=1e-9)
    assert sf.info(str(wav)).frames == 4 * SAMPLE_RATE_HZ
    rec = load_audio(wav)
    assert np.corrcoef(rec, s.samples[:rec.size])[0, 1] > 0.999


# --------------------------------------------------------------------------- hardware errors


@needs_tools
def test_no_microphone_is_one_clear_line(tmp_path):
    # The default PCM has a playback side only (an anonymous one, so PortAudio lists
    # no other device): a PC with speakers and no microphone.
    conf = tmp_path / "asound.conf"
    conf.write_text(f'pcm.!default {{ type asym; playback.pcm {{ type file; slave.pcm "null"; '
                    f'file "{tmp_path}/played.raw"; format "raw" }} }}\n')
    out, proc = run_child("""
        import json
        from starcoach.record import HardwareError, MicrophoneSource, list_devices
        devs = list_devices()
        try:
            with MicrophoneSource():
                msg = None
        except HardwareError as e:
            msg = str(e)
        print(json.dumps({"msg": msg, "devices": [[d.name, d.inputs, d.outputs] for d in devs]}))
    """, alsa_env(conf))
    assert out["devices"] and all(inputs == 0 for _, inputs, _ in out["devices"])
    assert out["msg"].startswith("no microphone found — `starcoach devices` lists them")
    assert "--mic-file" in out["msg"] and "\n" not in out["msg"]
    assert "Traceback" not in proc.stderr and "ALSA lib" not in proc.stderr


@needs_tools
def test_bad_device_ids_and_unopenable_device(speech, tmp_path):
    gone = tmp_path / "gone.raw"
    shutil.copy(speech["answer"].raw, gone)
    conf = write_asound(tmp_path, gone, tmp_path / "played.raw")
    out, proc = run_child(f"""
        import json, os
        from starcoach.record import HardwareError, MicrophoneSource, list_devices
        list_devices()  # PortAudio is initialised (and has probed the devices) now
        msgs = {{}}
        for key, dev in (("index", 42), ("name", "no-such-mic")):
            try:
                with MicrophoneSource(device=dev):
                    msgs[key] = None
            except HardwareError as e:
                msgs[key] = str(e)
        os.remove({str(gone)!r})  # the device vanishes between listing and opening
        try:
            with MicrophoneSource():
                msgs["open"] = None
        except HardwareError as e:
            msgs["open"] = str(e)
        print(json.dumps(msgs))
    """, alsa_env(conf))
    assert out["index"] == "input device 42 does not exist (ids 0-2) — `starcoach devices` lists them"
    assert out["name"] == "no input device matches 'no-such-mic' — `starcoach devices` lists them"
    assert out["open"].startswith("cannot open microphone 'default' (")
    assert "--input-device" in out["open"]
    assert all("\n" not in m for m in out.values())
    assert "ALSA lib" not in proc.stderr


@pytest.fixture
def no_portaudio(monkeypatch):
    """Make `import sounddevice` fail as it does on a machine without libportaudio2."""
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "sounddevice" or name.startswith("sounddevice."):
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_portaudio_missing_is_one_clear_line(no_portaudio):
    with pytest.raises(HardwareError) as e:
        with MicrophoneSource():
            pass
    msg = str(e.value)
    assert msg.startswith("PortAudio library not found — install it "
                          "(Debian/Ubuntu: sudo apt install libportaudio2)")
    assert "--mic-file" in msg and "\n" not in msg
    with pytest.raises(HardwareError, match="PortAudio library not found"):
        list_devices()


# --------------------------------------------------------------------------- fallbacks (fake PortAudio)


class _FakePortAudioError(Exception):
    pass


class _Flags:
    def __init__(self, overflow: bool):
        self.input_overflow = overflow

    def __bool__(self) -> bool:
        return self.input_overflow


class _FakeSd:
    """Just enough of sounddevice to drive MicrophoneSource: a 48 kHz-only stereo device."""

    PortAudioError = _FakePortAudioError

    def __init__(self, accept_rates=(48000,), open_error=None, tone_hz=440.0):
        self.accept_rates = accept_rates
        self.open_error = open_error
        self.tone_hz = tone_hz
        self.opened = []
        self.default = type("D", (), {"device": (0, -1)})()

    def query_devices(self, device=None, kind=None):
        dev = {"index": 0, "name": "USB mic", "max_input_channels": 2, "max_output_channels": 0,
               "default_samplerate": 48000.0, "hostapi": 0}
        return [dev] if device is None else dev

    def InputStream(self, device, samplerate, channels, dtype, blocksize, callback):
        if self.open_error:
            raise _FakePortAudioError(*self.open_error)
        if samplerate not in self.accept_rates:
            raise _FakePortAudioError("Error opening InputStream: Invalid sample rate", -9997)
        self.opened.append((samplerate, channels))
        return _FakeStream(samplerate, channels, blocksize, callback, self.tone_hz)


class _FakeStream:
    def __init__(self, rate, channels, blocksize, callback, tone_hz):
        self.rate, self.channels, self.blocksize, self.callback = rate, channels, blocksize, callback
        self.tone_hz = tone_hz
        self.active, self.stopped = False, True

    def start(self):
        self.active, self.stopped = True, False
        t = np.arange(self.rate) / self.rate  # one second, in blocks, the second block flagged as an overflow
        tone = (np.sin(2 * np.pi * self.tone_hz * t) * 16000).astype(np.int16)
        stereo = np.stack([tone, tone], axis=1)[:, : self.channels]
        for i, start in enumerate(range(0, self.rate, self.blocksize)):
            self.callback(stereo[start:start + self.blocksize], self.blocksize, None, _Flags(i == 1))

    def abort(self):
        self.active, self.stopped = False, True

    def close(self):
        pass


def test_microphone_resamples_when_the_device_refuses_16khz(monkeypatch):
    fake = _FakeSd()
    monkeypatch.setattr("starcoach.record.load_sounddevice", lambda *a, **k: fake)
    src = MicrophoneSource()
    with src:
        blocks = []
        while (b := src.read(0.01)) is not None:
            blocks.append(b)
    assert fake.opened == [(48000, 1)]
    assert src.device_rate_hz == 48000 and src.sample_rate_hz == SAMPLE_RATE_HZ
    x = np.concatenate(blocks)
    assert x.dtype == np.float32 and abs(x.size - SAMPLE_RATE_HZ) <= 1
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    assert np.argmax(spectrum) * SAMPLE_RATE_HZ / x.size == pytest.approx(440, abs=2)
    assert src.input_overflows == 1 and src.overflows == 1


def test_microphone_falls_back_to_stereo_and_maps_busy(monkeypatch):
    class MonoRefused(_FakeSd):
        def InputStream(self, device, samplerate, channels, dtype, blocksize, callback):
            if channels == 1:
                raise _FakePortAudioError("Error opening InputStream: Invalid number of channels", -9998)
            return super().InputStream(device, samplerate, channels, dtype, blocksize, callback)

    fake = MonoRefused(accept_rates=(16000,))
    monkeypatch.setattr("starcoach.record.load_sounddevice", lambda *a, **k: fake)
    with MicrophoneSource() as src:
        x = src.read(0.01)
    assert fake.opened == [(16000, 2)] and x.ndim == 1 and x.size == 1600

    busy = _FakeSd(open_error=("Error opening InputStream: Device unavailable", -9985))
    monkeypatch.setattr("starcoach.record.load_sounddevice", lambda *a, **k: busy)
    with pytest.raises(HardwareError) as e:
        with MicrophoneSource():
            pass
    assert str(e.value).startswith("microphone 'USB mic' is busy (Device unavailable) — close the program")


def test_linear_resampler_is_continuous_across_blocks():
    rng = np.random.default_rng(1)
    t = np.arange(44100 * 2) / 44100
    x = np.sin(2 * np.pi * 300 * t).astype(np.float32)
    whole = LinearResampler(44100, 16000).process(x)
    r = LinearResampler(44100, 16000)
    cuts = np.sort(rng.choice(np.arange(1, x.size), size=40, replace=False))
    parts = np.concatenate([r.process(p) for p in np.split(x, cuts)])
    assert parts.size == whole.size == pytest.approx(32000, abs=1)
    assert np.allclose(parts, whole, atol=1e-6)
    expected = np.sin(2 * np.pi * 300 * np.arange(whole.size) / 16000)
    assert np.abs(whole - expected).max() < 0.01


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


# --------------------------------------------------------------------------- WavWriter and repair_wav


KILL_CHILD = """
    import sys, time, numpy as np
    from starcoach.record import WavWriter
    sig = (np.random.default_rng(7).standard_normal(16000 * 60) * 0.1).astype(np.float32)
    w = WavWriter(sys.argv[1])
    i = 0
    while True:
        w.write(sig[i:i + 800]); i += 800   # 50 ms blocks in real time, like a microphone
        print(i, flush=True)
        time.sleep(0.05)
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
        from starcoach.record import Endpointer, FileSource, Recorder
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
