"""Everything the judge decides, written out so that two versions can be compared byte for byte.

    PYTHONPATH=OLD/src python benchmarks/judge_dump.py /tmp/old.jsonl
    PYTHONPATH=src python benchmarks/judge_dump.py /tmp/new.jsonl
    cmp /tmp/old.jsonl /tmp/new.jsonl

For every labelled answer (tests/data/answers_*.toml and, when present,
../shared/answers/real_dev.jsonl), as written, without its question, as
unpunctuated lower-case speech and without its company, and for long
synthetic transcripts made of them: the sentences, every sentence's cues and
feature values (in their order), and the whole analysis JSON.  A change
meant only to make the judge faster must leave the two files identical.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
from pathlib import Path

from starcoach.catalogue.banks import UnknownCompany, load_catalogue
from starcoach.judge import analyse
from starcoach.judge.evaluation import load_labelled, load_real
from starcoach.judge.pipeline import featurise

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "answers" / "real_dev.jsonl"


def cases():
    cat = load_catalogue()

    def company(cid):
        try:
            return cat.company(cid) if cid else None
        except UnknownCompany:
            return None

    items = [i for p in sorted((ROOT / "tests" / "data").glob("answers_*.toml")) for i in load_labelled(p)]
    if REAL.exists():
        items += load_real(REAL)
    for it in items:
        c, q = company(it.company), it.question or None
        yield it.id, it.text, q, c
        yield it.id + "/no-question", it.text, None, c
        yield it.id + "/speech", re.sub(r"[^\w\s']", "", it.text.lower()), q, c
        yield it.id + "/no-company", it.text, q, None
    words = " ".join(it.text for it in items).split()
    for n in (1000, 5000, 12000):
        text = " ".join((words * 3)[:n])
        for cid in ("amazon", "doordash", None):
            yield f"long{n}/{cid}", text, "Tell me about a time you took ownership of a problem.", company(cid)
            yield (f"long{n}/{cid}/speech", re.sub(r"[^\w\s']", "", text.lower()),
                   "Tell me about a time you disagreed with your manager.", company(cid))


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: judge_dump.py OUT.jsonl", file=sys.stderr)
        return 2
    digest = hashlib.sha256()
    n = 0
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        for cid, text, question, company in cases():
            fz = featurise(text, question, company)
            a = analyse(text, question=question, company=company, input=cid)
            rec = {"id": cid, "pieces": [(p.start, p.end) for p in fz.pieces], "lead": fz.lead,
                   "repeat_ok": fz.repeat_ok, "cues": [dataclasses.asdict(x) for x in fz.cues],
                   "order": [list(x.counts) for x in fz.cues] + [list(f) for f in fz.features],
                   "features": fz.features, "analysis": a.to_json(), "checks": dataclasses.asdict(a.checks)}
            line = json.dumps(rec, sort_keys=True, default=repr)
            out.write(line + "\n")
            digest.update(line.encode())
            n += 1
    print(f"{n} cases, sha256 {digest.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
