"""
A WebSocket client on a plain blocking socket, built on wsspec.

    python examples/synchronous_client.py [PORT]     (connects to 127.0.0.1)

It opens a connection, sends a text message and waits for the echo, sends a
ping and waits for the pong, then closes cleanly. Run it against
examples/synchronous_server.py. Copy `Client` into your own code as a
starting point.
"""

from __future__ import annotations

import socket
import sys
from typing import Callable

from wsspec import ConnectionType, WSConnection
from wsspec.connection import ConnectionState
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

RECEIVE_BYTES = 65536


def short(event: Event, limit: int = 160) -> str:
    """``repr(event)``, cut to ``limit`` characters so big payloads keep logs readable."""
    text = repr(event)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class Client:
    """A blocking WebSocket client: connect, send events, wait for events."""

    def __init__(self, host: str, port: int, target: str = "/", log: Callable[[str], None] = lambda line: None):
        self.log = log
        self.sock = socket.create_connection((host, port))
        self.ws = WSConnection(ConnectionType.CLIENT)
        self._state = self.ws.state
        self.send(Request(host=f"{host}:{port}", target=target))
        event = self.wait_for(AcceptConnection, RejectConnection)
        if isinstance(event, RejectConnection):
            raise ConnectionError(f"server rejected the upgrade with HTTP {event.status_code}")

    def _note_state(self) -> None:
        if self.ws.state is not self._state:
            self.log(f"state    {self._state.name} -> {self.ws.state.name}")
            self._state = self.ws.state

    def send(self, event: Event) -> None:
        """Serialise ``event`` and write it to the socket."""
        self.sock.sendall(self.ws.send(event))
        self.log(f"sent     {short(event)}")
        self._note_state()

    def wait_for(self, *kinds: type) -> Event:
        """Read until an event of one of ``kinds`` arrives; answer pings on the way."""
        while True:
            for event in self.ws.events():
                self.log(f"received {short(event)}")
                self._note_state()
                if isinstance(event, Ping) and Ping not in kinds:
                    self.send(event.response())
                if isinstance(event, kinds):
                    return event
                if isinstance(event, CloseConnection):
                    raise ConnectionError(f"connection closed: {event.code} {event.reason}")
            data = self.sock.recv(RECEIVE_BYTES)
            self.ws.receive_data(data or None)

    def receive_message(self) -> str | bytes:
        """The next whole message (fragments joined): ``str`` for text, ``bytes`` for binary."""
        parts: list = []
        while True:
            event = self.wait_for(TextMessage, BytesMessage)
            parts.append(event.data)
            if event.message_finished:
                return "".join(parts) if isinstance(event, TextMessage) else b"".join(map(bytes, parts))

    def close(self, code: int = 1000, reason: str = "") -> CloseConnection:
        """Run the closing handshake (RFC 6455 §7.1.2) and close the socket."""
        self.send(CloseConnection(code=code, reason=reason))
        try:
            while self.ws.state is not ConnectionState.CLOSED:
                for event in self.ws.events():
                    self.log(f"received {short(event)}")
                    self._note_state()
                    if isinstance(event, CloseConnection):
                        return event
                data = self.sock.recv(RECEIVE_BYTES)
                self.ws.receive_data(data or None)
            raise ConnectionError("closed without a Close frame")
        finally:
            self.sock.close()


def main(port: int) -> None:
    client = Client("127.0.0.1", port, log=print)
    client.send(TextMessage("Hello, WebSocket!"))
    print("echo:", client.receive_message())
    client.send(Ping(b"are you there?"))
    client.wait_for(Pong)
    client.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8765)
