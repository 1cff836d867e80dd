"""Filler "like" on spoken answers: recall and precision, and where a miss comes from.

    python benchmarks/like_fillers.py [--voices espeak,piper] [--audio-dir DIR]

Thirty-two sentences written for this benchmark, fifteen with "like" as a filler
("the build was like broken", "it took like three weeks") and seventeen with it
as a verb, a preposition or after a verb of seeming ("I like working with
the support team", "tools like Grafana", "it looked like the cache was
stale").  They are spoken in groups of five by espeak-ng and by Piper
(tests/voices.py), 1.2 s of silence between sentences, and each group goes
through the program's transcriber and filler rule
(``WhisperTranscriber.transcribe_file``, ``delivery.find_fillers``).  A
filler found is given to the sentence whose time span holds it.

Per voice it prints recall and precision of the filler "like", and splits the
misses: the word was not in the transcript at all (the transcription dropped
it) or it was there and the rule did not count it.  The rule alone, on the
written sentences, is printed too.  Audio is kept in --audio-dir (default
/tmp/starcoach-like) and reused.  Figures are recorded in docs/audio.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import voices  # noqa: E402  (tests/voices.py)
from starcoach.model import Word  # noqa: E402
from starcoach.speech.delivery import find_fillers  # noqa: E402

#: (sentence, number of times "like" is a filler in it)
SENTENCES: tuple[tuple[str, int], ...] = (
    ("The build was, like, broken for two days.", 1),
    ("I like working with the support team.", 0),
    ("Then the schema just like changed overnight.", 1),
    ("We would like to keep the old API.", 0),
    ("We had, like, no tests for the billing code.", 1),
    ("It looked like the cache was stale.", 0),
    ("It took like three weeks to get access.", 1),
    ("Tools like Grafana made it easier to see.", 0),
    ("The queue was like totally full by noon.", 1),
    ("It felt like a long week for everyone.", 0),
    ("So we were like stuck on the old version.", 1),
    ("The new flow works like the old one.", 0),
    ("The dashboard was like really slow to load.", 1),
    ("They did not like the first design.", 0),
    ("We spent like half the sprint on it.", 1),
    ("Something like that happened again in March.", 0),
    ("The logs were, like, gone after the restart.", 1),
    ("It sounds like a small change, but it was not.", 0),
    ("Our lead just like left the company.", 1),
    ("We built it just like the mobile team did.", 0),
    ("The fix was like done in a day.", 1),
    ("Customers like fast refunds.", 0),
    ("The build was like broken every morning.", 1),
    ("It was like a maze in the old code.", 0),
    ("She was, like, we cannot ship this.", 1),
    ("I'd like to add one more detail.", 0),
    ("The tickets were like piling up again.", 1),
    ("People like her make a team better.", 0),
    ("We had like forty alerts a night.", 1),
    ("It seemed like the right call at the time.", 0),
    ("The new tool was like Jira, only faster.", 0),
    ("It was like working in the dark.", 0),
)
GROUP = 5
BREAK_MS = 1200


def rule_only() -> tuple[int, int, int]:
    """(true positives, false positives, misses) of the rule on the written sentences."""
    tp = fp = fn = 0
    for text, truth in SENTENCES:
        found = sum(f.word == "like" for f in find_fillers([Word(w, 0.0, 0.0) for w in text.split()]))
        tp += min(found, truth)
        fp += max(0, found - truth)
        fn += max(0, truth - found)
    return tp, fp, fn


def measure(voice: str, audio_dir: Path, transcriber) -> dict[str, int]:
    out = {"tp": 0, "fp": 0, "dropped": 0, "rule": 0, "heard": 0, "said": 0}
    for g in range(0, len(SENTENCES), GROUP):
        group = SENTENCES[g:g + GROUP]
        script = f' <break time="{BREAK_MS}ms"/> '.join(text for text, _ in group)
        spoken = voices.cached(script, audio_dir, voice, name=f"like-{g // GROUP}")
        t = transcriber.transcribe_file(spoken.path)
        # Sentence k runs from the end of break k-1 to the start of break k.
        edges = [b[0] + (b[1] - b[0]) / 2 for b in spoken.breaks]
        found = [0] * len(group)
        heard = [0] * len(group)
        for f in find_fillers(t.words):
            if f.word == "like":
                found[sum(f.start_s >= e for e in edges)] += 1
        for w in t.words:
            if w.text.strip(" ,.!?").lower() == "like":
                heard[sum(w.start_s >= e for e in edges)] += 1
        for (text, truth), n, h in zip(group, found, heard):
            said = text.lower().replace(",", "").split().count("like")
            out["said"] += said
            out["heard"] += min(h, said)
            out["tp"] += min(n, truth)
            out["fp"] += max(0, n - truth)
            miss = max(0, truth - n)
            dropped = min(miss, max(0, said - h))
            out["dropped"] += dropped
            out["rule"] += miss - dropped
            if miss or n > truth:
                print(f"  {voice}: {'missed' if miss else 'extra'}: {text!r} -> heard "
                      f"{' '.join(w.text.strip() for w in t.words if edges_of(w, edges, group, text))!r}")
    return out


def edges_of(w: Word, edges: list[float], group, text: str) -> bool:
    k = [t for t, _ in group].index(text)
    lo = edges[k - 1] if k else float("-inf")
    hi = edges[k] if k < len(edges) else float("inf")
    return lo <= w.start_s < hi


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voices", default="espeak,piper")
    p.add_argument("--audio-dir", type=Path, default=Path("/tmp/starcoach-like"))
    args = p.parse_args(argv)
    from starcoach.speech.transcribe import WhisperTranscriber

    tp, fp, fn = rule_only()
    print(f"rule on the written sentences: recall {tp / (tp + fn):.2f} ({tp}/{tp + fn}), "
          f"precision {tp / max(1, tp + fp):.2f} ({fp} false)")
    transcriber = WhisperTranscriber()
    for voice in args.voices.split(","):
        if not voices.available(voice):
            print(f"{voice}: not installed, skipped")
            continue
        m = measure(voice, args.audio_dir, transcriber)
        truth = m["tp"] + m["dropped"] + m["rule"]
        print(f"{voice}: recall {m['tp'] / truth:.2f} ({m['tp']}/{truth}), precision "
              f"{m['tp'] / max(1, m['tp'] + m['fp']):.2f} ({m['fp']} false); misses: {m['dropped']} not "
              f"transcribed, {m['rule']} by the rule; 'like' heard {m['heard']} of {m['said']} times said")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
