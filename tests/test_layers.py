"""The judge is pure: importing it pulls in nothing that touches audio, the terminal, storage or the model."""

import subprocess
import sys

FORBIDDEN = ("sounddevice", "faster_whisper", "ctranslate2", "rich", "sqlite3", "numpy", "soundfile", "pyttsx3",
             "starcoach.capture", "starcoach.speech.transcribe", "starcoach.speech.streaming", "starcoach.store", "starcoach.report")


def test_judge_imports_nothing_impure():
    code = ("import sys, starcoach.judge; from starcoach.judge import analyse; analyse('I rebuilt it. It saved a day.');"
            f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"starcoach.judge imports {out}"
