"""Speaking interview questions aloud, offline.

Hearing the question (rather than reading it) is part of the practice: in
a real interview you have to hold it in your head.  Speech is a nicety,
though, never a reason to stop: if text-to-speech or the speaker cannot be
used, :class:`TtsSpeaker` says why in one line (``available`` /
``unavailable_reason``, or :class:`SpeechUnavailable` from ``say``) and the
caller simply shows the question.

How: pyttsx3 (driving espeak-ng on Linux) synthesises the question into a
temporary WAV, and we play that WAV ourselves through PortAudio.  pyttsx3's
own playback on Linux shells out to ``aplay`` and only *prints* failures,
returns before or after playback depending on the driver, and has known
"run loop already started" / "only the first say() is spoken" bugs; playing
the file ourselves avoids all of that and tells us exactly when the speech
has finished, so recording never starts while the question is still playing.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator, Optional, Union

from starcoach.capture.portaudio import HardwareError, load_sounddevice, resolve_device
from starcoach.text import first_line

__all__ = ["DEFAULT_RATE_WPM", "SilentSpeaker", "SpeechUnavailable", "TtsSpeaker", "list_voices", "stdout_silenced"]

#: espeak's own default (200 wpm) is hurried for a question the candidate has
#: to hold in mind; interviewers read questions out at roughly this pace.
DEFAULT_RATE_WPM = 170

#: espeak-ng's usable range; values outside are clamped rather than refused.
_RATE_RANGE_WPM = (80, 450)
#: How often synthesis is tried before the question is only shown.
_SYNTH_ATTEMPTS = 3


def _on_notice(event: threading.Event):
    """A pyttsx3 callback (called with keyword arguments only) that sets ``event``."""
    def callback(**_notice) -> None:
        event.set()
    return callback


def _synth_wait_s(text: str) -> float:
    """How long to wait for one synthesis to finish: espeak-ng takes ~20 ms a question; this is ample."""
    return 2.0 + len(text) / 100

_PLAY_HINT = "the question is shown on screen instead"

# pyttsx3 keeps one engine per driver per process and espeak one synthesiser;
# two threads synthesising at once would interleave their audio callbacks.
_TTS_LOCK = threading.Lock()


class SpeechUnavailable(HardwareError):
    """The question cannot be spoken; ``str(error)`` is a one-line reason. Show the question instead."""


class SilentSpeaker:
    """Says nothing, successfully (``--no-speak``, tests); remembers what it was asked to say."""

    available = True
    unavailable_reason: Optional[str] = None

    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, text: str) -> None:
        self.said.append(text)


@contextlib.contextmanager
def stdout_silenced() -> Iterator[None]:
    """Swallow everything written to standard output, at both levels, for the duration.

    pyttsx3's espeak driver ``print``s "Audio saved to ..." after every
    ``save_to_file``, which would break a live terminal view (and pollute
    ``--json`` output).  ``sys.stdout`` is swapped because Python buffers that
    print (a pipe is block-buffered, so redirecting only the file descriptor
    would let it out later); file descriptor 1 is pointed at /dev/null for
    anything the C library writes directly.  Both are process-wide, so this is
    held only for the few milliseconds synthesis takes.
    """
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        saved = None
    try:
        if saved is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
            finally:
                os.close(devnull)
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _load_engine():
    """The pyttsx3 engine, or SpeechUnavailable saying what to install."""
    try:
        import pyttsx3
    except ImportError:
        raise SpeechUnavailable("text-to-speech is not installed (the pyttsx3 package is missing)") from None
    try:
        with stdout_silenced():
            return pyttsx3.init()
    except Exception as exc:  # espeak-ng missing: OSError from ctypes, RuntimeError from the driver
        raise SpeechUnavailable(
            "text-to-speech needs espeak-ng (Debian/Ubuntu: sudo apt install espeak-ng) — "
            f"{first_line(exc)}") from None


def list_voices() -> list[str]:
    """Ids of the installed voices (e.g. ``gmw/en-us``); any of them can be given as ``voice``.

    Empty if text-to-speech is unavailable.
    """
    try:
        engine = _load_engine()
        with _TTS_LOCK:
            return [str(v.id) for v in engine.getProperty("voices")]
    except Exception:
        return []


def _match_voice(engine, wanted: str) -> Optional[str]:
    """The voice id for ``wanted``: an id, its last part, a language code or a name (any case)."""
    w = wanted.strip().lower()
    voices = list(engine.getProperty("voices"))
    for v in voices:
        vid = str(v.id).lower()
        langs = [str(x).lower() for x in (getattr(v, "languages", None) or [])]
        if w in (vid, vid.rsplit("/", 1)[-1], str(v.name).lower()) or w in langs:
            return str(v.id)
    return None


class TtsSpeaker:
    """Speaks through pyttsx3/espeak-ng synthesis and PortAudio playback.

    ``voice`` is a voice id, language code (``en-us``) or name; ``rate_wpm``
    the speaking rate (default :data:`DEFAULT_RATE_WPM`); ``output_device`` a
    PortAudio device id or name (default: the system's default output).
    Checking whether speech works is lazy (first use of ``available`` or
    ``say``) and costs about 50 ms; synthesising a question takes about 20 ms
    (espeak-ng is a formant synthesiser), so speech starts at once.
    """

    def __init__(self, voice: Optional[str] = None, rate_wpm: Optional[int] = None,
                 output_device: Union[int, str, None] = None):
        self.voice = voice
        self.rate_wpm = DEFAULT_RATE_WPM if rate_wpm is None else int(rate_wpm)
        self.output_device = output_device
        self._engine = None
        self._voice_id: Optional[str] = None
        self._checked = False
        self._reason: Optional[str] = None
        #: Seconds the last synthesis took (measured, for reports and tests).
        self.last_synthesis_s: Optional[float] = None

    # ----- availability

    @property
    def available(self) -> bool:
        self._check()
        return self._reason is None

    @property
    def unavailable_reason(self) -> Optional[str]:
        """Why questions cannot be spoken (one line), or None if they can."""
        self._check()
        return self._reason

    def _check(self) -> None:
        if self._checked:
            return
        self._checked = True
        try:
            engine = _load_engine()
            if self.voice:
                with _TTS_LOCK:
                    self._voice_id = _match_voice(engine, self.voice)
                if self._voice_id is None:
                    raise SpeechUnavailable(f"voice {self.voice!r} is not installed — "
                                            "`starcoach devices --voices` lists them")
        except SpeechUnavailable as exc:
            self._reason = str(exc)
            return
        self._engine = engine  # synthesis works even if playback does not (synthesise() to a file)
        try:
            sd = load_sounddevice(hint=_PLAY_HINT)
            resolve_device(sd, self.output_device, "output")
        except HardwareError as exc:
            self._reason = str(exc)

    # ----- speaking

    def say(self, text: str) -> None:
        """Speak ``text``; returns when playback has finished.  Raises SpeechUnavailable."""
        if not text or not text.strip():
            return
        if not self.available:
            raise SpeechUnavailable(self._reason or "speech is unavailable")
        samples, rate_hz = self.synthesise(text)
        self.play(samples, rate_hz)

    def synthesise(self, text: str):
        """(int16 samples, sample rate in Hz) of ``text`` spoken; raises SpeechUnavailable."""
        import time

        import soundfile as sf

        self._check()
        engine = self._engine
        if engine is None:
            raise SpeechUnavailable(self._reason or "text-to-speech is unavailable")
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="starcoach-tts-") as tmp:
            # A new file name for every attempt: an earlier synthesis that is still running
            # can then never write into (or cut the head off) the one being read.
            for attempt in range(_SYNTH_ATTEMPTS):
                wav = Path(tmp) / f"question-{attempt}.wav"
                finished = threading.Event()
                try:
                    with _TTS_LOCK, stdout_silenced():
                        token = engine.connect("finished-utterance", _on_notice(finished))
                        try:
                            if self._voice_id:
                                engine.setProperty("voice", self._voice_id)
                            lo, hi = _RATE_RANGE_WPM
                            engine.setProperty("rate", max(lo, min(hi, self.rate_wpm)))
                            engine.save_to_file(text, str(wav))
                            engine.runAndWait()
                            # espeak-ng synthesises on a thread of its own, and pyttsx3's runAndWait
                            # can return before that thread has written the file (measured: the
                            # first question of 1 process in 7 under load, some of them with the
                            # file half written).  pyttsx3 says "finished-utterance" once the file
                            # is closed; wait for that (its print is still silenced here).
                            finished.wait(_synth_wait_s(text))
                        finally:
                            engine.disconnect(token)
                except Exception as exc:
                    raise SpeechUnavailable(f"text-to-speech failed ({first_line(exc)})") from None
                if wav.exists() and wav.stat().st_size > 44:
                    break
            else:
                raise SpeechUnavailable("text-to-speech produced no audio")
            samples, rate_hz = sf.read(str(wav), dtype="int16", always_2d=False)
        self.last_synthesis_s = time.perf_counter() - t0
        if samples.ndim > 1:
            samples = samples[:, 0].copy()
        return samples, int(rate_hz)

    def play(self, samples, rate_hz: int) -> None:
        """Play int16 mono ``samples`` and wait until they have been heard."""
        from starcoach.capture.playback import PlaybackError, Player

        sd = load_sounddevice(hint=_PLAY_HINT)
        try:
            index, info = resolve_device(sd, self.output_device, "output")
        except HardwareError as exc:
            raise SpeechUnavailable(str(exc)) from None
        try:
            Player(sd, index, info, samples, int(rate_hz), what="speech", streaming=False).play()
        except PlaybackError as exc:
            # Do not try again for every question: from now on the caller just shows them.
            self._reason = str(exc)
            raise SpeechUnavailable(self._reason) from None
