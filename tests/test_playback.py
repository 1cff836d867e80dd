"""The one audio player (capture.playback): every sample reaches the device, the position follows it.

A fake sounddevice pulls blocks on a thread, as PortAudio's callback does;
the real device path (PortAudio into a virtual ALSA speaker) is covered by
test_speak.py (questions spoken) and test_history.py (answers replayed).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from starcoach.capture.playback import PlaybackError, Player, pcm16


class FakeSoundDevice:
    """The parts of sounddevice the Player uses; the 'device' pulls blocks on a thread like PortAudio."""

    class PortAudioError(Exception):
        pass

    class CallbackStop(Exception):
        pass

    def __init__(self, refuse_hz=None, fail_start=False):
        self.refuse_hz, self.fail_start = refuse_hz, fail_start
        self.played: list[np.ndarray] = []
        self.rates: list[int] = []
        sd = self

        class OutputStream:
            latency = 0.0

            def __init__(self, device, samplerate, channels, dtype, callback, finished_callback):
                if samplerate == sd.refuse_hz:
                    raise sd.PortAudioError("Invalid sample rate", -9997)
                assert channels == 1 and dtype == "int16"
                sd.rates.append(samplerate)
                self.cb, self.fin, self.stopped = callback, finished_callback, False

            def start(self):
                if sd.fail_start:
                    raise sd.PortAudioError("Error starting stream: Unanticipated host error [PaErrorCode -9999]", -9999)

                def run():
                    while not self.stopped:
                        out = np.full((512, 1), 12345, np.int16)
                        try:
                            self.cb(out, 512, None, None)
                        except sd.CallbackStop:
                            sd.played.append(out.copy())
                            break
                        sd.played.append(out.copy())
                    self.fin()

                threading.Thread(target=run, daemon=True).start()

            def abort(self):
                self.stopped = True

            def close(self):
                pass

        self.OutputStream = OutputStream


def test_audio_player_hands_every_sample_to_the_device_and_tracks_the_position():
    samples = np.sin(np.arange(16000 * 2 + 123) / 10.0).astype(np.float32)
    sd = FakeSoundDevice()
    player = Player(sd, 0, {"name": "fake"}, samples, 16000)
    assert player.position_s() == 0.0 and not player.done
    player.start()
    deadline = time.monotonic() + 10
    while not player.done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert player.done
    heard = np.concatenate(sd.played)[:, 0]
    pcm = np.round(samples * 32767).astype(np.int16)
    assert np.array_equal(heard[:samples.size], pcm) and not heard[samples.size:].any()
    assert player.position_s() == pytest.approx(samples.size / 16000)
    player.stop()

    # A device that refuses 16 kHz gets the audio at its own rate, same length in seconds.
    sd48 = FakeSoundDevice(refuse_hz=16000)
    p48 = Player(sd48, 0, {"name": "hw", "default_samplerate": 48000.0}, samples, 16000)
    assert sd48.rates == [48000] and p48.duration_s == pytest.approx(samples.size / 16000)
    p48.start()
    while not p48.done:
        time.sleep(0.01)
    assert p48.position_s() == pytest.approx(samples.size / 16000, abs=1e-3)


def test_play_waits_for_the_last_sample_and_int16_goes_out_unchanged():
    samples = (np.arange(5000) % 2000 - 1000).astype(np.int16)
    sd = FakeSoundDevice()
    player = Player(sd, 0, {"name": "fake"}, samples, 22050, what="speech")
    player.play()
    assert player.done and sd.rates == [22050]
    heard = np.concatenate(sd.played)[:, 0]
    assert np.array_equal(heard[:samples.size], samples) and not heard[samples.size:].any()

    # Refused rate: int16 is resampled on its own scale (not as if it were float in [-1, 1]).
    sd48 = FakeSoundDevice(refuse_hz=22050)
    Player(sd48, 0, {"name": "hw", "default_samplerate": 44100.0}, samples, 22050).play()
    heard = np.concatenate(sd48.played)[:, 0]
    assert sd48.rates == [44100] and np.abs(heard).max() == 1000


def test_device_failures_are_one_line_naming_the_device():
    sd = FakeSoundDevice(refuse_hz=16000)
    with pytest.raises(PlaybackError) as e:  # refuses 16 kHz, and its own rate is 16 kHz too
        Player(sd, 0, {"name": "hw:0", "default_samplerate": 16000.0}, np.zeros(10, np.float32), 16000,
               hint="use --no-audio to replay without sound")
    assert str(e.value) == "cannot play audio on 'hw:0' (Invalid sample rate); use --no-audio to replay without sound"
    assert e.value.reason == "Invalid sample rate" and e.value.device_name == "hw:0"

    player = Player(FakeSoundDevice(fail_start=True), 0, {"name": "spk"}, np.zeros(10, np.int16), 16000,
                    what="speech", hint="not at start")
    with pytest.raises(PlaybackError) as e:
        player.play()
    assert str(e.value) == "cannot play speech on 'spk' (Error starting stream: Unanticipated host error " \
                           "[PaErrorCode -9999])"
    assert player.done


def test_pcm16_scales_floats_and_keeps_int16():
    assert pcm16(np.array([0.0, 0.5, -1.0, 2.0], np.float32)).tolist() == [0, 16384, -32767, 32767]
    x = np.array([1, -2, 3], np.int16)
    assert pcm16(x) is not None and pcm16(x).tolist() == [1, -2, 3] and pcm16(x).dtype == np.int16


def test_the_streaming_player_is_an_edges_player():
    """Replay is typed against edges.Player; the real player must have every member of it."""
    import inspect

    from starcoach import edges
    from starcoach.capture import playback

    wanted = {n for n in vars(edges.Player) if not n.startswith("_")} | set(edges.Player.__annotations__)
    have = {n for n in dir(playback.Player) if not n.startswith("_")}
    init = inspect.getsource(playback.Player.__init__)
    missing = {n for n in wanted if n not in have and f"self.{n} =" not in init}
    assert wanted >= {"start", "position_s", "done", "play", "stop", "duration_s"} and not missing
