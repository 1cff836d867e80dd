"""Measures the analysis heuristics against labelled answers.

A labelled answer (tests/data/answers_*.toml, or the JSON Lines of real
published answers beside the project in ../shared/answers/) is a list of
``[label, text]`` segments plus answer-level facts (values linked,
quantified, on topic, hypothetical).  We report, per component, precision / recall / F1 of the
answer-level *presence* decision (what the user sees in the checklist), and
the share of words whose predicted component matches the gold one (which
judges sentence labelling without depending on where sentences are cut).

Run ``python benchmarks/eval_heuristics.py`` for the tables.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from starcoach import tomlfiles
from starcoach.catalogue.banks import Catalogue, UnknownCompany, load_catalogue
from starcoach.model import COMPONENTS, Analysis

LABELS = COMPONENTS + ("none",)


@dataclass(frozen=True)
class Labelled:
    id: str
    question: str
    company: Optional[str]
    tags: tuple[str, ...]
    values: tuple[str, ...]
    quantified: bool
    on_topic: bool
    hypothetical: bool
    segments: tuple[tuple[str, str], ...]
    #: where the answer comes from (a set's name, or a real answer's web site): answers of one source share a style
    source: str = ""

    @property
    def text(self) -> str:
        return " ".join(t.strip() for _, t in self.segments)

    def char_labels(self) -> list[str]:
        """The gold label of every character of ``text``."""
        out: list[str] = []
        for k, (label, t) in enumerate(self.segments):
            if k:
                out.append(out[-1] if out else "none")
            out.extend([label] * len(t.strip()))
        return out

    @property
    def present(self) -> set[str]:
        return {label for label, _ in self.segments if label != "none"}


def load_labelled(path: Path) -> list[Labelled]:
    data = tomlfiles.loads(path.read_text(encoding="utf-8"))
    out = []
    for a in data["answer"]:
        segs = tuple((str(s[0]), str(s[1])) for s in a["segments"])
        for label, _ in segs:
            if label not in LABELS:
                raise ValueError(f"{path}: {a['id']}: unknown label {label!r}")
        out.append(Labelled(
            id=a["id"], question=a.get("question", ""), company=a.get("company") or None,
            tags=tuple(a.get("tags", ())), values=tuple(a.get("values", ())),
            quantified=bool(a.get("quantified", False)), on_topic=bool(a.get("on_topic", True)),
            hypothetical=bool(a.get("hypothetical", False)), segments=segs, source=path.stem,
        ))
    return out


def load_real(path: Path) -> list[Labelled]:
    """Real published answers, one JSON object a line (``id``, ``source``, ``question``,
    ``company``, ``segments``); grouped by the web site they were published on."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        a = json.loads(line)
        segs = tuple((str(x[0]), str(x[1])) for x in a["segments"])
        for label, _ in segs:
            if label not in LABELS:
                raise ValueError(f"{path}: {a['id']}: unknown label {label!r}")
        src = str(a.get("source") or "")
        host = src.split("/")[2] if src.count("/") >= 2 else src
        out.append(Labelled(id=a["id"], question=a.get("question") or "", company=a.get("company") or None,
                            tags=(), values=(), quantified=False, on_topic=True, hypothetical=False,
                            segments=segs, source=host))
    return out


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, gold: bool, pred: bool) -> None:
        if gold and pred:
            self.tp += 1
        elif pred:
            self.fp += 1
        elif gold:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    n: int = 0
    presence: dict[str, PRF] = field(default_factory=lambda: {c: PRF() for c in COMPONENTS})
    words: dict[str, PRF] = field(default_factory=lambda: {c: PRF() for c in COMPONENTS})
    word_total: int = 0
    word_correct: int = 0
    checks: dict[str, PRF] = field(default_factory=dict)
    values: PRF = field(default_factory=PRF)
    errors: list[tuple[str, str, str]] = field(default_factory=list)

    def check(self, name: str, gold: bool, pred: bool) -> None:
        self.checks.setdefault(name, PRF()).add(gold, pred)

    @property
    def word_accuracy(self) -> float:
        return self.word_correct / self.word_total if self.word_total else 0.0


_WORD = re.compile(r"\S+")


def _word_labels_gold(item: Labelled) -> list[str]:
    out = []
    for label, text in item.segments:
        out.extend([label] * len(_WORD.findall(text)))
    return out


def _word_labels_pred(a: Analysis) -> list[str]:
    out = []
    for s in a.sentences:
        out.extend([s.component or "none"] * len(_WORD.findall(s.text)))
    return out


def evaluate(items: list[Labelled], catalogue: Optional[Catalogue] = None, weights=None) -> Report:
    from starcoach.judge import analyse

    catalogue = catalogue or load_catalogue()
    rep = Report()
    for item in items:
        company = company_of(catalogue, item.company)
        a = analyse(item.text, question=item.question or None, company=company, input=item.id, weights=weights)
        rep.n += 1
        gold = item.present
        for c in COMPONENTS:
            pred = a.structure[c].present
            rep.presence[c].add(c in gold, pred)
            if (c in gold) != pred:
                rep.errors.append((item.id, c, "missed" if c in gold else "false alarm"))
        g, p = _word_labels_gold(item), _word_labels_pred(a)
        if len(g) == len(p):
            for gl, pl in zip(g, p):
                rep.word_total += 1
                rep.word_correct += gl == pl
                for c in COMPONENTS:
                    rep.words[c].add(gl == c, pl == c)
        assert a.checks is not None
        if "verbatim-repeat" in item.tags or "repeat" in gold:
            rep.check("verbatim repeat", "verbatim-repeat" in item.tags, a.checks.repeat_verbatim)
        if "result" in gold:
            rep.check("quantified result", item.quantified, a.checks.result_quantified)
        if "action" in gold:
            rep.check("we-only action", "we-only" in item.tags, a.checks.action_voice == "we")
        rep.check("hypothetical", item.hypothetical, a.checks.hypothetical)
        rep.check("off topic", not item.on_topic, a.checks.on_topic is False)
        if company and ("link_back" in gold) and a.structure["link_back"].present:
            gold_names = {v.name for v in company.values if v.id in item.values}
            pred_names = set(a.structure["link_back"].values)
            for name in {v.name for v in company.values}:
                rep.values.add(name in gold_names, name in pred_names)
    return rep


def company_of(catalogue: Catalogue, cid: Optional[str]):
    # A real answer may name a company the catalogue has no profile for: judged without one.
    if not cid:
        return None
    try:
        return catalogue.company(cid)
    except UnknownCompany:
        return None


def format_report(name: str, rep: Report) -> str:
    lines = [f"## {name}: {rep.n} answers", "",
             "| component | precision | recall | F1 | word F1 |", "| --- | --- | --- | --- | --- |"]
    for c in COMPONENTS:
        p = rep.presence[c]
        lines.append(f"| {c} | {p.precision:.2f} | {p.recall:.2f} | {p.f1:.2f} | {rep.words[c].f1:.2f} |")
    lines += ["", f"Word-level label accuracy (7 labels incl. none): {rep.word_accuracy:.2f}", "",
              "| check | precision | recall | F1 |", "| --- | --- | --- | --- |"]
    for k, p in rep.checks.items():
        lines.append(f"| {k} | {p.precision:.2f} | {p.recall:.2f} | {p.f1:.2f} |")
    v = rep.values
    lines.append(f"| link-back values named | {v.precision:.2f} | {v.recall:.2f} | {v.f1:.2f} |")
    return "\n".join(lines)
