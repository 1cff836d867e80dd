"""Making a WAV that its writer never closed exact again.

A recording cut off by a kill (or by libsndfile's unclosed header) says
"unknown" or "0" where the sizes belong.  Readers differ on what they do with
that, so the next start repairs the file before the answer is analysed
(``commands.recover_unfinished``).  Also where the writer marks a new file
"to the end of the file" (:func:`mark_sizes_unknown`).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from starcoach.speech.decode import AudioError

__all__ = ["UNKNOWN_SIZE", "PathLike", "mark_sizes_unknown", "repair_wav"]

PathLike = Union[str, "os.PathLike[str]"]

#: A RIFF size meaning "unknown / to the end of the file" (the convention of
#: streamed WAV, e.g. FFmpeg writing to a pipe).  libsndfile, FFmpeg, sox and
#: Python's ``wave`` all read such a file to the end of its data.
UNKNOWN_SIZE = 0xFFFFFFFF


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


def mark_sizes_unknown(path: Path) -> None:
    with open(path, "r+b") as fh:
        layout = _wav_layout(fh, path)
        fh.seek(4)
        fh.write(struct.pack("<I", UNKNOWN_SIZE))
        fh.seek(layout.data_size_offset)
        fh.write(struct.pack("<I", UNKNOWN_SIZE))


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
    byte-for-byte alone.  Raises :class:`~starcoach.speech.decode.AudioError` for a
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
        if declared not in (0, UNKNOWN_SIZE) and data_end <= lay.file_size and (
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
