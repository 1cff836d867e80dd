"""starcoach: an offline, voice-driven mock interview coach for R-STAR-L answers.

The public API is small: ``analyse_text`` judges a written or transcribed
answer; the CLI (``starcoach``) drives practice, batch analysis and replay.
Heavy modules (faster-whisper, sounddevice, rich) are imported lazily so that
``starcoach --help`` stays fast.

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
