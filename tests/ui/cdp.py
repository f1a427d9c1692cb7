"""A minimal Chrome DevTools Protocol client: headless Chromium driven over its websocket, no driver.

Only what the UI test needs: open a page, evaluate JavaScript (also inside a same-origin iframe), wait for
a condition, take a screenshot. Uses ``websockets`` (installed with Airflow's API server) synchronously.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--no-default-browser-check", "--mute-audio", "--hide-scrollbars"]


class CDPError(RuntimeError):
    pass


class Browser:
    """``with Browser(profile_dir) as b: b.goto(url); b.eval("document.title")``."""

    def __init__(self, profile: Path, *, width: int = 1440, height: int = 1000, log: Path | None = None):
        self.profile, self.width, self.height = Path(profile), width, height
        self.log = log or self.profile.with_suffix(".log")
        self.proc: subprocess.Popen | None = None
        self.ws = None
        self.session: str | None = None
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> Browser:
        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-address=127.0.0.1",
                 "--remote-debugging-port=0", f"--window-size={self.width},{self.height}", "about:blank"],
                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise CDPError(f"Chromium did not start its DevTools endpoint; see {self.log}")
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        from websockets.sync.client import connect

        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=64 * 1024 * 1024, open_timeout=30)
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.call("Browser.close", session=False, timeout=5)
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001
                pass
            self.ws = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the browser's own process group only
                self.proc.wait(timeout=10)
            self.proc = None
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol ----------------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True,
             timeout: float = 30) -> dict[str, Any]:
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError(f"{method}: no answer in {timeout:.0f} s")
            reply = json.loads(self.ws.recv(timeout=left))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
                del self.events[:-200]

    def eval(self, expression: str, *, timeout: float = 30) -> Any:
        """The JSON value of ``expression`` in the page (awaited if it is a promise)."""
        res = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                        timeout=timeout)
        if "exceptionDetails" in res:
            raise CDPError(f"JavaScript error: {res['exceptionDetails'].get('exception', {}).get('description')}")
        return res.get("result", {}).get("value")

    def goto(self, url: str) -> None:
        res = self.call("Page.navigate", {"url": url})
        if res.get("errorText"):
            raise CDPError(f"navigating to {url}: {res['errorText']}")

    def wait_for(self, expression: str, *, timeout: float = 60, what: str = "") -> Any:
        """Poll ``expression`` until it is truthy (in JavaScript: write ``!!(…)`` for DOM nodes, which come back
        as ``{}``); return its value."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.eval(expression)
            except CDPError as exc:
                last = str(exc)
            else:
                if last:
                    return last
            time.sleep(0.25)
        raise CDPError(f"timed out after {timeout:.0f} s waiting for {what or expression} (last value: {last!r})")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
