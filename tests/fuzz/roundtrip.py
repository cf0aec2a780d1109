"""
Round trips: the library's own sending ``Connection`` (the peer's role, so
a client masks with random keys, compresses with permessage-deflate when
negotiated) produces the wire; the receiving side must deliver every event
intact. The wire is stored in the case, so a finding replays byte for byte
although the masking keys are random.
"""

from __future__ import annotations

import random
from typing import Any

from . import cases as C
from . import wire as W


class SenderError(Exception):
    """The sending side raised something other than a ProtocolError: a finding."""


def gen_roundtrip_case(seed: int, index: int) -> C.ConnCase:
    from wsspec.connection import Connection, ConnectionType
    from wsspec.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

    rng = random.Random(seed * 1_000_003 + index)
    side = "server" if rng.random() < 0.5 else "client"
    pmd = dict(rng.choice(C.PMD_CHOICES)) if rng.random() < 0.5 else None
    mms, mfs = rng.choice(C.LIMIT_CHOICES)
    exts = []
    if pmd is not None:
        server_ext, client_ext = W.negotiate(pmd)
        exts = [client_ext if side == "server" else server_ext]
    sender = Connection(ConnectionType.CLIENT if side == "server" else ConnectionType.SERVER, extensions=exts)
    out = bytearray()
    items: list[tuple[int, str, Any]] = []
    frag_max = None if mfs is None else max(1, mfs - 64)
    if frag_max is not None and pmd is not None:
        # Compressed fragments may be larger than the raw ones: with memLevel 5 (wsspec's
        # default) zlib ends a block every 2,048 symbols, and with a window of 10 bits or
        # fewer it cannot fall back to a stored block, so incompressible data grows by up
        # to ~2.3% (block headers). Leave 1/32 for that.
        frag_max = max(1, frag_max - mfs // 32)
    limit = min(mms, 150 * 1024) - 64

    def send(event: Any) -> None:
        try:
            out.extend(sender.send(event))
        except Exception as exc:  # noqa: BLE001 - reported as a finding
            raise SenderError(f"sender.send({type(event).__name__}) raised {type(exc).__name__}: {exc}") from exc

    def control() -> None:
        payload = rng.randbytes(rng.choice((0, rng.randint(1, 125), 125)))
        if rng.random() < 0.6:
            send(Ping(payload=payload))
            items.append((len(out), "ping", payload))
        else:
            send(Pong(payload=payload))
            items.append((len(out), "pong", payload))

    for _ in range(rng.choice((1, 2, 3, rng.randint(4, 30)))):
        if rng.random() < 0.25:
            control()
            continue
        kind = "text" if rng.random() < 0.5 else "bytes"
        size = C.gen_size(rng, limit)
        if kind == "text":
            content: Any = C.gen_text(rng, size)
            raw = content.encode()
        else:
            content = raw = C.gen_bytes(rng, size)
        nfrag = 1 if rng.random() < 0.5 else rng.randint(2, 8)
        if frag_max is not None:
            nfrag = max(nfrag, len(raw) // frag_max + 2)
        # Text fragments must be whole characters on the sending API (str).
        if kind == "text":
            cuts = sorted(rng.randint(0, len(content)) for _ in range(nfrag - 1))
            if frag_max is not None:
                cuts = list(range(frag_max // 4, len(content), max(1, frag_max // 4)))
            pieces = [content[a:b] for a, b in zip([0] + cuts, cuts + [len(content)])]
        else:
            cuts = sorted(rng.randint(0, len(raw)) for _ in range(nfrag - 1))
            if frag_max is not None:
                cuts = list(range(frag_max, len(raw), frag_max))
            pieces = [raw[a:b] for a, b in zip([0] + cuts, cuts + [len(raw)])]
        for i, piece in enumerate(pieces):
            if i and rng.random() < 0.15:
                control()
            last = i == len(pieces) - 1
            send(TextMessage(data=piece, message_finished=last) if kind == "text"
                 else BytesMessage(data=piece, message_finished=last))
        items.append((len(out), kind, content))
    if rng.random() < 0.3:
        code = rng.choice(W.VALID_CLOSE_CODES)
        reason = C.gen_text(rng, rng.randint(0, 123)) if rng.random() < 0.5 else ""
        send(CloseConnection(code=code, reason=reason))
        items.append((len(out), "close", (code, reason)))
    data = bytes(out)
    ends, drains = C.schedule(rng, len(data))
    return C.ConnCase(seed=seed, index=index, category=f"roundtrip/{side}/{'pmd' if pmd else 'plain'}",
                      side=side, pmd=pmd, max_message_size=mms, max_frame_size=mfs, wire=data, items=items,
                      mode="exact", ends=ends, drains=drains, eof=rng.random() < 0.3)
