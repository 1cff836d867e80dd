"""The story vault: the few deep stories a candidate reuses across questions.

Pure: no terminal, no storage beyond reading and writing the vault file.

A candidate keeps two or three deep stories (ideally one success, one
failure, one about teamwork or leadership), maps each of a company's values
onto one of them before the interview, and tweaks a story to fit each
question.  This module holds the file format, checks it, and answers three
questions about it:

* which story did an answer tell, and which of its points were left out
  (``match_story``, ``missing_points``, ``story_feedback``);
* how well does a story fit a question (``fit``);
* which stories show each of a company's values (``value_coverage``).

The file (TOML, default ``vault.toml`` in the data folder)::

    [[story]]
    id = "ghost-failures"            # lower case letters, digits and '-'
    title = "Ghost failed deliveries"
    kind = "success"                 # success | failure | teamwork | leadership | other
    situation = ["...", "..."]       # bullet points, one string each
    task = ["..."]
    action = ["...", "..."]
    result = ["... cut false failures from 4% to 1.5% ..."]
    competencies = ["ownership", "data-quality"]           # from banks.COMPETENCIES
    values = ["doordash:be-an-owner", "amazon:dive-deep"]  # company:value ids (optional)

Every story needs ``id`` and ``title`` and at least one bullet; the other
keys are optional (a part given as a single string is one bullet).  A
mistake raises ``VaultError`` naming the file, the line and the problem;
``company:value`` entries are checked when the caller passes the loaded
companies.  The file is personal: it is written atomically with mode 0600.

Matching an answer to a story
-----------------------------

Answers retell a story in other words, so matching works on content stems
(``text.content_stems``) weighted by rarity: a stem that every story of the
vault uses ("team", "data") says little, a stem only one story uses ("GPS",
"reclassified") says a lot, and words common to any work story are damped.
Quantities are read in digits and in words alike ("4%", "four percent",
"one and a half percent", "40k", "forty thousand") and count extra.  A
story's score is the weighted share of its stems the answer said (recall)
blended with the share of the answer's distinctive stems that belong to the
story (focus); below ``MATCH_THRESHOLD`` nothing matches, and a close
runner-up lowers the confidence.  A bullet counts as said when most of its
weighted stems occur within two neighbouring sentences of the answer; a
result bullet with numbers counts as said only when its numbers were said.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from starcoach.banks import COMPETENCIES, Company, Question
from starcoach.files import write_atomic
from starcoach.text import QUESTION_FRAME, content_stems, split_sentences, stem, tokens

KINDS: tuple[str, ...] = ("success", "failure", "teamwork", "leadership", "other")
PARTS: tuple[str, ...] = ("situation", "task", "action", "result")
PART_TITLES = {"situation": "Situation", "task": "Task", "action": "Action", "result": "Result"}
_KEYS = ("id", "title", "kind") + PARTS + ("competencies", "values")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_VALUE_RE = re.compile(r"^([a-z0-9][a-z0-9-]*):([a-z0-9][a-z0-9-]*)$")

#: Below this score an answer is not taken to tell any vault story.
MATCH_THRESHOLD = 0.25
#: A bullet counts as said when this share of its weighted stems is said nearby.
BULLET_SAID = 0.45


class VaultError(Exception):
    """A vault file that cannot be used (file, line, problem)."""

    def __init__(self, path: Path, problem: str, line: Optional[int] = None):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


class VaultMissing(VaultError):
    """There is no vault file yet."""


@dataclass(frozen=True)
class Story:
    id: str
    title: str
    kind: str = "other"
    situation: tuple[str, ...] = ()
    task: tuple[str, ...] = ()
    action: tuple[str, ...] = ()
    result: tuple[str, ...] = ()
    competencies: tuple[str, ...] = ()
    #: ``company:value`` ids the candidate maps onto this story.
    values: tuple[str, ...] = ()
    #: Line of the story's ``[[story]]`` header (for messages); not part of equality.
    line: Optional[int] = field(default=None, compare=False)

    def part(self, name: str) -> tuple[str, ...]:
        return getattr(self, name)

    def bullets(self) -> list[tuple[str, str]]:
        """(part, bullet) in story order."""
        return [(p, b) for p in PARTS for b in self.part(p)]

    def text(self) -> str:
        return "\n".join([self.title] + [b for _, b in self.bullets()])

    def values_for(self, company_id: str) -> list[str]:
        """The value ids of one company this story is explicitly mapped onto."""
        out = []
        for v in self.values:
            c, _, vid = v.partition(":")
            if c == company_id:
                out.append(vid)
        return out


@dataclass(frozen=True)
class Vault:
    stories: tuple[Story, ...] = ()
    path: Optional[Path] = field(default=None, compare=False)

    def story(self, story_id: str) -> Optional[Story]:
        return next((s for s in self.stories if s.id == story_id), None)

    def __len__(self) -> int:
        return len(self.stories)


# --------------------------------------------------------------------------- reading


class _Locator:
    """Line numbers inside the i-th ``[[story]]`` block, to point at a mistake."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.headers = [n for n, line in enumerate(self.lines, start=1)
                        if re.match(r"\s*\[\[\s*story\s*\]\]", line)]

    def block(self, index: int) -> tuple[int, int]:
        if index >= len(self.headers):
            return 0, 0
        start = self.headers[index]
        end = self.headers[index + 1] - 1 if index + 1 < len(self.headers) else len(self.lines)
        return start, end

    def header(self, index: int) -> Optional[int]:
        return self.headers[index] if index < len(self.headers) else None

    def key(self, index: int, key: str) -> Optional[int]:
        start, end = self.block(index)
        for n in range(start, end + 1):
            if n >= 1 and re.match(rf"\s*{re.escape(key)}\s*=", self.lines[n - 1]):
                return n
        return self.header(index)

    def value(self, index: int, key: str, value: str) -> Optional[int]:
        """The line holding ``"value"`` within ``key`` (arrays may span lines)."""
        first = self.key(index, key)
        _, end = self.block(index)
        if first is None:
            return None
        quoted = (json.dumps(value), "'" + value + "'")
        for n in range(first, end + 1):
            line = self.lines[n - 1]
            if n > first and re.match(r"\s*[A-Za-z_-]+\s*=", line):
                break
            if any(q in line for q in quoted):
                return n
        return first


def _toml_error(path: Path, e: Exception) -> VaultError:
    msg = str(e)
    m = re.search(r"\(at line (\d+), column \d+\)", msg)
    line = int(m.group(1)) if m else None
    msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
    return VaultError(path, f"invalid TOML: {msg}", line)


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def loads(text: str, path: Path | str = "<vault>",
          companies: Optional[Mapping[str, Company]] = None) -> Vault:
    """Parse and check vault text.  With ``companies`` (id -> Company), the
    ``company:value`` entries are checked against them too."""
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise VaultError(path, "invalid TOML: tables or arrays nested too deeply") from None
    except tomllib.TOMLDecodeError as e:
        raise _toml_error(path, e) from None
    loc = _Locator(text)
    for key in data:
        if key != "story":
            hint = " (stories are [[story]] tables)" if key.rstrip("s") in ("story", "storie") else ""
            n = next((i for i, line in enumerate(loc.lines, start=1)
                      if re.match(rf"\s*(?:\[+\s*)?{re.escape(key)}\b", line)), None)
            raise VaultError(path, f"unknown entry '{key}'{hint}; a vault holds only [[story]] tables", n)
    raw = data.get("story", [])
    if not isinstance(raw, list):
        raise VaultError(path, "'story' must be written as [[story]] tables", loc.key(0, "story") or 1)
    stories: list[Story] = []
    seen: dict[str, int] = {}
    for i, s in enumerate(raw):
        stories.append(_story(s, i, path, loc, companies, seen))
    return Vault(stories=tuple(stories), path=path)


def _story(s: Any, i: int, path: Path, loc: _Locator, companies: Optional[Mapping[str, Company]],
           seen: dict[str, int]) -> Story:
    header = loc.header(i)
    what = f"story #{i + 1}"
    if not isinstance(s, dict):
        raise VaultError(path, f"{what}: must be a [[story]] table", header)
    for key in s:
        if key not in _KEYS:
            raise VaultError(path, f"{what}: unknown key '{key}'{_suggest(key, _KEYS)} "
                                   f"(keys: {', '.join(_KEYS)})", loc.key(i, key))

    def need_str(key: str) -> str:
        v = s.get(key)
        if not isinstance(v, str) or not v.strip():
            raise VaultError(path, f"{what}: '{key}' must be a non-empty string", loc.key(i, key) if key in s
                             else header)
        return v.strip()

    sid = need_str("id")
    if not _ID_RE.match(sid):
        raise VaultError(path, f"{what}: id '{sid}' must be lower case letters, digits and '-' "
                               f"(e.g. '{slugify(sid) or 'my-story'}')", loc.key(i, "id"))
    what = f"story '{sid}'"
    if sid in seen:
        raise VaultError(path, f"{what}: the id is already used by story #{seen[sid] + 1}", loc.key(i, "id"))
    seen[sid] = i
    title = need_str("title")
    kind = s.get("kind", "other")
    if not isinstance(kind, str) or kind.strip().lower() not in KINDS:
        shown = kind if isinstance(kind, str) else repr(kind)
        raise VaultError(path, f"{what}: unknown kind '{shown}'{_suggest(str(shown).lower(), KINDS)} "
                               f"(use one of: {', '.join(KINDS)})", loc.key(i, "kind"))
    kind = kind.strip().lower()

    def str_list(key: str) -> tuple[str, ...]:
        v = s.get(key, [])
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            raise VaultError(path, f"{what}: '{key}' must be a list of strings, e.g. {key} = [\"...\", \"...\"]",
                             loc.key(i, key))
        out = []
        for x in v:
            if not isinstance(x, str):
                raise VaultError(path, f"{what}: every entry of '{key}' must be a string in quotes "
                                       f"(found {x!r})", loc.key(i, key))
            if x.strip():
                out.append(" ".join(x.split()))
        return tuple(out)

    parts = {p: str_list(p) for p in PARTS}
    if not any(parts.values()):
        raise VaultError(path, f"{what}: has no bullet points; give at least the action and the result "
                               "(situation, task, action, result = [\"...\"])", header)
    comps = tuple(c.lower() for c in str_list("competencies"))
    for c in comps:
        if c not in COMPETENCIES:
            raise VaultError(path, f"{what}: unknown competency '{c}'{_suggest(c, COMPETENCIES)} "
                                   f"(known: {', '.join(COMPETENCIES)})", loc.value(i, "competencies", c))
    values = tuple(v.lower() for v in str_list("values"))
    for v in values:
        check_value_ref(v, companies, path=path, line=loc.value(i, "values", v), what=what)
    return Story(id=sid, title=title, kind=kind, competencies=comps, values=values, line=header, **parts)


def check_value_ref(ref: str, companies: Optional[Mapping[str, Company]], *, path: Path = Path("<vault>"),
                    line: Optional[int] = None, what: str = "story") -> None:
    """Raise VaultError unless ``ref`` is ``company:value`` (and known, given the companies)."""
    m = _VALUE_RE.match(ref)
    if not m:
        raise VaultError(path, f"{what}: value '{ref}' must be written company:value, e.g. "
                               "'amazon:dive-deep' (see `starcoach companies ID`)", line)
    if companies is None:
        return
    cid, vid = m.groups()
    company = companies.get(cid)
    if company is None:
        raise VaultError(path, f"{what}: unknown company '{cid}' in '{ref}'{_suggest(cid, companies)} "
                               f"(known: {', '.join(sorted(companies))})", line)
    if company.value(vid) is None:
        ids = [v.id for v in company.values]
        raise VaultError(path, f"{what}: {company.name} has no value '{vid}'{_suggest(vid, ids)} "
                               f"(its values: {', '.join(ids)})", line)


def load(path: Path | str, companies: Optional[Mapping[str, Company]] = None) -> Vault:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise VaultMissing(path, "no story vault here yet") from None
    except OSError as e:
        raise VaultError(path, f"cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise VaultError(path, "not a UTF-8 text file") from None
    return loads(text, path, companies)


# --------------------------------------------------------------------------- writing


def _toml_str(s: str) -> str:
    # A JSON string is a valid TOML basic string.
    return json.dumps(s, ensure_ascii=False)


def _toml_list(items: Sequence[str], multiline: bool) -> str:
    if not items:
        return "[]"
    if not multiline:
        return "[" + ", ".join(_toml_str(x) for x in items) + "]"
    return "[\n" + "".join(f"    {_toml_str(x)},\n" for x in items) + "]"


def render_story(story: Story) -> str:
    """One ``[[story]]`` table, bullets one per line."""
    lines = ["[[story]]", f"id = {_toml_str(story.id)}", f"title = {_toml_str(story.title)}",
             f"kind = {_toml_str(story.kind)}"]
    for p in PARTS:
        lines.append(f"{p} = {_toml_list(story.part(p), multiline=True)}")
    lines.append(f"competencies = {_toml_list(story.competencies, multiline=False)}")
    lines.append(f"values = {_toml_list(story.values, multiline=False)}")
    return "\n".join(lines) + "\n"


def dumps(vault: Vault) -> str:
    header = "# starcoach story vault (see docs/story-vault.md)\n"
    return header + "".join("\n" + render_story(s) for s in vault.stories)


def save(vault: Vault, path: Path | str) -> None:
    write_atomic(path, dumps(vault), make_parent=True)


def append_story(path: Path | str, story: Story, companies: Optional[Mapping[str, Company]] = None) -> Vault:
    """Add a story at the end of the file, keeping the user's text and comments.

    The whole new text is checked before it replaces the old file.
    """
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    sep = "" if not old or old.endswith("\n\n") else ("\n" if old.endswith("\n") else "\n\n")
    new = old + sep + render_story(story)
    vault = loads(new, path, companies)
    write_atomic(path, new, make_parent=True)
    return vault


def valid_id(text: str) -> bool:
    return bool(_ID_RE.match(text))


def slugify(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return re.sub(r"-{2,}", "-", s)[:48].strip("-")


# --------------------------------------------------------------------------- quantities


_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_BIG = {"thousand": 1e3, "grand": 1e3, "million": 1e6, "billion": 1e9}
_SUFFIX = {"k": 1e3, "thousand": 1e3, "grand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9,
           "billion": 1e9}
_NUMBER_WORDS = frozenset(list(_UNITS) + list(_TENS) + list(_BIG) + ["hundred", "dozen", "half", "point",
                                                                      "percent", "pct", "cent"])
_QTOK = re.compile(r"\d+(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+|[a-z]+|%|[$£€]")


@dataclass(frozen=True)
class Quantity:
    value: float
    percent: bool
    text: str

    @property
    def key(self) -> str:
        return f"#{self.value:g}"


def quantities(text: str) -> list[Quantity]:
    """Numbers said in digits or in words: '4%', 'four percent', 'one and a half
    percent', '40k', 'forty thousand', '$1.2m', 'a dozen'."""
    low = text.lower().replace("\u2019", "'")
    toks = [(m.group(), m.start(), m.end()) for m in _QTOK.finditer(low)]
    n = len(toks)
    out: list[Quantity] = []
    i = 0

    def tok(j: int) -> str:
        return toks[j][0] if j < n else ""

    while i < n:
        t = tok(i)
        start = toks[i][1]
        value: Optional[float] = None
        j = i
        if t[0].isdigit() or (t[0] == "." and len(t) > 1):
            value = float(t.replace(",", ""))
            j = i + 1
            if tok(j) == "and" and tok(j + 1) == "a" and tok(j + 2) == "half":
                value += 0.5
                j += 3
            gap = low[toks[j - 1][2]:toks[j][1]] if j < n else " "
            if tok(j) in ("thousand", "grand", "million", "billion") or (tok(j) in _SUFFIX and gap == ""):
                value *= _SUFFIX[tok(j)]
                j += 1
        elif t in _UNITS or t in _TENS or (t == "a" and tok(i + 1) in ("hundred", "thousand", "million",
                                                                         "billion", "dozen")):
            total, current, j = 0.0, 0.0, i
            if t == "a":
                current, j = 1.0, i + 1
            while j < n:
                w = tok(j)
                if w in _UNITS:
                    current += _UNITS[w]
                elif w in _TENS:
                    current += _TENS[w]
                elif w == "hundred":
                    current = max(current, 1.0) * 100
                elif w == "dozen":
                    current = max(current, 1.0) * 12
                elif w in _BIG:
                    total += max(current, 1.0) * _BIG[w]
                    current = 0.0
                elif w == "point" and tok(j + 1) in _UNITS:
                    digits = ""
                    k = j + 1
                    while tok(k) in _UNITS and _UNITS[tok(k)] < 10:
                        digits += str(_UNITS[tok(k)])
                        k += 1
                    if not digits:
                        break
                    current += float("0." + digits)
                    j = k
                    continue
                elif w == "and" and tok(j + 1) == "a" and tok(j + 2) == "half":
                    current += 0.5
                    j += 3
                    continue
                elif w == "and" and (tok(j + 1) in _UNITS or tok(j + 1) in _TENS) and (total or current >= 100):
                    pass  # "two hundred and fifty"
                else:
                    break
                j += 1
            value = total + current
        if value is None:
            i += 1
            continue
        percent = False
        if tok(j) in ("%", "percent", "pct"):
            percent, j = True, j + 1
        elif tok(j) == "per" and tok(j + 1) == "cent":
            percent, j = True, j + 2
        end = toks[j - 1][2]
        if i > 0 and tok(i - 1) in ("$", "£", "€"):
            start = toks[i - 1][1]
        out.append(Quantity(value=value, percent=percent, text=text[start:end]))
        i = max(j, i + 1)
    return out


def _meaningful(q: Quantity) -> bool:
    """Numbers worth insisting on: not a bare 'one' and not a year."""
    if q.percent:
        return True
    if q.value in (0.0, 1.0) and q.text.strip().lower() in ("one", "a", "zero", "1", "0"):
        return False
    if 1900 <= q.value <= 2100 and float(q.value).is_integer():
        return False
    return True


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


# --------------------------------------------------------------------------- stems and weights


#: Words any work story uses; they count for little when telling stories apart.
_COMMON = frozenset(stem(w) for w in """
team teams manager managers project projects work worked working company business people person week weeks
month months year years day days time problem problems issue issues help helped need needed want wanted start
started end ended result results change changed new old good better best big small first last next number
numbers data report reports meeting meetings lead colleague colleagues engineer engineers analyst stakeholder
stakeholders question questions answer decided decide using used use tried try took asked ask told said
show showed showing everyone someone nobody wasn't didn't couldn't because while after before still even
part role job task goal action actually found find back way ways point place every each set add added run ran
without within last list based base real actual own owned high low full whole whether across around keep kept
put gave give given per case cases example examples side sides across able enough agree agreed sat stop
stopped drop dropped went came got move moved fix fixed
""".split()) | frozenset(stem(w) for w in QUESTION_FRAME)
_NUMBER_STEMS = frozenset(stem(w) for w in _NUMBER_WORDS)


_HYPHEN_RE = re.compile(r"\b([A-Za-z]+)-(?=([A-Za-z]+))")


class _Hyphen:
    """Joins hyphenated words ('cut-off' -> 'cutoff'), not numbers ('two-week')."""

    @staticmethod
    def sub(_: str, text: str) -> str:
        def join(m: re.Match[str]) -> str:
            a, b = m.group(1).lower(), m.group(2).lower()
            if a in _NUMBER_WORDS or b in _NUMBER_WORDS:
                return m.group(0)
            return m.group(1)

        return _HYPHEN_RE.sub(join, text)


_HYPHEN = _Hyphen()


def _stems(text: str) -> list[str]:
    """Content stems without number words, plus one '#value' token per quantity.

    Hyphenated words are one word ('post-mortem' -> 'postmortem'); answers
    also offer every pair of neighbouring words joined (``_answer``)."""
    out = [s for s in content_stems(_HYPHEN.sub("", text)) if s not in _NUMBER_STEMS and not s[0].isdigit()]
    out.extend(q.key for q in quantities(text) if _meaningful(q))
    return out


def _base_weight(s: str) -> float:
    if s.startswith("#"):
        # '4%', '40000', '26' tell stories apart; 'three' of anything does not.
        v = float(s[1:])
        return 0.5 if v.is_integer() and v <= 12 else 2.0
    return 0.35 if s in _COMMON else 1.0


@dataclass(frozen=True)
class _Bullet:
    part: str
    text: str
    stems: frozenset[str]
    numbers: tuple[Quantity, ...]


@dataclass(frozen=True)
class _StoryIndex:
    story: Story
    stems: frozenset[str]
    bullets: tuple[_Bullet, ...]


@dataclass(frozen=True)
class _Index:
    stories: tuple[_StoryIndex, ...]
    weight: Mapping[str, float]

    def w(self, s: str) -> float:
        return self.weight.get(s, _base_weight(s))


def _story_index(story: Story) -> _StoryIndex:
    bullets = tuple(_Bullet(p, b, frozenset(_stems(b)), tuple(q for q in quantities(b) if _meaningful(q)))
                    for p, b in story.bullets())
    allstems = set(_stems(story.title))
    for b in bullets:
        allstems |= b.stems
    return _StoryIndex(story, frozenset(allstems), bullets)


@lru_cache(maxsize=64)
def _index(vault: Vault) -> _Index:
    stories = tuple(_story_index(s) for s in vault.stories)
    n = len(stories)
    df: dict[str, int] = {}
    for si in stories:
        for s in si.stems:
            df[s] = df.get(s, 0) + 1
    weight = {}
    for s, d in df.items():
        # log(1 + N/df) / log(1 + N): 1 for a stem one story uses, 0.5 for one all three use.
        rarity = math.log(1 + n / d) / math.log(1 + n) if n > 1 else 1.0
        weight[s] = _base_weight(s) * rarity
    return _Index(stories, weight)


def _variants(s: str) -> set[str]:
    """What a stem may meet in other words: itself and its 4- and 5-letter
    prefixes ('cancel' ~ 'cancellation', 'leak' ~ 'leakage')."""
    if s.startswith("#") or len(s) < 4:
        return {s}
    return {s, s[:4] + "~", s[:5] + "~"} if len(s) >= 5 else {s, s + "~"}


def _loose(s: str) -> set[str]:
    """Keys a story stem is looked up by: exact, or sharing the stem as a prefix."""
    if s.startswith("#") or len(s) < 4:
        return {s}
    return {s, s[:5] + "~"} if len(s) >= 5 else {s, s + "~"}


@dataclass(frozen=True)
class _Answer:
    #: The answer's own stems (what its focus is measured on).
    stems: frozenset[str]
    #: Lookup keys: stems, their prefixes and joined word pairs, all answer / per window.
    keys: frozenset[str]
    windows: tuple[frozenset[str], ...]
    numbers: tuple[Quantity, ...]

    def has(self, s: str, where: Optional[frozenset[str]] = None) -> bool:
        keys = self.keys if where is None else where
        return any(k in keys for k in _loose(s))


def _answer(text: str) -> _Answer:
    sents = [text[p.start:p.end] for p in split_sentences(text)] or [text]
    per, own = [], set()
    for sent in sents:
        keys: set[str] = set()
        stems = _stems(sent)
        own.update(stems)
        for s in stems:
            keys |= _variants(s)
        toks = tokens(_HYPHEN.sub("", sent))
        for a, b in zip(toks, toks[1:]):  # 'cut off' ~ 'cut-off', 'post mortem' ~ 'post-mortem'
            if a.isalpha() and b.isalpha():
                keys |= _variants(stem(a + b))
        per.append(frozenset(keys))
    windows = tuple(per[i] | (per[i + 1] if i + 1 < len(per) else frozenset()) for i in range(len(per)))
    allkeys = frozenset().union(*per) if per else frozenset()
    return _Answer(frozenset(own), allkeys, windows, tuple(quantities(text)))


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class StoryMatch:
    story: Story
    #: 0..1: how sure the match is (score above the threshold, margin over the runner-up).
    confidence: float
    #: Weighted recall/focus blend the decision is made on.
    score: float
    #: (part, bullet) said and left out.
    told: tuple[tuple[str, str], ...]
    missing: tuple[tuple[str, str], ...]
    runner_up: Optional[str] = None


def _bullet_said(b: _Bullet, ans: _Answer, idx: _Index) -> bool:
    """Said when most of its weighted stems occur in one window of the answer;
    a result bullet with numbers only when every number was said."""
    said_numbers = [q for q in b.numbers if any(_same(q.value, a.value) for a in ans.numbers)]
    if b.part == "result" and b.numbers:
        return len(said_numbers) == len(b.numbers)
    words = [s for s in b.stems if not s.startswith("#")]
    if not words and not b.numbers:
        return True
    total = sum(idx.w(s) for s in b.stems) or 1.0
    best = 0.0
    for win in ans.windows or (ans.stems,):
        got = sum(idx.w(s) for s in b.stems if ans.has(s, win) or (s.startswith("#") and s in ans.keys))
        best = max(best, got / total)
    return best >= BULLET_SAID


def _score_story(si: _StoryIndex, ans: _Answer, idx: _Index) -> tuple[float, float, float]:
    total = sum(idx.w(s) for s in si.stems) or 1.0
    hit = sum(idx.w(s) for s in si.stems if ans.has(s))
    recall = hit / total
    answer_total = sum(idx.w(s) for s in ans.stems) or 1.0
    focus = hit / answer_total
    return 0.6 * recall + 0.4 * focus, recall, focus


def match_story(answer_text: str, vault: Vault) -> Optional[StoryMatch]:
    """The vault story the answer told, or None when it told none of them."""
    if not vault.stories or not tokens(answer_text):
        return None
    idx = _index(vault)
    ans = _answer(answer_text)
    scored = sorted(((_score_story(si, ans, idx)[0], k, si) for k, si in enumerate(idx.stories)),
                    key=lambda t: (-t[0], t[1]))
    best_score, _, best = scored[0]
    if best_score < MATCH_THRESHOLD:
        return None
    second = scored[1][0] if len(scored) > 1 else 0.0
    above = min(1.0, (best_score - MATCH_THRESHOLD) / 0.25)
    margin = min(1.0, (best_score - second) / max(best_score, 1e-9) / 0.5)
    confidence = round(0.5 + 0.5 * above * margin, 3)
    told, missing = [], []
    for b in best.bullets:
        (told if _bullet_said(b, ans, idx) else missing).append((b.part, b.text))
    return StoryMatch(story=best.story, confidence=confidence, score=round(best_score, 3), told=tuple(told),
                      missing=tuple(missing), runner_up=scored[1][2].story.id if len(scored) > 1 else None)


def missing_points(answer_text: str, story: Story, vault: Optional[Vault] = None) -> list[tuple[str, str]]:
    """The story's bullets the answer never said, as (part, bullet), in story order.

    Weights come from ``vault`` when given (stems the other stories share count
    less), else from the story alone.
    """
    idx = _index(vault if vault is not None and story in vault.stories else Vault((story,)))
    si = next(s for s in idx.stories if s.story == story)
    ans = _answer(answer_text)
    return [(b.part, b.text) for b in si.bullets if not _bullet_said(b, ans, idx)]


def unsaid_numbers(answer_text: str, bullet: str) -> list[Quantity]:
    """The bullet's numbers the answer never said (in digits or in words)."""
    said = quantities(answer_text)
    return [q for q in quantities(bullet) if _meaningful(q) and not any(_same(q.value, a.value) for a in said)]


def _short(text: str, words: int = 12) -> str:
    w = text.split()
    return " ".join(w[:words]) + ("…" if len(w) > words else "")


def _describe(part: str, bullet: str, answer_text: str) -> str:
    """How a missing bullet is named in the advice line."""
    nums = [q for q in quantities(bullet) if _meaningful(q)]
    if part == "result" and nums:
        if len(nums) == 2 and re.search(r"\bfrom\b.*\bto\b", bullet.lower()):
            what = f"the measured result ({nums[0].text} → {nums[1].text})"
        else:
            what = f"the measured result “{_short(bullet)}”"
        unsaid = unsaid_numbers(answer_text, bullet)
        if unsaid and len(unsaid) < len(nums):
            what = what.rstrip(")") + ("; " if what.endswith(")") else " (") + \
                f"you never said {' or '.join(q.text for q in unsaid)})"
        return what
    return f"the {part} “{_short(bullet)}”"


def story_feedback(answer_text: str, vault: Vault) -> Optional[str]:
    """One advice line when the answer told a vault story but left points out, else None.

    E.g. "You told your story 'Ghost failed deliveries' but left out: the
    measured result (4% → 1.5%)."  Results come first, then actions, task and
    situation; at most two points are named, from different parts when possible.
    """
    m = match_story(answer_text, vault)
    if m is None or not m.missing:
        return None
    order = {"result": 0, "action": 1, "task": 2, "situation": 3}
    missing = sorted(m.missing, key=lambda pb: order[pb[0]])
    picked = [missing[0]]
    rest = [pb for pb in missing[1:] if pb[0] != missing[0][0]] or missing[1:]
    picked += rest[:1]
    shown = [_describe(p, b, answer_text) for p, b in picked]
    more = len(missing) - len(shown)
    tail = f" (and {more} more point{'s' if more > 1 else ''})" if more else ""
    return f"You told your story '{m.story.title}' but left out: {' and '.join(shown)}{tail}."


# --------------------------------------------------------------------------- fit and values


_FAILURE_Q = re.compile(r"\b(?:fail\w*|mistake\w*|wrong|went badly|setback\w*|regret\w*)\b", re.I)
_KIND_FOR = {"teamwork": ("teamwork", "conflict", "stakeholder-management"),
             "leadership": ("leadership", "mentoring", "influence", "initiative"),
             "failure": ("failure", "learning")}


@lru_cache(maxsize=4096)
def fit(story: Story, question: Question) -> float:
    """0..1: how well a story can be tweaked to answer the question.

    Mostly shared competency tags, then the question's topic words found in
    the story (the frame of every question and words any work story uses left
    out), adjusted for the story's kind (a failure question needs a failure
    story).
    """
    qc, sc = set(question.competencies), set(story.competencies)
    comp = len(qc & sc) / len(qc) if qc else 0.0
    frame = {stem(w) for w in QUESTION_FRAME}
    topic = {s for s in _stems(question.text) if s not in frame and s not in _COMMON}
    ss = set(_stems(story.text()))
    words = len(topic & ss) / len(topic) if topic else 0.0
    score = 0.65 * comp + 0.35 * min(1.0, words * 2)
    wants_failure = "failure" in qc or bool(_FAILURE_Q.search(question.text))
    if wants_failure:
        score += 0.15 if story.kind == "failure" else (-0.05 if "failure" in sc else -0.3)
    elif story.kind in _KIND_FOR and qc & set(_KIND_FOR[story.kind]):
        score += 0.1
    return round(max(0.0, min(1.0, score)), 3)


def best_story(vault: Vault, question: Question) -> Optional[tuple[Story, float]]:
    scored = [(s, fit(s, question)) for s in vault.stories]
    if not scored:
        return None
    return max(scored, key=lambda t: t[1])


class StoryRef(str):
    """A story id in ``value_coverage``; says whether the link was inferred and why."""

    inferred: bool
    evidence: str

    def __new__(cls, story_id: str, inferred: bool = False, evidence: str = "") -> "StoryRef":
        obj = super().__new__(cls, story_id)
        obj.inferred = inferred
        obj.evidence = evidence
        return obj

    def __repr__(self) -> str:
        return f"StoryRef({str(self)!r}, inferred={self.inferred}, evidence={self.evidence!r})"


#: Evidence needed to infer a value from a story's bullets: a cue phrase of
#: several words counts 1, the value's full name 1.5, a one-word cue or name
#: 0.5 (each distinct phrase once; words any work story uses not at all).
_INFER_AT = 1.0


def _value_phrases(company: Company) -> list[list[tuple[tuple[str, ...], float, str]]]:
    from starcoach.judge.lexicon import GENERIC_VALUE_WORDS as _GENERIC_VALUE_WORDS

    company_stems = {stem(t) for t in tokens(company.name) + [company.id]}
    out = []
    for v in company.values:
        phrases: list[tuple[tuple[str, ...], float, str]] = []
        name = tuple(s for s in content_stems(v.name) if s not in _GENERIC_VALUE_WORDS
                     and not any(s.startswith(c) for c in company_stems))
        seen: set[tuple[str, ...]] = set()
        if len(name) > 1 or (name and name[0] not in _COMMON):
            phrases.append((name, 1.5 if len(name) > 1 else 0.5, v.name))
            seen.add(name)
        for cue in v.cues:
            st = tuple(content_stems(cue))
            if not st or st in seen or (len(st) == 1 and (st[0] in _GENERIC_VALUE_WORDS or st[0] in _COMMON)):
                continue
            seen.add(st)
            phrases.append((st, 1.0 if len(st) > 1 else 0.5, cue))
        out.append(phrases)
    return out


def _find(seq: Sequence[str], pat: tuple[str, ...]) -> bool:
    k = len(pat)
    return any(tuple(seq[i:i + k]) == pat for i in range(len(seq) - k + 1))


def value_coverage(vault: Vault, company: Company) -> dict[str, list[StoryRef]]:
    """Company value id -> the stories that show it.

    Explicit ``values`` entries come first; then stories inferred from their
    bullets (the value's name and cue phrases, stemmed) and from competency
    tags that mean the value (the same mapping questions use), marked
    ``inferred`` with the evidence.
    """
    from starcoach.questions import value_fit

    out: dict[str, list[StoryRef]] = {v.id: [] for v in company.values}
    phrases = _value_phrases(company)
    for story in vault.stories:
        explicit = set(story.values_for(company.id))
        for vid in explicit:
            if vid in out:
                out[vid].append(StoryRef(story.id, False, "listed in the story's values"))
        bullet_stems = [content_stems(b) for b in [story.title] + [b for _, b in story.bullets()]]
        tagged: dict[str, list[str]] = {}
        for comp in story.competencies:
            probe = Question(id=f"story:{story.id}", text="", competencies=(comp,), bank="vault")
            for v, score in value_fit(probe, company):
                if score >= 2.0:
                    tagged.setdefault(v.id, []).append(comp)
        for vi, v in enumerate(company.values):
            if v.id in explicit:
                continue
            total, said = 0.0, []
            for pat, w, label in phrases[vi]:
                if any(_find(bs, pat) for bs in bullet_stems):
                    total += w
                    said.append(label)
            if total >= _INFER_AT:
                out[v.id].append(StoryRef(story.id, True, "says " + ", ".join(f"\u201c{s}\u201d" for s in said[:3])))
            elif v.id in tagged:
                out[v.id].append(StoryRef(story.id, True, "tagged " + ", ".join(tagged[v.id])))
    return out
