"""
simple-websocket 1.1 on wsspec (examples/simple_websocket_on_wsspec.py): its
Server over a raw socket (the WSGI environ Flask-Sock would pass) and its
Client, in one process; and the ``websockets`` client, with and without
permessage-deflate, against that Server in a subprocess.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration_support import EXAMPLES, HOST, PYTHON, ServerProcess, free_port, run_example

EXAMPLE = str(EXAMPLES / "simple_websocket_on_wsspec.py")


def test_simple_websocket_client_and_server() -> None:
    result = run_example([EXAMPLE])
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    for line in [
        "(wsproto is wsspec)",
        "[client] ok       server says its wsproto is wsspec",
        "[client] ok       4 texts with multi-byte UTF-8 echoed",
        "[client] ok       binary messages of [0, 1, 125, 126, 65535, 65536] bytes echoed",
        "[client] ok       closed with 4000 and a reason",
        "[server] closed: code=4000 reason='client done ✓'",
        "[client] ok       server's close seen: Connection closed: 4321 server says bye",
        "[client] ok       message over max_message_size refused: Connection closed: 1009",
        "[client] all checks passed",
    ]:
        assert line in out, f"missing {line!r} in:\n{out}"
    assert "Traceback" not in out, out


@pytest.mark.parametrize("deflate", [True, False], ids=["deflate", "plain"])
def test_websockets_client_against_simple_websocket_server(deflate: bool) -> None:
    port = free_port()

    def client() -> connect:
        return connect(f"ws://{HOST}:{port}/", compression="deflate" if deflate else None,
                       max_size=None, close_timeout=5, ping_interval=None)

    async def main() -> None:
        async with client() as ws:
            names = [type(ext).__name__ for ext in ws.protocol.extensions]
            assert names == (["PerMessageDeflate"] if deflate else []), names
            await ws.send("which")
            assert await ws.recv() == "wsspec"
            for message in ["Grüße 🌍" * 1000, os.urandom(65536), b"\0" * 65536, ""]:
                await ws.send(message)
                assert await ws.recv() == message
            await ws.close(4000, "bye ✓")
            assert ws.protocol.close_rcvd is not None
            assert (ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason) == (4000, "bye ✓")
        async with client() as ws:
            await ws.send("close 4321 server says bye")
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (4321, "server says bye")
        async with client() as ws:
            await ws.send(b"\0" * (64 * 1024 + 1))
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009, info.value

    with ServerProcess([PYTHON, EXAMPLE, "server", "--port", str(port), "--seconds", "60"], port) as server:
        asyncio.run(asyncio.wait_for(main(), 30))
        assert server.alive()
    log = server.output()
    assert "(wsproto is wsspec)" in log and "[server] closed: code=4000 reason='bye ✓'" in log, log
    assert "Traceback" not in log, log
