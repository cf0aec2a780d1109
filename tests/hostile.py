"""
What a hostile peer costs: peak memory (tracemalloc) of a server connection
fed (1) a frame header announcing 2 GiB followed by payload, (2) a 200 MiB
decompression bomb, (3) a message in 10,000 one-byte fragments; for wsspec
with its default limits and for wsproto 1.3.2, each with the same small
application on top that joins message chunks into whole messages (what
uvicorn, hypercorn and trio-websocket do).

    python -m tests.hostile

Used by tests/test_limits.py, which asserts the bounds for wsspec.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
MASK = b"\x37\xfa\x21\x3d"
READ_SIZE = 64 * KiB  # bytes handed to receive_data per call, as one socket read
TAIL = b"\x00\x00\xff\xff"


def mask(payload: bytes, key: bytes = MASK) -> bytes:
    n = len(payload)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def header(opcode: int, length: int, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A masked (client to server) frame header announcing ``length`` payload bytes."""
    byte0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    if length <= 125:
        head = bytes([byte0, 0x80 | length])
    elif length < 1 << 16:
        head = bytes([byte0, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        head = bytes([byte0, 0x80 | 127]) + length.to_bytes(8, "big")
    return head + MASK


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    return header(opcode, len(payload), fin=fin, rsv1=rsv1) + mask(payload)


def bomb(size: int = 200 * MiB) -> bytes:
    """``size`` zero bytes deflated as a permessage-deflate peer sends them (no tail)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MiB)
    data = b"".join(compressor.compress(zeros) for _ in range(size // MiB)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]


# -- the wire of each attack, as a sequence of reads ---------------------------------


def giant_frame_reads(fed: int = 64 * MiB) -> Iterable[bytes]:
    """A binary frame header announcing 2 GiB, then ``fed`` bytes of its payload."""
    yield header(0x2, 2 * GiB)
    chunk = mask(os.urandom(READ_SIZE))  # masking a fixed pattern: content is irrelevant
    for _ in range(fed // READ_SIZE):
        yield chunk


def bomb_reads(data: bytes) -> Iterable[bytes]:
    wire = frame(0x2, data, rsv1=True)
    for i in range(0, len(wire), READ_SIZE):
        yield wire[i : i + READ_SIZE]


def fragment_reads(count: int = 10_000) -> Iterable[bytes]:
    """One text message in ``count`` one-byte fragments, all in one read."""
    frames = [frame(0x1, b"a", fin=False)]
    frames += [frame(0x0, b"a", fin=False)] * (count - 2)
    frames.append(frame(0x0, b"a", fin=True))
    yield b"".join(frames)


# -- the libraries under test ----------------------------------------------------------


def wsspec_server(deflate: bool, zlib_backend: str = "zlib") -> Any:
    from wsspec.connection import Connection, ConnectionType
    from wsspec.extensions import PerMessageDeflate

    extensions = []
    if deflate:
        ext = PerMessageDeflate(zlib_backend=zlib_backend)
        assert ext.accept("permessage-deflate") is not None  # the server side of a plain offer
        extensions.append(ext)
    return Connection(ConnectionType.SERVER, extensions)


def wsproto_server(deflate: bool) -> Any:
    from wsproto.connection import Connection, ConnectionType
    from wsproto.extensions import PerMessageDeflate

    extensions = []
    if deflate:
        ext = PerMessageDeflate()
        assert ext.accept("permessage-deflate") is not None
        extensions.append(ext)
    return Connection(ConnectionType.SERVER, extensions)


@dataclass
class Outcome:
    peak: int  # tracemalloc peak over what the fresh connection held, bytes
    delivered: int  # message bytes the application received
    messages: int  # whole messages assembled
    close: Any  # the CloseConnection event, if any
    fed: int  # wire bytes fed


def run(
    make: Callable[[bool], Any], reads: Iterable[bytes], *, deflate: bool = False, assemble: bool = True
) -> Outcome:
    """Feed ``reads`` to a fresh server connection under tracemalloc, with an
    application that joins message chunks into whole messages (``assemble``;
    else it drops them: the library's own cost) and stops at the first
    CloseConnection."""
    reads = list(reads)  # build the wire outside the measurement
    make(deflate)  # imports happen outside the measurement
    gc.collect()
    tracemalloc.start()
    try:
        conn = make(deflate)
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        parts: list[Any] = []
        delivered = messages = fed = 0
        close = None
        for data in reads:
            conn.receive_data(data)
            fed += len(data)
            for event in conn.events():
                name = type(event).__name__
                if name in ("TextMessage", "BytesMessage"):
                    if assemble:
                        parts.append(event.data)
                    delivered += len(event.data)
                    if event.message_finished and assemble:
                        whole = parts[0][:0].join(parts)
                        parts.clear()
                        messages += 1
                        del whole
                elif name == "CloseConnection":
                    close = event
            if close is not None:
                break
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return Outcome(peak, delivered, messages, close, fed)


def _describe(alone: Outcome, app: Outcome) -> str:
    if app.close is not None:
        what = f"CloseConnection({int(app.close.code)})"
    elif app.messages:
        what = f"{app.messages} message complete"
    else:
        what = "no outcome, still reading"
    return (f"{alone.peak:>13,} B {app.peak:>13,} B  {app.fed:>11,} B {app.delivered:>12,} B  {what}")


def main() -> None:
    data = bomb()
    attacks = [
        ("2 GiB frame header, then 64 MiB of its payload", lambda: giant_frame_reads(), False),
        (f"200 MiB decompression bomb ({len(data) / KiB:.0f} KiB on the wire)", lambda: bomb_reads(data), True),
        ("10,000 one-byte fragments of one message", lambda: fragment_reads(), False),
    ]
    print("Peak memory (tracemalloc) of a server connection with default settings, fed in 64 KiB reads;")
    print("'library' drops the delivered data, '+ app' joins it into whole messages as servers do.")
    for title, reads, deflate in attacks:
        print(f"\n{title}:")
        print(f"  {'':8}{'peak, library':>15} {'peak, + app':>15}  {'wire fed':>13} {'data delivered':>14}  outcome")
        for name, make in (("wsspec", wsspec_server), ("wsproto", wsproto_server)):
            alone = run(make, reads(), deflate=deflate, assemble=False)
            app = run(make, reads(), deflate=deflate)
            print(f"  {name:8}{_describe(alone, app)}")


if __name__ == "__main__":
    main()
