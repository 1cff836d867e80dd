"""Does a small static sentence-embedding model help the R-STAR-L judge where words differ?

    python benchmarks/semantic_probe.py [--runs 5] [--no-timing] [--real PATH]

Candidate: ``wordllama`` (l2_supercat, 256 dims: a token-embedding table of
32k x 256 float16 plus a tokenizer, shipped inside the wheel; a sentence is
the mean of its token vectors).  Nothing is downloaded: the model is loaded
from the installed package folder with downloads disabled (see
``load_wordllama``), or straight from the two shipped files with
``safetensors`` + ``tokenizers`` (``load_direct``), which avoids importing
wordllama itself.

What it measures, printed as Markdown tables:

1. Cost: installed size of wordllama and of what it pulls in; import + load
   time in a fresh process (median of N, with the files evicted from the
   page cache first = "cold", and again straight after = "warm"); time to
   embed 200 sentences.
2. Repeat (the opening plays the question back, rephrased).  For every
   labelled answer the positive class is "the first segment is labelled
   repeat".  Scored on three views of the opening: the first segment, the
   first sentence of the answer, and the first 12 words.  Scores: cosine of
   question and opening; the same on content words only; a lexical
   baseline (share of the opening's content stems found in the question,
   and share of the question's content stems covered; stop words removed,
   stem = first 5 letters); logistic regressions (numpy) on the two lexical
   shares and on lexical + cosine, fitted on dev; and, for reference, the
   current judge (is the first sentence labelled repeat by analyse()).  Per
   set: ROC AUC, F1 at the best threshold for that set (optimistic) and F1
   at the threshold chosen on dev (dev is ~90% repeat openings, real
   answers ~10%, so that threshold does not carry over).  Then: within answers that open with a repeat, how often
   the repeat scores above the answer's next segment (a topical story
   sentence), and a few hand-written pairs where a topical first story
   sentence shares the question's words.
3. Link back.  For dev / heldout answers with a company and a link_back
   segment: cosine of the segment with each of the company's values
   ("name. meaning") - how often the top-1 / top-2 value is among the gold
   values, against the lexical baseline (count of the value's cue and name
   stems found in the segment; ties broken at random, averaged) and
   against chance, and against the values the current judge names; also on
   the subset where no gold value's cue/name stem appears (the paraphrase
   case).  And link-back detection: AUC of the
   max-over-values score for "last segment is link_back" vs not, and per
   segment (link_back segments vs every other segment of those answers).

Sets: tests/data/answers_dev.toml, tests/data/answers_heldout.toml, and
(if present) a JSON-lines file of real published answers given by --real;
its text is only read, never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from starcoach.catalogue.banks import load_catalogue
from starcoach.judge import analyse
from starcoach.judge.evaluation import load_labelled
from starcoach.text import STOPWORDS, split_sentences, tokens

ROOT = Path(__file__).resolve().parent.parent
REAL_DEFAULT = Path("/work/shared/answers/real_dev.jsonl")


# --------------------------------------------------------------------------- model loading

def wordllama_dir() -> Path:
    """The installed package folder, found without importing wordllama."""
    import importlib.util

    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        raise SystemExit("wordllama is not installed: pip install wordllama")
    return Path(spec.origin).parent


def load_wordllama(dim: int = 256):
    """Offline load through wordllama's own API.

    The default ``WordLlama.load()`` looks for the tokenizer in
    ``<package>/tokenizer/`` (singular) while the wheel ships it in
    ``<package>/tokenizers/``; it then falls back to ``~/.cache/wordllama``
    and, failing that, creates that folder and downloads from the hub.
    Pointing ``cache_dir`` at the package folder finds both shipped files,
    and ``disable_download=True`` turns any miss into an error instead of a
    network request.
    """
    import wordllama
    from wordllama import WordLlama

    return WordLlama.load(config="l2_supercat", dim=256, trunc_dim=None if dim == 256 else dim,
                          cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    # Importing wordllama also calls logging.basicConfig(level=INFO) and
    # imports requests (whose import opens, binds to ::1 and closes an IPv6
    # socket to probe for IPv6; nothing is sent).  load_direct avoids both.


class DirectModel:
    """The same model read straight from the shipped files: mean of token vectors."""

    def __init__(self, folder: Path, dim: int = 256):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        table = load_file(str(folder / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"]
        self.table = np.ascontiguousarray(table[:, :dim].astype(np.float32))
        self.tok = Tokenizer.from_file(str(folder / "tokenizers" / "l2_supercat_tokenizer_config.json"))
        self.tok.no_padding()
        self.tok.no_truncation()

    def embed(self, texts: list[str], norm: bool = True) -> np.ndarray:
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for i, enc in enumerate(self.tok.encode_batch(texts, add_special_tokens=False)):
            ids = np.clip(np.asarray(enc.ids, dtype=np.int64), 0, self.table.shape[0] - 1)
            if len(ids):
                out[i] = self.table[ids].mean(axis=0)
        if norm:
            n = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.where(n == 0, 1.0, n)
        return out


def load_direct(dim: int = 256) -> DirectModel:
    return DirectModel(wordllama_dir(), dim)


# --------------------------------------------------------------------------- cost

_TIMING_SNIPPET = {
    "wordllama API": (
        "import time; t0 = time.perf_counter()\n"
        "import sys; sys.path.insert(0, {bench!r})\n"
        "from semantic_probe_load import load_wordllama\n"
        "m = load_wordllama(); m.embed(['warm up'], norm=True)\n"
        "print(time.perf_counter() - t0)\n"
    ),
    "direct (safetensors+tokenizers)": (
        "import time; t0 = time.perf_counter()\n"
        "import sys; sys.path.insert(0, {bench!r})\n"
        "from semantic_probe_load import load_direct\n"
        "m = load_direct(); m.embed(['warm up'])\n"
        "print(time.perf_counter() - t0)\n"
    ),
}

# Only the loaders are imported in the timed process, not this script's
# imports (starcoach, the data sets).
_LOADER_MODULE = '''
from pathlib import Path
import importlib.util
import numpy as np

def _folder():
    return Path(importlib.util.find_spec("wordllama").origin).parent

def load_wordllama():
    import wordllama
    from wordllama import WordLlama
    return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)

class _Direct:
    def __init__(self, folder):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
        self.table = load_file(str(folder / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"].astype(np.float32)
        self.tok = Tokenizer.from_file(str(folder / "tokenizers" / "l2_supercat_tokenizer_config.json"))
    def embed(self, texts):
        return [self.table[e.ids].mean(axis=0) for e in self.tok.encode_batch(texts, add_special_tokens=False)]

def load_direct():
    return _Direct(_folder())
'''

_EVICT_PACKAGES = ("wordllama", "numpy", "numpy.libs", "tokenizers", "safetensors", "pydantic", "pydantic_core",
                   "requests", "urllib3", "charset_normalizer", "idna", "certifi", "toml", "annotated_types",
                   "typing_inspection", "typing_extensions.py")


def _evict(site: Path) -> None:
    """Drop these packages' files from the page cache (per file, no system-wide flush)."""
    for name in _EVICT_PACKAGES:
        p = site / name
        files = [p] if p.is_file() else (q for q in p.rglob("*") if q.is_file())
        for f in files:
            try:
                fd = os.open(f, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def cost(runs: int, direct: DirectModel, sentences: list[str]) -> None:
    import tempfile

    folder = wordllama_dir()
    site = folder.parent
    print("## Cost\n")
    print("| what | MB on disk |\n| --- | --- |")
    print(f"| wordllama package | {_du(folder) / 1e6:.1f} |")
    print(f"| of which weights + tokenizer (the model) | "
          f"{(_du(folder / 'weights') + _du(folder / 'tokenizers')) / 1e6:.1f} |")
    print(f"| of which algorithms/ (C sources + extensions, unused for embedding) | {_du(folder / 'algorithms') / 1e6:.1f} |")
    extra = [n for n in ("pydantic", "pydantic_core", "annotated_types", "typing_inspection", "toml", "requests",
                         "urllib3", "charset_normalizer", "certifi", "safetensors") if (site / n).exists()]
    print(f"| pulled in, not otherwise needed by starcoach ({', '.join(extra)}) | "
          f"{sum(_du(site / n) for n in extra) / 1e6:.1f} |")
    print()

    if runs > 0:
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "semantic_probe_load.py").write_text(_LOADER_MODULE)
            home = Path(tmp, "home")
            home.mkdir()
            env = dict(os.environ, HOME=str(home), HF_HUB_OFFLINE="1")
            print(f"Import + load + first embed, fresh process each, median of {runs} (s):\n")
            print("| loader | cold | warm | whole process, warm |\n| --- | --- | --- | --- |")
            for name, snippet in _TIMING_SNIPPET.items():
                code = snippet.format(bench=tmp)
                cold, warm, whole = [], [], []
                for _ in range(runs):
                    _evict(site)
                    cold.append(float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                                     capture_output=True, text=True).stdout))
                    t0 = time.perf_counter()
                    warm.append(float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                                     capture_output=True, text=True).stdout))
                    whole.append(time.perf_counter() - t0)
                print(f"| {name} | {statistics.median(cold):.3f} | {statistics.median(warm):.3f} | "
                      f"{statistics.median(whole):.3f} |")
            left = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
            print(f"\nFiles written under an empty HOME by these runs: {left or 'none'}\n")

    batch = (sentences * (200 // max(1, len(sentences)) + 1))[:200]
    direct.embed(batch)
    ts = []
    for _ in range(7):
        t0 = time.perf_counter()
        direct.embed(batch)
        ts.append(time.perf_counter() - t0)
    words = sum(len(s.split()) for s in batch)
    print(f"Embedding 200 sentences ({words} words): median {statistics.median(ts) * 1000:.1f} ms "
          f"(direct loader, 7 runs)\n")


# --------------------------------------------------------------------------- data

@dataclass
class Item:
    id: str
    question: str
    company: Optional[str]
    values: tuple[str, ...]
    segments: list[tuple[str, str]]

    @property
    def text(self) -> str:
        return " ".join(t.strip() for _, t in self.segments)


def load_sets(real: Optional[Path]) -> dict[str, list[Item]]:
    sets: dict[str, list[Item]] = {}
    for name in ("dev", "heldout"):
        sets[name] = [Item(a.id, a.question, a.company, a.values, list(a.segments))
                      for a in load_labelled(ROOT / "tests" / "data" / f"answers_{name}.toml")]
    if real and real.exists():
        rows = [json.loads(line) for line in real.read_text(encoding="utf-8").splitlines() if line.strip()]
        sets["real"] = [Item(r["id"], r.get("question") or "", r.get("company") or None, (),
                             [(s[0], s[1]) for s in r["segments"]]) for r in rows]
    return sets


# --------------------------------------------------------------------------- scoring helpers

def stems5(text: str) -> set[str]:
    return {t[:5] for t in tokens(text) if t not in STOPWORDS and len(t) > 1}


def content_text(text: str) -> str:
    return " ".join(t for t in tokens(text) if t not in STOPWORDS and len(t) > 1) or text


def lexical(question: str, opening: str) -> tuple[float, float]:
    q, o = stems5(question), stems5(opening)
    share = len(o & q) / len(o) if o else 0.0
    cover = len(o & q) / len(q) if q else 0.0
    return share, cover


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    gt = (pos[:, None] > neg[None, :]).sum()
    eq = (pos[:, None] == neg[None, :]).sum()
    return float((gt + 0.5 * eq) / (len(pos) * len(neg)))


def f1_at(scores: np.ndarray, labels: np.ndarray, t: float) -> float:
    pred = scores >= t
    tp = int((pred & labels).sum())
    fp = int((pred & ~labels).sum())
    fn = int((~pred & labels).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    best = (0.0, float("inf"))
    for t in np.unique(scores):
        f = f1_at(scores, labels, t)
        if f > best[0]:
            best = (f, float(t))
    return best


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 3000):
    """Plain gradient-descent logistic regression on standardised features."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    yf = y.astype(float)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = p - yf
        w -= 0.5 * (z.T @ g / len(y) + l2 * w)
        b -= 0.5 * g.mean()

    def predict(xn: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(((xn - mu) / sd) @ w + b)))

    return predict, w


def fmt(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


# --------------------------------------------------------------------------- repeat

def first_words(text: str, n: int = 12) -> str:
    return " ".join(text.split()[:n])


def opening_views(item: Item) -> dict[str, str]:
    seg = item.segments[0][1].strip()
    text = item.text
    pieces = split_sentences(text)
    sent = text[pieces[0].start:pieces[0].end] if pieces else seg
    return {"first segment": seg, "first sentence": sent, "first 12 words": first_words(seg)}


def repeat_probe(model: DirectModel, sets: dict[str, list[Item]]) -> None:
    print("## Repeat: question vs opening\n")
    counts = ", ".join(f"{k} {sum(i.segments[0][0] == 'repeat' for i in v)}/{len(v)}" for k, v in sets.items())
    print(f"Positives (first segment labelled repeat): {counts}\n")
    view_names = ("first segment", "first sentence", "first 12 words")
    judge: dict[str, np.ndarray] = {}
    for view in view_names:
        feats: dict[str, dict[str, np.ndarray]] = {}
        labels: dict[str, np.ndarray] = {}
        for name, items in sets.items():
            items = [i for i in items if i.question]
            ops = [opening_views(i)[view] for i in items]
            qs = [i.question for i in items]
            eq, eo = model.embed(qs), model.embed(ops)
            cq, co = model.embed([content_text(q) for q in qs]), model.embed([content_text(o) for o in ops])
            lex = np.array([lexical(q, o) for q, o in zip(qs, ops)])
            feats[name] = {
                "cos": (eq * eo).sum(axis=1),
                "cos content words": (cq * co).sum(axis=1),
                "lex share of opening": lex[:, 0],
                "lex cover of question": lex[:, 1],
            }
            labels[name] = np.array([i.segments[0][0] == "repeat" for i in items])
            if view == "first segment":
                judged = []
                for i in items:
                    a = analyse(i.text, question=i.question, company=None, input=i.id)
                    judged.append(float(bool(a.sentences) and a.sentences[0].component == "repeat"))
                judge[name] = np.array(judged)
        x_lex = {k: np.stack([f["lex share of opening"], f["lex cover of question"]], 1) for k, f in feats.items()}
        x_all = {k: np.column_stack([x_lex[k], f["cos"]]) for k, f in feats.items()}
        lr_lex, _ = fit_logistic(x_lex["dev"], labels["dev"])
        lr_all, w = fit_logistic(x_all["dev"], labels["dev"])
        for k in feats:
            feats[k]["LR lexical (fit on dev)"] = lr_lex(x_lex[k])
            feats[k]["LR lexical + cos (fit on dev)"] = lr_all(x_all[k])
            if view == "first segment":
                feats[k]["current judge: first sentence labelled repeat (0/1)"] = judge[k]
        names = list(sets)
        print(f"### Opening = {view}\n")
        print("| score | " + " | ".join(f"{n} AUC | {n} F1* | {n} F1@dev" for n in names) + " |")
        print("| --- |" + " --- | --- | --- |" * len(names))
        for score in feats["dev"]:
            _, t_dev = best_threshold(feats["dev"][score], labels["dev"])
            cells = []
            for n in names:
                s, y = feats[n][score], labels[n]
                cells += [fmt(auc(s, y)), fmt(best_threshold(s, y)[0]), fmt(f1_at(s, y, t_dev))]
            print(f"| {score} | " + " | ".join(cells) + " |")
        print(f"\n(combined model weights on standardised [share, cover, cos]: {np.round(w, 2).tolist()})\n")

    print("### Repeat vs the answer's next segment (same question, topical story sentence)\n")
    print("Share of answers opening with a repeat where the repeat scores higher than segment 2:\n")
    print("| set | n | cos | lex share | lex cover |\n| --- | --- | --- | --- | --- |")
    for name, items in sets.items():
        items = [i for i in items if i.question and i.segments[0][0] == "repeat" and len(i.segments) > 1]
        if not items:
            print(f"| {name} | 0 | | | |")
            continue
        qs = model.embed([i.question for i in items])
        a = (qs * model.embed([i.segments[0][1] for i in items])).sum(1)
        b = (qs * model.embed([i.segments[1][1] for i in items])).sum(1)
        la = np.array([lexical(i.question, i.segments[0][1]) for i in items])
        lb = np.array([lexical(i.question, i.segments[1][1]) for i in items])
        print(f"| {name} | {len(items)} | {(a > b).mean():.2f} | {(la[:, 0] > lb[:, 0]).mean():.2f} | "
              f"{(la[:, 1] > lb[:, 1]).mean():.2f} |")
    print()

    print("### Hand-written pairs: play-back vs topical first story sentence\n")
    pairs = [
        ("Tell me about a conflict you had at work.",
         "So, a time I clashed with someone I worked with.",
         "The conflict I remember best was with our vendor."),
        ("Describe a time you failed.",
         "Sure, a moment where things went wrong and it was on me.",
         "I failed my first on-call rotation at a payments startup."),
        ("Tell me about a time you had to persuade a sceptical stakeholder.",
         "Okay, winning over someone who didn't believe in the idea.",
         "Our head of finance was sceptical about the new pricing model."),
        ("Give me an example of a deadline you missed.",
         "Right, so an occasion when I didn't deliver on time.",
         "We missed the launch deadline for the mobile app by two weeks."),
        ("Tell me about a time you disagreed with your manager.",
         "A time I pushed back on my boss, yes.",
         "My manager wanted to cut the testing phase and I disagreed."),
        ("Describe a situation where you had to learn something quickly.",
         "So you want to hear about picking up a new skill under time pressure.",
         "I had two weeks to learn Kubernetes before our migration."),
    ]
    print("| pair | cos play-back | cos topical | lex share play-back | lex share topical | cover play-back | cover topical |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    wins = 0
    for k, (q, pb, top) in enumerate(pairs, 1):
        e = model.embed([q, pb, top])
        c1, c2 = float(e[0] @ e[1]), float(e[0] @ e[2])
        wins += c1 > c2
        l1, l2 = lexical(q, pb), lexical(q, top)
        print(f"| {k} | {c1:.2f} | {c2:.2f} | {l1[0]:.2f} | {l2[0]:.2f} | {l1[1]:.2f} | {l2[1]:.2f} |")
    print(f"\nCosine ranks the play-back above the topical sentence in {wins}/{len(pairs)} pairs.\n")
    for q, pb, top in pairs[:1]:
        print(f"(pair 1: question {q!r}; play-back {pb!r}; topical {top!r})\n")


# --------------------------------------------------------------------------- link back / values

def value_text(v) -> str:
    return f"{v.name}. {v.meaning}"


def value_lexical(v, segment: str) -> int:
    seg = stems5(segment)
    cue = set()
    for c in (*v.cues, v.name):
        cue |= stems5(c)
    return len(cue & seg)


def topk_hits(scores: np.ndarray, gold: np.ndarray, k: int, rng: np.random.Generator, draws: int = 200) -> float:
    """Expected share of top-k containing a gold value, ties broken at random."""
    hit = 0.0
    for _ in range(draws):
        order = np.lexsort((rng.random(len(scores)), -scores))
        hit += bool(gold[order[:k]].any())
    return hit / draws


def values_probe(model: DirectModel, sets: dict[str, list[Item]]) -> None:
    cat = load_catalogue()
    rng = np.random.default_rng(0)
    print("## Link back: which company value the closing names\n")
    print("| set | subset | n | cos top-1 | cos top-2 | lex top-1 | lex top-2 | lex, cos breaks ties top-1 | "
          "lex, cos breaks ties top-2 | chance top-1 | chance top-2 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    vec_cache: dict[str, np.ndarray] = {}
    judge_rows = []
    for name, items in sets.items():
        rows = []
        judged: list[tuple[bool, int, int, bool]] = []
        for i in items:
            if not i.company or i.company not in cat.companies or not i.values:
                continue
            lbs = [t for lab, t in i.segments if lab == "link_back"]
            if not lbs:
                continue
            comp = cat.companies[i.company]
            if comp.id not in vec_cache:
                vec_cache[comp.id] = model.embed([value_text(v) for v in comp.values])
            seg = " ".join(lbs)
            cos = vec_cache[comp.id] @ model.embed([seg])[0]
            lex = np.array([value_lexical(v, seg) for v in comp.values], dtype=float)
            gold = np.array([v.id in i.values for v in comp.values])
            rows.append((cos, lex, gold, lex + 0.5 * (cos + 1)))
            a = analyse(i.text, question=i.question or None, company=comp, input=i.id)
            named = set(a.structure["link_back"].values) if a.structure["link_back"].present else set()
            gold_names = {v.name for v in comp.values if v.id in i.values}
            judged.append((len(named & gold_names) > 0, len(named), len(named & gold_names),
                           lex[gold].max() == 0))
        if not rows:
            continue
        for sub, js in (("all", judged), ("no gold cue/name stem in segment", [j for j in judged if j[3]])):
            if js:
                judge_rows.append(f"| {name} | {sub} | {len(js)} | {np.mean([j[0] for j in js]):.2f} | "
                                  f"{np.mean([j[1] == 0 for j in js]):.2f} | "
                                  f"{sum(j[2] for j in js) / max(1, sum(j[1] for j in js)):.2f} |")
        subsets = {"all": rows, "no gold cue/name stem in segment": [r for r in rows if r[1][r[2]].max() == 0]}
        for sub, rs in subsets.items():
            if not rs:
                print(f"| {name} | {sub} | 0 | | | | | | | | |")
                continue
            res = []
            for k in (1, 2):
                res.append(np.mean([topk_hits(c, g, k, rng, 1) for c, _, g, _ in rs]))
            for k in (1, 2):
                res.append(np.mean([topk_hits(lx, g, k, rng) for _, lx, g, _ in rs]))
            for k in (1, 2):
                res.append(np.mean([topk_hits(both, g, k, rng, 1) for _, _, g, both in rs]))
            chance = [np.mean([1 - np.prod([(len(g) - g.sum() - j) / (len(g) - j) for j in range(k)])
                               for _, _, g, _ in rs]) for k in (1, 2)]
            print(f"| {name} | {sub} | {len(rs)} | " + " | ".join(f"{x:.2f}" for x in res) +
                  f" | {chance[0]:.2f} | {chance[1]:.2f} |")
    print("\nThe current judge (analyse() with the company) on the same answers:\n")
    print("| set | subset | n | names >= 1 gold value | names none | share of named values that are gold |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(judge_rows))
    print()

    print("### Link-back detection: is the last segment a link back? (answers with a known company)\n")
    print("| set | n | positives | AUC max cos | AUC max lex count | AUC cos to company summary |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, items in sets.items():
        s_cos, s_lex, s_sum, y = [], [], [], []
        for i in items:
            if not i.company or i.company not in cat.companies:
                continue
            comp = cat.companies[i.company]
            if comp.id not in vec_cache:
                vec_cache[comp.id] = model.embed([value_text(v) for v in comp.values])
            last = i.segments[-1][1]
            e = model.embed([last, comp.summary])
            s_cos.append(float((vec_cache[comp.id] @ e[0]).max()))
            s_lex.append(max(value_lexical(v, last) for v in comp.values))
            s_sum.append(float(e[0] @ e[1]))
            y.append(i.segments[-1][0] == "link_back")
        yy = np.array(y, dtype=bool)
        print(f"| {name} | {len(y)} | {int(yy.sum())} | {fmt(auc(np.array(s_cos), yy))} | "
              f"{fmt(auc(np.array(s_lex, dtype=float), yy))} | {fmt(auc(np.array(s_sum), yy))} |")
    print()

    print("### Link-back detection per segment: link_back segments vs every other segment "
          "(answers with a known company)\n")
    print("| set | segments | link_back | AUC max cos | AUC max lex count |")
    print("| --- | --- | --- | --- | --- |")
    for name, items in sets.items():
        s_cos, s_lex, y = [], [], []
        for i in items:
            if not i.company or i.company not in cat.companies:
                continue
            comp = cat.companies[i.company]
            if comp.id not in vec_cache:
                vec_cache[comp.id] = model.embed([value_text(v) for v in comp.values])
            e = model.embed([t for _, t in i.segments])
            s_cos += (e @ vec_cache[comp.id].T).max(axis=1).tolist()
            s_lex += [max(value_lexical(v, t) for v in comp.values) for _, t in i.segments]
            y += [lab == "link_back" for lab, _ in i.segments]
        yy = np.array(y, dtype=bool)
        print(f"| {name} | {len(y)} | {int(yy.sum())} | {fmt(auc(np.array(s_cos), yy))} | "
              f"{fmt(auc(np.array(s_lex, dtype=float), yy))} |")
    print()


# --------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per load-time figure (0 skips)")
    ap.add_argument("--no-timing", action="store_true", help="skip the load-time runs")
    ap.add_argument("--real", type=Path, default=REAL_DEFAULT, help="JSON lines of real answers (optional)")
    ap.add_argument("--dim", type=int, default=256, choices=(64, 128, 256), help="truncate the embedding")
    args = ap.parse_args()

    direct = load_direct(args.dim)
    api = load_wordllama(args.dim)
    probe = ["Tell me about a conflict", "So, a time I clashed with a colleague.", "We shipped it two weeks late."]
    diff = float(np.abs(api.embed(probe, norm=True) - direct.embed(probe)).max())
    print(f"wordllama API and direct loader agree to {diff:.1e} (max abs difference, unit vectors)\n")

    sets = load_sets(args.real)
    sentences = [t for items in sets.values() for i in items[:60] for _, t in i.segments][:200]
    if not args.no_timing:
        cost(args.runs, direct, sentences)
    repeat_probe(direct, sets)
    values_probe(direct, sets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
