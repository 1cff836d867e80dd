"""Recording one spoken answer: audio source to a WAV that survives a crash, until the answer ends.

Practice mode lives or dies on this stage: once the candidate has spoken for
two minutes, the answer must not be lost to Ctrl-C, a crash, a full disk or
``kill -9``.  :class:`Recorder` ties the parts together and reports how the
answer ended:

* an :class:`~starcoach.edges.AudioSource` hands out float32 mono blocks at
  :data:`~starcoach.speech.decode.SAMPLE_RATE_HZ`: the microphone
  (:mod:`starcoach.capture.microphone`) or a recording standing in for one
  (``--mic-file``, :mod:`starcoach.capture.mic_file`);
* every block goes to disk first (:mod:`starcoach.capture.wav`: the WAV reads
  to its end even if never closed; :mod:`starcoach.capture.wav_repair`
  makes its sizes exact afterwards);
* :mod:`starcoach.capture.endpointer` decides the answer is over.

Everything is timed in *audio* seconds (samples received / rate), not wall
time: for a live microphone the two are the same, and for a source that
delivers faster than real time (a file, or ALSA's file plugin in tests) the
decisions stay the same as they would have been live.  Nothing here prints
or renders; hardware problems become one exception,
:class:`~starcoach.capture.portaudio.HardwareError`, whose message is one
line that says what to do.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Optional

import numpy as np

from starcoach.capture.endpointer import Endpointer
from starcoach.capture.portaudio import HardwareError
from starcoach.capture.wav import RecordingWriteError, WavWriter, write_error
from starcoach.capture.wav_repair import PathLike
from starcoach.edges import AudioSource

__all__ = ["EndedBy", "Recorder", "RecordingResult"]

EndedBy = Literal["silence", "enter", "max", "interrupt", "write_failed"]


@dataclass(frozen=True)
class RecordingResult:
    path: Path
    duration_s: float
    ended_by: EndedBy
    heard_anything: bool
    overflows: int
    #: Audio seconds where speech last ended (None if no speech was heard).
    end_of_speech_s: Optional[float]
    #: Why the WAV could not be written (``ended_by == "write_failed"``); one line.
    error: Optional[RecordingWriteError] = None


OnBlock = Callable[[np.ndarray, float, float, Endpointer], None]


class Recorder:
    """Reads an open :class:`AudioSource` into a WAV until the answer ends.

    The caller opens the source (``with source: recorder.run(stop)``), so it can
    check the device before the question is asked and keep it open as it likes.
    ``run`` stops at the first of: the endpointer's silence, ``stop_event`` (the
    caller sets it when Enter is pressed), ``max_answer_s`` of audio, Ctrl-C
    (``interrupt_event``, set by the caller's SIGINT handler, or a
    KeyboardInterrupt, which is caught: the WAV is closed with everything
    captured and ``ended_by="interrupt"`` is returned), or a WAV that cannot be
    written any more (disk full: ``ended_by="write_failed"``, ``error`` set,
    what was written is kept).  Every block is written before anything else
    happens to it, so a crash in a callback loses nothing.
    """

    def __init__(self, source: AudioSource, wav_path: PathLike, endpointer: Optional[Endpointer] = None,
                 max_answer_s: Optional[float] = 180.0, on_block: Optional[OnBlock] = None, *,
                 read_timeout_s: float = 0.1, stall_timeout_s: float = 5.0):
        self.source = source
        self.wav_path = Path(wav_path)
        self.endpointer = endpointer if endpointer is not None else Endpointer()
        self.max_answer_s = max_answer_s
        self.on_block = on_block
        self.read_timeout_s = read_timeout_s
        self.stall_timeout_s = stall_timeout_s

    def run(self, stop_event: Optional[threading.Event] = None,
            interrupt_event: Optional[threading.Event] = None) -> RecordingResult:
        rate = int(self.source.sample_rate_hz)
        max_samples = None if self.max_answer_s is None else max(1, int(round(self.max_answer_s * rate)))
        ep = self.endpointer
        error: Optional[RecordingWriteError] = None
        try:
            writer = WavWriter(self.wav_path, rate)
        except (OSError, RuntimeError) as exc:
            error = write_error(self.wav_path, exc)
            return RecordingResult(path=self.wav_path, duration_s=0.0, ended_by="write_failed",
                                   heard_anything=False, overflows=0, end_of_speech_s=None, error=error)
        ended_by: Optional[EndedBy] = None
        written = 0
        try:
            try:
                last_block_at = time.monotonic()
                while ended_by is None:
                    if interrupt_event is not None and interrupt_event.is_set():
                        ended_by = "interrupt"
                        break
                    if stop_event is not None and stop_event.is_set():
                        ended_by = "enter"
                        break
                    block = self.source.read(self.read_timeout_s)
                    if block is None:
                        if time.monotonic() - last_block_at > self.stall_timeout_s:
                            raise HardwareError(
                                f"no audio from the microphone for {self.stall_timeout_s:g} s (unplugged?); "
                                f"the answer so far is saved in {self.wav_path}")
                        continue
                    last_block_at = time.monotonic()
                    if max_samples is not None:
                        block = block[: max_samples - written]
                    try:
                        writer.write(block)
                    except RecordingWriteError as exc:
                        error, ended_by = exc, "write_failed"
                        break
                    written = writer.frames_written  # what the file holds, even if Ctrl-C lands just here
                    ep.push(block)
                    if self.on_block is not None:
                        self.on_block(block, written / rate, ep.level_dbfs, ep)
                    if ep.ended:
                        ended_by = "silence"
                    elif max_samples is not None and written >= max_samples:
                        ended_by = "max"
            except KeyboardInterrupt:
                ended_by = "interrupt"
        finally:
            try:
                writer.close()
            except RecordingWriteError as exc:  # the sizes stay "unknown": still read to the end
                if error is None:
                    error, ended_by = exc, "write_failed"
        # The file's own count: a Ctrl-C between a block's write and the line after it must not make the
        # reported length one block short of the WAV's header (seen once: 1.4 s reported, 1.5 s written).
        return RecordingResult(
            path=self.wav_path, duration_s=writer.frames_written / rate, ended_by=ended_by,
            heard_anything=ep.heard_anything, overflows=int(self.source.overflows),
            end_of_speech_s=ep.end_of_speech_s, error=error,
        )
