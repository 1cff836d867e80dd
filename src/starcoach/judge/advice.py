"""Advice: concrete, prioritised suggestions that quote the candidate's own words.

Where the judge is unsure a part is missing (its confidence below
``UNSURE_BELOW``), the advice asks the candidate to make it explicit rather
than telling them they left it out.
"""

from __future__ import annotations

from typing import Optional, Sequence

from starcoach.catalogue.banks import Company
from starcoach.judge.cues import family, normalise
from starcoach.judge.features import SentenceCues
from starcoach.judge.pipeline import could_repeat, other_company, other_question
from starcoach.judge.score import (
    COMFORTABLE_WPM,
    FILLERS_OK_PER_MIN,
    LONG_PAUSE_S,
    TARGET_DURATION_S,
    TARGET_WORDS,
    UNSURE_BELOW,
)
from starcoach.model import Checks, ComponentResult, Delivery, Sentence
from starcoach.text import content_stems


def quote(text: str, max_words: int = 14) -> str:
    words = text.strip().split()
    q = " ".join(words[:max_words])
    if len(words) > max_words:
        q = q.rstrip(",;:") + "…"
    return f"\u201c{q}\u201d"


def best_values(cues: Sequence[SentenceCues], company: Company) -> list[str]:
    """The values the whole answer comes closest to (for "link it to ..." advice)."""
    totals = [0.0] * len(company.values)
    for c in cues:
        for vi, sc in enumerate(c.value_scores):
            totals[vi] += sc
    order = sorted(range(len(totals)), key=lambda vi: -totals[vi])
    if not order or totals[order[0]] == 0:
        # Nothing in the story points at any value: offer the first few, not one as if chosen.
        return [v.name for v in company.values[:3]]
    return [company.values[vi].name for vi in order[:2] if totals[vi] > 0]


def _either(names: Sequence[str]) -> str:
    """\u2018A\u2019, \u2018B\u2019 or \u2018C\u2019."""
    q = [f"\u2018{n}\u2019" for n in names]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " or " + q[-1]


def _told_inside(sents: Sequence[Sentence], cues: Sequence[SentenceCues], part: str,
                 families: Sequence[str]) -> list[str]:
    """Sentences labelled as another part that carry this part's cues ("In my last role I was
    asked to..." labelled situation, with the task inside it)."""
    return [s.text for s, c in zip(sents, cues)
            if s.component and s.component != part and any(c.n(k) for k in families)]


def _not_plain(r: ComponentResult) -> bool:
    """Missing, or found but with the judge unsure of it (the checklist's "?"): either way the
    advice asks for the part, plainly."""
    return not r.present or r.confidence < UNSURE_BELOW


def _missing(r: ComponentResult, sure: str, unsure: str) -> str:
    return unsure if r.confidence < UNSURE_BELOW else sure


def advice(sents: Sequence[Sentence], cues: Sequence[SentenceCues], structure: dict[str, ComponentResult],
           checks: Checks, delivery: Optional[Delivery], duration_s: Optional[float], question: Optional[str],
           company: Optional[Company], lead: int = 0, judge_length: bool = True) -> list[str]:
    """``lead`` counts the opening fillers ("Sure."), which are never quoted as the opening;
    ``judge_length=False`` (an answer cut off): nothing said about its length."""
    out: list[str] = []
    first = sents[0].text if sents else ""
    last = sents[-1].text if sents else ""
    cname = company.name if company else None

    if checks.on_topic is False:
        out.append(f"The story does not seem to answer the question asked (\u201c{question}\u201d): "
                   "pick a story where that is exactly what happened, and say so in your first sentences.")
    if checks.hypothetical:
        hyp = next((sents[i].text for i, c in enumerate(cues) if c.n("action.hypothetical")), first)
        out.append("You describe what you would do or usually do (" + quote(hyp, 10)
                   + "); interviewers want one real past story: \u201cLast year, when…, I…\u201d.")
    # A hypothetical answer's steps and outcome are what one would do: the line above asks for a
    # real story, and "say the steps in the first person" or "the result is hard to pick out"
    # would tell the candidate to polish what is not there.
    if not checks.hypothetical and _not_plain(structure["action"]):
        out.append(_missing(structure["action"],
                            "Say what you did, step by step, in the first person: \u201cFirst I…, then I…\u201d. "
                            "The action should be the longest part of the answer.",
                            "It is not clear which steps you took yourself; say them in the first person, "
                            "in order: \u201cFirst I…, then I…\u201d."))
    if not checks.hypothetical and _not_plain(structure["result"]):
        out.append(_missing(structure["result"],
                            "Finish the story with its result: what changed because of what you did, with a number "
                            "if you have one (time saved, error rate, revenue, adoption).",
                            "The result is hard to pick out: say plainly what changed because of what you did, "
                            "with a number if you have one."))
    lb = structure["link_back"]
    ends_with_lesson = bool(cues and cues[-1].n("lesson"))
    # A closing that reads as a lesson gets the lesson advice even when the judge is unsure it
    # is not a link back: "tie it to ..." is right either way, and says nothing is missing.
    if lb.confidence < UNSURE_BELOW and not ends_with_lesson:
        target = f"{cname}'s values" if cname else "the company's values or the role"
        out.append(f"Your closing, {quote(last)}, may be meant as a link back, but it is not plain: say in one "
                   f"sentence how this story shows the way you would work, tied to {target}.")
    elif not lb.present:
        if company:
            vals = best_values(cues, company)
            target = (f"{cname}'s \u2018{vals[0]}\u2019" if len(vals) == 1 else
                      f"one of {cname}'s values (" + _either(vals) + ")")
            elsewhere = next(((s.text, name) for s in sents[-2:] if (name := other_company(s.text, company))), None)
            if elsewhere:
                out.append(f"Your closing, {quote(elsewhere[0])}, ties the story to {elsewhere[1]}, not to {cname}, "
                           f"the company you are answering for: tie it to {target} instead.")
            elif ends_with_lesson:
                out.append(f"Your last sentence, {quote(last)}, is a general lesson; tie it to {target} instead, "
                           f"e.g. \u201c…and that is what \u2018{vals[0]}\u2019 means to me.\u201d")
            else:
                out.append(f"Close by linking the story to {target}: one sentence on why this is how you would "
                           f"work at {cname}.")
        elif ends_with_lesson:
            out.append(f"Your last sentence, {quote(last)}, is a general lesson, not a link back: tie it to "
                       "the company's values or to the role you are interviewing for.")
        else:
            out.append("Close by linking the story to the hiring company's values or to the role "
                       "(use --company to check against a company's values).")
    elif company and not lb.values:
        vals = best_values(cues, company)
        out.append(f"Your closing ties to the company but names none of {cname}'s values; make the link "
                   "explicit, e.g. to " + _either(vals) + ".")
    scene_in_other = _told_inside(sents, cues, "situation", ("situation.time_place_open", "situation.scene"))
    if not structure["situation"].present and scene_in_other:
        # The scene is there, told inside another part's sentence.
        out.append(f"You set the scene inside another sentence ({quote(scene_in_other[0], 10)}); give it a sentence "
                   "of its own first (where you were, when, what was going on), so the task and actions stand out.")
    elif _not_plain(structure["situation"]):
        out.append(_missing(structure["situation"],
                            "Set the scene in one or two sentences before the action: where you were, when, "
                            "and what was going on.",
                            "The scene may be there but it is brief: say where and when this was, and what was "
                            "going on, before the action."))
    task_in_other = _told_inside(sents, cues, "task", ("task.assigned", "task.goal", "task.stakes"))
    if not structure["task"].present and task_in_other:
        out.append(f"Your task is told inside another sentence ({quote(task_in_other[0], 10)}); say it on its own "
                   "(\u201cMy job was to…, by…\u201d) so the interviewer hears what was at stake.")
    elif _not_plain(structure["task"]):
        out.append(_missing(structure["task"],
                            "Say what you had to achieve and why it mattered (\u201cMy job was to…\u201d) before "
                            "what you did.",
                            "Your task is only implied: say it in so many words (\u201cMy job was to…\u201d) "
                            "before what you did."))
    # An opening that frames a question ("So you'd like to hear about...") sharing
    # no word with the one asked: a misheard or different question, or a bold
    # paraphrase; the judge cannot tell which, so it asks.
    frame = family("repeat.frame")
    played_back = next((i for i, c in enumerate(cues[lead:lead + 2], start=lead)
                        if c.n("repeat.frame") and c.q_overlap < 0.15 and c.q_cover == 0.0
                        and len(content_stems(sents[i].text)) >= 8
                        and frame.regex.search(normalise(sents[i].text[:60]))), None)
    other = other_question(question) if question else None
    other_opening = next((i for i, c in enumerate(cues[lead:lead + 2], start=lead)
                          if other and could_repeat(c, True) and other(sents[i].text, c)), None)
    if other_opening is not None and not structure["repeat"].present:
        out.append(f"Your opening, {quote(sents[other_opening].text)}, plays back a different question from the one "
                   f"asked ({quote(question)}): answer the question asked, and open by restating that one.")
    elif question and played_back is not None:
        if checks.on_topic is not False:  # else the off-topic advice already says it
            out.append(f"Your opening, {quote(sents[played_back].text)}, shares no words with the question asked "
                       f"({quote(question)}): if it plays back a different question, check you are answering what "
                       "was asked, and restate that.")
    elif not structure["repeat"].present:
        out.append("Open by playing the question back in your own words (\u201cSo you'd like to hear about a time "
                   "when…\u201d): it shows you listened and buys a moment to think.")
    elif checks.repeat_verbatim:
        opening = next((s.text for s in sents[lead:] if s.component == "repeat"), first)
        out.append(f"Your opening, {quote(opening)}, repeats the question word for word; rephrase it in your "
                   "own words so it sounds like understanding, not echoing.")
    if structure["result"].present and not _not_plain(structure["result"]) and not checks.result_quantified:
        out.append("Quantify the result: " + quote(structure["result"].evidence or "", 12)
                   + " has no number; add a measure (%, hours saved, revenue, users).")
    if checks.action_voice == "we":
        out.append("Your actions are all \u201cwe\u201d: say what you yourself did (\u201cI wrote…\u201d, "
                   "\u201cI convinced…\u201d); the interviewer is hiring you, not your team.")
    elif checks.action_voice == "mixed":
        out.append("Most of your actions say \u201cwe\u201d; make your own part clear with \u201cI\u201d.")
    shares = dict(checks.shares)
    setup = shares["situation"] + shares["task"]
    if setup > 0.4:
        out.append(f"Set-up (situation and task) takes {setup:.0%} of the answer; keep it under a third and "
                   "spend the time on your actions.")
    elif structure["action"].present and shares["action"] < max(shares["situation"], shares["task"], shares["result"]):
        out.append("Make the action the largest part of the answer: more on what you did and how.")
    lo, hi = TARGET_WORDS
    length_line = None
    if judge_length and (duration_s is None or delivery is None):
        if checks.word_count < lo:
            words = "word" if checks.word_count == 1 else "words"
            length_line = len(out)
            out.append(f"At {checks.word_count} {words} the answer is short; aim for about {lo}-{hi} words "
                       "(1.5-2.5 minutes spoken) with more detail in the action and result.")
        elif checks.word_count > hi * 1.2:
            out.append(f"At {checks.word_count} words the answer is long; aim for about {lo}-{hi} words "
                       "(1.5-2.5 minutes spoken): trim the set-up and side details.")
    if delivery is not None:
        out.extend(delivery_advice(delivery, judge_length=judge_length))
    if checks.hypothetical or checks.word_count < SHORT_ANSWER_WORDS:
        # With no real story to work on, a list of every missing part helps less than the first few steps;
        # a very short answer keeps the line that says it is short, whatever comes before it.
        keep = out[:MAX_LINES_WITHOUT_STORY]
        if length_line is not None and length_line >= MAX_LINES_WITHOUT_STORY and not checks.hypothetical:
            keep = keep + [out[length_line]]
        out = keep
    return out


#: Below this many words (or for a hypothetical answer) the advice keeps only its first lines.
SHORT_ANSWER_WORDS, MAX_LINES_WITHOUT_STORY = 40, 3


def delivery_advice(d: Delivery, *, judge_length: bool = True) -> list[str]:
    out = []
    lo, hi = TARGET_DURATION_S
    if judge_length and d.speaking_s and d.speaking_s < lo:
        out.append(f"You spoke for {d.speaking_s:.0f} s; aim for 1.5-2.5 minutes with more detail in the "
                   "action and result.")
    elif judge_length and d.speaking_s > hi * 1.1:
        out.append(f"You spoke for {d.speaking_s / 60:.1f} minutes; aim for 1.5-2.5: trim the set-up.")
    slow, fast = COMFORTABLE_WPM
    if d.wpm and d.wpm > fast:
        out.append(f"You spoke at {d.wpm:.0f} words per minute; slow down to {slow:.0f}-{fast:.0f} so the "
                   "interviewer can follow.")
    elif d.wpm and d.wpm < slow:
        out.append(f"You spoke at {d.wpm:.0f} words per minute; a steadier {slow:.0f}-{fast:.0f} sounds more "
                   "confident.")
    if d.fillers and d.fillers_per_minute > FILLERS_OK_PER_MIN:
        top = ", ".join(f"\u201c{w}\u201d \u00d7{n}" for w, n in list(d.filler_counts.items())[:3])
        out.append(f"{len(d.fillers)} filler words ({d.fillers_per_minute:.1f} per minute: {top}); "
                   "pause silently instead.")
    if d.longest_pause_s >= LONG_PAUSE_S:
        p = max(d.pauses, key=lambda p: p.duration_s)
        out.append(f"A {p.duration_s:.1f} s silence at {p.start_s:.0f} s; a short pause is fine, but know your "
                   "story well enough to keep it flowing.")
    return out
