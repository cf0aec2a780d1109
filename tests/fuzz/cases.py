"""
Structure-aware generation of fuzz inputs for an OPEN connection.

Every input is a :class:`ConnCase`, generated from ``random.Random`` seeded by
``(seed, index)``, so it is reproducible from those two numbers; it is also
fully serialisable (``to_json``) so a failing one can be replayed byte for
byte. A case carries the wire bytes, the way they are fed (split points,
when ``events()`` is drained, whether EOF follows) and what must come out:

* ``mode == "exact"``: a well-formed stream; every item is delivered.
* ``mode == "violation"``: well-formed items, then ONE deliberate violation
  at offset ``cut``: every item ending at or before ``cut`` is delivered,
  then exactly one ``CloseConnection(code)``, nothing else.
* ``mode == "mutated"``: a well-formed stream with random byte mutations;
  ``cut`` is the first changed offset, and every item ending at or before it
  must still be delivered (the library cannot know about later bytes); the
  rest is checked with the general invariants only.

An item is ``(end, kind, data)``: ``end`` is the wire offset just after the
item's last frame, ``kind`` one of ``text``/``bytes``/``ping``/``pong``/
``close``, ``data`` a ``str`` / ``bytes`` / ``(code, reason)``.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from . import wire as W

KiB = 1024

#: (name, close code, needs) for every deliberate violation. ``needs``:
#: "pmd" (only with permessage-deflate), "nopmd", "mms" (a max_message_size),
#: "mfs" (a max_frame_size).
VIOLATIONS: dict[str, tuple[int, str]] = {
    "reserved_opcode": (1002, ""),
    "rsv_without_extension": (1002, ""),
    "fragmented_control": (1002, ""),
    "control_payload_over_125": (1002, ""),
    "nonminimal_length_16": (1002, ""),
    "nonminimal_length_64": (1002, ""),
    "length_64_msb_set": (1002, ""),
    "wrong_masking": (1002, ""),
    "continuation_without_start": (1002, ""),
    "new_message_inside_fragmented": (1002, ""),
    "invalid_utf8_text": (1007, ""),
    "invalid_utf8_close_reason": (1007, ""),
    "close_payload_1_byte": (1002, ""),
    "invalid_close_code": (1002, ""),
    "corrupt_deflate": (1007, "pmd"),
    "rsv1_on_control": (1002, "pmd"),
    "rsv1_on_continuation": (1002, "pmd"),
    "header_over_max_message_size": (1009, "mms"),
    "header_over_max_frame_size": (1009, "mfs"),
    "message_over_limit_by_fragments": (1009, "mms"),
    "message_over_limit_by_inflation": (1009, "mms+pmd"),
    "inflation_bomb": (1009, "mms+pmd"),
}

# Definitely invalid UTF-8 (RFC 3629): invalid as soon as the last byte shown arrives.
BAD_UTF8 = (b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80",
            b"\xe0\x9f\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x80\x80\x80",
            b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xe2\x28\xa1", b"\xc3\x28",
            b"\xf0\x28\x8c\xbc", b"\xf8\x88\x80\x80\x80")
# Valid prefixes that the message then ends in (invalid only at the end of the message).
TRUNCATED_UTF8 = (b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xed", b"\xf4\x8f\xbf")

ASCII = [chr(c) for c in range(32, 127)] + ["\n", "\t", "\x00", "\x7f"]
MULTI = ["é", "ß", "ÿ", "\u0080", "\u07ff", "€", "中", "\u0800", "\uffff", "\ufffe", "\ud7ff",
         "\ue000", "😀", "𝄞", "\U00010000", "\U0010ffff"]
MIXED = ASCII * 2 + MULTI
_BLEN = {ch: len(ch.encode()) for ch in ASCII + MULTI}


@dataclass
class ConnCase:
    """One fuzz input for an open Connection (see the module docstring)."""

    seed: int
    index: int
    category: str
    side: str  # "server" (receives masked frames) or "client"
    pmd: dict[str, Any] | None  # permessage-deflate offer params, or None
    max_message_size: int | None
    max_frame_size: int | None
    wire: bytes
    items: list[tuple[int, str, Any]]
    mode: str  # "exact" | "violation" | "mutated"
    cut: int | None = None
    code: int | None = None
    partial: tuple[str, Any] | None = None
    ends: list[int] = field(default_factory=list)  # end offset of each piece fed
    drains: list[int] = field(default_factory=list)  # per piece: 0 none, -1 all, k>0 at most k events
    eof: bool = False
    note: str = ""
    local_close: bool = False  # we sent Close(1000) before any byte arrived (LOCAL_CLOSING)
    kind: str = "conn"

    # -- serialisation ----------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["wire"] = base64.b64encode(self.wire).decode()
        d["items"] = [[end, kind, _enc(data)] for end, kind, data in self.items]
        d["partial"] = None if self.partial is None else [self.partial[0], _enc(self.partial[1])]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ConnCase:
        d = dict(d)
        d["wire"] = base64.b64decode(d["wire"])
        d["items"] = [(end, kind, _dec(data)) for end, kind, data in d["items"]]
        d["partial"] = None if d["partial"] is None else (d["partial"][0], _dec(d["partial"][1]))
        return cls(**d)


def _enc(data: Any) -> Any:
    if isinstance(data, (bytes, bytearray)):
        return {"b64": base64.b64encode(bytes(data)).decode()}
    if isinstance(data, tuple):
        return {"tuple": [_enc(x) for x in data]}
    return data


def _dec(data: Any) -> Any:
    if isinstance(data, dict):
        if "b64" in data:
            return base64.b64decode(data["b64"])
        return tuple(_dec(x) for x in data["tuple"])
    return data


def dumps(case: Any) -> str:
    return json.dumps(case.to_json())


# ----------------------------------------------------------------------------
# content
# ----------------------------------------------------------------------------


def gen_text(rng: random.Random, nbytes: int) -> str:
    """A str whose UTF-8 encoding is exactly ``nbytes`` bytes (ASCII padding at the end)."""
    if nbytes <= 0:
        return ""
    style = rng.random()
    pool = ASCII if style < 0.4 else MIXED if style < 0.8 else MULTI
    if nbytes > 2048:  # a repeated random chunk: fast, and compressible
        chunk = gen_text(rng, rng.randint(16, 512))
        text = chunk * (nbytes // len(chunk.encode()))
        return text + "x" * (nbytes - len(text.encode()))
    chars = rng.choices(pool, k=nbytes)
    sizes = list(itertools.accumulate(map(_BLEN.__getitem__, chars)))
    k = bisect.bisect_right(sizes, nbytes)
    return "".join(chars[:k]) + "a" * (nbytes - (sizes[k - 1] if k else 0))


def gen_bytes(rng: random.Random, n: int) -> bytes:
    r = rng.random()
    if r < 0.55 or n == 0:
        return rng.randbytes(n)
    if r < 0.75:
        return bytes(n)
    pat = rng.randbytes(rng.randint(1, 16))
    return (pat * (n // len(pat) + 1))[:n]


def gen_size(rng: random.Random, limit: int) -> int:
    """A payload size in bytes, at most ``limit``: mostly small, all length forms."""
    r = rng.random()
    if r < 0.25:
        n = rng.randint(0, 3)
    elif r < 0.75:
        n = rng.randint(4, 125)
    elif r < 0.78:
        n = rng.choice((125, 126, 127, 65535, 65536, 65537))
    elif r < 0.97:
        n = rng.randint(126, 2048)
    elif r < 0.995:
        n = rng.randint(2049, max(2049, min(limit, 70000)))
    else:
        n = limit  # exactly at max_message_size: must be accepted
    return min(n, limit)


# ----------------------------------------------------------------------------
# the stream builder
# ----------------------------------------------------------------------------


class Builder:
    """Appends well-formed frames for one receiving side and records items."""

    def __init__(self, rng: random.Random, side: str, peer_pmd: tuple[int, bool] | None,
                 mms: int | None, mfs: int | None) -> None:
        self.rng = rng
        self.masked = side == "server"
        self.out = bytearray()
        self.items: list[tuple[int, str, Any]] = []
        self.comp = W.Compressor(*peer_pmd) if peer_pmd else None
        self.mms = mms
        self.mfs = mfs
        self.msg_limit = min(mms if mms is not None else 1 << 20, 150 * KiB)
        self.zero_keys = rng.random() < 0.1

    def key(self, masked: bool | None = None) -> bytes | None:
        if not (self.masked if masked is None else masked):
            return None
        if self.zero_keys:
            return b"\x00\x00\x00\x00"
        return self.rng.randbytes(4)

    def emit(self, opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0,
             form: str = "min", masked: bool | None = None) -> None:
        self.out += W.frame(opcode, payload, fin=fin, rsv=rsv, key=self.key(masked), form=form)

    def control(self) -> None:
        rng = self.rng
        op = W.OP_PING if rng.random() < 0.6 else W.OP_PONG
        r = rng.random()
        n = 0 if r < 0.25 else 125 if r < 0.35 else rng.randint(1, 124)
        payload = rng.randbytes(n)
        self.emit(op, payload)
        self.items.append((len(self.out), "ping" if op == W.OP_PING else "pong", payload))

    def content(self, kind: str, nbytes: int) -> tuple[Any, bytes]:
        if kind == "text":
            text = gen_text(self.rng, nbytes)
            return text, text.encode()
        data = gen_bytes(self.rng, nbytes)
        return data, data

    def fragments(self, payload: bytes, nfrag: int | None = None) -> list[bytes]:
        """Split a (wire) payload at random points, each piece within max_frame_size."""
        rng = self.rng
        if nfrag is None:
            r = rng.random()
            nfrag = 1 if r < 0.5 else rng.randint(2, 6) if r < 0.95 else rng.randint(7, 40)
        cuts = sorted(rng.randint(0, len(payload)) for _ in range(nfrag - 1))
        pieces = []
        prev = 0
        for c in cuts + [len(payload)]:
            pieces.append(payload[prev:c])
            prev = c
        if self.mfs is not None:
            bounded = []
            for p in pieces:
                if len(p) <= self.mfs:
                    bounded.append(p)
                else:
                    bounded.extend(p[i:i + self.mfs] for i in range(0, len(p), self.mfs))
            pieces = bounded
        return pieces

    def message(self, *, kind: str | None = None, size: int | None = None, leave_open: bool = False,
                interleave: bool = True, compressed: bool | None = None) -> tuple[str, Any]:
        """Append a data message (possibly fragmented, compressed, with control
        frames interleaved). ``leave_open``: stop before its last fragment
        (at least one fragment is sent). Returns (kind, content)."""
        rng = self.rng
        kind = kind or ("text" if rng.random() < 0.5 else "bytes")
        if size is None:
            size = gen_size(rng, self.msg_limit)
        content, raw = self.content(kind, size)
        if compressed is None:
            compressed = self.comp is not None and rng.random() < 0.75
        payload = raw
        if compressed:
            bfinal = rng.random() < 0.1
            payload = self.comp.message(raw, bfinal=bfinal)
        frags = self.fragments(payload)
        if leave_open:
            if len(frags) == 1:
                cut = rng.randint(0, len(payload))
                frags = [payload[:cut], payload[cut:]]
                if self.mfs is not None and len(frags[0]) > self.mfs:
                    frags[0] = frags[0][:self.mfs]
            frags = frags[:rng.randint(1, len(frags) - 1)]
        opcode = W.OP_TEXT if kind == "text" else W.OP_BINARY
        last = len(frags) - 1
        for i, frag in enumerate(frags):
            if i and interleave and rng.random() < 0.2:
                self.control()
            self.emit(opcode if i == 0 else W.OP_CONT, frag, fin=(i == last and not leave_open),
                      rsv=W.RSV1 if compressed and i == 0 else 0)
        if leave_open and interleave and rng.random() < 0.3:
            self.control()
        if not leave_open:
            self.items.append((len(self.out), kind, content))
        return kind, content

    def close(self) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.2:
            self.emit(W.OP_CLOSE, b"")
            self.items.append((len(self.out), "close", (1005, "")))
            return
        code = rng.choice(W.VALID_CLOSE_CODES)
        reason = "" if r < 0.4 else gen_text(rng, rng.randint(0, 123))
        self.emit(W.OP_CLOSE, W.close_payload(code, reason.encode()))
        self.items.append((len(self.out), "close", (code, reason)))

    def some(self, count: int) -> None:
        for _ in range(count):
            if self.rng.random() < 0.75:
                self.message()
            else:
                self.control()


# ----------------------------------------------------------------------------
# violations
# ----------------------------------------------------------------------------


def _applicable(name: str, pmd: bool, mms: int | None, mfs: int | None) -> bool:
    needs = VIOLATIONS[name][1]
    if "pmd" in needs and not pmd:
        return False
    if "mms" in needs and mms is None:
        return False
    if "mfs" in needs and mfs is None:
        return False
    return True


def add_violation(b: Builder, name: str) -> tuple[int, tuple[str, Any] | None, str]:
    """Append the violation ``name``; returns (offset, partial message, note).

    Items that end at or before ``offset`` are complete before the violation.
    """
    rng = b.rng
    partial: tuple[str, Any] | None = None
    may_open = name not in ("continuation_without_start", "header_over_max_message_size",
                            "message_over_limit_by_fragments", "message_over_limit_by_inflation",
                            "inflation_bomb", "invalid_utf8_text", "corrupt_deflate")
    must_open = name in ("new_message_inside_fragmented", "rsv1_on_continuation")
    open_compressed = False
    if must_open or (may_open and rng.random() < 0.3):
        if name == "header_over_max_frame_size":
            partial = b.message(leave_open=True, compressed=False)
        else:
            compressed = None if name != "rsv1_on_continuation" else (b.comp is not None and rng.random() < 0.5)
            before = len(b.out)
            partial = b.message(leave_open=True, compressed=compressed)
            open_compressed = bool(b.comp) and bool(b.out[before] & 0x40)
    opened = partial is not None
    data_op = W.OP_CONT if opened else rng.choice((W.OP_TEXT, W.OP_BINARY))
    offset = len(b.out)
    note = ""
    small = rng.randbytes(rng.randint(0, 20))
    text_small = gen_text(rng, rng.randint(0, 20)).encode()

    if name == "reserved_opcode":
        op = rng.choice(W.RESERVED_OPCODES)
        note = f"opcode {op:#x}"
        b.emit(op, small, fin=rng.random() < 0.8)
    elif name == "rsv_without_extension":
        choices = [W.RSV2, W.RSV3, W.RSV2 | W.RSV3]
        if b.comp is None:
            choices += [W.RSV1, W.RSV1 | W.RSV2]
        rsv = rng.choice(choices)
        op = rng.choice((data_op, W.OP_PING, W.OP_PONG))
        note = f"rsv {rsv:03b} opcode {op:#x}"
        b.emit(op, text_small if op == W.OP_TEXT or (op == W.OP_CONT and partial and partial[0] == "text")
               else small, rsv=rsv)
    elif name == "fragmented_control":
        op = rng.choice((W.OP_PING, W.OP_PONG, W.OP_CLOSE))
        note = f"opcode {op:#x} without FIN"
        b.emit(op, W.close_payload(1000) if op == W.OP_CLOSE else small, fin=False)
    elif name == "control_payload_over_125":
        op = rng.choice((W.OP_PING, W.OP_PONG, W.OP_CLOSE))
        n = rng.choice((126, 127, rng.randint(126, 1000)))
        if b.mfs is not None:  # stay within max_frame_size: one violation at a time
            n = min(n, max(126, b.mfs))
        payload = W.close_payload(1000, b"r" * (n - 2)) if op == W.OP_CLOSE else rng.randbytes(n)
        note = f"opcode {op:#x} payload {n}"
        b.emit(op, payload)
    elif name == "nonminimal_length_16":
        n = rng.randint(0, 125)
        note = f"{n} bytes in the 16-bit form"
        b.emit(data_op, b"a" * n, form="16")
    elif name == "nonminimal_length_64":
        n = rng.choice((0, 1, 125, 126, rng.randint(0, 2000)))
        if b.mfs is not None:
            n = min(n, b.mfs)
        note = f"{n} bytes in the 64-bit form"
        b.emit(data_op, b"a" * n, form="64")
    elif name == "length_64_msb_set":
        length = (1 << 63) | rng.choice((0, 1, 200, rng.getrandbits(62)))
        note = f"length {length:#x}"
        b.out += W.header(data_op, length, form="64", masked=b.masked) + (b.key() or b"") + small
    elif name == "wrong_masking":
        note = "masked frame to a client" if not b.masked else "unmasked frame to a server"
        op = rng.choice((data_op, W.OP_PING, W.OP_PONG, W.OP_CLOSE))
        b.emit(op, W.close_payload(1000) if op == W.OP_CLOSE else text_small, masked=not b.masked)
    elif name == "continuation_without_start":
        b.emit(W.OP_CONT, text_small, fin=rng.random() < 0.7)
    elif name == "new_message_inside_fragmented":
        op = rng.choice((W.OP_TEXT, W.OP_BINARY))
        b.emit(op, text_small, fin=rng.random() < 0.7)
    elif name == "invalid_utf8_text":
        prefix = gen_text(rng, min(rng.choice((0, rng.randint(0, 200), rng.randint(0, 5000))), b.msg_limit - 40))
        if rng.random() < 0.75:
            bad = rng.choice(BAD_UTF8)
            raw = prefix.encode() + bad + gen_text(rng, rng.randint(0, 30)).encode()
        else:
            bad = rng.choice(TRUNCATED_UTF8)
            raw = prefix.encode() + bad
        note = f"bad bytes {bad!r} after {len(prefix.encode())} bytes"
        compressed = b.comp is not None and rng.random() < 0.6
        payload = b.comp.message(raw) if compressed else raw
        frags = b.fragments(payload)
        for i, frag in enumerate(frags):
            b.emit(W.OP_TEXT if i == 0 else W.OP_CONT, frag, fin=i == len(frags) - 1,
                   rsv=W.RSV1 if compressed and i == 0 else 0)
        partial = ("text", prefix)
    elif name == "invalid_utf8_close_reason":
        bad = rng.choice(BAD_UTF8 + TRUNCATED_UTF8)
        reason = gen_text(rng, rng.randint(0, 40)).encode() + bad
        reason = reason[:123]
        note = f"reason {reason!r}"
        b.emit(W.OP_CLOSE, W.close_payload(rng.choice(W.VALID_CLOSE_CODES), reason))
    elif name == "close_payload_1_byte":
        b.emit(W.OP_CLOSE, rng.randbytes(1))
    elif name == "invalid_close_code":
        code = rng.choice(W.INVALID_CLOSE_CODES)
        note = f"code {code}"
        b.emit(W.OP_CLOSE, W.close_payload(code, b"" if rng.random() < 0.5 else b"bye"))
    elif name == "corrupt_deflate":
        kind = rng.choice(("text", "bytes"))
        content, raw = b.content(kind, min(rng.choice((0, rng.randint(0, 300), rng.randint(0, 5000))),
                                           b.msg_limit - 40))
        payload = (b.comp.message(raw) if raw and rng.random() < 0.7 else b"")
        payload += rng.choice((b"\x06\x00\x00\x00", b"\xff\xff\xff\xff", b"\x07")) + rng.randbytes(rng.randint(0, 30))
        note = f"garbage after {len(raw)} valid bytes"
        frags = b.fragments(payload)
        for i, frag in enumerate(frags):
            b.emit(W.OP_TEXT if kind == "text" and i == 0 else W.OP_BINARY if i == 0 else W.OP_CONT,
                   frag, fin=i == len(frags) - 1, rsv=W.RSV1 if i == 0 else 0)
        partial = (kind, content)
    elif name == "rsv1_on_control":
        op = rng.choice((W.OP_PING, W.OP_PONG, W.OP_CLOSE))
        b.emit(op, W.close_payload(1000) if op == W.OP_CLOSE else small, rsv=W.RSV1)
    elif name == "rsv1_on_continuation":
        note = "inside a compressed message" if open_compressed else "inside an uncompressed message"
        b.emit(W.OP_CONT, small, rsv=W.RSV1, fin=rng.random() < 0.5)
    elif name == "header_over_max_message_size":
        assert b.mms is not None
        length = rng.choice((b.mms + 1, b.mms + rng.randint(2, 5000), 1 << 40, (1 << 63) - 1))
        op = rng.choice((W.OP_TEXT, W.OP_BINARY))
        note = f"header announcing {length} bytes"
        b.out += W.header(op, length, masked=b.masked, fin=rng.random() < 0.5) + (b.key() or b"")
        b.out += b"a" * rng.randint(0, 100)
    elif name == "header_over_max_frame_size":
        assert b.mfs is not None
        length = b.mfs + rng.choice((1, rng.randint(2, 3000)))
        if b.mms is not None and length > b.mms:
            length = b.mfs + 1
        note = f"header announcing {length} bytes"
        rsv = W.RSV1 if b.comp is not None and not opened and rng.random() < 0.5 else 0
        b.out += W.header(data_op, length, masked=b.masked, rsv=rsv) + (b.key() or b"")
        b.out += b"a" * rng.randint(0, 100)
    elif name == "message_over_limit_by_fragments":
        assert b.mms is not None
        kind = rng.choice(("text", "bytes"))
        size = b.mms + rng.choice((1, rng.randint(2, 3000)))
        content, raw = b.content(kind, size)
        step = b.mms if b.mfs is None else min(b.mms, b.mfs)
        frags = b.fragments(raw, rng.randint(2, 6))
        frags = [f[i:i + step] for f in frags for i in range(0, max(len(f), 1), step)]
        note = f"{len(raw)} bytes in {len(frags)} uncompressed fragments"
        for i, frag in enumerate(frags):
            b.emit((W.OP_TEXT if kind == "text" else W.OP_BINARY) if i == 0 else W.OP_CONT, frag,
                   fin=i == len(frags) - 1)
        partial = (kind, content)
    elif name in ("message_over_limit_by_inflation", "inflation_bomb"):
        assert b.mms is not None and b.comp is not None
        kind = rng.choice(("text", "bytes"))
        if name == "inflation_bomb":
            size = rng.choice((b.mms + 1, b.mms * 4, 16 * b.mms)) if rng.random() < 0.97 else 1 << 26
            raw = bytes(size)
            payload = W.bomb(size)
            content: Any = "\x00" * min(size, b.mms + 1) if kind == "text" else bytes(min(size, b.mms + 1))
        else:
            content, raw = b.content(kind, b.mms + rng.choice((1, rng.randint(2, 3000))))
            payload = b.comp.message(raw)
        note = f"{len(payload)} compressed bytes inflating to {len(raw)}"
        frags = b.fragments(payload)
        for i, frag in enumerate(frags):
            b.emit((W.OP_TEXT if kind == "text" else W.OP_BINARY) if i == 0 else W.OP_CONT, frag,
                   fin=i == len(frags) - 1, rsv=W.RSV1 if i == 0 else 0)
        partial = (kind, content)
    else:  # pragma: no cover - table and code out of sync
        raise AssertionError(name)
    return offset, partial, note


# ----------------------------------------------------------------------------
# mutations and feeding schedules
# ----------------------------------------------------------------------------


def mutate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """1-3 random byte mutations; returns (mutated, description)."""
    buf = bytearray(data)
    ops = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        n = len(buf)
        op = rng.choice(("flip", "set", "truncate", "insert", "duplicate", "delete"))
        if n == 0:
            op = "insert"
        if op == "flip":
            pos = rng.randrange(n)
            buf[pos] ^= 1 << rng.randrange(8)
            ops.append(f"flip@{pos}")
        elif op == "set":
            pos = rng.randrange(n)
            buf[pos] = rng.randrange(256)
            ops.append(f"set@{pos}")
        elif op == "truncate":
            pos = rng.randrange(n)
            del buf[pos:]
            ops.append(f"truncate@{pos}")
        elif op == "insert":
            pos = rng.randint(0, n)
            buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
            ops.append(f"insert@{pos}")
        elif op == "duplicate":
            a = rng.randrange(n)
            end = min(n, a + rng.choice((rng.randint(1, 16), rng.randint(1, 256), rng.randint(1, 4096))))
            c = rng.randint(0, n)
            buf[c:c] = buf[a:end]
            ops.append(f"dup[{a}:{end}]@{c}")
        else:
            a = rng.randrange(n)
            end = min(n, a + rng.randint(1, 64))
            del buf[a:end]
            ops.append(f"delete[{a}:{end}]")
    return bytes(buf), " ".join(ops)


def first_difference(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # binary search on equal prefixes: O(n log n) worst, fast in C
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    for i in range(lo, hi):
        if a[i] != b[i]:
            return i
    return hi


def schedule(rng: random.Random, n: int, *, empty_pieces: bool = False) -> tuple[list[int], list[int]]:
    """(end offset of each piece, drain code after each piece) for ``n`` bytes.

    ``empty_pieces``: sometimes feed ``b""`` too (not for a handshake, where
    ``b""`` means EOF as in wsproto)."""
    r = rng.random()
    if n == 0:
        ends = [0]
    elif r < 0.2:
        ends = [n]
    elif r < 0.28 and n <= 1024:
        ends = list(range(1, n + 1))
    elif r < 0.4 and n <= 8192:
        step_max = rng.choice((2, 7, 16))
        steps = rng.choices(range(1, step_max + 1), k=n // ((step_max + 1) // 2) + 1)
        ends = [e for e in itertools.accumulate(steps) if e < n] + [n]
    else:
        k = rng.randint(1, min(n, 20))
        ends = sorted(set(rng.randint(1, n) for _ in range(k)) | {n})
    if empty_pieces and rng.random() < 0.1:
        ends = sorted(ends + [rng.choice(ends) for _ in range(rng.randint(1, 3))] + [0])
    policy = rng.random()
    if policy < 0.3:
        drains = [0] * len(ends)
    elif policy < 0.6:
        drains = [-1] * len(ends)
    else:
        drains = [(-1 if rng.random() < 0.7 else rng.randint(1, 3)) if rng.random() < 0.4 else 0
                  for _ in ends]
    return ends, drains


# ----------------------------------------------------------------------------
# top level
# ----------------------------------------------------------------------------

LIMIT_CHOICES = ((64 * KiB, None), (64 * KiB, 16 * KiB), (4 * KiB, None), (4 * KiB, 1 * KiB),
                 (128 * KiB, None), (64 * KiB, 200))
PMD_CHOICES = ({}, {"client_nct": True, "server_nct": True}, {"client_bits": 9, "server_bits": 9},
               {"client_bits": 12, "server_nct": True}, {"server_bits": 10, "client_nct": True},
               {"client_bits": 15, "server_bits": 15})


def gen_conn_case(seed: int, index: int, *, has_limits: bool = True, mode: str | None = None,
                  violation: str | None = None) -> ConnCase:
    """The connection fuzz input number ``index`` of ``seed``."""
    rng = random.Random(seed * 1_000_003 + index)
    side = "server" if rng.random() < 0.6 else "client"
    pmd = dict(rng.choice(PMD_CHOICES)) if rng.random() < 0.45 else None
    mms, mfs = rng.choice(LIMIT_CHOICES) if has_limits else (None, None)
    peer = W.peer_compression(pmd, side) if pmd is not None else None
    b = Builder(rng, side, peer, mms, mfs)
    if mode is None:
        r = rng.random()
        mode = "exact" if r < 0.3 else "violation" if r < 0.7 else "mutated"
    r = rng.random()
    count = 0 if r < 0.15 else rng.randint(1, 6) if r < 0.9 else rng.randint(7, 40)
    b.some(count)
    cut = code = partial = None
    note = ""
    name = ""
    if mode == "violation":
        names = [v for v in VIOLATIONS if _applicable(v, pmd is not None, mms, mfs)]
        name = violation or rng.choice(names)
        cut, partial, note = add_violation(b, name)
        code = VIOLATIONS[name][0]
        if rng.random() < 0.6:  # whatever follows must be ignored
            tail = Builder(rng, side, None, None, None)
            tail.some(rng.randint(1, 4))
            b.out += tail.out
    else:
        if rng.random() < 0.3:
            b.close()
            if rng.random() < 0.5:
                b.out += rng.randbytes(rng.randint(1, 40))
    data = bytes(b.out)
    if mode == "mutated":
        data, note = mutate(rng, data)
        cut = first_difference(data, bytes(b.out))
    ends, drains = schedule(rng, len(data), empty_pieces=True)
    local_close = rng.random() < 0.1
    category = f"{side}/{'pmd' if pmd is not None else 'plain'}/{mode}" + (f":{name}" if name else "")
    return ConnCase(seed=seed, index=index, category=category, side=side, pmd=pmd,
                    max_message_size=mms, max_frame_size=mfs, wire=data, items=b.items, mode=mode,
                    cut=cut, code=code, partial=partial, ends=ends, drains=drains,
                    eof=rng.random() < 0.3, note=note, local_close=local_close)
