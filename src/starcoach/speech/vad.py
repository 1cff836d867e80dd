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

__all__ = ["BAND_LIMITED_VAD_OPTIONS", "PAUSE_VAD_OPTIONS", "high_band_db", "load_vad_model", "quiet_onnxruntime",
           "speech_spans"]

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

#: Thresholds for band-limited speech (nothing above 4 kHz: a telephone line,
#: an 8 kHz recording).  Silero is less sure of such speech: at 0.5/0.35 the
#: word next to a pause drops below the threshold, so pauses grew (1.5 s
#: measured as 3.4 s) and sentence gaps became pauses: on 6 held-out answers in
#: two voices (benchmarks/bench_conditions.py --vad, docs/audio.md) 30 of 32
#: pauses found and 10 invented; at 0.35/0.2, 32 of 32 and none invented.
#: Not used for wide-band audio: there 0.35/0.2 takes noise for speech (pink
#: noise at 10 dB SNR: 25 of 32 pauses found, against 29 at 0.5/0.35).
BAND_LIMITED_VAD_OPTIONS = {"threshold": 0.35, "neg_threshold": 0.2}
#: Audio is band-limited when the energy above 4 kHz, over its louder half of
#: frames, is below this (dB against all of it).  Measured: -17 to -27 dB for
#: speech at 22 kHz clean, in noise, echo, quiet or clipped; -77 to -87 dB for
#: the same through a 300-3400 Hz telephone band at 8 kHz.
BAND_LIMITED_BELOW_DB = -50.0


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
    from starcoach.speech.features import install_vad

    quiet_onnxruntime()
    install_vad()  # loads it, and has it run long audio in blocks


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
    The model runs in blocks of frames (:mod:`starcoach.speech.features`), but
    the probabilities and the array itself are whole, so callers with long
    recordings pass windows, as the transcriber does.
    """
    import numpy as np
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    from starcoach.speech.features import install_vad

    if sample_rate_hz != SAMPLE_RATE_HZ:
        raise ValueError(f"speech_spans needs {SAMPLE_RATE_HZ} Hz audio, got {sample_rate_hz} Hz")
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    if samples.size < 512:  # less than one VAD frame
        return ()
    chosen = dict(PAUSE_VAD_OPTIONS)
    if "threshold" not in (options or {}) and high_band_db(samples) < BAND_LIMITED_BELOW_DB:
        chosen.update(BAND_LIMITED_VAD_OPTIONS)
    opts = VadOptions(**{**chosen, **(options or {})})
    quiet_onnxruntime()
    install_vad()
    stamps = get_speech_timestamps(samples, opts, sampling_rate=sample_rate_hz)
    return tuple(
        Span(offset_s + s["start"] / sample_rate_hz, offset_s + s["end"] / sample_rate_hz) for s in stamps
    )


#: Frames whose spectrum :func:`high_band_db` computes at a time (16 s of 512-sample frames): the
#: windowed frames and their transform are float64 and complex128, about 60 MB for 150 s at once.
HIGH_BAND_BLOCK_FRAMES = 500


def high_band_db(audio: "np.ndarray", frame: int = 512) -> float:
    """Energy above 4 kHz against all energy (dB) in the louder half of the 16 kHz frames; 0 for silence."""
    import numpy as np

    n = audio.size // frame
    if n == 0:
        return 0.0
    frames = audio[: n * frame].reshape(n, frame)
    window = np.hanning(frame)
    power = np.empty((n, frame // 2 + 1), dtype=np.float64)
    for a in range(0, n, HIGH_BAND_BLOCK_FRAMES):  # row by row the same numbers as all at once
        power[a:a + HIGH_BAND_BLOCK_FRAMES] = np.abs(
            np.fft.rfft(frames[a:a + HIGH_BAND_BLOCK_FRAMES] * window, axis=1)) ** 2
    total = power.sum(axis=1)
    loud = power[total >= np.median(total)]
    if loud.sum() < 1e-9:
        return 0.0
    return float(10 * np.log10(loud[:, frame // 4:].sum() / loud.sum() + 1e-20))
