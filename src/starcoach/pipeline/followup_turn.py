"""The interviewer's follow-up questions in a practice session, and judging their answers as one story.

After a main answer is judged, ``FollowUpTurn.run`` asks up to N follow-ups
(``practice --follow-ups N``), each chosen by ``judge.followups.choose`` from
what the story so far lacks, never the same template twice in a session.
Each is shown and spoken like a question and answered through the practice
loop's own recording and judging path (``Practice.record_and_judge``), so
its feedback is as quick as a main answer's.  The answer is stored as an
answer row of its own linked to its parent (``answers.parent_id``), and
``judge_reply`` adds the story judged together and what the reply supplied
(``judge.story``); recovery after a kill and ``reanalyse`` use the same
function, so a follow-up answer is judged alike wherever it is judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence

from starcoach.judge.followups import REASONS, FollowUp, Template, choose
from starcoach.judge.story import Judged, follow_up_record, judge_reply
from starcoach.model import Analysis

if TYPE_CHECKING:
    from starcoach.catalogue.banks import Company, Question
    from starcoach.pipeline.practice import AnswerOutcome, Practice
    from starcoach.store.database import AnswerRow, Store


@dataclass
class Asked:
    """A follow-up being asked: of which answer, which one (1, 2, ...), and the story before it."""

    parent: "AnswerOutcome"
    follow_up: FollowUp
    k: int
    #: The answers to the earlier follow-ups of the same answer.
    replies: list[Analysis] = field(default_factory=list)
    #: The story judged together once this follow-up's answer is judged, and the parts it supplied.
    after: Optional[Analysis] = None
    supplied: tuple[str, ...] = ()

    def meta(self) -> dict[str, Any]:
        """What is stored when the follow-up is asked (``answers.follow_up``)."""
        f = self.follow_up
        return {"reason": f.reason, "template": f.template, "component": f.component}


def rejudge_stored(store: "Store", row: "AnswerRow", reply: Analysis,
                   company: Optional["Company"]) -> Optional[Judged]:
    """Judge a stored follow-up answer into its story again (recovery, reanalyse): the parent's
    stored analysis and the earlier follow-ups' answers come from the store; the result is saved."""
    parent = store.answer(row.parent_id) if row.parent_id is not None else None
    first = parent.analysis() if parent is not None else None
    earlier = []
    for r in store.follow_ups(row.parent_id) if row.parent_id is not None else []:
        if r.id >= row.id:
            break
        a = r.analysis()
        if a is not None:
            earlier.append(a)
    if first is None or first.error is not None:
        judged = None
    else:
        judged = judge_reply(first, earlier, reply, question=parent.question, company=company)
    store.save_follow_up(row.id, follow_up_record(row.follow_up(), judged))
    return judged


class FollowUpTurn:
    """Asks the follow-ups of each answer in a session; remembers which were asked."""

    def __init__(self, practice: "Practice", templates: Sequence[Template], n: int):
        self.p = practice
        self.templates = list(templates)
        self.n = n
        self.asked: set[str] = set()

    def run(self, q: "Question", outcome: "AnswerOutcome") -> Optional["AnswerOutcome"]:
        """Ask up to ``n`` follow-ups of a judged answer; the outcome of one that stopped the session
        (Ctrl-C, a full disk), else None."""
        p, o = self.p, self.p.o
        story = outcome.analysis
        if self.n <= 0 or story is None or story.error is not None or not self.templates:
            return None
        replies: list[Analysis] = []
        done: set[str] = set()  # reasons asked about this story: each gap is asked about once
        for k in range(1, self.n + 1):
            if not p.recording_left():
                break  # a recording answers in the candidate's place, and none is left for a follow-up
            chosen = choose(story, self.templates, n=1, company=o.company, competencies=q.competencies,
                            asked=self.asked, skip=done)
            if not chosen:
                break
            fu = chosen[0]
            self.asked.add(fu.template)
            done.add(fu.reason)
            from starcoach.views.followup import follow_up_question_view

            p.console.print()
            p.console.print(follow_up_question_view(fu.text, k, self.n, fu.component))
            p.say(fu.text)
            asked = Asked(outcome, fu, k, list(replies))
            oc = p.record_and_judge(q, asked=asked)
            oc.supplied = asked.supplied
            if oc.ended_by in ("interrupt", "write_failed"):
                return oc
            if oc.analysis is None or oc.analysis.error is not None or asked.after is None:
                break
            replies.append(oc.analysis)
            story = asked.after
            done |= {r for r, c in REASONS if c in asked.supplied}  # what the replies made plain
        return None

    def judged(self, asked: Asked, answer_id: int, reply: Analysis):
        """Judge the reply into its story, store what it supplied; the report to show."""
        from starcoach.views.followup import follow_up_view

        first = asked.parent.analysis
        judged = None
        if reply.error is None and first is not None:
            judged = judge_reply(first, asked.replies, reply, question=asked.parent.question.text,
                                 company=self.p.o.company)
            asked.after = judged.together
            asked.supplied = tuple(s.component for s in judged.supplied)
        self.p.store.save_follow_up(answer_id, follow_up_record(asked.meta(), judged))
        return follow_up_view(reply, first, judged.together if judged else None,
                              judged.supplied if judged else (), asked.follow_up.component)
