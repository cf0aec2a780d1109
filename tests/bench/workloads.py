"""
The workloads of issue 6, as table rows.

Each measured row has a ``make(lib, cfg)`` that builds a :class:`Case` for
one library: its connections are set up (through the library's real
handshake) outside the timed code. ``Case.verify()`` checks the library
does the job correctly (payloads round-trip, the wire bytes are what RFC
6455 says) and raises ``AssertionError`` otherwise, so a broken library is
reported as FAIL instead of being timed. ``Case.run(n)`` runs ``n``
iterations and returns the elapsed seconds; one iteration is worth
``Case.per_iter`` of the row's unit. Memory rows have ``Case.measure(k)``
instead. ``libs.NotNegotiated`` from ``make`` means "n/a" (permessage-deflate
that a library cannot negotiate yet).

Inputs are generated from fixed seeds, so every library gets the same bytes.
"""

from __future__ import annotations

import gc
import json
import random
import tracemalloc
import zlib
from dataclasses import dataclass
from typing import Any, Callable

from .libs import NotNegotiated
from .wire import OP_BINARY, OP_TEXT, decode_frames, encode_frame

SMALL_TEXT = "0123456789abcdef"  # 16 bytes of UTF-8
SMALL_PER_CALL = 100
MIB = 1 << 20
KIB = 1 << 10
JSON_SIZE = 1 * KIB
JSON_COUNT = 64  # distinct messages, cycled
ECHO_MU, ECHO_SIGMA = 125 * KIB, 75 * KIB  # wsproto's bench/connection.py
ECHO_PAIRS = 40  # (client message, server message) pairs per timed batch
ECHO_SEED = 0  # wsproto's random_seed
FEED_STEP = 7
DEFLATE_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 §7.2.1


class Case:
    """One library's instance of one workload (see the module docstring)."""

    per_iter: float = 1.0

    def verify(self) -> None:
        raise NotImplementedError

    def run(self, n: int) -> float:
        raise NotImplementedError

    def measure(self, k: int) -> float:
        raise NotImplementedError


@dataclass
class Row:
    """One line of the table."""

    id: str
    key: str  # workload name for --only
    title: str
    unit: str
    kind: str  # "rate" (higher is better), "time" or "memory" (lower is better), "derived"
    make: Callable[[Any, Any], Case] | None = None
    reference: Callable[[Any], Case] | None = None  # the "zlib alone" limit of rows 4, 4-ng, 4-isal
    derive: Callable[[dict], dict] | None = None
    reference_label: str = "zlib"  # what the reference runs, for the title


def _keys(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(4) for _ in range(count)]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _joined(received: list[tuple[str, Any, bool]], kind: str) -> Any:
    """Concatenate the pieces of exactly one message of ``kind``."""
    _expect(bool(received), "no event received")
    for got_kind, _payload, _finished in received:
        _expect(got_kind == kind, f"expected {kind} events, got {got_kind}")
    _expect(received[-1][2], "message not finished")
    _expect(all(not finished for _k, _p, finished in received[:-1]), "more than one message")
    empty = "" if kind == "text" else b""
    return empty.join(payload for _k, payload, _f in received)


# ---------------------------------------------------------------------------
# 1. receive 16-byte masked text messages, 100 per receive_data call
# ---------------------------------------------------------------------------


class RecvSmall(Case):
    per_iter = SMALL_PER_CALL

    def __init__(self, lib: Any, cfg: Any) -> None:
        self.lib = lib
        payload = SMALL_TEXT.encode()
        self.chunk = b"".join(
            encode_frame(OP_TEXT, payload, mask_key=key) for key in _keys(1, SMALL_PER_CALL)
        )
        self.server = lib.pair()[1]

    def verify(self) -> None:
        for _ in range(2):  # twice: the second call starts from a used buffer
            got = self.lib.receive(self.server, self.chunk)
            _expect(got == [("text", SMALL_TEXT, True)] * SMALL_PER_CALL,
                    f"expected {SMALL_PER_CALL} TextMessage({SMALL_TEXT!r}), got {got[:3]!r}...")

    def run(self, n: int) -> float:
        return self.lib.loop_receive(self.server, self.chunk, n)


# ---------------------------------------------------------------------------
# 2. send 16-byte text messages from a client (serialise + mask)
# ---------------------------------------------------------------------------


class SendSmall(Case):
    def __init__(self, lib: Any, cfg: Any) -> None:
        self.lib = lib
        self.client = lib.pair()[0]

    def verify(self) -> None:
        for _ in range(4):
            frames = decode_frames(self.lib.send_text(self.client, SMALL_TEXT))
            _expect(len(frames) == 1, f"expected one frame, got {len(frames)}")
            frame = frames[0]
            _expect(frame.fin and frame.opcode == OP_TEXT and not frame.rsv1,
                    f"bad frame header {frame[:3]}")
            _expect(frame.masked, "client frame not masked")
            _expect(frame.payload == SMALL_TEXT.encode(), f"payload {frame.payload!r}")

    def run(self, n: int) -> float:
        return self.lib.loop_send_text(self.client, SMALL_TEXT, n)


# ---------------------------------------------------------------------------
# 3. 1 MiB binary message client -> server (mask + unmask)
# ---------------------------------------------------------------------------


class RoundTrip1MiB(Case):
    per_iter = 1.0  # MiB

    def __init__(self, lib: Any, cfg: Any) -> None:
        self.lib = lib
        self.payload = random.Random(3).randbytes(MIB)
        self.client, self.server = lib.pair()

    def verify(self) -> None:
        wire = self.lib.send_bytes(self.client, self.payload)
        frames = decode_frames(wire)
        _expect(len(frames) == 1 and frames[0].opcode == OP_BINARY and frames[0].fin,
                "expected one final BINARY frame")
        _expect(frames[0].masked, "client frame not masked")
        _expect(frames[0].payload == self.payload, "wire payload differs after unmasking")
        got = _joined(self.lib.receive(self.server, wire), "bytes")
        _expect(got == self.payload, "received payload differs from the sent one")

    def run(self, n: int) -> float:
        return self.lib.loop_roundtrip_bytes(self.client, self.server, self.payload, n)


# ---------------------------------------------------------------------------
# 4. permessage-deflate round trip of 1 KiB JSON-like text messages
# ---------------------------------------------------------------------------


def json_messages(count: int = JSON_COUNT, size: int = JSON_SIZE) -> list[str]:
    """``count`` distinct, valid JSON documents of exactly ``size`` ASCII bytes."""
    rng = random.Random(4)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
             "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]
    events = ["click", "view", "scroll", "purchase", "login", "logout", "search"]
    out = []
    for seq in range(count):
        doc: dict[str, Any] = {"seq": seq, "type": "batch", "items": [], "note": ""}
        while True:
            item = {
                "id": rng.randrange(10**9),
                "user": f"{rng.choice(words)}_{rng.randrange(10000)}",
                "event": rng.choice(events),
                "ts": 1_700_000_000 + rng.randrange(10**6),
                "score": round(rng.random() * 100, 3),
                "ok": rng.random() < 0.9,
                "tags": rng.sample(words, 3),
            }
            doc["items"].append(item)
            if len(json.dumps(doc)) > size:
                doc["items"].pop()
                break
        filler = size - len(json.dumps(doc))
        note = " ".join(rng.choice(words) for _ in range(filler))  # plenty, cut to length
        doc["note"] = note[:filler]
        text = json.dumps(doc)
        assert len(text.encode()) == size, len(text)
        out.append(text)
    return out


class DeflateRoundTrip(Case):
    """Row 4: each library's PerMessageDeflate with its default settings. Rows
    4-ng / 4-isal: wsspec with ``zlib_backend=backend`` (issue 12); the others,
    which have only the standard zlib, run row 4 again beside it."""

    def __init__(self, lib: Any, cfg: Any, backend: str | None = None) -> None:
        reason = lib.deflate_unavailable()
        if reason:
            raise NotNegotiated(reason)
        self.lib = lib
        self.texts = json_messages()
        self.per_iter = float(len(self.texts))
        options = {"zlib_backend": backend} if backend and lib.name == "wsspec" else {}
        self.client, self.server = lib.pair(deflate=True, deflate_options=options)

    def verify(self) -> None:
        for text in self.texts[:8]:
            wire = self.lib.send_text(self.client, text)
            frames = decode_frames(wire)
            _expect(len(frames) == 1 and frames[0].opcode == OP_TEXT, "expected one TEXT frame")
            _expect(frames[0].rsv1, "RSV1 not set: the message was not compressed")
            _expect(len(frames[0].payload) < len(text), "compressed payload is not smaller")
            _expect(frames[0].payload[-4:] != DEFLATE_TAIL, "sync-flush tail not stripped")
            got = _joined(self.lib.receive(self.server, wire), "text")
            _expect(got == text, "inflated text differs from the sent one")

    def run(self, n: int) -> float:
        # One iteration = every distinct message once, so each library
        # compresses exactly the same sequence however many it runs.
        return self.lib.loop_roundtrip_text(self.client, self.server, self.texts, n * len(self.texts))


class ZlibAlone(Case):
    """The limit for row 4: the same messages through zlib, nothing else.

    Row 4: the settings wsproto and websockets use here (their defaults):
    raw deflate with a 15-bit window (wbits -15), zlib's default level and
    memLevel (8), context takeover, Z_SYNC_FLUSH per message with the 4-byte
    tail stripped, and the tail appended again before inflating (RFC 7692
    §7.2). Rows 4-ng / 4-isal: that backend with wsspec's client settings
    (window 15, memLevel 5, the backend's default level: ISA-L's is 2).
    """

    name = "zlib"

    def __init__(self, cfg: Any, backend: str | None = None) -> None:
        self.raw = [text.encode() for text in json_messages()]
        self.per_iter = float(len(self.raw))
        if backend is None:
            module: Any = zlib
            self._settings: tuple[int, ...] = (zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        else:
            import importlib

            from wsspec.deflate import BACKEND_MODULES
            from wsspec._generated.permessage_deflate import DEFAULT_MEM_LEVEL

            module = importlib.import_module(BACKEND_MODULES[backend][0])
            self._settings = (module.Z_DEFAULT_COMPRESSION, module.DEFLATED, -15, DEFAULT_MEM_LEVEL)
        self.module = module
        self._compressor = module.compressobj(*self._settings)
        self._decompressor = module.decompressobj(-15)

    def verify(self) -> None:
        compressor = self.module.compressobj(*self._settings)
        decompressor = self.module.decompressobj(-15)
        for raw in self.raw:
            data = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)
            _expect(data[-4:] == DEFLATE_TAIL, "zlib sync flush without the tail")
            _expect(decompressor.decompress(data[:-4] + DEFLATE_TAIL) == raw, "zlib round trip")

    def run(self, n: int) -> float:
        from time import perf_counter

        compress = self._compressor.compress
        flush = self._compressor.flush
        decompress = self._decompressor.decompress
        sync, tail = zlib.Z_SYNC_FLUSH, DEFLATE_TAIL
        raw = self.raw
        t0 = perf_counter()
        for _ in range(n):
            for message in raw:
                data = compress(message) + flush(sync)
                decompress(data[:-4] + tail)
        return perf_counter() - t0


# ---------------------------------------------------------------------------
# 5. full opening handshake, client and server in memory
# ---------------------------------------------------------------------------


class Handshake(Case):
    def __init__(self, lib: Any, cfg: Any) -> None:
        self.lib = lib

    def verify(self) -> None:
        self.lib.pair()  # raises unless both ends are OPEN after a real handshake
        self.lib.loop_handshake(2)

    def run(self, n: int) -> float:
        return self.lib.loop_handshake(n)


# ---------------------------------------------------------------------------
# 6. wsproto's own benchmark: gaussian 125 KiB +- 75 KiB, echoed both ways
# ---------------------------------------------------------------------------


def echo_messages(count: int = ECHO_PAIRS) -> list[tuple[bytes, str]]:
    """wsproto's bench/connection.py sizes: ``max(0, round(gauss(mu, sigma)))``
    with seed 0, alternating client (bytes) and server (text) messages of zeros."""
    rng = random.Random(ECHO_SEED)
    out = []
    for _ in range(count):
        client_size = max(0, round(rng.gauss(ECHO_MU, ECHO_SIGMA)))
        server_size = max(0, round(rng.gauss(ECHO_MU, ECHO_SIGMA)))
        out.append((b"0" * client_size, "0" * server_size))
    return out


class Echo(Case):
    def __init__(self, lib: Any, cfg: Any) -> None:
        self.lib = lib
        self.messages = echo_messages()
        self.per_iter = float(len(self.messages))
        self.client, self.server = lib.pair()

    def verify(self) -> None:
        for client_msg, server_msg in self.messages[:3]:
            got = _joined(self.lib.receive(self.server, self.lib.send_bytes(self.client, client_msg)), "bytes")
            _expect(got == client_msg, "server received other bytes than the client sent")
            got = _joined(self.lib.receive(self.client, self.lib.send_text(self.server, server_msg)), "text")
            _expect(got == server_msg, "client received other text than the server sent")

    def run(self, n: int) -> float:
        # One iteration = the whole fixed sequence of message pairs.
        return self.lib.loop_echo(self.client, self.server, self.messages, n * len(self.messages))


# ---------------------------------------------------------------------------
# 7. a 64 KiB (and 256 KiB) message fed 7 bytes at a time
# ---------------------------------------------------------------------------


class Feed(Case):
    def __init__(self, lib: Any, cfg: Any, size: int) -> None:
        self.lib = lib
        self.payload = random.Random(7).randbytes(size)
        frame = encode_frame(OP_BINARY, self.payload, mask_key=_keys(7, 1)[0])
        self.chunks = [frame[i : i + FEED_STEP] for i in range(0, len(frame), FEED_STEP)]
        self.server = lib.pair()[1]

    def verify(self) -> None:
        received = []
        for chunk in self.chunks:
            received.extend(self.lib.receive(self.server, chunk))
        got = _joined(received, "bytes")
        _expect(got == self.payload, "reassembled payload differs from the sent one")

    def run(self, n: int) -> float:
        return self.lib.loop_feed(self.server, self.chunks, n)


def _feed(size: int) -> Callable[[Any, Any], Case]:
    return lambda lib, cfg: Feed(lib, cfg, size)


def _growth(results: dict) -> dict:
    out = {}
    for name, small in results["7a"].items():
        large = results["7b"].get(name)
        if isinstance(small, float) and isinstance(large, float) and small > 0:
            out[name] = large / small
        else:
            out[name] = small if not isinstance(small, float) else large
    return out


# ---------------------------------------------------------------------------
# 8. memory per idle OPEN connection pair
# ---------------------------------------------------------------------------


class Memory(Case):
    def __init__(self, lib: Any, cfg: Any, deflate: bool) -> None:
        if deflate:
            reason = lib.deflate_unavailable()
            if reason:
                raise NotNegotiated(reason)
        self.lib = lib
        self.deflate = deflate
        lib.pair(deflate)  # NotNegotiated here means n/a

    def verify(self) -> None:
        client, server = self.lib.pair(self.deflate)
        # 512 bytes: above wsspec's compression threshold (256 B), so it is compressed.
        text = SMALL_TEXT * 32
        wire = self.lib.send_text(client, text)
        if self.deflate:
            _expect(decode_frames(wire)[0].rsv1, "RSV1 not set with permessage-deflate")
        got = _joined(self.lib.receive(server, wire), "text")
        _expect(got == text, "a message did not cross the pair")

    def measure(self, k: int) -> float:
        """tracemalloc bytes held per OPEN (client, server) pair, over ``k`` pairs."""
        pair, deflate = self.lib.pair, self.deflate
        for _ in range(3):  # warm lazily built caches (regexes, enums, ...)
            pair(deflate)
        keep: list[Any] = [None] * (2 * k)  # allocated before the baseline
        gc.collect()
        if tracemalloc.is_tracing():
            raise RuntimeError("tracemalloc is already tracing")
        tracemalloc.start()
        try:
            gc.collect()
            base = tracemalloc.get_traced_memory()[0]
            for i in range(k):
                keep[2 * i], keep[2 * i + 1] = pair(deflate)
            gc.collect()
            used = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        del keep
        return used / k


def _memory(deflate: bool) -> Callable[[Any, Any], Case]:
    return lambda lib, cfg: Memory(lib, cfg, deflate)


def _deflate_backend(backend: str) -> Callable[[Any, Any], Case]:
    return lambda lib, cfg: DeflateRoundTrip(lib, cfg, backend)


def _backend_alone(backend: str) -> Callable[[Any], Case]:
    return lambda cfg: ZlibAlone(cfg, backend)


def _zlib_share(results: dict, row_id: str = "4") -> dict:
    limit = results[row_id].get("zlib")
    out = {}
    for name, value in results[row_id].items():
        if name == "zlib":
            continue
        if isinstance(value, float) and isinstance(limit, float) and limit > 0:
            out[name] = 100.0 * value / limit
        else:
            out[name] = value
    return out


# ---------------------------------------------------------------------------
# 9, 10. per call, as a server does it: one message per receive_data
# ---------------------------------------------------------------------------


class RecvSmallEach(Case):
    """Row 9: the 16 B masked text messages of row 1, but one per
    ``receive_data`` call with the events drained after each (a server
    reading a socket that carries one small message per read)."""

    per_iter = SMALL_PER_CALL

    def __init__(self, lib: Any, cfg: Any) -> None:
        self.lib = lib
        payload = SMALL_TEXT.encode()
        self.chunks = [encode_frame(OP_TEXT, payload, mask_key=key) for key in _keys(9, SMALL_PER_CALL)]
        self.server = lib.pair()[1]

    def verify(self) -> None:
        for chunk in self.chunks[:4]:
            got = self.lib.receive(self.server, chunk)
            _expect(got == [("text", SMALL_TEXT, True)], f"expected one TextMessage({SMALL_TEXT!r}), got {got!r}")

    def run(self, n: int) -> float:
        return self.lib.loop_receive_each(self.server, self.chunks, n)


class EchoSmallEach(Case):
    """Row 10: a server's echo, per call: one 16 B masked text per
    ``receive_data``, events drained, each message sent back with its own
    ``send()`` (unmasked server frame; the bytes are taken each time)."""

    per_iter = SMALL_PER_CALL

    def __init__(self, lib: Any, cfg: Any) -> None:
        self.lib = lib
        payload = SMALL_TEXT.encode()
        self.chunks = [encode_frame(OP_TEXT, payload, mask_key=key) for key in _keys(10, SMALL_PER_CALL)]
        self.server = lib.pair()[1]

    def verify(self) -> None:
        for chunk in self.chunks[:4]:
            got = self.lib.receive(self.server, chunk)
            _expect(got == [("text", SMALL_TEXT, True)], f"expected one TextMessage({SMALL_TEXT!r}), got {got!r}")
            frames = decode_frames(self.lib.send_text(self.server, got[0][1]))
            _expect(len(frames) == 1 and frames[0].opcode == OP_TEXT and frames[0].fin, "expected one TEXT frame")
            _expect(not frames[0].masked, "server frame masked")
            _expect(frames[0].payload == SMALL_TEXT.encode(), f"echoed payload {frames[0].payload!r}")

    def run(self, n: int) -> float:
        return self.lib.loop_echo_each(self.server, self.chunks, n)


ROWS: list[Row] = [
    Row("1", "recv-small", f"receive 16 B masked text, {SMALL_PER_CALL} per receive_data (server)",
        "msg/s", "rate", RecvSmall),
    Row("2", "send-small", "send 16 B text from a client (serialise + mask)", "msg/s", "rate", SendSmall),
    Row("3", "roundtrip-1mib", "1 MiB binary client -> server (mask + unmask)", "MiB/s", "rate", RoundTrip1MiB),
    Row("4", "deflate", "permessage-deflate 1 KiB JSON text client -> server", "msg/s", "rate",
        DeflateRoundTrip, reference=ZlibAlone),
    Row("4z", "deflate", "  same, as a share of zlib alone", "% of zlib", "derived", derive=_zlib_share),
    Row("4-ng", "deflate", "  same, wsspec with zlib_backend='zlib-ng' (the others: zlib, as row 4)", "msg/s",
        "rate", _deflate_backend("zlib-ng"), reference=_backend_alone("zlib-ng"), reference_label="zlib-ng"),
    Row("4z-ng", "deflate", "  same, as a share of zlib-ng alone (wsspec's settings)", "% of zlib-ng",
        "derived", derive=lambda results: {"wsspec": _zlib_share(results, "4-ng").get("wsspec", "n/a")}),
    Row("4-isal", "deflate", "  same, wsspec with zlib_backend='isal' (the others: zlib, as row 4)", "msg/s",
        "rate", _deflate_backend("isal"), reference=_backend_alone("isal"), reference_label="isal"),
    Row("4z-isal", "deflate", "  same, as a share of isal alone (wsspec's settings)", "% of isal",
        "derived", derive=lambda results: {"wsspec": _zlib_share(results, "4-isal").get("wsspec", "n/a")}),
    Row("5", "handshake", "opening handshake, client + server in memory", "handshakes/s", "rate", Handshake),
    Row("6", "wsproto-bench", "wsproto's bench: 125 KiB +- 75 KiB echoed both ways", "iterations/s", "rate", Echo),
    Row("7a", "feed-7", "64 KiB binary fed 7 B per receive_data", "ms/msg", "time", _feed(64 * KIB)),
    Row("7b", "feed-7", "256 KiB binary fed 7 B per receive_data", "ms/msg", "time", _feed(256 * KIB)),
    Row("7c", "feed-7", "  growth 256 KiB / 64 KiB (~4 = linear)", "x", "derived", derive=_growth),
    Row("8a", "memory", "memory per idle OPEN pair (tracemalloc)", "bytes", "memory", _memory(False)),
    Row("8b", "memory", "  same, permessage-deflate negotiated", "bytes", "memory", _memory(True)),
    Row("9", "recv-small-each", "receive 16 B masked text, one per receive_data + events() (server)",
        "msg/s", "rate", RecvSmallEach),
    Row("10", "echo-small-each", "server echo of 16 B text: one per receive_data, one send() each",
        "msg/s", "rate", EchoSmallEach),
]

WORKLOAD_NUMBERS = {
    "1": "recv-small", "2": "send-small", "3": "roundtrip-1mib", "4": "deflate",
    "5": "handshake", "6": "wsproto-bench", "7": "feed-7", "8": "memory",
    "9": "recv-small-each", "10": "echo-small-each",
}
WORKLOADS = list(WORKLOAD_NUMBERS.values())
