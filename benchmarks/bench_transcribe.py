"""How fast, and how big, is local transcription?  Load time, warm-up, real-time factor, peak memory.

Speaks the benchmark corpus (benchmarks/prompt_wer.py, ~7 minutes of
espeak-ng answers) into one long WAV, optionally repeated to reach
``--minutes``, then in this process:

* model load time   - WhisperTranscriber() with the bundled tiny.en, int8, all cores;
* warm-up time      - WhisperTranscriber.warm_up();
* VAD RTF           - Silero VAD alone over the decoded audio;
* RTF               - transcribe_file() end to end (decode + VAD + Whisper, streamed
                      in windows), seconds of compute per second of audio;
* analysis         - R-STAR-L analysis and delivery metrics on the transcript;
* peak RSS          - the peak of each phase (VmHWM, reset between phases; Linux) and the
                      largest of them (ru_maxrss where the reset is not available).

Targets: RTF <= 0.1, peak RSS < 500 MB.  Run each length in its own process
(peak RSS is a lifetime maximum):

    .venv/bin/python benchmarks/bench_transcribe.py              # the corpus once
    .venv/bin/python benchmarks/bench_transcribe.py --minutes 60 # memory stays flat

Figures are recorded in docs/audio.md.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from prompt_wer import make_corpus  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def phase_peak_mb() -> float:
    """Peak RSS since the last call (VmHWM, then reset through /proc/self/clear_refs); 0 where unsupported."""
    try:
        with open("/proc/self/status") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return hwm
    except (OSError, StopIteration, ValueError):
        return 0.0


def build_long_wav(directory: Path, minutes: float | None) -> Path:
    """The corpus answers back to back with 2 s of silence, repeated to ``minutes``."""
    corpus = make_corpus(directory)
    once = directory / "corpus_once.wav"
    gap = directory / "gap.wav"
    subprocess.run(["sox", "-n", "-r", "22050", "-c", "1", "-b", "16", str(gap), "trim", "0", "2"],
                   check=True)
    parts = []
    for a in corpus:
        parts += [str(a.path), str(gap)]
    subprocess.run(["sox", *parts, str(once)], check=True)
    if minutes is None:
        return once
    once_s = float(subprocess.run(["soxi", "-D", str(once)], capture_output=True, text=True,
                                  check=True).stdout)
    repeats = max(1, int(minutes * 60 / once_s + 0.999))
    long = directory / f"corpus_{minutes:g}min.wav"
    subprocess.run(["sox", *([str(once)] * repeats), str(long)], check=True)
    return long


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=None, help="repeat the corpus to this length")
    ap.add_argument("--strategy", default=None, help="prompt strategy (default: the transcriber's)")
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = build_long_wav(Path(tmp), args.minutes)
        base_rss = peak_rss_mb()

        from starcoach.speech.decode import SAMPLE_RATE_HZ, iter_audio_chunks
        from starcoach.speech.transcribe import DEFAULT_PROMPT_STRATEGY, WhisperTranscriber
        from starcoach.speech.vad import speech_spans
        from starcoach.speech.whisper_model import resolve_model
        from starcoach.speech.windows import WINDOW_S

        strategy = args.strategy or DEFAULT_PROMPT_STRATEGY
        t0 = time.perf_counter()
        tr = WhisperTranscriber(resolve_model(args.model), prompt_strategy=strategy)
        load_s = time.perf_counter() - t0
        warm_s = tr.warm_up()
        phases = {"model load and warm-up": phase_peak_mb()}

        # The VAD alone, window by window as the transcriber runs it.
        audio_s = 0.0
        vad_s = 0.0
        for block in iter_audio_chunks(path, chunk_s=WINDOW_S):
            audio_s += block.size / SAMPLE_RATE_HZ
            t0 = time.perf_counter()
            speech_spans(block)
            vad_s += time.perf_counter() - t0
        phases["VAD alone"] = phase_peak_mb()

        t0 = time.perf_counter()
        result = tr.transcribe_file(path)
        run_s = time.perf_counter() - t0
        phases["transcription"] = phase_peak_mb()

        # The analysis the user sees next (R-STAR-L + delivery), on the whole transcript.
        from starcoach.catalogue.banks import load_catalogue
        from starcoach.pipeline.process import analyse_transcript

        company = load_catalogue().company("doordash")
        t0 = time.perf_counter()
        analysed = analyse_transcript(result, input=str(path), company=company,
                                      question="Tell me about a time you took ownership of a problem.")
        analysis_s = time.perf_counter() - t0
        phases["analysis"] = phase_peak_mb()

    print(f"audio: {audio_s:.0f} s ({audio_s / 60:.1f} min) of espeak-ng speech, "
          f"{len(result.words)} words; strategy {strategy}, beam {tr.beam_size}, "
          f"{tr.cpu_threads} threads on {os.cpu_count()} cores")
    print(f"model load:  {tr.load_s:.2f} s (constructor {load_s:.2f} s)")
    print(f"warm-up:     {warm_s:.2f} s")
    print(f"VAD alone:   {vad_s:.2f} s  RTF {vad_s / audio_s:.4f}")
    print(f"transcribe:  {run_s:.1f} s  RTF {run_s / audio_s:.3f}  (target <= 0.1)")
    print(f"analysis:    {analysis_s:.2f} s  (R-STAR-L + delivery, score {analysed.score})")
    total = run_s + analysis_s
    print(f"transcribe + analysis: RTF {total / audio_s:.3f}  (target <= 0.1)")
    # Resetting VmHWM between phases resets ru_maxrss with it: the run's peak is the largest of both.
    peak = max([peak_rss_mb(), *[v for v in phases.values() if v]])
    print(f"peak RSS:    {peak:.0f} MB  (python + numpy before the model: {base_rss:.0f} MB; "
          f"target < 500 MB)")
    if any(phases.values()):
        print("peak RSS by phase: " + ", ".join(f"{k} {v:.0f} MB" for k, v in phases.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
