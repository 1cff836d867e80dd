"""A recorded answer played in as if it were spoken at the microphone (``--mic-file``).

So a demo, a test or a machine with no microphone goes through the whole
practice loop: live view, streaming transcription and end-of-answer timing
behave as in a real session.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from starcoach.capture.wav_repair import PathLike
from starcoach.speech.decode import SAMPLE_RATE_HZ, load_audio

__all__ = ["FileSource"]


class FileSource:
    """A recorded answer fed in as if it were being spoken (``--mic-file``).

    Any format :func:`starcoach.speech.decode.load_audio` reads.  With ``realtime``
    each block is released when it would have finished arriving from a live
    microphone, so the live view, the streaming transcriber and the end-of-
    answer timing behave as in a real session; without it, blocks come as
    fast as they are asked for (tests, batch use).  After the file ends it
    yields digital silence for ever, so the end-of-answer detector fires just
    as it would after the speaker stopped talking.  The file is decoded in the
    constructor, so a bad file fails before a question is asked.
    """

    def __init__(self, path: PathLike, realtime: bool = True, block_s: float = 0.1):
        if block_s <= 0:
            raise ValueError("block_s must be positive")
        self.path = Path(path)
        self.realtime = realtime
        self.block_s = float(block_s)
        self.sample_rate_hz = SAMPLE_RATE_HZ
        self._samples = load_audio(self.path)  # AudioError for missing/bad files
        self._block = max(1, int(round(self.block_s * SAMPLE_RATE_HZ)))
        self._pos = 0
        self._blocks_out = 0
        self._t0: Optional[float] = None

    @property
    def overflows(self) -> int:
        return 0

    @property
    def file_duration_s(self) -> float:
        return self._samples.size / SAMPLE_RATE_HZ

    @property
    def exhausted(self) -> bool:
        """True once the whole file has been handed out (silence follows)."""
        return self._pos >= self._samples.size

    def __enter__(self) -> "FileSource":
        self._t0 = time.monotonic()
        self._pos = 0
        self._blocks_out = 0
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._t0 = None

    def read(self, timeout_s: float) -> Optional[np.ndarray]:
        if self._t0 is None:
            raise RuntimeError("FileSource is not open: use `with source:`")
        if self.realtime:
            # Due when its last sample "has been spoken"; scheduled from the start
            # time (not the previous read) so sleep jitter does not accumulate.
            due = self._t0 + (self._blocks_out + 1) * self._block / SAMPLE_RATE_HZ
            wait_s = due - time.monotonic()
            if wait_s > timeout_s:
                time.sleep(max(0.0, timeout_s))
                return None
            if wait_s > 0:
                time.sleep(wait_s)
        block = self._samples[self._pos:self._pos + self._block]
        self._pos += block.size
        if block.size < self._block:  # end of file: pad the last block, then silence
            block = np.concatenate([block, np.zeros(self._block - block.size, dtype=np.float32)])
        self._blocks_out += 1
        return np.array(block, dtype=np.float32)
