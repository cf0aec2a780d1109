"""
The server's Origin allow-list (``origins=``, RFC 6455 §10.2) against a real
browser: headless Chromium loads one small page from a local HTTP server
twice, as ``http://127.0.0.1:PORT/`` (the allowed origin) and as
``http://localhost:PORT/`` (another origin, same page, same server). The
page opens ``ws://127.0.0.1:WSPORT/`` to an echo server built on wsspec's
``WSConnection`` with ``origins=["http://127.0.0.1:PORT"]`` and reports what
happened. The server records, for every connection, the ``Origin`` the
browser sent (read from the raw request bytes, not from wsspec) and the
status line and body it wrote.

Expected: from 127.0.0.1 the echo arrives and the server answered 101; from
localhost the browser's WebSocket fails (error, then close code 1006, never
open) and the server answered 403 with its short text body, which a plain
client (the ``websockets`` library) also reads.

Chromium is driven over the DevTools protocol (tests/cdp.py); everything
listens on 127.0.0.1 only and is stopped in ``finally``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest

from tests.cdp import CHROMIUM, chromium
from wsspec import ConnectionType, WSConnection
from wsspec.connection import ConnectionState
from wsspec.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage
from wsspec.utilities import RemoteProtocolError

HOST = "127.0.0.1"

#: The page: opens the WebSocket, sends one message, and writes the outcome into ``#outcome`` and
#: ``window.outcome``; ``window.finished`` resolves when the socket has closed. WS_PORT is filled in.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>origin check</title></head>
<body><pre id="outcome">pending</pre>
<script>
window.outcome = {origin: location.origin, events: [], echo: null, closeCode: null, wasClean: null};
window.finished = new Promise(resolve => {
  const ws = new WebSocket("ws://127.0.0.1:WS_PORT/");
  ws.onopen = () => { outcome.events.push("open"); ws.send("hello from " + location.origin); };
  ws.onmessage = event => { outcome.events.push("message"); outcome.echo = event.data; ws.close(1000, "done"); };
  ws.onerror = () => { outcome.events.push("error"); };
  ws.onclose = event => {
    outcome.events.push("close");
    outcome.closeCode = event.code;
    outcome.wasClean = event.wasClean;
    document.getElementById("outcome").textContent = JSON.stringify(outcome);
    resolve();
  };
});
</script></body></html>
"""

#: Waits (bounded) for the page's socket to close; returns the DOM's report and the JS variable's.
PROBE = """
(async () => {
  const closed = await Promise.race([window.finished.then(() => true),
                                     new Promise(resolve => setTimeout(() => resolve(false), 8000))]);
  return JSON.stringify({closed, dom: document.getElementById("outcome").textContent, variable: window.outcome});
})()
"""


@dataclass
class Attempt:
    """One connection to the WebSocket server, as the server saw and answered it."""

    origins: list[str] = field(default_factory=list)  # every Origin header of the request, raw
    status: int | None = None  # from the status line the server wrote
    body: bytes = b""  # what followed the response head, for a refusal
    messages: list[str] = field(default_factory=list)  # text messages echoed
    error: str | None = None  # the RemoteProtocolError, for a refusal


def _request_origins(head: bytes) -> list[str]:
    """The Origin header values of a raw request head (independently of wsspec's parser)."""
    lines = head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    return [line.split(b":", 1)[1].strip().decode("latin-1") for line in lines
            if b":" in line and line.split(b":", 1)[0].strip().lower() == b"origin"]


class OriginEchoServer:
    """A threaded WebSocket echo server on 127.0.0.1 using ``WSConnection(SERVER, origins=...)``."""

    def __init__(self, origins: list[str | None]) -> None:
        self.allowed = origins
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> OriginEchoServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._acceptor.join(10)
        self._listener.close()
        for thread in self._threads:
            thread.join(10)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            attempt = Attempt()
            with self._lock:
                self.attempts.append(attempt)
            thread = threading.Thread(target=self._serve, args=(sock, attempt), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, attempt: Attempt) -> None:
        ws = WSConnection(ConnectionType.SERVER, origins=self.allowed)
        sock.settimeout(10)
        head = b""

        def answer(event: object) -> None:
            wire = ws.send(event)  # type: ignore[arg-type]
            if attempt.status is None:  # the handshake's answer: keep its status and body
                status_head, _, attempt.body = wire.partition(b"\r\n\r\n")
                attempt.status = int(status_head.split(b" ", 2)[1])
            sock.sendall(wire)

        try:
            deadline = time.monotonic() + 10
            while ws.state is not ConnectionState.CLOSED and time.monotonic() < deadline:
                data = sock.recv(65536)
                if ws.state is ConnectionState.CONNECTING and b"\r\n\r\n" not in head:
                    head += data
                    if b"\r\n\r\n" in head:
                        attempt.origins = _request_origins(head)
                try:
                    ws.receive_data(data or None)
                except RemoteProtocolError as error:
                    attempt.error = str(error)
                    if error.event_hint is not None:
                        answer(error.event_hint)
                    return
                for event in ws.events():
                    if isinstance(event, Request):
                        answer(AcceptConnection())
                    elif isinstance(event, TextMessage):
                        assert event.message_finished  # the page sends one short message
                        attempt.messages.append(event.data)
                        answer(TextMessage(event.data))
                    elif isinstance(event, Ping):
                        answer(event.response())
                    elif isinstance(event, CloseConnection) and ws.state is ConnectionState.REMOTE_CLOSING:
                        answer(event.response())
                if not data:
                    return
        except OSError as error:
            attempt.error = attempt.error or f"socket: {error!r}"
        finally:
            sock.close()


class _PageHandler(http.server.BaseHTTPRequestHandler):
    def __init__(self, *args, page: bytes, **kwargs) -> None:
        self.page = page
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        if self.path != "/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


def _load(devtools, session: str, url: str) -> dict:
    """Navigate to ``url``, wait for its WebSocket to close, return the page's report and console lines."""
    devtools.events.clear()
    navigated = devtools.call("Page.navigate", session, url=url)
    assert "errorText" not in navigated, (url, navigated)
    devtools.wait_for("Page.loadEventFired", session, timeout=10)
    probe = devtools.call("Runtime.evaluate", session, expression=PROBE, awaitPromise=True, returnByValue=True,
                          timeout=12)
    assert "exceptionDetails" not in probe, (url, probe)
    report = json.loads(probe["result"]["value"])
    devtools.drain(0.2)  # late console messages
    report["console"] = [event["params"]["entry"]["text"] for event in devtools.events
                         if event.get("sessionId") == session and event.get("method") == "Log.entryAdded"]
    report["handshakes"] = [event["params"]["response"]["status"] for event in devtools.events
                            if event.get("sessionId") == session
                            and event.get("method") == "Network.webSocketHandshakeResponseReceived"]
    return report


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="Chromium is not installed "
                    "(`apt-get install chromium`; .ci/setup does)")
def test_origin_allow_list_in_chromium() -> None:
    assert CHROMIUM, "Chromium is not installed; .ci/setup installs Debian's `chromium`"
    started = time.monotonic()
    # The page server first: its port is part of the allowed origin.
    http_server = http.server.ThreadingHTTPServer((HOST, 0), functools.partial(_PageHandler, page=b""))
    page_port = http_server.server_address[1]
    allowed, other = f"http://127.0.0.1:{page_port}", f"http://localhost:{page_port}"
    http_thread = None
    try:
        with OriginEchoServer(origins=[allowed]) as ws_server:
            page = PAGE.replace("WS_PORT", str(ws_server.port)).encode()
            http_server.RequestHandlerClass = functools.partial(_PageHandler, page=page)
            http_thread = threading.Thread(target=http_server.serve_forever, daemon=True)
            http_thread.start()

            with chromium() as devtools:
                session = devtools.open_page(("Page", "Runtime", "Log", "Network"))
                from_allowed = _load(devtools, session, allowed + "/")
                from_other = _load(devtools, session, other + "/")

            # A plain client reads the same refusal, body included.
            from websockets.exceptions import InvalidStatus
            from websockets.sync.client import connect

            with pytest.raises(InvalidStatus) as refused:
                with connect(f"ws://127.0.0.1:{ws_server.port}/", origin=other, open_timeout=5):
                    pass
        attempts = ws_server.attempts  # complete: leaving the block joined every connection's thread
    finally:
        if http_thread is not None:
            http_server.shutdown()
            http_thread.join(10)
        http_server.server_close()
    elapsed = time.monotonic() - started

    body = f"Forbidden: Origin '{other}' is not allowed to open a WebSocket here.\n".encode()
    summary = [f"{name}: {json.dumps(report)}" for name, report in (("127.0.0.1", from_allowed),
                                                                    ("localhost", from_other))]
    summary += [f"server: {attempt}" for attempt in attempts] + [f"elapsed: {elapsed:.1f} s"]
    print("\n".join(summary))
    context = "\n".join(summary)

    # The allowed origin: opened, echoed, closed cleanly; the DOM and the variable agree.
    assert from_allowed["closed"], context
    assert from_allowed["variable"]["origin"] == allowed
    assert from_allowed["variable"]["events"] == ["open", "message", "close"], context
    assert from_allowed["variable"]["echo"] == f"hello from {allowed}", context
    assert from_allowed["variable"]["closeCode"] == 1000 and from_allowed["variable"]["wasClean"], context
    assert json.loads(from_allowed["dom"]) == from_allowed["variable"], context
    assert from_allowed["handshakes"] == [101], context

    # Another origin: the browser's WebSocket never opens, it errors and closes with 1006.
    assert from_other["closed"], context
    assert from_other["variable"]["origin"] == other
    assert from_other["variable"]["events"] == ["error", "close"], context
    assert from_other["variable"]["echo"] is None, context
    assert from_other["variable"]["closeCode"] == 1006 and not from_other["variable"]["wasClean"], context
    assert json.loads(from_other["dom"]) == from_other["variable"], context
    assert from_other["handshakes"] in ([], [403]), context
    assert any("403" in line for line in from_other["console"]), context  # Chromium names the status

    # The server's side: exactly three connections, in order.
    assert len(attempts) == 3, context
    browser_ok, browser_refused, plain_refused = attempts
    assert browser_ok.origins == [allowed] and browser_ok.status == 101, context
    assert browser_ok.messages == [f"hello from {allowed}"] and browser_ok.error is None, context
    assert browser_refused.origins == [other] and browser_refused.status == 403, context
    assert browser_refused.body == body and browser_refused.messages == [], context
    assert browser_refused.error.startswith(f"Origin '{other}' is not allowed"), context
    assert plain_refused.origins == [other] and plain_refused.status == 403 and plain_refused.body == body, context

    # ... and the plain client read that 403 and its body.
    response = refused.value.response
    assert response.status_code == 403 and response.body == body, context
    assert response.headers["Content-Type"].startswith("text/plain"), context
