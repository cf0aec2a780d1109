"""
The load generator of ``python -m tests.bench.e2e``: raw sockets, pre-built frames.

``python -m tests.bench.e2e_load --port P --workload W --conns N --messages M``

It must not be the bottleneck, so it runs no WebSocket library: every
masked client frame is built before the load window (``wire.encode_frame``;
for permessage-deflate, compressed with zlib raw deflate in sequence, one
context per connection as RFC 7692 context takeover requires, RSV1 set,
the sync-flush tail stripped), and the reader only parses frame headers to
count the echoed messages and their payload bytes. It is one process,
separate from the server, with its CPU time measured by itself
(``time.process_time()``) over the load window, so the report shows both.

Phases, driven by the parent over stdin/stdout (one JSON line each way):

1. handshake: N connections, each a real HTTP/1.1 Upgrade with a random
   ``Sec-WebSocket-Key``; the 101, ``Sec-WebSocket-Accept`` and (for the
   deflate workload: the client offers ``permessage-deflate;
   client_max_window_bits`` as Chromium does) the negotiated extension are
   checked;
2. correctness: on connection 0, the first ``CHECK`` messages are sent one
   by one and every echo is decoded in full (inflated, for deflate) and
   compared with what was sent;
3. prints ``{"phase": "ready"}`` and waits for ``go`` on stdin;
4. load window: every connection keeps ``--window`` messages in flight (1:
   the next message leaves when the previous echo is back, as a chat client
   does) until each has had M echoes; then prints the result JSON (wall
   time, own CPU time, messages and payload bytes echoed) and only then
   closes the connections (Close 1000, masked).

Timeouts everywhere (``--timeout``, default 60 s): a stuck server fails the run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import selectors
import socket
import struct
import sys
import time
import zlib
from typing import Any

from .wire import OP_BINARY, OP_TEXT, encode_frame
from .workloads import json_messages

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
DEFLATE_TAIL = b"\x00\x00\xff\xff"
OFFER = "permessage-deflate; client_max_window_bits"  # what Chromium sends
CHECK = 3  # messages verified in full on connection 0 before the load window
DISTINCT = 16  # distinct pre-built frames cycled (non-deflate workloads)

#: name -> (opcode, payload size in bytes, permessage-deflate)
WORKLOADS = {
    "text-16": (OP_TEXT, 16, False),
    "text-4k": (OP_TEXT, 4096, False),
    "binary-64k": (OP_BINARY, 65536, False),
    "json-1k-deflate": (OP_TEXT, 1024, True),
}


def _payloads(workload: str, count: int) -> list[bytes]:
    opcode, size, deflate = WORKLOADS[workload]
    if deflate:
        docs = json_messages()
        return [docs[i % len(docs)].encode() for i in range(count)]
    rng = random.Random(13)
    if opcode == OP_TEXT:
        alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789 "
        return [bytes(rng.choice(alphabet) for _ in range(size)) for _ in range(min(count, DISTINCT))]
    return [rng.randbytes(size) for _ in range(min(count, DISTINCT))]


class Conn:
    __slots__ = ("sock", "buf", "sent", "echoed", "echo_bytes", "frames", "next", "pong")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.sent = 0
        self.echoed = 0
        self.echo_bytes = 0
        self.frames: list[bytes] = []
        self.next = 0


def handshake(port: int, deflate: bool, timeout: float, path: str = "/echo") -> tuple[socket.socket, dict, bytes]:
    """A connected socket after a 101, the response headers, and bytes read past them."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16))
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
        + (f"Sec-WebSocket-Extensions: {OFFER}\r\n" if deflate else "")
        + "\r\n"
    ).encode()
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"server closed during the handshake: {data!r}")
        data += chunk
        if len(data) > 65536:
            raise ConnectionError("handshake response too long")
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 101"):
        raise ConnectionError(f"expected 101, got {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        headers[name] = (headers[name] + ", " if name in headers else "") + value.strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    if headers.get("sec-websocket-accept") != accept:
        raise ConnectionError(f"bad Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")
    return sock, headers, rest


def parse_extension(headers: dict, deflate: bool) -> dict[str, Any]:
    """The negotiated permessage-deflate parameters (RFC 7692 §7.1)."""
    value = headers.get("sec-websocket-extensions", "")
    if not deflate:
        if value:
            raise ConnectionError(f"extension negotiated without an offer: {value!r}")
        return {}
    params = [p.strip() for p in value.split(";")]
    if not params or params[0] != "permessage-deflate" or "," in value:
        raise ConnectionError(f"permessage-deflate not accepted: {value!r}")
    out: dict[str, Any] = {"client_wbits": 15, "server_wbits": 15,
                           "client_no_context_takeover": False, "server_no_context_takeover": False}
    for param in params[1:]:
        name, _, arg = param.partition("=")
        arg = arg.strip().strip('"')
        if name == "client_max_window_bits" and arg:
            out["client_wbits"] = int(arg)
        elif name == "server_max_window_bits" and arg:
            out["server_wbits"] = int(arg)
        elif name in ("client_no_context_takeover", "server_no_context_takeover"):
            out[name] = True
        else:
            raise ConnectionError(f"unexpected parameter in {value!r}")
    out["header"] = value
    return out


def build_frames(workload: str, count: int, ext: dict) -> list[bytes]:
    """The client's masked frames, in order (for deflate: one compression context)."""
    opcode, _size, deflate = WORKLOADS[workload]
    payloads = _payloads(workload, count)
    rng = random.Random(17)
    if not deflate:
        return [encode_frame(opcode, p, mask_key=rng.randbytes(4)) for p in payloads]
    wbits = max(ext["client_wbits"], 9)  # zlib cannot deflate raw with 8 (RFC 7692 §7.1.2.2 allows 9)
    compressor = None
    frames = []
    for raw in payloads:
        if compressor is None or ext["client_no_context_takeover"]:
            compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -wbits)
        data = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)
        if not data.endswith(DEFLATE_TAIL):
            raise AssertionError("zlib sync flush without the tail")
        frames.append(encode_frame(opcode, data[:-4], rsv1=True, mask_key=rng.randbytes(4)))
    return frames


def _parse(buf: bytearray, keep: bool, limit: int = -1) -> tuple[list[tuple[int, bool, bool, Any]], int]:
    """Complete frames at the start of ``buf`` (at most ``limit``): (opcode, fin,
    rsv1, payload or, unless ``keep``, its length for data frames), bytes used."""
    out: list[tuple[int, bool, bool, Any]] = []
    pos = 0
    end = len(buf)
    while end - pos >= 2 and len(out) != limit:
        b0, b1 = buf[pos], buf[pos + 1]
        if b1 & 0x80:
            raise ConnectionError("server frame is masked")
        n = b1 & 0x7F
        head = 2
        if n == 126:
            if end - pos < 4:
                break
            n = struct.unpack_from("!H", buf, pos + 2)[0]
            head = 4
        elif n == 127:
            if end - pos < 10:
                break
            n = struct.unpack_from("!Q", buf, pos + 2)[0]
            head = 10
        if end - pos < head + n:
            break
        opcode = b0 & 0x0F
        payload = bytes(buf[pos + head : pos + head + n]) if (keep or opcode >= 8) else n
        out.append((opcode, bool(b0 & 0x80), bool(b0 & 0x40), payload))
        pos += head + n
    return out, pos


def _read_message(sock: socket.socket, conn: Conn) -> tuple[int, bool, bytes]:
    """One whole data message (opcode, rsv1, payload), answering pings on the way."""
    while True:
        frames, used = _parse(conn.buf, keep=True, limit=1)
        if frames:
            opcode, fin, rsv1, payload = frames[0]
            del conn.buf[:used]
            if opcode == 0x9:
                sock.sendall(encode_frame(0xA, payload, mask_key=os.urandom(4)))
                continue
            if opcode == 0xA:
                continue
            if not fin:
                raise ConnectionError("fragmented echo (not expected from the echo app)")
            return opcode, rsv1, payload
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        conn.buf += chunk


def check(sock: socket.socket, conn: Conn, workload: str, frames: list[bytes], ext: dict) -> int:
    """Send the first CHECK messages one by one; each echo must equal what was sent."""
    opcode, _size, deflate = WORKLOADS[workload]
    payloads = _payloads(workload, CHECK)
    decompressor = None
    for i in range(CHECK):
        sock.sendall(frames[i])
        got_opcode, rsv1, payload = _read_message(sock, conn)
        if got_opcode != opcode:
            raise AssertionError(f"echo {i}: opcode {got_opcode}, sent {opcode}")
        if deflate:
            if not rsv1:
                raise AssertionError(f"echo {i}: RSV1 not set on a permessage-deflate connection")
            if decompressor is None or ext["server_no_context_takeover"]:
                decompressor = zlib.decompressobj(-ext["server_wbits"])
            payload = decompressor.decompress(payload + DEFLATE_TAIL)
        elif rsv1:
            raise AssertionError(f"echo {i}: RSV1 set without permessage-deflate")
        if payload != payloads[i % len(payloads)]:
            raise AssertionError(f"echo {i}: payload differs from the one sent ({len(payload)} bytes)")
    return CHECK


def load(conns: list[Conn], messages: int, window: int, timeout: float) -> None:
    sel = selectors.DefaultSelector()
    for conn in conns:
        conn.sock.setblocking(True)
        sel.register(conn.sock, selectors.EVENT_READ, conn)
    try:
        for conn in conns:
            for _ in range(min(window, messages)):
                _send_next(conn)
        active = len(conns)
        deadline = time.monotonic() + timeout
        while active:
            ready = sel.select(timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"no echo within {timeout:g} s ({active} connections unfinished)")
            for key, _mask in ready:
                conn = key.data
                chunk = conn.sock.recv(262144)
                if not chunk:
                    raise ConnectionError("server closed a connection during the load window")
                conn.buf += chunk
                frames, used = _parse(conn.buf, keep=False)
                if used:
                    del conn.buf[:used]
                for opcode, fin, _rsv1, payload in frames:
                    if opcode == 0x9:
                        conn.sock.sendall(encode_frame(0xA, payload, mask_key=os.urandom(4)))
                        continue
                    if opcode >= 0x8:
                        if opcode == 0x8:
                            raise ConnectionError(f"server closed: {payload!r}")
                        continue
                    conn.echo_bytes += payload
                    if fin:
                        conn.echoed += 1
                        if conn.sent < messages:
                            _send_next(conn)
                        elif conn.echoed == messages:
                            active -= 1
    finally:
        sel.close()


def _send_next(conn: Conn) -> None:
    conn.sock.sendall(conn.frames[conn.next % len(conn.frames)])
    conn.next += 1
    conn.sent += 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.e2e_load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workload", choices=sorted(WORKLOADS) + ["whoami"], required=True)
    parser.add_argument("--conns", type=int, default=16)
    parser.add_argument("--messages", type=int, default=500, help="per connection, in the load window")
    parser.add_argument("--window", type=int, default=1, help="messages in flight per connection")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    if args.workload == "whoami":
        sock, _headers, rest = handshake(args.port, False, args.timeout, path="/whoami")
        conn = Conn(sock)
        conn.buf += rest
        _opcode, _rsv1, payload = _read_message(sock, conn)
        sock.close()
        print(payload.decode(), flush=True)
        return 0

    _opcode, size, deflate = WORKLOADS[args.workload]
    conns: list[Conn] = []
    ext: dict[str, Any] = {}
    try:
        for i in range(args.conns):
            sock, headers, rest = handshake(args.port, deflate, args.timeout)
            conn = Conn(sock)
            conn.buf += rest
            conns.append(conn)
            got = parse_extension(headers, deflate)
            if i == 0:
                ext = got
            elif got != ext:
                raise ConnectionError(f"connections negotiated differently: {got} vs {ext}")
        # Deflate: each connection compresses its own sequence (context takeover), so the
        # sequence is as long as the connection's messages; identical for all connections.
        count = args.messages + CHECK if deflate else DISTINCT
        frames = build_frames(args.workload, count, ext)
        for conn in conns:
            conn.frames = frames
        checked = check(conns[0].sock, conns[0], args.workload, frames, ext)
        conns[0].next = CHECK
        print(json.dumps({"phase": "ready", "extension": ext.get("header")}), flush=True)
        if sys.stdin.readline().strip() != "go":
            return 2
        cpu0, t0 = time.process_time(), time.perf_counter()
        load(conns, args.messages, args.window, args.timeout)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        expected_bytes = None if deflate else args.messages * size * len(conns)
        echo_bytes = sum(c.echo_bytes for c in conns)
        result = {
            "phase": "done", "messages": sum(c.echoed for c in conns), "wall_s": wall, "cpu_s": cpu,
            "echo_bytes": echo_bytes, "expected_bytes": expected_bytes, "checked": checked,
            "bytes_ok": expected_bytes is None or echo_bytes == expected_bytes,
        }
        print(json.dumps(result), flush=True)
    finally:
        close = struct.pack("!H", 1000)
        for conn in conns:
            try:
                conn.sock.sendall(encode_frame(0x8, close, mask_key=os.urandom(4)))
            except OSError:
                pass
            conn.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
