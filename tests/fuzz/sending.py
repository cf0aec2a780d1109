"""
Fuzzing ``Connection.send``: random sequences of valid and invalid events
(wrong payload types, control payloads over 125 bytes, a message of the other
type inside a fragmented one, unsendable close codes, anything after our
Close), with or without permessage-deflate.

Expectations per operation: a valid event returns bytes that parse as one
frame of the right opcode (masked iff we are the client); an invalid one
raises ``LocalProtocolError`` (RFC 6455 §5.5: control payloads <= 125
bytes; §5.4: fragments of one message share its type; §7.4: sendable close
codes) and leaves the connection usable. Nothing else may escape.
"""

from __future__ import annotations

import base64
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from . import cases as C
from . import wire as W

SENDABLE = (None, 1000, 1001, 1003, 1008, 1011, 3000, 4999)
# Local-only codes sent as something else (spec/close_codes.yaml send_as; None: no code).
REPLACED = {1005: None, 1006: 1000, 1015: 1000}
UNSENDABLE = (0, 999, 1004, 1016, 2999, 5000)


@dataclass
class SendCase:
    seed: int
    index: int
    category: str
    side: str
    pmd: dict[str, Any] | None
    ops: list[list[Any]] = field(default_factory=list)  # [name, arg, arg2]
    wire: bytes = b""
    max_message_size: int | None = None
    kind: str = "send"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ops"] = [[op[0]] + [C._enc(x) for x in op[1:]] for op in self.ops]
        d["wire"] = base64.b64encode(self.wire).decode()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SendCase:
        d = dict(d)
        d["ops"] = [[op[0]] + [C._dec(x) for x in op[1:]] for op in d["ops"]]
        d["wire"] = base64.b64decode(d["wire"])
        return cls(**d)


def gen_send_case(seed: int, index: int) -> SendCase:
    rng = random.Random(seed * 1_000_003 + index)
    side = "client" if rng.random() < 0.5 else "server"
    pmd = dict(rng.choice(C.PMD_CHOICES)) if rng.random() < 0.4 else None
    ops: list[list[Any]] = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.3:
            ops.append(["text", C.gen_text(rng, rng.randint(0, 300)), rng.random() < 0.7])
        elif r < 0.5:
            ops.append(["bytes", rng.randbytes(rng.randint(0, 300)), rng.random() < 0.7])
        elif r < 0.65:
            ops.append([rng.choice(("ping", "pong")), rng.randbytes(rng.choice((0, 10, 125, 126, 200))), None])
        elif r < 0.72:
            ops.append(["text_bytes", rng.randbytes(5), True])  # TextMessage carrying bytes
        elif r < 0.76:
            ops.append(["bytes_str", "text", True])  # BytesMessage carrying str
        elif r < 0.8:
            ops.append(["text_none", None, True])
        elif r < 0.9:
            code = rng.choice(SENDABLE + UNSENDABLE + tuple(REPLACED))
            ops.append(["close", code, C.gen_text(rng, rng.randint(0, 200)) if rng.random() < 0.5 else None])
        else:
            ops.append(["ping_str", "not bytes", None])
    return SendCase(seed=seed, index=index, category=f"send/{side}/{'pmd' if pmd else 'plain'}", side=side,
                    pmd=pmd, ops=ops)


def run_send_case(case: SendCase, *, conn_factory: Any = None, **_: Any) -> tuple[list[str], dict[str, Any]]:
    from wsspec.connection import Connection, ConnectionType
    from wsspec.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
    from wsspec.utilities import LocalProtocolError, ProtocolError

    exts = []
    if case.pmd is not None:
        server_ext, client_ext = W.negotiate(case.pmd)
        exts = [client_ext if case.side == "client" else server_ext]
    conn = (conn_factory or Connection)(ConnectionType.CLIENT if case.side == "client" else ConnectionType.SERVER,
                                        extensions=exts)
    problems: list[str] = []
    open_type: str | None = None  # type of the unfinished message we are sending
    closed = False
    for i, (name, arg, arg2) in enumerate(case.ops):
        expect_op: int | None = None
        if name == "text":
            event: Any = TextMessage(data=arg, message_finished=arg2)
            valid = not closed and open_type in (None, "text")
            expect_op = W.OP_TEXT if open_type is None else W.OP_CONT
        elif name == "bytes":
            event = BytesMessage(data=arg, message_finished=arg2)
            valid = not closed and open_type in (None, "bytes")
            expect_op = W.OP_BINARY if open_type is None else W.OP_CONT
        elif name in ("ping", "pong"):
            event = Ping(payload=arg) if name == "ping" else Pong(payload=arg)
            valid = not closed and len(arg) <= 125
            expect_op = W.OP_PING if name == "ping" else W.OP_PONG
        elif name == "close":
            event = CloseConnection(code=arg, reason=arg2)
            # None or 1005 (NO_STATUS_RCVD, what a code-less Close's response() carries): empty payload;
            # 1006/1015: 1000 with the reason
            valid = not closed and (arg in SENDABLE or arg in REPLACED) and not (arg in (None, 1005) and arg2)
            expect_op = W.OP_CLOSE
        elif name == "text_bytes":
            event = TextMessage(data=arg)
            valid = None  # wsproto sends bytes given to TextMessage as a binary frame: either is fine
        elif name == "bytes_str":
            event = BytesMessage(data=arg)
            valid = None
        elif name == "text_none":
            event = TextMessage(data=None)  # type: ignore[arg-type]
            valid = False
        else:  # ping_str
            event = Ping(payload=arg)
            valid = False
        try:
            out = conn.send(event)
        except LocalProtocolError as exc:
            if valid:
                problems.append(f"op {i}: valid {name} in state {conn.state.name} raised LocalProtocolError: {exc}")
            continue
        except ProtocolError as exc:
            problems.append(f"op {i}: send({name}) raised {type(exc).__name__} (not a LocalProtocolError): {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - the invariant under test
            problems.append(f"op {i}: send({name}) raised non-ProtocolError {type(exc).__name__}: {exc}"
                            + ("" if valid else " (caller misuse must be a LocalProtocolError)"))
            continue
        if valid is False:
            problems.append(f"op {i}: invalid {name} ({_short(arg)}) in state {conn.state.name} was sent")
            continue
        try:
            frames = W.parse_frames(out)
        except ValueError as exc:
            problems.append(f"op {i}: send({name}) produced incomplete frames: {exc}")
            continue
        if len(frames) != 1:
            problems.append(f"op {i}: send({name}) produced {len(frames)} frames")
            continue
        fin, rsv, opcode, masked, payload = frames[0]
        if masked != (case.side == "client"):
            problems.append(f"op {i}: {case.side} sent a frame with masked={masked}")
        if expect_op is not None and opcode != expect_op:
            problems.append(f"op {i}: send({name}) produced opcode {opcode:#x}, expected {expect_op:#x}")
        if opcode in (W.OP_PING, W.OP_PONG, W.OP_CLOSE) and len(payload) > 125:
            problems.append(f"op {i}: control frame with a {len(payload)}-byte payload")
        if name == "close" and opcode == W.OP_CLOSE:
            wire_code = REPLACED.get(arg, arg)
            expected = b"" if wire_code is None else wire_code.to_bytes(2, "big")
            if payload[:2] != expected:
                problems.append(f"op {i}: close({arg}) put {payload[:2].hex() or 'no code'} on the wire, "
                                f"expected {expected.hex() or 'no code'}")
        if name in ("text", "bytes"):
            open_type = None if arg2 else (open_type or name)
        elif name in ("text_bytes", "bytes_str"):
            open_type = None  # sent whole (message_finished=True) as the type of its data
        if name == "close":
            closed = True
    return problems, {}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 50 else text[:50] + "..."
