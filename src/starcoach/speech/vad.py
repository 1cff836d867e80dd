"""Where the speaker talks and where they pause: the Silero VAD over 16 kHz samples.

Pauses are measured from the audio, not from word gaps (Whisper stretches
words over silences), and the end of a spoken answer is a stretch without
speech, so the voice detector serves the transcriber, the delivery metrics
and the recorder's endpointer alike.  It is faster-whisper's bundled copy of
Silero; this module and the rest of :mod:`starcoach.speech` are the only
places that import faster-whisper.

* Speech spans come with options tuned so that silences of 1 s or more are
  measured to within ±0.3 s (:data:`PAUSE_VAD_OPTIONS`).
* onnxruntime (which runs the VAD) has its telemetry switched off before its
  first session (:func:`quiet_onnxruntime`).

numpy and faster_whisper are imported inside the functions.  Turning the spans
into pauses is pure, and lives in :mod:`starcoach.speech.pauses`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from starcoach.model import Span
from starcoach.speech.decode import SAMPLE_RATE_HZ

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

__all__ = ["PAUSE_VAD_OPTIONS", "load_vad_model", "quiet_onnxruntime", "speech_spans"]

#: Silero VAD settings for measuring pauses.  Chosen by measurement on
#: espeak-ng speech with SSML breaks of known length (benchmarks/prompt_wer.py,
#: tests/test_audio_pipeline.py; figures in docs/audio.md):
#: * ``speech_pad_ms`` is faster-whisper's 400 ms by default, which pads each
#:   side of every speech span and so shrinks every silence by 0.8 s; padding
#:   is what Whisper wants (context), not what a stopwatch wants.  With no pad
#:   the error on 20 pauses of 1.0-3.0 s was +0.002 s on average and 0.05 s
#:   at worst (30 ms pad: -0.06 s, 100 ms: -0.20 s and three 1 s pauses lost);
#:   with white noise at -35 dB, -0.05 s on average and 0.25 s at worst.
#: * ``min_silence_duration_ms`` must be well under the 1 s pause threshold or
#:   a 1 s silence would never split two speech spans.
#: * ``min_speech_duration_ms`` drops clicks and lip smacks that would split one
#:   pause into two short ones; a real "uh" lasts longer.
PAUSE_VAD_OPTIONS = {
    "threshold": 0.5,
    "neg_threshold": 0.35,
    "min_speech_duration_ms": 120,
    "min_silence_duration_ms": 300,
    "speech_pad_ms": 0,
}


_ORT_QUIET = False


def quiet_onnxruntime() -> None:
    """Switch onnxruntime's telemetry events off through its Python API, before the VAD's first session.

    ``ORT_DISABLE_TELEMETRY`` (set in ``starcoach/__init__.py``) already keeps
    onnxruntime from starting its telemetry at all; this also covers a process
    that loaded onnxruntime before starcoach was imported.
    """
    global _ORT_QUIET
    if _ORT_QUIET:
        return
    _ORT_QUIET = True
    try:
        import onnxruntime

        onnxruntime.disable_telemetry_events()
    except Exception:  # an onnxruntime without the switch, or none: the VAD reports that itself
        pass


def load_vad_model() -> None:
    """Load the VAD model now (about 0.1 s) rather than at its first use."""
    from faster_whisper.vad import get_vad_model

    quiet_onnxruntime()
    get_vad_model()


def speech_spans(
    audio: "np.ndarray",
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    *,
    offset_s: float = 0.0,
    options: Optional[dict] = None,
) -> tuple[Span, ...]:
    """Where in ``audio`` someone is speaking, by the Silero VAD.

    ``offset_s`` is added to every time (for windows cut from a longer
    recording).  ``options`` overrides :data:`PAUSE_VAD_OPTIONS`, whose
    defaults are tuned for measuring pauses, not for feeding Whisper.
    Memory grows with the array (the VAD batches the whole of it), so callers
    with long recordings pass windows, as the transcriber does.
    """
    import numpy as np
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if sample_rate_hz != SAMPLE_RATE_HZ:
        raise ValueError(f"speech_spans needs {SAMPLE_RATE_HZ} Hz audio, got {sample_rate_hz} Hz")
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    if samples.size < 512:  # less than one VAD frame
        return ()
    opts = VadOptions(**{**PAUSE_VAD_OPTIONS, **(options or {})})
    quiet_onnxruntime()
    stamps = get_speech_timestamps(samples, opts, sampling_rate=sample_rate_hz)
    return tuple(
        Span(offset_s + s["start"] / sample_rate_hz, offset_s + s["end"] / sample_rate_hz) for s in stamps
    )
