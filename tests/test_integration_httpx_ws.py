"""
httpx-ws 0.9 on wsspec (examples/httpx_ws_on_wsspec.py): its client against
uvicorn 0.54 (``--ws wsproto``) started by its own command line through
examples/run_on_wsspec.py as a subprocess, and the example's own demo
(uvicorn in-process, then httpx-ws's ASGIWebSocketTransport), both sides on
wsspec.
"""

from __future__ import annotations

from tests.integration_support import EXAMPLES, HOST, PYTHON, ServerProcess, free_port, run_example

EXAMPLE = str(EXAMPLES / "httpx_ws_on_wsspec.py")
CHECKS = [
    "[httpx-ws] wsproto is wsspec",
    "[httpx-ws] ok       server says its wsproto is wsspec",
    "[httpx-ws] ok       4 texts with multi-byte UTF-8 echoed",
    "[httpx-ws] ok       binary messages of [0, 1, 125, 126, 65535, 65536, 1048576] bytes echoed",
    "[httpx-ws] ok       ping answered",
    "[httpx-ws] ok       server's close seen: 4321 'server says bye'",
    "[httpx-ws] ok       the app saw the client's close: 4000 client done ✓",
    "[httpx-ws] all checks passed",
]


def test_httpx_ws_client_against_uvicorn_process() -> None:
    port = free_port()
    command = [PYTHON, str(EXAMPLES / "run_on_wsspec.py"), "uvicorn", "examples.asgi_echo:app",
               "--ws", "wsproto", "--host", HOST, "--port", str(port), "--log-level", "warning"]
    with ServerProcess(command, port) as server:
        result = run_example([EXAMPLE, "--url", f"ws://{HOST}:{port}/"])
        out = result.stdout + result.stderr
        assert result.returncode == 0, out
        for line in CHECKS:
            assert line in out, f"missing {line!r} in:\n{out}"
        assert server.alive()
    assert "Traceback" not in server.output(), server.output()


def test_httpx_ws_demo() -> None:
    result = run_example([EXAMPLE, "--port", "0"])
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    for line in CHECKS + ["(wsproto is wsspec)", "[httpx-ws] now through ASGIWebSocketTransport (no socket)"]:
        assert line in out, f"missing {line!r} in:\n{out}"
    assert out.count("[httpx-ws] ok       server says its wsproto is wsspec") == 2, out
    assert "Traceback" not in out, out
