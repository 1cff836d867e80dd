"""A session as one self-contained HTML page: inline CSS and script, the audio embedded, nothing loaded.

The page is a record to send to a coach: it must open anywhere, offline,
years later, so the CSS and the one script are inline and each recording is
an Ogg Opus ``data:`` URI (speech at 20 kbit/s: about 0.15 MB a minute,
against 1.9 MB as WAV).  While the audio plays the transcript's words light
up in time; clicking a word plays from there; fillers and pauses are marked;
``#t=SECONDS`` in the address lights the word heard then; words the speech
model was unsure of are faded.  Each answer has a notes field for a coach
(filled in by ``export --notes FILE`` from notes saved earlier; a follow-up's
section, after its answer's, has none), and one button saves them all as
Markdown, made in the page.  A transcript is
untrusted text: every piece of stored text is ``html.escape``d, and the
Content-Security-Policy allows the one script by its hash and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import html
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from starcoach.export.rows import checklist_rows, delivery_rows
from starcoach.judge.score import LONG_PAUSE_S
from starcoach.model import COMPONENT_LETTERS, COMPONENT_TITLES, COMPONENTS, UNSURE_BELOW
from starcoach.shaky import is_shaky
from starcoach.stored import StoredAnswer, StoredFollowUp, clock, companies_label, local_time, not_analysed_reason
from starcoach.targets import cut_banner, score_band

if TYPE_CHECKING:
    from starcoach.model import Analysis, Word
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
.yes{color:#2b8a3e;font-weight:bold}.no{color:#c92a2a;font-weight:bold}.unsure{color:#b08900;font-weight:bold}
.evidence{font-style:italic;color:#495057}
.metrics th{width:10rem}.checklist td:nth-child(2){white-space:nowrap}
footer{color:#868e96;font-size:.85rem;margin-top:2rem}
.w{cursor:pointer;border-radius:2px}.w:hover{text-decoration:underline}
.w.now{outline:2px solid #1d2125;background:#fff3bf}
.shaky{opacity:.5}
.filler{color:#c92a2a;font-style:italic;text-decoration:underline wavy #c92a2a}
.pause{font-size:.8rem;color:#6c757d;background:#f1f3f5;border-radius:3px;padding:0 .3rem;margin:0 .2rem}
.pause.long{color:#fff;background:#c92a2a}
textarea.notes{width:100%;box-sizing:border-box;font:inherit;padding:.4rem;border:1px solid #ced4da;border-radius:4px}
button{font:inherit;padding:.3rem .8rem}
"""

#: The page's one script, allowed by its hash in the Content-Security-Policy.  Per
#: answer: light the word being heard while the audio plays (and for ``#t=SECONDS``),
#: play from a word when it is clicked.  It only reads the page; it sends nothing.
SCRIPT = """(function(){
function at(ws,t){var hit=null;for(var i=0;i<ws.length&&+ws[i].dataset.s<=t;i++)hit=ws[i];
return hit&&t<+hit.dataset.e+0.3?hit:null;}
var m=/[#&]t=([0-9.]+)/.exec(location.hash),t0=m?parseFloat(m[1]):null;
document.querySelectorAll("section.answer").forEach(function(sec){
var au=sec.querySelector("audio"),ws=Array.prototype.slice.call(sec.querySelectorAll(".w")),cur=null;
function show(t){var w=at(ws,t);if(w!==cur){if(cur)cur.classList.remove("now");if(w)w.classList.add("now");cur=w;}}
function tick(){show(au.currentTime);if(!au.paused)requestAnimationFrame(tick);}
if(au){au.addEventListener("play",tick);au.addEventListener("seeked",function(){show(au.currentTime);});
au.addEventListener("timeupdate",function(){show(au.currentTime);});}
ws.forEach(function(w){w.addEventListener("click",function(){if(!au)return;au.currentTime=+w.dataset.s;
show(+w.dataset.s);au.play();});});
if(t0!==null)show(t0);});
var save=document.getElementById("save-notes");
if(save)save.addEventListener("click",function(){
var md=["# Notes on "+document.title,""];
document.querySelectorAll("section.answer").forEach(function(sec){var n=sec.querySelector("textarea.notes");
if(!n)return;md.push("## "+sec.querySelector("h2").textContent,"",n.value.trim()||"(no notes)","");});
var a=document.createElement("a");a.href=URL.createObjectURL(new Blob([md.join("\\n")],{type:"text/markdown"}));
a.download=save.dataset.file;document.body.appendChild(a);a.click();a.remove();});
document.body.setAttribute("data-ready","1");})();"""


def script_hash() -> str:
    """The CSP source that allows exactly :data:`SCRIPT`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii") + "'"


#: Opus bit rate for the embedded speech: clear speech, a small page.
OPUS_BIT_RATE = 20_000


def css() -> str:
    rules = [_CSS.strip()]
    for c, (bg, fg) in HTML_COLOURS.items():
        cls = c.replace("_", "-")
        rules.append(f".c-{cls}{{background:{bg};border-bottom-color:{fg}}}"
                     f".l-{cls}{{color:{fg};font-weight:bold}}")
    return "\n".join(rules)


def opus_data_uri(path: Path) -> str:
    """The recording as Ogg Opus (mono, 20 kbit/s) in a data: URI, encoded with PyAV (AudioError if unreadable)."""
    import io

    import av
    import numpy as np

    from starcoach.capture.playback import pcm16
    from starcoach.speech.decode import SAMPLE_RATE_HZ, load_audio

    pcm = pcm16(np.asarray(load_audio(path), dtype=np.float32)).astype(np.int16)
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=SAMPLE_RATE_HZ)
        stream.bit_rate = OPUS_BIT_RATE
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE_HZ
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return "data:audio/ogg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


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
                 audio_uri: Callable[[Path], str] = opus_data_uri, notes: Optional[dict[int, str]] = None) -> str:
    """One self-contained page: inline CSS and script, audio as data: URIs, every piece of stored text escaped.

    ``notes`` (answer number -> text, from ``export.notes``) fill the coach's notes fields."""
    from starcoach import __version__

    e = html.escape
    title = f"starcoach session {s.id}"
    company = companies_label(s, answers, names)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Nothing may load, and nothing but the page's own script may run: transcripts are untrusted text.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src {script_hash()}; media-src data:; img-src data:\">",
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
            if a.cut is not None:
                parts.append(f'<p class="note cut">{e(cut_banner(a.cut))}</p>')
            parts.append(f'<p class="score">Score <b class="{score_band(a.score)}">{a.score}</b>/100</p>')
        parts.extend(audio_html(x.audio, x.audio_missing, audio_uri))
        if a is None:
            parts.append(f'<p class="note">Not analysed: {e(not_analysed_reason(x))}</p></section>')
            continue
        if a.error is not None:
            parts.append(f'<p class="note">Could not be analysed: {e(a.error.message)}</p></section>')
            continue
        parts.append("<h3>Transcript</h3>")
        parts.append('<p class="transcript">' + transcript_html(a) + "</p>")
        parts.append('<h3>R-STAR-L</h3><table class="checklist"><thead><tr><th></th><th>Part</th><th>Present</th>'
                     "<th>Sure</th><th>Evidence</th></tr></thead><tbody>")
        for c, r, ev in checklist_rows(a):
            cls = c.replace("_", "-")
            mark = _mark_of(r)
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
        parts.append(f'<h3>Coach\'s notes</h3><textarea class="notes" rows="4" aria-label="Notes on answer {x.n}" '
                     f'placeholder="Notes for the candidate on this answer">{e((notes or {}).get(x.n, ""))}'
                     '</textarea>')
        parts.append("</section>")
        for f in x.follow_ups:
            parts.append(follow_up_html(x, f, audio_uri))
    parts.append(f'<p><button id="save-notes" data-file="session-{s.id}-notes.md">Save notes as Markdown</button> '
                 "(the notes stay in this page until saved; nothing is sent anywhere)</p>")
    parts.append(f"<footer>Exported by starcoach {e(__version__)}. Click a word to play from it; fillers are "
                 "underlined, pauses shown in seconds, words the speech model was unsure of faded.</footer></main>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def audio_html(audio: Optional[Path], missing: bool, audio_uri: Callable[[Path], str]) -> list[str]:
    """An answer's player, or one line saying why there is none."""
    from starcoach.speech.decode import AudioError

    e = html.escape
    if missing:
        return [f'<p class="note">Audio file missing: {e(str(audio))}</p>']
    if audio is None:
        return []
    try:
        return [f'<audio controls preload="metadata" src="{e(audio_uri(audio))}"></audio>']
    except AudioError as err:
        return [f'<p class="note">Audio could not be read: {e(str(err))}</p>']


def follow_up_html(x: StoredAnswer, f: StoredFollowUp, audio_uri: Callable[[Path], str]) -> str:
    """One follow-up as a section of its own (the page's script lights its words as it plays): the
    question, the audio, the reply, what it supplied, the checklist before and with it."""

    e = html.escape
    parts = [f'<section class="answer follow-up" id="answer-{x.n}-follow-up-{f.n}">',
             f"<h2>{x.n}.{f.n} Follow-up: {e(f.row.question or '(no question)')}</h2>"]
    parts.extend(audio_html(f.audio, f.audio_missing, audio_uri))
    a = f.analysis
    if a is None or a.error is not None:
        why = not_analysed_reason(f) if a is None else a.error.message
        return "\n".join(parts + [f'<p class="note">Not analysed: {e(why)}</p></section>'])
    if a.cut is not None:
        parts.append(f'<p class="note cut">{e(cut_banner(a.cut))}</p>')
    parts.append('<h3>Reply</h3><p class="transcript">' + transcript_html(a) + "</p>")
    items = [f'<li data-supplied="{s.component}">{e(s.line())}</li>' for s in f.supplied]
    if f.component and f.component not in {s.component for s in f.supplied}:
        items.append(f"<li>{e(COMPONENT_TITLES[f.component])}: still missing</li>")
    parts.append('<h3>What the reply supplied</h3><ul class="supplied">' + "".join(items) + "</ul>")
    if x.analysis is not None and x.analysis.error is None and f.together is not None:
        parts.append('<table class="checklist"><thead><tr><th></th><th>Part</th><th>First answer</th>'
                     "<th>With follow-up</th></tr></thead><tbody>")
        for c in COMPONENTS:
            cls = c.replace("_", "-")
            cells = "".join(f"<td>{_mark(an, c)}</td>" for an in (x.analysis, f.together))
            parts.append(f'<tr data-component="{c}"><td class="l-{cls}">{COMPONENT_LETTERS[c]}</td>'
                         f'<td class="l-{cls}">{e(COMPONENT_TITLES[c])}</td>{cells}</tr>')
        parts.append(f'</tbody></table><p class="meta">Score of the first answer {x.analysis.score} (kept); the '
                     f"story with the follow-up {f.together.score}.</p>")
    parts.append('<h3>Delivery</h3><table class="metrics"><tbody>')
    parts += [f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in delivery_rows(a)]
    parts.append("</tbody></table></section>")
    return "\n".join(parts)


def _mark(a: "Analysis", c: str) -> str:
    r = a.structure.get(c)
    if r is None:
        return "—"
    return _mark_of(r)


def _mark_of(r) -> str:
    """As the terminal's checklist: yes, no, or "?" unsure (the judge is not sure either way)."""
    if r.confidence < UNSURE_BELOW:
        return '<span class="unsure">? unsure</span>'
    return '<span class="yes">\u2713 yes</span>' if r.present else '<span class="no">\u2717 no</span>'


def _sentence_words(a: "Analysis") -> list[list["Word"]]:
    """The timed words of each sentence, by time (a written answer has none)."""
    out: list[list[Word]] = [[] for _ in a.sentences]
    k = 0
    words = list(a.words)
    for i, sent in enumerate(a.sentences):
        if sent.end_s is None:
            continue
        last = i == len(a.sentences) - 1
        while k < len(words) and (last or words[k].start_s < sent.end_s - 1e-3):
            out[i].append(words[k])
            k += 1
    return out


def transcript_html(a: "Analysis") -> str:
    """The transcript: one span per sentence coloured by its part; within it, when the words
    are timed, one span per word (``data-s``/``data-e`` in seconds), fillers marked, and
    each pause shown where it falls."""
    e = html.escape
    per_sentence = _sentence_words(a)
    fillers = {round(f.start_s, 2) for f in (a.delivery.fillers if a.delivery else ()) if f.start_s is not None}
    pauses = sorted(a.delivery.pauses if a.delivery else (), key=lambda p: p.start_s)
    pi = 0
    spans = []
    for sent, words in zip(a.sentences, per_sentence):
        c = sent.component or ""
        cls = c.replace("_", "-") if c in COMPONENTS else "none"
        if words:
            inner = []
            for w in words:
                while pi < len(pauses) and pauses[pi].start_s <= w.start_s:
                    p = pauses[pi]
                    long = " long" if p.duration_s >= LONG_PAUSE_S else ""
                    inner.append(f'<span class="pause{long}" title="pause">{p.duration_s:.1f} s</span>')
                    pi += 1
                fill = " filler" if round(w.start_s, 2) in fillers else ""
                unsure = ' shaky" title="the speech model was unsure of this word' if is_shaky(w) else ""
                inner.append(f'<span class="w{fill}{unsure}" data-s="{w.start_s:.2f}" data-e="{w.end_s:.2f}">'
                             f"{e(w.text.strip())}</span>")
            body = " ".join(inner)
        else:
            body = e(sent.text)
        spans.append(f'<span class="c c-{cls}" data-component="{e(c or "none")}" '
                     f'title="{e(COMPONENT_TITLES.get(c, "other"))}">{body}</span>')
    return " ".join(spans)
