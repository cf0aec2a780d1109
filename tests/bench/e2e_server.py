"""
The server side of ``python -m tests.bench.e2e``: uvicorn serving an ASGI echo app.

``python -m tests.bench.e2e_server --impl {wsspec,wsproto,websockets-sansio} --port P``
runs uvicorn in this process on 127.0.0.1 (so this process's CPU time is the
server's), with the settings a user gets from ``uvicorn app:app --ws ...``
except: the asyncio loop and h11 (the same for every configuration, whatever
else is installed), no lifespan, no access log. ``--impl wsspec`` calls
``wsspec.install_as_wsproto()`` first and serves ``--ws wsproto``, so uvicorn's
wsproto protocol runs on wsspec unmodified.

The app echoes every message back as it came (text as text, bytes as bytes).
A WebSocket to ``/whoami`` instead gets one text message, JSON, naming the
module that answers to ``wsproto`` and uvicorn's WebSocket protocol modules
loaded, so the benchmark can prove which library served it.
"""

from __future__ import annotations

import argparse
import json
import sys


async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "websocket":
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    if scope["path"] == "/whoami":
        wsproto = sys.modules.get("wsproto")
        info = {
            "wsproto_module": getattr(wsproto, "__name__", None),
            # wsspec's build ("compiled" / "pure", WSSPEC_NO_EXTENSIONS=1) when it stands in for wsproto
            "build": getattr(wsproto, "BUILD", None),
            "uvicorn_ws_modules": sorted(m for m in sys.modules if m.startswith("uvicorn.protocols.websockets.")
                                         and not m.endswith(".auto")),
        }
        await send({"type": "websocket.send", "text": json.dumps(info)})
        await send({"type": "websocket.close", "code": 1000})
        return
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        text = message.get("text")
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.e2e_server")
    parser.add_argument("--impl", choices=("wsspec", "wsproto", "websockets-sansio"), required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.impl == "wsspec":
        import wsspec

        wsspec.install_as_wsproto()  # before uvicorn imports wsproto
    import uvicorn

    uvicorn.run(
        app, host="127.0.0.1", port=args.port,
        ws="websockets-sansio" if args.impl == "websockets-sansio" else "wsproto",
        loop="asyncio", http="h11", lifespan="off", access_log=False, log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
