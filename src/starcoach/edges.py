"""The edges between starcoach and the outside world: what the pipeline needs, not how it is done.

Each edge is a Protocol with a real implementation and a fake one, so the
practice loop, batch analysis and recovery run the same with the microphone
and the Whisper model as with a recording and a scripted transcriber in tests:

=============  ==========================================  ===========================================
edge           real                                        stand-in
=============  ==========================================  ===========================================
AudioSource    ``capture.microphone.MicrophoneSource``     ``capture.mic_file.FileSource`` (--mic-file)
Transcriber    ``speech.transcribe.WhisperTranscriber``    ``tests/fakes.FakeTranscriber``
Speaker        ``capture.speak.TtsSpeaker``                ``capture.speak.SilentSpeaker`` (--no-speak)
Player         ``capture.playback.Player``                 ``tests/test_history.FakePlayer``
Clock          ``SystemClock``                             ``tests/fakes.FakeClock``
=============  ==========================================  ===========================================

A transcriber is made where it runs: ``TranscriberFactory`` (real:
``pipeline.batch.WhisperFactory``) is what batch analysis hands its worker
processes.

Nothing here imports numpy, sounddevice or faster-whisper: the types are
named for the reader and the type checker only.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union

if TYPE_CHECKING:
    import numpy as np

    from starcoach.model import Transcript


class AudioSource(Protocol):
    """Where answer audio comes from: float32 mono blocks at ``sample_rate_hz``.

    Used as a context manager (``with source:`` opens the device / starts the
    clock); :meth:`read` returns the next block, or None if none arrived within
    ``timeout_s``.  ``overflows`` counts blocks the source had to drop.
    """

    sample_rate_hz: int

    @property
    def overflows(self) -> int: ...

    def __enter__(self) -> "AudioSource": ...

    def __exit__(self, *exc_info: Any) -> Optional[bool]: ...

    def read(self, timeout_s: float) -> Optional["np.ndarray"]: ...


class Transcriber(Protocol):
    """Turns 16 kHz mono float32 speech into a Transcript (words with times, speech spans).

    ``transcribe`` is what the live transcriber calls for each chunk of an
    answer being recorded (``passes=1``: the unprompted decoding only, when the
    machine is behind); ``transcribe_file`` decodes a file first (recovery,
    batch); ``warm_up`` loads what the first answer would otherwise wait for
    and returns the seconds it took.  Raises ``audio.AudioError`` for a file
    that is not usable audio.
    """

    def transcribe(self, audio: "np.ndarray", *, passes: Optional[int] = None) -> "Transcript": ...

    def transcribe_file(self, path: Union[str, "os.PathLike[str]"]) -> "Transcript": ...

    def warm_up(self) -> float: ...


class TranscriberFactory(Protocol):
    """Makes a :class:`Transcriber` in the process that will use it (a batch worker, or the command).

    Picklable, so each batch worker process makes its own.  ``cache_key`` names
    the transcription settings: a transcript stored under another key was made
    differently and is made again.
    """

    @property
    def cache_key(self) -> str: ...

    def __call__(self, cpu_threads: Optional[int] = None) -> Transcriber: ...


class Speaker(Protocol):
    """Something that can read a question aloud."""

    @property
    def available(self) -> bool: ...

    def say(self, text: str) -> None:
        """Speak ``text`` and return when the speech has ended; SpeechUnavailable if it cannot."""
        ...


class Player(Protocol):
    """Plays one recording: ``start`` then poll ``position_s`` until ``done`` (or ``stop``); or ``play``."""

    duration_s: float

    def start(self) -> None: ...

    def position_s(self) -> float: ...

    @property
    def done(self) -> bool: ...

    def play(self) -> None: ...

    def stop(self) -> None: ...


class Clock(Protocol):
    """Wall time for what waits on the person (think time, feedback latency); tests pass a fake one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real :class:`Clock`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
