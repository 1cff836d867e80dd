"""Headless Chromium driven through the DevTools protocol over a pipe: no extra library, no network port.

``Browser()`` starts Chromium with ``--remote-debugging-pipe`` (the protocol's
JSON messages, each ended by a NUL byte, on file descriptors 3 and 4) and
opens one page; ``page.go(url)``, ``page.js(expression)`` (awaits promises,
returns the value), ``page.screenshot()`` and the browser's download folder
are what the tests need.  One browser serves a whole test: starting Chromium
is the slow part.  Audio plays muted, without a user gesture
(``--autoplay-policy=no-user-gesture-required``), so playback can be checked.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class CdpError(RuntimeError):
    pass


class Browser:
    def __init__(self, profile: Path, downloads: Path, timeout_s: float = 60.0):
        if CHROMIUM is None:
            raise FileNotFoundError("chromium")
        self.timeout_s = timeout_s
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def pipes_at_3_and_4() -> None:
            # Move both ends out of the way first, so neither dup2 overwrites the other.
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio",
             "--autoplay-policy=no-user-gesture-required", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=pipes_at_3_and_4, pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        downloads.mkdir(parents=True, exist_ok=True)
        self.downloads = downloads
        self.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads),
                  eventsEnabled=True)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=self.session)
        self.call("Runtime.enable", session=self.session)

    # ----- the protocol

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise CdpError("no answer from Chromium in time")
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                raise CdpError(f"Chromium closed the pipe (exit status {self.proc.poll()})")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, session: Optional[str] = None, **params) -> dict:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout_s
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout_s: float = 30.0, **match) -> dict:
        """The first event ``method`` (seen already or to come) whose params include ``match``."""
        deadline = time.monotonic() + timeout_s
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method and all(ev["params"].get(k) == v for k, v in match.items()):
                    return self.events.pop(i)["params"]
            self.events.append(self._read_message(deadline))

    # ----- the page

    def go(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", session=self.session, url=url)
        self.wait_event("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", session=self.session, expression=expression, awaitPromise=True,
                      returnByValue=True)
        if "exceptionDetails" in r:
            raise CdpError(f"{expression[:60]}...: {r['exceptionDetails'].get('exception', {}).get('description')}")
        return r["result"].get("value")

    def screenshot(self, width: int, height: int) -> bytes:
        self.call("Emulation.setDeviceMetricsOverride", session=self.session, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        return base64.b64decode(self.call("Page.captureScreenshot", session=self.session, format="png")["data"])

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (CdpError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
