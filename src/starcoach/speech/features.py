"""Whisper's log-Mel spectrogram and Silero's speech probabilities, computed a block at a time.

faster-whisper computes both over all the audio it is given at once: the
spectrogram of a two-minute window as one short-time Fourier transform
(its frames, their transform and its magnitudes are each a full-length
array: about 100 MB for 120 s), and the VAD as one ONNX batch of up to
10,000 frames (60-120 MB for a 150 s window).  Those transients were the
largest part of the peak memory of a long transcription after the model
itself.  The classes here compute exactly the same numbers (the same
operations on the same data, row by row: tests/test_features.py compares
them bit for bit with faster-whisper's) in blocks of frames, so only one
block's intermediate arrays exist at a time.

:func:`install` puts the feature extractor in place, an attribute of the
loaded ``WhisperModel``; :func:`install_vad` the VAD: faster-whisper's
cached singleton, whose class is swapped for the blocked subclass (it keeps
its ONNX session).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["FEATURE_BLOCK_FRAMES", "VAD_BLOCK_FRAMES", "install", "install_vad"]

#: Spectrogram frames (10 ms each) transformed at a time: 30 s.
FEATURE_BLOCK_FRAMES = 3000

#: After a spectrogram of more than this many samples (10 s), freed memory is handed back at once.
TRIM_AFTER_SAMPLES = 10 * 16000

#: Silero frames (512 samples, 32 ms) run through the ONNX model at a time: 16 s.
#: Measured on a 150 s window: peak +62-67 MB over the call as one batch,
#: +15 MB in blocks of 500, +28-38 MB in blocks of 1000, the same time.
VAD_BLOCK_FRAMES = 500


@functools.lru_cache(maxsize=None)
def _blocked_feature_extractor_class():
    import numpy as np
    from faster_whisper.feature_extractor import FeatureExtractor

    from starcoach.speech.memory import release_freed_memory

    class BlockedFeatureExtractor(FeatureExtractor):
        """faster-whisper's FeatureExtractor whose log-Mel spectrogram is transformed a block of frames at a time.

        The frames, their window, FFT and squared magnitudes are computed per
        block of :data:`FEATURE_BLOCK_FRAMES` into one magnitude array laid out
        as faster-whisper's is; the Mel projection, log and normalisation then
        run over the whole of it as before.
        """

        def __call__(self, waveform: "np.ndarray", padding: int = 160, chunk_length: Optional[int] = None):
            if chunk_length is not None:  # changes the extractor's own window; not used by starcoach
                return super().__call__(waveform, padding=padding, chunk_length=chunk_length)
            if waveform.dtype is not np.float32:
                waveform = waveform.astype(np.float32)
            if padding:
                waveform = np.pad(waveform, (0, padding))
            window = np.hanning(self.n_fft + 1)[:-1].astype("float32")
            half = self.n_fft // 2
            padded = np.pad(waveform[np.newaxis, :], ((0, 0), (half, half)), mode="reflect")[0]
            n_frames = 1 + (padded.size - self.n_fft) // self.hop_length
            frames = np.lib.stride_tricks.as_strided(
                padded, (n_frames, self.n_fft), (self.hop_length * padded.strides[0], padded.strides[0]),
                writeable=False)
            # faster-whisper drops the last frame and keeps (bins, frames) as the transpose of (frames, bins).
            used = n_frames - 1
            bins = self.n_fft // 2 + 1
            magnitudes = np.empty((used, bins), dtype=np.float32)
            for a in range(0, used, FEATURE_BLOCK_FRAMES):
                b = min(a + FEATURE_BLOCK_FRAMES, used)
                spectrum = np.fft.rfft(frames[a:b] * window, n=self.n_fft, axis=-1).astype("complex64")
                magnitudes[a:b] = np.abs(spectrum) ** 2
            del frames, padded
            log_spec = self.mel_filters @ magnitudes.T
            del magnitudes
            # The same element-wise steps as faster-whisper's, in place.
            np.clip(log_spec, 1e-10, None, out=log_spec)
            np.log10(log_spec, out=log_spec)
            np.maximum(log_spec, log_spec.max() - 8.0, out=log_spec)
            log_spec += 4.0
            log_spec /= 4.0
            if waveform.size > TRIM_AFTER_SAMPLES:
                release_freed_memory()  # before the encoder runs: what this freed is not kept by the allocator
            return log_spec

    return BlockedFeatureExtractor


@functools.lru_cache(maxsize=None)
def _blocked_vad_class():
    import numpy as np
    from faster_whisper.vad import SileroVADModel

    class BlockedSileroVAD(SileroVADModel):
        """faster-whisper's Silero model run over :data:`VAD_BLOCK_FRAMES` frames at a time.

        faster-whisper already runs long audio in batches, carrying the LSTM
        state from one to the next (its batches are 10,000 frames); this does
        the same with smaller batches, each frame given the last 64 samples of
        the frame before as its context and the last frame's own last 64
        samples zeroed, as there (the caller's array is not written to).
        """

        def __call__(self, audio: "np.ndarray", num_samples: int = 512, context_size_samples: int = 64):
            assert audio.ndim == 1, "Input should be a 1D array"
            assert audio.shape[0] % num_samples == 0, "Input size should be a multiple of num_samples"
            h = np.zeros((1, 1, 128), dtype="float32")
            c = np.zeros((1, 1, 128), dtype="float32")
            frames = audio.reshape(-1, num_samples)
            before = np.zeros((1, context_size_samples), dtype=frames.dtype)
            outputs = []
            for a in range(0, frames.shape[0], VAD_BLOCK_FRAMES):
                block = frames[a:a + VAD_BLOCK_FRAMES]
                if a + VAD_BLOCK_FRAMES >= frames.shape[0]:
                    # faster-whisper zeroes the last frame's final context-length samples (it takes the
                    # contexts as a view of the frames and clears the row that wraps round to frame 0).
                    block = block.copy()
                    block[-1, -context_size_samples:] = 0
                context = np.concatenate([before, block[:-1, -context_size_samples:]], 0)
                before = block[-1:, -context_size_samples:]
                output, h, c = self.session.run(
                    None, {"input": np.concatenate([context, block], 1), "h": h, "c": c})
                outputs.append(output)
            return np.concatenate(outputs, axis=0)

    return BlockedSileroVAD


def install(model) -> None:
    """Give a loaded faster-whisper ``WhisperModel`` the blocked feature extractor."""
    cls = _blocked_feature_extractor_class()
    if not isinstance(model.feature_extractor, cls):
        model.feature_extractor = cls(**model.feat_kwargs)


def install_vad() -> None:
    """Make faster-whisper's cached Silero model (used by ``get_speech_timestamps``) run in blocks.

    Loads the model if it is not loaded yet (:func:`starcoach.speech.vad.speech_spans` calls this
    after switching onnxruntime's telemetry off).
    """
    from faster_whisper.vad import SileroVADModel, get_vad_model

    vad = get_vad_model()
    if type(vad) is SileroVADModel:
        vad.__class__ = _blocked_vad_class()
