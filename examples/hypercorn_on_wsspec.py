"""
hypercorn on wsspec, programmatically.

    python examples/hypercorn_on_wsspec.py [--port 0] [--seconds 0]

Calls ``wsspec.install_as_wsproto()`` before importing hypercorn, then serves
examples/asgi_echo.py with ``hypercorn.asyncio.serve`` on 127.0.0.1 (port 0:
a free one, printed), checks it with a short client session (the
``websockets`` client), keeps serving for ``--seconds`` more (0 by default)
and shuts down. The same from the command line (hypercorn's workers are
spawned processes; run_on_wsspec installs wsspec in them too):

    python examples/run_on_wsspec.py hypercorn examples.asgi_echo:app --bind 127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path

import wsspec

wsspec.install_as_wsproto()  # before hypercorn imports wsproto

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for examples.asgi_echo

from hypercorn.asyncio import serve  # noqa: E402
from hypercorn.config import Config  # noqa: E402

from examples.asgi_echo import app, check_server  # noqa: E402


async def main(port: int, seconds: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]  # our socket: its port is known before serving
    config.loglevel = "WARNING"
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        url = f"ws://127.0.0.1:{sock.getsockname()[1]}/"
        for _ in range(500):  # until it accepts (bounded: 10 s)
            if serving.done():
                serving.result()
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.02)
        print(f"[hypercorn] serving examples.asgi_echo:app on {url}", flush=True)
        await check_server(url)
        await asyncio.sleep(seconds)
    finally:
        stop.set()
        await asyncio.wait_for(serving, 10)
    print("[hypercorn] done", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=0.0, help="serve this much longer after the check")
    args = parser.parse_args()
    asyncio.run(asyncio.wait_for(main(args.port, args.seconds), args.seconds + 60))
