"""Writing the answer's WAV as it is spoken, so a kill loses (almost) nothing.

Two minutes of speech must not be lost to Ctrl-C, a crash or ``kill -9``:
every block is on disk as soon as it arrives, and the file reads to its end
even if it is never closed.  Making a file a killed writer left exact again
is :mod:`starcoach.capture.wav_repair`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from starcoach.capture.wav_repair import PathLike, mark_sizes_unknown
from starcoach.errors import StarcoachError
from starcoach.speech.decode import SAMPLE_RATE_HZ, AudioError
from starcoach.text import disk_full, first_line

__all__ = ["RecordingWriteError", "WavWriter", "write_error"]


class RecordingWriteError(StarcoachError):
    """The WAV being recorded cannot be written any more (disk full, file system gone).

    ``str(error)`` is one line; ``disk_full`` tells the two apart.  Everything
    written before the failure is still in the file (its header says "to the
    end of the file" until it is closed).
    """

    def __init__(self, message: str, disk_full: bool):
        super().__init__(message, kind="storage")
        self.disk_full = disk_full


def write_error(path: Path, exc: BaseException) -> RecordingWriteError:
    # libsndfile says only "System error.": disk_full asks the file system too.
    if disk_full(path.parent, exc):
        return RecordingWriteError(f"the disk holding {path.parent} is full", True)
    reason = getattr(exc, "strerror", None) or first_line(exc)
    return RecordingWriteError(f"cannot write {path} ({reason})", False)


class WavWriter:
    """Writes 16 kHz mono 16-bit PCM to a ``.wav`` as it is recorded, so a kill loses (almost) nothing.

    libsndfile writes samples straight through to the file (no user-space
    buffer for PCM) but fills in the RIFF and data sizes only on close.  An
    unclosed file it leaves says "0 bytes of data", which libsndfile and
    FFmpeg read to the end anyway but sox and ``wave`` read as empty.  So right
    after opening we mark both sizes "unknown" (0xFFFFFFFF), which every
    reader we tried takes as "to the end of the file".  :meth:`close` writes
    the true sizes; :func:`repair_wav` does the same for a file whose writer
    died.  (libsndfile writes its header again with the first samples, so the
    mark is made just after those.)  :meth:`flush` (fsync) runs at least every
    ``flush_interval_s``, so even a power cut loses at most that much.
    """

    def __init__(self, path: PathLike, sample_rate_hz: int = SAMPLE_RATE_HZ, flush_interval_s: float = 1.0):
        import soundfile as sf

        self.path = Path(path)
        self.sample_rate_hz = int(sample_rate_hz)
        self.flush_interval_s = float(flush_interval_s)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = sf.SoundFile(str(self.path), mode="w", samplerate=self.sample_rate_hz, channels=1,
                                  subtype="PCM_16", format="WAV")
        self.frames_written = 0
        self._frames_at_flush = 0
        self._flushed_at = time.monotonic()
        self._closed = False
        self._sizes_marked = False

    @property
    def duration_s(self) -> float:
        return self.frames_written / self.sample_rate_hz

    def write(self, samples: np.ndarray) -> None:
        if self._closed:
            raise ValueError("WavWriter is closed")
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if not x.size:
            return
        try:
            self._file.write(np.clip(x, -1.0, 1.0))
        except (OSError, RuntimeError) as exc:  # soundfile.LibsndfileError is a RuntimeError
            raise write_error(self.path, exc) from None
        self.frames_written += x.size
        if not self._sizes_marked:
            # libsndfile (re)writes its header with the first samples, so mark it after that.
            self._sizes_marked = True
            try:
                self._file.flush()
                mark_sizes_unknown(self.path)
            except (OSError, AudioError):  # not fatal: libsndfile and FFmpeg still read it to the end
                pass
        now = time.monotonic()
        unflushed_s = (self.frames_written - self._frames_at_flush) / self.sample_rate_hz
        if now - self._flushed_at >= self.flush_interval_s or unflushed_s >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Push written audio to the disk (libsndfile's sf_write_sync: fsync)."""
        if self._closed:
            return
        try:
            self._file.flush()
        except (OSError, RuntimeError) as exc:
            raise write_error(self.path, exc) from None
        self._frames_at_flush = self.frames_written
        self._flushed_at = time.monotonic()

    def close(self) -> None:
        """Write the final sizes into the header.  Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._file.close()
        except (OSError, RuntimeError) as exc:
            raise write_error(self.path, exc) from None

    def __enter__(self) -> "WavWriter":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
