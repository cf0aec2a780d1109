"""
wsspec.install_as_wsproto(): ``import wsproto`` returns wsspec's modules.
Each case runs in a fresh interpreter, since installing changes sys.modules
for the whole process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_every_wsproto_module_is_wsspecs() -> None:
    result = _run(
        """
        import wsspec
        wsspec.install_as_wsproto()
        wsspec.install_as_wsproto()  # twice is harmless
        import wsproto, wsproto.connection, wsproto.events, wsproto.extensions
        import wsproto.frame_protocol, wsproto.handshake, wsproto.utilities, wsproto.typing
        from wsproto.connection import ConnectionState
        from wsproto import WSConnection, ConnectionType
        assert wsproto is wsspec
        for name in ("connection", "events", "extensions", "frame_protocol", "handshake",
                     "utilities", "typing"):
            ours = __import__("wsspec." + name, fromlist=["x"])
            theirs = __import__("wsproto." + name, fromlist=["x"])
            assert ours is theirs, name
        assert WSConnection is wsspec.WSConnection
        assert ConnectionState is wsspec.connection.ConnectionState
        ws = WSConnection(ConnectionType.CLIENT)
        print(wsproto.__name__, type(ws).__module__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wsspec", "wsspec"]


def test_refuses_when_the_real_wsproto_is_imported() -> None:
    result = _run(
        """
        import wsproto.events
        import wsspec
        try:
            wsspec.install_as_wsproto()
        except wsspec.WsprotoAlreadyImportedError as exc:
            assert isinstance(exc, RuntimeError)
            print(exc)
        else:
            raise SystemExit("no error")
        import sys
        assert sys.modules["wsproto"].__name__ == "wsproto"
        """
    )
    assert result.returncode == 0, result.stderr
    assert "the real wsproto is already imported (wsproto, from " in result.stdout
    assert "before anything imports wsproto" in result.stdout
