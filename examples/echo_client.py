"""
A WebSocket echo client on asyncio, built on wsspec, with permessage-deflate.

    python examples/echo_client.py ws://127.0.0.1:9001/some/path [--no-deflate] [--zlib-backend zlib|zlib-ng|isal]

It connects, offering permessage-deflate (RFC 7692), and then echoes: every
message the server sends comes back to it whole, with its type (text or
binary), once its last fragment has arrived (a message over 64 MiB is
refused with a Close of code 1009 instead); every Ping is answered with a
Pong at once. It runs until the server closes the connection:

* a Close from the server is answered, and the client waits for the server
  to end the TCP connection (RFC 6455 §7.1.1: the server closes TCP first);
* a server that breaks the protocol is failed fast: wsspec reports it as a
  ``CloseConnection`` with the code to send (1002, 1007, ...), which the
  client sends before hanging up, without reading further.

Replies are written as soon as the event that caused them is read. This is
the client that ``tests/compliance/run`` puts through the Autobahn|Testsuite.
Copy :func:`echo` into your own asyncio program as a starting point.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Callable
from urllib.parse import urlsplit

from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from echo_server import MessageAssembler, close_transport  # noqa: E402  (shared with the server example)

from wsspec import ConnectionType, WSConnection  # noqa: E402
from wsspec.connection import ConnectionState
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsspec.extensions import PerMessageDeflate
from wsspec.frame_protocol import CloseReason

#: Bytes asked of the socket per read.
RECEIVE_BYTES = 256 * 1024
#: Seconds to wait for the server's answer to our Close, and for it to close
#: TCP after the closing handshake.
CLOSE_TIMEOUT = 5.0
#: The largest message accepted, in bytes (characters for text): 64 MiB.
MAX_MESSAGE_SIZE = 64 * 1024 * 1024


async def echo(
    host: str,
    port: int,
    target: str = "/",
    *,
    deflate: bool = True,
    reply: bool = True,
    on_message: Callable[[str | bytes], None] | None = None,
    max_message_size: int = MAX_MESSAGE_SIZE,
    zlib_backend: str = "zlib",
) -> CloseConnection:
    """
    Connect to ``ws://host:port/target`` and echo until the connection ends.

    :param host: the server's address; ``port``: its TCP port.
    :param target: the request target, path and query (``str``).
    :param deflate: offer permessage-deflate.
    :param zlib_backend: its zlib: ``"zlib"``, ``"zlib-ng"`` or ``"isal"``
        (``PerMessageDeflate(zlib_backend=...)``).
    :param reply: echo messages back (``False``: only receive them, e.g. to
        read what a server announces).
    :param on_message: called with every whole message received, ``str`` for
        text and ``bytes`` for binary, before it is echoed.
    :param max_message_size: the largest message accepted, in bytes (UTF-8
        bytes for text); wsspec fails a larger one with code 1009
        (MESSAGE_TOO_BIG), compressed messages while they are inflated,
        before anything larger is allocated.
    :returns: the ``CloseConnection`` that ended the session: the server's
        Close (or its answer to ours), a protocol error the client failed
        the connection for (its code: 1002, 1007, ...), or code 1006 if TCP
        ended without a Close.
    :raises ConnectionError: the server rejected the upgrade.
    :raises wsspec.utilities.RemoteProtocolError: its handshake response is invalid.
    """
    reader, writer = await asyncio.open_connection(host, port)
    ws = WSConnection(ConnectionType.CLIENT, max_message_size=max_message_size)
    extensions = [PerMessageDeflate(zlib_backend=zlib_backend)] if deflate else []
    messages = MessageAssembler()
    closed = CloseConnection(code=CloseReason.ABNORMAL_CLOSURE)
    try:
        writer.write(ws.send(Request(host=f"{host}:{port}", target=target, extensions=extensions)))
        while ws.state is not ConnectionState.CLOSED:
            if ws.state is ConnectionState.LOCAL_CLOSING:
                # We sent a Close: the server has CLOSE_TIMEOUT seconds to answer it.
                data = await asyncio.wait_for(reader.read(RECEIVE_BYTES), CLOSE_TIMEOUT)
            else:
                data = await reader.read(RECEIVE_BYTES)
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    if ws.state is not ConnectionState.OPEN:
                        continue  # we are closing: nothing more is echoed
                    whole = messages.add(event)
                    if whole is None:
                        continue  # more fragments to come
                    if on_message is not None:
                        on_message(whole)
                    if reply:
                        writer.write(ws.send(TextMessage(whole) if isinstance(whole, str) else BytesMessage(whole)))
                elif isinstance(event, Ping):
                    if ws.state is ConnectionState.OPEN:
                        writer.write(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    # The server's Close (or its answer to ours), or a
                    # protocol error found in its data (the code says
                    # which), or the end of TCP (code 1006). A Close is owed
                    # only in REMOTE_CLOSING; then the connection is CLOSED.
                    closed = event
                    if ws.state is ConnectionState.REMOTE_CLOSING:
                        writer.write(ws.send(event.response()))
                    break
                elif isinstance(event, RejectConnection):
                    raise ConnectionError(f"the server rejected the upgrade with HTTP {event.status_code}")
                elif isinstance(event, AcceptConnection):
                    pass  # the connection is open
            await writer.drain()
            if not data:
                break
    except (ConnectionResetError, asyncio.TimeoutError):
        pass  # the server hung up, or did not answer our Close
    finally:
        # Let the server end TCP first (RFC 6455 §7.1.1).
        await close_transport(reader, writer, send_eof=False)
    return closed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("url", help="ws://HOST:PORT/PATH?QUERY (wss:// is not supported by this example)")
    parser.add_argument("--no-deflate", dest="deflate", action="store_false", help="do not offer permessage-deflate")
    parser.add_argument("--zlib-backend", choices=("zlib", "zlib-ng", "isal"), default="zlib",
                        help="permessage-deflate's zlib (default: the standard zlib)")
    args = parser.parse_args(argv)
    url = urlsplit(args.url)
    if url.scheme != "ws" or not url.hostname:
        parser.error(f"expected a ws://HOST:PORT/... URL, got {args.url!r}")
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")

    def show(message: str | bytes) -> None:
        text = message if isinstance(message, str) else f"<{len(message)} bytes>"
        print(f"echoing {text[:200]!r}" if isinstance(message, str) else f"echoing {text}")

    closed = asyncio.run(echo(url.hostname, url.port or 80, target, deflate=args.deflate, on_message=show,
                              zlib_backend=args.zlib_backend))
    print(f"closed: {int(closed.code)} {closed.reason}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
