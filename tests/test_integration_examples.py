"""
The uvicorn and hypercorn examples run and exit by themselves on wsspec;
examples/run_on_wsspec.py runs a program's CLI on wsspec, including in the
worker processes hypercorn spawns; and, as a control for every "which"
check in these tests, the same server started without the launcher
answers "wsproto" (the real one, also installed in the venv).
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect

from tests.integration_support import EXAMPLES, HOST, PYTHON, ServerProcess, free_port, run_example

LAUNCHER = str(EXAMPLES / "run_on_wsspec.py")


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_server_example_runs_on_wsspec(server: str) -> None:
    result = run_example([str(EXAMPLES / f"{server}_on_wsspec.py"), "--port", "0"])
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    for line in [f"[{server}] serving examples.asgi_echo:app on ws://127.0.0.1:",
                 "[client] the server's wsproto is wsspec",
                 "[client] text and a 1 MiB binary message echoed",
                 "[client] the app closed with 4321 'app says bye'",
                 f"[{server}] done"]:
        assert line in out, f"missing {line!r} in:\n{out}"


def _which(port: int, connections: int) -> list[str]:
    async def main() -> list[str]:
        answers = []
        for _ in range(connections):
            async with connect(f"ws://{HOST}:{port}/", open_timeout=10, close_timeout=5) as ws:
                await ws.send("which")
                answers.append(await ws.recv())
        return answers

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_launcher_reaches_hypercorns_spawned_workers() -> None:
    port = free_port()
    command = [PYTHON, LAUNCHER, "-m", "hypercorn", "examples.asgi_echo:app", "--bind", f"{HOST}:{port}",
               "--workers", "2"]
    with ServerProcess(command, port) as server:
        assert _which(port, 6) == ["wsspec"] * 6
        assert server.alive()


def test_without_the_launcher_the_real_wsproto_serves() -> None:
    port = free_port()
    command = [PYTHON, "-m", "uvicorn", "examples.asgi_echo:app", "--ws", "wsproto", "--host", HOST,
               "--port", str(port), "--log-level", "warning"]
    with ServerProcess(command, port):
        assert _which(port, 1) == ["wsproto"]


def test_launcher_usage_and_unknown_program() -> None:
    usage = run_example([LAUNCHER])
    assert usage.returncode == 2 and "usage: run_on_wsspec.py PROGRAM" in usage.stdout
    unknown = run_example([LAUNCHER, "no-such-program-xyz"])
    assert unknown.returncode == 1 and "no console script named 'no-such-program-xyz'" in unknown.stderr
