"""Transcription alone: starcoach's two passes against bare faster-whisper greedy, CPU and wall time.

    python benchmarks/bench_passes.py [--audio-dir DIR] [--threads 1] [--rounds 2] [--compare-src OLD/src]

The files are those of benchmarks/bench_batch.py (labelled answers spoken by
espeak-ng, made there and kept in --audio-dir).  Each contender runs in its
own process and loads its model once; then the files are handed out one at
a time, each to every contender in turn, and each transcription is timed
(wall time, and CPU time of every thread of that process):

* ``bare``:      faster-whisper's ``WhisperModel.transcribe`` (greedy, word
                 timestamps, no VAD, no prompt), what bench_batch.py compares
                 against;
* ``starcoach``: ``WhisperTranscriber.transcribe_file`` (decoding, VAD, both
                 passes), from this checkout's src/ or, with --compare-src,
                 also from an earlier version's (e.g. ``git archive BASE | tar -x
                 -C /tmp/base``, then --compare-src /tmp/base/src).

``--threads 1`` is how a batch worker runs (one process per core), 2 how one
file is analysed on a 2-core machine.  Only one contender works at a time,
and which goes first changes from file to file, so a change in the
machine's speed (other work, a neighbour on the host) falls on all alike;
--rounds repeats the whole set, and the ratios are taken within a round.  Printed per run of starcoach: windows whose prompted decoding the
hesitation gate left out, decoded again with the short prompt, and redone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _Bare:
    def __init__(self, threads: int):
        import numpy as np
        from faster_whisper import WhisperModel

        from starcoach.speech.whisper_model import resolve_model

        self.model = WhisperModel(resolve_model(None), device="cpu", compute_type="int8", cpu_threads=threads,
                                  local_files_only=True)
        noise = (np.random.default_rng(0).standard_normal(24000) * 0.01).astype(np.float32)
        self.transcribe(noise)  # warmed up as starcoach's is

    def transcribe(self, audio) -> int:
        segments, _ = self.model.transcribe(audio, language="en", word_timestamps=True, beam_size=1)
        return sum(len(s.words or ()) for s in segments)

    def counters(self) -> dict:
        return {}


class _Starcoach:
    def __init__(self, threads: int):
        from starcoach.speech.transcribe import WhisperTranscriber

        self.tr = WhisperTranscriber(cpu_threads=threads)
        self.tr.warm_up()

    def transcribe(self, path) -> int:
        return len(self.tr.transcribe_file(path).words)

    def counters(self) -> dict:
        return {"gated": getattr(self.tr, "gated", 0), "retried": getattr(self.tr, "retried", 0),
                "redone": getattr(self.tr, "rederived", 0)}


def child(kind: str, threads: int) -> None:
    """Runs in the contender's own process: loads once, then times each file named on standard input."""
    worker = _Bare(threads) if kind == "bare" else _Starcoach(threads)
    print("ready", flush=True)
    for line in sys.stdin:
        path = line.rstrip("\n")
        c0, t0 = _cpu_s(), time.perf_counter()
        words = worker.transcribe(path)
        print(json.dumps({"wall": time.perf_counter() - t0, "cpu": _cpu_s() - c0, "words": words,
                          **worker.counters()}), flush=True)


class Contender:
    def __init__(self, name: str, src: Path, threads: int):
        self.name = name
        kind = "bare" if name == "bare" else "starcoach"
        self.proc = subprocess.Popen([sys.executable, __file__, "--child", kind, "--threads", str(threads)],
                                     env=dict(os.environ, PYTHONPATH=str(src)), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def transcribe(self, path: str) -> dict:
        self.proc.stdin.write(path + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audio-dir", type=Path, default=Path(tempfile.gettempdir()) / "starcoach-bench-audio")
    ap.add_argument("--minutes", type=float, default=15.0, help="audio to make if --audio-dir has less")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--compare-src", type=Path, default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.threads)
        return 0

    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_batch import _duration, make_audio

    files = [str(f) for f in make_audio(args.audio_dir, args.minutes)]
    audio_s = sum(_duration(Path(f)) for f in files)
    print(f"{len(files)} files, {audio_s / 60:.1f} min of audio, {args.threads} thread(s), {os.cpu_count()} cores; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    names = [("bare", ROOT / "src"), ("starcoach", ROOT / "src")]
    if args.compare_src is not None:
        names.append(("earlier", args.compare_src))
    contenders = [Contender(name, src, args.threads) for name, src in names]
    ratios: dict[str, list[tuple[float, float]]] = {}
    try:
        for round_no in range(args.rounds):
            total = {c.name: {"wall": 0.0, "cpu": 0.0, "words": 0} for c in contenders}
            last: dict[str, dict] = {}
            for k, f in enumerate(files):
                # File by file, each contender in turn, the first one changing from file to file: a
                # change in the machine's speed falls on all of them alike.
                shift = (k + round_no) % len(contenders)
                for c in contenders[shift:] + contenders[:shift]:
                    r = c.transcribe(f)
                    for key in ("wall", "cpu", "words"):
                        total[c.name][key] += r[key]
                    last[c.name] = r
            for c in contenders:
                t, r = total[c.name], last[c.name]
                extra = "" if c.name == "bare" else (f", windows so far: gated {r['gated']}, "
                                                    f"retried {r['retried']}, redone {r['redone']}")
                print(f"round {round_no + 1}: {c.name:<10} wall {t['wall']:6.1f} s  CPU {t['cpu']:6.1f} s  "
                      f"RTF {t['wall'] / audio_s:.3f}  {t['words']} words{extra}", flush=True)
            print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            for name in total:
                if name != "bare":
                    ratios.setdefault(f"{name}/bare", []).append(
                        (total[name]["wall"] / total["bare"]["wall"], total[name]["cpu"] / total["bare"]["cpu"]))
            if "earlier" in total:
                ratios.setdefault("starcoach/earlier", []).append(
                    (total["starcoach"]["wall"] / total["earlier"]["wall"],
                     total["starcoach"]["cpu"] / total["earlier"]["cpu"]))
    finally:
        for c in contenders:
            c.close()
    for label, rs in ratios.items():
        print(f"{label:<18} wall {', '.join(f'{w:.2f}' for w, _ in rs)};  CPU {', '.join(f'{c:.2f}' for _, c in rs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
