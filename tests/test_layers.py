"""The pure core stays pure: the judge, text, delivery, progress maths, targets and the data they pass
import nothing that touches audio, the terminal, storage or the speech model.

Checked twice: every import statement of every pure module is read from its source (AST), so a lazy
import inside a function is caught too, and each pure module is imported in a fresh interpreter to see
what actually lands in ``sys.modules``.  Imports under ``if TYPE_CHECKING:`` are for type checkers
only and never run, so they are allowed.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"

#: Modules (and packages: every module in them) that must stay pure.
PURE = ("starcoach.judge", "starcoach.text", "starcoach.speech.delivery", "starcoach.speech.like_rule",
        "starcoach.speech.pauses", "starcoach.progress", "starcoach.targets", "starcoach.shaky", "starcoach.model",
        "starcoach.catalogue", "starcoach.vault", "starcoach.stored", "starcoach.files", "starcoach.errors",
        "starcoach.tomlfiles")

#: Known breaches, each with what removes it.  The test fails once an entry is no longer needed.
#: (None now: delivery's ``find_pauses`` moved out of the VAD module into speech/pauses.py.)
KNOWN: set[tuple[str, str]] = set()

#: What a pure module may never import, directly or through another module.
FORBIDDEN = ("sounddevice", "faster_whisper", "ctranslate2", "rich", "sqlite3", "soundfile", "pyttsx3", "av",
             "starcoach.capture", "starcoach.speech.decode", "starcoach.speech.vad", "starcoach.speech.transcribe",
             "starcoach.speech.whisper_model", "starcoach.speech.streaming",
             "starcoach.store", "starcoach.views", "starcoach.cli")


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def _pure(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PURE)


def _module_files() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "starcoach").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if _pure(name):
            out[name] = path
    return out


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # "from starcoach import store" imports the module starcoach.store.
            names = [base] + [f"{base}.{a.name}" for a in node.names if base == "starcoach"]
        else:
            continue
        if not _type_checking_only(node, parents):
            out += [(node.lineno, n) for n in names]
    return out


MODULES = _module_files()


def test_the_pure_modules_are_found():
    for names in (("starcoach.judge",), ("starcoach.judge.score",), ("starcoach.text",),
                  ("starcoach.speech.delivery",), ("starcoach.progress",), ("starcoach.targets",)):
        assert any(n in MODULES for n in names), f"{names[0]} not found under {SRC}: update PURE in this test"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_pure_module_imports_nothing_impure_in_its_source(module):
    bad = []
    for line, name in _imports(MODULES[module], module):
        if (module, name) in KNOWN:
            continue
        if _forbidden(name):
            bad.append(f"line {line}: {name}")
        elif name.startswith("starcoach.") and not _pure(name) and name not in ("starcoach",):
            bad.append(f"line {line}: {name} (not a pure module: add it to PURE only if it is one)")
    assert not bad, f"{module} ({MODULES[module]}) imports: " + "; ".join(bad)


def test_every_known_breach_is_still_there():
    imports = {(m, name) for m, path in MODULES.items() for _, name in _imports(path, m)}
    for module, name in KNOWN:
        if module in MODULES:
            assert (module, name) in imports, f"{module} no longer imports {name}: remove it from KNOWN"


def test_importing_the_pure_modules_loads_nothing_impure():
    # A known breach's module itself is loaded (see KNOWN); what it would load in turn is still checked.
    known = {name for module, name in KNOWN if module in MODULES}
    forbidden = tuple(f for f in FORBIDDEN if f not in known)
    code = ("import importlib, sys\n"
            f"for m in {sorted(MODULES)!r}: importlib.import_module(m)\n"
            "from starcoach.judge import analyse\n"
            "analyse('I rebuilt it. It saved a day.')\n"
            f"forbidden = {forbidden!r}\n"
            "bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in forbidden))\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing the pure modules loads {out}"


def test_the_judge_alone_loads_nothing_impure_and_not_numpy():
    """The judge at run time needs no numpy either (fitting does: judge/fit.py is not imported)."""
    code = ("import sys, starcoach.judge; from starcoach.judge import analyse; analyse('I rebuilt it. It saved a day.');"
            f"bad = [m for m in {FORBIDDEN + ('numpy',)!r} if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"starcoach.judge imports {out}"


def test_no_private_name_is_imported_across_modules():
    """A name starting with "_" is its module's own business: another module that needs it gets a
    public name.  Checked on every ``from starcoach... import`` in the package (lazy ones too)."""
    found = []
    for path in sorted((SRC / "starcoach").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("starcoach"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{path.relative_to(SRC)}: {node.module}.{alias.name}")
    assert not found, found


def test_every_one_line_failure_is_a_starcoach_error_with_the_exit_status_of_its_kind():
    """One error base: each stage's error is a StarcoachError, and its kind gives the exit status."""
    from starcoach.capture.playback import PlaybackError
    from starcoach.capture.portaudio import HardwareError
    from starcoach.capture.wav import RecordingWriteError
    from starcoach.catalogue.banks import BankError
    from starcoach.errors import ExitStatus, StarcoachError, exit_status
    from starcoach.speech.decode import AudioError
    from starcoach.speech.whisper_model import ModelNotFound, TranscriptionError
    from starcoach.store.errors import StoreError
    from starcoach.vault.format import VaultError

    cases = [
        (BankError(Path("bank.toml"), "no questions", 3), ExitStatus.USAGE),
        (VaultError(Path("vault.toml"), "bad story", 7), ExitStatus.USAGE),
        (ModelNotFound("no speech model is installed"), ExitStatus.USAGE),
        (TranscriptionError("the model would not load"), ExitStatus.USAGE),
        (HardwareError("no microphone"), ExitStatus.USAGE),
        (PlaybackError("the speaker refused", "default", "busy"), ExitStatus.USAGE),
        (AudioError("not_audio", "a.wav", "is not audio"), ExitStatus.INPUT_FAILED),
        (StoreError("the database is read-only"), ExitStatus.STORAGE),
        (RecordingWriteError("the disk is full", True), ExitStatus.STORAGE),
    ]
    for err, status in cases:
        assert isinstance(err, StarcoachError), type(err).__name__
        assert exit_status(err) == status, type(err).__name__
        assert "\n" not in str(err) and str(err)
    assert str(BankError(Path("bank.toml"), "no questions", 3)) == "bank.toml:3: no questions"
    assert AudioError("not_audio", "a.wav", "is not audio").kind == "not_audio"
