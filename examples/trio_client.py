"""
A WebSocket client on trio, built on wsspec.

    python examples/trio_client.py [PORT]     (connects to 127.0.0.1, default 8765)

It opens a connection offering the subprotocol ``echo.v1``, sends a text
message and a fragmented binary message and waits for their echoes, pings
and waits for the pong, then runs the closing handshake and waits for the
server to close TCP, and exits. Run it against examples/trio_server.py.
Copy :class:`Client` into your own trio program as a starting point.
"""

from __future__ import annotations

import sys
from collections import deque

import trio

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

#: Bytes asked of the stream per read.
RECEIVE_BYTES = 65536
#: Seconds the whole session may take.
SESSION_TIMEOUT = 30


class Client:
    """A WebSocket client on a trio stream: send events, wait for events."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.pending: deque[Event] = deque()

    async def send(self, event: Event) -> None:
        """Serialise ``event`` and write it to the stream."""
        await self.stream.send_all(self.ws.send(event))
        print(f"[client] sent     {event!r:.100}", flush=True)

    async def next_event(self) -> Event:
        """The next event, reading from the stream as needed; Pings are answered on the way."""
        while True:
            while not self.pending:
                data = await self.stream.receive_some(RECEIVE_BYTES)
                self.ws.receive_data(data or None)  # None: the server closed TCP
                self.pending.extend(self.ws.events())
            event = self.pending.popleft()
            print(f"[client] received {event!r:.100}", flush=True)
            if isinstance(event, Ping):
                await self.send(event.response())
                continue
            return event

    async def receive_message(self) -> str | bytes:
        """The next whole message (fragments joined): ``str`` for text, ``bytes`` for binary."""
        parts: list = []
        while True:
            event = await self.next_event()
            if not isinstance(event, (TextMessage, BytesMessage)):
                raise ConnectionError(f"expected a message, got {event!r}")
            parts.append(event.data)
            if event.message_finished:
                return "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)


async def run(port: int) -> None:
    with trio.fail_after(SESSION_TIMEOUT):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            client = Client(stream)
            await client.send(Request(host=f"127.0.0.1:{port}", target="/trio", subprotocols=["echo.v1"]))
            answer = await client.next_event()
            if isinstance(answer, RejectConnection):
                raise ConnectionError(f"the server rejected the upgrade with HTTP {answer.status_code}")
            assert isinstance(answer, AcceptConnection), answer
            print(f"[client] ok       open, subprotocol {answer.subprotocol!r}", flush=True)

            await client.send(TextMessage("Hello from trio!"))
            print(f"[client] ok       echo: {await client.receive_message()!r}", flush=True)

            await client.send(BytesMessage(b"\x00\x01", message_finished=False))
            await client.send(BytesMessage(b"\x02\x03"))  # message_finished=True: the last fragment
            print(f"[client] ok       fragmented echo: {await client.receive_message()!r}", flush=True)

            await client.send(Ping(b"trio ping"))
            pong = await client.next_event()
            assert pong == Pong(b"trio ping"), pong
            print("[client] ok       ping answered", flush=True)

            await client.send(CloseConnection(code=1000, reason="bye"))
            close = await client.next_event()
            assert isinstance(close, CloseConnection), close
            assert client.ws.state is ConnectionState.CLOSED
            # RFC 6455 §7.1.1: the server closes TCP first; wait for it.
            assert await stream.receive_some(RECEIVE_BYTES) == b""
            print(f"[client] ok       closed: {close.code} {close.reason!r}", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    trio.run(run, int(args[0]) if args else 8765)


if __name__ == "__main__":
    main()
