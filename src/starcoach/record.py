"""Capturing a spoken answer: microphone (or a recording standing in for one) to a WAV that survives a crash.

Practice mode lives or dies on this stage: if the microphone cannot be
opened the user must be told what to do in one line, and once they have
spoken for two minutes their answer must not be lost to Ctrl-C, a crash or
``kill -9``.  So:

* :class:`~starcoach.edges.AudioSource` is the edge: :class:`MicrophoneSource` (PortAudio via
  sounddevice) and :class:`FileSource` (``--mic-file``: a recording played in
  as if spoken, so a demo works on a machine with no microphone).  Both hand
  out float32 mono blocks at :data:`~starcoach.audio.SAMPLE_RATE_HZ`.
* :class:`WavWriter` writes every block to disk as it arrives, with the WAV
  sizes marked "unknown" until :meth:`WavWriter.close`, so a file cut off by
  a kill is still read to its end (libsndfile, FFmpeg, sox, Python's
  ``wave``); :func:`repair_wav` writes the exact sizes afterwards.
* :class:`Endpointer` decides the answer is over: speech, then
  ``end_silence_s`` of non-speech, judged by the Silero VAD bundled with
  faster-whisper.
* :class:`Recorder` ties them together and reports how the answer ended.

Everything is timed in *audio* seconds (samples received / rate), not wall
time: for a live microphone the two are the same, and for a source that
delivers faster than real time (a file, or ALSA's file plugin in tests) the
decisions stay the same as they would have been live.

Nothing here prints or renders; hardware problems become one exception,
:class:`HardwareError`, whose message is one line that says what to do.
sounddevice is imported lazily, so a machine without PortAudio can still run
every command that does not touch a sound device.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Union

import numpy as np

from starcoach.audio import PAUSE_VAD_OPTIONS, SAMPLE_RATE_HZ, AudioError, load_audio, speech_spans
from starcoach.capture.portaudio import (
    HINT_DEVICES,
    HINT_MIC_FILE,
    PA_DEVICE_UNAVAILABLE,
    PA_INVALID_CHANNEL_COUNT,
    PA_INVALID_SAMPLE_RATE,
    PA_SAMPLE_FORMAT_NOT_SUPPORTED,
    DeviceInfo,
    DeviceSpec,
    HardwareError,
    list_devices,
    load_sounddevice,
    pa_code,
    resolve_device,
    stderr_quietened,
)
from starcoach.capture.resample import LinearResampler
from starcoach.edges import AudioSource
from starcoach.text import disk_full, first_line

__all__ = [
    "DeviceInfo", "Endpointer", "FileSource", "HardwareError", "MicrophoneSource",
    "Recorder", "RecordingResult", "RecordingWriteError", "WavWriter", "list_devices", "load_sounddevice", "repair_wav",
]

PathLike = Union[str, "os.PathLike[str]"]
EndedBy = Literal["silence", "enter", "max", "interrupt", "write_failed"]

#: Level reported for digital silence (log of zero), and the bottom of a meter.
SILENCE_FLOOR_DBFS = -100.0

class RecordingWriteError(Exception):
    """The WAV being recorded cannot be written any more (disk full, file system gone).

    ``str(error)`` is one line; ``disk_full`` tells the two apart.  Everything
    written before the failure is still in the file (its header says "to the
    end of the file" until it is closed).
    """

    def __init__(self, message: str, disk_full: bool):
        super().__init__(message)
        self.disk_full = disk_full


def _write_error(path: Path, exc: BaseException) -> RecordingWriteError:
    # libsndfile says only "System error.": disk_full asks the file system too.
    if disk_full(path.parent, exc):
        return RecordingWriteError(f"the disk holding {path.parent} is full", True)
    reason = getattr(exc, "strerror", None) or first_line(exc)
    return RecordingWriteError(f"cannot write {path} ({reason})", False)


# --------------------------------------------------------------------------- sources




class MicrophoneSource:
    """A live microphone through PortAudio (sounddevice), delivering 16 kHz mono float32.

    The PortAudio callback only copies each block into a queue; conversion and
    resampling happen in :meth:`read`, on the caller's thread, so the audio
    thread never waits on Python work.  The queue holds ``max_queue_s`` of
    audio, so memory stays bounded.  When it is full the callback waits up to
    ``full_wait_s`` for room before dropping the block (counted in
    :attr:`overflows`): a live microphone only fills it if the reader has
    stalled for half a minute, when audio is being lost anyway, while a
    device with no clock of its own (ALSA's file plugin in tests, which
    delivers as fast as it is asked) is thereby paced by the reader instead
    of burning a core and dropping nearly everything.

    The stream is opened as 16-bit integers: that is what microphones deliver,
    and it pins the sample format PortAudio negotiates with plugins that accept
    anything (ALSA's ``file`` plugin, used by the tests, would otherwise read
    its raw input as float32).
    """

    def __init__(self, device: DeviceSpec = None, block_s: float = 0.1, *, max_queue_s: float = 30.0,
                 full_wait_s: float = 1.0):
        if block_s <= 0:
            raise ValueError("block_s must be positive")
        self.device = device
        self.block_s = float(block_s)
        self.sample_rate_hz = SAMPLE_RATE_HZ
        #: The rate the device was actually opened at (differs if it refused 16 kHz).
        self.device_rate_hz: Optional[int] = None
        self.device_name: Optional[str] = None
        self.channels = 1
        self._max_blocks = max(10, int(max_queue_s / self.block_s))
        self._full_wait_s = full_wait_s
        self._queue: "queue.Queue[np.ndarray]" = queue.Queue(maxsize=self._max_blocks)
        self._closing = False
        self._stream = None
        self._resampler: Optional[LinearResampler] = None
        #: Times the device reported an input overflow (the machine was too busy to fetch audio).
        self.input_overflows = 0
        #: Blocks dropped because the reader fell ``max_queue_s`` behind.
        self.dropped_blocks = 0

    @property
    def overflows(self) -> int:
        """Times audio was lost: device overruns plus blocks dropped from a full queue."""
        return self.input_overflows + self.dropped_blocks

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio's thread
        if self._closing:
            return
        if status and status.input_overflow:
            self.input_overflows += 1
        try:
            self._queue.put(indata.copy(), timeout=self._full_wait_s)
        except queue.Full:
            if not self._closing:
                self.dropped_blocks += 1

    def __enter__(self) -> "MicrophoneSource":
        if self._stream is not None:
            return self
        self._queue = queue.Queue(maxsize=self._max_blocks)  # nothing left over from a previous use
        self._closing = False
        sd = load_sounddevice()
        index, info = resolve_device(sd, self.device, "input")
        name = str(info.get("name", index))
        self.device_name = name
        default_rate = int(round(float(info.get("default_samplerate") or 0))) or 48000
        max_channels = max(1, int(info.get("max_input_channels", 1)))
        # Ask for what we want first; fall back only on "this device cannot do that"
        # errors (rate, channel count), never on "busy" or "gone".
        rates = list(dict.fromkeys([SAMPLE_RATE_HZ, default_rate, 48000, 44100]))
        channel_counts = list(dict.fromkeys([1, min(2, max_channels)]))
        last_exc: Optional[BaseException] = None
        stream = None
        for channels in channel_counts:
            for rate in rates:
                try:
                    with stderr_quietened():
                        stream = sd.InputStream(
                            device=index, samplerate=rate, channels=channels, dtype="int16",
                            blocksize=max(1, int(round(self.block_s * rate))), callback=self._callback,
                        )
                except sd.PortAudioError as exc:
                    if pa_code(exc) in (PA_INVALID_SAMPLE_RATE, PA_INVALID_CHANNEL_COUNT,
                                         PA_SAMPLE_FORMAT_NOT_SUPPORTED):
                        last_exc = exc
                        continue
                    raise _open_error(name, exc) from None
                except (ValueError, TypeError) as exc:  # sounddevice's own argument checks
                    raise _open_error(name, exc) from None
                self.device_rate_hz, self.channels = rate, channels
                break
            if stream is not None:
                break
        if stream is None:
            raise HardwareError(f"microphone {name!r} cannot record mono or stereo at {rates[0]} or "
                                f"{default_rate} Hz ({first_line(last_exc) if last_exc else 'unsupported'}) "
                                f"— pick another with --input-device") from None
        try:
            with stderr_quietened():
                stream.start()
        except sd.PortAudioError as exc:
            with contextlib.suppress(Exception):
                stream.close()
            raise _open_error(name, exc) from None
        self._stream = stream
        self._resampler = (None if self.device_rate_hz == SAMPLE_RATE_HZ
                           else LinearResampler(self.device_rate_hz, SAMPLE_RATE_HZ))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        # Release a callback waiting for room in the queue, or abort() would wait for it.
        self._closing = True
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        # abort, not stop: there is nothing to drain on input, and Ctrl-C must be quick.
        with contextlib.suppress(Exception):
            stream.abort()
        with contextlib.suppress(Exception):
            stream.close()

    def read(self, timeout_s: float) -> Optional[np.ndarray]:
        if self._stream is None:
            raise RuntimeError("MicrophoneSource is not open: use `with source:`")
        try:
            raw = self._queue.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            if not self._stream.active and not self._stream.stopped:
                raise HardwareError(f"the microphone {self.device_name!r} stopped delivering audio "
                                    "(unplugged?) — check it and start again") from None
            return None
        samples = raw.astype(np.float32) * (1.0 / 32768.0)
        samples = samples.mean(axis=1) if samples.ndim == 2 and samples.shape[1] > 1 else samples.reshape(-1)
        if self._resampler is not None:
            samples = self._resampler.process(samples)
        return samples.astype(np.float32, copy=False)


def _open_error(name: str, exc: BaseException) -> HardwareError:
    code = pa_code(exc)
    reason = first_line(exc)
    reason = reason.split(": ", 1)[1] if reason.startswith("Error opening") and ": " in reason else reason
    if code == PA_DEVICE_UNAVAILABLE:
        return HardwareError(f"microphone {name!r} is busy ({reason}) — close the program using it, or pick "
                             f"another with --input-device ({HINT_DEVICES})")
    return HardwareError(f"cannot open microphone {name!r} ({reason}) — it may be in use or unplugged; pick "
                         f"another with --input-device ({HINT_DEVICES}) or {HINT_MIC_FILE}")


class FileSource:
    """A recorded answer fed in as if it were being spoken (``--mic-file``).

    Any format :func:`starcoach.audio.load_audio` reads.  With ``realtime``
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


# --------------------------------------------------------------------------- WAV writing


#: A RIFF size meaning "unknown / to the end of the file" (the convention of
#: streamed WAV, e.g. FFmpeg writing to a pipe).  libsndfile, FFmpeg, sox and
#: Python's ``wave`` all read such a file to the end of its data.
_UNKNOWN_SIZE = 0xFFFFFFFF


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
            raise _write_error(self.path, exc) from None
        self.frames_written += x.size
        if not self._sizes_marked:
            # libsndfile (re)writes its header with the first samples, so mark it after that.
            self._sizes_marked = True
            try:
                self._file.flush()
                _mark_sizes_unknown(self.path)
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
            raise _write_error(self.path, exc) from None
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
            raise _write_error(self.path, exc) from None

    def __enter__(self) -> "WavWriter":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


@dataclass(frozen=True)
class _WavLayout:
    file_size: int
    data_size_offset: int  # where the data chunk's size field is
    data_start: int
    declared_data_size: int
    block_align: int
    byte_rate: int


def _wav_layout(fh, path: Path) -> _WavLayout:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if size == 0:
        raise AudioError("empty", path, "file is empty (0 bytes)")
    fh.seek(0)
    head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioError("unreadable", path, "is not a WAV file (no RIFF/WAVE header)")
    pos = 12
    block_align, byte_rate = 0, 0
    while pos + 8 <= size:
        fh.seek(pos)
        chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
        if chunk_id == b"fmt ":
            fmt = fh.read(min(chunk_size, 16))
            if len(fmt) >= 14:
                _, _, _, byte_rate, block_align = struct.unpack("<HHIIH", fmt[:14])
        elif chunk_id == b"data":
            if block_align <= 0:
                raise AudioError("unreadable", path, "is a damaged WAV file (no format before the data)")
            return _WavLayout(size, pos + 4, pos + 8, chunk_size, block_align, byte_rate)
        pos += 8 + chunk_size + (chunk_size & 1)
    raise AudioError("unreadable", path, "is a damaged WAV file (no data chunk)")


def _mark_sizes_unknown(path: Path) -> None:
    with open(path, "r+b") as fh:
        layout = _wav_layout(fh, path)
        fh.seek(4)
        fh.write(struct.pack("<I", _UNKNOWN_SIZE))
        fh.seek(layout.data_size_offset)
        fh.write(struct.pack("<I", _UNKNOWN_SIZE))


def _chunks_tile(fh, start: int, end: int) -> bool:
    """Do well-formed RIFF chunks fill [start, end) exactly? (Is this a real chunk tail, not audio?)"""
    pos = start
    while pos < end:
        if pos + 8 > end:
            return False
        fh.seek(pos)
        chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
        if not all(0x20 <= b < 0x7F for b in chunk_id):
            return False
        pos += 8 + chunk_size + (chunk_size & 1)
    return pos == end


def repair_wav(path: PathLike) -> float:
    """Rewrite the header sizes of a WAV whose writer never closed it; returns its duration in seconds.

    Handles the sizes a killed :class:`WavWriter` leaves ("unknown"), libsndfile's
    unclosed "0", a size larger than the file, and a header updated earlier than
    the last write (data after the declared end that is not another chunk).  A
    trailing partial sample frame is cut off.  A well-formed file is left
    byte-for-byte alone.  Raises :class:`~starcoach.audio.AudioError` for a
    file that is not a WAV.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError("missing", p, "no such file")
    with open(p, "r+b") as fh:
        lay = _wav_layout(fh, p)
        available = lay.file_size - lay.data_start
        declared = lay.declared_data_size
        data_end = lay.data_start + declared
        padded_end = data_end + (declared & 1)
        if declared not in (0, _UNKNOWN_SIZE) and data_end <= lay.file_size and (
                padded_end >= lay.file_size or _chunks_tile(fh, padded_end, lay.file_size)):
            data_size = declared  # consistent already (possibly with chunks after the data)
            riff_size = lay.file_size - 8
        else:
            data_size = available - available % lay.block_align
            riff_size = lay.data_start + data_size - 8
            if lay.data_start + data_size < lay.file_size:
                fh.truncate(lay.data_start + data_size)  # a partial frame a kill left half-written
        fh.seek(4)
        old_riff = struct.unpack("<I", fh.read(4))[0]
        if old_riff != riff_size:
            fh.seek(4)
            fh.write(struct.pack("<I", riff_size))
        if declared != data_size:
            fh.seek(lay.data_size_offset)
            fh.write(struct.pack("<I", data_size))
    return data_size / lay.byte_rate if lay.byte_rate else 0.0


# --------------------------------------------------------------------------- end of answer

#: The Silero VAD judges 512-sample (32 ms) frames.
_VAD_FRAME_SAMPLES = 512


class Endpointer:
    """Decides when an answer is over: speech, then ``end_silence_s`` of non-speech.

    Speech/non-speech comes from the Silero VAD (faster-whisper's copy, via
    :func:`starcoach.audio.speech_spans`), run every ``vad_every_s`` on the last
    ``vad_window_s`` of audio rather than on every 0.1 s block: the VAD needs
    a few hundred ms of context to call a silence, and batching keeps its cost
    around 1-2 % of one core.  Each run re-judges the whole window, and the
    newest run wins, because it has seen more of what followed.

    An energy gate handles the easy case without the model: a block quieter
    than ``gate_dbfs`` (digital silence, a muted mic) is non-speech at once, so
    the silence count advances block by block; louder audio is only counted
    as silence once the VAD has looked at it, so a word is never missed
    between two VAD runs.

    A cough or click must not start the answer (and so arm the 3 s timer):
    ``speech_started`` needs one VAD speech span of at least ``min_speech_s``.

    All times are audio seconds since the first block.
    """

    def __init__(self, end_silence_s: float = 3.0, *, sample_rate_hz: int = SAMPLE_RATE_HZ,
                 vad_every_s: float = 0.25, vad_window_s: float = 2.0, gate_dbfs: float = -60.0,
                 heard_dbfs: float = -50.0, min_speech_s: float = 0.4, vad_options: Optional[dict] = None):
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"Endpointer needs {SAMPLE_RATE_HZ} Hz audio")
        if vad_window_s < vad_every_s:
            raise ValueError("vad_window_s must be at least vad_every_s")
        self.end_silence_s = float(end_silence_s)
        self.sample_rate_hz = sample_rate_hz
        self.gate_dbfs = gate_dbfs
        self.heard_dbfs = heard_dbfs
        self.min_speech_s = min_speech_s
        self.vad_options = vad_options
        options = {**PAUSE_VAD_OPTIONS, **(vad_options or {})}
        self._hangover_s = float(options["min_silence_duration_ms"]) / 1000
        self._hop = max(1, int(round(vad_every_s * sample_rate_hz)))
        self._window = max(self._hop, int(round(vad_window_s * sample_rate_hz)))
        self._recent = np.zeros(0, dtype=np.float32)
        self._now = 0  # samples pushed
        self._since_vad = 0
        self._loud_unjudged = False  # loud audio arrived that the VAD has not seen yet
        self._judged_until = 0  # samples classified (by the gate or the VAD)
        self._last_speech_end: Optional[int] = None  # sample where the latest speech ended
        self._speech_open = False  # the last VAD run saw speech reaching the window's end
        self._heard = False
        self._ended = False
        #: Has someone started answering (a real stretch of speech, not a click)?
        self.speech_started = False
        #: RMS level of the last block, in dBFS (:data:`SILENCE_FLOOR_DBFS` for digital silence).
        self.level_dbfs = SILENCE_FLOOR_DBFS
        #: Loudest block so far, in dBFS.
        self.peak_dbfs = SILENCE_FLOOR_DBFS
        #: Number of VAD runs so far (to check the CPU budget).
        self.vad_runs = 0

    @staticmethod
    def warm_up() -> None:
        """Load the VAD model now (about 0.1 s) rather than during the first words."""
        from faster_whisper.vad import get_vad_model

        from starcoach.audio import quiet_onnxruntime

        quiet_onnxruntime()
        get_vad_model()

    @property
    def elapsed_s(self) -> float:
        return self._now / self.sample_rate_hz

    @property
    def trailing_silence_s(self) -> float:
        """Non-speech since the last speech (since the start if none yet), as far as judged."""
        start = self._last_speech_end if (self.speech_started and self._last_speech_end is not None) else 0
        return max(0, self._judged_until - start) / self.sample_rate_hz

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def heard_anything(self) -> bool:
        """False while the input is near-silent: "we heard nothing — check your microphone"."""
        return self._heard or self.speech_started

    @property
    def end_of_speech_s(self) -> Optional[float]:
        """Where the last speech ended (None before any)."""
        if not self.speech_started or self._last_speech_end is None:
            return None
        return self._last_speech_end / self.sample_rate_hz

    def push(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        if not x.size:
            return
        rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
        self.level_dbfs = max(SILENCE_FLOOR_DBFS, 20.0 * math.log10(rms)) if rms > 0 else SILENCE_FLOOR_DBFS
        self.peak_dbfs = max(self.peak_dbfs, self.level_dbfs)
        if self.level_dbfs >= self.heard_dbfs:
            self._heard = True
        self._recent = np.concatenate([self._recent, x])[-self._window:]
        self._now += x.size
        self._since_vad += x.size
        if self.level_dbfs >= self.gate_dbfs:
            self._loud_unjudged = True
        if self._since_vad >= self._hop:
            # Also re-run after speech that reached the end of the last window, even
            # if what followed is gated silence: only now can the VAD place its end.
            if self._loud_unjudged or self._speech_open:
                self._run_vad()
            self._since_vad %= self._hop  # keep the remainder: runs average one per vad_every_s
            self._loud_unjudged = False
            self._judged_until = self._now
        elif not self._loud_unjudged:
            self._judged_until = self._now  # gate: quiet blocks are silence without asking the VAD
        if self.speech_started and self.trailing_silence_s >= self.end_silence_s:
            self._ended = True

    def _run_vad(self) -> None:
        self.vad_runs += 1
        start = self._now - self._recent.size
        spans = speech_spans(self._recent, self.sample_rate_hz, options=self.vad_options)
        if not spans:
            self._speech_open = False
            return  # keep the previous estimate: speech may have slid out of the window
        # The VAD closes a span still open at the window's end there ("still speaking");
        # a later run, with what followed in view, gives the real end.
        self._last_speech_end = start + int(round(spans[-1].end_s * self.sample_rate_hz))
        self._speech_open = self._last_speech_end >= self._now - _VAD_FRAME_SAMPLES
        if not self.speech_started:
            # An open span's last min_silence is unconfirmed (the VAD's hang-over after
            # a click looks just like that), so it does not count towards min_speech_s.
            lengths = [s.duration_s for s in spans[:-1]]
            lengths.append(spans[-1].duration_s - (self._hangover_s if self._speech_open else 0.0))
            self.speech_started = max(lengths) >= self.min_speech_s


# --------------------------------------------------------------------------- recording


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
            error = _write_error(self.wav_path, exc)
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
                    written += block.size
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
        return RecordingResult(
            path=self.wav_path, duration_s=written / rate, ended_by=ended_by,
            heard_anything=ep.heard_anything, overflows=int(self.source.overflows),
            end_of_speech_s=ep.end_of_speech_s, error=error,
        )
