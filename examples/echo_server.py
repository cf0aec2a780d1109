"""
A WebSocket echo server on asyncio, built on wsspec, with permessage-deflate.

    python examples/echo_server.py [--host 127.0.0.1] [--port 9002] [--no-deflate]
                                   [--zlib-backend zlib|zlib-ng|isal]

Every connection runs in its own task, so any number of clients can be
served at once. For each connection the server

* accepts the opening handshake, agreeing on permessage-deflate (RFC 7692)
  if the client offers it (``--no-deflate`` declines every offer), with
  wsspec's default settings and the zlib ``--zlib-backend`` names (the
  standard zlib by default; zlib-ng and ISA-L need ``wsspec[zlib-ng]`` /
  ``wsspec[isal]``);
* echoes every message back whole, with its type (text or binary), once its
  last fragment has arrived; a message over ``--max-message-size`` (64 MiB
  by default) is refused by wsspec itself, with a Close of code 1009;
* answers every Ping with a Pong at once, even in the middle of a
  fragmented message;
* answers the client's Close and ends the TCP connection (RFC 6455 §7.1.1:
  the server closes TCP first);
* fails fast when the client breaks the protocol: wsspec reports it as a
  ``CloseConnection`` with the code to send (1002, 1007, ...); the server
  sends that Close and closes the connection, without reading further.

Replies are written as soon as the event that caused them is read: nothing
is held back, so a client sees each echo, Pong or Close as early as the
protocol allows. This is the server that ``tests/compliance/run`` puts
through the Autobahn|Testsuite. Copy :func:`serve_connection` into your own
asyncio program as a starting point.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from wsspec import ConnectionType, WSConnection
from wsspec.connection import ConnectionState
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)
from wsspec.extensions import PerMessageDeflate
from wsspec.utilities import RemoteProtocolError

#: Bytes asked of the socket per read.
RECEIVE_BYTES = 256 * 1024
#: Seconds to wait for the client's answer to our Close, and for it to close
#: its end of TCP after ours.
CLOSE_TIMEOUT = 5.0
#: The largest message echoed, in bytes: 64 MiB (wsspec's default is 16 MiB;
#: Autobahn's largest cases send 16 MiB, plus framing).
MAX_MESSAGE_SIZE = 64 * 1024 * 1024


class MessageAssembler:
    """
    Joins the chunks wsspec delivers (``TextMessage``/``BytesMessage`` events,
    possibly many per message) into whole messages. Their size is bounded by
    the connection's ``max_message_size``: wsspec fails a larger message
    with 1009 before handing over the byte that passes the limit.
    """

    def __init__(self) -> None:
        self._parts: list = []

    def add(self, event: TextMessage | BytesMessage) -> str | bytes | None:
        """
        The whole message (``str`` or ``bytes``) once ``event`` finishes it,
        else ``None``.
        """
        if not event.message_finished:
            self._parts.append(event.data)
            return None
        if not self._parts:
            return event.data  # an unfragmented message: no copy
        self._parts.append(event.data)
        whole = ("" if isinstance(event, TextMessage) else b"").join(self._parts)
        self._parts.clear()
        return whole


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    deflate: bool = True,
    max_message_size: int = MAX_MESSAGE_SIZE,
    zlib_backend: str = "zlib",
) -> None:
    """
    Run one WebSocket echo session on an accepted connection, then close it.

    :param reader: the connection's stream reader (from ``asyncio.start_server``).
    :param writer: its stream writer.
    :param deflate: agree on permessage-deflate when the client offers it.
    :param zlib_backend: its zlib: ``"zlib"``, ``"zlib-ng"`` or ``"isal"``
        (``PerMessageDeflate(zlib_backend=...)``).
    :param max_message_size: the largest message echoed, in bytes (UTF-8
        bytes for text); wsspec refuses a larger one with code 1009
        (MESSAGE_TOO_BIG): by its frame header if that announces too much,
        else at the first byte over, compressed messages while they are
        inflated, before anything larger is allocated.
    """
    ws = WSConnection(ConnectionType.SERVER, max_message_size=max_message_size)
    messages = MessageAssembler()
    try:
        while ws.state is not ConnectionState.CLOSED:
            if ws.state is ConnectionState.LOCAL_CLOSING:
                # We sent a Close: the client has CLOSE_TIMEOUT seconds to answer it.
                data = await asyncio.wait_for(reader.read(RECEIVE_BYTES), CLOSE_TIMEOUT)
            else:
                data = await reader.read(RECEIVE_BYTES)
            try:
                ws.receive_data(data or None)
            except RemoteProtocolError as exc:
                # Not a valid upgrade request: answer with the hinted
                # rejection (HTTP 400) and give up.
                if exc.event_hint is not None:
                    writer.write(ws.send(exc.event_hint))
                break
            for event in ws.events():
                if isinstance(event, Request):
                    extensions = []
                    if deflate:
                        extensions.append(PerMessageDeflate(zlib_backend=zlib_backend))
                    writer.write(ws.send(AcceptConnection(extensions=extensions)))
                elif isinstance(event, (TextMessage, BytesMessage)):
                    if ws.state is not ConnectionState.OPEN:
                        continue  # we are closing: nothing more is echoed
                    whole = messages.add(event)
                    if whole is None:
                        continue  # more fragments to come
                    writer.write(ws.send(TextMessage(whole) if isinstance(whole, str) else BytesMessage(whole)))
                elif isinstance(event, Ping):
                    if ws.state is ConnectionState.OPEN:
                        writer.write(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    # The client's Close (or its answer to ours), or a
                    # protocol error found in its data (the code says which:
                    # 1002, 1007, 1009 over max_message_size), or the end of
                    # TCP (code 1006). A Close is owed only in REMOTE_CLOSING;
                    # then the connection is CLOSED.
                    if ws.state is ConnectionState.REMOTE_CLOSING:
                        writer.write(ws.send(event.response()))
                    break
            await writer.drain()
            if not data:
                break
    except (ConnectionError, asyncio.TimeoutError):
        pass  # the client went away, or did not answer our Close
    finally:
        await close_transport(reader, writer)


async def close_transport(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, send_eof: bool = True
) -> None:
    """
    End a TCP connection gracefully: send FIN (``send_eof``; a client passes
    ``False`` to let the server end TCP first, RFC 6455 §7.1.1), discard what
    the peer still sends until it closes too (at most ``CLOSE_TIMEOUT``
    seconds), then close.

    Closing a socket that still has unread input makes the kernel reset
    the connection, and a reset can destroy the Close frame just sent before
    the peer reads it; draining first avoids that.
    """
    try:
        if send_eof and writer.can_write_eof():
            writer.write_eof()
        await writer.drain()

        async def drain_input() -> None:
            while await reader.read(RECEIVE_BYTES):
                pass

        await asyncio.wait_for(drain_input(), CLOSE_TIMEOUT)
    except (OSError, asyncio.TimeoutError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def serve(
    host: str = "127.0.0.1", port: int = 9002, *, deflate: bool = True, max_message_size: int = MAX_MESSAGE_SIZE,
    zlib_backend: str = "zlib",
) -> None:
    """Accept connections on ``host:port`` forever, one task per connection."""
    PerMessageDeflate(zlib_backend=zlib_backend)  # a missing backend fails here, not per connection

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(reader, writer, deflate=deflate, max_message_size=max_message_size,
                               zlib_backend=zlib_backend)

    server = await asyncio.start_server(handle, host, port)
    bound = server.sockets[0].getsockname()
    print(f"listening on ws://{bound[0]}:{bound[1]}/", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9002, help="port to listen on; 0 picks a free one (default 9002)")
    parser.add_argument("--no-deflate", dest="deflate", action="store_false",
                        help="decline permessage-deflate offers")
    parser.add_argument("--zlib-backend", choices=("zlib", "zlib-ng", "isal"), default="zlib",
                        help="permessage-deflate's zlib (default: the standard zlib)")
    parser.add_argument("--max-message-size", type=int, default=MAX_MESSAGE_SIZE, metavar="BYTES",
                        help=f"the largest message echoed; larger ones are refused with code 1009 "
                             f"(default {MAX_MESSAGE_SIZE})")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, deflate=args.deflate, max_message_size=args.max_message_size,
                          zlib_backend=args.zlib_backend))


if __name__ == "__main__":
    sys.exit(main())
