"""
The examples run as a user would run them: the quick start's session demo
(wsspec client and server over 127.0.0.1), the standalone client against
the standalone server in separate processes, and the asyncio echo server
and echo client (those of the Autobahn|Testsuite run) against wsspec peers,
and the trio client against the trio server.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import pytest

from wsspec import ConnectionType, WSConnection
from wsspec.connection import ConnectionState
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsspec.extensions import PerMessageDeflate

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
        "diagrams/fragmentation.svg",
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


# ---------------------------------------------------------------------------
# examples/echo_server.py and examples/echo_client.py (the programs the
# Autobahn|Testsuite run, tests/compliance/run, puts through every case)
# ---------------------------------------------------------------------------

# A masked frame header as a client sends it, with an all-zero masking key
# (so the payload goes on the wire as it is): FIN/opcode byte, length byte.
_ZERO_KEY = b"\x00\x00\x00\x00"


def _client_frame(byte0: int, payload: bytes) -> bytes:
    assert len(payload) <= 125
    return bytes((byte0, 0x80 | len(payload))) + _ZERO_KEY + payload


def _load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _EchoServer:
    """examples/echo_server.py in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, str(EXAMPLES / "echo_server.py"), "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
        assert match, line + self.process.stdout.read()
        self.port = int(match.group(1))

    def __enter__(self) -> _EchoServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        self.process.wait(10)


class _Peer:
    """A blocking wsspec client or server on a socket, collecting events one by one."""

    def __init__(self, sock: socket.socket, connection_type: ConnectionType) -> None:
        self.sock = sock
        self.ws = WSConnection(connection_type)
        self.pending: deque = deque()

    @classmethod
    def connect(cls, port: int, extensions: list | None = None) -> tuple[_Peer, AcceptConnection]:
        peer = cls(socket.create_connection(("127.0.0.1", port), timeout=10), ConnectionType.CLIENT)
        peer.send(Request(host=f"127.0.0.1:{port}", target="/", extensions=extensions or []))
        accept = peer.next_event()
        assert isinstance(accept, AcceptConnection), accept
        return peer, accept

    def send(self, event) -> None:
        self.sock.sendall(self.ws.send(event))

    def next_event(self):
        while not self.pending:
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)
            self.pending.extend(self.ws.events())
        return self.pending.popleft()

    def next_message(self):
        """The next whole message (joined), as (kind, data)."""
        parts = []
        while True:
            event = self.next_event()
            assert isinstance(event, (TextMessage, BytesMessage)), event
            parts.append(event.data)
            if event.message_finished:
                joined = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                return type(event), joined

    def at_eof(self) -> bool:
        """Whether the peer ended TCP (after whatever it still had to send)."""
        return self.sock.recv(65536) == b""


def test_echo_server_echoes_answers_pings_and_closes() -> None:
    with _EchoServer() as server:
        peer, accept = _Peer.connect(server.port, [PerMessageDeflate()])
        assert [ext.name for ext in accept.extensions] == ["permessage-deflate"]
        peer.send(TextMessage("Grüße, κόσμε 🌍"))
        assert peer.next_message() == (TextMessage, "Grüße, κόσμε 🌍")
        payload = bytes(range(256)) * 1000
        peer.send(BytesMessage(payload))
        assert peer.next_message() == (BytesMessage, payload)
        # A Ping in the middle of a fragmented message is answered at once,
        # and the message is echoed whole once its last fragment arrives.
        peer.send(TextMessage("frag", message_finished=False))
        peer.send(Ping(b"in between"))
        assert peer.next_event() == Pong(b"in between")
        peer.send(TextMessage("mented"))
        assert peer.next_message() == (TextMessage, "fragmented")
        peer.send(CloseConnection(code=1000, reason="bye"))
        close = peer.next_event()
        assert isinstance(close, CloseConnection) and (close.code, close.reason) == (1000, "bye")
        assert peer.ws.state is ConnectionState.CLOSED
        assert peer.at_eof()  # the server closes TCP first (RFC 6455 §7.1.1)


def test_echo_server_serves_connections_concurrently() -> None:
    with _EchoServer() as server:
        peers = [_Peer.connect(server.port)[0] for _ in range(3)]  # all open at once
        for number, peer in reversed(list(enumerate(peers))):
            peer.send(BytesMessage(bytes([number]) * 10))
        for number, peer in enumerate(peers):
            assert peer.next_message() == (BytesMessage, bytes([number]) * 10)
            peer.send(CloseConnection(code=1000))
            assert isinstance(peer.next_event(), CloseConnection)


def test_echo_server_fails_fast_on_invalid_utf8() -> None:
    with _EchoServer() as server:
        peer, _ = _Peer.connect(server.port)
        # A text message whose first fragment is valid and whose second is
        # not: the server must fail at the second, echoing nothing.
        peer.sock.sendall(_client_frame(0x01, b"valid") + _client_frame(0x80, b"\xff\xfe"))
        close = peer.next_event()
        assert isinstance(close, CloseConnection) and close.code == 1007, close
        assert peer.ws.state is ConnectionState.REMOTE_CLOSING
        assert peer.at_eof()


def test_echo_server_fails_fast_on_a_reserved_opcode() -> None:
    with _EchoServer() as server:
        peer, _ = _Peer.connect(server.port)
        peer.sock.sendall(_client_frame(0x81, b"first") + _client_frame(0x83, b"") + _client_frame(0x89, b"late"))
        assert peer.next_message() == (TextMessage, "first")
        close = peer.next_event()
        assert isinstance(close, CloseConnection) and close.code == 1002, close
        assert peer.at_eof()  # the ping after the bad frame is never answered


def test_echo_server_refuses_messages_over_its_limit() -> None:
    with _EchoServer("--max-message-size", "1000") as server:
        peer, _ = _Peer.connect(server.port)
        peer.send(BytesMessage(b"x" * 1000))
        assert peer.next_message() == (BytesMessage, b"x" * 1000)
        peer.send(BytesMessage(b"x" * 600, message_finished=False))
        peer.send(BytesMessage(b"x" * 600))
        close = peer.next_event()
        assert isinstance(close, CloseConnection) and close.code == 1009, close
        peer.send(close.response())
        assert peer.at_eof()
        # Compressed: stopped while inflating (by PerMessageDeflate.max_message_size).
        peer, _ = _Peer.connect(server.port, [PerMessageDeflate()])
        peer.send(BytesMessage(bytes(100_000)))
        close = peer.next_event()
        assert isinstance(close, CloseConnection) and close.code == 1009, close


def _serve_once(handler) -> tuple[int, threading.Thread, list]:
    """A one-connection wsspec server in a thread; ``handler(peer)`` runs once it is open."""
    listener = socket.create_server(("127.0.0.1", 0))
    errors: list = []

    def run() -> None:
        try:
            sock, _ = listener.accept()
            sock.settimeout(10)
            peer = _Peer(sock, ConnectionType.SERVER)
            request = peer.next_event()
            assert isinstance(request, Request)
            peer.send(AcceptConnection(extensions=[PerMessageDeflate()]))
            handler(peer)
            sock.close()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, errors


def test_echo_client_echoes_until_the_server_closes() -> None:
    echo_client = _load_example("echo_client")

    def handler(peer: _Peer) -> None:
        peer.send(TextMessage("hello"))
        assert peer.next_message() == (TextMessage, "hello")
        peer.send(BytesMessage(b"\x01\x02", message_finished=False))
        peer.send(Ping(b"ping"))
        assert peer.next_event() == Pong(b"ping")
        peer.send(BytesMessage(b"\x03"))
        assert peer.next_message() == (BytesMessage, b"\x01\x02\x03")
        peer.send(CloseConnection(code=1000, reason="done"))
        close = peer.next_event()
        assert isinstance(close, CloseConnection) and close.code == 1000
        # The client leaves it to the server to end TCP (RFC 6455 §7.1.1).
        peer.sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            peer.sock.recv(10)

    port, thread, errors = _serve_once(handler)
    received: list = []
    closed = asyncio.run(echo_client.echo("127.0.0.1", port, "/", on_message=received.append))
    thread.join(10)
    assert not errors, errors
    assert received == ["hello", b"\x01\x02\x03"]
    assert (closed.code, closed.reason) == (1000, "done")


def test_echo_client_fails_fast_on_invalid_utf8() -> None:
    echo_client = _load_example("echo_client")

    def handler(peer: _Peer) -> None:
        # Unmasked, uncompressed text frames from the server: valid, then not.
        peer.sock.sendall(b"\x01\x05valid" + b"\x80\x02\xff\xfe")
        close = peer.next_event()
        assert isinstance(close, CloseConnection) and close.code == 1007, close
        peer.send(close.response())

    port, thread, errors = _serve_once(handler)
    received: list = []
    closed = asyncio.run(echo_client.echo("127.0.0.1", port, on_message=received.append))
    thread.join(10)
    assert not errors, errors
    assert received == []
    assert closed.code == 1007


# ---------------------------------------------------------------------------
# examples/trio_server.py and examples/trio_client.py (shown in the docs'
# trio guide): the client against the server, each in its own process, over
# 127.0.0.1; both must exit by themselves.
# ---------------------------------------------------------------------------


def test_trio_client_against_trio_server() -> None:
    server = subprocess.Popen([sys.executable, str(EXAMPLES / "trio_server.py"), "--port", "0", "--connections", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = server.stdout.readline()
        match = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        client = subprocess.run([sys.executable, str(EXAMPLES / "trio_client.py"), match.group(1)],
                                capture_output=True, text=True, timeout=60)
        assert client.returncode == 0, client.stdout + client.stderr
        for expected in ("[client] ok       open, subprotocol 'echo.v1'",
                         "[client] ok       echo: 'Hello from trio!'",
                         "[client] ok       fragmented echo: b'\\x00\\x01\\x02\\x03'",
                         "[client] ok       ping answered",
                         "[client] ok       closed: 1000 'bye'"):
            assert expected in client.stdout, (expected, client.stdout)
        # The server served its one connection and exits on its own.
        assert server.wait(30) == 0
        out = server.stdout.read()
        assert "[server] sent     Pong(payload=b'trio ping')" in out, out
        assert out.rstrip().endswith("[server] done"), out
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(10)
        server.stdout.close()
