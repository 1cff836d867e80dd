"""A live microphone through PortAudio (sounddevice), delivering 16 kHz mono float32 blocks.

The microphone must open on any PC or say in one line why not: it falls back
to the device's own rate and to stereo when 16 kHz mono is refused, and maps
"busy" and "gone" to what the user can do about them.  The audio thread is
never kept waiting on Python work.
"""

from __future__ import annotations

import contextlib
import queue
from typing import Any, Optional

import numpy as np

from starcoach.capture.portaudio import (
    HINT_DEVICES,
    HINT_MIC_FILE,
    PA_DEVICE_UNAVAILABLE,
    PA_INVALID_CHANNEL_COUNT,
    PA_INVALID_SAMPLE_RATE,
    PA_SAMPLE_FORMAT_NOT_SUPPORTED,
    DeviceSpec,
    HardwareError,
    load_sounddevice,
    pa_code,
    resolve_device,
    stderr_quietened,
)
from starcoach.capture.resample import LinearResampler
from starcoach.speech.decode import SAMPLE_RATE_HZ
from starcoach.text import first_line

__all__ = ["MicrophoneSource"]


class MicrophoneSource:
    """A live microphone through PortAudio (sounddevice), delivering 16 kHz mono float32.

    The PortAudio callback only copies each block into a queue; conversion and
    resampling happen in :meth:`read`, on the caller's thread, so the audio
    thread never waits on Python work.  The queue holds ``max_queue_s`` of
    audio, so memory stays bounded.  When it is full the callback waits up to
    ``full_wait_s`` for room before dropping the block (counted in
    :attr:`overflows`): a live microphone only fills it if the reader has
    stalled for half a minute, when audio is being lost anyway, while a
    device with no clock of its own (ALSA's file plugin in tests, which
    delivers as fast as it is asked) is thereby paced by the reader instead
    of burning a core and dropping nearly everything.

    The stream is opened as 16-bit integers: that is what microphones deliver,
    and it pins the sample format PortAudio negotiates with plugins that accept
    anything (ALSA's ``file`` plugin, used by the tests, would otherwise read
    its raw input as float32).
    """

    def __init__(self, device: DeviceSpec = None, block_s: float = 0.1, *, max_queue_s: float = 30.0,
                 full_wait_s: float = 1.0):
        if block_s <= 0:
            raise ValueError("block_s must be positive")
        self.device = device
        self.block_s = float(block_s)
        self.sample_rate_hz = SAMPLE_RATE_HZ
        #: The rate the device was actually opened at (differs if it refused 16 kHz).
        self.device_rate_hz: Optional[int] = None
        self.device_name: Optional[str] = None
        self.channels = 1
        self._max_blocks = max(10, int(max_queue_s / self.block_s))
        self._full_wait_s = full_wait_s
        self._queue: "queue.Queue[np.ndarray]" = queue.Queue(maxsize=self._max_blocks)
        self._closing = False
        self._stream = None
        self._resampler: Optional[LinearResampler] = None
        #: Times the device reported an input overflow (the machine was too busy to fetch audio).
        self.input_overflows = 0
        #: Blocks dropped because the reader fell ``max_queue_s`` behind.
        self.dropped_blocks = 0

    @property
    def overflows(self) -> int:
        """Times audio was lost: device overruns plus blocks dropped from a full queue."""
        return self.input_overflows + self.dropped_blocks

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio's thread
        if self._closing:
            return
        if status and status.input_overflow:
            self.input_overflows += 1
        try:
            self._queue.put(indata.copy(), timeout=self._full_wait_s)
        except queue.Full:
            if not self._closing:
                self.dropped_blocks += 1

    def __enter__(self) -> "MicrophoneSource":
        if self._stream is not None:
            return self
        self._queue = queue.Queue(maxsize=self._max_blocks)  # nothing left over from a previous use
        self._closing = False
        sd = load_sounddevice()
        index, info = resolve_device(sd, self.device, "input")
        name = str(info.get("name", index))
        self.device_name = name
        default_rate = int(round(float(info.get("default_samplerate") or 0))) or 48000
        max_channels = max(1, int(info.get("max_input_channels", 1)))
        # Ask for what we want first; fall back only on "this device cannot do that"
        # errors (rate, channel count), never on "busy" or "gone".
        rates = list(dict.fromkeys([SAMPLE_RATE_HZ, default_rate, 48000, 44100]))
        channel_counts = list(dict.fromkeys([1, min(2, max_channels)]))
        last_exc: Optional[BaseException] = None
        stream = None
        for channels in channel_counts:
            for rate in rates:
                try:
                    with stderr_quietened():
                        stream = sd.InputStream(
                            device=index, samplerate=rate, channels=channels, dtype="int16",
                            blocksize=max(1, int(round(self.block_s * rate))), callback=self._callback,
                        )
                except sd.PortAudioError as exc:
                    if pa_code(exc) in (PA_INVALID_SAMPLE_RATE, PA_INVALID_CHANNEL_COUNT,
                                         PA_SAMPLE_FORMAT_NOT_SUPPORTED):
                        last_exc = exc
                        continue
                    raise _open_error(name, exc) from None
                except (ValueError, TypeError) as exc:  # sounddevice's own argument checks
                    raise _open_error(name, exc) from None
                self.device_rate_hz, self.channels = rate, channels
                break
            if stream is not None:
                break
        if stream is None:
            raise HardwareError(f"microphone {name!r} cannot record mono or stereo at {rates[0]} or "
                                f"{default_rate} Hz ({first_line(last_exc) if last_exc else 'unsupported'}) "
                                f"— pick another with --input-device") from None
        try:
            with stderr_quietened():
                stream.start()
        except sd.PortAudioError as exc:
            with contextlib.suppress(Exception):
                stream.close()
            raise _open_error(name, exc) from None
        self._stream = stream
        self._resampler = (None if self.device_rate_hz == SAMPLE_RATE_HZ
                           else LinearResampler(self.device_rate_hz, SAMPLE_RATE_HZ))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        # Release a callback waiting for room in the queue, or abort() would wait for it.
        self._closing = True
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        # abort, not stop: there is nothing to drain on input, and Ctrl-C must be quick.
        with contextlib.suppress(Exception):
            stream.abort()
        with contextlib.suppress(Exception):
            stream.close()

    def read(self, timeout_s: float) -> Optional[np.ndarray]:
        if self._stream is None:
            raise RuntimeError("MicrophoneSource is not open: use `with source:`")
        try:
            raw = self._queue.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            if not self._stream.active and not self._stream.stopped:
                raise HardwareError(f"the microphone {self.device_name!r} stopped delivering audio "
                                    "(unplugged?) — check it and start again") from None
            return None
        samples = raw.astype(np.float32) * (1.0 / 32768.0)
        samples = samples.mean(axis=1) if samples.ndim == 2 and samples.shape[1] > 1 else samples.reshape(-1)
        if self._resampler is not None:
            samples = self._resampler.process(samples)
        return samples.astype(np.float32, copy=False)


def _open_error(name: str, exc: BaseException) -> HardwareError:
    code = pa_code(exc)
    reason = first_line(exc)
    reason = reason.split(": ", 1)[1] if reason.startswith("Error opening") and ": " in reason else reason
    if code == PA_DEVICE_UNAVAILABLE:
        return HardwareError(f"microphone {name!r} is busy ({reason}) — close the program using it, or pick "
                             f"another with --input-device ({HINT_DEVICES})")
    return HardwareError(f"cannot open microphone {name!r} ({reason}) — it may be in use or unplugged; pick "
                         f"another with --input-device ({HINT_DEVICES}) or {HINT_MIC_FILE}")
