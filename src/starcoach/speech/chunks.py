"""The unit of work of the live transcriber: a stretch of the answer cut at a pause.

:class:`~starcoach.speech.streaming.LiveTranscriber` hands each stretch to its
worker thread as a :class:`ChunkJob` (a chunk, several merged, or a
speculation on the tail) and keeps a :class:`ChunkTiming` per job for the
latency benchmark and the "machine was busy" note.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from starcoach.model import Span, Transcript


@dataclass(frozen=True)
class ChunkTiming:
    start_s: float
    duration_s: float
    transcribe_s: float
    kind: str = "chunk"  # "chunk", "merged" (several chunks in one job) or "speculative"
    passes: int = 2


@dataclass
class ChunkJob:
    """One stretch of the answer waiting for (or inside) the model: a chunk cut at a pause, or a speculation."""

    start: int  # first sample, in the answer
    audio: np.ndarray
    queued_at: float  # time.monotonic() when the (oldest) audio was handed over
    speculative: bool = False
    adopt: Optional["ChunkJob"] = None  # this chunk is that speculation's result
    single: bool = False  # unprompted pass only
    merged: int = 1
    done: threading.Event = field(default_factory=threading.Event)
    result: Optional[Transcript] = None
    error: Optional[BaseException] = None

    @property
    def end(self) -> int:
        return self.start + self.audio.size


def accepts_passes(transcriber) -> bool:
    """Whether the transcriber takes ``passes=`` (one unprompted pass when the worker is behind)."""
    try:
        return "passes" in inspect.signature(transcriber.transcribe).parameters
    except (TypeError, ValueError):
        return False


def merge_spans(spans: list[Span], join_gap_s: float = 0.05) -> tuple[Span, ...]:
    """Speech spans of consecutive chunks joined where less than ``join_gap_s`` separates them."""
    out: list[Span] = []
    for s in spans:
        if out and s.start_s - out[-1].end_s <= join_gap_s:
            out[-1] = Span(out[-1].start_s, max(out[-1].end_s, s.end_s))
        else:
            out.append(s)
    return tuple(out)
