"""
The examples run as a user would run them: the quick start's session demo
(wsspec client and server over 127.0.0.1), and the standalone client
against the standalone server in separate processes.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def test_session_demo_runs_a_whole_session() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / "session_demo.py")], capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for line in [
        "[server] state    CONNECTING -> OPEN",
        "[client] state    CONNECTING -> OPEN",
        "[client] ok       multi-byte UTF-8 text echoed",
        "[client] ok       1024-byte binary message echoed",
        "[client] ok       fragmented message reassembled and echoed",
        "[client] ok       ping answered with the same payload",
        "[client] state    OPEN -> LOCAL_CLOSING",
        "[server] state    OPEN -> REMOTE_CLOSING",
        "[server] state    REMOTE_CLOSING -> CLOSED",
        "[client] state    LOCAL_CLOSING -> CLOSED",
        "diagrams/connection.svg",
    ]:
        assert line in out, line
    assert "[server] received Pong" not in out and "[client] received Pong(payload=b'heartbeat')" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_synchronous_client_against_synchronous_server() -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(EXAMPLES / "synchronous_server.py"), str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        client = subprocess.run([sys.executable, str(EXAMPLES / "synchronous_client.py"), str(port)],
                                capture_output=True, text=True, timeout=30)
        assert client.returncode == 0, client.stdout + client.stderr
        assert "echo: Hello, WebSocket!" in client.stdout
        assert "received Pong(payload=b'are you there?')" in client.stdout
        assert "state    LOCAL_CLOSING -> CLOSED" in client.stdout
    finally:
        server.terminate()
        server.wait(10)
