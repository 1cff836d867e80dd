"""A virtual sound card for the audio tests: ALSA's ``file`` plugin as microphone and speaker.

The microphone and speaker tests run the code in a child process with
ALSA_CONFIG_PATH pointing at an asound.conf whose capture device is ALSA's
``file`` plugin reading a raw file of espeak-ng speech (see
/work/shared/testing-audio.md), and whose playback device writes a raw
file.  A child process because PortAudio reads the ALSA configuration once,
when sounddevice is first imported.

What ALSA's file plugin does (measured here: alsa-lib on Debian, slave "null",
PortAudio's ALSA host API; test_microphone.test_alsa_file_plugin_at_end_of_input checks it):

* At the end of ``infile`` it neither stops the stream, nor loops the file,
  nor gives silence: it stops writing into the capture ring buffer, so the
  stream keeps returning the stale buffer - the last period of the file
  (~700 samples, ~40 ms) repeated for ever.  A file that ends loudly would
  buzz.  So every raw file the tests feed it ends with 1 s of digital zeros;
  what repeats is then exact silence, as after a real speaker stops talking.
* It is not paced: with the ``null`` slave there is no clock, so 10 s of
  "microphone" arrive in a few milliseconds.  Recorder and Endpointer count
  audio seconds (samples / rate), not wall time, so their decisions are the
  same as live.  MicrophoneSource's bounded queue (30 s) fills at once and
  then paces the device to the reader, so nothing is dropped.
* PortAudio negotiates the sample format closest to what the stream asks
  for; the plugin accepts any, so a float32 stream would read the s16 raw
  file as float32 garbage.  MicrophoneSource asks for int16.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from starcoach.speech.decode import SAMPLE_RATE_HZ, load_audio
from starcoach.speech.vad import speech_spans

SYSTEM_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
HAVE_TOOLS = bool(shutil.which("espeak-ng") and shutil.which("sox") and SYSTEM_ALSA_CONF.exists())
needs_tools = pytest.mark.skipif(not HAVE_TOOLS, reason="needs espeak-ng, sox and ALSA's alsa.conf")

#: A short answer with a 1.2 s pause in the middle (which must not end it).
ANSWER_SSML = ('<speak>In my last role I rebuilt our deployment pipeline. <break time="1200ms"/> '
               'Releases went from two days to two hours.</speak>')
#: A long answer with no pause longer than a breath.
LONG_SSML = ("<speak>" + " ".join(
    ["I started by mapping every manual step in the release, then I automated the slowest ones first."] * 4)
    + "</speak>")


class Speech:
    """An espeak-ng recording as a 16 kHz WAV and as the raw s16le the file plugin reads."""

    def __init__(self, directory: Path, name: str, ssml: str):
        tmp = directory / f"{name}-espeak.wav"
        self.wav = directory / f"{name}.wav"
        self.raw = directory / f"{name}.raw"
        subprocess.run(["espeak-ng", "-m", "-s", "160", "-w", str(tmp), ssml], check=True)
        subprocess.run(["sox", str(tmp), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed", str(self.wav)],
                       check=True)
        subprocess.run(["sox", str(self.wav), "-t", "raw", str(self.raw)], check=True)
        with open(self.raw, "ab") as fh:  # the plugin repeats the file's last period: make it silence
            fh.write(bytes(2 * SAMPLE_RATE_HZ))
        self.samples = load_audio(self.wav)
        self.spans = speech_spans(self.samples)
        self.speech_end_s = self.spans[-1].end_s
        self.duration_s = self.samples.size / SAMPLE_RATE_HZ


def make_speech(tmp_path_factory) -> dict:
    """The two spoken answers (``answer``, ``long``) for a module's ``speech`` fixture; skips without the tools."""
    if not HAVE_TOOLS:
        pytest.skip("needs espeak-ng, sox and ALSA's alsa.conf")
    d = tmp_path_factory.mktemp("speech")
    return {"answer": Speech(d, "answer", ANSWER_SSML), "long": Speech(d, "long", LONG_SSML)}


def write_asound(directory: Path, infile: Path | str | None, outfile: Path | str) -> Path:
    """A virtual sound card: default capture reads ``infile``, default playback writes ``outfile``."""
    infile_line = f'infile "{infile}"; ' if infile is not None else ""
    conf = directory / "asound.conf"
    conf.write_text(textwrap.dedent(f"""\
        pcm.!default {{ type asym; playback.pcm "spk"; capture.pcm "mic" }}
        pcm.mic {{ type file; slave.pcm "null"; file "/dev/null"; {infile_line}format "raw" }}
        pcm.spk {{ type file; slave.pcm "null"; file "{outfile}"; format "raw" }}
        """))
    return conf


def alsa_env(conf: Path) -> dict:
    env = dict(os.environ)
    env["ALSA_CONFIG_PATH"] = f"{SYSTEM_ALSA_CONF}:{conf}"
    return env


def run_child(code: str, env: dict, timeout_s: float = 60) -> tuple[dict, subprocess.CompletedProcess]:
    """Run ``code`` in a fresh Python; it prints one JSON object as its last line."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=timeout_s)
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc
