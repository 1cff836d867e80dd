"""Cutting a recording into windows of about two minutes, each cut inside a silence.

Memory must stay bounded for an hour-long file, and no word may be cut in
half: so the transcriber takes a stream of blocks, and every window ends in
the middle of a pause the VAD found.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable, Iterator, Optional, Sequence

from starcoach.model import Span
from starcoach.speech.decode import SAMPLE_RATE_HZ
from starcoach.speech.vad import speech_spans

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["WINDOW_S", "choose_cut", "windows"]

log = logging.getLogger(__name__)

#: Length of the windows a recording is transcribed in.  Long enough that a
#: typical answer (under two minutes) is never cut, short enough to bound
#: memory: faster-whisper computes the spectrogram of a window in float64, so
#: peak RSS on a 7.5 min file was 477 MB with 240 s windows, 420 MB with 120 s
#: and 381 MB with 60 s (model alone: 250 MB).  Cuts fall in silences.
WINDOW_S = 120.0


def windows(blocks: Iterable["np.ndarray"]) -> Iterator[tuple["np.ndarray", float, tuple[Span, ...]]]:
    """Cut a stream of blocks into windows of about WINDOW_S, each cut inside a silence.

    Yields (samples, offset_s, speech spans in recording time).  The VAD of
    the part after a cut is redone with the next window, so a pause that
    straddles a cut is still one pause in the concatenated spans.
    """
    import numpy as np

    limit = int(WINDOW_S * SAMPLE_RATE_HZ)
    buffer = np.zeros(0, dtype=np.float32)
    offset_s = 0.0
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, dtype=np.float32).reshape(-1)])
        while buffer.size >= limit:
            spans = speech_spans(buffer, offset_s=offset_s)
            cut = choose_cut(spans, offset_s, buffer.size)
            cut_s = offset_s + cut / SAMPLE_RATE_HZ
            kept = tuple(Span(s.start_s, min(s.end_s, cut_s)) for s in spans if s.start_s < cut_s)
            yield buffer[:cut], offset_s, kept
            buffer = buffer[cut:].copy()  # drop the reference to the processed samples
            offset_s = cut_s
    if buffer.size:
        yield buffer, offset_s, speech_spans(buffer, offset_s=offset_s)


def choose_cut(spans: Sequence[Span], offset_s: float, n_samples: int) -> int:
    """Sample index to end a window at: the middle of the last silence in its second half."""
    end_s = offset_s + n_samples / SAMPLE_RATE_HZ
    half_s = offset_s + n_samples / SAMPLE_RATE_HZ / 2
    edges = [offset_s] + [x for s in spans for x in (s.start_s, s.end_s)] + [end_s]
    best: Optional[float] = None
    # Silences are (edges[0], edges[1]), (edges[2], edges[3]), ...
    for a, b in zip(edges[0::2], edges[1::2]):
        # A silence that runs to the end of the buffer counts only if long:
        # speech starting in the last half second is not yet seen by the VAD.
        ends_inside = b < end_s - 0.5 or (b >= end_s and b - a >= 1.0)
        if b - a >= 0.3 and (a + b) / 2 >= half_s and ends_inside:
            best = (a + b) / 2
    if best is None:
        # Continuous sound for minutes (music, noise): cut at the end; a word may be split.
        log.warning("no silence to cut at near %.0f s; cutting mid-sound", end_s)
        return n_samples
    return int((best - offset_s) * SAMPLE_RATE_HZ)
