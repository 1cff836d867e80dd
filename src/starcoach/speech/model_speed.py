"""How fast each speech model transcribes on this machine: measured once, kept in the data folder.

``starcoach models --measure`` loads a model, warms it up and transcribes a clip the way
``practice`` and ``analyse`` do (both passes, ``speech.transcribe.WhisperTranscriber``); the figure
is the real-time factor (transcription seconds per second of audio) and what it means for a 60 s
answer.  The clip is the first 60 s of the example answer the program ships
(``examples/answer.ogg``: 69 s of an interview answer with pauses and fillers, spoken by espeak-ng
when the examples were made, so every machine times the same audio), or a recording the user gives
(``--clip``: their own voice).

Figures are kept in ``<data folder>/model-speed.json`` (schema ``starcoach.model_speed/1``), one
per model folder and machine (CPU model and core count): a listing shows only this machine's, and a
model folder whose ``model.bin`` changed size is measured afresh.  The file is written whole or not
at all (``files.write_atomic``), after each model, so Ctrl-C keeps the figures already taken.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from starcoach.errors import StarcoachError

__all__ = ["CLIP_S", "Machine", "SPEED_FILE", "SpeedFileError", "SpeedRecord", "default_clip", "measure",
           "read_speeds", "save_speed", "speed_for", "this_machine"]

SPEED_FILE = "model-speed.json"
SCHEMA = "starcoach.model_speed/1"
#: The answer length the figure is for; a clip longer than this is cut to it.
CLIP_S = 60.0


class SpeedFileError(StarcoachError):
    """The speed file cannot be read or written (one line)."""


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int


def this_machine() -> Machine:
    """The CPU's model name (from /proc/cpuinfo where there is one) and the number of logical cores."""
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    cpu = value.strip()
                    break
    except OSError:
        pass
    return Machine(cpu or platform.processor() or platform.machine() or "unknown CPU", os.cpu_count() or 1)


@dataclass(frozen=True)
class SpeedRecord:
    """One measurement: ``rtf`` is transcription time over audio time (0.1: a 60 s answer takes 6 s)."""

    path: str  # the model folder, as resolved (symbolic links followed)
    model_bin_bytes: int
    name: str  # the name it was listed under when measured
    cpu: str
    cores: int
    threads: int
    rtf: float
    load_s: float
    clip: str
    clip_s: float
    measured_at: str  # ISO 8601, local time with offset
    load_before: Optional[float]  # 1-minute load average just before (other work on the machine)

    @property
    def seconds_per_60s(self) -> float:
        return self.rtf * CLIP_S

    def to_json(self) -> dict:
        return {"rtf": round(self.rtf, 4), "seconds_per_60s": round(self.seconds_per_60s, 2),
                "load_s": round(self.load_s, 2), "threads": self.threads, "cpu": self.cpu, "cores": self.cores,
                "clip": self.clip, "clip_s": round(self.clip_s, 2), "measured_at": self.measured_at,
                "load_before": self.load_before}


def model_key(path: str) -> tuple[str, int]:
    """What a figure belongs to: the real folder and the size of its model.bin (0 if unreadable)."""
    real = os.path.realpath(path)
    try:
        size = os.stat(os.path.join(real, "model.bin")).st_size
    except OSError:
        size = 0
    return real, size


def read_speeds(data_dir: Path) -> list[SpeedRecord]:
    """The figures kept in the data folder (none if there is no file); SpeedFileError if it is unreadable."""
    path = data_dir / SPEED_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as e:
        raise SpeedFileError(f"{path} cannot be read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise SpeedFileError(f"{path} is not a speed file (not UTF-8 text)") from None
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(doc.get("measurements"), list):
            raise ValueError(f"not a {SCHEMA} document")
        fields = SpeedRecord.__dataclass_fields__
        return [SpeedRecord(**{k: m[k] for k in fields}) for m in doc["measurements"]]
    except (ValueError, KeyError, TypeError) as e:
        raise SpeedFileError(f"{path} is not a speed file starcoach can read ({_reason(e)}); "
                             "`starcoach models --measure` writes it again") from None


def _reason(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def speed_for(model_path: str, records: Sequence[SpeedRecord], machine: Machine) -> Optional[SpeedRecord]:
    """The latest figure for this model folder on this machine, if it was measured here."""
    real, size = model_key(model_path)
    mine = [r for r in records if r.path == real and r.model_bin_bytes == size and r.cpu == machine.cpu
            and r.cores == machine.cores]
    return max(mine, key=lambda r: r.measured_at) if mine else None


def save_speed(data_dir: Path, record: SpeedRecord, previous: Sequence[SpeedRecord]) -> None:
    """Keep ``record`` in place of any earlier figure for the same folder and machine; OSError if refused."""
    from starcoach.files import write_atomic

    kept = [r for r in previous if not (r.path == record.path and r.cpu == record.cpu and r.cores == record.cores)]
    doc = {"schema": SCHEMA, "measurements": [asdict(r) for r in (*kept, record)]}
    write_atomic(data_dir / SPEED_FILE, json.dumps(doc, indent=1, ensure_ascii=False) + "\n", make_parent=True)


# --------------------------------------------------------------------------- the clip and the measurement


def default_clip() -> Path:
    from starcoach.catalogue.banks import examples_dir

    return examples_dir() / "answer.ogg"


def load_clip(path: Path) -> "tuple[object, float]":
    """The first :data:`CLIP_S` seconds of ``path`` as 16 kHz samples, and their length in seconds.

    Raises ``speech.decode.AudioError`` for a file that is not usable audio.
    """
    import numpy as np

    from starcoach.speech.decode import SAMPLE_RATE_HZ, iter_audio_chunks

    limit = int(CLIP_S * SAMPLE_RATE_HZ)
    blocks, have = [], 0
    for block in iter_audio_chunks(path, chunk_s=min(30.0, CLIP_S)):
        blocks.append(block[: limit - have])
        have += blocks[-1].size
        if have >= limit:
            break
    samples = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    return samples, samples.size / SAMPLE_RATE_HZ


def measure(model_path: str, name: str, samples, clip_s: float, clip_name: str, *,
            on_stage: Callable[[str], None] = lambda stage: None,
            make_transcriber: Optional[Callable[[str], object]] = None,
            clock: Callable[[], float] = time.perf_counter,
            machine: Optional[Machine] = None) -> SpeedRecord:
    """Load the model, warm it up, transcribe ``samples`` once; the figure.

    ``on_stage`` is told "loading" and then "transcribing" (for progress on standard error).
    ``make_transcriber`` stands in for ``WhisperTranscriber`` in tests.  Raises ``ModelNotFound``
    when the model does not load and ``TranscriptionError`` when it fails to run.
    """
    if make_transcriber is None:
        from starcoach.speech.transcribe import WhisperTranscriber

        make_transcriber = WhisperTranscriber
    machine = machine or this_machine()
    try:
        load_before: Optional[float] = round(os.getloadavg()[0], 2)
    except OSError:
        load_before = None
    on_stage("loading")
    t0 = clock()
    tx = make_transcriber(model_path)
    tx.warm_up()
    load_s = clock() - t0
    on_stage("transcribing")
    t0 = clock()
    tx.transcribe(samples)
    took = clock() - t0
    real, size = model_key(model_path)
    return SpeedRecord(path=real, model_bin_bytes=size, name=name, cpu=machine.cpu, cores=machine.cores,
                       threads=int(getattr(tx, "cpu_threads", machine.cores) or machine.cores),
                       rtf=took / clip_s if clip_s > 0 else 0.0, load_s=load_s, clip=clip_name, clip_s=clip_s,
                       measured_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), load_before=load_before)
