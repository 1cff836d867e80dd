"""Streaming sample-rate conversion for devices that refuse the rate we ask for.

Some ``hw:`` devices accept only their own rate (PortAudio error -9997), so the
microphone may deliver 48 kHz where the pipeline wants 16 kHz, and a speaker
may want 48 kHz where espeak-ng gives 22,050 Hz.  One small resampler serves
both directions.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LinearResampler"]


class LinearResampler:
    """Streaming linear-interpolation resampler (e.g. 48 kHz to 16 kHz).

    Used only when a device refuses 16 kHz (some ``hw:`` devices do: PortAudio
    error -9997).  Linear interpolation is enough here because everything
    downstream (Silero VAD, Whisper's log-mel features) looks at speech below
    8 kHz, where it is accurate to a fraction of a dB; what it lets through
    from above 8 kHz (aliasing) is sibilance and room noise that a microphone
    records far below the speech.  A proper polyphase filter would need scipy
    or PyAV's resampler per block, for no audible gain in the transcript.

    State (the fractional read position and the previous block's last sample)
    is carried across blocks, so block boundaries leave no clicks or drift.
    """

    def __init__(self, in_rate_hz: float, out_rate_hz: float):
        self.step = float(in_rate_hz) / float(out_rate_hz)  # input samples per output sample
        self._next_out = 0  # index of the next output sample
        self._in_seen = 0  # input samples consumed so far
        self._prev = np.zeros(1, dtype=np.float32)  # input sample at global index _in_seen - 1

    def process(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        if not x.size:
            return x
        buf = np.concatenate([self._prev, x])  # buf[0] is global input index _in_seen - 1
        base = self._in_seen - 1
        last = self._in_seen + x.size - 1  # last global input index available
        n_out = int(math.floor(last / self.step)) - self._next_out + 1
        out = np.zeros(0, dtype=np.float32)
        if n_out > 0:
            k = np.arange(self._next_out, self._next_out + n_out, dtype=np.float64)
            pos = k * self.step - base
            out = np.interp(pos, np.arange(buf.size, dtype=np.float64), buf).astype(np.float32)
            self._next_out += n_out
        self._in_seen += x.size
        self._prev = x[-1:].copy()
        return out
