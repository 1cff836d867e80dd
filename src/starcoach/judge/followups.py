"""The interviewer's follow-up questions, chosen from what the judge found in an answer.

A behavioural interviewer rarely takes an answer as it is: when the result is
vague they ask how it was measured, when every action is "we" they ask what the
candidate did.  The judge already knows which part of the answer is weak, so the
follow-up can be chosen offline, by rules that can be read:

1. no result, or a result with nothing measured;
2. actions only in "we";
3. no task;
4. a hypothetical answer ("I would ..."): asked before any other, and alone, since
   the other questions are about a story it does not tell;
5. no situation;
6. no link back, when a company is chosen (naming the company value the story
   comes closest to);
7. otherwise (a strong answer) a probing question an interviewer would still ask.

The wording is data: ``follow_ups/*.toml`` in the question banks, one template
per ``[[follow_ups]]`` with the reason it answers (``when``), its text (which may
quote the candidate's own words as ``{quote}``, and name ``{company}`` and
``{value}``), and optional ``companies`` / ``competencies`` it is meant for.
Pure: an ``Analysis`` in, ``FollowUp``s out; no audio, terminal or storage.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from starcoach.catalogue.banks import COMPETENCIES, BankError, Company, read_toml
from starcoach.judge.lexicon import lexicon
from starcoach.model import UNSURE_BELOW, Analysis
from starcoach.text import content_stems, stem, tokens

#: The reasons for a follow-up, most important first, and the part of R-STAR-L each asks for.
REASONS: tuple[tuple[str, Optional[str]], ...] = (
    ("result_missing", "result"),
    ("result_unmeasured", "result"),
    ("we_only", "action"),
    ("task_missing", "task"),
    ("hypothetical", "situation"),
    ("situation_missing", "situation"),
    ("link_missing", "link_back"),
    ("strong", None),
)
REASON_NAMES = tuple(r for r, _ in REASONS)
#: A quote of the candidate's words is cut to this many words (at a clause break if there is one).
QUOTE_MAX_WORDS = 12
_FIELDS = frozenset({"quote", "company", "value"})
#: Words a quote cut short must not end on: they lead into the words left out ("we moved it to").
_LEADS_ON = frozenset("a an the to of in on at by for from into with and or but it its our their my we i "
                      "that which who so as than".split())


@dataclass(frozen=True)
class Template:
    id: str
    when: str
    text: str
    companies: tuple[str, ...] = ()
    competencies: tuple[str, ...] = ()

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(f for _, f, _, _ in string.Formatter().parse(self.text) if f)


@dataclass(frozen=True)
class FollowUp:
    """One follow-up question to ask: why, which template, its text, and the part it asks for."""

    reason: str
    template: str
    text: str
    component: Optional[str]


# --------------------------------------------------------------------------- templates


def parse_templates(data: dict[str, Any], path: Path) -> list[Template]:
    """The templates of one parsed file, or ``BankError`` naming what is wrong."""
    rows = data.get("follow_ups")
    if not isinstance(rows, list) or not rows:
        raise BankError(path, "no [[follow_ups]] entries")
    out = []
    for k, row in enumerate(rows, 1):
        where = f"follow-up {k}"
        if not isinstance(row, dict):
            raise BankError(path, f"{where}: not a table")
        tid, when, text = row.get("id"), row.get("when"), row.get("text")
        if not isinstance(tid, str) or not tid.strip():
            raise BankError(path, f"{where}: 'id' must be a non-empty string")
        if when not in REASON_NAMES:
            raise BankError(path, f"follow-up {tid!r}: 'when' must be one of {', '.join(REASON_NAMES)}")
        if not isinstance(text, str) or not text.strip():
            raise BankError(path, f"follow-up {tid!r}: 'text' must be a non-empty string")
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as e:
            raise BankError(path, f"follow-up {tid!r}: the text has a broken {{placeholder}}: {e}") from None
        unknown = fields - _FIELDS
        if unknown:
            raise BankError(path, f"follow-up {tid!r}: unknown placeholder {{{sorted(unknown)[0]}}} "
                                  f"(use {{quote}}, {{company}} or {{value}})")
        if "value" in fields and when != "link_missing":
            raise BankError(path, f"follow-up {tid!r}: {{value}} is only known for when = \"link_missing\"")
        lists = {}
        for key in ("companies", "competencies"):
            v = row.get(key, [])
            if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
                raise BankError(path, f"follow-up {tid!r}: '{key}' must be a list of names")
            lists[key] = tuple(x.strip().lower() for x in v)
        unknown_c = [c for c in lists["competencies"] if c not in COMPETENCIES]
        if unknown_c:
            raise BankError(path, f"follow-up {tid!r}: unknown competency {unknown_c[0]!r} "
                                  f"(known: {', '.join(COMPETENCIES)})")
        extra = set(row) - {"id", "when", "text", "companies", "competencies"}
        if extra:
            raise BankError(path, f"follow-up {tid!r}: unknown key {sorted(extra)[0]!r}")
        out.append(Template(tid.strip(), when, text.strip(), lists["companies"], lists["competencies"]))
    return out


def load_templates(folders: Iterable[Path]) -> list[Template]:
    """Every ``follow_ups/*.toml`` in the bank folders, in order; an id defined twice is refused."""
    out: list[Template] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        d = Path(folder) / "follow_ups"
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.toml")):
            data, _ = read_toml(path)
            for t in parse_templates(data, path):
                if t.id in seen:
                    raise BankError(path, f"follow-up id {t.id!r} is already defined in {seen[t.id]}")
                seen[t.id] = path
                out.append(t)
    return out


# --------------------------------------------------------------------------- choosing


def _sentences_of(a: Analysis, component: str) -> list[str]:
    return [s.text for s in a.sentences if s.component == component]


def quote(sentence: str, *, max_words: int = QUOTE_MAX_WORDS) -> str:
    """The candidate's words, short enough to say back: the sentence up to its first
    clause break or ``max_words`` words, without a lead-in ("So", "And then") or the
    final full stop."""
    s = sentence.strip()
    s = re.sub(r"^(?:(?:so|and|then|but|well|um+|uh+|okay|ok|yeah)\b[,\s]*)+", "", s, flags=re.IGNORECASE)
    words = s.split()
    cut = words[:max_words]
    for i, w in enumerate(cut):
        if i >= 4 and w.endswith((",", ";", ":")):
            cut = cut[:i + 1]
            break
    else:
        if len(words) > max_words:  # cut mid-phrase: do not end on a word that leads into the rest
            while len(cut) > 4 and cut[-1].lower().strip(",;:") in _LEADS_ON:
                cut.pop()
    return " ".join(cut).rstrip(",;:.!? ")


def _we_sentence(a: Analysis) -> Optional[str]:
    for s in _sentences_of(a, "action"):
        if "we" in tokens(s):
            return s
    return None


def closest_value(a: Analysis, company: Company) -> Optional[str]:
    """The company value the story comes closest to, by the judge's value lexicon over
    the whole answer (the first value when nothing points anywhere)."""
    if not company.values:
        return None
    stems = content_stems(a.transcript)
    scores, _ = lexicon(company).evidence(stems, [stem(t) for t in tokens(a.transcript)])
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return company.values[best].name


def reasons(a: Analysis, company: Optional[Company] = None) -> list[tuple[str, Optional[str]]]:
    """What the answer leaves an interviewer asking, most important first, each with the
    candidate's words to quote (or None)."""
    st, ch = a.structure, a.checks
    out: list[tuple[str, Optional[str]]] = []
    if not st or ch is None:
        return out
    if ch.hypothetical:
        # What one would do is no story to ask about: "How did it turn out?" or "What were you
        # responsible for?" have no answer until the candidate tells a time it really happened.
        return [("hypothetical", None)]

    def has(c: str) -> bool:
        # A part the judge is unsure of (shown as "?") is one the interviewer did not clearly hear either.
        return bool(st.get(c) and st[c].present and st[c].confidence >= UNSURE_BELOW)

    if not has("result"):
        actions = _sentences_of(a, "action")
        out.append(("result_missing", quote(actions[-1]) if actions else None))
    elif not ch.result_quantified:
        results = _sentences_of(a, "result")
        out.append(("result_unmeasured", quote(results[0]) if results else None))
    if ch.action_voice == "we":
        s = _we_sentence(a)
        out.append(("we_only", quote(s) if s else None))
    if not has("task"):
        out.append(("task_missing", None))
    if not has("situation"):
        out.append(("situation_missing", None))
    if company is not None and not has("link_back"):
        out.append(("link_missing", None))
    if not out:
        actions = _sentences_of(a, "action")
        out.append(("strong", quote(actions[0]) if actions else None))
    return out


def _fits(t: Template, company: Optional[Company], competencies: Sequence[str]) -> int:
    """How closely a template is meant for this question: 2 for its company, 1 for one of its
    competencies, 0 for any question; -1 when it is meant for others only."""
    score = 0
    if t.companies:
        if company is None or company.id.lower() not in t.companies:
            return -1
        score += 2
    if t.competencies:
        if not set(t.competencies) & {c.lower() for c in competencies}:
            return -1
        score += 1
    return score


def choose(a: Analysis, templates: Sequence[Template], *, n: int = 1, company: Optional[Company] = None,
           competencies: Sequence[str] = (), asked: Iterable[str] = (), skip: Iterable[str] = ()) -> list[FollowUp]:
    """Up to ``n`` follow-ups for the answer, one per reason, most important reason first; the
    reasons in ``skip`` are passed over (already asked about this story, or already answered).

    For each reason the template most specific to the company and competencies wins;
    among equals the first one not yet ``asked`` in this session (template ids), so the
    same follow-up is not asked twice while another is left.  A template that quotes
    the candidate is used only when there are words to quote.
    """
    if n <= 0:
        return []
    asked = set(asked)
    value = closest_value(a, company) if company is not None else None
    out: list[FollowUp] = []
    component_of = dict(REASONS)
    skip = set(skip)
    for reason, said in reasons(a, company):
        if reason in skip:
            continue
        usable = []
        for order, t in enumerate(templates):
            if t.when != reason:
                continue
            fit = _fits(t, company, competencies)
            if fit < 0 or ("quote" in t.fields and not said) or ("value" in t.fields and not value):
                continue
            if "company" in t.fields and company is None:
                continue
            usable.append((t.id in asked, -fit, order, t))
        if not usable:
            continue
        t = min(usable, key=lambda x: x[:3])[3]
        text = t.text.format(quote=said or "", company=company.name if company else "", value=value or "")
        out.append(FollowUp(reason, t.id, text, component_of[reason]))
        asked.add(t.id)
        if len(out) >= n:
            break
    return out

