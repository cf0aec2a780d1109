"""
Wire-level building blocks for the fuzz harness: an independent frame
builder (every RFC 6455 §5.2 length form, including non-minimal ones and an
arbitrary announced length), masking, close payloads, permessage-deflate
compression (RFC 7692 §7.2.1) and permessage-deflate negotiation without a
handshake.

Nothing here uses wsspec's framing code: the harness must not share a bug
with the library it checks.
"""

from __future__ import annotations

import functools
import zlib
from typing import Any

TAIL = b"\x00\x00\xff\xff"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RESERVED_OPCODES = (0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF)
RSV1, RSV2, RSV3 = 0x4, 0x2, 0x1  # as a 3-bit field (bit 2 = RSV1)

#: Close codes a peer may send (RFC 6455 §7.4.1 as registered with IANA, 3000-4999).
VALID_CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                     3000, 3999, 4000, 4321, 4999)
#: Close codes that must be refused when received (RFC 6455 §7.4.1, §7.4.2).
INVALID_CLOSE_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)


def mask(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``key`` repeated (RFC 6455 §5.3)."""
    n = len(payload)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def header(opcode: int, length: int, *, fin: bool = True, rsv: int = 0, masked: bool = False,
           form: str = "min") -> bytes:
    """A frame header announcing ``length`` payload bytes, without the masking key.

    ``form``: ``"min"`` (the minimal length encoding), ``"16"`` (126 + 16 bits)
    or ``"64"`` (127 + 64 bits, any value < 2**64 incl. an MSB-set one).
    """
    byte0 = (0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0x0F)
    mbit = 0x80 if masked else 0
    if form == "min":
        form = "7" if length <= 125 else "16" if length <= 0xFFFF else "64"
    if form == "7":
        return bytes((byte0, mbit | length))
    if form == "16":
        return bytes((byte0, mbit | 126)) + length.to_bytes(2, "big")
    return bytes((byte0, mbit | 127)) + length.to_bytes(8, "big")


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, key: bytes | None = None,
          form: str = "min") -> bytes:
    """One complete frame; masked with ``key`` (4 bytes) if given."""
    head = header(opcode, len(payload), fin=fin, rsv=rsv, masked=key is not None, form=form)
    if key is None:
        return head + payload
    return head + key + mask(payload, key)


def close_payload(code: int | None, reason: bytes = b"") -> bytes:
    """A Close frame's payload: nothing, or the 2-byte code and the reason bytes."""
    if code is None:
        return b""
    return code.to_bytes(2, "big") + reason


def parse_frames(wire: bytes) -> list[tuple[bool, int, int, bool, bytes]]:
    """(fin, rsv, opcode, masked, unmasked payload) of each complete frame in ``wire``.

    Raises ValueError if ``wire`` is not a sequence of complete frames.
    """
    frames = []
    i = 0
    n = len(wire)
    while i < n:
        if n - i < 2:
            raise ValueError("truncated frame header")
        b0, b1 = wire[i], wire[i + 1]
        length = b1 & 0x7F
        i += 2
        if length == 126:
            length = int.from_bytes(wire[i:i + 2], "big")
            i += 2
        elif length == 127:
            length = int.from_bytes(wire[i:i + 8], "big")
            i += 8
        key = None
        if b1 & 0x80:
            key = wire[i:i + 4]
            i += 4
        payload = wire[i:i + length]
        if len(payload) != length or i > n:
            raise ValueError("truncated frame")
        i += length
        frames.append((bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, key is not None,
                       mask(payload, key) if key is not None else payload))
    return frames


class Compressor:
    """The permessage-deflate sender of one direction (RFC 7692 §7.2.1).

    :param window_bits: the agreed max window bits of the sender (9..15 used).
    :param no_context_takeover: start a fresh LZ77 window for every message.
    """

    def __init__(self, window_bits: int, no_context_takeover: bool) -> None:
        self.wbits = max(window_bits, 9)
        self.nct = no_context_takeover
        self._obj: Any = None

    def message(self, data: bytes, *, bfinal: bool = False, level: int = 6) -> bytes:
        """The compressed payload of one whole message, tail removed.

        ``bfinal``: end the message with a final block (RFC 7692 §7.2.3.4)
        instead of an empty stored block; the next message then starts a new
        stream with no back-references into this one (valid in either mode).
        """
        if self._obj is None or self.nct or bfinal:
            obj = zlib.compressobj(level, zlib.DEFLATED, -self.wbits)
        else:
            obj = self._obj
        if bfinal:
            self._obj = None
            return obj.compress(data) + obj.flush(zlib.Z_FINISH)
        out = obj.compress(data) + obj.flush(zlib.Z_SYNC_FLUSH)
        if not self.nct:
            self._obj = obj
        assert out.endswith(TAIL), out
        return out[:-4]


@functools.lru_cache(maxsize=64)
def bomb(size: int) -> bytes:
    """A raw DEFLATE stream (sync-flushed, tail removed) inflating to ``size`` zero bytes."""
    obj = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(min(size, 1 << 20))
    out = []
    left = size
    while left > 0:
        piece = chunk if left >= len(chunk) else chunk[:left]
        out.append(obj.compress(piece))
        left -= len(piece)
    out.append(obj.flush(zlib.Z_SYNC_FLUSH))
    data = b"".join(out)
    return data[:-4]


def pmd_offer(params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the client's PerMessageDeflate from a params dict."""
    return {
        "client_no_context_takeover": bool(params.get("client_nct")),
        "server_no_context_takeover": bool(params.get("server_nct")),
        "client_max_window_bits": params.get("client_bits"),
        "server_max_window_bits": params.get("server_bits"),
    }


def negotiate(params: dict[str, Any]) -> tuple[Any, Any]:
    """(server_ext, client_ext): two enabled wsspec PerMessageDeflate objects
    negotiated without a handshake (the client offers ``params``, the server
    accepts with defaults). Raises if negotiation fails (a harness bug)."""
    from wsspec.extensions import PerMessageDeflate

    client_ext = PerMessageDeflate(**pmd_offer(params))
    name = PerMessageDeflate.name
    offer = client_ext.offer()
    server_ext = PerMessageDeflate()
    answer = server_ext.accept(f"{name}; {offer}" if offer else name)
    client_ext.finalize(f"{name}; {answer}" if isinstance(answer, str) and answer else name)
    assert server_ext.enabled() and client_ext.enabled()
    return server_ext, client_ext


def peer_compression(params: dict[str, Any], side: str) -> tuple[int, bool]:
    """(window bits, no context takeover) with which the PEER of ``side``
    compresses, after negotiating ``params``."""
    server_ext, client_ext = negotiate(params)
    if side == "server":  # the peer is the client
        return server_ext.client_max_window_bits, server_ext.client_no_context_takeover
    return client_ext.server_max_window_bits, client_ext.server_no_context_takeover
