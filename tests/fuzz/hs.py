"""
Opening-handshake fuzzing (RFC 6455 §4): upgrade requests fed to a server
``WSConnection(SERVER)`` and 101/other responses fed to a client that sent
a ``Request``, valid or mutated, with frames pipelined behind the HTTP head in
the same bytes.

Expectations (``HsCase.expect``):

* ``accept``: the server yields exactly one ``Request`` (then answers it
  with ``AcceptConnection``); the client yields ``AcceptConnection``; then
  every pipelined frame is delivered (the connection oracle of
  :mod:`tests.fuzz.check`, offsets relative to the whole input).
* ``reject``: ``receive_data`` raises ``RemoteProtocolError`` and no
  ``Request``/``AcceptConnection`` is produced; on a server its
  ``event_hint`` (if any) can be sent.
* ``rejected`` (client): a non-101 response arrives as
  ``RejectConnection(status_code, has_body)`` and, with a body,
  ``RejectData`` pieces adding up to the body, the last one finished.
* ``unknown`` (random mutations): the general invariants only.

The client's ``Sec-WebSocket-Key`` is random, so a response carries
``ACCEPT_MARKER`` (28 bytes, the length of an accept token) where the
right ``Sec-WebSocket-Accept`` value goes; it is filled in when run.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from typing import Any

from . import cases as C
from . import check as K
from . import wire as W

ACCEPT_MARKER = b"@" * 28
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HEAD_LIMIT = 8 * 1024  # max_incomplete_event_size in the fuzz configuration


def accept_token(key: bytes) -> bytes:
    """RFC 6455 §4.2.2: base64(SHA-1(key + GUID)), computed independently of wsspec."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())  # noqa: S324 - mandated by the RFC


@dataclass
class HsCase:
    seed: int
    index: int
    category: str
    side: str
    wire: bytes
    head_len: int
    expect: str  # accept | reject | rejected | unknown
    pmd: dict[str, Any] | None = None  # offered by the client (params), or None
    pmd_agreed: bool = False  # the handshake enables permessage-deflate
    subprotocols: list[str] = field(default_factory=list)  # offered by the client
    subprotocol: str | None = None  # chosen by the server
    status: int | None = None  # rejected: the status code
    body: bytes = b""  # rejected: the body
    items: list[tuple[int, str, Any]] = field(default_factory=list)
    max_message_size: int | None = 64 * 1024
    max_frame_size: int | None = None
    ends: list[int] = field(default_factory=list)
    drains: list[int] = field(default_factory=list)
    eof: bool = False
    note: str = ""
    kind: str = "hs"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["wire"] = base64.b64encode(self.wire).decode()
        d["body"] = base64.b64encode(self.body).decode()
        d["items"] = [[end, kind, C._enc(data)] for end, kind, data in self.items]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HsCase:
        d = dict(d)
        d["wire"] = base64.b64decode(d["wire"])
        d["body"] = base64.b64decode(d["body"])
        d["items"] = [(end, kind, C._dec(data)) for end, kind, data in d["items"]]
        return cls(**d)

    def frames_case(self) -> C.ConnCase:
        """The pipelined frames as a connection case (for the oracle)."""
        return C.ConnCase(seed=self.seed, index=self.index, category=self.category, side=self.side,
                          pmd=None, max_message_size=self.max_message_size,
                          max_frame_size=self.max_frame_size, wire=self.wire, items=self.items,
                          mode="exact" if self.expect == "accept" else "mutated",
                          cut=0 if self.expect != "accept" else None)


def _case_variants(rng: random.Random, name: str) -> str:
    r = rng.random()
    if r < 0.6:
        return name
    if r < 0.8:
        return name.lower()
    if r < 0.9:
        return name.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)



def _valid_mutation(rng: random.Random, headers: list) -> tuple[str, list]:
    """A change a valid handshake may carry (RFC 6455 §4: case-insensitive names and tokens, lists, extras)."""
    note = rng.choice(VALID_MUTATIONS)
    if note == "name case":
        headers = [(_case_variants(rng, n), v) for n, v in headers]
    elif note == "upgrade case":
        headers = [(n, b"WebSocket" if n == "Upgrade" else v) for n, v in headers]
    elif note == "connection list":
        headers = [(n, b"keep-alive, Upgrade" if n == "Connection" else v) for n, v in headers]
    else:
        headers = headers + [(f"X-Extra-{i}", rng.randbytes(8).hex().encode()) for i in range(rng.randint(1, 30))]
    return note, headers

def _head(start: bytes, headers: list[tuple[str, bytes]], rng: random.Random, *, ows: bool = True) -> bytes:
    lines = [start]
    for name, value in headers:
        sep = b": " if not ows or rng.random() < 0.8 else rng.choice((b":", b":  ", b":\t"))
        tail = b"" if not ows or rng.random() < 0.9 else b" "
        lines.append(name.encode() + sep + value + tail)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def pmd_answer(params: dict[str, Any]) -> str:
    """The server's Sec-WebSocket-Extensions value answering ``params``."""
    from wsspec.extensions import PerMessageDeflate

    client_ext = PerMessageDeflate(**W.pmd_offer(params))
    offer = client_ext.offer()
    answer = PerMessageDeflate().accept(f"{PerMessageDeflate.name}; {offer}" if offer else PerMessageDeflate.name)
    return f"{PerMessageDeflate.name}; {answer}" if isinstance(answer, str) and answer else PerMessageDeflate.name


def _frames(rng: random.Random, side: str, pmd: dict[str, Any] | None, start: int,
            mms: int | None, mfs: int | None) -> tuple[bytes, list[tuple[int, str, Any]]]:
    peer = W.peer_compression(pmd, side) if pmd is not None else None
    b = C.Builder(rng, side, peer, mms, mfs)
    b.some(rng.choice((0, 0, 1, 2, rng.randint(3, 10))))
    if rng.random() < 0.2:
        b.close()
    return bytes(b.out), [(start + end, kind, data) for end, kind, data in b.items]


BAD_REQUEST_MUTATIONS = (
    "drop host", "drop upgrade", "upgrade h2c", "drop connection", "connection close",
    "drop key", "short key", "non-base64 key", "drop version", "version 8", "empty version",
    "http/1.0", "method POST", "method HEAD", "oversized head",
)
BAD_RESPONSE_MUTATIONS = (
    "wrong accept", "drop accept", "drop upgrade", "upgrade h2c", "drop connection", "connection close",
    "unoffered extension", "unoffered subprotocol", "pmd not offered", "two accepts", "bad pmd parameter",
    "oversized head",
)
BAD_PMD_PARAMETERS = (b"server_max_window_bits=abc", b"server_max_window_bits=20", b"server_max_window_bits=7",
                      b"client_max_window_bits=0", b"client_max_window_bits=-1", b"server_max_window_bits=\"1x\"",
                      b"foo", b"foo=bar", b"server_no_context_takeover=1", b"server_max_window_bits",
                      b"server_no_context_takeover; server_no_context_takeover", b"server_max_window_bits=10=10",
                      b"client_max_window_bits=999999999999999999999")
VALID_MUTATIONS = ("name case", "upgrade case", "connection list", "extra headers")


def gen_server_case(seed: int, index: int, rng: random.Random) -> HsCase:
    key = base64.b64encode(rng.randbytes(16))
    pmd = dict(rng.choice(C.PMD_CHOICES)) if rng.random() < 0.4 else None
    subprotocols = ["chat", "superchat"] if rng.random() < 0.3 else []
    headers: list[tuple[str, bytes]] = [
        ("Host", b"localhost:8080"), ("Upgrade", b"websocket"), ("Connection", b"Upgrade"),
        ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", b"13"),
    ]
    if pmd is not None:
        from wsspec.extensions import PerMessageDeflate

        offer = PerMessageDeflate(**W.pmd_offer(pmd)).offer()
        headers.append(("Sec-WebSocket-Extensions", f"permessage-deflate; {offer}".encode()))
    if subprotocols:
        headers.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols).encode()))
    if rng.random() < 0.3:
        headers.append(("Origin", b"http://localhost"))
    rng.shuffle(headers)
    method, version = b"GET", b"HTTP/1.1"
    r = rng.random()
    expect, note = "accept", ""
    if r < 0.35:
        note, headers = _valid_mutation(rng, headers)
    elif r < 0.7:
        expect = "reject"
        note = rng.choice(BAD_REQUEST_MUTATIONS)
        drop = {"drop host": "Host", "drop upgrade": "Upgrade", "drop connection": "Connection",
                "drop key": "Sec-WebSocket-Key", "drop version": "Sec-WebSocket-Version"}.get(note)
        if drop:
            headers = [(n, v) for n, v in headers if n != drop]
        replace = {"upgrade h2c": ("Upgrade", b"h2c"), "connection close": ("Connection", b"close"),
                   "short key": ("Sec-WebSocket-Key", base64.b64encode(rng.randbytes(15))),
                   "non-base64 key": ("Sec-WebSocket-Key", b"not a key!!"),
                   "version 8": ("Sec-WebSocket-Version", b"8"),
                   "empty version": ("Sec-WebSocket-Version", b"")}.get(note)
        if replace:
            headers = [(n, replace[1] if n == replace[0] else v) for n, v in headers]
        if note == "http/1.0":
            version = b"HTTP/1.0"
        elif note.startswith("method"):
            method = note.split()[1].encode()
        elif note == "oversized head":
            headers.append(("X-Big", b"a" * rng.randint(HEAD_LIMIT, 3 * HEAD_LIMIT)))
    agreed = pmd is not None and rng.random() < 0.8
    if expect == "accept" and rng.random() < 0.08:
        # A malformed offer: the server may decline it or refuse the request,
        # but answering it must not raise anything but a ProtocolError.
        bad = rng.choice(BAD_PMD_PARAMETERS).replace(b"server_", b"X").replace(b"client_", b"server_")
        bad = bad.replace(b"X", b"client_") if rng.random() < 0.5 else bad
        headers = [(n, v) for n, v in headers if n != "Sec-WebSocket-Extensions"]
        headers.append(("Sec-WebSocket-Extensions", b"permessage-deflate; " + bad))
        expect, note, agreed, r = "unknown", "bad pmd offer " + bad.decode(), True, 0.5
    start = method + b" /chat?room=1 " + version
    head = _head(start, headers, rng)
    subprotocol = rng.choice(subprotocols) if subprotocols and rng.random() < 0.7 else None
    frames, items = _frames(rng, "server", pmd if agreed else None, len(head), 64 * 1024, None)
    data = head + frames
    if r >= 0.9:  # random mutations: unknown effect
        data, note = C.mutate(rng, data)
        expect = "unknown"
    ends, drains = C.schedule(rng, len(data))
    return HsCase(seed=seed, index=index, category=f"handshake/server/{expect}", side="server", wire=data,
                  head_len=len(head), expect=expect, pmd=pmd, pmd_agreed=agreed, subprotocols=subprotocols,
                  subprotocol=subprotocol, items=items if expect == "accept" else [], ends=ends, drains=drains,
                  eof=rng.random() < 0.2, note=note)


def gen_client_case(seed: int, index: int, rng: random.Random) -> HsCase:
    pmd = dict(rng.choice(C.PMD_CHOICES)) if rng.random() < 0.4 else None
    subprotocols = ["chat", "superchat"] if rng.random() < 0.3 else []
    agreed = pmd is not None and rng.random() < 0.8
    subprotocol = rng.choice(subprotocols) if subprotocols and rng.random() < 0.7 else None
    headers: list[tuple[str, bytes]] = [("Upgrade", b"websocket"), ("Connection", b"Upgrade"),
                                        ("Sec-WebSocket-Accept", ACCEPT_MARKER)]
    if agreed:
        headers.append(("Sec-WebSocket-Extensions", pmd_answer(pmd).encode()))  # type: ignore[arg-type]
    if subprotocol:
        headers.append(("Sec-WebSocket-Protocol", subprotocol.encode()))
    rng.shuffle(headers)
    start = b"HTTP/1.1 101 Switching Protocols"
    r = rng.random()
    expect, note, status, body = "accept", "", None, b""
    if r < 0.3:
        note, headers = _valid_mutation(rng, headers)
    elif r < 0.6:
        expect = "reject"
        note = rng.choice(BAD_RESPONSE_MUTATIONS)
        if note == "unoffered subprotocol" and subprotocols:
            note = "wrong accept"
        if note == "pmd not offered" and pmd is not None:
            note = "unoffered extension"
        drop = {"drop accept": "Sec-WebSocket-Accept", "drop upgrade": "Upgrade",
                "drop connection": "Connection"}.get(note)
        if drop:
            headers = [(n, v) for n, v in headers if n != drop]
        replace = {"upgrade h2c": ("Upgrade", b"h2c"), "connection close": ("Connection", b"close"),
                   "wrong accept": ("Sec-WebSocket-Accept", base64.b64encode(rng.randbytes(20)))}.get(note)
        if replace:
            headers = [(n, replace[1] if n == replace[0] else v) for n, v in headers]
        if note == "unoffered extension":
            headers.append(("Sec-WebSocket-Extensions", b"x-unknown-extension"))
        elif note == "unoffered subprotocol":
            headers.append(("Sec-WebSocket-Protocol", b"nope"))
        elif note == "pmd not offered":
            headers.append(("Sec-WebSocket-Extensions", b"permessage-deflate"))
        elif note == "bad pmd parameter":
            if pmd is None:
                headers.append(("Sec-WebSocket-Extensions", b"permessage-deflate"))
            else:
                bad = rng.choice(BAD_PMD_PARAMETERS)
                note += " " + bad.decode()
                headers = [(n, v) for n, v in headers if n != "Sec-WebSocket-Extensions"]
                headers.append(("Sec-WebSocket-Extensions", b"permessage-deflate; " + bad))
        elif note == "oversized head":
            headers.append(("X-Big", b"a" * rng.randint(HEAD_LIMIT, 3 * HEAD_LIMIT)))
        elif note == "two accepts":
            headers.append(("Sec-WebSocket-Accept", base64.b64encode(rng.randbytes(20))))
    elif r < 0.8:
        expect = "rejected"
        status = rng.choice((100, 200, 400, 403, 404, 426, 500, 503))
        if status == 100:
            note = "informational"
            head = _head(b"HTTP/1.1 100 Continue", [], rng)
        else:
            body = rng.randbytes(rng.choice((0, rng.randint(1, 100), rng.randint(100, 5000))))
            note = f"status {status} body {len(body)}"
            head = _head(b"HTTP/1.1 %d Nope" % status, [("Content-Length", str(len(body)).encode())], rng)
            head += body
        data = head
        ends, drains = C.schedule(rng, len(data))
        return HsCase(seed=seed, index=index, category="handshake/client/rejected", side="client", wire=data,
                      head_len=len(head), expect=expect, pmd=pmd, subprotocols=subprotocols, status=status,
                      body=body, ends=ends, drains=drains, eof=False, note=note)
    head = _head(start, headers, rng)
    frames, items = _frames(rng, "client", pmd if agreed else None, len(head), 64 * 1024, None)
    data = head + frames
    if r >= 0.9:
        data, note = C.mutate(rng, data)
        expect = "unknown"
    ends, drains = C.schedule(rng, len(data))
    return HsCase(seed=seed, index=index, category=f"handshake/client/{expect}", side="client", wire=data,
                  head_len=len(head), expect=expect, pmd=pmd, pmd_agreed=agreed, subprotocols=subprotocols,
                  subprotocol=subprotocol, items=items if expect == "accept" else [], ends=ends, drains=drains,
                  eof=rng.random() < 0.2, note=note)


def gen_hs_case(seed: int, index: int) -> HsCase:
    rng = random.Random(seed * 1_000_003 + index)
    if rng.random() < 0.5:
        return gen_server_case(seed, index, rng)
    return gen_client_case(seed, index, rng)


# ----------------------------------------------------------------------------
# running
# ----------------------------------------------------------------------------


def _ws_kwargs(case: HsCase) -> dict[str, Any]:
    from wsspec import WSConnection

    params = K.supported_keywords(WSConnection)
    out: dict[str, Any] = {}
    if "max_message_size" in params:
        out["max_message_size"] = case.max_message_size
    if "max_frame_size" in params:
        out["max_frame_size"] = case.max_frame_size
    if "max_incomplete_event_size" in params:
        out["max_incomplete_event_size"] = HEAD_LIMIT
    return out


def run_hs_case(case: HsCase, *, measure_memory: bool = False, check_time: bool = True,
                ws_factory: Any = None) -> tuple[list[str], dict[str, Any]]:
    """Run one handshake case; returns (problems, stats)."""
    from wsspec import WSConnection
    from wsspec import events as ev
    from wsspec.connection import ConnectionType
    from wsspec.extensions import PerMessageDeflate
    from wsspec.utilities import LocalProtocolError, ProtocolError, RemoteProtocolError

    problems: list[str] = []
    stats: dict[str, Any] = {}
    side_type = ConnectionType.SERVER if case.side == "server" else ConnectionType.CLIENT
    factory = ws_factory or (lambda: WSConnection(side_type, **_ws_kwargs(case)))
    wire = case.wire
    try:
        ws = factory()
        if case.side == "client":
            offered = [PerMessageDeflate(**W.pmd_offer(case.pmd))] if case.pmd is not None else []
            request = ws.send(ev.Request(host="localhost", target="/chat", extensions=offered,
                                         subprotocols=list(case.subprotocols)))
            key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            if ACCEPT_MARKER in wire:
                wire = wire.replace(ACCEPT_MARKER, accept_token(key), 1)
    except Exception as exc:  # noqa: BLE001
        return [f"setting up the {case.side} raised {type(exc).__name__}: {exc}"], stats

    frames = case.frames_case()
    checker = K.Checker(frames, problems)
    state = {"request": 0, "accept": 0, "reject": 0, "reject_data": b"", "reject_done": False,
             "error": None, "opened": False}

    def on_event(event: Any) -> None:
        if isinstance(event, ev.Request):
            state["request"] += 1
            if case.side != "server" or state["request"] > 1:
                problems.append(f"unexpected Request event #{state['request']}")
                return
            if case.expect == "reject":
                problems.append(f"Request event for an invalid request ({case.note})")
            if event.target != "/chat?room=1" and case.expect == "accept":
                problems.append(f"Request.target {event.target!r}")
            if case.expect == "accept" and list(event.subprotocols) != case.subprotocols:
                problems.append(f"Request.subprotocols {event.subprotocols!r} != {case.subprotocols!r}")
            exts = [PerMessageDeflate()] if case.pmd_agreed else []
            sub = case.subprotocol if case.subprotocol in event.subprotocols else None
            try:
                ws.send(ev.AcceptConnection(subprotocol=sub, extensions=exts))
                state["opened"] = True
            except ProtocolError as exc:
                if case.expect == "accept":
                    problems.append(f"send(AcceptConnection) raised {type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001
                problems.append(f"send(AcceptConnection) raised non-ProtocolError {type(exc).__name__}: {exc}")
                raise K._Stop from None
        elif isinstance(event, ev.AcceptConnection):
            state["accept"] += 1
            state["opened"] = True
            if case.side != "client" or state["accept"] > 1:
                problems.append("unexpected AcceptConnection event")
            if case.expect in ("reject", "rejected"):
                problems.append(f"AcceptConnection for an invalid response ({case.note})")
            if case.expect == "accept":
                if event.subprotocol != case.subprotocol:
                    problems.append(f"AcceptConnection.subprotocol {event.subprotocol!r} != {case.subprotocol!r}")
                if bool(event.extensions) != case.pmd_agreed:
                    problems.append(f"AcceptConnection.extensions {event.extensions!r}, pmd agreed {case.pmd_agreed}")
        elif isinstance(event, ev.RejectConnection):
            state["reject"] += 1
            if case.side != "client":
                problems.append("RejectConnection received by a server")
            elif case.expect == "rejected":
                if event.status_code != case.status:
                    problems.append(f"RejectConnection.status_code {event.status_code} != {case.status}")
                if event.has_body != (case.status != 100):
                    problems.append(f"RejectConnection.has_body {event.has_body} for status {case.status}")
                if event.status_code == 100:
                    state["reject_done"] = True
            elif case.expect in ("accept", "reject"):
                problems.append(f"RejectConnection({event.status_code}) for a {case.expect} case")
        elif isinstance(event, ev.RejectData):
            if state["reject_done"]:
                problems.append("RejectData after the body was finished")
            state["reject_data"] += bytes(event.data)
            if event.body_finished:
                state["reject_done"] = True
        else:
            if not state["opened"]:
                problems.append(f"{type(event).__name__} before the handshake completed")
            checker.on_event(event)

    def drain(limit: int) -> None:
        try:
            gen = ws.events()
            for i, event in enumerate(gen):
                on_event(event)
                if 0 < limit <= i + 1:
                    break
            gen.close()
        except K._Stop:
            raise
        except ProtocolError as exc:
            problems.append(f"events() raised {type(exc).__name__}: {exc}")
            raise K._Stop from None
        except Exception as exc:  # noqa: BLE001
            problems.append(f"events() raised non-ProtocolError {type(exc).__name__}: {exc}")
            raise K._Stop from None

    perf = time.perf_counter
    if measure_memory:
        tracemalloc.start()
    t_start = perf()
    try:
        prev = 0
        for end, drain_code in zip(case.ends, case.drains):
            piece = wire[prev:end]
            prev = end
            t0 = perf()
            before = checker.delivered
            try:
                ws.receive_data(piece)
            except RemoteProtocolError as exc:
                state["error"] = exc
                _on_handshake_error(case, ws, exc, state, problems, ev)
                raise K._Stop from None
            except ProtocolError as exc:
                problems.append(f"receive_data raised {type(exc).__name__}: {exc}")
                raise K._Stop from None
            except Exception as exc:  # noqa: BLE001
                problems.append(f"receive_data raised non-ProtocolError {type(exc).__name__}: {exc}")
                raise K._Stop from None
            if drain_code:
                drain(drain_code)
            dt = perf() - t0
            if check_time and not measure_memory:
                budget = K.CALL_BASE_S + K.CALL_PER_FED_BYTE_S * end + K.PER_DELIVERED_S * (checker.delivered - before)
                if dt > budget:
                    problems.append(f"a receive_data+events call took {dt * 1e3:.1f} ms > {budget * 1e3:.1f} ms")
        drain(-1)
        if case.eof:
            checker.eof_sent = True
            try:
                ws.receive_data(None)
            except ProtocolError:
                pass
            except Exception as exc:  # noqa: BLE001
                problems.append(f"receive_data(None) raised non-ProtocolError {type(exc).__name__}: {exc}")
                raise K._Stop from None
            drain(-1)
    except K._Stop:
        pass
    total = perf() - t_start
    if measure_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        bound = K.mem_bound(len(wire), case.max_message_size)
        stats["peak"] = peak
        if peak > bound:
            problems.append(f"memory peak {peak} bytes > bound {bound} (input {len(wire)} bytes)")
    elif check_time:
        budget = K.TOTAL_BASE_S + K.TOTAL_PER_BYTE_S * len(wire) + K.PER_DELIVERED_S * checker.delivered
        if total > budget:
            problems.append(f"input took {total:.3f} s > {budget:.3f} s ({len(wire)} bytes)")
    stats["time"] = total

    # Outcome checks.
    error = state["error"]
    if case.expect == "accept":
        if error is not None:
            problems.append(f"valid handshake ({case.note or 'plain'}) refused: {type(error).__name__}: {error}")
        elif not state["opened"]:
            problems.append(f"valid handshake ({case.note or 'plain'}) did not complete (state {getattr(ws, 'state', '?')})")
        else:
            checker.finish()
    elif case.expect == "reject":
        if error is None:
            problems.append(f"invalid handshake ({case.note}) was not refused with RemoteProtocolError "
                            f"(state {getattr(ws, 'state', '?')})")
    elif case.expect == "rejected" and error is None:
        if state["reject"] != 1:
            problems.append(f"{state['reject']} RejectConnection events for status {case.status}")
        elif case.status != 100:
            if not state["reject_done"]:
                problems.append("the rejection body was not finished")
            if state["reject_data"] != case.body:
                problems.append(f"rejection body of {len(state['reject_data'])} bytes, sent {len(case.body)}")
    elif case.expect == "rejected":
        problems.append(f"a {case.status} response raised {type(error).__name__}: {error}")
    if state["opened"] and case.expect == "accept" and error is None and checker.close is not None:
        if getattr(getattr(ws, "state", None), "name", "") == "OPEN":
            problems.append("state OPEN after CloseConnection")
        try:
            ws.send(ev.TextMessage(data="late"))
            problems.append("send(TextMessage) after CloseConnection did not raise")
        except LocalProtocolError:
            pass
        except Exception as exc:  # noqa: BLE001
            problems.append(f"send(TextMessage) after close raised {type(exc).__name__}: {exc}")
    return problems, stats


def _on_handshake_error(case: HsCase, ws: Any, exc: Any, state: dict[str, Any], problems: list[str],
                        ev: Any) -> None:
    if case.expect in ("accept", "rejected"):
        return  # reported by the outcome checks
    if state["opened"]:
        problems.append(f"RemoteProtocolError after the handshake completed: {exc}")
        return
    hint = getattr(exc, "event_hint", None)
    if case.side == "server" and hint is not None:
        try:
            out = ws.send(hint)
        except Exception as err:  # noqa: BLE001
            problems.append(f"sending the event_hint {hint!r} raised {type(err).__name__}: {err}")
            return
        if not isinstance(out, bytes) or not out.startswith(b"HTTP/1.1 "):
            problems.append(f"the event_hint produced {out[:40]!r}")
