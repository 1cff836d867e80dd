"""The microphone: the real PortAudio path through a virtual ALSA microphone (tests/alsa.py), its
one-line errors, and its fallbacks (rate, channels) through a fake PortAudio.
"""

from __future__ import annotations

import builtins
import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from alsa import alsa_env, make_speech, needs_tools, run_child, write_asound
from starcoach.capture.microphone import MicrophoneSource
from starcoach.capture.portaudio import HardwareError, list_devices
from starcoach.capture.resample import LinearResampler
from starcoach.speech.decode import SAMPLE_RATE_HZ, load_audio
from starcoach.speech.vad import speech_spans

pytestmark = pytest.mark.audio


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return make_speech(tmp_path_factory)


RECORD_CHILD = """
    import json, sys, threading
    from starcoach.capture.endpointer import Endpointer
    from starcoach.capture.microphone import MicrophoneSource
    from starcoach.capture.recorder import Recorder
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
        from starcoach.capture.microphone import MicrophoneSource
        from starcoach.capture.portaudio import HardwareError, list_devices
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
        from starcoach.capture.microphone import MicrophoneSource
        from starcoach.capture.portaudio import HardwareError, list_devices
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
    monkeypatch.setattr("starcoach.capture.microphone.load_sounddevice", lambda *a, **k: fake)
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
    monkeypatch.setattr("starcoach.capture.microphone.load_sounddevice", lambda *a, **k: fake)
    with MicrophoneSource() as src:
        x = src.read(0.01)
    assert fake.opened == [(16000, 2)] and x.ndim == 1 and x.size == 1600

    busy = _FakeSd(open_error=("Error opening InputStream: Device unavailable", -9985))
    monkeypatch.setattr("starcoach.capture.microphone.load_sounddevice", lambda *a, **k: busy)
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
