"""Loading PortAudio (through sounddevice) and finding the device to use.

The microphone, the question's voice and replay all open sound devices, and
each must fail the same way: in one line that says what to do, never with
PortAudio's own traceback or the pages of ``ALSA lib ...`` diagnostics its
C code writes to standard error.  So loading the library, listing and
resolving devices, PortAudio's error codes and quietening its stderr live
here, once.  sounddevice is imported only by :func:`load_sounddevice`, so a
machine without PortAudio still runs every command that plays and records
nothing.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Iterator, Literal, Optional, Union

from starcoach.errors import StarcoachError
from starcoach.text import first_line

__all__ = [
    "HINT_DEVICES", "HINT_MIC_FILE", "PA_DEVICE_UNAVAILABLE", "PA_INVALID_CHANNEL_COUNT", "PA_INVALID_SAMPLE_RATE",
    "PA_SAMPLE_FORMAT_NOT_SUPPORTED", "DeviceInfo", "DeviceSpec", "HardwareError", "default_devices",
    "list_devices", "load_sounddevice", "pa_code", "resolve_device", "stderr_quietened",
]

#: A device as the user names it: PortAudio's index, part of its name, or None for the default.
DeviceSpec = Union[int, str, None]

# PortAudio error codes (portaudio.h, PaErrorCode) that change what we do.
PA_INVALID_CHANNEL_COUNT = -9998
PA_INVALID_SAMPLE_RATE = -9997
PA_SAMPLE_FORMAT_NOT_SUPPORTED = -9994
PA_DEVICE_UNAVAILABLE = -9985

HINT_DEVICES = "`starcoach devices` lists them"
HINT_MIC_FILE = "use --mic-file to feed a recording"


class HardwareError(StarcoachError):
    """A sound device cannot be used.  ``str(error)`` is one line saying what to do (exit 2)."""


def load_sounddevice(hint: str = HINT_MIC_FILE):
    """Import sounddevice, turning a missing PortAudio into a :class:`HardwareError`.

    sounddevice loads the system PortAudio when imported and raises a bare
    ``OSError: PortAudio library not found`` without it; ``hint`` is appended
    to our message (the speaker passes its own: ``--mic-file`` means nothing there).
    """
    tail = f"; or {hint}" if hint else ""
    try:
        with stderr_quietened():  # PortAudio's ALSA probe prints pages of "ALSA lib ..." on many PCs
            import sounddevice as sd
    except OSError as exc:
        if "portaudio" in str(exc).lower():
            raise HardwareError("PortAudio library not found — install it "
                                "(Debian/Ubuntu: sudo apt install libportaudio2)" + tail) from None
        raise HardwareError(f"cannot load the audio library ({first_line(exc)}){tail}") from None
    except ImportError:
        raise HardwareError("the sounddevice package is missing — reinstall starcoach" + tail) from None
    return sd


@contextlib.contextmanager
def stderr_quietened() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration.

    ALSA and PortAudio write diagnostics straight to fd 2 from C (``ALSA lib
    pcm.c: Unknown PCM cards.pcm.rear``, ``Expression 'ret' failed ...``)
    while devices are probed and opened.  We report failures ourselves, in
    one line, so this noise only scares the user and scribbles over the live
    view.  Process-wide, so it is held only around probing and opening.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all: nothing to protect
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def pa_code(exc: BaseException) -> Optional[int]:
    """PortAudio's error code from a sounddevice.PortAudioError (args = (message, code[, host info]))."""
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[1], int):
        return args[1]
    return None


@dataclass(frozen=True)
class DeviceInfo:
    """One sound device as PortAudio sees it (for ``starcoach devices``)."""

    index: int
    name: str
    inputs: int
    outputs: int
    default_sample_rate_hz: float
    is_default_input: bool
    is_default_output: bool
    host_api: str = ""

    @property
    def default_samplerate(self) -> float:
        """sounddevice's name for :attr:`default_sample_rate_hz`."""
        return self.default_sample_rate_hz


def list_devices() -> list[DeviceInfo]:
    """Every device PortAudio knows; empty on a machine with no sound card."""
    sd = load_sounddevice()
    try:
        with stderr_quietened():
            devices = sd.query_devices()
            host_apis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise HardwareError(f"cannot list sound devices ({first_line(exc)})") from None
    default_in, default_out = default_devices(sd)
    out = []
    for d in devices:
        idx = int(d["index"])
        try:
            api = host_apis[d["hostapi"]]["name"]
        except (IndexError, KeyError, TypeError):
            api = ""
        out.append(DeviceInfo(
            index=idx, name=str(d["name"]), inputs=int(d["max_input_channels"]),
            outputs=int(d["max_output_channels"]), default_sample_rate_hz=float(d["default_samplerate"]),
            is_default_input=idx == default_in, is_default_output=idx == default_out, host_api=str(api),
        ))
    return out


def default_devices(sd) -> tuple[int, int]:
    """(default input index, default output index); -1 where there is none."""
    try:
        pair = sd.default.device
        return int(pair[0] if pair[0] is not None else -1), int(pair[1] if pair[1] is not None else -1)
    except Exception:  # PortAudio without a host API answers oddly; "no default" is the truth
        return -1, -1


def resolve_device(sd, device: DeviceSpec, kind: Literal["input", "output"]) -> tuple[int, dict]:
    """(index, sounddevice's device dict) for ``device`` (None = default), or a HardwareError."""
    role = "microphone" if kind == "input" else "speaker"
    channels_key = f"max_{kind}_channels"
    flag = "--input-device" if kind == "input" else "--output-device"
    try:
        with stderr_quietened():
            devices = sd.query_devices()
    except sd.PortAudioError as exc:
        raise HardwareError(f"cannot list sound devices ({first_line(exc)})") from None
    if device is None:
        idx = default_devices(sd)[0 if kind == "input" else 1]
        if idx < 0 or idx >= len(devices) or devices[idx][channels_key] < 1:
            # No usable default: fall back to the first device that can do the job.  (PortAudio
            # can have devices but no default, or name a default that lacks this direction.)
            idx = next((int(d["index"]) for d in devices if d[channels_key] > 0), -1)
        if idx < 0:
            extra = f"; {HINT_MIC_FILE}" if kind == "input" else ""
            raise HardwareError(f"no {role} found — {HINT_DEVICES}{extra}")
        return idx, dict(devices[idx])
    if isinstance(device, int) or (isinstance(device, str) and device.strip().isdigit()):
        idx = int(device)
        if not 0 <= idx < len(devices):
            have = f" (ids 0-{len(devices) - 1})" if len(devices) else " (there are none)"
            raise HardwareError(f"{kind} device {idx} does not exist{have} — {HINT_DEVICES}")
        info = dict(devices[idx])
        if info[channels_key] < 1:
            raise HardwareError(f"device {idx} ({info['name']}) has no {kind}s — pick a {role} from "
                                f"`starcoach devices` with {flag}")
        return idx, info
    try:
        with stderr_quietened():
            info = dict(sd.query_devices(device, kind))
    except (ValueError, sd.PortAudioError) as exc:
        reason = first_line(exc)
        if "multiple" in reason.lower():
            raise HardwareError(f"several {kind} devices match {device!r} — use the id from "
                                f"`starcoach devices` with {flag}") from None
        raise HardwareError(f"no {kind} device matches {device!r} — {HINT_DEVICES}") from None
    return int(info["index"]), info


