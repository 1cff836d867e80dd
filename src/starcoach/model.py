"""The values passed between stages, and their one JSON form.

Every stage after transcription speaks in these frozen dataclasses; none of
faster-whisper's, sounddevice's or rich's types leak past the module that
owns them.  ``Analysis.to_json()`` is the ``starcoach.analysis/1`` object of
the public contract (../shared/contract.md in the development tree, and
docs/json.md for users): change it only with a new schema version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

SCHEMA = "starcoach.analysis/1"

#: The six R-STAR-L components, in the order an answer should follow them.
COMPONENTS: tuple[str, ...] = ("repeat", "situation", "task", "action", "result", "link_back")

#: Short letters for checklists, in COMPONENTS order.
COMPONENT_LETTERS: dict[str, str] = {
    "repeat": "R",
    "situation": "S",
    "task": "T",
    "action": "A",
    "result": "R",
    "link_back": "L",
}

COMPONENT_TITLES: dict[str, str] = {
    "repeat": "Repeat",
    "situation": "Situation",
    "task": "Task",
    "action": "Action",
    "result": "Result",
    "link_back": "Link back",
}


@dataclass(frozen=True)
class Word:
    """One recognised word with its time in the audio (seconds)."""

    text: str
    start_s: float
    end_s: float
    probability: float = 1.0


@dataclass(frozen=True)
class Span:
    """A stretch of audio, e.g. detected speech or a silence."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Transcript:
    """What transcription hands to analysis: text, word timings, speech spans."""

    text: str
    words: tuple[Word, ...] = ()
    duration_s: Optional[float] = None
    #: Speech found by the voice-activity detector; pauses are measured from these.
    speech: tuple[Span, ...] = ()
    language: str = "en"


@dataclass(frozen=True)
class Sentence:
    text: str
    component: Optional[str]
    start_s: Optional[float] = None
    end_s: Optional[float] = None
    #: Character offsets into the transcript (not part of the JSON).
    start_char: int = 0
    end_char: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "component": self.component,
            "start_s": _round(self.start_s),
            "end_s": _round(self.end_s),
        }


#: Below this confidence the judge is unsure of a part either way: the checklist shows "?",
#: the advice asks rather than tells, and the JSON says ``"unsure": true``.
UNSURE_BELOW = 0.7


@dataclass(frozen=True)
class ComponentResult:
    present: bool
    confidence: float
    evidence: Optional[str]
    #: Only for link_back: names of the company values the closing ties to.
    values: tuple[str, ...] = ()

    def to_json(self, name: str) -> dict[str, Any]:
        d: dict[str, Any] = {
            "present": self.present,
            "confidence": round(float(self.confidence), 3),
            "evidence": self.evidence,
            "unsure": bool(self.confidence < UNSURE_BELOW),
        }
        if name == "link_back":
            d["values"] = list(self.values)
        return d


@dataclass(frozen=True)
class Filler:
    word: str
    start_s: Optional[float]


@dataclass(frozen=True)
class Pause:
    start_s: float
    duration_s: float


@dataclass(frozen=True)
class Delivery:
    """How the answer was spoken (only for audio input)."""

    wpm: float
    speaking_s: float
    fillers: tuple[Filler, ...]
    pauses: tuple[Pause, ...]
    hedges: tuple[Filler, ...] = ()
    #: Seconds spent in each component, from sentence times.
    component_s: tuple[tuple[str, float], ...] = ()

    @property
    def filler_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.fillers:
            counts[f.word] = counts.get(f.word, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def fillers_per_minute(self) -> float:
        return len(self.fillers) / (self.speaking_s / 60.0) if self.speaking_s > 0 else 0.0

    @property
    def longest_pause_s(self) -> float:
        return max((p.duration_s for p in self.pauses), default=0.0)

    def to_json(self) -> dict[str, Any]:
        hedge_counts: dict[str, int] = {}
        for h in self.hedges:
            hedge_counts[h.word] = hedge_counts.get(h.word, 0) + 1
        return {
            "wpm": round(self.wpm, 1),
            "speaking_s": round(self.speaking_s, 2),
            "fillers": {
                "total": len(self.fillers),
                "per_minute": round(self.fillers_per_minute, 2),
                "counts": self.filler_counts,
                "items": [{"word": f.word, "start_s": _round(f.start_s)} for f in self.fillers],
            },
            "pauses": [
                {"start_s": round(p.start_s, 2), "duration_s": round(p.duration_s, 2)} for p in self.pauses
            ],
            "longest_pause_s": round(self.longest_pause_s, 2),
            "hedges": {
                "total": len(self.hedges),
                "counts": hedge_counts,
            },
            "component_s": {name: round(s, 2) for name, s in self.component_s},
        }


@dataclass(frozen=True)
class Checks:
    """Answer-level judgements beyond component presence."""

    word_count: int
    repeat_verbatim: bool
    result_quantified: bool
    action_voice: str  # "i", "we", "mixed" or "none"
    hypothetical: bool
    on_topic: Optional[bool]  # None when no question was given, its topic is not known, or the answer is hypothetical
    question_overlap: float
    #: Share of the answer's words in each component.
    shares: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "word_count": self.word_count,
            "repeat_verbatim": self.repeat_verbatim,
            "result_quantified": self.result_quantified,
            "action_voice": self.action_voice,
            "hypothetical": self.hypothetical,
            "on_topic": self.on_topic,
            "question_overlap": round(self.question_overlap, 3),
            "shares": {name: round(v, 3) for name, v in self.shares},
        }


@dataclass(frozen=True)
class AnalysisError:
    kind: str
    message: str


@dataclass(frozen=True)
class Analysis:
    input: str
    question: Optional[str]
    company: Optional[str]
    transcript: str
    duration_s: Optional[float]
    structure: dict[str, ComponentResult]
    sentences: tuple[Sentence, ...]
    delivery: Optional[Delivery]
    score: int
    advice: tuple[str, ...]
    checks: Optional[Checks] = None
    error: Optional[AnalysisError] = None
    #: Display name of the company (not part of the JSON: ``company`` is the id).
    company_name: Optional[str] = None
    words: tuple[Word, ...] = field(default=(), compare=False)
    #: Why the recording stopped before the candidate finished: ``"time_limit"`` (the answer ran into
    #: the time limit) or ``"recovered"`` (the program was stopped mid-answer and the audio recovered);
    #: None for a finished answer.  Its length is then not judged.  In the JSON only when set.
    cut: Optional[str] = None

    @classmethod
    def failed(cls, input: str, kind: str, message: str, *, question: Optional[str] = None,
               company: Optional[str] = None) -> "Analysis":
        return cls(
            input=input,
            question=question,
            company=company,
            transcript="",
            duration_s=None,
            structure={},
            sentences=(),
            delivery=None,
            score=0,
            advice=(),
            checks=None,
            error=AnalysisError(kind, message),
        )

    def to_json(self) -> dict[str, Any]:
        out = {
            "schema": SCHEMA,
            "input": self.input,
            "question": self.question,
            "company": self.company,
            "transcript": self.transcript,
            "duration_s": _round(self.duration_s),
            "structure": {name: self.structure[name].to_json(name) for name in COMPONENTS
                          if name in self.structure},
            "sentences": [s.to_json() for s in self.sentences],
            "delivery": self.delivery.to_json() if self.delivery else None,
            "score": None if self.error else int(self.score),
            "advice": list(self.advice),
            "checks": self.checks.to_json() if self.checks else None,
            "error": {"kind": self.error.kind, "message": self.error.message} if self.error else None,
        }
        if self.cut is not None:
            out["cut"] = self.cut
        return out


def _round(x: Optional[float], nd: int = 2) -> Optional[float]:
    return None if x is None else round(float(x), nd)


# --------------------------------------------------------------------------- reading stored JSON back


def transcript_to_json(t: Transcript) -> dict[str, Any]:
    return {
        "text": t.text,
        "duration_s": t.duration_s,
        "language": t.language,
        "words": [[w.text, round(w.start_s, 3), round(w.end_s, 3), round(w.probability, 3)] for w in t.words],
        "speech": [[round(s.start_s, 3), round(s.end_s, 3)] for s in t.speech],
    }


def transcript_from_json(d: dict[str, Any]) -> Transcript:
    return Transcript(
        text=d.get("text", ""),
        words=tuple(Word(str(w[0]), float(w[1]), float(w[2]), float(w[3]) if len(w) > 3 else 1.0)
                    for w in d.get("words", ())),
        duration_s=d.get("duration_s"),
        speech=tuple(Span(float(a), float(b)) for a, b in d.get("speech", ())),
        language=d.get("language", "en"),
    )


def analysis_from_json(d: dict[str, Any], *, words: tuple[Word, ...] = (),
                       company_name: Optional[str] = None) -> Analysis:
    """Rebuild an Analysis from its ``starcoach.analysis/1`` JSON (for replay and export)."""
    if d.get("schema") != SCHEMA:
        raise ValueError(f"unsupported analysis schema {d.get('schema')!r}")
    err = d.get("error")
    structure = {
        name: ComponentResult(present=bool(v["present"]), confidence=float(v["confidence"]),
                              evidence=v.get("evidence"), values=tuple(v.get("values", ())))
        for name, v in (d.get("structure") or {}).items()
    }
    sentences = tuple(Sentence(text=s["text"], component=s.get("component"), start_s=s.get("start_s"),
                               end_s=s.get("end_s")) for s in d.get("sentences", ()))
    delivery = None
    dj = d.get("delivery")
    if dj:
        delivery = Delivery(
            wpm=float(dj["wpm"]),
            speaking_s=float(dj["speaking_s"]),
            fillers=tuple(Filler(f["word"], f.get("start_s")) for f in dj["fillers"]["items"]),
            pauses=tuple(Pause(float(p["start_s"]), float(p["duration_s"])) for p in dj["pauses"]),
            hedges=tuple(Filler(w, None) for w, n in (dj.get("hedges") or {}).get("counts", {}).items()
                         for _ in range(int(n))),
            component_s=tuple((k, float(v)) for k, v in (dj.get("component_s") or {}).items()),
        )
    checks = None
    cj = d.get("checks")
    if cj:
        checks = Checks(word_count=int(cj["word_count"]), repeat_verbatim=bool(cj["repeat_verbatim"]),
                        result_quantified=bool(cj["result_quantified"]), action_voice=cj["action_voice"],
                        hypothetical=bool(cj["hypothetical"]), on_topic=cj.get("on_topic"),
                        question_overlap=float(cj.get("question_overlap", 0.0)),
                        shares=tuple((k, float(v)) for k, v in (cj.get("shares") or {}).items()))
    return Analysis(
        input=d.get("input", "-"), question=d.get("question"), company=d.get("company"),
        transcript=d.get("transcript", ""), duration_s=d.get("duration_s"), structure=structure,
        sentences=sentences, delivery=delivery, score=int(d.get("score") or 0), advice=tuple(d.get("advice", ())),
        checks=checks, error=AnalysisError(err["kind"], err["message"]) if err else None,
        company_name=company_name, words=words, cut=d.get("cut"),
    )
