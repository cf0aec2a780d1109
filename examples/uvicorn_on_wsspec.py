"""
uvicorn on wsspec, programmatically.

    python examples/uvicorn_on_wsspec.py [--port 0] [--seconds 0]

Calls ``wsspec.install_as_wsproto()`` before importing uvicorn, then serves
examples/asgi_echo.py with ``uvicorn.Server`` and ``ws="wsproto"`` on
127.0.0.1 (port 0: a free one, printed), checks it with a short client
session (the ``websockets`` client), keeps serving for ``--seconds`` more
(0 by default) and shuts down. The same from the command line:

    python examples/run_on_wsspec.py uvicorn examples.asgi_echo:app --ws wsproto --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path

import wsspec

wsspec.install_as_wsproto()  # before uvicorn imports wsproto

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for examples.asgi_echo

import uvicorn  # noqa: E402

from examples.asgi_echo import app, check_server  # noqa: E402


async def main(port: int, seconds: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, ws="wsproto", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
        url = f"ws://127.0.0.1:{sock.getsockname()[1]}/"
        print(f"[uvicorn] serving examples.asgi_echo:app on {url}", flush=True)
        await check_server(url)
        await asyncio.sleep(seconds)
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        sock.close()
    print("[uvicorn] done", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=0.0, help="serve this much longer after the check")
    args = parser.parse_args()
    asyncio.run(asyncio.wait_for(main(args.port, args.seconds), args.seconds + 60))
