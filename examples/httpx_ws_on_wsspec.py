"""
httpx-ws on wsspec: the httpx-ws client against uvicorn, both on wsspec.

    python examples/httpx_ws_on_wsspec.py [--port 0]        # demo: uvicorn here + the client, then exit
    python examples/httpx_ws_on_wsspec.py --url ws://127.0.0.1:PORT/   # the client against a running server

``wsspec.install_as_wsproto()`` runs first, so both httpx-ws (client) and
uvicorn (``ws="wsproto"``) use wsspec. The demo serves examples/asgi_echo.py
with uvicorn in this process on 127.0.0.1 (port 0: a free one), runs the
client session against it, then the same session through httpx-ws's
``ASGIWebSocketTransport`` (the app in-process, no socket; wsspec is the
server side of that transport), and exits.

The session checks, and exits non-zero at the first surprise: the server's
``wsproto.__name__``, multi-byte UTF-8 text, binary messages up to 1 MiB;
over the network also a ping, a close by the server (``close 4321 ...``,
seen as ``WebSocketDisconnect``) and a close by the client with 4000 that
the app saw (``last-close``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path

import wsspec

wsspec.install_as_wsproto()  # before httpx_ws and uvicorn import wsproto

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for examples.asgi_echo

import httpx  # noqa: E402
import uvicorn  # noqa: E402
import wsproto  # noqa: E402  (this is wsspec now)
from httpx_ws import WebSocketDisconnect, aconnect_ws  # noqa: E402
from httpx_ws.transport import ASGIWebSocketTransport  # noqa: E402

from examples.asgi_echo import app  # noqa: E402

HOST = "127.0.0.1"
MAX_MESSAGE = 4 * 1024 * 1024
TEXTS = ["", "Grüße, κόσμε! 你好, 世界 🌍", "𝄞" * 1000, "ü" * 40_000]
BINARY_SIZES = [0, 1, 125, 126, 65_535, 65_536, 1024 * 1024]


def say(line: str) -> None:
    print(line, flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"[httpx-ws] FAILED: {what}")
    say(f"[httpx-ws] ok       {what}")


async def session(url: str, client: httpx.AsyncClient, over_network: bool) -> None:
    async with aconnect_ws(url, client, max_message_size_bytes=MAX_MESSAGE) as ws:
        await ws.send_text("which")
        which = await ws.receive_text(timeout=10)
        check(which == "wsspec", f"server says its wsproto is {which}")
        for text in TEXTS:
            await ws.send_text(text)
            if await ws.receive_text(timeout=10) != text:
                check(False, f"text of {len(text)} characters echoed")
        check(True, f"{len(TEXTS)} texts with multi-byte UTF-8 echoed")
        for size in BINARY_SIZES:
            data = os.urandom(size)
            await ws.send_bytes(data)
            if await ws.receive_bytes(timeout=10) != data:
                check(False, f"{size}-byte binary message echoed")
        check(True, f"binary messages of {BINARY_SIZES} bytes echoed")
        if not over_network:
            # httpx-ws 0.9's ASGIWebSocketTransport has no Ping (UnhandledWebSocketEvent)
            # and fails on a close with a code (ClosedResourceError), on the real
            # wsproto too: end with the default close.
            return
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong.wait(), 10)
        check(True, "ping answered")
        await ws.close(4000, "client done ✓")
    async with aconnect_ws(url, client) as ws:
        await ws.send_text("close 4321 server says bye")
        try:
            await ws.receive_text(timeout=10)
        except WebSocketDisconnect as exc:
            check((exc.code, exc.reason) == (4321, "server says bye"),
                  f"server's close seen: {exc.code} {exc.reason!r}")
        else:
            check(False, "server's close seen")
    async with aconnect_ws(url, client) as ws:
        await ws.send_text("last-close")
        last = await ws.receive_text(timeout=10)
        check(last.split()[0] == "4000", f"the app saw the client's close: {last}")


async def over_network(url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        await session(url, client, over_network=True)


async def demo(port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    server = uvicorn.Server(uvicorn.Config(app, ws="wsproto", log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        url = f"ws://{HOST}:{sock.getsockname()[1]}/"
        say(f"[uvicorn] serving examples.asgi_echo:app on {url} (wsproto is {wsproto.__name__})")
        await over_network(url)
        say("[httpx-ws] now through ASGIWebSocketTransport (no socket)")
        async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app)) as client:
            await session("http://asgi/", client, over_network=False)
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        sock.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="demo server's port; 0: a free one")
    parser.add_argument("--url", help="run only the client session against this server")
    args = parser.parse_args(argv)
    say(f"[httpx-ws] wsproto is {wsproto.__name__}")
    coro = over_network(args.url) if args.url else demo(args.port)
    asyncio.run(asyncio.wait_for(coro, 60))
    say("[httpx-ws] all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
