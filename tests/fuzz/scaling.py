"""
The scaling check: pathological input families built at size ``n`` and
``4 n``; linear processing takes about 4 times as long for the larger one,
quadratic 16 times. :func:`ratio` returns ``median(t(4 n)) / median(t(n))``
over 3 runs each, and the check is ``ratio < 8``.

Each family returns a zero-argument callable that does the whole work (input
building happens before, untimed) and checks that the work was really done,
so a family cannot pass by failing early.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any, Callable

from . import wire as W

KEY = b"\x11\x22\x33\x44"
RATIO_LIMIT = 8.0


def _server(**limits: Any) -> Any:
    from wsspec.connection import Connection, ConnectionType

    return Connection(ConnectionType.SERVER, max_message_size=None, **limits)


def _events(conn: Any) -> list[Any]:
    return list(conn.events())


def many_1byte_fragments(n: int) -> Callable[[], None]:
    """A text message of ``n`` 1-byte fragments, fed at once."""
    data = bytearray(W.frame(W.OP_TEXT, b"a", fin=False, key=KEY))
    frag = W.frame(W.OP_CONT, b"b", fin=False, key=KEY)
    data += frag * (n - 2)
    data += W.frame(W.OP_CONT, b"c", key=KEY)
    wire = bytes(data)

    def run() -> None:
        conn = _server()
        conn.receive_data(wire)
        events = _events(conn)
        assert events[-1].message_finished and sum(len(e.data) for e in events) == n

    return run


def trickle_7(n: int) -> Callable[[], None]:
    """One ``n``-byte binary frame fed 7 bytes at a time, events drained each time."""
    wire = W.frame(W.OP_BINARY, bytes(n), key=KEY)
    pieces = [wire[i:i + 7] for i in range(0, len(wire), 7)]

    def run() -> None:
        conn = _server()
        total = 0
        for piece in pieces:
            conn.receive_data(piece)
            for event in conn.events():
                total += len(event.data)
        assert total == n

    return run


def trickle_7_no_drain(n: int) -> Callable[[], None]:
    """One ``n``-byte frame fed 7 bytes at a time, events drained once at the end."""
    wire = W.frame(W.OP_BINARY, bytes(n), key=KEY)
    pieces = [wire[i:i + 7] for i in range(0, len(wire), 7)]

    def run() -> None:
        conn = _server()
        for piece in pieces:
            conn.receive_data(piece)
        assert sum(len(e.data) for e in _events(conn)) == n

    return run


def many_pings(n: int) -> Callable[[], None]:
    """``n`` pings in one chunk."""
    wire = W.frame(W.OP_PING, b"ping", key=KEY) * n

    def run() -> None:
        conn = _server()
        conn.receive_data(wire)
        assert len(_events(conn)) == n

    return run


def long_invalid_utf8(n: int) -> Callable[[], None]:
    """A text message of ``n`` bytes of 3-byte characters ending in an invalid
    byte, fed in 2-byte pieces (every piece ends mid-character)."""
    payload = ("€" * (n // 3)).encode() + b"\xff"
    wire = W.frame(W.OP_TEXT, payload, key=KEY)
    pieces = [wire[i:i + 2] for i in range(0, len(wire), 2)]

    def run() -> None:
        conn = _server()
        events: list[Any] = []
        for piece in pieces:
            conn.receive_data(piece)
            events.extend(conn.events())
        assert events[-1].code == 1007, events[-1]

    return run


def deflate_1byte_fragments(n: int) -> Callable[[], None]:
    """A compressed message whose ``n`` compressed bytes come in 1-byte fragments."""
    from wsspec.connection import Connection, ConnectionType

    comp = W.Compressor(15, False)
    raw = random.Random(n).randbytes(n)  # incompressible: about n compressed bytes
    payload = comp.message(raw)
    frames = [W.frame(W.OP_BINARY, payload[:1], fin=False, rsv=W.RSV1, key=KEY)]
    frames += [W.frame(W.OP_CONT, payload[i:i + 1], fin=False, key=KEY) for i in range(1, len(payload) - 1)]
    frames.append(W.frame(W.OP_CONT, payload[-1:], key=KEY))
    wire = b"".join(frames)

    def run() -> None:
        server_ext, _ = W.negotiate({})
        conn = Connection(ConnectionType.SERVER, extensions=[server_ext], max_message_size=None)
        conn.receive_data(wire)
        assert sum(len(e.data) for e in _events(conn)) == len(raw)

    return run


def many_tiny_headers(n: int) -> Callable[[], None]:
    """An upgrade request with ``n`` tiny headers, fed 16 bytes at a time."""
    from wsspec import WSConnection
    from wsspec.connection import ConnectionType
    from wsspec.events import Request

    head = [b"GET / HTTP/1.1", b"Host: h", b"Upgrade: websocket", b"Connection: Upgrade",
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", b"Sec-WebSocket-Version: 13"]
    head += [b"x%d: y" % i for i in range(n)]
    wire = b"\r\n".join(head) + b"\r\n\r\n"
    pieces = [wire[i:i + 16] for i in range(0, len(wire), 16)]

    def run() -> None:
        ws = WSConnection(ConnectionType.SERVER, max_incomplete_event_size=len(wire) + 1)
        events: list[Any] = []
        for piece in pieces:
            ws.receive_data(piece)
            events.extend(ws.events())
        assert len(events) == 1 and isinstance(events[0], Request)

    return run


#: name -> (builder, n). Sizes are chosen so that the ``n`` run takes ~10-50 ms.
FAMILIES: dict[str, tuple[Callable[[int], Callable[[], None]], int]] = {
    "many_1byte_fragments": (many_1byte_fragments, 4000),
    "trickle_7": (trickle_7, 40000),
    "trickle_7_no_drain": (trickle_7_no_drain, 400000),
    "many_pings": (many_pings, 4000),
    "long_invalid_utf8": (long_invalid_utf8, 20000),
    "deflate_1byte_fragments": (deflate_1byte_fragments, 3000),
    "many_tiny_headers": (many_tiny_headers, 3000),
}


def _median_time(fn: Callable[[], None], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ratio(name: str, n: int | None = None, builder: Callable[[int], Callable[[], None]] | None = None,
          ) -> tuple[float, float, float]:
    """(t(n), t(4n), ratio) for a family (median of 3 runs each)."""
    build, default_n = FAMILIES[name] if builder is None else (builder, n or 1000)
    n = n or default_n
    small, large = build(n), build(4 * n)
    small()  # warm up (imports, caches)
    t_small = _median_time(small)
    t_large = _median_time(large)
    return t_small, t_large, t_large / t_small
