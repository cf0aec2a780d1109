"""
simple-websocket on wsspec (the library under Flask-Sock and
python-socketio's threading mode): its Server over a raw socket, its Client.

    python examples/simple_websocket_on_wsspec.py                 # demo: server thread + client, then exit
    python examples/simple_websocket_on_wsspec.py server --port 0 [--seconds 30]

``wsspec.install_as_wsproto()`` runs before simple_websocket is imported.
``simple_websocket.Server`` is made for WSGI servers: it takes the socket and
the request headers from the WSGI environ (``werkzeug.socket``,
``HTTP_*``), as Flask-Sock passes them. Here a tiny accept loop on
127.0.0.1 reads the request head itself and builds that environ, so any
WebSocket client can connect. Connections are served in threads, with a 64
KiB ``max_message_size`` (over it: Close 1009).

The server echoes; text ``which`` is answered with ``wsproto.__name__``,
``close CODE REASON`` makes it close with that code and reason. It prints
``[server] closed: ...`` per connection. The demo's client checks multi-byte
UTF-8 text, binary messages up to 64 KiB, closes both ways and the 1009.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time

import wsspec

wsspec.install_as_wsproto()  # before simple_websocket imports wsproto

import simple_websocket  # noqa: E402
import wsproto  # noqa: E402  (this is wsspec now)

HOST = "127.0.0.1"
MAX_MESSAGE = 64 * 1024
TEXTS = ["", "Grüße, κόσμε! 你好, 世界 🌍", "𝄞" * 1000, "ü" * 20_000]
BINARY_SIZES = [0, 1, 125, 126, 65_535, 65_536]


def say(line: str) -> None:
    print(line, flush=True)


def wsgi_environ(sock: socket.socket) -> dict[str, object]:
    """Read an HTTP request head from sock; the WSGI environ simple_websocket.Server wants."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk or len(head) > 65536:
            raise ConnectionError("no complete request head")
        head += chunk
    request_line, *lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    environ: dict[str, object] = {"REQUEST_METHOD": method, "PATH_INFO": path, "werkzeug.socket": sock}
    for line in lines:
        name, _, value = line.partition(":")
        environ["HTTP_" + name.strip().upper().replace("-", "_")] = value.strip()
    return environ


def serve_connection(sock: socket.socket) -> None:
    sock.settimeout(None)
    try:
        ws = simple_websocket.Server(wsgi_environ(sock), max_message_size=MAX_MESSAGE)
    except (OSError, RuntimeError) as exc:  # simple_websocket's errors are RuntimeErrors
        say(f"[server] no WebSocket handshake: {exc!r}")
        sock.close()
        return
    try:
        while True:
            message = ws.receive(timeout=30)
            if message is None:
                ws.close(1001, "idle")
                return
            if message == "which":
                ws.send(wsproto.__name__)
            elif isinstance(message, str) and message.startswith("close "):
                code, _, reason = message[len("close "):].partition(" ")
                ws.close(int(code), reason)
                say(f"[server] closed: code={code} reason={reason!r} (by the app)")
                return
            else:
                ws.send(message)
    except simple_websocket.ConnectionClosed as exc:
        say(f"[server] closed: code={int(exc.reason)} reason={exc.message!r}")


def serve(listener: socket.socket, seconds: float) -> None:
    """Accept and serve connections (each in a thread) until `seconds` have passed."""
    end = time.monotonic() + seconds
    listener.settimeout(0.2)
    while time.monotonic() < end:
        try:
            sock, _ = listener.accept()
        except (socket.timeout, OSError):
            continue
        threading.Thread(target=serve_connection, args=(sock,), daemon=True).start()


def listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen()
    say(f"[server] listening on ws://{HOST}:{listener.getsockname()[1]}/ (wsproto is {wsproto.__name__})")
    return listener


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"[client] FAILED: {what}")
    say(f"[client] ok       {what}")


def client_session(url: str) -> None:
    ws = simple_websocket.Client.connect(url)
    ws.send("which")
    check(ws.receive(timeout=10) == "wsspec", "server says its wsproto is wsspec")
    for text in TEXTS:
        ws.send(text)
        if ws.receive(timeout=10) != text:
            check(False, f"text of {len(text)} characters echoed")
    check(True, f"{len(TEXTS)} texts with multi-byte UTF-8 echoed")
    for size in BINARY_SIZES:
        data = os.urandom(size)
        ws.send(data)
        if ws.receive(timeout=10) != data:
            check(False, f"{size}-byte binary message echoed")
    check(True, f"binary messages of {BINARY_SIZES} bytes echoed")
    ws.close(4000, "client done ✓")
    check(True, "closed with 4000 and a reason")

    ws = simple_websocket.Client.connect(url)
    ws.send("close 4321 server says bye")
    try:
        ws.receive(timeout=10)
        ws.receive(timeout=10)
    except simple_websocket.ConnectionClosed as exc:
        check((exc.reason, exc.message) == (4321, "server says bye"), f"server's close seen: {exc}")
    else:
        check(False, "server's close seen")

    ws = simple_websocket.Client.connect(url)
    ws.send(b"x" * (MAX_MESSAGE + 1))
    try:
        ws.receive(timeout=10)
        ws.receive(timeout=10)
    except simple_websocket.ConnectionClosed as exc:
        check(exc.reason == 1009, f"message over max_message_size refused: {exc}")
    else:
        check(False, "message over max_message_size refused")
    say("[client] all checks passed")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    server = sub.add_parser("server", help="serve for --seconds, then exit")
    server.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    server.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    if args.mode == "server":
        with listen(args.port) as listener:
            serve(listener, args.seconds)
        return 0
    with listen(0) as listener:
        thread = threading.Thread(target=serve, args=(listener, 60.0), daemon=True)
        thread.start()
        client_session(f"ws://{HOST}:{listener.getsockname()[1]}/")
        time.sleep(0.2)  # let the server threads print how their connections closed
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
