"""Stand-ins for the edges (starcoach.edges), so the pipeline runs in-process in milliseconds.

The trick that makes a scripted transcriber work however the audio is cut:
:func:`spoken` turns a script into *tone audio*, one short tone per word,
and the tone's pitch says which word of the script it is.
:class:`FakeTranscriber` hears a chunk of that audio, finds the tones (frame
energy), reads each one's pitch (FFT peak) and so names the word, with the
time it was "said".  So the live transcriber may cut, speculate, drop and
merge chunks as it likes, as with Whisper, and the words and timings come
out the same.  :class:`EnergyEndpointer` ends an answer after silence
without the VAD model, :class:`BlockSource` plays samples in as a
microphone would (no clock), :class:`ScriptedKeys` types, and
:class:`FakeClock` is time that passes only when something sleeps.
"""

from __future__ import annotations

import functools
import threading
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from starcoach.model import Span, Transcript, Word

RATE_HZ = 16000
#: Pitch of word 0 of a script, and the step between two words' pitches.
BASE_HZ = 300.0
STEP_HZ = 25.0
WORD_S = 0.24
GAP_S = 0.08
#: Silence after a sentence (a word ending in . ? or !), as a speaker pauses there.
SENTENCE_PAUSE_S = 0.7
_FRAME = int(0.02 * RATE_HZ)
_LOUD_RMS = 0.02
_MAX_WORDS = 180


# --------------------------------------------------------------------------- audio that says a script


def spoken(script: str, *, lead_s: float = 0.5, tail_s: float = 0.0, amplitude: float = 0.3,
           pauses: Optional[dict[int, float]] = None) -> np.ndarray:
    """Tone audio for ``script``: word k is a tone at ``BASE_HZ + k * STEP_HZ``.

    ``pauses`` adds silence after word index -> seconds (else a sentence end pauses
    ``SENTENCE_PAUSE_S``).  Scripts of up to ``_MAX_WORDS`` words.
    """
    words = script.split()
    if len(words) > _MAX_WORDS:
        raise ValueError(f"a script of at most {_MAX_WORDS} words")
    t = np.arange(int(WORD_S * RATE_HZ)) / RATE_HZ
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # no clicks at the edges
    parts = [np.zeros(int(lead_s * RATE_HZ), dtype=np.float32)]
    for k, w in enumerate(words):
        tone = amplitude * ramp * np.sin(2 * np.pi * (BASE_HZ + k * STEP_HZ) * t)
        parts.append(tone.astype(np.float32))
        gap = (pauses or {}).get(k, SENTENCE_PAUSE_S if w[-1] in ".?!" else GAP_S)
        parts.append(np.zeros(int(gap * RATE_HZ), dtype=np.float32))
    parts.append(np.zeros(int(tail_s * RATE_HZ), dtype=np.float32))
    return np.concatenate(parts)


def write_wav(path: Path, samples: np.ndarray, rate_hz: int = RATE_HZ) -> Path:
    pcm = np.clip(np.round(np.asarray(samples, dtype=np.float32) * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())
    return path


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768


def _runs(mask: np.ndarray, join: int) -> list[tuple[int, int]]:
    """[start, end) frame runs where ``mask`` holds, runs closer than ``join`` frames joined."""
    runs: list[tuple[int, int]] = []
    for i in np.flatnonzero(mask):
        if runs and i - runs[-1][1] <= join:
            runs[-1] = (runs[-1][0], int(i) + 1)
        else:
            runs.append((int(i), int(i) + 1))
    return runs


# --------------------------------------------------------------------------- the transcriber


@dataclass
class FakeTranscriber:
    """Transcribes :func:`spoken` audio back into the script's words, with their times.

    Satisfies ``edges.Transcriber``.  ``delay_s`` makes each call take that
    long (real time: the live transcriber's worker thread waits on it), and
    ``calls`` records every call's audio length and ``passes``.  Audio with no
    tones in it gives an empty transcript, as Whisper's silence does.
    """

    script: str
    delay_s: float = 0.0
    fail_on: Optional[Callable[[Path], Optional[Exception]]] = None
    calls: list[tuple[float, Optional[int]]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    warmed: int = 0
    started: threading.Event = field(default_factory=threading.Event)

    def warm_up(self) -> float:
        self.warmed += 1
        return 0.0

    def transcribe(self, audio: np.ndarray, *, passes: Optional[int] = None) -> Transcript:
        x = np.asarray(audio, dtype=np.float32).reshape(-1)
        self.calls.append((x.size / RATE_HZ, passes))
        self.started.set()
        if self.delay_s:
            threading.Event().wait(self.delay_s)
        script = self.script.split()
        n = x.size // _FRAME
        rms = np.sqrt(np.mean(x[: n * _FRAME].reshape(n, _FRAME) ** 2, axis=1)) if n else np.zeros(0)
        words: list[Word] = []
        for a, b in _runs(rms > _LOUD_RMS, join=1):
            seg = x[a * _FRAME:b * _FRAME]
            if seg.size < _FRAME * 3:
                continue  # a tone cut in two by a chunk boundary: the longer part names it
            spectrum = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
            freq = float(np.argmax(spectrum)) * RATE_HZ / seg.size
            k = int(round((freq - BASE_HZ) / STEP_HZ))
            if 0 <= k < len(script):
                words.append(Word(script[k], round(a * _FRAME / RATE_HZ, 3), round(b * _FRAME / RATE_HZ, 3)))
        speech = tuple(Span(round(a * _FRAME / RATE_HZ, 3), round(b * _FRAME / RATE_HZ, 3))
                       for a, b in _runs(rms > _LOUD_RMS, join=int(0.3 * RATE_HZ / _FRAME)))
        return Transcript(text=" ".join(w.text for w in words), words=tuple(words),
                          duration_s=x.size / RATE_HZ, speech=speech)

    def transcribe_file(self, path) -> Transcript:
        """A WAV of :func:`spoken` audio; anything else is ``not_audio``, as the real decoder says."""
        from starcoach.speech.decode import AudioError

        path = Path(path)
        self.files.append(path)
        if self.fail_on is not None:
            error = self.fail_on(path)
            if error is not None:
                raise error
        try:
            samples = read_wav(path)
        except (wave.Error, EOFError):
            raise AudioError("not_audio", path, "not an audio file (or a format FFmpeg cannot decode)") from None
        return self.transcribe(samples)


@dataclass(frozen=True)
class FakeTranscriberFactory:
    """Satisfies ``edges.TranscriberFactory``; picklable, so batch worker processes make their own.

    Each transcriber made counts itself in ``made_dir`` (a file per process) and, with
    ``delay_s``, takes that long per file, so a test can interrupt a batch mid-file.
    """

    script: str
    delay_s: float = 0.0
    made_dir: Optional[str] = None
    key: str = "fake-1"
    #: Every file transcribed, by any process, is written as a line to ``log_dir/transcribed-PID``.
    log_dir: Optional[str] = None
    #: A file of this name kills the process transcribing it (SIGKILL), as the OOM killer would.
    kill_on: Optional[str] = None

    @property
    def cache_key(self) -> str:
        return self.key

    def __call__(self, cpu_threads: Optional[int] = None) -> FakeTranscriber:
        if self.made_dir is not None:
            import os

            Path(self.made_dir, f"made-{os.getpid()}-{threading.get_ident()}").touch()
        tx = FakeTranscriber(self.script, delay_s=self.delay_s)
        if self.log_dir is not None or self.kill_on is not None:
            tx.fail_on = functools.partial(_log_or_die, self.log_dir, self.kill_on)
        return tx


def _log_or_die(log_dir: Optional[str], kill_on: Optional[str], path: Path) -> None:
    import os
    import signal

    if log_dir is not None:
        with open(Path(log_dir, f"transcribed-{os.getpid()}"), "a") as fh:
            fh.write(f"{path}\n")
    if path.name == kill_on:
        os.kill(os.getpid(), signal.SIGKILL)
    return None


# --------------------------------------------------------------------------- recording


class BlockSource:
    """Satisfies ``edges.AudioSource``: ``samples`` in 0.1 s blocks, as fast as they are read.

    After the samples, digital silence (a microphone in a quiet room) unless
    ``then_none``; ``on_block(n)`` is called before block ``n`` is handed out
    (to press Enter or Ctrl-C at a given moment).  ``exhausted`` turns true
    once the samples are used up, as ``capture.mic_file.FileSource`` does.
    """

    sample_rate_hz = RATE_HZ
    overflows = 0

    def __init__(self, samples: np.ndarray, *, on_block: Optional[Callable[[int], None]] = None,
                 block_s: float = 0.1):
        self.samples = np.asarray(samples, dtype=np.float32)
        self.block = int(block_s * RATE_HZ)
        self.on_block = on_block
        self.blocks = 0
        self.opened = 0
        self.closed = 0

    @property
    def exhausted(self) -> bool:
        return self.blocks * self.block >= self.samples.size

    def __enter__(self) -> "BlockSource":
        self.opened += 1
        return self

    def __exit__(self, *exc_info) -> None:
        self.closed += 1

    def read(self, timeout_s: float) -> Optional[np.ndarray]:
        if self.on_block is not None:
            self.on_block(self.blocks)
        start = self.blocks * self.block
        self.blocks += 1
        out = self.samples[start:start + self.block]
        if out.size < self.block:
            out = np.concatenate([out, np.zeros(self.block - out.size, dtype=np.float32)])
        return out


class EnergyEndpointer:
    """``capture.endpointer.Endpointer`` without the VAD model: loud blocks are speech, quiet ones silence."""

    def __init__(self, end_silence_s: float = 3.0, *, min_speech_s: float = 0.2):
        self.end_silence_s = end_silence_s
        self.min_speech_s = min_speech_s
        self._now_s = 0.0
        self._speech_s = 0.0
        self._last_speech_end: Optional[float] = None
        self.level_dbfs = -100.0
        self.peak_dbfs = -100.0
        self.speech_started = False
        self.ended = False

    def push(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0
        self.level_dbfs = max(-100.0, 20 * np.log10(rms)) if rms > 0 else -100.0
        self.peak_dbfs = max(self.peak_dbfs, self.level_dbfs)
        self._now_s += x.size / RATE_HZ
        if rms > _LOUD_RMS:
            self._speech_s += x.size / RATE_HZ
            self._last_speech_end = self._now_s
            self.speech_started = self.speech_started or self._speech_s >= self.min_speech_s
        if self.speech_started and self.trailing_silence_s >= self.end_silence_s:
            self.ended = True

    @property
    def elapsed_s(self) -> float:
        return self._now_s

    @property
    def trailing_silence_s(self) -> float:
        start = self._last_speech_end if self.speech_started and self._last_speech_end is not None else 0.0
        return self._now_s - start

    @property
    def heard_anything(self) -> bool:
        return self.peak_dbfs >= -50.0 or self.speech_started

    @property
    def end_of_speech_s(self) -> Optional[float]:
        return self._last_speech_end if self.speech_started else None


# --------------------------------------------------------------------------- the person and the clock


class ScriptedKeys:
    """The candidate at the keyboard: menu answers in order, Enter when ``enter_when()`` says so.

    Same interface as ``pipeline.keys.Keys``; once ``answers`` run out,
    every menu takes its default (as with no terminal).
    """

    interactive = False

    def __init__(self, answers: Sequence[str] = (), enter_when: Optional[Callable[[], bool]] = None):
        self.answers = list(answers)
        self.enter_when = enter_when
        self.prompts: list[str] = []
        self.eof = False

    def enter_pressed(self) -> bool:
        return bool(self.enter_when and self.enter_when())

    def ask(self, prompt: str, console, choices: dict[str, str], default: str) -> str:
        self.prompts.append(prompt)
        console.print(prompt, end="")
        key = self.answers.pop(0) if self.answers else default
        console.print(key or default)
        return choices.get((key or default)[:1].lower(), choices[default])


class FakeClock:
    """Satisfies ``edges.Clock``: time passes only when something sleeps."""

    def __init__(self, start_s: float = 1000.0):
        self.now_s = start_s
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now_s += max(0.0, seconds)
