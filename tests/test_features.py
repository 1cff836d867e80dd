"""The spectrogram and the VAD computed a block at a time: the same numbers as faster-whisper's, less memory.

No Whisper model is loaded; the VAD tests run faster-whisper's bundled Silero
ONNX model.  The signals are made here: noise, a vowel-like buzz switched on
and off at a syllable's pace, silence.
"""

from __future__ import annotations

import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.vad import SileroVADModel, get_vad_model

from starcoach.speech import features
from starcoach.speech import windows as windows_mod
from starcoach.speech.decode import SAMPLE_RATE_HZ
from starcoach.speech.transcribe import WhisperTranscriber
from starcoach.speech.vad import high_band_db, speech_spans

SR = SAMPLE_RATE_HZ


def buzz(seconds: float, seed: int = 0) -> np.ndarray:
    """A 140 Hz buzz with its harmonics, on for 0.2 s and off for 0.1 s, with a breath of noise, some gaps."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12))
    syllables = (t % 0.3) < 0.2
    gaps = (t % 7.0) > 6.0  # a second of silence every seven
    x = 0.2 * voice * syllables * ~gaps + 0.003 * rng.standard_normal(t.size)
    return x.astype(np.float32)


LENGTHS_S = [0.032, 0.0625, 1.0, 29.99, 30.0, 47.3, 113.0]


@pytest.mark.parametrize("seconds", LENGTHS_S)
def test_the_blocked_spectrogram_is_faster_whispers_bit_for_bit(seconds: float) -> None:
    x = buzz(seconds, seed=int(seconds * 10))
    theirs = FeatureExtractor()(x)
    ours = features._blocked_feature_extractor_class()()(x)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert np.array_equal(ours, theirs)


def test_a_loaded_model_gets_the_blocked_extractor_once() -> None:
    class Model:
        feat_kwargs: dict = {}
        feature_extractor = FeatureExtractor()

    m = Model()
    features.install(m)
    first = m.feature_extractor
    assert isinstance(first, FeatureExtractor) and type(first) is not FeatureExtractor
    features.install(m)
    assert m.feature_extractor is first


def test_the_blocked_spectrogram_of_two_minutes_holds_half_the_memory() -> None:
    x = buzz(120.0)
    ours = features._blocked_feature_extractor_class()()
    tracemalloc.start()
    try:
        ours(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # All at once, faster-whisper's takes 117 MB of numpy arrays for 120 s; the frames,
    # their spectrum and its magnitudes alone are 19 + 19 + 10 MB.
    assert peak < 60 * 2**20


def _reference_probabilities(audio: np.ndarray) -> np.ndarray:
    plain = SileroVADModel.__new__(SileroVADModel)
    plain.session = get_vad_model().session
    return plain(audio.copy())


@pytest.mark.parametrize("frames", [1, 2, features.VAD_BLOCK_FRAMES - 1, features.VAD_BLOCK_FRAMES,
                                    features.VAD_BLOCK_FRAMES + 1, 3 * features.VAD_BLOCK_FRAMES + 17])
def test_the_blocked_vad_gives_faster_whispers_probabilities(frames: int) -> None:
    x = buzz(frames * 512 / SR + 0.01, seed=frames)[: frames * 512]
    x[-1] = 0.5  # the last frame's tail is what faster-whisper clears: it must be cleared here too
    before = x.copy()
    blocked = SileroVADModel.__new__(features._blocked_vad_class())
    blocked.session = get_vad_model().session
    ours = blocked(x)
    assert np.array_equal(ours, _reference_probabilities(x))
    assert np.array_equal(x, before)  # the caller's samples are not written to


def test_speech_spans_uses_the_blocked_vad() -> None:
    x = buzz(20.0)
    spans = speech_spans(x)
    assert type(get_vad_model()) is features._blocked_vad_class()
    assert spans  # the buzz is heard somewhere
    assert all(0 <= s.start_s < s.end_s <= 20.0 for s in spans)


@pytest.mark.parametrize("seconds", [0.04, 16.0, 150.0])
def test_the_high_band_share_is_the_same_computed_in_blocks(seconds: float) -> None:
    x = buzz(seconds, seed=3)
    frame = 512
    n = x.size // frame
    power = np.abs(np.fft.rfft(x[: n * frame].reshape(n, frame) * np.hanning(frame), axis=1)) ** 2
    total = power.sum(axis=1)
    loud = power[total >= np.median(total)]
    expected = float(10 * np.log10(loud[:, frame // 4:].sum() / loud.sum() + 1e-20))
    assert high_band_db(x) == expected


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


@pytest.mark.slow
def test_a_long_file_is_never_held_whole(tmp_path: Path, monkeypatch) -> None:
    """transcribe_file decodes, cuts into windows and runs the VAD with a few windows' samples at most.

    Whisper is left out (each window is only recorded).  With windows of 20 s
    instead of WINDOW_S, a 9 min file stands for an hour-long one: held whole
    in float32 it is 35 MB, a window and the block that fills it 3.2 MB at most.
    """
    monkeypatch.setattr(windows_mod, "WINDOW_S", 20.0)
    minute = buzz(60.0)
    path = tmp_path / "long.wav"
    _write_wav(path, np.tile(minute, 9))
    whole_f32 = 9 * 60 * SR * 4
    seen: list[tuple[float, int]] = []
    tx = WhisperTranscriber.__new__(WhisperTranscriber)  # no model: the windows are what is measured
    tx.passes = 2
    monkeypatch.setattr(tx, "_transcribe_window",
                        lambda window, offset_s, spans, passes: seen.append((offset_s, window.size)) or [],
                        raising=False)
    speech_spans(minute[:SR])  # the VAD session is made outside the measurement
    tracemalloc.start()
    try:
        transcript = tx.transcribe_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert transcript.duration_s == pytest.approx(9 * 60) and len(seen) >= 10
    assert sum(n for _, n in seen) == 9 * 60 * SR
    assert max(n for _, n in seen) <= (20.0 + 30.0) * SR
    # Measured 16 MB, whatever the length: the window, the next block, the VAD's spectra (float64).
    assert peak < whole_f32 / 1.5
