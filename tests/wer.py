"""Word error rate for the audio tests: words lower-cased, punctuation dropped."""

from __future__ import annotations

import re


def words(text: str) -> list[str]:
    return [w for w in (re.sub(r"[^a-z']", "", t) for t in text.lower().replace("-", " ").split()) if w]


def wer(ref: str, hyp: str) -> float:
    r, h = words(ref), words(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
    return d[len(h)] / max(1, len(r))
