"""The story vault file: its format, checking it, reading and writing it.

Pure: no terminal, no storage beyond reading and writing the vault file.

A candidate keeps two or three deep stories (ideally one success, one
failure, one about teamwork or leadership).  This module holds the file
format and checks it; the questions asked of it are answered elsewhere:

* which story did an answer tell, and which of its points were left out
  (``matching.match_story``, ``missing_points``, ``story_feedback``);
* how well does a story fit a question (``matching.fit``);
* which stories show each of a company's values (``coverage.value_coverage``).

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
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from starcoach import tomlfiles
from starcoach.catalogue.banks import COMPETENCIES, Company
from starcoach.errors import StarcoachError
from starcoach.files import write_atomic

KINDS: tuple[str, ...] = ("success", "failure", "teamwork", "leadership", "other")
PARTS: tuple[str, ...] = ("situation", "task", "action", "result")
PART_TITLES = {"situation": "Situation", "task": "Task", "action": "Action", "result": "Result"}
_KEYS = ("id", "title", "kind") + PARTS + ("competencies", "values")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_VALUE_RE = re.compile(r"^([a-z0-9][a-z0-9-]*):([a-z0-9][a-z0-9-]*)$")


class VaultError(StarcoachError):
    """A vault file that cannot be used (file, line, problem); a usage problem (exit 2)."""

    def __init__(self, path: Path, problem: str, line: Optional[int] = None):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}", kind="usage")


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
        data = tomlfiles.loads(text)
    except RecursionError:
        raise VaultError(path, "invalid TOML: tables or arrays nested too deeply") from None
    except tomlfiles.TOMLDecodeError as e:
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
