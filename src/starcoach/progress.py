"""Progress maths: one session's numbers, the trend of a measure, the part missing most often.

What ``starcoach progress`` charts and advises, computed from stored
analyses with nothing else: no terminal, no database, so the numbers can be
tested on their own and any view can draw them.  Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from starcoach.model import COMPONENT_TITLES, COMPONENTS, UNSURE_BELOW, Analysis
from starcoach.targets import TIPS

#: How many sessions the charts show, and how many recent ones pick the part to practise.
CHART_SESSIONS = 20
RECENT_SESSIONS = 5

SPARK_BLOCKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


@dataclass(frozen=True)
class SessionStats:
    """One session's numbers for the progress charts (None: nothing to measure, e.g. no audio)."""

    id: int
    started_at: str
    answers: int
    mean_score: float
    #: Component -> answers where the checklist showed it plainly (present, and not "?": unsure).
    present: dict[str, int]
    fillers_per_min: Optional[float]
    wpm: Optional[float]
    words: Optional[float]
    spoken_s: Optional[float]

    def presence(self, component: str) -> float:
        return 100.0 * self.present.get(component, 0) / self.answers if self.answers else 0.0


def plainly_there(a: Analysis, component: str) -> bool:
    """The part is there and the judge is sure of it: a ✓ in the checklist, not a "?"."""
    r = a.structure.get(component)
    return bool(r is not None and r.present and r.confidence >= UNSURE_BELOW)


def session_stats(session_id: int, started_at: str, analyses: Sequence[Analysis]) -> Optional[SessionStats]:
    judged = [a for a in analyses if a.error is None and a.structure]
    if not judged:
        return None
    spoken = [a.delivery for a in judged if a.delivery is not None and a.delivery.speaking_s > 0]
    speak_s = sum(d.speaking_s for d in spoken)
    words = [a.checks.word_count for a in judged if a.checks is not None]
    return SessionStats(
        id=session_id, started_at=started_at, answers=len(judged),
        mean_score=sum(a.score for a in judged) / len(judged),
        present={c: sum(1 for a in judged if plainly_there(a, c)) for c in COMPONENTS},
        fillers_per_min=(sum(len(d.fillers) for d in spoken) / (speak_s / 60.0)) if spoken else None,
        wpm=(sum(d.wpm * d.speaking_s for d in spoken) / speak_s) if spoken else None,
        words=(sum(words) / len(words)) if words else None,
        spoken_s=(speak_s / len(spoken)) if spoken else None,
    )


def sparkline(values: Sequence[Optional[float]], lo: Optional[float] = None, hi: Optional[float] = None) -> str:
    """One block per value, scaled between ``lo`` and ``hi`` (default: the values' own range); None is '\u00b7'."""
    known = [v for v in values if v is not None]
    if not known:
        return "\u00b7" * len(values)
    given_lo = lo is not None
    lo = min(known) if lo is None else lo
    hi = max(known) if hi is None else hi
    out = []
    for v in values:
        if v is None:
            out.append("\u00b7")
        elif hi - lo <= 1e-9:  # nothing to compare: the floor if it is the given floor, else mid-height
            out.append(SPARK_BLOCKS[0] if given_lo and v <= lo else SPARK_BLOCKS[len(SPARK_BLOCKS) // 2])
        else:
            frac = min(1.0, max(0.0, (v - lo) / (hi - lo)))
            out.append(SPARK_BLOCKS[int(round(frac * (len(SPARK_BLOCKS) - 1)))])
    return "".join(out)


def weakest_component(stats: Sequence[SessionStats], recent: int = RECENT_SESSIONS) -> tuple[str, int, int, int]:
    """(component, answers with it present, answers judged, sessions looked at) over the last sessions.

    The lowest presence rate; a tie goes to the part that comes first in R-STAR-L.
    """
    window = list(stats)[-recent:]
    total = sum(s.answers for s in window)
    present = {c: sum(s.present.get(c, 0) for s in window) for c in COMPONENTS}
    worst = min(COMPONENTS, key=lambda c: (present[c] / total if total else 1.0, COMPONENTS.index(c)))
    return worst, present[worst], total, len(window)


def next_focus(analyses: list[Analysis]) -> str:
    """The one thing to practise next: telling a real story, when at least half the answers said what
    one would do (the parts they lack follow from that, as the answer's own first advice says);
    else the most often missing part; else the top advice."""
    hyp = [a for a in analyses if a.checks is not None and a.checks.hypothetical]
    if hyp and 2 * len(hyp) >= len(analyses):
        return (f"{len(hyp)} of {len(analyses)} answers told what you would do, not what you did: "
                "tell one real past story (\u201cLast year, when\u2026, I\u2026\u201d).")
    missing = {c: sum(1 for a in analyses if not a.structure[c].present) for c in COMPONENTS}
    worst = max(COMPONENTS, key=lambda c: (missing[c], -COMPONENTS.index(c)))
    if missing[worst]:
        return (f"{COMPONENT_TITLES[worst]} was missing in {missing[worst]} of {len(analyses)} answers: "
                + TIPS[worst].short)
    advice = [a.advice[0] for a in analyses if a.advice]
    return advice[0] if advice else "keep it up: every part of R-STAR-L was there."


def follow_up_rates(asked: Iterable[tuple[Optional[str], Iterable[str]]]) -> dict[str, tuple[int, int]]:
    """Per part of R-STAR-L: (follow-ups that asked about it, how many of those the reply supplied).

    ``asked``: per judged follow-up answer, the part it asked about (None: a probing question about
    a strong answer, not counted) and the parts the reply supplied.  Follow-up answers never count
    in the main answers' figures (:func:`session_stats`): the first answer is what is measured.
    """
    out: dict[str, list[int]] = {}
    for component, supplied in asked:
        if component is None:
            continue
        n = out.setdefault(component, [0, 0])
        n[0] += 1
        n[1] += component in set(supplied)
    return {c: (out[c][0], out[c][1]) for c in COMPONENTS if c in out}
