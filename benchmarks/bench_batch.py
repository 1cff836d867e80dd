"""Batch throughput: `starcoach analyse DIR` against bare faster-whisper on the same files.

    python benchmarks/bench_batch.py [--minutes 30] [--audio-dir DIR]

Speaks labelled answers from tests/data with espeak-ng until there are at
least --minutes of audio (kept in --audio-dir, reused between runs), then:

1. runs the real command (`starcoach analyse DIR --json`, fresh data folder,
   so nothing is cached) and times it end to end, model loading included;
2. transcribes the same files with bare faster-whisper in one process (same
   bundled model, int8, all cores, word timestamps, no VAD, no prompt) as
   the baseline: once with faster-whisper's default beam search (5), once
   greedy (beam 1, as starcoach decodes).

Prints files per minute and the real-time factor (wall time / audio time) of
both, and how much slower the full pipeline is than the baseline.
Targets (issue "Batch analysis"): whole-batch RTF <= 0.06, at most 10 % slower
than the baseline.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_audio(folder: Path, minutes: float) -> list[Path]:
    from starcoach.judge.evaluation import load_labelled

    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("*.wav"))
    total = sum(_duration(p) for p in existing)
    if total >= minutes * 60:
        return existing
    items = load_labelled(ROOT / "tests" / "data" / "answers_dev.toml")
    out = list(existing)
    for i, it in enumerate(items):
        if total >= minutes * 60:
            break
        path = folder / f"answer-{i:03d}.wav"
        if path.exists():
            continue
        raw = path.with_suffix(".raw.wav")
        subprocess.run(["espeak-ng", "-s", "155", "-w", str(raw), it.text], check=True, capture_output=True)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", str(path)], check=True, capture_output=True)
        raw.unlink()
        (folder / f"answer-{i:03d}.txt").write_text(it.question + "\n")
        total += _duration(path)
        out.append(path)
    return sorted(out)


def _duration(p: Path) -> float:
    import soundfile as sf

    return sf.info(str(p)).duration


def bare_faster_whisper(files: list[Path], beam_size: int) -> float:
    from faster_whisper import WhisperModel

    from starcoach.transcribe import resolve_model

    t0 = time.perf_counter()
    model = WhisperModel(resolve_model(None), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1,
                         local_files_only=True)
    for f in files:
        segments, _ = model.transcribe(str(f), language="en", word_timestamps=True, beam_size=beam_size)
        for _ in segments:
            pass
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--audio-dir", type=Path, default=Path(tempfile.gettempdir()) / "starcoach-bench-audio")
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()
    files = make_audio(args.audio_dir, args.minutes)
    audio_s = sum(_duration(f) for f in files)
    print(f"{len(files)} files, {audio_s / 60:.1f} min of audio, {os.cpu_count()} cores")

    exe = Path(sys.executable).parent / "starcoach"
    with tempfile.TemporaryDirectory() as home:
        t0 = time.perf_counter()
        p = subprocess.run([str(exe), "analyse", str(args.audio_dir), "--json"], capture_output=True, text=True,
                           env={**os.environ, "STARCOACH_HOME": home})
        ours_s = time.perf_counter() - t0
    ok = sum(1 for line in p.stdout.splitlines() if '"error": null' in line)
    print(f"starcoach analyse: {ours_s:.1f} s, {len(files) / ours_s * 60:.1f} files/min, "
          f"RTF {ours_s / audio_s:.3f} ({ok}/{len(files)} analysed, exit {p.returncode})")
    if not args.skip_baseline:
        # faster-whisper's defaults (beam 5), and greedy decoding as starcoach uses.
        for beam in (5, 1):
            base_s = bare_faster_whisper(files, beam)
            print(f"bare faster-whisper, one process, beam {beam}: {base_s:.1f} s, "
                  f"{len(files) / base_s * 60:.1f} files/min, RTF {base_s / audio_s:.3f}; "
                  f"starcoach vs this: {100 * (ours_s / base_s - 1):+.0f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
