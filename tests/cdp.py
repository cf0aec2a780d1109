"""
Headless Chromium driven over the Chrome DevTools protocol, for the tests
that need a real browser (tests/test_docs.py, tests/test_origin_browser.py).

Chromium is Debian's package (``.ci/setup`` installs it); the DevTools
WebSocket is spoken with the ``websockets`` client. Chromium listens on
127.0.0.1 only, gets a fresh profile, and is killed with its whole process
group when the ``chromium()`` context ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: The flags of every run: no sandbox (CI runs as root), no GPU, no traffic of its own.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


class DevTools:
    """A minimal Chrome DevTools protocol client over one WebSocket (the browser target)."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(url, max_size=None, open_timeout=10, ping_interval=None))
        self.next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        self._stack.close()

    def _receive(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer from Chromium in time")
        return json.loads(self.ws.recv(timeout=remaining))

    def call(self, method: str, session: str | None = None, timeout: float = 20, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self.next_id:
                assert "error" not in reply, (method, reply["error"])
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        index = 0
        while True:
            while index < len(self.events):
                event = self.events[index]
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
                index += 1
            self.events.append(self._receive(deadline))

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.events.append(self._receive(deadline))
            except TimeoutError:
                return

    def open_page(self, domains: tuple[str, ...] = ("Page", "Runtime", "Log")) -> str:
        """A new blank tab, attached (flat mode) with ``domains`` enabled; its session id."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in domains:
            self.call(f"{domain}.enable", session)
        return session


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM ``process``'s group (it was started with a new session), SIGKILL if it lingers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@contextlib.contextmanager
def chromium(startup_timeout: float = 30) -> Iterator[DevTools]:
    """Headless Chromium with a fresh profile, DevTools on 127.0.0.1; stopped (process group) on exit."""
    assert CHROMIUM, "Chromium is not installed; .ci/setup installs Debian's `chromium`"
    profile = Path(tempfile.mkdtemp(prefix="wsspec-chromium-"))
    log = tempfile.TemporaryFile()  # Chromium's stderr: a file, so that a chatty browser never blocks on a pipe
    browser = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
    )
    devtools = None
    try:
        # Chromium writes its DevTools port and the browser target's path here.
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + startup_timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if browser.poll() is not None:
                log.seek(0)
                raise AssertionError(f"Chromium exited ({browser.returncode}): {log.read().decode(errors='replace')}")
            assert time.monotonic() < deadline, f"Chromium did not open its DevTools port in {startup_timeout} s"
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        devtools = DevTools(f"ws://127.0.0.1:{port}{path}")
        yield devtools
    finally:
        if devtools is not None:
            devtools.close()
        stop_process_group(browser)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
