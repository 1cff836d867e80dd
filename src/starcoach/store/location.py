"""Where the data folder is: ``$STARCOACH_HOME``, else ``./recordings``.

Standard library only, so a command that only reads the data folder (``starcoach models``) finds it
without loading the database code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional


def default_data_dir(environ: Optional[Mapping[str, str]] = None) -> Path:
    env = os.environ if environ is None else environ
    home = env.get("STARCOACH_HOME")
    return Path(home).expanduser() if home else Path.cwd() / "recordings"
