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
