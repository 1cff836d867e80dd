"""Playing mono audio on a speaker: the question's voice and the replay of an answer.

Both need the same things of PortAudio: 16-bit output (every device takes
it, and PortAudio's ALSA path hands a float32 stream's bytes on unconverted
to plugins), a fallback to the device's own rate when it refuses ours, a
failure said in one line, and Ctrl-C stopping the sound at once.  So there
is one player, :class:`Player`, used two ways:

* :meth:`Player.play` plays everything and returns once it has been heard.
  It writes to a blocking stream, because only a blocking write reports a
  device that fails while playing (with a callback, PortAudio just stops
  calling it); the question's voice uses this.
* ``streaming=True``: :meth:`Player.start`, then poll :meth:`Player.position_s`
  (what has been *heard* so far) and :attr:`Player.done`, then
  :meth:`Player.stop`; PortAudio's callback pulls the samples.  Replay uses
  this to light each word in time with the sound.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Optional

import numpy as np

from starcoach.capture.portaudio import (
    PA_INVALID_SAMPLE_RATE,
    DeviceSpec,
    HardwareError,
    load_sounddevice,
    pa_code,
    resolve_device,
    stderr_quietened,
)
from starcoach.capture.resample import LinearResampler
from starcoach.text import first_line

__all__ = ["Player", "PlaybackError", "open_output", "pcm16"]


class PlaybackError(HardwareError):
    """The device refused to play.  ``str(error)`` is one line; ``reason`` is PortAudio's, for rewording."""

    def __init__(self, message: str, device_name: str, reason: str):
        super().__init__(message)
        self.device_name = device_name
        self.reason = reason


def pcm16(samples) -> np.ndarray:
    """Mono int16 PCM: int16 samples as they are, float samples in [-1, 1] scaled (and clipped)."""
    x = np.asarray(samples).reshape(-1)
    if x.dtype == np.int16:
        return np.ascontiguousarray(x)
    return np.clip(np.round(x.astype(np.float32) * 32767.0), -32768, 32767).astype(np.int16)


def _resampled(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """``samples`` at ``to_hz`` as int16 (int16 input is resampled on its own scale)."""
    x = np.asarray(samples).reshape(-1)
    if x.dtype == np.int16:
        f = LinearResampler(from_hz, to_hz).process(x.astype(np.float32))
        return np.clip(np.round(f), -32768, 32767).astype(np.int16)
    return pcm16(LinearResampler(from_hz, to_hz).process(x))


class Player:
    """Plays mono ``samples`` (int16, or float in [-1, 1]) on one output device.

    ``streaming`` chooses PortAudio's callback (start / poll / stop) over a
    blocking write (:meth:`play`); see the module docstring.  The stream is
    opened in the constructor, so a device that cannot play is known before
    anything is shown as playing: :class:`PlaybackError` reads ``cannot play
    {what} on 'device' (reason)``, followed by ``; {hint}`` when one is given.  :meth:`position_s` counts the samples handed to PortAudio,
    less the stream's output latency, so a highlighted word keeps time with
    the sound rather than with the buffer.
    """

    def __init__(self, sd, device_index: int, device_info: dict, samples, rate_hz: int, *,
                 what: str = "audio", hint: Optional[str] = None, streaming: bool = True):
        self._sd = sd
        self._streaming = streaming
        self._what = what
        data = np.asarray(samples).reshape(-1)
        if data.dtype != np.int16:
            data = np.ascontiguousarray(data, dtype=np.float32)
        self.duration_s = data.size / float(rate_hz)
        self._done = threading.Event()
        self._stream = None
        self._name = str(device_info.get("name", device_index))
        try:
            try:
                self._open(device_index, pcm16(data), int(rate_hz))
            except sd.PortAudioError as exc:
                if pa_code(exc) != PA_INVALID_SAMPLE_RATE:
                    raise
                # The device refuses this rate (some hw: devices): resample to its own.
                dev_rate = int(round(float(device_info.get("default_samplerate") or 48000)))
                self._open(device_index, _resampled(data, int(rate_hz), dev_rate), dev_rate)
        except sd.PortAudioError as exc:
            raise self._error(exc, hint) from None

    def _error(self, exc: BaseException, hint: Optional[str] = None) -> PlaybackError:
        reason = first_line(exc)
        tail = f"; {hint}" if hint else ""
        return PlaybackError(f"cannot play {self._what} on {self._name!r} ({reason}){tail}", self._name, reason)

    def _open(self, index: int, data: np.ndarray, rate_hz: int) -> None:
        self._data, self._rate_hz, self._pos = data, rate_hz, 0
        # ALSA and PortAudio report a failing device on fd 2 from C as well as to us;
        # we say it once, in one line, so their lines are hidden while opening.
        with stderr_quietened():
            if self._streaming:
                self._stream = self._sd.OutputStream(device=index, samplerate=rate_hz, channels=1, dtype="int16",
                                                     callback=self._callback, finished_callback=self._done.set)
            else:
                self._stream = self._sd.OutputStream(device=index, samplerate=rate_hz, channels=1, dtype="int16")

    def _callback(self, outdata, frames, time_info, status) -> None:  # PortAudio's thread
        chunk = self._data[self._pos:self._pos + frames]
        n = chunk.size
        outdata[:n, 0] = chunk
        outdata[n:, 0] = 0
        self._pos += n
        if n < frames:
            raise self._sd.CallbackStop

    def start(self) -> None:
        """Start the sound (``streaming`` players); poll :meth:`position_s` and :attr:`done` after."""
        try:
            with stderr_quietened():
                self._stream.start()
        except self._sd.PortAudioError as exc:
            self._done.set()
            raise self._error(exc) from None

    def position_s(self) -> float:
        """Seconds of the audio heard so far."""
        latency = float(getattr(self._stream, "latency", 0.0) or 0.0)
        return max(0.0, self._pos / self._rate_hz - latency)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout_s: Optional[float] = None) -> bool:
        """Wait until the last sample has been played; False if ``timeout_s`` passed first."""
        return self._done.wait(timeout_s)

    def play(self) -> None:
        """Play everything and return once it has been heard.  Ctrl-C stops the sound at once."""
        if self._streaming:
            try:
                self.start()
                # A bounded wait, so Ctrl-C reaches this thread while the sound plays.
                while not self._done.wait(0.1):
                    pass
            finally:
                self.stop()
            return
        stream, self._stream = self._stream, None
        # ALSA and PortAudio report a failing device on fd 2 from C as well as to us;
        # we say it once, in one line, so their lines are hidden while playing.
        try:
            with stderr_quietened():
                try:
                    stream.start()
                    stream.write(self._data.reshape(-1, 1))  # blocks until the last buffer is queued
                    self._pos = self._data.size
                    stream.stop()  # Pa_StopStream: returns once everything queued has been played
                except self._sd.PortAudioError as exc:
                    raise self._error(exc) from None
                except BaseException:
                    # Ctrl-C while playing: stop at once rather than finish the sentence.
                    with contextlib.suppress(Exception):
                        stream.abort()
                    raise
                finally:
                    with contextlib.suppress(Exception):
                        stream.close()
        finally:
            self._done.set()

    def stop(self) -> None:
        """Stop the sound (at once if it is still playing) and release the device.  Safe to call twice."""
        if self._stream is None:
            return
        stream, self._stream = self._stream, None
        try:
            stream.abort()  # after the last buffer there is nothing left; while playing, silence at once
            stream.close()
        except Exception:  # already stopped or the device went away: nothing left to stop
            pass
        self._done.set()

    def __enter__(self) -> "Player":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def open_output(device: DeviceSpec = None, *, hint: str = "", what: str = "audio",
                player_hint: Optional[str] = None, streaming: bool = True) -> Callable[[Any, int], Player]:
    """A player factory for ``device`` (None: the default output), or a HardwareError saying why there is none.

    ``hint`` ends the message when PortAudio cannot be loaded; ``what`` and
    ``player_hint`` word a device that refuses to play (see :class:`Player`).
    """
    sd = load_sounddevice(hint=hint)
    index, info = resolve_device(sd, device, "output")
    return lambda samples, rate_hz: Player(sd, index, info, samples, rate_hz, what=what, hint=player_hint,
                                           streaming=streaming)

