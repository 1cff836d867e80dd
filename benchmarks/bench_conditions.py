"""Delivery metrics and the R-STAR-L checklist outside the lab: two voices, seven rooms.

    python benchmarks/bench_conditions.py [--answers N] [--voices espeak,piper]
                                          [--conditions clean,pink20,...] [--audio-dir DIR]
                                          [--models tiny.en,base.en]

The project's held-out labelled answers (tests/data/answers_heldout*.toml,
``judge.evaluation.load_labelled``; the two files interleaved, the first
``--answers``) are made into scripts with fillers and pauses at places fixed
per answer (``disfluent_script``: a hesitation or a phrase filler before some
sentences, a break between some R-STAR-L parts; seeded by the answer's id),
spoken by espeak-ng and by Piper (tests/voices.py), and put through each
condition:

=========  ==============================================================
clean      as synthesised (22,050 Hz, mono)
pink20     pink noise under the whole file, 20 dB below the speech
pink10     the same at 10 dB SNR
reverb     sox ``reverb`` (reverberance 50 %, room scale 100 %), wet and dry
phone      telephone band: sox ``sinc 300-3400`` and 8 kHz
quiet      peak at -25 dBFS
clipped    12 dB over full scale, clipped
=========  ==============================================================

(SNR is against the power of the speech frames of the clean file, not of
the whole file, so pauses do not make the noise quieter.)

Every file goes through the program's one path for a recording
(``starcoach.analyse_file``: decode, VAD, Whisper, delivery, judge),
and per condition (and voice) we print:

* WER       - word error rate against the script (tests/wer.py on words
              normalised as in benchmarks/prompt_wer.py: digits spelled out,
              filler spellings unified), fillers included;
* fillers   - recall and precision of the filler counts per type
              (``delivery.find_fillers`` on the script is the truth);
* pauses    - breaks >= 1.0 s found as a pause whose length is within
              +-0.35 s; "invented" counts pauses that match no such break;
* pace      - mean and worst |measured wpm / true wpm - 1| (true: words of
              the script over the first-to-last sound of the clean audio);
* checklist - agreement of the six R-STAR-L presence decisions with those
              for the clean text of the labelled answer (the text the
              script was made from, no fillers), and answers whose
              checklist is identical;
* time      - transcription time as a ratio to the clean files' time,
              measured in the same run;
* F1        - a second table: per component, the presence F1 against the
              answers' labels when judged through the audio path, beside
              the F1 of the same answers judged as text, and the drop.

With ``--models A,B,...`` (names ``starcoach models`` lists, such as
``tiny.en`` for the bundled model, or model folders) every file is analysed by each model
in turn, so a busy machine slows them alike; a table is printed per model,
then each model's real-time factor over all its files and its time as a
ratio to the first model's on the same files.

With ``--vad T/N,T/N`` only the voice-activity detector runs (no Whisper):
pauses found and invented per condition for each VAD threshold /
neg_threshold pair, clipped to the true first and last sound (a quick way to
try VAD settings on every condition).

Audio is kept in --audio-dir (default /tmp/starcoach-conditions) and reused;
the speech is the slow part on a shared machine (Piper about 0.3-0.5 x real
time on 2 cores).  Figures are recorded in docs/audio.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from prompt_wer import filler_counts, normalise  # noqa: E402

import voices  # noqa: E402  (tests/voices.py)
from noise import pink_noise, speech_power  # noqa: E402  (tests/noise.py)
from wer import wer  # noqa: E402  (tests/wer.py)

DATA = ROOT / "tests" / "data"
HELD_OUT = ("answers_heldout.toml", "answers_heldout_styles.toml")
CONDITIONS = ("clean", "pink20", "pink10", "reverb", "phone", "quiet", "clipped")
COMPONENTS = ("repeat", "situation", "task", "action", "result", "link_back")
#: A pause is found when its length is within this of the break's.
PAUSE_TOLERANCE_S = 0.35

# --------------------------------------------------------------------------- scripts

_HESITATIONS = ("Um,", "Uh,", "So, um,", "Uh,", "Um,")
_PHRASES = ("You know,", "I mean,", "Basically,")
#: Break lengths between R-STAR-L parts (0 = none); 0.6 s must not be reported as a pause.
_BREAKS_MS = (0, 0, 600, 1200, 1500, 2000, 2500)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def disfluent_script(item_id: str, segments) -> str:
    """The labelled answer as spoken: fillers before some sentences, breaks between some parts."""
    rng = random.Random(item_id)
    out = []
    for k, (_label, text) in enumerate(segments):
        if k:
            ms = rng.choice(_BREAKS_MS)
            if ms:
                out.append(f'<break time="{ms}ms"/>')
        for sentence in _SENTENCE.split(text.strip()):
            r = rng.random()
            if r < 0.25:
                sentence = f"{rng.choice(_HESITATIONS)} {_lower_first(sentence)}"
            elif r < 0.33:
                sentence = f"{rng.choice(_PHRASES)} {_lower_first(sentence)}"
            out.append(sentence)
    return " ".join(out)


def _lower_first(s: str) -> str:
    first = s.split(" ", 1)[0]
    if first in {"I", "I'm", "I'd", "I've", "I'll"} or (len(first) > 1 and first[1].isupper()):
        return s
    return s[:1].lower() + s[1:]


# --------------------------------------------------------------------------- conditions


def _read(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    x, rate = sf.read(str(path), dtype="float32")
    return x, rate


def _write(path: Path, x: np.ndarray, rate: int) -> None:
    import soundfile as sf

    sf.write(str(path), np.clip(x, -1.0, 1.0), rate, subtype="PCM_16")


def make_condition(clean: Path, condition: str, out: Path, seed: int) -> Path:
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".part.wav")
    if condition in ("reverb", "phone"):
        effect = ["reverb"] if condition == "reverb" else ["sinc", "300-3400", "rate", "8000"]
        subprocess.run(["sox", "-G", str(clean), str(tmp), *effect], check=True, capture_output=True)
    else:
        x, rate = _read(clean)
        if condition.startswith("pink"):
            snr_db = float(condition[4:])
            noise = pink_noise(x.size, seed) * np.sqrt(speech_power(x, rate) / 10 ** (snr_db / 10))
            y = x + noise
        elif condition == "quiet":
            y = x * (10 ** (-25 / 20) / np.abs(x).max())
        elif condition == "clipped":
            y = x * (10 ** (12 / 20) / np.abs(x).max())
        else:
            raise ValueError(condition)
        _write(tmp, y, rate)
    tmp.replace(out)
    return out


# --------------------------------------------------------------------------- scoring


@dataclass
class Tally:
    words: int = 0
    errors: float = 0.0
    fillers_true: int = 0
    fillers_got: int = 0
    fillers_hit: int = 0
    pauses_true: int = 0
    pauses_found: int = 0
    pauses_invented: int = 0
    pause_errors: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    pace: list[float] = field(default_factory=list)
    agree: int = 0
    decisions: int = 0
    same_checklist: int = 0
    answers: int = 0
    seconds: float = 0.0
    audio_s: float = 0.0
    disagreements: dict[str, int] = field(default_factory=dict)

    def add(self, other: "Tally") -> None:
        for k, v in vars(other).items():
            mine = getattr(self, k)
            if isinstance(v, dict):
                for kk, vv in v.items():
                    mine[kk] = mine.get(kk, 0) + vv
            else:
                setattr(self, k, mine + v)


def score(spoken: voices.Spoken, clean_checklist: dict[str, bool], a, seconds: float, name: str) -> Tally:
    t = Tally(answers=1, seconds=seconds, audio_s=a.duration_s or 0.0)
    ref = normalise(spoken.text)
    hyp = normalise(a.transcript)
    t.words = len(ref)
    t.errors = wer(" ".join(ref), " ".join(hyp)) * len(ref)
    truth = filler_counts(spoken.text)
    got = a.delivery.filler_counts if a.delivery else {}
    t.fillers_true, t.fillers_got = sum(truth.values()), sum(got.values())
    t.fillers_hit = sum(min(n, got.get(k, 0)) for k, n in truth.items())
    pauses = list(a.delivery.pauses) if a.delivery else []
    used = set()
    for start, end in spoken.breaks:
        if end - start < 1.0:
            continue
        t.pauses_true += 1
        match = [i for i, p in enumerate(pauses) if i not in used and p.start_s < end and
                 p.start_s + p.duration_s > start and abs(p.duration_s - (end - start)) <= PAUSE_TOLERANCE_S]
        if match:
            used.add(match[0])
            t.pauses_found += 1
            t.pause_errors.append(pauses[match[0]].duration_s - (end - start))
        else:
            near = [f"{p.duration_s:.2f}" for p in pauses if p.start_s < end and p.start_s + p.duration_s > start]
            t.missed.append(f"{name} {end - start:.1f}s@{start:.1f} -> {near or 'none'}")
    t.pauses_invented = len(pauses) - len(used)
    wpm = a.delivery.wpm if a.delivery else 0.0
    t.pace.append(wpm / spoken.true_wpm - 1.0)
    t.decisions = len(COMPONENTS)
    for c in COMPONENTS:
        same = a.structure[c].present == clean_checklist[c] if a.structure else False
        t.agree += same
        if not same:
            t.disagreements[c] = t.disagreements.get(c, 0) + 1
    t.same_checklist = int(t.agree == t.decisions)
    return t


def presence_f1(pairs) -> float:
    """F1 of (gold, predicted) presence pairs (1.0 when there is nothing to find and nothing found)."""
    tp = sum(1 for g, p in pairs if g and p)
    fp = sum(1 for g, p in pairs if p and not g)
    fn = sum(1 for g, p in pairs if g and not p)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def f1_rows(items, checklists, clean_lists, conditions, use_voices) -> list[str]:
    """Per condition and voice: each component's F1 through audio, against text ('text' row first)."""
    head = "| judged | " + " | ".join(COMPONENTS) + " |"
    lines = [head, "| --- |" + " --- |" * len(COMPONENTS)]
    gold = {it.id: set(it.present) for it in items}
    text_f1 = {c: presence_f1([(c in gold[i], clean_lists[i][c]) for i in gold]) for c in COMPONENTS}
    lines.append("| text (the labelled answers) | " + " | ".join(f"{text_f1[c]:.2f}" for c in COMPONENTS) + " |")
    for cond in conditions:
        for v in use_voices:
            got = {i: cl for (cd, vv, i), cl in checklists.items() if cd == cond and vv == v}
            if not got:
                continue
            cells = []
            for c in COMPONENTS:
                f = presence_f1([(c in gold[i], got[i][c]) for i in got])
                tf = presence_f1([(c in gold[i], clean_lists[i][c]) for i in got])
                cells.append(f"{f:.2f} ({f - tf:+.2f})")
            lines.append(f"| {cond}, {v} ({len(got)}) | " + " | ".join(cells) + " |")
    return lines


def row(label: str, t: Tally, clean_rate: float | None) -> str:
    rec = t.fillers_hit / t.fillers_true if t.fillers_true else 1.0
    prec = t.fillers_hit / t.fillers_got if t.fillers_got else 1.0
    pace = np.abs(np.array(t.pace)) if t.pace else np.zeros(1)
    worst_pause = max((abs(e) for e in t.pause_errors), default=0.0)
    rate = t.seconds / t.audio_s if t.audio_s else 0.0
    speed = f"{rate / clean_rate:.2f}" if clean_rate else "-"
    return (f"| {label} | {100 * t.errors / max(1, t.words):.1f} % | {rec:.2f} ({t.fillers_hit}/{t.fillers_true}) "
            f"| {prec:.2f} | {t.pauses_found}/{t.pauses_true} (worst {worst_pause:.2f} s) | {t.pauses_invented} "
            f"| {100 * pace.mean():.1f} % / {100 * pace.max():.1f} % "
            f"| {t.agree / max(1, t.decisions):.2f} ({t.same_checklist}/{t.answers}) | {speed} |")


HEADER = ("| condition | WER | filler recall | filler precision | pauses >= 1 s found | invented pauses "
          "| pace error mean / worst | checklist agreement (same) | time / clean |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")


# --------------------------------------------------------------------------- main


def load_answers(n: int | None):
    from starcoach.judge.evaluation import load_labelled

    sets = [load_labelled(DATA / name) for name in HELD_OUT]
    items = [s[k] for k in range(max(map(len, sets))) for s in sets if k < len(s)]
    return items[:n] if n else items


def company_of(cid):
    from starcoach import load_catalogue

    if not cid:
        return None
    try:
        return load_catalogue().company(cid)
    except Exception:  # a company the catalogue has no profile for: judged without one
        return None


def load_transcriber(model):
    """``model``: None (the bundled one), a name ``starcoach models`` lists, or a model folder."""
    from starcoach.speech.models import find_models, lookup
    from starcoach.speech.transcribe import WhisperTranscriber, resolve_model
    from starcoach.store.location import default_data_dir

    found = lookup(model, find_models(default_data_dir(), os.environ)) if model else None
    tx = WhisperTranscriber(found.path if found is not None and found.usable else resolve_model(model))
    tx.warm_up()
    return tx


def main(argv: list[str] | None = None) -> int:
    from starcoach import analyse_file, analyse_text

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--answers", type=int, default=None, help="the first N held-out answers (default: all)")
    ap.add_argument("--voices", default=",".join(voices.VOICES))
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--audio-dir", type=Path, default=Path(tempfile_dir()))
    ap.add_argument("--model", default=None, help="speech model (default: the bundled tiny.en)")
    ap.add_argument("--models", default=None, metavar="A,B,...",
                    help="compare these models on the same files, alternating (the first is the time baseline)")
    ap.add_argument("--json", type=Path, default=None, help="write one JSON line per file here")
    ap.add_argument("--vad", default=None, metavar="T/N,...",
                    help="only the VAD: pauses per threshold/neg_threshold pair, e.g. 0.5/0.35,0.35/0.2")
    ap.add_argument("--show", action="store_true", help="print each transcript and the missed pauses")
    args = ap.parse_args(argv)
    use_voices = [v for v in args.voices.split(",") if v]
    conditions = [c for c in args.conditions.split(",") if c]
    for v in use_voices:
        if not voices.available(v):
            ap.error(f"voice {v!r} is not installed (scripts/bootstrap.sh --test)")
    if "clean" in conditions:
        conditions.remove("clean")
    conditions.insert(0, "clean")  # the time baseline

    items = load_answers(args.answers)
    t0 = time.perf_counter()
    spoken: dict[tuple[str, str], voices.Spoken] = {}
    for it in items:
        script = disfluent_script(it.id, it.segments)
        for v in use_voices:
            spoken[it.id, v] = voices.cached(script, args.audio_dir / "clean", v, name=it.id)
    audio_total = sum(s.speech_end_s for s in spoken.values())
    print(f"{len(items)} answers x {len(use_voices)} voices, {audio_total / 60:.1f} min of speech per condition "
          f"(speech made or found in {time.perf_counter() - t0:.0f} s); load {os.getloadavg()[0]:.1f}",
          flush=True)

    if args.vad:
        return vad_sweep(items, use_voices, conditions, spoken, args)

    clean_lists = {}
    for it in items:
        a = analyse_text(it.text, input=it.id, question=it.question or None, company=company_of(it.company))
        clean_lists[it.id] = {c: a.structure[c].present for c in COMPONENTS}

    models = [m for m in args.models.split(",") if m] if args.models else [args.model]
    transcribers = []
    for m in models:
        tx = load_transcriber(m)
        print(f"model {m or 'bundled tiny.en'}: {tx.model_path} (load {tx.load_s:.1f} s)", flush=True)
        transcribers.append(tx)
    results: dict[tuple[int, str, str], Tally] = {}
    checklists: dict[tuple[int, str, str, str], dict[str, bool]] = {}
    out = open(args.json, "w") if args.json else None
    for cond in conditions:
        for v in use_voices:
            totals = [Tally() for _ in models]
            for k, it in enumerate(items):
                s = spoken[it.id, v]
                path = make_condition(s.path, cond, args.audio_dir / cond / s.path.name, seed=k) \
                    if cond != "clean" else s.path
                for mi, transcriber in enumerate(transcribers):
                    t = time.perf_counter()
                    a = analyse_file(path, question=it.question or None, company=company_of(it.company),
                                     transcriber=transcriber)
                    took = time.perf_counter() - t
                    if a.error:
                        print(f"  {cond} {v} {it.id}: {a.error.message}")
                        continue
                    tally = score(s, clean_lists[it.id], a, took, f"{it.id}/{v}/{cond}")
                    checklists[mi, cond, v, it.id] = {c: a.structure[c].present for c in COMPONENTS}
                    totals[mi].add(tally)
                    if out:
                        out.write(json.dumps({"model": models[mi], "condition": cond, "voice": v, "id": it.id,
                                              "truth": s.text, "transcript": a.transcript, "seconds": took,
                                              "pauses": [[p.start_s, p.duration_s] for p in a.delivery.pauses],
                                              "breaks": s.breaks, "wpm": a.delivery.wpm, "true_wpm": s.true_wpm,
                                              "fillers": a.delivery.filler_counts,
                                              "checklist": {c: a.structure[c].present for c in COMPONENTS},
                                              "clean_checklist": clean_lists[it.id]}) + "\n")
                        out.flush()
                    if args.show:
                        print(f"  {models[mi] or 'bundled'} {cond} {v} {it.id}: "
                              f"WER {tally.errors / max(1, tally.words):.2f} {tally.missed}")
            for mi in range(len(models)):
                results[mi, cond, v] = totals[mi]
            print(f"  {cond:<8} {v:<7} done, load {os.getloadavg()[0]:.1f}", flush=True)

    for mi, m in enumerate(models):
        if len(models) > 1:
            print(f"\n### {m or 'bundled tiny.en'}")
        print_tables(results, checklists, items, clean_lists, mi, conditions, use_voices)
    if len(models) > 1:
        print("\n| model | real-time factor, all files | time / first model, same files |\n| --- | --- | --- |")
        base = sum(results[0, c, v].seconds for c in conditions for v in use_voices)
        for mi, m in enumerate(models):
            secs = sum(results[mi, c, v].seconds for c in conditions for v in use_voices)
            audio = sum(results[mi, c, v].audio_s for c in conditions for v in use_voices)
            print(f"| {m or 'bundled tiny.en'} | {secs / audio if audio else 0:.3f} | {secs / base if base else 0:.2f} |")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}; {time.perf_counter() - t0:.0f} s in all")
    return 0


def print_tables(results, checklists, items, clean_lists, mi: int, conditions, use_voices) -> None:
    """The tables of one model's results (``mi``: its place in --models)."""
    clean_rate = {}
    for v in use_voices:
        t = results[mi, "clean", v]
        clean_rate[v] = t.seconds / t.audio_s if t.audio_s else None
    all_clean = Tally()
    for v in use_voices:
        all_clean.add(results[mi, "clean", v])
    print()
    print(HEADER)
    for cond in conditions:
        both = Tally()
        for v in use_voices:
            print(row(f"{cond}, {v}", results[mi, cond, v], clean_rate[v]))
            both.add(results[mi, cond, v])
        if len(use_voices) > 1:
            print(row(f"**{cond}, both**", both, all_clean.seconds / all_clean.audio_s if all_clean.audio_s else None))
    print()
    for cond in conditions:
        for v in use_voices:
            t = results[mi, cond, v]
            if t.missed or t.disagreements:
                print(f"{cond}, {v}: checklist changes {t.disagreements}; missed pauses: {'; '.join(t.missed)}")
    print("\nPresence F1 against the labels, through the audio path (in brackets: against the same answers "
          "judged as text):\n")
    mine = {(cd, vv, i): cl for (m, cd, vv, i), cl in checklists.items() if m == mi}
    print("\n".join(f1_rows(items, mine, clean_lists, conditions, use_voices)))


def vad_sweep(items, use_voices, conditions, spoken, args) -> int:
    from starcoach.speech.decode import load_audio
    from starcoach.speech.pauses import find_pauses
    from starcoach.speech.vad import PAUSE_VAD_OPTIONS, speech_spans

    pairs = [tuple(float(v) for v in p.split("/")) for p in args.vad.split(",")]
    print("| condition | " + " | ".join(f"VAD {t:g}/{n:g}: found, invented" for t, n in pairs) + " |")
    print("| --- |" + " --- |" * len(pairs))
    for cond in conditions:
        cells = []
        for thr, neg in pairs:
            found = true = invented = 0
            for k, it in enumerate(items):
                for v in use_voices:
                    s = spoken[it.id, v]
                    path = make_condition(s.path, cond, args.audio_dir / cond / s.path.name, seed=k) \
                        if cond != "clean" else s.path
                    x = load_audio(path)
                    spans = speech_spans(x, options={**PAUSE_VAD_OPTIONS, "threshold": thr, "neg_threshold": neg})
                    pauses = find_pauses(spans, s.speech_start_s, s.speech_end_s)
                    used = set()
                    for start, end in s.breaks:
                        if end - start < 1.0:
                            continue
                        true += 1
                        match = [i for i, p in enumerate(pauses) if i not in used and p.start_s < end
                                 and p.start_s + p.duration_s > start
                                 and abs(p.duration_s - (end - start)) <= PAUSE_TOLERANCE_S]
                        if match:
                            used.add(match[0])
                            found += 1
                    invented += len(pauses) - len(used)
            cells.append(f"{found}/{true}, {invented}")
        print(f"| {cond} | " + " | ".join(cells) + " |", flush=True)
    return 0


def tempfile_dir() -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), "starcoach-conditions")


if __name__ == "__main__":
    raise SystemExit(main())
