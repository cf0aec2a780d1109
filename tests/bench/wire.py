"""
A minimal, independent RFC 6455 frame encoder and decoder.

Used only to build benchmark inputs that are identical for every library
and to check the bytes a library puts on the wire. Deliberately simple and
slow: it is never on a timed path.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


def xor_mask(data: bytes, key: bytes) -> bytes:
    """``data`` XOR the 4-byte ``key`` repeated (RFC 6455 §5.3)."""
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def encode_frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False,
    mask_key: bytes | None = None,
) -> bytes:
    """One frame; masked with ``mask_key`` (4 bytes) when given."""
    byte0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    masked = 0x80 if mask_key is not None else 0
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", byte0, masked | n)
    elif n < 65536:
        header = struct.pack("!BBH", byte0, masked | 126, n)
    else:
        header = struct.pack("!BBQ", byte0, masked | 127, n)
    if mask_key is None:
        return header + payload
    return header + mask_key + xor_mask(payload, mask_key)


class WireFrame(NamedTuple):
    fin: bool
    rsv1: bool
    opcode: int
    masked: bool
    payload: bytes  # unmasked


def decode_frames(data: bytes) -> list[WireFrame]:
    """Every frame in ``data``, which must hold whole frames only."""
    frames = []
    pos = 0
    while pos < len(data):
        byte0, byte1 = data[pos], data[pos + 1]
        pos += 2
        n = byte1 & 0x7F
        if n == 126:
            (n,) = struct.unpack_from("!H", data, pos)
            pos += 2
        elif n == 127:
            (n,) = struct.unpack_from("!Q", data, pos)
            pos += 8
        key = None
        if byte1 & 0x80:
            key = data[pos : pos + 4]
            pos += 4
        payload = data[pos : pos + n]
        if len(payload) != n:
            raise ValueError("truncated frame")
        pos += n
        if key is not None:
            payload = xor_mask(payload, key)
        frames.append(
            WireFrame(bool(byte0 & 0x80), bool(byte0 & 0x40), byte0 & 0x0F, key is not None, payload)
        )
    return frames
