"""The R-STAR-L judge: an answer's text (and optional word timings) in, an Analysis out.

This is the product's core and is pure: no audio, terminal, storage or clock.

How it works, in three steps:

1. ``text.split_sentences`` cuts the answer into sentences (robust to
   unpunctuated speech-to-text output).
2. Every sentence gets an emission score per component from generic cues:
   cue phrases, tense and pronouns ("I rebuilt" vs "I would rebuild"),
   numbers and change verbs, overlap with the question, overlap with the
   company's value lexicon, and its position in the answer.  A Viterbi pass
   then picks the best labelling under the framework's order
   (repeat -> situation -> task -> action -> result -> link back), which lets a
   sentence with no cue of its own take its neighbours' part, while allowing
   the back-and-forth real answers have (action, result, action).
3. Answer-level checks (verbatim repeat, quantified result, "I" vs "we",
   hypothetical, on-topic, length and balance) feed the score and the advice,
   which quotes the candidate's own words.

The weights were set by reading the failures on the labelled development set
(tests/data/answers_dev.toml); benchmarks/eval_heuristics.py measures them on
it and on a held-out set written separately.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Iterable, Optional, Sequence, Union

from starcoach.banks import Company
from starcoach.model import (
    COMPONENT_TITLES,
    COMPONENTS,
    Analysis,
    Checks,
    ComponentResult,
    Delivery,
    Sentence,
    Transcript,
    Word,
)
from starcoach.text import QUESTION_FRAME, STOPWORDS, content_stems, split_sentences, stem, tokens

#: Spoken answers of 1.5-2.5 minutes run to about this many words.
TARGET_WORDS = (200, 350)
TARGET_DURATION_S = (90.0, 150.0)
#: A comfortable conversational pace, words per minute; outside it the advice says so.
COMFORTABLE_WPM = (120.0, 170.0)
#: Fillers per minute above which the advice asks for silent pauses instead.
FILLERS_OK_PER_MIN = 3.0
#: A silence this long (seconds) is called out.
LONG_PAUSE_S = 3.0


class EmptyAnswer(ValueError):
    """The answer has no words to analyse."""


def _rx(*parts: str) -> re.Pattern[str]:
    # Matched against lower-cased text: no IGNORECASE, which is slower.
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b")


# --------------------------------------------------------------------------- cue lexicons
# Each lexicon is a family of phrasings, not a list of examples: they were
# written from how people structure spoken stories, and checked against the
# labelled answers for what they miss and what they wrongly catch.

_REPEAT_CUES = _rx(
    r"(?:just |so )?to (?:clarify|make sure|confirm|check|be clear)",
    r"if i (?:understand|understood|heard|hear|got|get) (?:you|that|this|it|the question)",
    r"if i'?m (?:understanding|hearing|reading)",
    r"you'?re (?:asking|looking for|interested in|wondering|after|curious)",
    r"you(?: would|'d)? (?:want|like) (?:to (?:hear|know)|an example|a story|me to)",
    r"you want (?:to (?:hear|know)|an example|a story|me to)",
    r"you(?:'re| are)? asking (?:about|me|for)",
    r"(?:the|your) question is", r"so the question", r"what you'?re (?:asking|after|looking for)",
    r"(?:a|the) time (?:when|where|that) i",
    r"an? (?:example|instance|situation|occasion|story|case) (?:of|where|when|in which) (?:i|a|when|where)",
    r"is that (?:right|correct|what you mean)", r"did i get that right", r"let me make sure",
    r"(?:so|okay|ok|right|alright),? (?:a|the) (?:time|situation|moment|case|example)",
    r"you asked (?:about|me|for)", r"you mean",
)
#: An opening that starts with a noun phrase ("A time I...", "Something where...",
#: "How I handle...") rather than a subject and verb: the shape of a play-back.
_FRAGMENT_OPEN = re.compile(
    r"^(?:(?:so|okay|ok|right|alright|um+|uh+|yeah|yes|sure|well|hmm+|hm|oh|great|good|question|,|\.|-)\s*)*"
    r"(?:a|an|the|something|some|one|that|this|how|what|when|times?|situations?|examples?|dealing|handling|"
    r"working|juggling|making|having|getting|going|being|taking|learning|pushing|leading|disagreeing|"
    r"delivering|giving|receiving|above|any|my)\b"
    r"(?! (?:few|couple|year|month|week|while|lot|bit|company|startup|team|project|client)\b)")
_SITUATION_CUES = _rx(
    r"in my (?:previous|last|current|first|old|former|second|prior) (?:role|job|position|company|team|internship|gig)",
    r"at my (?:previous|last|current|first|old|former|prior) (?:role|job|position|company|team|internship|employer)",
    r"at (?:the|my) time", r"when i was (?:working|at|a|an|in|on|the|doing|still|interning)",
    r"i was (?:working|a|an|the|one of|part of|on (?:a|the)|interning|employed|leading|running)",
    r"i (?:worked|work) (?:at|on|as|for|in)", r"i joined", r"back (?:in|when)",
    r"(?:last|this past|that) (?:year|spring|summer|fall|autumn|winter|quarter|month|semester)",
    r"(?:a|one|two|three|four|five|a few|a couple of|couple of|several) (?:years|months|weeks) ago",
    r"in (?:19|20)\d\d", r"there (?:was|were)", r"we (?:had|were|used)", r"our (?:team|company|group|org|product|data|model|pipeline|dashboard|client|customer)s?",
    r"the (?:company|team|startup|business|client|org|organization|organisation) (?:was|had|were)",
    r"(?:it|this) was (?:a|an|the|during|back|at|when|around)", r"i was (?:on|in) (?:a|the)",
    r"(?:a|the) (?:project|situation|problem|issue) (?:where|in which|that)",
)
#: Explicit statements of the task; these outweigh the actions a task sentence mentions in passing.
_TASK_EXPLICIT = _rx(
    r"my (?:task|job|goal|role|responsibility|assignment|mandate|mission|objective|brief|remit) (?:was|is|became|there)",
    r"i was (?:asked|tasked|assigned|responsible|in charge|brought in|put in charge|expected) (?:to|for|with)",
    r"(?:the|our) (?:goal|challenge|task|objective|ask|aim|mission) (?:was|became)",
    r"(?:it|this|that) (?:was|fell) (?:up to|on) me",
    r"(?:asked|wanted|needed) (?:me|us) (?:to|if|whether)", r"asked (?:if|whether) (?:i|we) could",
    r"(?:had|have|got) (?:just |only )?(?:one|two|three|four|five|six|a|\d+) (?:\w+ )?(?:weeks?|days?|months?|"
    r"semesters?|quarters?|hours?|sprints?) to",
)
_TASK_CUES = _rx(
    r"my (?:task|job|goal|role|responsibility|assignment|mandate|mission|objective|brief|part|remit) (?:was|is|became|there)",
    r"i was (?:asked|tasked|assigned|responsible|in charge|brought in|expected|supposed|given|put in charge|the one)",
    r"i (?:needed|had|wanted|was trying|set out|decided|aimed|got asked) to",
    r"(?:the|our) (?:goal|challenge|task|objective|ask|aim|mission|problem|question|job) (?:was|became|here)",
    r"we (?:needed|had|wanted|were asked|were supposed) to", r"(?:it|this|that) (?:was|fell) (?:up to|on) me",
    r"(?:my|our) (?:manager|boss|lead|director|vp|ceo|pm|team lead|supervisor) (?:asked|wanted|needed|gave|told) (?:me|us)",
    r"(?:needed|wanted|asked) (?:me|someone) to", r"the stakes", r"if (?:we|i) didn'?t",
    r"i took (?:it |this |that )?on", r"i (?:owned|volunteered to|offered to)", r"had to (?:figure|find|decide|get|make|deliver)",
    r"(?:had|needed) to be", r"i (?:\w+ ){1,2}(?:had|needed) to", r"i didn'?t want", r"volunteered to",
    r"i wanted to (?:find|make|know|understand|get|see|fix|figure|prove|check|keep|stop|avoid|show)",
    r"i was the only one", r"nobody else (?:could|knew|had|was)", r"someone (?:had|needed) to", r"fell to me",
    r"the (?:deadline|target|requirement|constraint|catch) was", r"without (?:delaying|breaking|losing|missing)",
    r"(?:asked|wanted|needed|told) (?:me|us) (?:to|if|whether)", r"asked (?:if|whether) (?:i|we) could", r"asked to",
    r"(?:was|is) (?:\w+ ){0,2}(?:on me|my call|my job|up to me|my responsibility|my problem)", r"i needed",
    r"(?:i|we) wanted to", r"the (?:goal|aim|task|target|brief|plan) (?:\w+ ){0,3}was to",
    r"needed (?:it|this|that|them|something) (?:for|by|before)", r"had until",
    r"my (?:focus|priority|target|deliverable|charter)", r"(?:hired|brought (?:on|in)|there) to (?!the\b)",
    r"the (?:point|idea|plan|hope|expectation|requirement|ask) (?:\w+ ){0,2}(?:was|being)",
    r"made it my (?:job|mission|goal|priority)", r"success (?:meant|would|criteria|looked like|was)",
    r"(?:was|were) expected to", r"pressure to", r"on the hook", r"took (?:responsibility|ownership) (?:for|of)",
    r"if (?:it|this|that|we|i) (?:failed|didn'?t|couldn'?t|missed)", r"in charge of", r"responsible for", r"(?:have|had|got) (?:just |only )?"
    r"(?:one|two|three|four|five|six|a|\d+) (?:\w+ )?(?:weeks?|days?|months?|semesters?|quarters?|hours?|sprints?) "
    r"(?:to|until|before|left)",
)
_IRREGULAR_PAST = (
    "built|wrote|ran|made|set|took|met|spoke|went|began|dug|found|brought|sat|put|drew|sent|chose|got|led|"
    "held|gave|told|broke|kept|did|split|thought|sought|taught|rebuilt|rewrote|spent|cut|read|shut|let|drove|"
    "left|won|saw|came|stood|hid|threw|sold|bought|caught|fed|heard|laid|meant|swept|undertook|overcame|"
    "oversaw|redid|reran|reworked|paired|mapped|pinged|shadowed|rolled|pulled|pushed|wound|stuck|struck|"
    "sat down|dove|dived|flew|rang|tore|woke|sped|spun|shook|forgot|understood|pitched"
)
_STATIVE = r"was|were|had|needed|wanted|used|seemed|felt|knew|realized|realised|noticed|happened|lived|liked|loved|hoped"
_ACTION_I = re.compile(
    r"\bi\s+(?:then\s+|first\s+|also\s+|quickly\s+|immediately\s+|personally\s+|eventually\s+|finally\s+|"
    r"actually\s+|just\s+|basically\s+|literally\s+|even\s+|instead\s+|still\s+|next\s+|ended up\s+|went ahead and\s+)?"
    r"(?!(?:" + _STATIVE + r")\b)(?:\w+ed|" + _IRREGULAR_PAST + r")\b",

)
_ACTION_WE = re.compile(
    r"\bwe\s+(?:then\s+|first\s+|also\s+|quickly\s+|immediately\s+|eventually\s+|finally\s+|actually\s+|"
    r"just\s+|basically\s+|even\s+|instead\s+|next\s+|ended up\s+|all\s+)?"
    r"(?!(?:" + _STATIVE + r")\b)(?:\w+ed|" + _IRREGULAR_PAST + r")\b",

)
_ACTION_ING = _rx(r"i (?:started|began|kicked off|spent \w+ \w+) (?:by |with )?\w+ing",
                  r"i (?:set up|sat down|reached out|dug into|dove into|broke down|walked (?:them|him|her) through)",
                  r"(?:so|then) i (?!had\b|needed\b|wanted\b|was\b|knew\b|guess\b|think\b|mean\b|felt\b|'d\b)",
                  r"i (?:asked|told|showed|convinced|persuaded|pushed|proposed|suggested)")
_SEQUENCE = _rx(r"first(?:ly)?", r"then", r"next", r"after that", r"afterwards", r"second(?:ly)?",
                r"third(?:ly)?", r"finally", r"to do (?:that|this)", r"from there", r"step", r"so i", r"meanwhile")
_HYPOTHETICAL = _rx(
    r"i(?:'d| would) (?:probably |first |then |also |typically |usually |likely |definitely |always )?(?!like\b|say\b|rather\b)\w+",
    r"i (?:usually|typically|normally|generally|always|tend to|try to|will|'ll)",
    r"i'll", r"my (?:approach|process|strategy|go-to) (?:is|would be)", r"what i (?:do|would do|usually do|'d do)",
    r"(?:the )?first thing i(?:'d| would| do)", r"i (?:like|prefer) to (?:start|begin|first)",
    r"whenever", r"if (?:i|there'?s|there is|a|the) .{0,40}(?:i(?:'d| would)|i (?:usually|typically|just|always))",
)
_RESULT_CUES = _rx(
    r"as a result", r"in the end", r"eventually", r"ultimately", r"at the end", r"by the end",
    r"the (?:result|outcome|impact|upshot|payoff|effect|end result)s? (?:was|were|is|of)",
    r"(?:this|that|which|it|these|those) (?:led to|resulted in|meant|saved|reduced|increased|improved|cut|helped|"
    r"allowed|enabled|brought|gave|caught|prevented|freed|became|turned|went|got|made|drove|lifted|raised|paid off)",
    r"we (?:ended up|saw|got|hit|reached|achieved|delivered|launched|shipped|saved|won|recovered|beat|cut|reduced|"
    r"increased|improved|avoided|caught|closed|kept|retained|met|exceeded|went from)",
    r"(?:reduc|increas|improv|dropp|rais|boost|doubled|doubling|tripl|halv|sav|shrank|shrunk|jump|climb|grew|fell|rose|"
    r"declin|lift|shav|went up|went down|came down|went from)\w*",
    r"(?:manager|team|stakeholders?|leadership|client|customers?|users?|ceo|director|vp|boss|they|everyone) "
    r"(?:loved|praised|thanked|adopted|started using|was (?:happy|thrilled|pleased|impressed)|were (?:happy|thrilled|pleased|impressed)|"
    r"signed off|approved|agreed|still use|now use|kept using|asked me to)",
    r"(?:got|was|were) (?:promoted|adopted|approved|launched|shipped|rolled out|deployed|recognized|recognised)",
    r"on time", r"ahead of schedule", r"still (?:in use|running|used)", r"to this day", r"(?:since|from) then",
    r"the (?:model|dashboard|pipeline|tool|system|fix|change|launch|feature|report) (?:is|was|went|now|ended)",
    r"no (?:more|longer)", r"for the first time", r"went live", r"paid off", r"made it",
    r"(?:hasn'?t|has not|haven'?t|have not|never) (?:\w+ )?(?:happened|broken|failed|come up|missed|slipped|recurred)",
    r"ever since", r"(?:a|the) (?:week|month|quarter|year) later", r"by (?:the following|next) (?:week|month|quarter|year)",
    r"ended up", r"(?:every|each) (?:\w+ )?(?:day|week|month|quarter|season|year|release|sprint|cycle) since",
    r"(?:came|landed|stayed|ended) (?:in )?within", r"we (?:finished|completed|wrapped up)",
)
#: A third party doing something in the past ("He wrote a review", "The team
#: adopted it"): late in an answer that is what happened as a result.
_THIRD_PAST = re.compile(
    r"^(?:\W*(?:and|so|then|but|after that|eventually|in the end|later|now|actually|um|uh|like|yeah)\W+)*"
    r"(?:he|she|they|it|everyone|everybody|customers?|users?|stakeholders?|people|leadership|management|"
    r"the (?:\w+ )?(?:team|manager|client|customer|model|dashboard|pipeline|tool|report|launch|project|company|"
    r"ceo|cfo|vp|director|pm|product|feature|system|fix|change|rate|number|metric|score|board|school|kids|students)|"
    r"my (?:manager|boss|lead|team|director|client|professor))\b"
    r".{0,60}?\b(?:\w+ed|went|got|made|gave|took|came|became|kept|found|wrote|said|told|saw|began|won|grew|fell|"
    r"rose|left|stayed|stopped|started|ran|hit|beat|cut|brought|sent|did)\b")
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
                 r"sixty|seventy|eighty|ninety|hundred|thousand|million|billion|half|quarter|double|doubled|tripled|"
                 r"halved|percent|per cent|dozen")
_MEASURE = re.compile(
    r"(?:\$|£|€)\s?\d|\d+(?:[.,]\d+)?\s?(?:%|percent|per cent|x\b|k\b|m\b|million|billion|thousand|hours?|days?|"
    r"weeks?|months?|minutes?|seconds?|points?|pp\b|basis points|users|customers|dollars|pounds|euros|people|"
    r"tickets|orders|rows|records|times)|\b(?:" + _NUMBER_WORDS + r")\b(?:\s+(?:percent|per cent|hours?|days?|weeks?|"
    r"minutes?|points?|times|x|thousand|million|dollars|users|customers))?|\b\d{2,}\b|\b\d+(?:\.\d+)\b",

)
_LINK_CUES = _rx(
    r"that'?s (?:exactly |really |precisely |just |kind of |sort of )?(?:why|what|how|the kind|the sort|the type|the way|something)",
    r"that is (?:exactly |really )?(?:why|what|how|the kind)",
    r"(?:this|that|which) is (?:exactly |really |precisely )?(?:why|what|how|the kind|the sort|something)",
    r"(?:this|that|it) (?:is|was) (?:also )?(?:a|the) (?:kind|sort|type) of",
    r"i'?m (?:someone|the kind|the type|a person|somebody|the sort)",
    r"i (?:always|tend to|try to|like to|care about|believe|want to bring|hope to|aim to|would bring)",
    r"i(?:'d| would) rather", r"(?:that|this) kind of", r"(?:team|company|place|org|organi[sz]ation|group) like (?:yours|this)",
    r"the way i see it", r"i'?m (?:really |very |pretty )?(?:into|big on|passionate about|drawn to|excited)",
    r"what (?:i'?d|i would|you'?d|you would) (?:expect|get|bring)", r"you'?d get", r"that'?s (?:me|who i am|how i)",
    r"it'?s how i", r"i see (?:myself|that as)",
    r"i(?:'d| would) (?:bring|love to bring|want to bring|apply|do the same)",
    r"resonat\w*", r"align\w*", r"(?:value|values|principle|principles|culture|mission|ethos|mindset|philosophy)",
    r"(?:your|this|the) (?:team|company|org|organization|organisation|role|position|mission|values?|culture|principles?|customers|users|members|hosts|riders|merchants|teams)",
    r"here at", r"at a (?:company|place|team) like", r"for me", r"to me", r"at the end of the day",
    r"going to bring", r"what i(?:'d| would)? bring", r"how i (?:work|operate|approach|think)",
    r"the way i (?:work|operate|approach|think)", r"(?:speaks|speak|comes back|ties back|connects) to",
)
_COMPANY_TIE = _rx(
    r"(?:your|this) (?:team|company|org|organization|organisation|role|position|mission|values?|culture|principles?|group|business|platform)",
    r"here at", r"at a (?:company|place|team) like (?:this|yours)", r"a (?:company|place|team) like (?:this|yours)",
    r"(?:bring|bringing|apply|applying|do) (?:that|this|the same) (?:here|to)", r"in this role", r"(?:join|joining) (?:you|your)",
    r"(?:team|company|place|org|organi[sz]ation|group) like (?:yours|this one)", r"like yours", r"with me on",
    r"you (?:all|guys) (?:value|care|talk)", r"(?:you|your) value", r"you(?:'re| are) looking for",
)
_PRESENT_SELF = _rx(r"i'?m", r"i am", r"i (?:tend|always|believe|think|care|try|like|love|want|prefer|feel|see|value|know)",
                    r"i'd rather", r"i would rather", r"i'll",
                    r"i(?:'d| would) rather", r"for me", r"my (?:approach|instinct|philosophy|default|belief|view)")
_LESSON = _rx(
    r"i (?:learned|learnt|realized|realised|understood|discovered) (?:that|how|to|a lot|the importance|an important|the value|so much)",
    r"(?:it|this|that|the experience|the whole thing|this experience|that experience) (?:taught|showed|reminded) me",
    r"(?:the|my|a|big|biggest|key|main) (?:lesson|takeaway|take-away|learning)s?", r"in hindsight", r"looking back",
    r"next time", r"going forward", r"(?:since then|now) i (?:always|make sure|try|never|double|check|document)",
    r"if i (?:could|had to) do it (?:again|over)", r"(?:what )?i took away", r"i now (?:always|make sure|try|know)",
    r"(?:the|my) (?:big |main |key )?(?:lesson|takeaway)", r"i(?:'d| would) (?:have )?(?:do|done) (?:it |things )?differently",
    r"i (?:should|could) have", r"(?:is|are) (?:so |really )?(?:important|key|crucial|essential)",
)
_FILLER_SENTENCE = re.compile(
    r"^\W*(?:(?:so|and|um+|uh+|er|ah|hmm+|yeah|okay|ok|right|well|sure|yes|great|good|alright|absolutely|"
    r"of course|thanks|thank you|that'?s (?:it|all|about it|my answer|the story)|anyway|so yeah|yeah so|"
    r"great question|good question|interesting question|let me think|let me see|hmm let me think|i mean|you know|"
    r"like|that was|basically|that'?s pretty much it|i guess)\W*)+$",

)
_GENERIC_TIE_WORDS = frozenset("team company role position organization organisation org".split())


# --------------------------------------------------------------------------- company values


@dataclass(frozen=True)
class _ValueLexicon:
    """A company's value cues indexed by first stem, for one pass per sentence."""

    names: tuple[str, ...]
    #: first stem -> list of (value index, stems, weight)
    index: dict[str, list[tuple[int, tuple[str, ...], float]]]
    company_stems: frozenset[str]
    #: two consecutive words of a value's name (stop words included) -> values
    name_pairs: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, company: Company) -> "_ValueLexicon":
        index: dict[str, list[tuple[int, tuple[str, ...], float]]] = {}

        def add(vi: int, phrase: str, weight: float) -> None:
            stems = tuple(content_stems(phrase))
            if not stems:
                return
            index.setdefault(stems[0], []).append((vi, stems, weight))

        company_stems = frozenset(stem(t) for t in tokens(company.name) + [company.id])
        pairs: dict[tuple[str, str], set[int]] = {}
        for vi, v in enumerate(company.values):
            # "One Microsoft": saying "Microsoft" ties to the company, not to this value.
            name_stems = [s for s in content_stems(v.name) if s not in _GENERIC_VALUE_WORDS
                          and not any(s.startswith(c) for c in company_stems)]
            if name_stems:
                # The value's own name is the strongest evidence for it.
                add(vi, " ".join(name_stems), 1.8 if len(name_stems) > 1 else 1.5)
                for s in name_stems:
                    add(vi, s, 0.8)
            # Two words of the name in a row ("one team" of "We are one team") are
            # strong evidence even when each word alone is too common to count.
            whole = [stem(t) for t in tokens(v.name)]
            for a, b in zip(whole, whole[1:]):
                if any(x.startswith(c) for x in (a, b) for c in company_stems):
                    continue
                if a in _FUNCTION_STEMS or b in _FUNCTION_STEMS:
                    continue
                pairs.setdefault((a, b), set()).add(vi)
            for cue in v.cues:
                stems = content_stems(cue)
                if len(stems) == 1 and stems[0] in _GENERIC_VALUE_WORDS:
                    continue
                add(vi, cue, 1.0 if len(stems) > 1 else 0.6)
            for s in set(content_stems(v.meaning)) - _GENERIC_VALUE_WORDS:
                add(vi, s, 0.2)
        return cls(names=tuple(v.name for v in company.values), index=index, company_stems=company_stems,
                   name_pairs={k: tuple(sorted(v)) for k, v in pairs.items()})

    def scores(self, stems: Sequence[str], all_stems: Sequence[str] = ()) -> list[float]:
        out = [0.0] * len(self.names)
        weak = [0.0] * len(self.names)
        matched: set[tuple[int, tuple[str, ...]]] = set()
        n = len(stems)
        for i, s in enumerate(stems):
            for vi, pat, w in self.index.get(s, ()):
                k = len(pat)
                if k == 1 or (i + k <= n and tuple(stems[i:i + k]) == pat):
                    key = (vi, pat)
                    if key not in matched:
                        matched.add(key)
                        if w < 0.5:
                            weak[vi] += w
                        else:
                            out[vi] += w
        named: set[int] = set()
        for pair in zip(all_stems, all_stems[1:]):
            named.update(self.name_pairs.get(pair, ()))
        for vi in named:
            out[vi] += 1.2
        # Words of a value's explanation are weak evidence: at most two count.
        return [o + min(wk, 0.4) for o, wk in zip(out, weak)]


@lru_cache(maxsize=64)
def _lexicon(company: Company) -> _ValueLexicon:
    """The company's value lexicon, built once per company (companies are frozen)."""
    return _ValueLexicon.build(company)


#: A closing that points back at what was just said ("and that's the habit
#: I'd bring", "which is how ...", "I think this is what ... means").
_ANAPHORIC_TIE = re.compile(
    r"^\W*(?:(?:and|so|but|honestly|yeah)\W+)*(?:(?:i|i'd|i'm)\s+(?:think|guess|believe|feel|know|would say)\W+)?"
    r"(?:that|this|which|it|those|these)\b", re.IGNORECASE)

#: Grammar words: a pair of name words with one of these ("a plan", "the room")
#: is too common to point at a value.
_FUNCTION_STEMS = frozenset(stem(w) for w in """
a an the of at to for in on and or but not we are be is it our you your with by as from
""".split())

#: Words too common in any answer to count as evidence for a value on their
#: own ("I think" is not "Think Big"); they still count inside a cue phrase.
_GENERIC_VALUE_WORDS = frozenset(stem(w) for w in """
we are be our you your the a an of to and work working thing things people make always every think big right
lot great good one day better best first small start get take go come know want need like time way new use look
really just also more most much well even still every each together first team teams
""".split())


# --------------------------------------------------------------------------- per-sentence features


@dataclass
class _Feat:
    text: str
    n_words: int
    repeat_cue: int
    q_overlap: float
    q_cover: float
    frag_open: bool
    third_past: bool
    past_verbs: int
    you: bool
    qmark: bool
    sit_cue: int
    stative: int
    task_cue: int
    task_explicit: int
    act_i: int
    act_we: int
    act_extra: int
    seq: int
    hyp: int
    res_cue: int
    measure: int
    link_cue: int
    tie: int
    company_named: bool
    value_scores: list[float]
    present_self: int
    lesson: int
    filler: bool
    i_count: int
    we_count: int

    @property
    def value_best(self) -> float:
        return max(self.value_scores, default=0.0)


_PAST_VERB = re.compile(r"\b(?:\w{3,}ed|" + _IRREGULAR_PAST + r"|was|were|had)\b")
_STATIVE_RE = re.compile(r"\b(?:was|were|had|wasn't|weren't|hadn't|used to)\b")
_I_RE = re.compile(r"\bi\b|\bi'(?:m|d|ve|ll)\b|\bmy\b|\bme\b")
_WE_RE = re.compile(r"\bwe\b|\bwe'(?:re|d|ve|ll)\b|\bour\b|\bus\b")


def _count(rx: re.Pattern[str], text: str) -> int:
    return len(rx.findall(text))


def _features(text: str, q_stems: frozenset[str], q_topic: frozenset[str], lex: Optional[_ValueLexicon], *,
              opening: bool = True, closing: bool = True) -> _Feat:
    """Cue counts for one sentence.  Repeat cues are looked for only near the
    opening and link-back cues only near the end, where the position priors
    allow those parts at all (this keeps long transcripts fast)."""
    t = text.replace("\u2019", "'").lower()
    toks = tokens(t)
    stems_all = [stem(x) for x in toks if x not in STOPWORDS]
    s_set = set(stems_all)
    overlap = len(s_set & q_stems)
    q_overlap = overlap / max(1, len(s_set)) if s_set else 0.0
    q_cover = len(s_set & q_topic) / len(q_topic) if q_topic else 0.0
    value_scores = lex.scores(stems_all, [stem(x) for x in toks]) if lex else []
    company_named = bool(lex and (s_set & lex.company_stems))
    return _Feat(
        text=t,
        n_words=len(toks),
        repeat_cue=_count(_REPEAT_CUES, t) if opening else 0,
        q_overlap=q_overlap,
        q_cover=q_cover,
        frag_open=bool(opening and _FRAGMENT_OPEN.match(t)),
        third_past=bool(_THIRD_PAST.match(t)),
        past_verbs=_count(_PAST_VERB, t),
        you=bool(re.search(r"\byou(?:'re|'d|r)?\b", t)),
        qmark=t.rstrip().endswith("?"),
        sit_cue=_count(_SITUATION_CUES, t),
        stative=_count(_STATIVE_RE, t),
        task_cue=_count(_TASK_CUES, t),
        task_explicit=_count(_TASK_EXPLICIT, t),
        act_i=_count(_ACTION_I, t),
        act_we=_count(_ACTION_WE, t),
        act_extra=_count(_ACTION_ING, t),
        seq=_count(_SEQUENCE, t),
        hyp=_count(_HYPOTHETICAL, t),
        res_cue=_count(_RESULT_CUES, t),
        measure=_count(_MEASURE, t),
        link_cue=_count(_LINK_CUES, t) if closing else 0,
        tie=_count(_COMPANY_TIE, t) if closing else 0,
        company_named=company_named,
        value_scores=value_scores,
        present_self=_count(_PRESENT_SELF, t) if closing else 0,
        lesson=_count(_LESSON, t),
        filler=bool(_FILLER_SENTENCE.match(t)) or len(toks) <= 1,
        i_count=_count(_I_RE, t),
        we_count=_count(_WE_RE, t),
    )


# --------------------------------------------------------------------------- emissions and decoding

_LABELS = COMPONENTS + ("none",)
_RANK = {c: i for i, c in enumerate(COMPONENTS)}


def _sat(x: float, k: float = 1.0) -> float:
    """Diminishing returns for counts: 1 cue counts fully, more add less."""
    return 1.0 - math.exp(-k * x) if x > 0 else 0.0


def _emissions(i: int, n: int, f: _Feat, has_company: bool, lead: int = 0) -> dict[str, float]:
    """Scores of sentence i of n for each label; ``lead`` counts opening filler ("Sure.")."""
    p = i / (n - 1) if n > 1 else 0.0
    last = i == n - 1
    e: dict[str, float] = {}

    # Repeat: an opening that plays the question back.
    rep = 2.6 * _sat(f.repeat_cue) + 1.6 * max(f.q_overlap - 0.1, 0) + 2.0 * f.q_cover
    rep += 0.4 * f.you + 0.3 * f.qmark + 1.2 * (f.frag_open and not f.sit_cue)
    # In "A time I really messed up" the verb belongs to a relative clause.
    rep -= 0.8 * _sat(f.measure) + (0 if f.frag_open else 0.6 * _sat(f.act_i)) + 0.5 * _sat(f.sit_cue)
    rep += 0.6 if i - lead <= 0 else (-0.2 if i - lead == 1 else -6.0)
    e["repeat"] = rep - 1.2

    # Situation: the scene, told in stative past, early.
    sit = 1.3 * _sat(f.sit_cue) + 0.35 * _sat(f.stative) - 0.5 * _sat(f.act_i) - 0.4 * _sat(f.res_cue)
    sit -= 0.5 * _sat(f.task_cue)  # background told to set up what had to be done is the task
    sit += 0.7 - 1.6 * abs(p - 0.15)
    e["situation"] = sit

    # Task: what had to be done, and whose job it was.
    tsk = 2.0 * _sat(f.task_cue) + 0.8 * _sat(f.task_explicit) - 0.3 * _sat(f.res_cue)
    tsk += 0.4 - 1.6 * abs(p - 0.3)
    e["task"] = tsk + 0.2

    # Action: "I" (or "we") doing things, in order; habitual steps count too.
    act = 1.1 * _sat(f.act_i + 0.6 * f.act_we + 0.6 * f.act_extra, 0.8) + 0.4 * _sat(f.seq) + 0.7 * _sat(f.hyp)
    act -= 0.3 * _sat(f.measure) + 0.5 * _sat(f.task_explicit) + 0.35 * _sat(f.task_cue) + 0.4 * f.third_past
    act += 0.6 - 1.2 * abs(p - 0.55)
    e["action"] = act

    # Result: what changed, ideally measured.
    res = 1.5 * _sat(f.res_cue) + 0.6 * _sat(f.measure) - 0.2 * _sat(f.task_cue) + 0.6 * f.third_past * (p > 0.4)
    if f.present_self and not f.past_verbs:
        res -= 0.6  # "I'd rather...", "I'm someone who...": how I work, not what happened
    if f.lesson and not f.measure:
        res -= 1.0  # "I learned that..." is reflection, not an outcome
    res += 0.5 - 1.6 * abs(p - 0.8)
    e["result"] = res - 0.25

    # Link back: a closing that ties the story to the company's values or the role.
    tie = 1.2 * _sat(f.tie) + 0.9 * f.company_named
    val = 0.9 * _sat(f.value_best, 0.8) if has_company else 0.0
    lnk = 1.1 * _sat(f.link_cue) + tie + val + 0.4 * _sat(f.present_self)
    lnk += 0.5 * (f.present_self > 0 and f.past_verbs == 0)
    if f.lesson and not (f.tie or f.company_named or f.value_best >= 1.0):
        lnk -= 2.0  # a generic lesson learned is not a link back
    lnk -= 0.5 * _sat(f.act_i) + 0.3 * _sat(f.measure)
    lnk += 0.9 if last else (0.3 if i >= n - 3 else (-0.6 if p >= 0.6 else -3.0))
    e["link_back"] = lnk - 1.1

    # None: fillers, asides and lessons that tie to nothing.
    non = -0.5 + 3.0 * f.filler
    if f.lesson and not (f.tie or f.company_named):
        non += 1.0 + 0.5 * _sat(f.lesson)
    if f.n_words <= 3:
        non += 0.8
    e["none"] = non
    return e


def _transition(prev: str, label: str) -> float:
    """Score for moving from the last component seen to the next label."""
    if label == "none":
        return 0.0
    if label == prev:
        return 0.15
    if label == "repeat":
        return -9.0 if prev != "start" else 0.0
    if prev == "start":
        return 0.0
    if prev == "link_back":
        return -1.5
    dr = _RANK[label] - _RANK[prev]
    if dr > 0:
        return -0.1 * (dr - 1)
    if {prev, label} == {"action", "result"}:
        return -0.4
    return -0.8 + 0.2 * dr


def _decode(emis: list[dict[str, float]]) -> list[str]:
    """Viterbi over labels; the state is the last component label seen."""
    states = ("start",) + COMPONENTS
    neg = -1e18
    score = {s: neg for s in states}
    score["start"] = 0.0
    back: list[dict[str, tuple[str, str]]] = []
    for e in emis:
        nxt = {s: neg for s in states}
        ptr: dict[str, tuple[str, str]] = {}
        for s, sc0 in score.items():
            if sc0 <= neg:
                continue
            for label in _LABELS:
                sc = sc0 + e[label] + _transition(s, label)
                ns = s if label == "none" else label
                if sc > nxt[ns]:
                    nxt[ns] = sc
                    ptr[ns] = (s, label)
        score = nxt
        back.append(ptr)
    state = max(score, key=lambda s: score[s])
    labels: list[str] = []
    for ptr in reversed(back):
        state, label = ptr[state]
        labels.append(label)
    return labels[::-1]


# --------------------------------------------------------------------------- answer-level checks

#: What a question is about, and the signs that a story is about that.  Each
#: concept: (words in a question that raise it, markers of it in an answer).
#: A question raising a concept whose markers never appear in the story is
#: probably being answered with the wrong story.
_CONCEPTS: dict[str, tuple[str, str]] = {
    "conflict": (
        r"disagree\w*|conflict\w*|push(?:ed)? back|pushback|argu\w*|tension|difficult (?:stakeholder|colleague|person|"
        r"coworker|co-worker|teammate|manager)|stand up for|stood up|challeng\w*|spoke up|speak up|uncomfortable|"
        r"said no|say no|commit\w* to it anyway",
        r"disagree\w*|push(?:ed|ing)? back|pushback|argu\w*|conflict\w*|tension|object\w*|convinc\w*|concern\w*|"
        r"didn'?t agree|wasn'?t (?:convinced|comfortable|happy|sure)|thought (?:it|that|this) was (?:wrong|a mistake|a bad|"
        r"risky)|frustrat\w*|clash\w*|different (?:view|opinion|idea)s?|debat\w*|challeng\w*|said no|told (?:him|her|them) "
        r"no|spoke up|stood up|raised (?:it|this|that|my|a)|uncomfortable|annoyed|upset|angry|heated|(?:went|go) "
        r"along|compromise|that'?s not (?:really )?(?:right|ok|okay|fair|true)|not (?:really )?(?:right|fair|accurate)|refus\\w*|(?:he|she|they) wanted|but (?:he|she|they)|told (?:him|her|them|the \\w+)|conversation\\w*|awkward|nervous|honest\\w*|flag\\w*|pointed out|overstat\\w*|misleading|coffee|tell (?:him|her|them|the \\w+)",
    ),
    "failure": (
        r"fail\w*|mistake\w*|wrong|setback|went wrong|missed|mess(?:ed)? up|regret",
        r"fail\w*|mistake\w*|wrong|didn'?t work|missed|broke|bug|error|flop\w*|cost (?:us|me|the)|setback|ignored|"
        r"blame|my fault|apologi[sz]\w*|embarrass\w*|miss(?:ed)?|late|underperform\w*|worse|problem|rolled (?:it )?back|"
        r"overestimat\w*|wasn'?t|didn'?t",
    ),
    "deadline": (
        r"deadline\w*|tight|timeline|quickly|fast|pressure|urgent|in time|time-sensitive",
        r"deadline|days?|weeks?|hours?|tonight|tomorrow|monday|tuesday|wednesday|thursday|friday|weekend|overnight|"
        r"in time|on time|launch\w*|urgent\w*|rush\w*|crunch|before the|end of (?:the )?(?:day|week|month|quarter)|"
        r"quick\w*|fast|deadline|asap|immediately|right away|minutes|promis\\w*|by (?:the )?(?:end|close)|close|due|schedule\\w*|month|quarter",
    ),
    "customer": (
        r"customer\w*|users?|clients?|members?|patients?|guests?",
        r"customer\w*|users?|clients?|members?|patients?|guests?|shoppers?|riders?|hosts?|merchants?|buyers?|"
        r"people using|subscribers?|listeners?|drivers?|sellers?|advertisers?|account\w*",
    ),
    "feedback": (
        r"feedback|critici\w*|critique",
        r"feedback|critic\w*|told me|review\w*|comment\w*|pulled me aside|advice|suggest\w*|pointed out|"
        r"said (?:that )?(?:my|i)|1:1|one-on-one|retro\w*|conversation\\w*|said|told|talk\\w*|coffee|gave (?:him|her|them|me)|honest\\w*|hard to hear|direct\\w*",
    ),
    "influence": (
        r"influenc\w*|persuad\w*|convinc\w*|without (?:having )?authority|change (?:someone|somebody)'?s mind|"
        r"buy-in|win over|won over",
        r"convinc\w*|persuad\w*|buy-in|influenc\w*|got (?:them|him|her|everyone|the team|leadership) to|"
        r"brought (?:them|him|her|everyone) (?:round|around|on board)|agreed|on board|changed (?:his|her|their) mind|"
        r"showed (?:them|him|her)|pitch\w*|present\w*|walked (?:them|him|her) through|demo\w*",
    ),
    "learning": (
        r"learn\w*|new skill|outside (?:your|of your) (?:area|comfort|expertise)|expertise|unfamiliar",
        r"learn\w*|taught|course|picked up|tutorial|read up|studied|study\w*|new to|never (?:used|done|worked)|"
        r"documentation|docs|from scratch|crash course|practic\w*|figur\w* out|field|lane|read|book\\w*|expert\\w*|explain\\w*|show me|teach me|asked (?:the|a|an|our) \\w+",
    ),
    "ambiguity": (
        r"unclear|ambigu\w*|incomplete|without all the (?:information|data|facts)|uncertain\w*|fuzzy|vague|"
        r"messy|doesn'?t exist|confus\w*",
        r"unclear|ambigu\w*|vague|didn'?t know|uncertain\w*|assum\w*|incomplete|missing|guess\w*|fuzzy|no one knew|"
        r"nobody knew|not sure|wasn'?t clear|messy|gaps?|estimat\w*|proxy|unknown|confus\w*|scope\w*|nobody could|no one could|what done|different|defin\\w*|clarif\\w*|question\\w*|wildly|inconsistent|disagree\\w*|argument",
    ),
    "initiative": (
        r"initiative|without waiting|permission|wasn'?t your (?:job|responsibility)|outside your (?:job|role|remit)|"
        r"above and beyond|on your own|nobody asked|not your responsibility|out of your way|beyond what",
        r"nobody asked|no one asked|on my own|initiative|volunteer\w*|wasn'?t my|not my (?:job|role|team|project)|"
        r"took it on|own\w*|without waiting|without asking|proactive\w*|myself|side project|extra|weekend|evenings?|"
        r"went ahead|decided to|figured|spare time|outside (?:my|of my)|nobody had|no one had|noticed|pitch\\w*|proposed|started",
    ),
    "mentoring": (
        r"mentor\w*|junior|coach\w*|develop(?:ed)? (?:someone|a|an|the) \w+|grow (?:someone|a)",
        r"mentor\w*|junior|coach\w*|taught|teach\w*|intern\w*|new hire|onboard\w*|pair\w*|1:1|one-on-ones?|grew|"
        r"growth|review\w* (?:his|her|their) (?:code|work)",
    ),
    "change": (
        r"adapt\w*|(?:big|major) change|reorg\w*|pivot\w*",
        r"chang\w*|adapt\w*|new|moved|switch\w*|reorg\w*|transition\w*|pivot\w*|shift\w*|different|merger|"
        r"acqui\w*|relocat\w*",
    ),
    "risk": (
        r"risk\w*|bet|gamble",
        r"risk\w*|bet|gambl\w*|uncertain\w*|might not|chance|could have (?:gone|failed)|safe|downside|experiment\w*|"
        r"rollback|roll back|pilot|promis\\w*|commit\\w*|slip\\w*|late|behind|on track|at risk|two weeks|weekend|changed|broke",
    ),
    "stress": (
        r"stress\w*|pressure",
        r"stress\w*|pressure|overwhelm\w*|anxious|panic\w*|urgent\w*|deadline|tight|crunch|calm|hectic|chaos|went down|broke|outage|line|calm\\w*|busy|everyone|panic|angry|upset|fire|incident|backlog",
    ),
}
_CONCEPT_RX = {k: (re.compile(r"\b(?:" + q + r")\b"), re.compile(r"\b(?:" + a + r")\b"))
               for k, (q, a) in _CONCEPTS.items()}


def question_concepts(question: str) -> list[str]:
    q = question.lower().replace("\u2019", "'")
    return [k for k, (qrx, _) in _CONCEPT_RX.items() if qrx.search(q)]


def _topic_stems(question: str) -> set[str]:
    frame = frozenset(stem(w) for w in QUESTION_FRAME)
    return {s for s in content_stems(question) if s not in frame}


def _on_topic(question: str, body_text: str) -> tuple[Optional[bool], float]:
    """Whether the story answers the question: None when the question's topic is not recognised."""
    body = body_text.lower().replace("\u2019", "'")
    topic = _topic_stems(question)
    body_stems = {stem(t) for t in tokens(body)}
    cover = len(topic & body_stems) / len(topic) if topic else 0.0
    concepts = question_concepts(question)
    if not concepts:
        return None, cover
    hits = sum(1 for k in concepts if _CONCEPT_RX[k][1].search(body))
    return hits > 0 or cover >= 0.5, cover


def _verbatim(question: str, opening: str) -> bool:
    q = [t for t in tokens(question)]
    s = [t for t in tokens(opening)]
    if len(q) < 4 or not s:
        return False
    m = SequenceMatcher(None, q, s, autojunk=False)
    matched = sum(b.size for b in m.get_matching_blocks())
    longest = max((b.size for b in m.get_matching_blocks()), default=0)
    return matched / len(q) >= 0.85 and longest >= 0.6 * len(q)


def _quote(text: str, max_words: int = 14) -> str:
    words = text.strip().split()
    q = " ".join(words[:max_words])
    if len(words) > max_words:
        q = q.rstrip(",;:") + "…"
    return f"\u201c{q}\u201d"


# --------------------------------------------------------------------------- the analyser


@dataclass(frozen=True)
class _Labelled:
    sentences: tuple[Sentence, ...]
    feats: tuple[_Feat, ...]
    emissions: tuple[dict[str, float], ...]


def _align_words(text: str, words: Sequence[Word]) -> list[tuple[int, int, Word]]:
    """Character span of each timed word inside ``text`` (which was built from them)."""
    out = []
    pos = 0
    for w in words:
        token = w.text.strip()
        if not token:
            continue
        i = text.find(token, pos)
        if i < 0:
            continue
        out.append((i, i + len(token), w))
        pos = i + len(token)
    return out


def text_from_words(words: Sequence[Word]) -> str:
    return re.sub(r"\s+", " ", "".join(w.text if w.text[:1].isspace() else " " + w.text for w in words)).strip()


def _label(text: str, question: Optional[str], company: Optional[Company],
           words: Sequence[Word] = ()) -> _Labelled:
    pieces = split_sentences(text)
    q_stems = frozenset(s for s in content_stems(question)) if question else frozenset()
    q_topic = frozenset(_topic_stems(question)) if question else frozenset()
    lex = _lexicon(company) if company else None
    n = len(pieces)
    feats = [_features(text[p.start:p.end], q_stems, q_topic, lex, opening=i < 3, closing=i >= n - 3 or i >= 0.6 * (n - 1))
             for i, p in enumerate(pieces)]
    lead = 0
    while lead < n and feats[lead].filler:
        lead += 1
    emis = [_emissions(i, n, f, lex is not None, lead) for i, f in enumerate(feats)]
    labels = _decode(emis)
    spans = _align_words(text, words) if words else []
    sentences = []
    k = 0
    for p, label in zip(pieces, labels):
        start_s = end_s = None
        while k < len(spans) and spans[k][1] <= p.start:
            k += 1
        j = k
        while j < len(spans) and spans[j][0] < p.end:
            if start_s is None:
                start_s = spans[j][2].start_s
            end_s = spans[j][2].end_s
            j += 1
        sentences.append(Sentence(text=text[p.start:p.end], component=None if label == "none" else label,
                                  start_s=start_s, end_s=end_s, start_char=p.start, end_char=p.end))
    return _Labelled(tuple(sentences), tuple(feats), tuple(emis))


def _confidence(lab: _Labelled, comp: str, idx: list[int]) -> float:
    """How clearly the chosen sentences beat their next-best label (logistic of the margin)."""
    if not idx:
        # How close the best candidate came to carrying the component.
        margin = max((e[comp] - max(v for k, v in e.items() if k != comp) for e in lab.emissions), default=-3.0)
        return round(1.0 / (1.0 + math.exp(2.0 * margin)), 3)
    margins = []
    for i in idx:
        e = lab.emissions[i]
        other = max(v for k, v in e.items() if k != comp)
        margins.append(e[comp] - other)
    m = max(margins)
    return round(1.0 / (1.0 + math.exp(-2.0 * (m + 0.6))), 3)


def analyse(
    answer: Union[str, Transcript],
    *,
    question: Optional[str] = None,
    company: Optional[Company] = None,
    input: str = "-",
    delivery_fn=None,
) -> Analysis:
    """Judge one answer against R-STAR-L.

    ``answer`` is plain text, or a ``Transcript`` with word timings (then the
    sentences carry times and ``delivery_fn(transcript, sentences)`` supplies
    the delivery metrics).  Raises ``EmptyAnswer`` when there are no words.
    """
    transcript = answer if isinstance(answer, Transcript) else None
    words: Sequence[Word] = transcript.words if transcript else ()
    if transcript is not None:
        text = text_from_words(words) if words else transcript.text.strip()
    else:
        text = str(answer)
    text = text.replace("\r\n", "\n").strip()
    if not tokens(text):
        raise EmptyAnswer("the answer has no words")
    question = question.strip() if question and question.strip() else None

    lab = _label(text, question, company, words)
    sents = lab.sentences
    by_comp: dict[str, list[int]] = {c: [] for c in COMPONENTS}
    for i, s in enumerate(sents):
        if s.component:
            by_comp[s.component].append(i)

    # ----- link-back values
    values: tuple[str, ...] = ()
    lex = _lexicon(company) if company else None
    if lex and by_comp["link_back"]:
        totals = [0.0] * len(lex.names)
        for i in by_comp["link_back"]:
            for vi, sc in enumerate(lab.feats[i].value_scores):
                totals[vi] += sc
        first = by_comp["link_back"][0]
        if first > 0 and _ANAPHORIC_TIE.match(sents[first].text):
            # "... and that's what being an owner means": the value is in what
            # "that" points back to, the sentence before.
            for vi, sc in enumerate(lab.feats[first - 1].value_scores):
                totals[vi] += 0.8 * sc
        ranked = sorted(range(len(totals)), key=lambda vi: -totals[vi])
        top = totals[ranked[0]] if ranked else 0.0
        values = tuple(lex.names[vi] for vi in ranked[:2] if totals[vi] >= 0.6 and totals[vi] >= 0.7 * top)

    structure: dict[str, ComponentResult] = {}
    for c in COMPONENTS:
        idx = by_comp[c]
        evidence = " ".join(sents[i].text for i in idx) if idx else None
        structure[c] = ComponentResult(present=bool(idx), confidence=_confidence(lab, c, idx), evidence=evidence,
                                       values=values if c == "link_back" else ())

    # ----- answer-level checks
    all_tokens = tokens(text)
    word_count = len(all_tokens)
    verbatim = bool(question and by_comp["repeat"] and _verbatim(question, sents[by_comp["repeat"][0]].text))
    result_idx = by_comp["result"]
    quantified = any(lab.feats[i].measure for i in result_idx)
    act_i = sum(lab.feats[i].act_i + lab.feats[i].act_extra for i in by_comp["action"])
    act_we = sum(lab.feats[i].act_we for i in by_comp["action"])
    i_refs = sum(lab.feats[i].i_count for i in by_comp["action"])
    we_refs = sum(lab.feats[i].we_count for i in by_comp["action"])
    if not by_comp["action"]:
        voice = "none"
    elif (act_i == 0 and act_we > 0) or (i_refs == 0 and we_refs > 0):
        voice = "we"
    elif act_we > act_i and we_refs > 2 * i_refs:
        voice = "mixed"
    else:
        voice = "i"
    hyp = sum(f.hyp for f in lab.feats)
    past = sum(f.act_i + f.act_we for f in lab.feats)
    hypothetical = hyp >= 2 and hyp >= past
    body = " ".join(s.text for s in sents if s.component not in ("repeat",))
    if question:
        on_topic, overlap = _on_topic(question, body)
    else:
        on_topic, overlap = None, 0.0
    counts = {c: 0 for c in COMPONENTS}
    for s in sents:
        if s.component:
            counts[s.component] += len(tokens(s.text))
    total_words = max(1, word_count)
    shares = tuple((c, counts[c] / total_words) for c in COMPONENTS)
    checks = Checks(word_count=word_count, repeat_verbatim=verbatim, result_quantified=quantified,
                    action_voice=voice, hypothetical=hypothetical, on_topic=on_topic,
                    question_overlap=overlap, shares=shares)

    delivery: Optional[Delivery] = None
    duration_s = transcript.duration_s if transcript else None
    if transcript is not None and words and delivery_fn is not None:
        delivery = delivery_fn(transcript, sents)

    score = _score(structure, checks, delivery, duration_s)
    advice = _advice(sents, structure, checks, delivery, duration_s, question, company, lab)
    return Analysis(
        input=input,
        question=question,
        company=company.id if company else None,
        company_name=company.name if company else None,
        transcript=text,
        duration_s=duration_s,
        structure=structure,
        sentences=sents,
        delivery=delivery,
        score=score,
        advice=tuple(advice),
        checks=checks,
        words=tuple(words),
    )


# --------------------------------------------------------------------------- score and advice

_WEIGHTS = {"repeat": 8, "situation": 12, "task": 12, "action": 24, "result": 18, "link_back": 14}


def _score(structure: dict[str, ComponentResult], checks: Checks, delivery: Optional[Delivery],
           duration_s: Optional[float]) -> int:
    s = 0.0
    for c, w in _WEIGHTS.items():
        r = structure[c]
        if r.present:
            s += w * (0.7 + 0.3 * r.confidence)
    # Quality of the parts present (12 points).
    if structure["result"].present and checks.result_quantified:
        s += 4
    if checks.action_voice == "i":
        s += 3
    elif checks.action_voice == "mixed":
        s += 1.5
    if structure["repeat"].present and not checks.repeat_verbatim:
        s += 2
    if structure["link_back"].present and structure["link_back"].values:
        s += 3
    # Problems with the answer as a whole.
    if checks.hypothetical:
        s -= 20
    if checks.on_topic is False:
        s -= 12
    lo, hi = TARGET_WORDS
    if checks.word_count < lo * 0.6:
        s -= 10
    elif checks.word_count < lo:
        s -= 4
    elif checks.word_count > hi * 1.5:
        s -= 8
    elif checks.word_count > hi:
        s -= 3
    shares = dict(checks.shares)
    if shares["situation"] + shares["task"] > 0.4:
        s -= 4
    if delivery is not None:
        if delivery.fillers_per_minute > 6:
            s -= 4
        elif delivery.fillers_per_minute > 3:
            s -= 2
        if delivery.wpm and (delivery.wpm < 100 or delivery.wpm > 185):
            s -= 3
    return int(max(0, min(100, round(s))))


def _best_values(sents: Sequence[Sentence], lab: _Labelled, company: Company) -> list[str]:
    totals = [0.0] * len(company.values)
    for f in lab.feats:
        for vi, sc in enumerate(f.value_scores):
            totals[vi] += sc
    order = sorted(range(len(totals)), key=lambda vi: -totals[vi])
    if not order or totals[order[0]] == 0:
        return [company.values[0].name]
    return [company.values[vi].name for vi in order[:2] if totals[vi] > 0]


def _advice(sents: Sequence[Sentence], structure: dict[str, ComponentResult], checks: Checks,
            delivery: Optional[Delivery], duration_s: Optional[float], question: Optional[str],
            company: Optional[Company], lab: _Labelled) -> list[str]:
    out: list[str] = []
    first = sents[0].text if sents else ""
    last = sents[-1].text if sents else ""
    cname = company.name if company else None

    if checks.on_topic is False:
        out.append(f"The story does not seem to answer the question asked (\u201c{question}\u201d): "
                   "pick a story where that is exactly what happened, and say so in your first sentences.")
    if checks.hypothetical:
        out.append("You describe what you would do or usually do (" + _quote(
            next((lab.feats[i].text for i in range(len(sents)) if lab.feats[i].hyp), first), 10)
            + "); interviewers want one real past story: \u201cLast year, when…, I…\u201d.")
    if not structure["action"].present:
        out.append("Say what you did, step by step, in the first person: \u201cFirst I…, then I…\u201d. "
                   "The action should be the longest part of the answer.")
    if not structure["result"].present:
        out.append("Finish the story with its result: what changed because of what you did, with a number "
                   "if you have one (time saved, error rate, revenue, adoption).")
    lb = structure["link_back"]
    if not lb.present:
        ends_with_lesson = bool(lab.feats and lab.feats[-1].lesson)
        if company:
            vals = _best_values(sents, lab, company)
            target = f"{cname}'s \u2018{vals[0]}\u2019"
            if ends_with_lesson:
                out.append(f"Your last sentence, {_quote(last)}, is a general lesson; tie it to {target} instead, "
                           f"e.g. \u201c…and that is what \u2018{vals[0]}\u2019 means to me.\u201d")
            else:
                out.append(f"Close by linking the story to {target}: one sentence on why this is how you would "
                           f"work at {cname}.")
        else:
            if ends_with_lesson:
                out.append(f"Your last sentence, {_quote(last)}, is a general lesson, not a link back: tie it to "
                           "the company's values or to the role you are interviewing for.")
            else:
                out.append("Close by linking the story to the hiring company's values or to the role "
                           "(use --company to check against a company's values).")
    elif company and not lb.values:
        vals = _best_values(sents, lab, company)
        out.append(f"Your closing ties to the company but names none of {cname}'s values; make the link "
                   f"explicit, e.g. to \u2018{vals[0]}\u2019.")
    if not structure["situation"].present:
        out.append("Set the scene in one or two sentences before the action: where you were, when, "
                   "and what was going on.")
    if not structure["task"].present:
        out.append("Say what you had to achieve and why it mattered (\u201cMy job was to…\u201d) before what you did.")
    # An opening that frames a question ("So you'd like to hear about...") sharing
    # almost nothing with the one asked: a misheard or different question.
    played_back = next((i for i, f in enumerate(lab.feats[:2])
                        if f.repeat_cue and f.q_overlap < 0.15
                        and _REPEAT_CUES.search(sents[i].text[:60].lower().replace("\u2019", "'"))), None)
    if not structure["repeat"].present and question and played_back is not None:
        if checks.on_topic is not False:  # else the off-topic advice already says it
            out.append(f"Your opening, {_quote(sents[played_back].text)}, plays back a different question "
                       f"from the one asked ({_quote(question)}); check you are answering what was asked, "
                       "and restate that.")
    elif not structure["repeat"].present:
        out.append("Open by playing the question back in your own words (\u201cSo you'd like to hear about a time "
                   "when…\u201d): it shows you listened and buys a moment to think.")
    elif checks.repeat_verbatim:
        out.append(f"Your opening, {_quote(sents[0].text)}, repeats the question word for word; rephrase it in your "
                   "own words so it sounds like understanding, not echoing.")
    if structure["result"].present and not checks.result_quantified:
        out.append("Quantify the result: " + _quote(structure["result"].evidence or "", 12)
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
    if duration_s is None or delivery is None:
        if checks.word_count < lo:
            out.append(f"At {checks.word_count} words the answer is short; aim for about {lo}-{hi} words "
                       "(1.5-2.5 minutes spoken) with more detail in the action and result.")
        elif checks.word_count > hi * 1.2:
            out.append(f"At {checks.word_count} words the answer is long; aim for about {lo}-{hi} words "
                       "(1.5-2.5 minutes spoken): trim the set-up and side details.")
    if delivery is not None:
        out.extend(_delivery_advice(delivery, duration_s))
    return out


def _delivery_advice(d: Delivery, duration_s: Optional[float]) -> list[str]:
    out = []
    lo, hi = TARGET_DURATION_S
    if d.speaking_s and d.speaking_s < lo:
        out.append(f"You spoke for {d.speaking_s:.0f} s; aim for 1.5-2.5 minutes with more detail in the "
                   "action and result.")
    elif d.speaking_s > hi * 1.1:
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


def component_seconds(sentences: Iterable[Sentence]) -> dict[str, float]:
    out = {c: 0.0 for c in COMPONENTS}
    for s in sentences:
        if s.component and s.start_s is not None and s.end_s is not None:
            out[s.component] += max(0.0, s.end_s - s.start_s)
    return out


__all__ = ["analyse", "EmptyAnswer", "TARGET_WORDS", "TARGET_DURATION_S", "COMFORTABLE_WPM", "FILLERS_OK_PER_MIN",
           "LONG_PAUSE_S", "component_seconds",
           "text_from_words", "COMPONENT_TITLES"]
