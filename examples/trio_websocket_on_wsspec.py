"""
trio-websocket on wsspec: an echo server and a client that checks it.

    python examples/trio_websocket_on_wsspec.py                      # demo: both, in one process
    python examples/trio_websocket_on_wsspec.py server --port 0 [--seconds 30]
    python examples/trio_websocket_on_wsspec.py client ws://127.0.0.1:PORT/

``wsspec.install_as_wsproto()`` runs before trio_websocket is imported, so
trio-websocket's ``import wsproto`` gets wsspec. Everything binds or
connects to 127.0.0.1 and ends by itself (the server after ``--seconds``).

The server echoes every message; text ``which`` is answered with
``wsproto.__name__`` ("wsspec"), ``close CODE REASON`` makes it close with
that code and reason, ``abort`` makes it drop the TCP connection without a
Close (trio-websocket's abort path). It prints one ``[server] closed: ...``
line per connection, with the code and reason trio-websocket reports.

The client runs a fixed session against any server that answers those
commands and exits non-zero at the first surprise: multi-byte UTF-8 text,
binary messages up to 1 MiB, a ping, 100 pipelined messages, a close with
4000 and a reason, a close by the server (4321), an abort by the client and
one by the server (both seen as 1006, abnormal closure), and a last
connection to show the server is still fine.
"""

from __future__ import annotations

import argparse
import os
import sys

import wsspec

wsspec.install_as_wsproto()  # before trio_websocket imports wsproto

import trio  # noqa: E402
import wsproto  # noqa: E402  (this is wsspec now)
from trio_websocket import (  # noqa: E402
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    open_websocket_url,
    serve_websocket,
)

HOST = "127.0.0.1"
MAX_MESSAGE = 4 * 1024 * 1024
TEXTS = ["", "Grüße, κόσμε! 你好, 世界 🌍", "𝄞" * 1000, "ü" * 40_000]
BINARY_SIZES = [0, 1, 125, 126, 65_535, 65_536, 1024 * 1024]


def say(line: str) -> None:
    print(line, flush=True)


async def abort(ws: WebSocketConnection) -> None:
    """Drop the TCP connection without a closing handshake.

    trio-websocket has no public call for this; closing its stream is what
    happens when the network fails, and it takes trio-websocket's abort path
    (``CloseConnection(code=1006)`` sent to wsproto while OPEN).
    """
    await ws._stream.aclose()  # noqa: SLF001


async def handler(request: WebSocketRequest) -> None:
    ws = await request.accept()
    try:
        while True:
            message = await ws.get_message()
            if message == "which":
                await ws.send_message(wsproto.__name__)
            elif isinstance(message, str) and message.startswith("close "):
                code, _, reason = message[len("close "):].partition(" ")
                await ws.aclose(int(code), reason)
                say(f"[server] closed: code={ws.closed.code} reason={ws.closed.reason!r} (by the app)")
                return
            elif message == "abort":
                await abort(ws)
            else:
                await ws.send_message(message)
    except ConnectionClosed as exc:
        say(f"[server] closed: code={exc.reason.code} reason={exc.reason.reason!r}")


async def serve(port: int, seconds: float, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    with trio.move_on_after(seconds):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                lambda task_status: serve_websocket(handler, HOST, port, ssl_context=None,
                                                    max_message_size=MAX_MESSAGE, task_status=task_status)
            )
            say(f"[server] listening on ws://{HOST}:{server.port}/ (wsproto is {wsproto.__name__})")
            task_status.started(server.port)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"[client] FAILED: {what}")
    say(f"[client] ok       {what}")


async def client_session(url: str) -> None:
    say(f"[client] wsproto is {wsproto.__name__}")
    async with open_websocket_url(url, max_message_size=MAX_MESSAGE) as ws:
        await ws.send_message("which")
        say(f"[client] server says its wsproto is {await ws.get_message()}")
        for text in TEXTS:
            await ws.send_message(text)
            if await ws.get_message() != text:
                check(False, f"text of {len(text)} characters echoed")
        check(True, f"{len(TEXTS)} texts with multi-byte UTF-8 echoed")
        for size in BINARY_SIZES:
            data = os.urandom(size)
            await ws.send_message(data)
            if await ws.get_message() != data:
                check(False, f"{size}-byte binary message echoed")
        check(True, f"binary messages of {BINARY_SIZES} bytes echoed")
        with trio.fail_after(5):
            await ws.ping(b"are you there")
        check(True, "ping answered")
        batch = [f"message {i} ✓" for i in range(100)]
        for text in batch:
            await ws.send_message(text)
        check([await ws.get_message() for _ in batch] == batch, "100 pipelined messages echoed in order")
        await ws.aclose(4000, "client done ✓")
        check(ws.closed is not None and ws.closed.code == 4000, "closed with 4000 and a reason")

    async with open_websocket_url(url, max_message_size=MAX_MESSAGE) as ws:
        await ws.send_message("close 4321 server says bye")
        try:
            await ws.get_message()
        except ConnectionClosed as exc:
            check((exc.reason.code, exc.reason.reason) == (4321, "server says bye"),
                  f"server's close seen: {exc.reason.code} {exc.reason.reason!r}")
        else:
            check(False, "server's close seen")

    async with open_websocket_url(url, max_message_size=MAX_MESSAGE) as ws:
        await ws.send_message("before the abort")
        await ws.get_message()
        await abort(ws)
        try:
            await ws.get_message()
        except ConnectionClosed as exc:
            check(exc.reason.code == 1006, f"client abort seen locally as {exc.reason.code}")
        else:
            check(False, "client abort seen locally")

    async with open_websocket_url(url, max_message_size=MAX_MESSAGE) as ws:
        await ws.send_message("abort")
        try:
            await ws.get_message()
        except ConnectionClosed as exc:
            check(exc.reason.code == 1006, f"server abort seen as {exc.reason.code}")
        else:
            check(False, "server abort seen")

    async with open_websocket_url(url, max_message_size=MAX_MESSAGE) as ws:
        await ws.send_message("still there?")
        check(await ws.get_message() == "still there?", "server still serving after the aborts")
    say("[client] all checks passed")


async def demo() -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve, 0, 60.0)
        await client_session(f"ws://{HOST}:{port}/")
        nursery.cancel_scope.cancel()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    server = sub.add_parser("server", help="serve for --seconds, then exit")
    server.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    server.add_argument("--seconds", type=float, default=30.0)
    client = sub.add_parser("client", help="run the checking session against URL")
    client.add_argument("url")
    args = parser.parse_args(argv)
    if args.mode == "server":
        trio.run(serve, args.port, args.seconds)
    elif args.mode == "client":
        trio.run(lambda: _bounded(client_session(args.url), 60))
    else:
        trio.run(lambda: _bounded(demo(), 60))
    return 0


async def _bounded(coro: object, seconds: float) -> None:
    with trio.fail_after(seconds):
        await coro  # type: ignore[misc]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
