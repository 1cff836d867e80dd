"""Reading audio files: any format FFmpeg reads, to mono float32 samples at 16 kHz.

Everything downstream works on one representation: mono float32 samples at
16 kHz (what Whisper and the Silero VAD expect).  This module owns turning
"a file the user gave us" into that.  It is the only place that knows about
PyAV, so decoding problems become one exception type, :class:`AudioError`,
with a ``kind`` the CLI can report without a traceback.  (Where the speaker
talks and pauses in those samples is :mod:`starcoach.speech.vad`.)

Decisions (see docs/audio.md for the measurements behind them):

* Decoding uses PyAV (bundled FFmpeg, the same library faster-whisper uses),
  so wav, flac, mp3, ogg, m4a, webm and anything else FFmpeg reads work, at
  any sample rate, bit depth or channel count; FFmpeg's resampler converts
  to 16 kHz float and the channels are averaged into one.
* A damaged or truncated file is decoded as far as it goes; it is an error
  only if less than :data:`MIN_DECODED_S` came out of it.
* Anything shorter than :data:`MIN_DURATION_S` is refused as ``too_short``:
  an answer needs at least a few words, and Whisper output on a fraction of
  a second is noise.  Pure silence is *not* an error here: it is a valid
  recording of someone saying nothing, and analysis reports it as such.
* Memory: :func:`load_audio` holds a whole file in memory, so it refuses
  files longer than :data:`MAX_LOAD_S` (20 min, about 77 MB of samples) with
  kind ``too_long``.  Long recordings go through :func:`iter_audio_chunks`,
  which decodes in bounded blocks; the transcriber consumes it window by
  window, so an hour-long file costs the same memory as a five-minute one.

Heavy imports (numpy, av) happen inside functions, so importing this module
costs nothing at start-up.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Union

from starcoach.errors import StarcoachError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

log = logging.getLogger(__name__)

#: The one sample rate used after decoding (Whisper and Silero both want it).
SAMPLE_RATE_HZ = 16000

#: Recordings shorter than this are refused (kind ``too_short``).
MIN_DURATION_S = 1.0

#: A corrupt or truncated file is still used if at least this much decoded.
MIN_DECODED_S = 0.5

#: :func:`load_audio` refuses longer files (kind ``too_long``); stream them
#: with :func:`iter_audio_chunks` instead (the transcriber does).
MAX_LOAD_S = 20 * 60.0

#: Default block length yielded by :func:`iter_audio_chunks`.
DEFAULT_CHUNK_S = 30.0

#: Every ``AudioError.kind``.
AUDIO_ERROR_KINDS = ("missing", "unreadable", "empty", "not_audio", "too_short", "too_long")

class AudioError(StarcoachError):
    """An input file cannot be used as audio.

    ``kind`` is one of :data:`AUDIO_ERROR_KINDS`, each an input that failed
    (exit 1); ``str(error)`` is a one-line message that names the file and
    says what is wrong.
    """

    def __init__(self, kind: str, path: Union[str, os.PathLike, None], message: str):
        if kind not in AUDIO_ERROR_KINDS:
            raise ValueError(f"unknown AudioError kind {kind!r}")
        self.path = None if path is None else str(path)
        full = f"{self.path}: {message}" if self.path is not None else message
        super().__init__(full, kind=kind)


# --------------------------------------------------------------------------- decoding


def _check_file(path: Union[str, os.PathLike]) -> Path:
    """The checks that need no decoder, so the common mistakes get plain words."""
    p = Path(path)
    if not p.exists():
        raise AudioError("missing", p, "no such file")
    if p.is_dir():
        raise AudioError("unreadable", p, "is a directory, not an audio file")
    if not p.is_file():  # a FIFO or a device: reading it could block for ever, and it is read twice
        raise AudioError("unreadable", p, "is not a regular file (a pipe or a device); save the recording "
                                          "to a file first")
    try:
        with open(p, "rb") as fh:
            head = fh.read(512)
    except PermissionError:
        raise AudioError("unreadable", p, "permission denied") from None
    except OSError as exc:
        raise AudioError("unreadable", p, f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise AudioError("empty", p, "file is empty (0 bytes)")
    return p


#: Leading bytes of the audio containers people actually have, so that a
#: file FFmpeg rejects can be called damaged (it *is* audio) rather than
#: "not audio".  (offset, magic)
_AUDIO_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"RIFF"), (0, b"RF64"), (0, b"ID3"), (0, b"fLaC"), (0, b"OggS"), (4, b"ftyp"),
    (0, b"\x1a\x45\xdf\xa3"), (0, b"FORM"), (0, b"#!AMR"), (0, b"caff"), (0, b".snd"),
)


def _sniff(p: Path) -> str:
    """'audio', 'text' or 'other', from the first bytes, for error messages only."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return "other"
    if any(head[off:off + len(magic)] == magic for off, magic in _AUDIO_MAGIC):
        return "audio"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:  # MPEG audio frame sync
        return "audio"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError:
            pass
    return "other"


def _unopenable(p: Path, exc: BaseException) -> AudioError:
    """The right AudioError for a file FFmpeg could not open."""
    kind = _sniff(p)
    if kind == "audio":
        return AudioError("unreadable", p,
                          f"is damaged or truncated; it cannot be decoded ({_one_line(exc)})")
    if kind == "text":
        return AudioError("not_audio", p, "is a text file, not audio")
    return AudioError("not_audio", p, "is not an audio file (no decoder recognises it)")


class _Decoder:
    """Decodes one file to 16 kHz mono float32, a bounded block at a time.

    PyAV raises on the first bad packet of a damaged file; this keeps what
    decoded before it (and skips single bad packets), so a truncated
    recording is still usable.
    """

    def __init__(self, path: Path):
        import av  # lazy: pulls in FFmpeg

        self.path = path
        self._av = av
        try:
            self._container = av.open(str(path), mode="r", metadata_errors="ignore")
        except av.error.PermissionError:
            raise AudioError("unreadable", path, "permission denied") from None
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise _unopenable(path, exc) from None
        if not self._container.streams.audio:
            self._container.close()
            raise AudioError("not_audio", path, "contains no audio stream")
        self._stream = self._container.streams.audio[0]
        # Let FFmpeg use its threads for codecs that support it; harmless for PCM.
        self._stream.thread_type = "AUTO"
        # Made at the first frame, at that frame's own channel layout: the channels are
        # averaged here, not by FFmpeg, whose mono downmix adds them at -3 dB each, so
        # two identical channels came out 3 dB louder than either, clipping speech
        # recorded near full scale (the same answer scored 48 as stereo, 83 as mono).
        self._resampler = None
        self._packets = self._container.demux(self._stream)
        self._pending: list = []  # float32 blocks decoded but not yet handed out
        self._pending_samples = 0
        self.finished = False
        #: Set when decoding stopped early because the file is damaged.
        self.damaged = False
        self.decoded_samples = 0

    @property
    def container_duration_s(self) -> Optional[float]:
        d = self._container.duration  # in av.time_base units (microseconds); None if unknown
        return None if d is None else d / 1_000_000

    def _decode_more(self) -> None:
        """Decode at least one more packet's worth (or mark the end)."""
        av = self._av
        try:
            packet = next(self._packets)
        except StopIteration:
            self._flush()
            return
        except av.error.FFmpegError as exc:
            log.warning("%s: decoding stopped early (%s)", self.path, _one_line(exc))
            self.damaged = True
            self._flush()
            return
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            # One corrupt packet: skip it, as FFmpeg's own tools do.
            self.damaged = True
            return
        for frame in frames:
            frame.pts = None  # damaged files have broken timestamps; we only need order
            self._resample(frame)

    def _resample(self, frame) -> None:
        if self._resampler is None:
            if frame is None:
                return
            self._resampler = self._av.AudioResampler(format="fltp", layout=frame.layout.name, rate=SAMPLE_RATE_HZ)
        try:
            out_frames = self._resampler.resample(frame)
        except (self._av.error.FFmpegError, ValueError):
            self.damaged = True
            return
        for out in out_frames:
            arr = out.to_ndarray()  # planar: one row per channel
            arr = arr.mean(axis=0, dtype=arr.dtype) if arr.ndim == 2 and arr.shape[0] > 1 else arr.reshape(-1)
            if arr.size:
                self._pending.append(arr)
                self._pending_samples += arr.size
                self.decoded_samples += arr.size

    def _flush(self) -> None:
        if not self.finished:
            self._resample(None)  # drain the resampler's internal buffer
            self.finished = True

    def read(self, max_samples: int) -> "np.ndarray":
        """Up to ``max_samples`` samples; fewer only at the end of the file."""
        import numpy as np

        while self._pending_samples < max_samples and not self.finished:
            self._decode_more()
        if not self._pending:
            return np.zeros(0, dtype=np.float32)
        joined = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        block, rest = joined[:max_samples], joined[max_samples:]
        self._pending = [rest] if rest.size else []
        self._pending_samples = rest.size
        block = np.array(block, dtype=np.float32)  # a copy: `joined` may be large
        # Float WAVs can hold NaN/inf, which would poison the VAD and Whisper, and
        # float samples may exceed full scale.
        np.nan_to_num(block, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        np.clip(block, -1.0, 1.0, out=block)
        return block

    def close(self) -> None:
        try:
            self._container.close()
        except Exception:  # closing a broken container must not mask the real error
            pass


def _one_line(exc: BaseException) -> str:
    """A short reason: FFmpeg's own words without the errno and repeated path."""
    reason = getattr(exc, "strerror", None) or str(exc)
    lines = str(reason).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _open_checked(path: Union[str, os.PathLike], first_block_s: float):
    """Open, decode the first block and apply the empty / too-short / corrupt rules."""
    p = _check_file(path)
    dec = _Decoder(p)
    try:
        first = dec.read(int(first_block_s * SAMPLE_RATE_HZ))
    except BaseException:
        dec.close()
        raise
    n = first.size
    if dec.finished and n < MIN_DURATION_S * SAMPLE_RATE_HZ:
        dec.close()
        if n == 0 and not dec.damaged:
            raise AudioError("empty", p, "contains no audio samples")
        if dec.damaged and n < MIN_DECODED_S * SAMPLE_RATE_HZ:
            raise AudioError("unreadable", p, "is corrupt: no usable audio could be decoded")
        raise AudioError(
            "too_short", p,
            f"is too short ({n / SAMPLE_RATE_HZ:.1f} s); an answer needs at least {MIN_DURATION_S:.0f} s",
        )
    return p, dec, first


def iter_audio_chunks(
    path: Union[str, os.PathLike], chunk_s: float = DEFAULT_CHUNK_S
) -> Iterator["np.ndarray"]:
    """Decode ``path`` as consecutive mono 16 kHz float32 blocks of ``chunk_s`` seconds.

    Every block but the last is exactly ``chunk_s`` long.  Memory stays at
    about one block whatever the file's length.  The file is opened and the
    first block decoded *before* this returns, so a missing, empty,
    non-audio or too-short file raises :class:`AudioError` here rather than
    at the first ``next()``.  A file damaged part-way ends the iteration
    early (with a logged warning) instead of raising.
    """
    if chunk_s < MIN_DURATION_S:
        raise ValueError(f"chunk_s must be at least {MIN_DURATION_S} s")
    block_samples = int(chunk_s * SAMPLE_RATE_HZ)
    _, dec, first = _open_checked(path, chunk_s)

    def blocks() -> Iterator["np.ndarray"]:
        try:
            block = first
            while block.size:
                yield block
                if dec.finished and not dec._pending_samples:
                    break
                block = dec.read(block_samples)
        finally:
            dec.close()

    return blocks()


def load_audio(path: Union[str, os.PathLike], max_duration_s: float = MAX_LOAD_S) -> "np.ndarray":
    """The whole file as mono 16 kHz float32 samples in [-1, 1].

    Raises :class:`AudioError` (see the module docstring for the rules);
    files longer than ``max_duration_s`` are refused as ``too_long`` because
    the samples are held in memory: use :func:`iter_audio_chunks` or
    ``WhisperTranscriber.transcribe_file`` for those.
    """
    import numpy as np

    block_s = min(DEFAULT_CHUNK_S * 4, max(max_duration_s, MIN_DURATION_S))
    p, dec, first = _open_checked(path, block_s)
    limit = int(max_duration_s * SAMPLE_RATE_HZ)
    try:
        known = dec.container_duration_s
        if known is not None and known > max_duration_s + 1.0:
            raise _too_long(p, known, max_duration_s)
        parts = [first]
        total = first.size
        while not (dec.finished and not dec._pending_samples):
            block = dec.read(int(block_s * SAMPLE_RATE_HZ))
            if not block.size:
                break
            total += block.size
            if total > limit:
                raise _too_long(p, None, max_duration_s)
            parts.append(block)
    finally:
        dec.close()
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _too_long(p: Path, known_s: Optional[float], max_s: float) -> AudioError:
    length = f" ({known_s / 60:.0f} min)" if known_s else ""
    return AudioError(
        "too_long", p,
        f"is too long to load at once{length}; the limit is {max_s / 60:.0f} min "
        "(transcription streams long files instead)",
    )


def duration_s(audio: "np.ndarray", sample_rate_hz: int = SAMPLE_RATE_HZ) -> float:
    return float(len(audio)) / sample_rate_hz
