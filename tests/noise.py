"""Room noise for the audio tests and benchmarks, mixed at a signal-to-noise ratio measured on the speech.

* ``pink_noise`` - 1/f noise, the usual stand-in for a room (air handling,
  traffic, a hum of voices far away);
* ``brown_noise`` - 1/f^2, most of its power under 200 Hz: a fan or a
  ventilation duct;
* ``babble_noise`` - pink noise in the speech band (300-3400 Hz) whose level
  rises and falls at a syllable rate (about 4 Hz): a crowd far away;
* ``talkers_noise`` - other people speaking (espeak-ng in several voices,
  reading text written for this purpose), one talker or several at once: a
  colleague on a call, a television, a cafe; with the room's own hiss (pink
  noise 20 dB below the voices) so that it never falls to digital silence.
  This is the noise a voice detector cannot tell from the candidate, because
  it is speech.

All are unit power and seeded.  The SNR is against the power of the speech
frames (10 ms frames louder than ``voices.SILENCE_DB``) of the clean speech,
not of the whole file, so an answer's pauses do not make the noise quieter.
"""

from __future__ import annotations

import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

import voices

KINDS = ("pink", "brown", "babble", "talker", "talkers")

#: What the people in the room say (written for these tests), and the espeak-ng voice of each.
_CHATTER = (
    ("en-us+m3", "Did you see the train times changed again this week? I waited twenty minutes on the "
                 "platform and then two came at once. Anyway, are we still going to the market on Saturday, "
                 "or did your sister want to come over instead? I can bring the folding chairs if she does."),
    ("en-gb+f2", "The printer on the third floor is jammed again, so I sent the slides to the one by the "
                 "kitchen. If the client calls, tell them the draft is ready and we can walk through it "
                 "after lunch. Oh, and somebody left a box of pastries by the window, help yourself."),
    ("en-us+f4", "We are now at the part of the recipe where the onions go in. Keep the heat low, stir "
                 "them every minute or so, and do not let them brown too fast. While they soften, chop the "
                 "peppers into strips about the width of a finger, and set them aside for later."),
    ("en-gb+m5", "Traffic is slow on the ring road this morning after a lorry lost part of its load near "
                 "the second junction. Drivers heading into town should allow an extra quarter of an hour. "
                 "The weather stays dry until the evening, when showers move in from the west."),
)


def _shaped(n: int, seed: int, shape) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    spec[1:] *= shape(f[1:])
    spec[0] = 0
    y = np.fft.irfft(spec, n)
    return (y / np.sqrt(np.mean(y ** 2))).astype(np.float32)


def pink_noise(n: int, seed: int) -> np.ndarray:
    """Unit-power 1/f noise (spectrum shaped in the frequency domain)."""
    return _shaped(n, seed, lambda f: 1.0 / np.sqrt(f))


def brown_noise(n: int, seed: int) -> np.ndarray:
    """Unit-power 1/f^2 noise: a fan's rumble."""
    return _shaped(n, seed, lambda f: 1.0 / f)


def babble_noise(n: int, seed: int, rate_hz: int = 16000) -> np.ndarray:
    """Unit-power speech-band noise whose level moves like syllables (3-6 Hz, random phase)."""
    df = rate_hz / (2 * (n // 2))  # Hz per FFT bin

    def band(f):
        hz = f * df
        return np.where((hz >= 300) & (hz <= 3400), 1.0 / np.sqrt(np.maximum(hz, 1.0)), 0.0)

    y = _shaped(n, seed, band).astype(np.float64)
    rng = np.random.default_rng(seed + 1)
    t = np.arange(n) / rate_hz
    envelope = np.zeros(n)
    for hz in rng.uniform(3.0, 6.0, size=4):  # several talkers, out of step
        envelope += 1.0 + np.sin(2 * np.pi * hz * t + rng.uniform(0, 2 * np.pi))
    y *= envelope
    return (y / np.sqrt(np.mean(y ** 2))).astype(np.float32)


@lru_cache(maxsize=None)
def _chatter(k: int) -> np.ndarray:
    """Talker ``k`` reading its text, at 16 kHz, leading and trailing silence trimmed."""
    from starcoach.speech.decode import load_audio

    voice, text = _CHATTER[k]
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "talker.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(out), text], check=True,
                       capture_output=True)
        x = load_audio(out)
    loud = np.nonzero(np.abs(x) > 1e-3)[0]
    return x[loud[0]: loud[-1] + 1].astype(np.float32)


def talkers_noise(n: int, seed: int, talkers: int = 1, rate_hz: int = 16000) -> np.ndarray:
    """Unit-power speech of ``talkers`` other people at once (each looped from a random place), at 16 kHz only;
    needs espeak-ng."""
    if rate_hz != 16000:
        raise ValueError("talkers_noise is made at 16 kHz")
    if not 1 <= talkers <= len(_CHATTER):
        raise ValueError(f"talkers must be 1-{len(_CHATTER)}")
    rng = np.random.default_rng(seed)
    y = np.zeros(n, np.float64)
    for k in rng.permutation(len(_CHATTER))[:talkers]:
        x = _chatter(int(k))
        x = x / np.sqrt(np.mean(x.astype(np.float64) ** 2))
        start = int(rng.integers(x.size))
        y += np.resize(np.roll(x, -start), n)
    y /= np.sqrt(np.mean(y ** 2))
    y += pink_noise(n, seed + 2) * 10 ** (-20 / 20)
    return (y / np.sqrt(np.mean(y ** 2))).astype(np.float32)


def noise(kind: str, n: int, seed: int, rate_hz: int = 16000) -> np.ndarray:
    """Unit-power noise of ``kind``; the same arguments give the same array, made once (read-only):
    the tests mix the same room under the same answer many times, and a pink or brown noise is
    an FFT of the whole length (about 0.5 s for 20 s of audio)."""
    return _noise(kind, n, seed, rate_hz)


@lru_cache(maxsize=64)
def _noise(kind: str, n: int, seed: int, rate_hz: int) -> np.ndarray:
    y = _make_noise(kind, n, seed, rate_hz)
    y.setflags(write=False)
    return y


def _make_noise(kind: str, n: int, seed: int, rate_hz: int) -> np.ndarray:
    if kind == "pink":
        return pink_noise(n, seed)
    if kind == "brown":
        return brown_noise(n, seed)
    if kind == "babble":
        return babble_noise(n, seed, rate_hz)
    if kind == "talker":
        return talkers_noise(n, seed, 1, rate_hz)
    if kind == "talkers":
        return talkers_noise(n, seed, 4, rate_hz)
    raise ValueError(f"unknown noise {kind!r} (one of {', '.join(KINDS)})")


def speech_power(x: np.ndarray, rate: int) -> float:
    """Mean power of the 10 ms frames of ``x`` louder than ``voices.SILENCE_DB``."""
    frame = rate // 100
    n = x.size // frame
    p = np.mean(x[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1)
    loud = p[10 * np.log10(p + 1e-12) > voices.SILENCE_DB]
    return float(loud.mean())


def under(x: np.ndarray, rate: int, snr_db: float, kind: str = "pink", seed: int = 0, *, lead_s: float = 0.0,
          tail_s: float = 0.0) -> np.ndarray:
    """``x`` with ``lead_s`` before it and ``tail_s`` after it, and noise ``snr_db`` below its speech throughout."""
    lead, tail = int(round(lead_s * rate)), int(round(tail_s * rate))
    clean = np.concatenate([np.zeros(lead, np.float32), np.asarray(x, np.float32), np.zeros(tail, np.float32)])
    scale = np.sqrt(speech_power(x, rate) / 10 ** (snr_db / 10))
    return (clean + noise(kind, clean.size, seed, rate) * scale).astype(np.float32)
