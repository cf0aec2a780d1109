"""
The quick start's main job: a real wsspec client and a real wsspec server
talking over 127.0.0.1 through a whole WebSocket session.

    python examples/session_demo.py

The server (examples/synchronous_server.py) runs in a thread on a free
port; the client (examples/synchronous_client.py) goes through the opening
handshake, a text message with multi-byte UTF-8, a binary message, a
message sent in three fragments, a ping/pong, and the closing handshake.
Both sides print every event they send or receive and every state change.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synchronous_client import Client  # noqa: E402
from synchronous_server import serve  # noqa: E402

from wsspec.events import BytesMessage, Ping, Pong, TextMessage  # noqa: E402

_print_lock = threading.Lock()


def logger(side: str):
    def log(line: str) -> None:
        with _print_lock:
            print(f"[{side}] {line}", flush=True)
    return log


def check(label: str, got, expected) -> None:
    if got != expected:
        raise SystemExit(f"FAILED: {label}: expected {expected!r}, got {got!r}")
    logger("client")(f"ok       {label}")


def main() -> int:
    ready = threading.Event()
    server = threading.Thread(target=serve, kwargs={"port": 0, "log": logger("server"), "ready": ready,
                                                   "max_connections": 1}, daemon=True)
    server.start()
    if not ready.wait(10):
        raise SystemExit("server did not start")
    port = ready.port  # type: ignore[attr-defined]

    client = Client("127.0.0.1", port, target="/demo", log=logger("client"))

    text = "Grüße, κόσμε! 你好, 世界 🌍"
    client.send(TextMessage(text))
    check("multi-byte UTF-8 text echoed", client.receive_message(), text)

    payload = bytes(range(256)) * 4
    client.send(BytesMessage(payload))
    check("1024-byte binary message echoed", client.receive_message(), payload)

    client.send(TextMessage("frag", message_finished=False))
    client.send(TextMessage("mented ", message_finished=False))
    client.send(TextMessage("message"))
    check("fragmented message reassembled and echoed", client.receive_message(), "fragmented message")

    client.send(Ping(b"heartbeat"))
    pong = client.wait_for(Pong)
    check("ping answered with the same payload", pong.payload, b"heartbeat")

    closed = client.close(1000, "demo finished")
    check("server echoed the close code", int(closed.code), 1000)
    check("client state at the end", client.ws.state.name, "CLOSED")
    server.join(10)

    root = Path(__file__).resolve().parent.parent
    print()
    print("Session complete. The protocol these events followed is drawn from spec/ in:")
    for name in ("connection", "handshake", "fragmentation"):
        print(f"  {root / 'diagrams' / (name + '.svg')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
