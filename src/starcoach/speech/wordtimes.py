"""Where Whisper's words land on the answer's clock, and how two passes' words are merged.

Whisper is given only the speech (the voice detector's spans, joined with a
little padding), so the times it returns are in the joined audio; these pure
functions place them back on the recording's clock, find the stretches of
speech no word covers (Whisper skipped them), and merge the hesitations the
prompted pass heard into the words of the unprompted one.  No model and no
I/O here: transcribe.py calls them for every Whisper window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from starcoach.model import Span, Word
from starcoach.speech.decode import SAMPLE_RATE_HZ
from starcoach.speech.delivery import hesitation_form

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

#: Speech spans closer than this are given to Whisper as one piece, so it
#: hears natural sentence pauses; only longer silences are cut out.
WHISPER_MERGE_GAP_S = 1.0
#: Padding kept around each piece given to Whisper (context at the edges).
WHISPER_PAD_S = 0.3
#: Speech at least this long that no word covers is a "hole": Whisper skipped it.
HOLE_MIN_S = 1.0
#: A "word" longer than this is Whisper stretching one word over audio it
#: skipped; it does not count as covering that audio.
MAX_WORD_S = 2.0


@dataclass
class Piece:
    """A stretch of the original audio given to Whisper, and where it lands in the joined audio."""

    src_start_s: float  # in the recording
    joined_start_s: float  # in the audio Whisper is given
    duration_s: float



def join_pieces(window: "np.ndarray", offset_s: float, pieces: Sequence[Piece]) -> "np.ndarray":
    """The samples of ``pieces`` back to back: the audio Whisper hears."""
    import numpy as np

    parts = []
    for p in pieces:
        a = int(round((p.src_start_s - offset_s) * SAMPLE_RATE_HZ))
        parts.append(window[a:a + int(round(p.duration_s * SAMPLE_RATE_HZ))])
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def place_words(raw: Sequence[tuple[str, float, float, float]], pieces: Sequence[Piece], offset_s: float,
           window_s: float) -> list[Word]:
    """Whisper's words (times in the joined audio) as Words in recording time.

    Continuation pieces are joined to the word before them and times are
    kept monotonic across the joins between pieces.
    """
    window_end_s = offset_s + window_s
    out: list[Word] = []
    for raw_text, start, end, prob in raw:
        text = raw_text.strip()
        if not text:
            continue
        if out and not raw_text[:1].isspace() and not text[0].isalnum():
            # A continuation Whisper splits off ("step" "-by" "-step", "team" "'s"):
            # one word, so text and words agree and filler rules see whole words.
            last = out[-1]
            e = min(max(to_source(end, pieces, is_end=True), last.end_s), window_end_s)
            out[-1] = Word(last.text + text, last.start_s, round(e, 3),
                           min(last.probability, float(prob)))
            continue
        s = to_source(start, pieces, is_end=False)
        e = to_source(end, pieces, is_end=True)
        s = min(max(s, offset_s), window_end_s)
        e = min(max(e, s), window_end_s)
        if out and s < out[-1].start_s:  # keep times monotonic across piece joins
            s = out[-1].start_s
            e = max(e, s)
        out.append(Word(text=text, start_s=round(s, 3), end_s=round(e, 3), probability=float(prob)))
    return out


def whisper_pieces(spans: Sequence[Span], offset_s: float, window_s: float) -> list[Piece]:
    """Speech spans padded and merged into the pieces Whisper hears, back to back."""
    lo, hi = offset_s, offset_s + window_s
    merged: list[list[float]] = []
    for s in sorted(spans, key=lambda s: s.start_s):
        a, b = max(lo, s.start_s - WHISPER_PAD_S), min(hi, s.end_s + WHISPER_PAD_S)
        if merged and a - merged[-1][1] < WHISPER_MERGE_GAP_S:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    pieces, joined = [], 0.0
    for a, b in merged:
        pieces.append(Piece(src_start_s=a, joined_start_s=joined, duration_s=b - a))
        joined += b - a
    return pieces


def group_spans(spans: Sequence[Span], max_s: float) -> list[list[Span]]:
    """Consecutive spans in groups reaching at most ``max_s`` from first start to last end."""
    groups: list[list[Span]] = []
    for s in spans:
        if groups and s.end_s - groups[-1][0].start_s <= max_s:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


def to_source(t: float, pieces: Sequence[Piece], *, is_end: bool) -> float:
    """A time in the joined audio -> the same instant in the recording.

    An end time exactly on a join belongs to the piece before it, a start
    time to the piece after it, so words never jump across a removed silence.
    """
    chosen = pieces[0]
    for p in pieces:
        boundary = p.joined_start_s
        if (t > boundary) if is_end else (t >= boundary):
            chosen = p
        else:
            break
    return chosen.src_start_s + min(max(t - chosen.joined_start_s, 0.0), chosen.duration_s)


def uncovered_speech(spans: Sequence[Span], words: Sequence[Word], min_gap_s: float = HOLE_MIN_S) -> list[Span]:
    """Stretches of VAD speech, at least ``min_gap_s`` long, that no real word covers.

    Words longer than MAX_WORD_S do not count as cover: that is how Whisper
    marks audio it jumped over (one word "through" from 12 s to 30 s).
    """
    covered = sorted((w.start_s, w.end_s) for w in words if w.end_s - w.start_s <= MAX_WORD_S)
    holes: list[Span] = []
    for span in spans:
        cursor = span.start_s
        for a, b in covered:
            if b <= cursor or a >= span.end_s:
                continue
            if a - cursor >= min_gap_s:
                holes.append(Span(cursor, a))
            cursor = max(cursor, b)
        if span.end_s - cursor >= min_gap_s:
            holes.append(Span(cursor, span.end_s))
    return holes


def words_in(words: Sequence[Word], holes: Sequence[Span]) -> list[Word]:
    """The words whose middle falls inside one of ``holes`` (and are not stretched)."""
    def inside(w: Word) -> bool:
        mid = (w.start_s + w.end_s) / 2
        return w.end_s - w.start_s <= MAX_WORD_S and any(h.start_s <= mid <= h.end_s for h in holes)

    return [w for w in words if inside(w)]


def words_outside(words: Sequence[Word], start_s: float, end_s: float) -> list[Word]:
    """The words that do not start in [start_s, end_s), the bounds taken at the precision word
    times are kept at (ms): a window that starts at 0.020000000000000018 s holds the word that
    starts at 0.02 s.  (Compared unrounded, a prompted pass redone for that window kept its
    first word twice: "Umm, Umm," and one filler too many.)"""
    a, b = round(start_s, 3), round(end_s, 3)
    return [w for w in words if not a <= w.start_s < b]


def insert_by_time(words: Sequence[Word], extra: Sequence[Word]) -> list[Word]:
    """``words`` with ``extra`` inserted where their start times belong.

    Not a full sort: ``words`` keeps its own order (hesitations placed by
    alignment may carry slightly out-of-order times), and each extra word goes
    before the first word that starts after it.
    """
    out = list(words)
    for w in sorted(extra, key=lambda w: w.start_s):
        k = next((i for i, x in enumerate(out) if x.start_s > w.start_s), len(out))
        out.insert(k, w)
    return out


def _norm(text: str) -> str:
    return text.strip(" \"'“”‘’()[].,;:!?…-–—").lower()


#: How far (s) a hesitation from the prompted pass may sit outside the
#: unprompted words it is aligned between before its time is not trusted.
_ALIGN_SLACK_S = 0.5


def add_hesitations(plain: Sequence[Word], prompted: Sequence[Word]) -> list[Word]:
    """``plain``'s words plus the hesitation sounds only ``prompted`` heard (dual strategy).

    The two word sequences are aligned on their text; a hesitation the
    prompted pass inserted between two aligned words is added there, in
    alignment order, not time order: the unprompted pass stretched its
    neighbouring words over the hesitation.  A hesitation whose time does
    not fall between those neighbours is dropped: the prompted pass now and
    then derails (skips ahead, garbles its timestamps), and a filler in the
    wrong place is worse than one not counted.
    """
    import difflib

    a = [_norm(w.text) for w in plain]
    b = [_norm(w.text) for w in prompted]
    out: list[Word] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        seg = list(plain[i1:i2])
        if op != "equal":
            lo = (plain[i1 - 1].start_s if i1 > 0 else 0.0) - _ALIGN_SLACK_S
            hi = (plain[i2].end_s if i2 < len(plain) else float("inf")) + _ALIGN_SLACK_S
            already = {hesitation_form(x) for x in a[i1:i2]}
            for w in prompted[j1:j2]:
                form = hesitation_form(w.text)
                if form is not None and form not in already and lo <= w.start_s <= hi:
                    # Inside a replaced stretch, before the first word whose middle
                    # comes after it (a stretched word's start is too early).
                    k = next((k for k, x in enumerate(seg) if hesitation_form(x.text) is None
                              and (x.start_s + x.end_s) / 2 > w.start_s), len(seg))
                    seg.insert(k, w)
        out.extend(seg)
    return out
