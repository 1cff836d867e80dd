"""Pauses in an answer: the silences between the voice detector's speech spans, between the first and last word.

Pure (the spans come in, already measured by :mod:`starcoach.speech.vad`), so
the delivery metrics that report pauses import no numpy, no audio library
and no model.
"""

from __future__ import annotations

from typing import Sequence

from starcoach.model import Pause, Span

__all__ = ["find_pauses"]


def find_pauses(
    speech: Sequence[Span],
    first_word_start_s: float,
    last_word_end_s: float,
    min_pause_s: float = 1.0,
) -> tuple[Pause, ...]:
    """Every silence of at least ``min_pause_s`` between the first and last word.

    Silences are the gaps *between* speech spans: silence before the first
    span or after the last is lead-in or trailing room tone, not a pause.
    Each gap is clipped to [first_word_start_s, last_word_end_s] so that a
    noise blip detected before the answer starts (a cough, a chair) does not
    turn the wait before the first word into a "pause".
    """
    if last_word_end_s <= first_word_start_s:
        return ()
    spans = sorted((s for s in speech if s.end_s > s.start_s), key=lambda s: s.start_s)
    # Merge overlapping spans (windows of a long file may meet or overlap).
    merged: list[list[float]] = []
    for s in spans:
        if merged and s.start_s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s.end_s)
        else:
            merged.append([s.start_s, s.end_s])
    pauses: list[Pause] = []
    for (_, gap_start), (gap_end, _) in zip(merged, merged[1:]):
        start = max(gap_start, first_word_start_s)
        end = min(gap_end, last_word_end_s)
        # A tiny epsilon so a 1.0 s silence measured as 0.99999 (float sums) still counts.
        if end - start >= min_pause_s - 1e-6:
            pauses.append(Pause(start_s=start, duration_s=end - start))
    return tuple(pauses)
