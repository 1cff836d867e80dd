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

Prints the real-time factor (wall time / audio time) and the CPU time (user +
system, every thread and worker process) of each and, because
absolute times differ on every machine and with every other process that
shares it, the ratios measured in the same run: starcoach / bare greedy
(target <= 1.15), starcoach / bare beam 5, and with --compare-src
starcoach / an earlier version of starcoach (e.g. `git archive BASE | tar -x
-C /tmp/base`, then --compare-src /tmp/base/src), and the same ratios of CPU
time, which other work on the machine sways less than the wall time.  The
contenders run interleaved, --rounds times, with the load average printed
after each.

With --engine ray, the command also runs with `--engine ray` (a local Ray
instance, one actor per core) beside the local engine on the same files, and
each run reports files/min, RTF and the peak memory (VmHWM) of each worker
process (the local engine's spawned processes, Ray's actors); the figure that
counts is ray / local throughput, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

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


def _cpu_s(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


#: CPU seconds (user + system) of the last contender run, every thread and process of it.
last_cpu_s = 0.0


def bare_faster_whisper(files: list[Path], beam_size: int) -> float:
    from faster_whisper import WhisperModel

    from starcoach.speech.whisper_model import resolve_model

    global last_cpu_s
    c0 = _cpu_s(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    model = WhisperModel(resolve_model(None), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1,
                         local_files_only=True)
    for f in files:
        segments, _ = model.transcribe(str(f), language="en", word_timestamps=True, beam_size=beam_size)
        for _ in segments:
            pass
    took = time.perf_counter() - t0
    last_cpu_s = _cpu_s(resource.RUSAGE_SELF) - c0
    return took


def run_starcoach(folder: Path, src: Optional[Path] = None, args: tuple[str, ...] = (),
                  memory: Optional[dict[str, int]] = None) -> tuple[float, int, int]:
    """`starcoach analyse DIR --json [ARGS]` in a fresh data folder: (seconds, files analysed, exit status).

    ``src``: run the starcoach found in that source folder instead (e.g. an
    older commit unpacked with `git archive`), with this environment's packages.
    ``memory``: filled with each worker process's peak resident memory (pid -> bytes).
    """
    env = dict(os.environ)
    if src is None:
        cmd = [str(Path(sys.executable).parent / "starcoach")]
    else:
        cmd = [sys.executable, "-m", "starcoach"]
        env["PYTHONPATH"] = str(src)
    global last_cpu_s
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryFile("w+") as out:
        env["STARCOACH_HOME"] = home
        c0 = _cpu_s(resource.RUSAGE_CHILDREN)  # the command and its workers, once waited for
        t0 = time.perf_counter()
        proc = subprocess.Popen([*cmd, "analyse", str(folder), "--json", *args], stdout=out,
                                stderr=subprocess.DEVNULL, text=True, env=env)
        while proc.poll() is None:
            if memory is not None:
                memory.update(_worker_peaks(proc.pid, memory))
            time.sleep(0.2)
        took = time.perf_counter() - t0
        last_cpu_s = _cpu_s(resource.RUSAGE_CHILDREN) - c0
        out.seek(0)
        ok = sum(1 for line in out if '"error": null' in line)
    return took, ok, proc.returncode


def _worker_peaks(root: int, seen: dict[int, int]) -> dict[int, int]:
    """Peak RSS (VmHWM) of every transcription worker below ``root``: spawned pool processes, Ray actors."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    below, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - below
        below |= frontier
    out = {}
    for pid in below:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if pid in seen or b"spawn_main" in cmdline or b"ray::TranscribeActor" in cmdline:
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    out[pid] = max(seen.get(pid, 0), int(line.split()[1]) * 1024)
    return out


def _memory_line(memory: dict[int, int]) -> str:
    if not memory:
        return "no worker seen"
    mb = sorted(v / 2**20 for v in memory.values())
    return f"peak memory per worker {mb[-1]:.0f} MB max, {sum(mb) / len(mb):.0f} MB mean ({len(mb)} workers)"


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--audio-dir", type=Path, default=Path(tempfile.gettempdir()) / "starcoach-bench-audio")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--no-beam5", action="store_true", help="skip bare faster-whisper at beam 5")
    ap.add_argument("--compare-src", type=Path, default=None,
                    help="also run the starcoach in this src/ folder (an earlier version) in the same run")
    ap.add_argument("--rounds", type=int, default=1, help="repeat the whole comparison, interleaved")
    ap.add_argument("--engine", choices=("local", "ray"), default="local",
                    help="ray: also run `--engine ray` on the same files and report ray / local throughput")
    args = ap.parse_args()
    files = make_audio(args.audio_dir, args.minutes)
    audio_s = sum(_duration(f) for f in files)
    print(f"{len(files)} files, {audio_s / 60:.1f} min of audio, {os.cpu_count()} cores; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    ratios: dict[str, list[float]] = {}
    cpu_ratios: dict[str, list[float]] = {}
    for round_no in range(args.rounds):
        times: dict[str, float] = {}
        cpu: dict[str, float] = {}
        # Interleaved, so that a change in the machine's load hits every contender alike; the two
        # engines take turns at going first.
        engines = ["starcoach", "ray"] if args.engine == "ray" else ["starcoach"]
        for key in engines[::-1] if round_no % 2 else engines:
            memory: dict[int, int] = {}
            extra = ("--engine", "ray") if key == "ray" else ()
            took, ok, code = run_starcoach(args.audio_dir, args=extra, memory=memory)
            times[key] = took
            cpu[key] = last_cpu_s
            print(f"starcoach analyse{' --engine ray' if extra else ''}: {took:.1f} s (CPU {last_cpu_s:.1f} s), "
                  f"{len(files) / took * 60:.1f} files/min, RTF {took / audio_s:.3f}, {_memory_line(memory)} "
                  f"({ok}/{len(files)} analysed, exit {code}; {_load()})", flush=True)
        if "ray" in times:
            ratios.setdefault("ray", []).append(times["starcoach"] / times["ray"])
        if not args.skip_baseline:
            took = bare_faster_whisper(files, 1)
            times["greedy"] = took
            cpu["greedy"] = last_cpu_s
            print(f"bare faster-whisper, one process, beam 1: {took:.1f} s (CPU {last_cpu_s:.1f} s), "
                  f"RTF {took / audio_s:.3f} ({_load()})", flush=True)
        if args.compare_src is not None:
            took, ok, code = run_starcoach(args.audio_dir, args.compare_src)
            times["earlier"] = took
            cpu["earlier"] = last_cpu_s
            print(f"starcoach analyse from {args.compare_src}: {took:.1f} s (CPU {last_cpu_s:.1f} s), "
                  f"RTF {took / audio_s:.3f} "
                  f"({ok}/{len(files)} analysed, exit {code}; {_load()})", flush=True)
        if not args.skip_baseline and not args.no_beam5:
            took = bare_faster_whisper(files, 5)
            times["beam5"] = took
            cpu["beam5"] = last_cpu_s
            print(f"bare faster-whisper, one process, beam 5: {took:.1f} s (CPU {last_cpu_s:.1f} s), "
                  f"RTF {took / audio_s:.3f} ({_load()})", flush=True)
        for key in ("greedy", "beam5", "earlier"):
            if key in times:
                ratios.setdefault(key, []).append(times["starcoach"] / times[key])
                cpu_ratios.setdefault(key, []).append(cpu["starcoach"] / cpu[key])
    names = {"greedy": "bare faster-whisper greedy (beam 1)", "beam5": "bare faster-whisper beam 5",
             "earlier": f"starcoach from {args.compare_src}"}
    for key, rs in ratios.items():
        if key == "ray":
            print(f"throughput, --engine ray / local engine: {', '.join(f'{r:.2f}' for r in rs)}  (target >= 0.85)")
            continue
        target = "  (target <= 1.15)" if key == "greedy" else ""
        print(f"starcoach / {names[key]}: {', '.join(f'{r:.2f}' for r in rs)}{target}")
    for key, rs in cpu_ratios.items():
        print(f"CPU time, starcoach / {names[key]}: {', '.join(f'{r:.2f}' for r in rs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
