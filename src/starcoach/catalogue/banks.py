"""Question banks and company profiles: loading, validating, finding.

Both are TOML files.  The built-in ones ship with the program
(``question_banks/`` in the source tree); a user adds more by dropping files
into a folder of their own, by default ``~/.config/starcoach/question_banks``
(``$XDG_CONFIG_HOME`` is honoured) or any folders named in
``$STARCOACH_BANKS`` (separated by ``:``).  Each folder holds
``companies/*.toml`` and ``questions/*.toml``; see docs/question-banks.md.
A user file with the same id as a built-in one replaces it.

A malformed file is never skipped silently: it raises ``BankError`` naming
the file, the line and the problem.

A file already read in this process, at the same path with the same bytes, is
not parsed again: ``load_company`` and ``load_bank`` keep what they made (frozen),
keyed by the path and a hash of the contents.  Every command loads the whole
catalogue, and ``analyse_text(..., company=...)`` does on each call.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from starcoach import tomlfiles
from starcoach.catalogue.themes import theme_names
from starcoach.errors import StarcoachError

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

#: The competency vocabulary questions are tagged with.
COMPETENCIES: tuple[str, ...] = (
    "ownership", "initiative", "teamwork", "conflict", "failure", "learning", "leadership",
    "ambiguity", "customer-focus", "data-driven", "deadlines", "communication", "influence",
    "prioritisation", "data-quality", "stakeholder-management", "technical-depth", "innovation",
    "mentoring", "ethics", "resilience", "bias-for-action", "feedback", "simplification",
)


#: The roles questions are tagged with (``roles`` in a bank, for all its questions, or per question).
ROLES: tuple[str, ...] = ("general", "data", "ml", "software", "product")


class BankError(StarcoachError):
    """A question bank or company profile that cannot be used (file, line, problem); a usage problem (exit 2)."""

    def __init__(self, path: Path, problem: str, line: Optional[int] = None):
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}", kind="usage")


@dataclass(frozen=True)
class CompanyValue:
    id: str
    name: str
    meaning: str
    cues: tuple[str, ...]
    #: the kinds of value it is (``catalogue/themes_en.toml``): words people use for it without naming it
    themes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    summary: str
    values: tuple[CompanyValue, ...]
    path: Path
    #: The company's own page its values are taken from (``source``, optional).
    source: Optional[str] = None

    def value(self, value_id: str) -> Optional[CompanyValue]:
        return next((v for v in self.values if v.id == value_id), None)


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    competencies: tuple[str, ...]
    bank: str
    #: The roles it suits (``ROLES``); none given: any.
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bank:
    id: str
    name: str
    description: str
    questions: tuple[Question, ...]
    path: Path


def _bundled(name: str) -> Path:
    """A folder shipped with the program: inside the installed package, else in the source tree."""
    package = Path(__file__).resolve().parent.parent  # starcoach/
    packaged = package / name
    return packaged if packaged.is_dir() else package.parent.parent / name


def builtin_dir() -> Path:
    """The banks shipped with the program (installed wheel, or the source tree)."""
    return _bundled("question_banks")


def examples_dir() -> Path:
    """The bundled example answers (the no-microphone demo)."""
    return _bundled("examples")


def user_dirs(env: Optional[dict[str, str]] = None) -> list[Path]:
    env = dict(os.environ) if env is None else env
    dirs: list[Path] = []
    config = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    dirs.append(Path(config) / "starcoach" / "question_banks")
    for part in env.get("STARCOACH_BANKS", "").split(os.pathsep):
        if part.strip():
            dirs.append(Path(part.strip()).expanduser())
    return dirs


def search_dirs(env: Optional[dict[str, str]] = None) -> list[Path]:
    return [builtin_dir(), *user_dirs(env)]


# --------------------------------------------------------------------------- parsing


#: A bank or company file larger than this is refused in one line.  The built-in
#: banks are a few KiB; 4 MiB holds about 20,000 questions, which load in well
#: under a second (loading is linear in the file's size).
MAX_FILE_BYTES = 4 * 1024 * 1024


def _read_bytes(path: Path) -> bytes:
    """A bank file's bytes, or ``BankError`` (cannot be read, or over the size limit)."""
    try:
        with open(path, "rb") as fh:
            # As much as the file holds and one byte more (a buffer of MAX_FILE_BYTES for every
            # small file costs more than reading it); the rest only if that byte was there too
            # (the file grew, or its size is not known: a pipe).
            want = min(os.fstat(fh.fileno()).st_size, MAX_FILE_BYTES) + 1
            raw = fh.read(want)
            if len(raw) == want <= MAX_FILE_BYTES:
                raw += fh.read(MAX_FILE_BYTES + 1 - len(raw))
    except OSError as e:
        raise BankError(path, f"cannot read: {e.strerror or e}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise BankError(path, f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, the limit for a "
                              "question bank or company profile (split it into several files)")
    return raw


def _parse_toml(path: Path, raw: bytes) -> tuple[dict[str, Any], str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BankError(path, "not a UTF-8 text file") from None
    try:
        return tomlfiles.loads(text), text
    except RecursionError:
        raise BankError(path, "invalid TOML: tables or arrays nested too deeply") from None
    except tomlfiles.TOMLDecodeError as e:  # tomllib's, imported only when a file fails to parse
        msg = str(e)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        raise BankError(path, f"invalid TOML: {msg}", line) from None


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """A bank file's data and text, or ``BankError`` with the file, the problem and the line."""
    return _parse_toml(path, _read_bytes(path))


#: What ``load_company`` and ``load_bank`` made, by (path, SHA-256 of the file's bytes), oldest first.
_COMPANIES: dict[tuple[Path, bytes], Any] = {}
_BANKS: dict[tuple[Path, bytes], Any] = {}
_KEEP = 256


def _cached(cache: dict, path: Path, raw: bytes, make: Callable[[Path, bytes], Any]) -> Any:
    """``make(path, raw)``, or what it gave before for this path and these bytes (a ``BankError`` is not kept)."""
    key = (path, hashlib.sha256(raw).digest())
    hit = cache.get(key)
    if hit is None:
        hit = make(path, raw)
        if len(cache) >= _KEEP:
            cache.pop(next(iter(cache)), None)
        cache[key] = hit
    return hit


def _table_lines(text: str, table: str) -> list[int]:
    """Line numbers of every ``[[table]]`` header, in order, found in one pass (to point at a bad entry)."""
    head = f"[[{table}]]"
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().startswith(head)]


def _line_of_key(text: str, key: str) -> Optional[int]:
    for n, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return n
    return None


def _need_str(d: dict[str, Any], key: str, path: Path, line: Optional[int], what: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v.strip():
        raise BankError(path, f"{what}: '{key}' must be a non-empty string", line)
    return v.strip()


def _need_id(d: dict[str, Any], path: Path, line: Optional[int], what: str) -> str:
    v = _need_str(d, "id", path, line, what)
    if not _ID_RE.match(v):
        raise BankError(path, f"{what}: id '{v}' must be lower case letters, digits and '-'", line)
    return v


def _str_list(d: dict[str, Any], key: str, path: Path, line: Optional[int], what: str) -> tuple[str, ...]:
    v = d.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise BankError(path, f"{what}: '{key}' must be a list of strings", line)
    return tuple(x.strip() for x in v)


def _themes(v: dict[str, Any], path: Path, line: Optional[int], what: str) -> tuple[str, ...]:
    themes = tuple(t.lower() for t in _str_list(v, "themes", path, line, what))
    known = theme_names()
    unknown = [t for t in themes if t not in known]
    if unknown:
        raise BankError(path, f"{what}: unknown theme '{unknown[0]}' (known: {', '.join(sorted(known))})", line)
    return themes


def _roles(d: dict[str, Any], path: Path, line: Optional[int], what: str) -> tuple[str, ...]:
    roles = tuple(r.lower() for r in _str_list(d, "roles", path, line, what))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise BankError(path, f"{what}: unknown role '{unknown[0]}' (known: {', '.join(ROLES)})", line)
    return roles


def load_company(path: Path) -> Company:
    return _cached(_COMPANIES, path, _read_bytes(path), _parse_company)


def _parse_company(path: Path, raw: bytes) -> Company:
    data, text = _parse_toml(path, raw)
    cid = _need_id(data, path, _line_of_key(text, "id") or 1, "company")
    name = _need_str(data, "name", path, _line_of_key(text, "name") or 1, "company")
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        raise BankError(path, "company: 'summary' must be a string", _line_of_key(text, "summary"))
    raw_values = data.get("values")
    if not isinstance(raw_values, list) or not raw_values:
        raise BankError(path, "company: needs at least one [[values]] entry", _line_of_key(text, "values"))
    values = []
    seen: set[str] = set()
    headers = _table_lines(text, "values")
    for i, v in enumerate(raw_values):
        line = headers[i] if i < len(headers) else None
        what = f"value #{i + 1}"
        if not isinstance(v, dict):
            raise BankError(path, f"{what}: must be a table", line)
        vid = _need_id(v, path, line, what)
        if vid in seen:
            raise BankError(path, f"{what}: duplicate value id '{vid}'", line)
        seen.add(vid)
        values.append(CompanyValue(
            id=vid,
            name=_need_str(v, "name", path, line, what),
            meaning=_need_str(v, "meaning", path, line, what),
            cues=tuple(c.lower() for c in _str_list(v, "cues", path, line, what)),
            themes=_themes(v, path, line, what),
        ))
    source = data.get("source")
    if source is not None and not (isinstance(source, str) and source.startswith("https://")):
        raise BankError(path, "company: 'source' must be the https:// address of the company's values page",
                        _line_of_key(text, "source"))
    return Company(id=cid, name=name, summary=summary.strip(), values=tuple(values), path=path, source=source)


def load_bank(path: Path) -> Bank:
    return _cached(_BANKS, path, _read_bytes(path), _parse_bank)


def _parse_bank(path: Path, raw: bytes) -> Bank:
    data, text = _parse_toml(path, raw)
    bid = _need_id(data, path, _line_of_key(text, "id") or 1, "bank")
    name = data.get("name") or bid
    description = data.get("description", "")
    bank_roles = _roles(data, path, _line_of_key(text, "roles"), "bank")
    raw = data.get("questions")
    if not isinstance(raw, list) or not raw:
        raise BankError(path, "bank: needs at least one [[questions]] entry", None)
    questions = []
    headers = _table_lines(text, "questions")
    seen: dict[str, Optional[int]] = {}
    for i, q in enumerate(raw):
        line = headers[i] if i < len(headers) else None
        what = f"question #{i + 1}"
        if not isinstance(q, dict):
            raise BankError(path, f"{what}: must be a table", line)
        comps = _str_list(q, "competencies", path, line, what)
        unknown = [c for c in comps if c not in COMPETENCIES]
        if unknown:
            raise BankError(path, f"{what}: unknown competency '{unknown[0]}' "
                                  f"(known: {', '.join(COMPETENCIES)})", line)
        qid = _need_id(q, path, line, what)
        if qid in seen:
            first = f" (first used at line {seen[qid]})" if seen[qid] else ""
            raise BankError(path, f"{what}: duplicate question id '{qid}'{first}; ids are unique", line)
        seen[qid] = line
        questions.append(Question(
            id=qid,
            text=_need_str(q, "text", path, line, what),
            competencies=comps,
            bank=bid,
            roles=_roles(q, path, line, what) or bank_roles,
        ))
    return Bank(id=bid, name=str(name), description=str(description), questions=tuple(questions), path=path)


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Catalogue:
    companies: dict[str, Company]
    banks: dict[str, Bank]

    @property
    def questions(self) -> list[Question]:
        out: list[Question] = []
        for b in self.banks.values():
            out.extend(b.questions)
        return out

    def company(self, company_id: str) -> Company:
        c = self.companies.get(company_id.lower())
        if c is None:
            raise UnknownCompany(company_id, sorted(self.companies))
        return c


class UnknownCompany(Exception):
    def __init__(self, company_id: str, known: Iterable[str]):
        self.company_id = company_id
        self.known = list(known)
        super().__init__(f"unknown company '{company_id}' (known: {', '.join(self.known)})")


def _toml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if p.is_file())


def shipped_companies() -> list[Company]:
    """The company profiles shipped with the program (not the user's own folders)."""
    return [load_company(p) for p in _toml_files(builtin_dir() / "companies")]


def load_catalogue(dirs: Optional[list[Path]] = None) -> Catalogue:
    """Every company and bank in the search folders; later folders override earlier ones."""
    companies: dict[str, Company] = {}
    banks: dict[str, Bank] = {}
    for d in dirs if dirs is not None else search_dirs():
        for path in _toml_files(d / "companies"):
            c = load_company(path)
            if c.id != path.stem:
                raise BankError(path, f"company id '{c.id}' must match the file name '{path.stem}'",
                                1)
            companies[c.id] = c
        for path in _toml_files(d / "questions"):
            b = load_bank(path)
            banks[b.id] = b
    seen: dict[str, Path] = {}
    for b in banks.values():
        for q in b.questions:
            if q.id in seen and seen[q.id] != b.path:
                raise BankError(b.path, f"question id '{q.id}' is also used in {seen[q.id]}")
            seen[q.id] = b.path
    return Catalogue(companies=companies, banks=banks)
