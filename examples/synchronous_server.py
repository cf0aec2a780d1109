"""
A WebSocket echo server on plain blocking sockets, built on wsspec.

    python examples/synchronous_server.py [PORT]     (listens on 127.0.0.1)

Each connection is served in its own thread: the handshake is accepted,
every message is echoed back whole (fragments are reassembled first), pings
are answered, and a Close from the client is answered before the socket is
closed. Copy `serve_connection` into your own server as a starting point.
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import Callable

from wsspec import ConnectionType, WSConnection
from wsspec.connection import ConnectionState
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Request,
    TextMessage,
)
from wsspec.utilities import RemoteProtocolError

RECEIVE_BYTES = 65536


def short(event: Event, limit: int = 160) -> str:
    """``repr(event)``, cut to ``limit`` characters so big payloads keep logs readable."""
    text = repr(event)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def serve_connection(sock: socket.socket, log: Callable[[str], None] = lambda line: None) -> None:
    """Run one WebSocket echo session on a connected socket, then close it."""
    ws = WSConnection(ConnectionType.SERVER)
    text_parts: list[str] = []
    binary_parts: list[bytes] = []
    state = ws.state

    def send(event: Event) -> None:
        nonlocal state
        sock.sendall(ws.send(event))
        log(f"sent     {short(event)}")
        if ws.state is not state:
            log(f"state    {state.name} -> {ws.state.name}")
            state = ws.state

    try:
        while ws.state is not ConnectionState.CLOSED:
            data = sock.recv(RECEIVE_BYTES)
            try:
                ws.receive_data(data or None)
            except RemoteProtocolError as exc:
                log(f"bad handshake: {exc}")
                if exc.event_hint is not None:
                    send(exc.event_hint)
                return
            for event in ws.events():
                log(f"received {short(event)}")
                if ws.state is not state:
                    log(f"state    {state.name} -> {ws.state.name}")
                    state = ws.state
                if isinstance(event, Request):
                    send(AcceptConnection(subprotocol=event.subprotocols[0] if event.subprotocols else None))
                elif isinstance(event, TextMessage):
                    text_parts.append(event.data)
                    if event.message_finished:
                        send(TextMessage("".join(text_parts)))
                        text_parts.clear()
                elif isinstance(event, BytesMessage):
                    binary_parts.append(bytes(event.data))
                    if event.message_finished:
                        send(BytesMessage(b"".join(binary_parts)))
                        binary_parts.clear()
                elif isinstance(event, Ping):
                    send(event.response())
                elif isinstance(event, CloseConnection):
                    if ws.state is ConnectionState.REMOTE_CLOSING:
                        send(event.response())
            if not data:
                return
    finally:
        sock.close()


def serve(port: int, log: Callable[[str], None] = print, ready: threading.Event | None = None,
          max_connections: int | None = None) -> None:
    """Accept connections on 127.0.0.1:``port`` and serve each in a thread."""
    with socket.create_server(("127.0.0.1", port)) as server:
        log(f"listening on ws://127.0.0.1:{server.getsockname()[1]}/")
        if ready is not None:
            ready.port = server.getsockname()[1]  # type: ignore[attr-defined]
            ready.set()
        served = 0
        while max_connections is None or served < max_connections:
            sock, _ = server.accept()
            served += 1
            thread = threading.Thread(target=serve_connection, args=(sock, log), daemon=True)
            thread.start()
            if max_connections is not None and served == max_connections:
                thread.join()


if __name__ == "__main__":
    try:
        serve(int(sys.argv[1]) if len(sys.argv) > 1 else 8765)
    except KeyboardInterrupt:
        pass
