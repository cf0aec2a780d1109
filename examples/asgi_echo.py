"""
A small ASGI WebSocket echo app that says which library served it.

    python examples/run_on_wsspec.py uvicorn examples.asgi_echo:app --ws wsproto --port 8000
    python examples/run_on_wsspec.py hypercorn examples.asgi_echo:app --bind 127.0.0.1:8000

On a WebSocket connection it accepts (the server negotiates permessage-deflate
if the client offers it) and then, per message received:

* text ``which``: answers ``wsproto.__name__`` of the server process, i.e.
  ``"wsspec"`` when the server runs on wsspec through
  ``wsspec.install_as_wsproto()``, ``"wsproto"`` on the real wsproto;
* text ``close CODE [REASON]``: the app closes the connection with that code
  and reason (``websocket.close``);
* text ``last-close``: answers ``"CODE REASON"`` of the last
  ``websocket.disconnect`` this process saw (what a closing client sent);
* anything else, text or bytes: echoed back unchanged, with its type.

Plain HTTP requests get ``200 ok`` (text/plain), lifespan events are
acknowledged. Used by the uvicorn, hypercorn and httpx-ws examples and by
``tests/test_integration_asgi.py``.
"""

from __future__ import annotations

import sys
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: (code, reason) of the last ``websocket.disconnect`` in this process.
last_disconnect: tuple[object, object] = (None, None)


def which_library() -> str:
    """``wsproto.__name__`` as this process sees it ("wsspec" once installed)."""
    module = sys.modules.get("wsproto")
    if module is None:
        import wsproto as module  # the server imported it already; this is just a lookup
    return module.__name__


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI 3 application (``examples.asgi_echo:app``)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok\n"})
    elif scope["type"] == "websocket":
        await _websocket(receive, send)


async def _websocket(receive: Receive, send: Send) -> None:
    global last_disconnect
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            last_disconnect = (message.get("code"), message.get("reason"))
            return
        text = message.get("text")
        data = message.get("bytes")
        if text == "which":
            await send({"type": "websocket.send", "text": which_library()})
        elif text == "last-close":
            code, reason = last_disconnect
            await send({"type": "websocket.send", "text": f"{code} {reason or ''}".rstrip()})
        elif text is not None and text.startswith("close "):
            code, _, reason = text[len("close "):].partition(" ")
            await send({"type": "websocket.close", "code": int(code), "reason": reason})
            return
        elif text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": data})


async def check_server(url: str) -> None:
    """A short client session (the ``websockets`` client) against this app at url.

    Prints what it checks; raises AssertionError at the first surprise. Used by
    the uvicorn and hypercorn examples.
    """
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(url, max_size=None, open_timeout=10, close_timeout=5) as ws:
        await ws.send("which")
        which = await ws.recv()
        print(f"[client] the server's wsproto is {which}", flush=True)
        for message in ["Grüße, κόσμε! 你好, 世界 🌍", bytes(range(256)) * 4096]:
            await ws.send(message)
            assert await ws.recv() == message
        print("[client] text and a 1 MiB binary message echoed", flush=True)
        await ws.close(4000, "client done")
    async with connect(url, open_timeout=10, close_timeout=5) as ws:
        await ws.send("close 4321 app says bye")
        try:
            await ws.recv()
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and (exc.rcvd.code, exc.rcvd.reason) == (4321, "app says bye"), exc
            print(f"[client] the app closed with {exc.rcvd.code} {exc.rcvd.reason!r}", flush=True)
        else:
            raise AssertionError("the app did not close")
