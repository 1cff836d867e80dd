"""Does a disfluency prompt cost us content?  Word error rate and filler recall per strategy.

Whisper drops "um" and "uh" unless it is prompted with text full of them,
and such a prompt can make it skip whole sentences.  This benchmark speaks
nine interview answers with espeak-ng (our own wording, 40-75 s each, with
fillers and SSML pauses; the text is the ground truth), transcribes them
under several prompt strategies with the bundled tiny.en model, and prints
for each strategy:

* WER       - word error rate over all words, fillers included;
* cWER      - "content" WER: fillers removed from both sides, so it measures
              only the words that carry the answer (what a prompt may lose);
* recall    - share of the ground-truth fillers (delivery.find_fillers on the
              text) found in the transcript, counted per filler type;
* skipped   - runs of >= 4 consecutive ground-truth words missing from the
              transcript (the "prompt skipped a sentence" failure);
* RTF       - transcription seconds per audio second.

With ``--pauses`` it measures instead how well the VAD times the silences
(against the runs of digital silence in the espeak-ng audio), for several
VAD paddings, clean and with added white noise.

Run:  .venv/bin/python benchmarks/prompt_wer.py [--strategies a,b] [--beam N] [--pauses]
Figures are recorded in docs/audio.md.  The corpus and the helpers here are
also used by benchmarks/bench_transcribe.py.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Runnable from a checkout without installing: put src/ on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

#: espeak-ng speaking rate (words per minute) used for every answer.
ESPEAK_RATE_WPM = 160

# Ground truth: the text with the SSML breaks removed.  Fillers are spelled as
# a transcript would spell them.  espeak-ng cannot say some of them in a way
# Whisper recognises (it reads "hmm" as "firm", and "ah"/"er" come out as a
# bare vowel); SPOKEN_AS swaps in a spelling it pronounces well, and the
# corpus avoids "ah" and "er" (docs/audio.md).
ANSWERS: dict[str, str] = {
    "disagreement": """
So, um, you asked about a time I disagreed with a teammate. <break time="1200ms"/>
In my last role I was a backend engineer at a freight company, and, uh, we were
moving our billing service to a new database. My colleague wanted to, like,
rewrite everything at once. I mean, I understood why, but I thought it was too
risky. <break time="1500ms"/> So my task was to find a plan we could both support
before the quarter ended. Hmm, the first thing I did was sit down with him and,
you know, list every risk on a whiteboard. Then I proposed that we move one table
at a time behind a feature flag. I wrote the migration scripts myself and
basically ran them every night against a copy of production. <break time="2000ms"/>
In the end we finished two weeks early, and we had zero billing errors during the
switch. He actually told our manager that the plan was better than his. That is
the kind of ownership I would bring to your team.
""",
    "failure": """
Um, a time I failed. <break time="1000ms"/> Okay. Two years ago I led the launch
of a mobile checkout feature for a small retail app. Uh, the task was to ship it
before the holiday sale, and I, um, promised a date without asking the testers.
We sort of skipped the load tests because we were late. <break time="2500ms"/> On
the first day of the sale the payment page slowed down and, like, a third of the
customers gave up. I mean, it was literally the worst week of my career. I rolled
the feature back within an hour, wrote a clear report for the directors, and then
set up load tests that run on every release. Since then we have not had a single
outage during a sale. The lesson for me was, you know, to never commit to a date
that the whole team has not checked.
""",
    "favourite_project": """
I would like to talk about a project I really liked. <break time="1200ms"/> At a
health startup, our support team did not like the old ticket tool, and it looked
like nobody owned the problem. Uh, so I volunteered. My task was to find a tool
that people would like to use every day. I asked each agent what they liked and
what they hated. Most of them said the search felt like a maze. Um, I built a
small prototype that looked like the tool they already knew, but with a faster
search, just like the one our engineers used. <break time="1800ms"/> After a month
the agents said they liked it much more, and the average reply time dropped from
nine hours to three. It seems like small tools like this one can change a whole
team, and that is something I would like to keep doing here.
""",
    "deadline": """
Hmm, a tight deadline. <break time="1000ms"/> Last spring our biggest client asked
for a new reporting dashboard in, like, ten days instead of six weeks. I was the
only front end developer on the account. Um, my task was to deliver something
useful without burning out the team. So, basically, I split the request into must
haves and nice to haves, and I showed the client a plan on the second day.
<break time="1500ms"/> Uh, they agreed to get the three most important charts
first. I paired with a data engineer every morning, and we, you know, demoed
progress every evening. We actually delivered the first version on day nine.
<break time="3000ms"/> The client renewed their contract for another two years,
and my manager asked me to write down the process for other teams.
""",
    "learning": """
So, I mean, the best example is when I had to learn Kubernetes in about a month.
Um, our company was leaving a hosting provider, and the person who knew our
servers had just left. <break time="1300ms"/> My task was to move twelve services
without any downtime. Uh, I kind of panicked at first, to be honest. Then I made
a plan. I read the official tutorials every morning, I rebuilt one small service
every afternoon, and I asked a friend at another company to review my files.
<break time="2200ms"/> Hmm, the hardest part was the database. I literally
practiced the switch five times on a copy. In the end, like, all twelve services
moved over a weekend, and customers did not notice anything. The hosting bill also
dropped by about a third.
""",
    "customer": """
Okay, um, a difficult customer. <break time="1000ms"/> I worked in technical
support for a software company that sold accounting tools. One customer, uh,
called every day and was honestly quite rude to the agents. My task was to figure
out why he was so upset and, you know, keep his account. <break time="1600ms"/> I
listened to his old calls first. It turned out that an update had broken his
monthly reports, and nobody had, like, connected the dots. So I asked an engineer
to reproduce the bug, and I called him back with a date for the fix. I mean, I
also sent him a workaround the same afternoon. <break time="2400ms"/> He actually
thanked the team in a public review, and he is still a customer today. Um, I think
that shows how I handle pressure.
""",
    "process": """
Sure. So, uh, at my last job the release process took, like, a whole day.
<break time="1100ms"/> Every release needed three people and a long checklist, and
mistakes were common. Um, I was asked to make it faster without adding risk.
<break time="1500ms"/> Basically, I automated the checklist step by step. First, I
wrote a script that built and tested every branch. Then I added a button that
deployed to a staging server. Hmm, the last step was a health check that rolled
back on its own. <break time="2000ms"/> Uh, after two months a release took about
twenty minutes, and it only needed one person. The number of failed releases fell
by more than half. I think, you know, it made the whole team a lot calmer on
Fridays.
""",
    "mentoring": """
Um, a time I helped a colleague. <break time="1000ms"/> A new analyst joined our
team and, uh, she was struggling with our reporting code. It was, like, ten years
old and nobody had written any documents. My task was to get her productive within
her first month. <break time="1700ms"/> So I sort of became her mentor. We met for
thirty minutes every day, and I basically walked her through one report at a time.
I mean, I also wrote down everything we learned in a shared guide.
<break time="2600ms"/> By the end of the month she was fixing bugs on her own, and
the guide is now used by every new hire. Um, she actually said it was the most
useful onboarding she had ever had.
""",
    "ambiguity": """
Hmm, ambiguity. <break time="1200ms"/> So, um, last year my manager asked me to,
like, improve customer retention, and that was the whole brief. There were no
targets and no data owner. Uh, my first task was to decide what retention even
meant for us. <break time="1400ms"/> I talked to sales, support and finance, and,
you know, they all had different numbers. I proposed one simple definition and I
literally printed it on the team board. Then I built a weekly report and tested
three small changes to our welcome emails. <break time="2800ms"/> Um, one of them
raised the ninety day retention by four points. Actually, the finance team now
uses my definition in their own reports.
""",
}

#: How espeak-ng is told to say a filler so that it sounds like one.
SPOKEN_AS = {"hmm": "hm", "Hmm": "Hm"}

_BREAK = re.compile(r'<break time="(\d+)ms"\s*/>')


@dataclass(frozen=True)
class SpokenAnswer:
    name: str
    path: Path
    text: str  # ground truth, no markup
    breaks_s: tuple[float, ...]  # SSML break lengths, in order


def ground_truth(markup: str) -> str:
    return " ".join(_BREAK.sub(" ", markup).split())


def breaks_s(markup: str) -> tuple[float, ...]:
    return tuple(int(ms) / 1000.0 for ms in _BREAK.findall(markup))


def spoken_markup(markup: str) -> str:
    text = " ".join(markup.split())
    for word, said in SPOKEN_AS.items():
        text = re.sub(rf"\b{word}\b", said, text)
    return f"<speak>{text}</speak>"


def synthesise(markup: str, path: Path, rate_wpm: int = ESPEAK_RATE_WPM) -> Path:
    """Speak SSML ``markup`` into a WAV file with espeak-ng."""
    subprocess.run(
        ["espeak-ng", "-m", "-s", str(rate_wpm), "-w", str(path), spoken_markup(markup)],
        check=True, capture_output=True,
    )
    return path


def make_corpus(directory: Path, answers: dict[str, str] = ANSWERS) -> list[SpokenAnswer]:
    out = []
    for name, markup in answers.items():
        path = directory / f"{name}.wav"
        if not path.exists():
            synthesise(markup, path)
        out.append(SpokenAnswer(name, path, ground_truth(markup), breaks_s(markup)))
    return out


# --------------------------------------------------------------------------- scoring

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen " \
        "fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_FILLER_SPELLINGS = {"umm": "um", "ummm": "um", "uhm": "um", "erm": "um", "uhh": "uh", "uhhh": "uh",
                     "hm": "hmm", "hmmm": "hmm", "mm": "hmm", "mmm": "hmm", "ok": "okay"}


def _number_words(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        rest = _number_words(n % 100) if n % 100 else []
        return [_ONES[n // 100], "hundred"] + rest
    return [str(n)]


def normalise(text: str) -> list[str]:
    """Lower-case words for WER: no punctuation, digits spelled out, filler spellings unified."""
    text = text.lower().replace("%", " percent").replace("-", " ")
    words = []
    for raw in text.split():
        w = re.sub(r"[^a-z0-9']", "", raw).strip("'")
        if not w:
            continue
        if w.isdigit():
            words.extend(_number_words(int(w)))
        else:
            words.append(_FILLER_SPELLINGS.get(w, w))
    return words


def edit_ops(ref: list[str], hyp: list[str]) -> tuple[int, list[bool]]:
    """Levenshtein distance and, per reference word, whether it was matched exactly."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    matched = [False] * n
    i, j = n, m
    while i > 0 and j > 0:
        if ref[i - 1] == hyp[j - 1] and d[i][j] == d[i - 1][j - 1]:
            matched[i - 1] = True
            i, j = i - 1, j - 1
        elif d[i][j] == d[i - 1][j - 1] + 1:
            i, j = i - 1, j - 1
        elif d[i][j] == d[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return d[n][m], matched


def longest_missing_runs(matched: list[bool], min_run: int = 4) -> int:
    """Runs of >= min_run consecutive unmatched reference words (skipped content)."""
    runs, current = 0, 0
    for ok in matched + [True]:
        if not ok:
            current += 1
        else:
            runs += current >= min_run
            current = 0
    return runs


def content_words(text: str) -> list[str]:
    """Normalised words with the filler items removed (per delivery.find_fillers)."""
    from starcoach.model import Word
    from starcoach.speech.delivery import filler_word_indices

    words = [Word(w, 0.0, 0.0) for w in text.split()]
    drop = filler_word_indices(words)
    kept = " ".join(w.text for k, w in enumerate(words) if k not in drop)
    return normalise(kept)


def filler_counts(text: str) -> dict[str, int]:
    from starcoach.model import Word
    from starcoach.speech.delivery import find_fillers

    counts: dict[str, int] = {}
    for f in find_fillers([Word(w, 0.0, 0.0) for w in text.split()]):
        counts[f.word] = counts.get(f.word, 0) + 1
    return counts


def filler_recall(truth: str, hyp: str) -> tuple[int, int]:
    """(found, expected): per type, a transcript gets credit for up to the true count."""
    t, h = filler_counts(truth), filler_counts(hyp)
    return sum(min(n, h.get(k, 0)) for k, n in t.items()), sum(t.values())


@dataclass
class Score:
    errors: int = 0
    ref_words: int = 0
    content_errors: int = 0
    content_words: int = 0
    fillers_found: int = 0
    fillers_expected: int = 0
    skipped_runs: int = 0
    audio_s: float = 0.0
    compute_s: float = 0.0

    def add(self, truth: str, hyp: str, audio_s: float, compute_s: float) -> None:
        ref, got = normalise(truth), normalise(hyp)
        e, _ = edit_ops(ref, got)
        self.errors += e
        self.ref_words += len(ref)
        cref, cgot = content_words(truth), content_words(hyp)
        ce, matched = edit_ops(cref, cgot)
        self.content_errors += ce
        self.content_words += len(cref)
        self.skipped_runs += longest_missing_runs(matched)
        found, expected = filler_recall(truth, hyp)
        self.fillers_found += found
        self.fillers_expected += expected
        self.audio_s += audio_s
        self.compute_s += compute_s

    def row(self, name: str) -> str:
        return (f"{name:<20} WER {100 * self.errors / self.ref_words:5.1f}%  "
                f"cWER {100 * self.content_errors / self.content_words:5.1f}%  "
                f"filler recall {self.fillers_found:3d}/{self.fillers_expected:<3d} "
                f"({100 * self.fillers_found / max(1, self.fillers_expected):5.1f}%)  "
                f"skipped runs {self.skipped_runs:2d}  RTF {self.compute_s / self.audio_s:.3f}")


# --------------------------------------------------------------------------- pauses

#: VAD settings compared by --pauses (the first is faster-whisper's default
#: padding; PAUSE_VAD_OPTIONS is what starcoach uses).
PAUSE_VAD_VARIANTS = {
    "pad 400 ms (faster-whisper default)": {"speech_pad_ms": 400, "min_silence_duration_ms": 300},
    "pad 100 ms": {"speech_pad_ms": 100},
    "pad 30 ms": {"speech_pad_ms": 30},
    "pad 0 ms (starcoach)": {},
}


def true_silences_s(path: Path, min_s: float = 0.25) -> list[tuple[float, float]]:
    """(start_s, duration_s) of the runs of digital silence espeak-ng writes between words."""
    import numpy as np
    import soundfile as sf

    x, rate = sf.read(str(path))
    quiet = np.abs(x) < 1e-4
    edges = np.diff(np.concatenate([[0], quiet.astype(int), [0]]))
    starts, ends = np.where(edges == 1)[0], np.where(edges == -1)[0]
    return [(a / rate, (b - a) / rate) for a, b in zip(starts, ends)
            if (b - a) / rate >= min_s and a > 0 and b < len(x)]


def pause_accuracy(corpus: list[SpokenAnswer], noise_db: float | None = None) -> None:
    """Silence durations by the VAD against the true runs of zeros, per VAD variant."""
    import numpy as np

    from starcoach.speech.decode import load_audio
    from starcoach.speech.pauses import find_pauses
    from starcoach.speech.vad import PAUSE_VAD_OPTIONS, speech_spans

    truth = {a.name: true_silences_s(a.path) for a in corpus}
    audio = {a.name: load_audio(a.path) for a in corpus}
    n_true = sum(1 for v in truth.values() for _, d in v if d >= 1.0)
    label = "clean" if noise_db is None else f"white noise at {noise_db:g} dB"
    print(f"pauses ({label}): {n_true} true silences >= 1.0 s")
    for name, opts in PAUSE_VAD_VARIANTS.items():
        errors, missed, spurious = [], 0, 0
        for a in corpus:
            x = audio[a.name]
            if noise_db is not None:
                rng = np.random.default_rng(0)
                x = x + (rng.standard_normal(x.size) * 10 ** (noise_db / 20)).astype(np.float32)
            spans = speech_spans(x, options={**PAUSE_VAD_OPTIONS, **opts})
            measured = find_pauses(spans, 0.0, len(x) / 16000, min_pause_s=1.0)
            used = set()
            for start, dur in truth[a.name]:
                mid = start + dur / 2
                match = [p for p in measured if abs(p.start_s + p.duration_s / 2 - mid) < 0.5]
                if dur >= 1.0:
                    if match:
                        errors.append(match[0].duration_s - dur)
                    else:
                        missed += 1
                used.update(match)
            spurious += sum(1 for p in measured if p not in used or
                            not any(abs(p.start_s + p.duration_s / 2 - (s + d / 2)) < 0.5 and d >= 0.95
                                    for s, d in truth[a.name]))
        e = np.array(errors) if errors else np.zeros(1)
        print(f"  {name:<38} mean error {e.mean():+.3f} s  worst {np.abs(e).max():.3f} s  "
              f"missed {missed}/{n_true}  spurious {spurious}")


def main(argv: list[str] | None = None) -> int:
    from starcoach.speech.decode import load_audio
    from starcoach.speech.transcribe import PROMPT_STRATEGIES, WhisperTranscriber
    from starcoach.speech.whisper_model import resolve_model

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--strategies", default=",".join(PROMPT_STRATEGIES),
                    help="comma-separated, from: " + ", ".join(PROMPT_STRATEGIES))
    ap.add_argument("--beam", type=int, default=None, help="beam size (default: the transcriber's)")
    ap.add_argument("--temperature", default=None,
                    help="comma-separated temperature schedule, e.g. 0 (default: the transcriber's)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--show", action="store_true", help="print each transcript")
    ap.add_argument("--keep", type=Path, default=None, help="directory for the WAVs (default: temporary)")
    ap.add_argument("--pauses", action="store_true",
                    help="instead: pause durations by the VAD against the true silences")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        corpus = make_corpus(directory)
        if args.pauses:
            pause_accuracy(corpus)
            pause_accuracy(corpus, noise_db=-40)
            pause_accuracy(corpus, noise_db=-35)
            return 0
        audio = {a.name: load_audio(a.path) for a in corpus}
        total_s = sum(len(x) for x in audio.values()) / 16000
        print(f"corpus: {len(corpus)} answers, {total_s:.0f} s of espeak-ng speech, "
              f"{sum(len(normalise(a.text)) for a in corpus)} words")
        kwargs: dict = {} if args.beam is None else {"beam_size": args.beam}
        if args.temperature is not None:
            kwargs["temperatures"] = [float(t) for t in args.temperature.split(",")]
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for strategy in args.strategies.split(","):
            tr = WhisperTranscriber(resolve_model(args.model), prompt_strategy=strategy, **kwargs)
            tr.warm_up()
            score = Score()
            for a in corpus:
                t0 = time.perf_counter()
                result = tr.transcribe(audio[a.name])
                score.add(a.text, result.text, len(audio[a.name]) / 16000, time.perf_counter() - t0)
                if args.show:
                    print(f"  [{a.name}] {result.text}")
            label = strategy + (f" b{args.beam}" if args.beam else "") + (
                f" t{args.temperature}" if args.temperature else "")
            redone = f"  (prompted windows redone: {tr.rederived})" if strategy == "dual" else ""
            print(score.row(label) + redone, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
