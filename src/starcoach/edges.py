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
Player         ``capture.playback.Player``
=============  ==========================================  ===========================================

Nothing here imports numpy, sounddevice or faster-whisper: the types are
named for the reader and the type checker only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol

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
    """Anything that turns 16 kHz mono float32 samples into a Transcript."""

    def transcribe(self, audio: "np.ndarray") -> "Transcript": ...


class Speaker(Protocol):
    """Something that can read a question aloud."""

    @property
    def available(self) -> bool: ...

    def say(self, text: str) -> None:
        """Speak ``text`` and return when the speech has ended; SpeechUnavailable if it cannot."""
        ...
