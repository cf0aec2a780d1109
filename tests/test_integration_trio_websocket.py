"""
trio-websocket 0.12.2 on wsspec (examples/trio_websocket_on_wsspec.py, which
calls ``wsspec.install_as_wsproto()`` before importing trio_websocket):
client and server against each other (one process, and two), the
``websockets`` client against the trio-websocket server, and the
trio-websocket client against a ``websockets`` server, all on 127.0.0.1.
Aborts by each side go through trio-websocket's abort path, which sends
``CloseConnection(code=1006)`` to wsproto while OPEN.
"""

from __future__ import annotations

import asyncio
import os
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.integration_support import (
    EXAMPLES,
    HOST,
    PYTHON,
    ServerProcess,
    abort,
    free_port,
    masked_frame_header,
    raw_handshake,
    run_example,
)

EXAMPLE = str(EXAMPLES / "trio_websocket_on_wsspec.py")
CLIENT_CHECKS = [
    "[client] wsproto is wsspec",
    "[client] ok       4 texts with multi-byte UTF-8 echoed",
    "[client] ok       binary messages of [0, 1, 125, 126, 65535, 65536, 1048576] bytes echoed",
    "[client] ok       ping answered",
    "[client] ok       100 pipelined messages echoed in order",
    "[client] ok       closed with 4000 and a reason",
    "[client] ok       server's close seen: 4321 'server says bye'",
    "[client] ok       client abort seen locally as 1006",
    "[client] ok       server abort seen as 1006",
    "[client] ok       server still serving after the aborts",
    "[client] all checks passed",
]
SERVER_CHECKS = [
    "[server] closed: code=4000 reason='client done ✓'",
    "[server] closed: code=4321 reason='server says bye' (by the app)",
    "[server] closed: code=1006 reason=None",
]


def _assert_lines(out: str, lines: list[str]) -> None:
    for line in lines:
        assert line in out, f"missing {line!r} in:\n{out}"


def test_demo_client_and_server_in_one_process() -> None:
    result = run_example([EXAMPLE])
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    _assert_lines(out, CLIENT_CHECKS + SERVER_CHECKS + ["[client] server says its wsproto is wsspec"])
    assert out.count("[server] closed: code=1006") == 2, out  # the client's abort and its own
    assert "Traceback" not in out, out


def test_client_and_server_in_two_processes() -> None:
    port = free_port()
    with ServerProcess([PYTHON, EXAMPLE, "server", "--port", str(port), "--seconds", "60"], port) as server:
        result = run_example([EXAMPLE, "client", f"ws://{HOST}:{port}/"])
        out = result.stdout + result.stderr
        assert result.returncode == 0, out
        _assert_lines(out, CLIENT_CHECKS + ["[client] server says its wsproto is wsspec"])
        assert server.alive()
    log = server.output()
    _assert_lines(log, SERVER_CHECKS + ["wsproto is wsspec"])
    assert "Traceback" not in log, log


def test_websockets_client_against_trio_websocket_server() -> None:
    port = free_port()

    async def main() -> None:
        async with connect(f"ws://{HOST}:{port}/", max_size=None, close_timeout=5) as ws:
            await ws.send("which")
            assert await ws.recv() == "wsspec"
            for message in ["Grüße 🌍" * 1000, os.urandom(1024 * 1024), b""]:
                await ws.send(message)
                assert await ws.recv() == message
            await ws.close(4000, "bye from websockets ✓")
            assert ws.protocol.close_rcvd is not None
            assert (ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason) == (4000, "bye from websockets ✓")
        async with connect(f"ws://{HOST}:{port}/", close_timeout=5) as ws:
            await ws.send("close 4321 server says bye")
            try:
                await ws.recv()
            except ConnectionClosed as exc:
                assert exc.rcvd is not None and (exc.rcvd.code, exc.rcvd.reason) == (4321, "server says bye")
            else:
                raise AssertionError("no close")
        async with connect(f"ws://{HOST}:{port}/", close_timeout=5) as ws:
            await ws.send("abort")
            try:
                await ws.recv()
            except ConnectionClosed as exc:
                assert exc.rcvd is None, exc  # TCP dropped, no Close frame
            else:
                raise AssertionError("no close")
        async with connect(f"ws://{HOST}:{port}/", close_timeout=5) as ws:  # the client vanishes
            await ws.send("x")
            await ws.recv()
            ws.transport.abort()
        # Half a frame, then a TCP reset.
        sock = await asyncio.to_thread(raw_handshake, port)
        sock.sendall(masked_frame_header(0x2, 500) + b"\0" * 50)
        abort(sock)
        async with connect(f"ws://{HOST}:{port}/", close_timeout=5) as ws:
            await ws.send("which")
            assert await ws.recv() == "wsspec"

    with ServerProcess([PYTHON, EXAMPLE, "server", "--port", str(port), "--seconds", "60"], port) as server:
        asyncio.run(asyncio.wait_for(main(), 30))
        assert server.alive()
    log = server.output()
    _assert_lines(log, ["[server] closed: code=4000 reason='bye from websockets ✓'",
                        "[server] closed: code=4321 reason='server says bye' (by the app)"])
    assert log.count("[server] closed: code=1006") == 3, log  # its own abort, the client's two
    assert "Traceback" not in log, log


def test_trio_websocket_client_against_websockets_server() -> None:
    closes: list[tuple[object, object]] = []

    async def handler(ws: ServerConnection) -> None:
        try:
            async for message in ws:
                if message == "which":
                    await ws.send("websockets")
                elif isinstance(message, str) and message.startswith("close "):
                    code, _, reason = message[len("close "):].partition(" ")
                    await ws.close(int(code), reason)
                elif message == "abort":
                    ws.transport.abort()
                else:
                    await ws.send(message)
        finally:
            await ws.wait_closed()
            rcvd = ws.protocol.close_rcvd
            closes.append((rcvd.code, rcvd.reason) if rcvd else None)

    async def main() -> None:
        async with serve(handler, HOST, 0, max_size=None, close_timeout=5) as server:
            port = server.sockets[0].getsockname()[1]
            proc = await asyncio.create_subprocess_exec(
                PYTHON, EXAMPLE, "client", f"ws://{HOST}:{port}/",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
            try:
                out, _ = await asyncio.wait_for(proc.communicate(), 60)
            finally:
                if proc.returncode is None:
                    os.killpg(proc.pid, 9)
                    await proc.wait()
        text = out.decode()
        assert proc.returncode == 0, text
        _assert_lines(text, CLIENT_CHECKS + ["[client] server says its wsproto is websockets"])

    asyncio.run(asyncio.wait_for(main(), 90))
    assert (4000, "client done ✓") in closes, closes
    assert closes.count(None) == 2, closes  # the client's abort and the server's own


if sys.platform == "win32":  # pragma: no cover
    raise ImportError("these tests use POSIX process groups")
