"""A session as one self-contained HTML page: inline CSS, the audio embedded, nothing that loads or runs.

The page is a record to send to a coach: it must open anywhere, offline,
years later, so the CSS is inline and each recording is a base64 ``data:``
URI.  A transcript is untrusted text: every piece of stored text is
``html.escape``d and the Content-Security-Policy forbids scripts.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from starcoach.export.rows import checklist_rows, delivery_rows
from starcoach.model import COMPONENT_LETTERS, COMPONENT_TITLES, COMPONENTS
from starcoach.stored import StoredAnswer, clock, companies_label, local_time, not_analysed_reason
from starcoach.targets import score_band

if TYPE_CHECKING:
    from starcoach.store.database import SessionRow


#: Background tint and accent for each component in the HTML page (the terminal's COLOURS, for paper).
HTML_COLOURS: dict[str, tuple[str, str]] = {
    "repeat": ("#f6dcf0", "#a61e85"),
    "situation": ("#dce6fb", "#1f4fbf"),
    "task": ("#d5f1f4", "#0b7a86"),
    "action": ("#dcf3df", "#2b8a3e"),
    "result": ("#fbf0c9", "#a87b00"),
    "link_back": ("#fddcdc", "#c92a2a"),
}

_CSS = """
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2125;background:#fafafa;
margin:0;padding:2rem 1rem}
main{max-width:60rem;margin:0 auto}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.2rem;margin:0 0 .6rem}h3{font-size:1rem;margin:1.2rem 0 .4rem;
color:#495057;text-transform:uppercase;letter-spacing:.04em}
.meta{color:#6c757d;margin:0 0 1rem}
.answer{background:#fff;border:1px solid #dee2e6;border-radius:8px;padding:1.2rem 1.4rem;margin:1.4rem 0}
.score{font-size:1.1rem;margin:.2rem 0 .8rem}.score b{font-size:1.4rem}
.good{color:#2b8a3e}.ok{color:#a87b00}.poor{color:#c92a2a}
audio{width:100%;margin:.4rem 0}
.note{background:#fff4e6;border-left:4px solid #f08c00;padding:.4rem .8rem}
.transcript{line-height:2}
.c{padding:.15rem .2rem;border-radius:3px;border-bottom:2px solid transparent}
.c-none{color:#6c757d}
.legend .c{margin-right:.4rem;font-size:.9rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
th{font-size:.85rem;color:#495057}
.yes{color:#2b8a3e;font-weight:bold}.no{color:#c92a2a;font-weight:bold}
.evidence{font-style:italic;color:#495057}
.metrics th{width:10rem}.checklist td:nth-child(2){white-space:nowrap}
footer{color:#868e96;font-size:.85rem;margin-top:2rem}
"""


def css() -> str:
    rules = [_CSS.strip()]
    for c, (bg, fg) in HTML_COLOURS.items():
        cls = c.replace("_", "-")
        rules.append(f".c-{cls}{{background:{bg};border-bottom-color:{fg}}}"
                     f".l-{cls}{{color:{fg};font-weight:bold}}")
    return "\n".join(rules)


def wav_data_uri(path: Path) -> str:
    """The recording as a 16 kHz 16-bit mono WAV in a data: URI (any readable audio file; AudioError if not)."""
    import base64
    import io
    import wave

    import numpy as np

    from starcoach.capture.playback import pcm16
    from starcoach.speech.decode import SAMPLE_RATE_HZ, load_audio

    pcm = pcm16(np.asarray(load_audio(path), dtype=np.float32)).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE_HZ)
        w.writeframes(pcm.tobytes())
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def session_html(s: "SessionRow", answers: Sequence[StoredAnswer], names: dict[str, str],
                 audio_uri: Callable[[Path], str] = wav_data_uri) -> str:
    """One self-contained page: inline CSS, audio as data: URIs, every piece of stored text escaped."""
    from starcoach import __version__
    from starcoach.speech.decode import AudioError

    e = html.escape
    title = f"starcoach session {s.id}"
    company = companies_label(s, answers, names)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Nothing may load or run: the page is a record, and transcripts are untrusted text.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "media-src data:; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{css()}</style></head><body><main>",
        f"<h1>{e(title)}</h1>",
    ]
    meta = [s.kind, local_time(s.started_at)]
    if company:
        meta.append(company)
    meta.append(f"{len(answers)} answer(s)")
    if s.mean_score is not None:
        meta.append(f"mean score {s.mean_score:.0f}")
    if s.total_s:
        meta.append(f"{clock(s.total_s)} recorded")
    parts.append(f'<p class="meta">{e(" · ".join(meta))}</p>')
    legend = "".join(f'<span class="c c-{c.replace("_", "-")}">{e(COMPONENT_TITLES[c])}</span>' for c in COMPONENTS)
    parts.append(f'<p class="legend">{legend}<span class="c c-none">other</span></p>')
    for x in answers:
        a = x.analysis
        parts.append(f'<section class="answer" id="answer-{x.n}">')
        parts.append(f"<h2>{x.n}. {e(x.row.question or '(no question)')}</h2>")
        if a is not None and a.error is None:
            parts.append(f'<p class="score">Score <b class="{score_band(a.score)}">{a.score}</b>/100</p>')
        if x.audio_missing:
            parts.append(f'<p class="note">Audio file missing: {e(str(x.audio))}</p>')
        elif x.audio is not None:
            try:
                parts.append(f'<audio controls preload="metadata" src="{e(audio_uri(x.audio))}"></audio>')
            except AudioError as err:
                parts.append(f'<p class="note">Audio could not be read: {e(str(err))}</p>')
        if a is None:
            parts.append(f'<p class="note">Not analysed: {e(not_analysed_reason(x))}</p></section>')
            continue
        if a.error is not None:
            parts.append(f'<p class="note">Could not be analysed: {e(a.error.message)}</p></section>')
            continue
        parts.append("<h3>Transcript</h3>")
        spans = []
        for sent in a.sentences:
            c = sent.component or ""
            cls = c.replace("_", "-") if c in COMPONENTS else "none"
            spans.append(f'<span class="c c-{cls}" data-component="{e(c or "none")}" '
                         f'title="{e(COMPONENT_TITLES.get(c, "other"))}">{e(sent.text)}</span>')
        parts.append('<p class="transcript">' + " ".join(spans) + "</p>")
        parts.append('<h3>R-STAR-L</h3><table class="checklist"><thead><tr><th></th><th>Part</th><th>Present</th>'
                     "<th>Sure</th><th>Evidence</th></tr></thead><tbody>")
        for c, r, ev in checklist_rows(a):
            cls = c.replace("_", "-")
            mark = '<span class="yes">\u2713 yes</span>' if r.present else '<span class="no">\u2717 no</span>'
            parts.append(f'<tr data-component="{c}"><td class="l-{cls}">{COMPONENT_LETTERS[c]}</td>'
                         f'<td class="l-{cls}">{e(COMPONENT_TITLES[c])}</td><td>{mark}</td>'
                         f'<td>{r.confidence:.0%}</td><td class="evidence">{e(ev) or "—"}</td></tr>')
        parts.append("</tbody></table>")
        parts.append('<h3>Delivery</h3><table class="metrics"><tbody>')
        for label, value in delivery_rows(a):
            parts.append(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>")
        parts.append("</tbody></table>")
        parts.append("<h3>What to work on</h3>")
        if a.advice:
            parts.append('<ol class="advice">' + "".join(f"<li>{e(line)}</li>" for line in a.advice) + "</ol>")
        else:
            parts.append('<p class="advice">Nothing to fix: a complete R-STAR-L answer.</p>')
        if x.reanalysed_at:
            parts.append(f'<p class="meta">Re-analysed {e(local_time(x.reanalysed_at))}.</p>')
        parts.append("</section>")
    parts.append(f"<footer>Exported by starcoach {e(__version__)}.</footer></main></body></html>")
    return "\n".join(parts) + "\n"
