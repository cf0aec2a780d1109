"""
A WebSocket echo server on trio, built on wsspec.

    python examples/trio_server.py [--port 8765] [--connections 1]

It listens on 127.0.0.1, serves ``--connections`` clients (each in its own
task) and then exits. For each connection it accepts the opening handshake
(choosing the first subprotocol the client offers), echoes every message
whole once its last fragment has arrived, answers every Ping, answers the
client's Close and closes the TCP connection (RFC 6455 §7.1.1: the server
closes TCP first). Run examples/trio_client.py against it. Copy
:func:`serve_connection` into your own trio program as a starting point.
"""

from __future__ import annotations

import argparse

import trio

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

#: Bytes asked of the stream per read.
RECEIVE_BYTES = 65536
#: Seconds a peer may stay silent before the server gives up on it.
IDLE_TIMEOUT = 30


async def serve_connection(stream: trio.SocketStream, name: str = "server") -> None:
    """Run one WebSocket echo session on a connected stream, then close it."""
    ws = WSConnection(ConnectionType.SERVER)
    parts: list = []

    async def send(event: Event) -> None:
        # wsspec turns the event into bytes; writing them is our job.
        await stream.send_all(ws.send(event))
        print(f"[{name}] sent     {event!r:.100}", flush=True)

    async with stream:
        while ws.state is not ConnectionState.CLOSED:
            with trio.move_on_after(IDLE_TIMEOUT) as idle:
                data = await stream.receive_some(RECEIVE_BYTES)
            if idle.cancelled_caught:
                print(f"[{name}] peer silent for {IDLE_TIMEOUT} s, closing", flush=True)
                return
            try:
                ws.receive_data(data or None)  # None: the peer closed TCP
            except RemoteProtocolError as exc:  # an invalid opening handshake
                print(f"[{name}] bad handshake: {exc}", flush=True)
                if exc.event_hint is not None:
                    await send(exc.event_hint)  # e.g. RejectConnection(status_code=400)
                return
            for event in ws.events():
                print(f"[{name}] received {event!r:.100}", flush=True)
                if isinstance(event, Request):
                    await send(AcceptConnection(subprotocol=event.subprotocols[0] if event.subprotocols else None))
                elif isinstance(event, (TextMessage, BytesMessage)):
                    parts.append(event.data)
                    if event.message_finished:
                        if isinstance(event, TextMessage):
                            await send(TextMessage("".join(parts)))
                        else:
                            await send(BytesMessage(b"".join(parts)))
                        parts.clear()
                elif isinstance(event, Ping):
                    await send(event.response())  # the Pong we owe
                elif isinstance(event, CloseConnection):
                    if ws.state is ConnectionState.REMOTE_CLOSING:
                        await send(event.response())  # the Close we owe
                    return  # leaving `async with stream` closes TCP
            if not data:
                return


async def serve(port: int, connections: int) -> None:
    """Serve ``connections`` clients on 127.0.0.1:``port`` (0: any free port), then return."""
    listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
    listener = listeners[0]
    print(f"[server] listening on ws://127.0.0.1:{listener.socket.getsockname()[1]}/", flush=True)
    async with listener, trio.open_nursery() as nursery:
        for number in range(connections):
            stream = await listener.accept()
            nursery.start_soon(serve_connection, stream, f"server {number}" if connections > 1 else "server")
    print("[server] done", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--connections", type=int, default=1, help="connections to serve before exiting")
    args = parser.parse_args(argv)
    trio.run(serve, args.port, args.connections)


if __name__ == "__main__":
    main()
