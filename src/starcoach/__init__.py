"""starcoach: an offline, voice-driven mock interview coach for R-STAR-L answers.

The library's entry points (the ``starcoach`` command drives practice, batch
analysis and replay on top of them):

* :func:`analyse_text` judges a written or transcribed answer;
* :func:`analyse_file` judges the answer in a ``.txt`` file or a recording;
* :func:`load_catalogue` loads the companies and question banks;
* :class:`Analysis` is what both analyses return (``to_json()``: the
  ``starcoach.analysis/1`` object of docs/json.md).

They are imported on first use (PEP 562 ``__getattr__``), so ``import
starcoach`` and ``starcoach --help`` stay fast; heavy modules (faster-whisper,
sounddevice, rich) are imported lazily below them too.

Nothing leaves the machine.  The libraries below starcoach have switches for
that, and they are read once, when each library starts, so they are set here,
when the package is first imported: in the command's process and in every
batch worker (a spawned worker imports ``starcoach`` before anything else).

* ``ORT_DISABLE_TELEMETRY``: onnxruntime (which runs faster-whisper's Silero
  VAD) otherwise starts its telemetry when its environment is created: DNS
  lookups for ``mobile.events.data.microsoft.com``, then an upload, and a
  device id plus queued events in ``~/.cache/Microsoft/DeveloperTools``.
  Set before onnxruntime is loaded, nothing is created, stored or sent
  (checked with strace by tests/test_privacy.py).
* ``HF_HUB_OFFLINE``: huggingface_hub never asks the network for a model
  (every model lookup also passes ``local_files_only``).
"""

import os as _os

_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
_os.environ["HF_HUB_OFFLINE"] = "1"
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"

__all__ = ["Analysis", "__version__", "analyse_file", "analyse_text", "load_catalogue"]

#: Public name -> the module that defines it, imported when the name is first used.
_HOMES = {
    "analyse_text": "starcoach.pipeline.process",
    "analyse_file": "starcoach.pipeline.process",
    "load_catalogue": "starcoach.catalogue.banks",
    "Analysis": "starcoach.model",
}


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'starcoach' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
