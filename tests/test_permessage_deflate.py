"""
permessage-deflate (RFC 7692): negotiation, compression semantics, bounded
inflation, wire compatibility with wsproto's PerMessageDeflate, and the
negotiation table of spec/permessage_deflate.yaml as a test oracle.

Every negotiation bug of wsproto 1.3.2 named in issue 3 has a test here that
runs the same scenario against wsproto and asserts that wsproto gets it
wrong, so each of these tests would fail on wsproto.

Interop with the `websockets` package over 127.0.0.1 lives in
tests/test_interop_websockets.py.
"""

from __future__ import annotations

import gc
import json
import random
import tracemalloc
import zlib
from typing import Any

import pytest
import wsproto.connection as wp_connection
import wsproto.events as wp_events
import wsproto.extensions as wp_extensions
import wsproto.handshake as wp_handshake
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.connection import ConnectionType as WpConnectionType

from wsspec import deflate
from wsspec._generated import permessage_deflate as spec
from wsspec._generated.connection import ConnectionType
from wsspec.connection import Connection, ConnectionState
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsspec.extensions import (
    ConfigurationError,
    Extension,
    ExtensionSyntaxError,
    NegotiationError,
    PerMessageDeflate,
    parse_extension,
    split_extension_list,
)
from wsspec.frame_protocol import FrameProtocol, ParseFailed
from wsspec.handshake import H11Handshake, server_extensions_handshake
from wsspec.utilities import LocalProtocolError, RemoteProtocolError, generate_accept_token

CLIENT = ConnectionType.CLIENT
SERVER = ConnectionType.SERVER
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
TAIL = b"\x00\x00\xff\xff"
MASK = b"\x37\xfa\x21\x3d"
KiB = 1024
MiB = 1024 * KiB


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------


def _mask(payload: bytes, key: bytes = MASK) -> bytes:
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big") if n else b""


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False, rsv2: bool = False,
          masked: bool = True) -> bytes:
    """One frame; masked (client to server) by default."""
    byte0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | opcode
    mask_bit = 0x80 if masked else 0
    n = len(payload)
    if n <= 125:
        header = bytes([byte0, mask_bit | n])
    elif n < 1 << 16:
        header = bytes([byte0, mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([byte0, mask_bit | 127]) + n.to_bytes(8, "big")
    return header + MASK + _mask(payload) if masked else header + payload


def parse_frames(wire: bytes) -> list[tuple[bool, bool, int, bytes]]:
    """(fin, rsv1, opcode, unmasked payload) of each frame in ``wire``."""
    frames = []
    i = 0
    while i < len(wire):
        b0, b1 = wire[i], wire[i + 1]
        n = b1 & 0x7F
        i += 2
        if n == 126:
            n = int.from_bytes(wire[i:i + 2], "big")
            i += 2
        elif n == 127:
            n = int.from_bytes(wire[i:i + 8], "big")
            i += 8
        key = None
        if b1 & 0x80:
            key = wire[i:i + 4]
            i += 4
        payload = wire[i:i + n]
        i += n
        frames.append((bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, _mask(payload, key) if key else payload))
    return frames


def raw_deflate(data: bytes, wbits: int = 15, *, final_block: bool = False) -> bytes:
    """``data`` compressed as a permessage-deflate sender would (RFC 7692 §7.2.1)."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -wbits)
    if final_block:
        return compressor.compress(data) + compressor.flush(zlib.Z_FINISH)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


def strict_inflate(data: bytes, wbits: int, inflater: Any = None) -> bytes:
    """Inflate one byte per call. zlib satisfies a back-reference from its window
    *or* from the output of the same call, so it reaches further back than the
    window in big calls; one byte at a time it enforces the window exactly.
    Pass ``inflater`` (a zlib decompressobj) to continue a context-takeover stream."""
    inflater = inflater or zlib.decompressobj(-wbits)
    out = [inflater.decompress(data, 1)]
    while inflater.unconsumed_tail or out[-1]:
        out.append(inflater.decompress(inflater.unconsumed_tail, 1))
    return b"".join(out)


def far_matches(size: int = 8 * KiB, distance: int = 4 * KiB, seed: int = 7) -> bytes:
    """Incompressible bytes that repeat ``distance`` bytes later: a compressor
    with a big window refers back ``distance`` bytes, so an inflater whose
    window is smaller fails on it."""
    block = random.Random(seed).randbytes(distance)
    return (block * (size // distance + 1))[:size]


def request_bytes(*extension_headers: bytes) -> bytes:
    lines = [b"GET /chat HTTP/1.1", b"Host: example.com", b"Upgrade: websocket", b"Connection: Upgrade",
             b"Sec-WebSocket-Key: " + KEY, b"Sec-WebSocket-Version: 13"]
    lines += [b"Sec-WebSocket-Extensions: " + value for value in extension_headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def response_bytes(key: bytes, *extension_headers: bytes) -> bytes:
    lines = [b"HTTP/1.1 101 Switching Protocols", b"Upgrade: websocket", b"Connection: Upgrade",
             b"Sec-WebSocket-Accept: " + generate_accept_token(key)]
    lines += [b"Sec-WebSocket-Extensions: " + value for value in extension_headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def extensions_header(response: bytes) -> list[bytes]:
    """Every Sec-WebSocket-Extensions value of an HTTP response."""
    head = response.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    return [line.split(b":", 1)[1].strip() for line in head if line.lower().startswith(b"sec-websocket-extensions:")]


def our_server(*extension_headers: bytes, ext: Extension | None = None) -> tuple[H11Handshake, bytes]:
    """Our server after answering a request carrying ``extension_headers``."""
    server = H11Handshake(SERVER)
    server.receive_data(request_bytes(*extension_headers))
    list(server.events())
    reply = server.send(AcceptConnection(extensions=[ext if ext is not None else PerMessageDeflate()]))
    return server, reply


def wsproto_server(*extension_headers: bytes, ext: Any = None) -> tuple[Any, bytes | BaseException]:
    """wsproto's server in the same scenario: (handshake, response or the exception it raised)."""
    server = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    server.receive_data(request_bytes(*extension_headers))
    list(server.events())
    try:
        return server, server.send(wp_events.AcceptConnection(
            extensions=[ext if ext is not None else wp_extensions.PerMessageDeflate()]))
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return server, exc


def our_client(ext: PerMessageDeflate, *extension_headers: bytes) -> tuple[H11Handshake, BaseException | None]:
    """Our client after receiving a 101 with ``extension_headers``; (handshake, error or None)."""
    client = H11Handshake(CLIENT)
    data = client.send(Request(host="example.com", target="/", extensions=[ext]))
    key = next(line.split(b": ", 1)[1] for line in data.split(b"\r\n") if line.lower().startswith(b"sec-websocket-key"))
    try:
        client.receive_data(response_bytes(key, *extension_headers))
    except Exception as exc:  # noqa: BLE001
        return client, exc
    return client, None


def wsproto_client(ext: Any, *extension_headers: bytes) -> tuple[Any, BaseException | None]:
    client = wp_handshake.H11Handshake(WpConnectionType.CLIENT)
    data = client.send(wp_events.Request(host="example.com", target="/", extensions=[ext]))
    key = next(line.split(b": ", 1)[1] for line in data.split(b"\r\n") if line.lower().startswith(b"sec-websocket-key"))
    try:
        client.receive_data(response_bytes(key, *extension_headers))
    except Exception as exc:  # noqa: BLE001
        return client, exc
    return client, None


def pair(client_ext: PerMessageDeflate | None = None, server_ext: PerMessageDeflate | None = None,
         ) -> tuple[Connection, Connection, PerMessageDeflate, PerMessageDeflate, bytes | None]:
    """Our client and server after a handshake; returns both connections, both extensions and
    the server's Sec-WebSocket-Extensions value."""
    client_ext = client_ext or PerMessageDeflate()
    server_ext = server_ext or PerMessageDeflate()
    client, server = H11Handshake(CLIENT), H11Handshake(SERVER)
    server.receive_data(client.send(Request(host="h", target="/", extensions=[client_ext])))
    list(server.events())
    reply = server.send(AcceptConnection(extensions=[server_ext]))
    client.receive_data(reply)
    list(client.events())
    headers = extensions_header(reply)
    assert client.connection is not None and server.connection is not None
    return client.connection, server.connection, client_ext, server_ext, headers[0] if headers else None


def deliver(conn: Connection, wire: bytes) -> list[Any]:
    conn.receive_data(wire)
    return list(conn.events())


def text_of(events: list[Any]) -> str:
    assert all(isinstance(e, TextMessage) for e in events), events
    assert events[-1].message_finished
    return "".join(e.data for e in events)


def bytes_of(events: list[Any]) -> bytes:
    assert all(isinstance(e, BytesMessage) for e in events), events
    assert events[-1].message_finished
    return b"".join(bytes(e.data) for e in events)


def wsproto_rejects_properly(outcome: BaseException | None) -> bool:
    """True only if wsproto failed the handshake with its RemoteProtocolError."""
    return isinstance(outcome, wp_handshake.RemoteProtocolError)


# ----------------------------------------------------------------------------
# the spec
# ----------------------------------------------------------------------------


def test_spec_constants() -> None:
    assert spec.EXTENSION_NAME == PerMessageDeflate.name == "permessage-deflate"
    assert set(spec.PARAMETERS) == {"server_no_context_takeover", "client_no_context_takeover",
                                    "server_max_window_bits", "client_max_window_bits"}
    assert (spec.MIN_WINDOW_BITS, spec.MAX_WINDOW_BITS, spec.DEFAULT_WINDOW_BITS) == (8, 15, 15)
    assert spec.ZLIB_MIN_WINDOW_BITS == 9
    assert spec.DEFLATE_TAIL == TAIL
    assert spec.WINDOW_BITS_VALUES == {str(b): b for b in range(8, 16)}
    cmwb = spec.PARAMETERS["client_max_window_bits"]
    assert (cmwb.offer, cmwb.response, cmwb.response_needs_offer) == ("optional", "required", True)
    assert spec.PARAMETERS["server_no_context_takeover"].offer == "none"
    assert spec.PARAMETERS["server_no_context_takeover"].sender is SERVER
    assert spec.PARAMETERS["client_max_window_bits"].sender is CLIENT


def test_runtime_declares_no_deflate_constants() -> None:
    """House rule: the constants live in spec/ only, none is spelled out in runtime/."""
    import ast
    from pathlib import Path

    runtime = Path(__file__).resolve().parent.parent / "runtime"
    forbidden_text = set(spec.PARAMETERS) | {spec.EXTENSION_NAME, spec.DEFLATE_TAIL}
    forbidden_ints = {spec.MIN_WINDOW_BITS, spec.ZLIB_MIN_WINDOW_BITS, spec.MAX_WINDOW_BITS}
    for name in ("extensions.py", "deflate.py", "handshake.py"):
        tree = ast.parse((runtime / name).read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or id(node) in docstrings:
                continue
            assert node.value not in forbidden_text, (name, node.lineno, node.value)
            if type(node.value) is int:
                assert node.value not in forbidden_ints, (name, node.lineno, node.value)


# The negotiation outcomes per side (RFC 7692 §5, §7), each as an observable
# result: whether the extension is enabled, and whether the handshake failed.
def test_client_offer_changes_nothing_until_the_response() -> None:
    ext = PerMessageDeflate()
    data = H11Handshake(CLIENT).send(Request(host="h", target="/", extensions=[ext]))
    assert b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15; server_max_window_bits=15" in data
    assert not ext.enabled()


def test_client_acceptance_enables() -> None:
    ext = PerMessageDeflate()
    _, error = our_client(ext, b"permessage-deflate; server_no_context_takeover")
    assert error is None and ext.enabled()


def test_client_bad_acceptance_fails_the_handshake() -> None:
    ext = PerMessageDeflate()
    client, error = our_client(ext, b"permessage-deflate; server_max_window_bits=16")
    assert isinstance(error, RemoteProtocolError) and client.state is ConnectionState.CLOSED
    assert not ext.enabled()


def test_client_without_acceptance_is_declined() -> None:
    ext = PerMessageDeflate()
    client, error = our_client(ext)
    assert error is None and client.connection is not None and client.connection.extensions == []
    assert not ext.enabled()


def test_server_acceptable_offer_enables() -> None:
    ext = PerMessageDeflate()
    _, reply = our_server(b"permessage-deflate", ext=ext)
    # Not configured with server_max_window_bits, the server lowers its own
    # window to DEFAULT_COMPRESSOR_WINDOW_BITS (RFC 7692 §7.1.2.1).
    assert extensions_header(reply) == [b"permessage-deflate; server_max_window_bits=12"] and ext.enabled()


def test_server_unacceptable_offer_is_declined_and_forgotten() -> None:
    ext = PerMessageDeflate()
    assert ext.accept("permessage-deflate; server_max_window_bits=7") is None
    assert not ext.enabled()


def test_server_with_no_acceptable_offer_declines() -> None:
    ext = PerMessageDeflate()
    server, reply = our_server(b"permessage-deflate; x=1", ext=ext)
    assert extensions_header(reply) == [] and server.connection.extensions == []
    assert not ext.enabled()


# ----------------------------------------------------------------------------
# Sec-WebSocket-Extensions grammar (RFC 6455 §9.1)
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "elements"), [
    ("permessage-deflate", ["permessage-deflate"]),
    ("a, b;p=1 ,c", ["a", "b;p=1", "c"]),
    (' a; p="x,y" , b ', ['a; p="x,y"', "b"]),
    ('a; p="x\\",y", b', ['a; p="x\\",y"', "b"]),
    (", ,a,,", ["a"]),
    ("", []),
])
def test_split_extension_list(value: str, elements: list[str]) -> None:
    assert split_extension_list(value) == elements


@pytest.mark.parametrize(("element", "parsed"), [
    ("permessage-deflate", ("permessage-deflate", [])),
    ("permessage-deflate; client_max_window_bits", ("permessage-deflate", [("client_max_window_bits", None)])),
    ('permessage-deflate;client_max_window_bits="10"', ("permessage-deflate", [("client_max_window_bits", "10")])),
    ("x ; a = 1 ;\tb", ("x", [("a", "1"), ("b", None)])),
    ('x; a="\\1\\0"', ("x", [("a", "10")])),
    ("x; a=1; a=2", ("x", [("a", "1"), ("a", "2")])),
])
def test_parse_extension(element: str, parsed: tuple) -> None:
    assert parse_extension(element) == parsed


@pytest.mark.parametrize("element", [
    "", ";", "x;", "x; =1", "x; a=", 'x; a="1', 'x; a="1 0"', 'x; a=""', "x; a=1=2", "x y", "x; a b",
    '"x"', "x; a=1,", "x; a=\x01", "pérmessage-deflate",
])
def test_parse_extension_rejects(element: str) -> None:
    with pytest.raises(ExtensionSyntaxError):
        parse_extension(element)
    assert issubclass(ExtensionSyntaxError, ValueError)


# ----------------------------------------------------------------------------
# negotiation, server side
# ----------------------------------------------------------------------------

CHROMIUM_OFFER = b"permessage-deflate; client_max_window_bits"
_BROWSER_PARAM = r"(server_no_context_takeover|client_no_context_takeover|(server|client)_max_window_bits=(8|9|1[0-5]))"


def browser_accepts(response: bytes, offered_client_max_window_bits: bool = True) -> bool:
    """The checks a browser makes on the response to its permessage-deflate offer
    (RFC 7692 §7, as Chromium's WebSocketDeflateParameters enforces them): one
    Sec-WebSocket-Extensions value naming permessage-deflate once; only the four
    parameters, each at most once; the context-takeover ones bare; window sizes
    8..15 without leading zeros; client_max_window_bits only if offered."""
    import re

    values = extensions_header(response)
    if len(values) != 1:
        return False
    elements = [e.strip() for e in values[0].decode("ascii").split(",")]
    if len(elements) != 1:
        return False
    name, *params = [p.strip() for p in elements[0].split(";")]
    if name != "permessage-deflate":
        return False
    names = [p.split("=")[0] for p in params]
    if len(set(names)) != len(names):
        return False
    if not offered_client_max_window_bits and "client_max_window_bits" in names:
        return False
    return all(re.fullmatch(_BROWSER_PARAM, p) for p in params)


@pytest.mark.parametrize(("config", "expected"), [
    ({}, b"permessage-deflate; server_max_window_bits=12"),
    ({"client_max_window_bits": 10}, b"permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"),
    ({"server_no_context_takeover": True, "server_max_window_bits": 12},
     b"permessage-deflate; server_no_context_takeover; server_max_window_bits=12"),
    ({"client_no_context_takeover": True},
     b"permessage-deflate; client_no_context_takeover; server_max_window_bits=12"),
    # wsproto's answer, as wsproto-style code configures it:
    ({"server_max_window_bits": 15}, b"permessage-deflate; server_max_window_bits=15"),
])
def test_chromium_offer_accepted_with_a_response_a_browser_accepts(config: dict, expected: bytes) -> None:
    # The exact request Chromium sends.
    request = (
        b"GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nPragma: no-cache\r\n"
        b"Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0.0.0\r\n"
        b"Upgrade: websocket\r\nOrigin: http://example.com\r\nSec-WebSocket-Version: 13\r\n"
        b"Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
        b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Extensions: " + CHROMIUM_OFFER + b"\r\n\r\n"
    )
    server = H11Handshake(SERVER)
    server.receive_data(request)
    (event,) = server.events()
    assert event.extensions == [CHROMIUM_OFFER.decode()]
    ext = PerMessageDeflate(**config)
    reply = server.send(AcceptConnection(extensions=[ext]))
    assert reply.startswith(b"HTTP/1.1 101 ")
    assert extensions_header(reply) == [expected]
    assert browser_accepts(reply)
    assert server.connection.extensions == [ext] and ext.enabled()

    # And the browser's side of it: a client that made the same offer agrees and
    # messages flow compressed both ways.
    browser = PerMessageDeflate()
    # Our offer names client_max_window_bits too (with 15, as wsproto's does), so the
    # responses a Chromium offer gets are ones this client accepts.
    assert "client_max_window_bits" in browser.offer()
    browser.finalize(expected.decode())
    client = Connection(CLIENT, [browser])
    text = "chromium " * 500
    wire = client.send(TextMessage(text))
    assert len(wire) < 100
    assert text_of(deliver(server.connection, wire)) == text
    assert text_of(deliver(client, server.connection.send(TextMessage(text)))) == text


def test_browser_check_is_strict() -> None:
    ok = response_bytes(KEY, b"permessage-deflate; client_max_window_bits=10")
    assert browser_accepts(ok)
    assert not browser_accepts(ok, offered_client_max_window_bits=False)
    for bad in (b"permessage-deflate; client_max_window_bits", b"permessage-deflate; server_max_window_bits=08",
                b"permessage-deflate, permessage-deflate", b"permessage-deflate; x",
                b"permessage-deflate; server_no_context_takeover; server_no_context_takeover"):
        assert not browser_accepts(response_bytes(KEY, bad)), bad


# Offers the server must decline (RFC 7692 §7: unknown, duplicated or invalid
# parameters), with what wsproto 1.3.2 does instead.
BAD_OFFERS = {
    "duplicate flag": "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "duplicate window": "permessage-deflate; server_max_window_bits=10; server_max_window_bits=11",
    "unknown parameter": "permessage-deflate; foo",
    "value on a flag": "permessage-deflate; client_no_context_takeover=yes",
    "server window without value": "permessage-deflate; server_max_window_bits",
    "leading zero": "permessage-deflate; server_max_window_bits=010",
    "not a number": "permessage-deflate; client_max_window_bits=abc",
    "7": "permessage-deflate; client_max_window_bits=7",
    "16": "permessage-deflate; server_max_window_bits=16",
    "quoted non-token": 'permessage-deflate; server_max_window_bits="1 0"',
    "trailing separator": "permessage-deflate;",
}
# Where wsproto 1.3.2 happens to decline too; everywhere else it accepts or crashes.
WSPROTO_ALSO_DECLINES = {"7", "16"}


@pytest.mark.parametrize("case", list(BAD_OFFERS))
def test_server_declines_invalid_offer_and_takes_the_next(case: str) -> None:
    bad = BAD_OFFERS[case]
    ext = PerMessageDeflate()
    assert ext.accept(bad) is None
    assert ext.enabled() is False
    assert server_extensions_handshake([bad], [PerMessageDeflate()]) is None
    # Declined, not failed: the next offer is taken, and nothing of the bad one shows.
    ext = PerMessageDeflate()
    _, reply = our_server(bad.encode() + b", permessage-deflate", ext=ext)
    assert extensions_header(reply) == [b"permessage-deflate; server_max_window_bits=12"]
    assert (ext.client_no_context_takeover, ext.server_no_context_takeover) == (False, False)
    assert (ext.client_max_window_bits, ext.server_max_window_bits) == (15, 12)

    wp_ext = wp_extensions.PerMessageDeflate()
    try:
        wsproto_answer: Any = wp_ext.accept(bad)
    except Exception as exc:  # noqa: BLE001
        wsproto_answer = exc
    if case in WSPROTO_ALSO_DECLINES:
        assert wsproto_answer is None
    else:
        assert wsproto_answer is not None  # accepted it, or crashed on it


def test_wsproto_crashes_on_some_offers_instead_of_declining() -> None:
    _, outcome = wsproto_server(BAD_OFFERS["not a number"].encode())
    assert type(outcome) is ValueError  # a bare ValueError out of AcceptConnection
    _, reply = our_server(BAD_OFFERS["not a number"].encode())
    assert extensions_header(reply) == []


@pytest.mark.parametrize("split", ["one header", "several headers"])
def test_first_acceptable_offer_wins(split: str) -> None:
    offers = [b"permessage-deflate; server_max_window_bits=7",
              b"permessage-deflate; server_max_window_bits=10",
              b"permessage-deflate; server_no_context_takeover"]
    headers = [b", ".join(offers)] if split == "one header" else offers
    ext = PerMessageDeflate()
    _, reply = our_server(*headers, ext=ext)
    assert extensions_header(reply) == [b"permessage-deflate; server_max_window_bits=10"]
    assert ext.server_max_window_bits == 10 and ext.server_no_context_takeover is False

    # wsproto lets the last acceptable offer overwrite the first.
    _, wp_reply = wsproto_server(*headers)
    assert extensions_header(wp_reply) == [b"permessage-deflate; server_no_context_takeover"]


def two_messages_sharing_a_window(wbits: int = 15, distance: int = 4 * KiB) -> tuple[bytes, bytes, bytes]:
    """Two binary messages, the second equal to the first, compressed with context
    takeover: the second refers ``distance`` bytes back into the first, which an
    inflater with a smaller window than ``wbits`` cannot follow. Returns
    (message, wire of the first, wire of the second), masked frames."""
    message = random.Random(11).randbytes(distance)
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -wbits)
    first = compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)
    second = compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert len(second) < 100  # one long back-reference
    return message, frame(0x2, first[:-4], rsv1=True), frame(0x2, second[:-4], rsv1=True)


def test_nothing_leaks_from_a_rejected_offer() -> None:
    """A rejected offer's client_max_window_bits=9 must not shrink the window the
    server inflates with when the next, accepted offer does not limit the client."""
    offers = b"permessage-deflate; client_max_window_bits=9; server_max_window_bits=16, permessage-deflate"
    message, first, second = two_messages_sharing_a_window()

    server, reply = our_server(offers)
    assert extensions_header(reply) == [b"permessage-deflate; server_max_window_bits=12"]
    assert bytes_of(deliver(server.connection, first)) == message
    assert bytes_of(deliver(server.connection, second)) == message

    wp_server, wp_reply = wsproto_server(offers)
    assert extensions_header(wp_reply) == [b"permessage-deflate"]  # says nothing about the client window...
    wp_server.connection.receive_data(first + second)
    events = list(wp_server.connection.events())
    # ...but inflates with the leaked 9 bits and fails on the reference into the first message.
    assert events[-1] == wp_events.CloseConnection(code=1007, reason="error in extension")


def test_nothing_leaks_into_the_response() -> None:
    offers = b"permessage-deflate; client_no_context_takeover; server_max_window_bits=16, permessage-deflate"
    ext = PerMessageDeflate()
    _, reply = our_server(offers, ext=ext)
    assert extensions_header(reply) == [b"permessage-deflate; server_max_window_bits=12"]
    assert ext.client_no_context_takeover is False
    _, wp_reply = wsproto_server(offers)
    assert extensions_header(wp_reply) == [b"permessage-deflate; client_no_context_takeover"]


def test_server_client_max_window_bits_announced_when_the_offer_names_it() -> None:
    """Configured client_max_window_bits=10 and a bare client_max_window_bits in the
    offer: the response says 10, the client compresses with 10, the server inflates
    with 10."""
    client, server, client_ext, server_ext, header = pair(PerMessageDeflate(), PerMessageDeflate(client_max_window_bits=10))
    # The default (wsproto's) offer names server_max_window_bits=15 too, which is
    # answered with the server's own default window, 12 (RFC 7692 §7.1.2.1).
    assert header == b"permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"
    assert client_ext.client_max_window_bits == server_ext.client_max_window_bits == 10
    assert client_ext._deflater.window_bits == server_ext._inflater.window_bits == 10
    message = far_matches(distance=600)  # within 1 KiB: back-references survive the 10-bit window
    assert bytes_of(deliver(server, client.send(BytesMessage(message)))) == message


def test_server_client_max_window_bits_not_announced_when_the_offer_does_not_name_it() -> None:
    """RFC 7692 §7.1.2.2: if the offer has no client_max_window_bits, the response
    MUST NOT have it. The client then compresses with 15 bits, so the server must
    inflate with 15, whatever it was configured with. wsproto inflates with the
    configured 9 and fails on the first long back-reference."""
    message, first, second = two_messages_sharing_a_window()

    ext = PerMessageDeflate(client_max_window_bits=9)
    server, reply = our_server(b"permessage-deflate", ext=ext)
    assert extensions_header(reply) == [b"permessage-deflate; server_max_window_bits=12"]
    assert browser_accepts(reply, offered_client_max_window_bits=False)
    assert ext.client_max_window_bits == 15  # the agreed window, not the configured one
    assert bytes_of(deliver(server.connection, first)) == message
    assert bytes_of(deliver(server.connection, second)) == message

    wp_server, wp_reply = wsproto_server(b"permessage-deflate",
                                         ext=wp_extensions.PerMessageDeflate(client_max_window_bits=9))
    assert extensions_header(wp_reply) == [b"permessage-deflate"]
    wp_server.connection.receive_data(first + second)
    events = list(wp_server.connection.events())
    assert events[-1] == wp_events.CloseConnection(code=1007, reason="error in extension")


@pytest.mark.parametrize(("offer", "expected"), [
    ('permessage-deflate; client_max_window_bits="10"',
     "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"),
    ('permessage-deflate; server_max_window_bits = "12"', "permessage-deflate; server_max_window_bits=12"),
])
def test_quoted_values_accepted(offer: str, expected: str) -> None:
    assert server_extensions_handshake([offer], [PerMessageDeflate()]) == expected.encode()
    with pytest.raises(ValueError):  # wsproto: int('"10"') escapes
        wp_handshake.server_extensions_handshake([offer], [wp_extensions.PerMessageDeflate()])


def test_quoted_comma_does_not_split_the_offer() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(request_bytes(b'x-other; p="a,b", permessage-deflate'))
    (event,) = server.events()
    assert event.extensions == ['x-other; p="a,b"', "permessage-deflate"]
    wp = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    wp.receive_data(request_bytes(b'x-other; p="a,b", permessage-deflate'))
    assert next(wp.events()).extensions == ['x-other; p="a', 'b"', "permessage-deflate"]


@pytest.mark.parametrize("offer", ["permessage-deflate; server_max_window_bits=8",
                                   "permessage-deflate; client_max_window_bits=8"])
def test_window_bits_8_accepted(offer: str) -> None:
    expected = offer if "server" in offer else "permessage-deflate; server_max_window_bits=12; client_max_window_bits=8"
    assert server_extensions_handshake([offer], [PerMessageDeflate()]) == expected.encode()
    # wsproto declines 8 (RFC 7692 §7.1.2 allows 8..15).
    assert wp_handshake.server_extensions_handshake([offer], [wp_extensions.PerMessageDeflate()]) is None


def test_server_accepts_only_one_permessage_deflate() -> None:
    ext = PerMessageDeflate()
    _, reply = our_server(b"permessage-deflate; server_max_window_bits=11, permessage-deflate", ext=ext)
    assert extensions_header(reply) == [b"permessage-deflate; server_max_window_bits=11"]


def test_server_response_parameters() -> None:
    cases = {
        # (configuration, offer) -> response parameters
        ((), ""): "server_max_window_bits=12",  # the server's default window (RFC 7692 §7.1.2.1)
        ((), "server_max_window_bits=15"): "server_max_window_bits=12",
        ((), "server_max_window_bits=9"): "server_max_window_bits=9",
        ((), "client_max_window_bits=12"): "server_max_window_bits=12; client_max_window_bits=12",
        (("client_max_window_bits", 10), "client_max_window_bits=12"):
            "server_max_window_bits=12; client_max_window_bits=10",
        (("client_max_window_bits", 13), "client_max_window_bits=12"):
            "server_max_window_bits=12; client_max_window_bits=12",
        (("server_max_window_bits", 10), ""): "server_max_window_bits=10",
        (("server_max_window_bits", 10), "server_max_window_bits=12"): "server_max_window_bits=10",
        (("server_max_window_bits", 13), "server_max_window_bits=12"): "server_max_window_bits=12",
        # Configured 15: wsproto's answers.
        (("server_max_window_bits", 15), ""): "server_max_window_bits=15",
        (("server_max_window_bits", 15), "server_max_window_bits=15"): "server_max_window_bits=15",
        (("server_no_context_takeover", True), ""): "server_no_context_takeover; server_max_window_bits=12",
        ((), "server_no_context_takeover; client_no_context_takeover"):
            "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12",
    }
    for ((config, offer)), expected in cases.items():
        ext = PerMessageDeflate(**dict([config] if config else []))
        assert ext.accept(f"permessage-deflate; {offer}" if offer else "permessage-deflate") == expected, (config, offer)


# ----------------------------------------------------------------------------
# negotiation, client side
# ----------------------------------------------------------------------------

# Responses a client must fail (RFC 7692 §7), with the words the error must contain.
BAD_RESPONSES = {
    "unknown parameter": (b"permessage-deflate; foo", "unknown parameter 'foo'"),
    "duplicate": (b"permessage-deflate; server_no_context_takeover; server_no_context_takeover", "twice"),
    "bare client window": (b"permessage-deflate; client_max_window_bits", "needs a value"),
    "16": (b"permessage-deflate; server_max_window_bits=16", "expected 8..15"),
    "leading zero": (b"permessage-deflate; server_max_window_bits=09", "without leading zeros"),
    "not a number": (b"permessage-deflate; server_max_window_bits=abc", "expected 8..15"),
    "value on a flag": (b"permessage-deflate; client_no_context_takeover=1", "takes no value"),
    "unterminated quote": (b'permessage-deflate; client_max_window_bits="10', "unterminated"),
    "accepted twice": (b"permessage-deflate, permessage-deflate", "accepted twice"),
}


@pytest.mark.parametrize("case", list(BAD_RESPONSES))
def test_client_fails_invalid_response_with_remote_protocol_error(case: str) -> None:
    response, words = BAD_RESPONSES[case]
    ext = PerMessageDeflate()
    client, error = our_client(ext, response)
    assert isinstance(error, RemoteProtocolError), error
    assert words in str(error)
    assert error.event_hint is not None
    assert client.state is ConnectionState.CLOSED
    # wsproto accepts it silently or lets a bare exception escape.
    _, wp_error = wsproto_client(wp_extensions.PerMessageDeflate(), response)
    assert not wsproto_rejects_properly(wp_error)


@pytest.mark.parametrize(("config", "response", "words"), [
    ({"server_max_window_bits": 10}, b"permessage-deflate", "drops server_max_window_bits"),
    ({"server_max_window_bits": 10}, b"permessage-deflate; server_max_window_bits=12", "above the offered 10"),
    ({"client_max_window_bits": 10}, b"permessage-deflate; client_max_window_bits=12", "above the offered 10"),
    ({"server_no_context_takeover": True}, b"permessage-deflate", "drops server_no_context_takeover"),
])
def test_client_fails_response_its_offer_does_not_allow(config: dict, response: bytes, words: str) -> None:
    client, error = our_client(PerMessageDeflate(**config), response)
    assert isinstance(error, RemoteProtocolError) and words in str(error)
    assert client.state is ConnectionState.CLOSED
    _, wp_error = wsproto_client(wp_extensions.PerMessageDeflate(**config), response)
    assert wp_error is None  # wsproto takes it


def test_client_fails_unoffered_client_max_window_bits() -> None:
    # Our offer always names client_max_window_bits; a subclass that does not must see the rule enforced.
    class NoWindowOffer(PerMessageDeflate):
        def _offered(self) -> dict:
            offered = super()._offered()
            del offered["client_max_window_bits"]
            return offered

    ext = NoWindowOffer()
    with pytest.raises(NegotiationError, match="which the offer did not"):
        ext.finalize("permessage-deflate; client_max_window_bits=10")


def test_client_accepts_quoted_values() -> None:
    ext = PerMessageDeflate()
    client, error = our_client(ext, b'permessage-deflate; client_max_window_bits="10"; server_max_window_bits=11')
    assert error is None and client.state is ConnectionState.OPEN
    assert (ext.client_max_window_bits, ext.server_max_window_bits) == (10, 11)
    assert ext._deflater.window_bits == 10
    _, wp_error = wsproto_client(wp_extensions.PerMessageDeflate(), b'permessage-deflate; client_max_window_bits="10"')
    assert type(wp_error) is ValueError


def test_client_reads_every_extensions_header() -> None:
    class Other(Extension):
        name = "x-other"

        def __init__(self) -> None:
            self.finalized: list[str] = []

        def offer(self) -> bool:
            return True

        def finalize(self, offer: str) -> None:
            self.finalized.append(offer)

    other, ext = Other(), PerMessageDeflate()
    client = H11Handshake(CLIENT)
    data = client.send(Request(host="h", target="/", extensions=[other, ext]))
    key = next(line.split(b": ", 1)[1] for line in data.split(b"\r\n") if line.startswith(b"Sec-WebSocket-Key"))
    client.receive_data(response_bytes(key, b"x-other", b"permessage-deflate"))
    (accepted,) = client.events()
    assert accepted.extensions == [other, ext]
    assert ext.enabled() and other.finalized == ["x-other"]

    # wsproto keeps only the last header.
    class WpOther(wp_extensions.Extension):
        name = "x-other"

        def offer(self) -> bool:
            return True

    wp_client = wp_handshake.H11Handshake(WpConnectionType.CLIENT)
    data = wp_client.send(wp_events.Request(host="h", target="/", extensions=[WpOther(),
                                                                               wp_extensions.PerMessageDeflate()]))
    key = next(line.split(b": ", 1)[1] for line in data.split(b"\r\n") if line.startswith(b"Sec-WebSocket-Key"))
    wp_client.receive_data(response_bytes(key, b"x-other", b"permessage-deflate"))
    assert [e.name for e in next(wp_client.events()).extensions] == ["permessage-deflate"]


def test_client_agreed_values() -> None:
    ext = PerMessageDeflate(client_max_window_bits=12, client_no_context_takeover=True)
    # wsproto's format: both window sizes (15 where not configured), then the flags.
    assert ext.offer() == "client_max_window_bits=12; server_max_window_bits=15; client_no_context_takeover"
    ext.finalize("permessage-deflate; server_no_context_takeover; server_max_window_bits=9")
    assert ext.client_no_context_takeover and ext.server_no_context_takeover
    assert (ext.client_max_window_bits, ext.server_max_window_bits) == (12, 9)
    assert ext._deflater.no_context_takeover and ext._inflater.no_context_takeover
    assert ext._inflater.window_bits == 9


def test_configuration_errors() -> None:
    ext = PerMessageDeflate()
    with pytest.raises(ConfigurationError):
        ext.max_message_size = -1
    with pytest.raises(LocalProtocolError):
        ext.max_message_size = "1"  # type: ignore[assignment]
    ext.max_message_size = 0
    ext.max_message_size = None
    with pytest.raises(LocalProtocolError):
        deflate.Inflater(7)
    with pytest.raises(LocalProtocolError):
        deflate.Deflater(16)
    with pytest.raises(LocalProtocolError):
        deflate.Inflater(15).inflate(b"", -1)


# ----------------------------------------------------------------------------
# compression semantics (RFC 7692 §6, §7.2)
# ----------------------------------------------------------------------------


def every_message() -> PerMessageDeflate:
    """An extension that compresses every message, as wsproto's does (no threshold)."""
    return PerMessageDeflate(compression_threshold=0)


def test_messages_round_trip_compressed() -> None:
    client, server, *_ = pair(every_message(), every_message())
    for text in ["hello", "Grüße, κόσμε! 你好 🌍" * 100, "x" * 100_000]:
        wire = client.send(TextMessage(text))
        ((fin, rsv1, opcode, payload),) = parse_frames(wire)
        assert (fin, rsv1, opcode) == (True, True, 0x1)
        assert text_of(deliver(server, wire)) == text
        assert text_of(deliver(client, server.send(TextMessage(text)))) == text
    data = random.Random(1).randbytes(70_000)
    assert bytes_of(deliver(server, client.send(BytesMessage(data)))) == data
    assert bytes_of(deliver(client, server.send(BytesMessage(data)))) == data


def test_tail_removed_on_send_and_restored_on_receive() -> None:
    client, server, *_ = pair()
    text = "the quick brown fox " * 50
    ((_, _, _, payload),) = parse_frames(server.send(TextMessage(text)))
    assert payload == raw_deflate(text.encode())  # exactly the sync-flushed stream minus 00 00 ff ff
    assert not payload.endswith(TAIL)
    # Receiving: a payload without the tail inflates (the tail is appended).
    wire = frame(0x1, raw_deflate("another text".encode()), rsv1=True)
    assert text_of(deliver(server, wire)) == "another text"


def test_final_block_streams_are_inflated() -> None:
    # RFC 7692 §7.2.3: a sender may end a message with a BFINAL block; the next message is a new stream.
    _, server, *_ = pair()
    for text in ("first", "second", "third"):
        wire = frame(0x1, raw_deflate(text.encode(), final_block=True), rsv1=True)
        assert text_of(deliver(server, wire)) == text


def test_empty_messages() -> None:
    client, server, *_ = pair(every_message(), every_message())
    for event in (TextMessage(""), BytesMessage(b""), TextMessage("after"), TextMessage("")):
        wire = client.send(event)
        ((fin, rsv1, _, payload),) = parse_frames(wire)
        assert fin and rsv1
        if not event.data:
            assert payload == b"\x00"  # an empty stored block minus the tail (RFC 7692 §7.2.3)
        (received,) = deliver(server, wire)
        assert received.data == event.data and type(received) is type(event)
        (received,) = deliver(client, server.send(event))
        assert received.data == event.data


def test_rsv1_only_on_the_first_frame_of_a_fragmented_message() -> None:
    client, server, *_ = pair()
    parts = ["frag" * 100, "men" * 100, "ted" * 100]
    wire = b"".join(client.send(TextMessage(part, message_finished=i == 2)) for i, part in enumerate(parts))
    frames = parse_frames(wire)
    assert [(fin, rsv1, opcode) for fin, rsv1, opcode, _ in frames] == [
        (False, True, 0x1), (False, False, 0x0), (True, False, 0x0)]
    # Each fragment ends with a sync flush so it inflates on arrival; only the last drops the tail.
    assert frames[0][3].endswith(TAIL) and frames[1][3].endswith(TAIL) and not frames[2][3].endswith(TAIL)
    events = deliver(server, wire)
    assert len(events) == 3 and all(e.data for e in events)  # every fragment inflated at once
    assert text_of(events) == "".join(parts)


def test_fragmented_compressed_message_received_in_pieces() -> None:
    client, server, *_ = pair()
    data = random.Random(2).randbytes(3000) * 20
    payload = raw_deflate(data)
    cuts = [0, 7, 100, len(payload) // 2, len(payload)]
    wire = b"".join(
        frame(0x2 if i == 0 else 0x0, payload[a:b], fin=b == len(payload), rsv1=i == 0)
        for i, (a, b) in enumerate(zip(cuts, cuts[1:]))
    )
    events = []
    for i in range(0, len(wire), 1000):  # and split across reads
        events += deliver(server, wire[i:i + 1000])
    assert bytes_of(events) == data


def test_control_frames_are_never_compressed() -> None:
    client, server, *_ = pair()
    for event in (Ping(b"ping me"), Pong(b"pong")):
        ((fin, rsv1, _, payload),) = parse_frames(client.send(event))
        assert (fin, rsv1, payload) == (True, False, event.payload)
        ((_, rsv1, _, payload),) = parse_frames(server.send(event))
        assert (rsv1, payload) == (False, event.payload)
    ((_, rsv1, opcode, payload),) = parse_frames(client.send(CloseConnection(1000, "bye")))
    assert (rsv1, opcode, payload) == (False, 0x8, b"\x03\xe8bye")


def test_control_frame_inside_a_fragmented_compressed_message() -> None:
    """A Ping between the fragments of a compressed message must not reset the
    message's compressed flag (wsproto 1.3.2 resets it and passes the rest of the
    message through without inflating it)."""
    message = "payload " * 200
    payload = raw_deflate(message.encode())
    half = len(payload) // 2
    wire = (frame(0x1, payload[:half], fin=False, rsv1=True, masked=False)
            + frame(0x9, b"mid", masked=False)
            + frame(0x0, payload[half:], masked=False))

    client, *_ = pair()
    events = deliver(client, wire)
    assert Ping(b"mid") in events
    assert text_of([e for e in events if isinstance(e, TextMessage)]) == message

    wp_ext = wp_extensions.PerMessageDeflate()
    wp_ext.finalize("permessage-deflate")
    wp_client = wp_connection.Connection(WpConnectionType.CLIENT, [wp_ext])
    wp_client.receive_data(wire)
    wp_events_ = list(wp_client.events())
    text = "".join(e.data for e in wp_events_ if isinstance(e, wp_events.TextMessage))
    closes = [e for e in wp_events_ if isinstance(e, wp_events.CloseConnection)]
    assert text != message or closes


def test_sent_fragmented_message_with_ping_in_between() -> None:
    client, server, *_ = pair()
    wire = client.send(TextMessage("abc" * 50, message_finished=False))
    wire += client.send(Ping(b"x"))
    wire += client.send(TextMessage("def" * 50))
    events = deliver(server, wire)
    assert events[1] == Ping(b"x")
    assert text_of([events[0], events[2]]) == "abc" * 50 + "def" * 50


def test_uncompressed_message_when_negotiated() -> None:
    # RSV1 clear: the message is not compressed (RFC 7692 §6); it passes unchanged.
    _, server, *_ = pair()
    assert text_of(deliver(server, frame(0x1, b"plain"))) == "plain"
    assert text_of(deliver(server, frame(0x1, raw_deflate(b"packed"), rsv1=True))) == "packed"


@pytest.mark.parametrize(("negotiated", "wire", "reason"), [
    (False, frame(0x1, raw_deflate(b"hi"), rsv1=True), "Reserved bit set unexpectedly"),
    (True, frame(0x9, b"", rsv1=True), "control frames are never compressed"),
    (True, frame(0x1, raw_deflate(b"hi")[:2], fin=False, rsv1=True) + frame(0x0, raw_deflate(b"hi")[2:], rsv1=True),
     "only a message's first frame"),
    (True, frame(0x1, b"hi", rsv2=True), "Reserved bit set unexpectedly"),
])
def test_rsv_violations_fail_with_1002(negotiated: bool, wire: bytes, reason: str) -> None:
    if negotiated:
        _, server, *_ = pair()
    else:
        server = Connection(SERVER, [PerMessageDeflate()])  # listed but never negotiated
    events = deliver(server, wire)
    assert isinstance(events[-1], CloseConnection)
    assert events[-1].code == 1002 and reason in events[-1].reason
    assert server.state is ConnectionState.REMOTE_CLOSING


def test_no_hooks_run_when_not_negotiated() -> None:
    """The hot path: an extension that was not negotiated is not in the frame layer at all."""
    pmd = PerMessageDeflate()
    assert FrameProtocol(False, [pmd]).extensions == []
    conn = Connection(SERVER, [pmd])
    assert conn._proto.extensions == []


@pytest.mark.parametrize("payload", [
    b"\xff\xff\xff\xff",  # reserved block type
    b"\x00\x05\x00\x00\x00",  # stored block whose length and its complement disagree
    raw_deflate(b"ok")[:-1] + b"\xfe",  # a damaged fixed-Huffman block
], ids=["block type", "stored length", "damaged"])
def test_corrupt_deflate_data_fails_with_1007(payload: bytes) -> None:
    _, server, *_ = pair()
    events = deliver(server, frame(0x2, payload, rsv1=True))
    assert isinstance(events[-1], CloseConnection)
    assert events[-1].code == 1007
    assert "permessage-deflate: invalid compressed data" in events[-1].reason
    assert server.state is ConnectionState.REMOTE_CLOSING


def test_reference_beyond_the_agreed_window_fails_with_1007() -> None:
    # The client promised 9 bits (client_max_window_bits=9 in its offer) and broke the promise.
    _, server, _, server_ext, _ = pair(PerMessageDeflate(client_max_window_bits=9))
    assert server_ext.client_max_window_bits == 9
    message, first, second = two_messages_sharing_a_window(15)
    assert bytes_of(deliver(server, first)) == message
    events = deliver(server, second)
    assert events == [CloseConnection(1007, events[0].reason)]
    assert "too far back" in events[0].reason


def test_corrupt_deflate_at_the_frame_layer_is_parse_failed() -> None:
    ext = PerMessageDeflate()
    ext.finalize("permessage-deflate")
    proto = FrameProtocol(True, [ext])
    proto.receive_bytes(frame(0x2, b"\xff\xff\xff", rsv1=True, masked=False))
    with pytest.raises(ParseFailed) as info:
        list(proto.received_frames())
    assert info.value.code == 1007
    assert not isinstance(info.value.__cause__, zlib.error)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_random_compressed_payloads_never_raise(payload: bytes, fin_first: bool) -> None:
    _, server, *_ = pair()
    wire = frame(0x2, payload, rsv1=True, fin=fin_first)
    if not fin_first:
        wire += frame(0x0, payload[::-1])
    events = deliver(server, wire)  # never raises
    for event in events:
        assert isinstance(event, (BytesMessage, CloseConnection))
        if isinstance(event, CloseConnection):
            assert event.code in (1002, 1007)


def test_context_takeover() -> None:
    client, server, *_ = pair()
    text = json.dumps({"user": "alice", "items": list(range(200))})
    first, second = (parse_frames(client.send(TextMessage(text)))[0][3] for _ in range(2))
    assert len(second) < len(first) / 5  # the second message refers to the first
    assert text_of(deliver(server, frame(0x1, first, rsv1=True))) == text
    assert text_of(deliver(server, frame(0x1, second, rsv1=True))) == text


@pytest.mark.parametrize("who_asks", ["client", "server"])
@pytest.mark.parametrize("direction", ["client", "server"])
def test_no_context_takeover(direction: str, who_asks: str) -> None:
    kwargs = {f"{direction}_no_context_takeover": True}
    client, server, client_ext, server_ext, header = pair(
        PerMessageDeflate(**kwargs) if who_asks == "client" else None,
        PerMessageDeflate(**kwargs) if who_asks == "server" else None,
    )
    assert f"{direction}_no_context_takeover".encode() in header
    sender, receiver = (client, server) if direction == "client" else (server, client)
    sender_ext, receiver_ext = (client_ext, server_ext) if direction == "client" else (server_ext, client_ext)
    text = json.dumps({"user": "alice", "items": list(range(200))})
    sizes = []
    for _ in range(3):
        wire = sender.send(TextMessage(text))
        sizes.append(len(wire))
        assert text_of(deliver(receiver, wire)) == text
        # Windows are forgotten after every message on both ends.
        assert not sender_ext._deflater.active
        assert not receiver_ext._inflater.active
    assert sizes[0] == sizes[1] == sizes[2]
    # The other direction keeps its context.
    back_sender = server if direction == "client" else client
    first, second = len(back_sender.send(TextMessage(text))), len(back_sender.send(TextMessage(text)))
    assert second < first / 5


def test_compression_objects_are_created_lazily() -> None:
    client, server, client_ext, server_ext, _ = pair()
    for ext in (client_ext, server_ext):
        assert not ext._deflater.active and not ext._inflater.active
    server.receive_data(client.send(Ping(b"x")))
    list(server.events())
    assert not client_ext._deflater.active and not server_ext._inflater.active  # control frames need none
    deliver(server, client.send(TextMessage("short")))  # below the threshold: sent uncompressed
    assert not client_ext._deflater.active and not server_ext._inflater.active
    deliver(server, client.send(TextMessage("now " * 100)))
    assert client_ext._deflater.active and server_ext._inflater.active
    assert not server_ext._deflater.active and not client_ext._inflater.active


def test_idle_negotiated_connections_hold_no_zlib_memory() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        pairs = [pair() for _ in range(20)]
        idle = tracemalloc.get_traced_memory()[0] - before
        for client, server, *_ in pairs:
            deliver(server, client.send(TextMessage("wake up " * 40)))
        busy = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # A client's compressor (window 12, memLevel 5: wsspec's defaults) is ~48 KiB of
    # zlib state and the server's inflater (window 15) ~40 KiB; 20 idle pairs hold none of it.
    assert idle < 20 * 40 * KiB, idle
    assert busy > idle + 20 * 70 * KiB, (idle, busy)


def test_window_bits_8_both_ways() -> None:
    """8 bits negotiated for both senders. zlib refuses to compress with 8, so
    the compressor uses 9, whose matches never reach further back than 250 bytes:
    strict 8-bit inflaters decode the result, and ours inflates with 8."""
    client, server, client_ext, server_ext, header = pair(
        PerMessageDeflate(server_max_window_bits=8), PerMessageDeflate(client_max_window_bits=8))
    assert header == b"permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"
    assert client_ext._inflater.window_bits == server_ext._inflater.window_bits == 8
    strict = {id(client): zlib.decompressobj(-8), id(server): zlib.decompressobj(-8)}
    for distance in (200, 250, 256, 300, 600):
        message = far_matches(size=6000, distance=distance, seed=distance)
        for sender, receiver in ((client, server), (server, client)):
            wire = sender.send(BytesMessage(message))
            ((_, rsv1, _, payload),) = parse_frames(wire)
            assert rsv1
            if distance <= 250:
                assert len(payload) < distance + 100  # the repeats are matched
            # Never beyond 256 bytes, within the message or back into the previous ones.
            assert strict_inflate(payload + TAIL, 8, strict[id(sender)]) == message
            assert bytes_of(deliver(receiver, wire)) == message


def test_zlib_9_bit_matches_stay_inside_an_8_bit_window() -> None:
    """The fact the 8-bit support rests on (zlib's MAX_DIST = window - 262)."""
    for seed in range(50):
        rng = random.Random(seed)
        message = far_matches(size=5000, distance=rng.randint(180, 400), seed=seed)
        assert strict_inflate(raw_deflate(message, 9) + TAIL, 8) == message
    # ...and strict_inflate would catch a longer reach: a 10-bit stream fails.
    with pytest.raises(zlib.error, match="too far back"):
        strict_inflate(raw_deflate(far_matches(size=2000, distance=300), 10) + TAIL, 8)


def test_8_bit_inflater_rejects_a_reach_beyond_256_bytes() -> None:
    _, server, _, server_ext, _ = pair(PerMessageDeflate(client_max_window_bits=8))
    assert server_ext.client_max_window_bits == 8
    message, first, second = two_messages_sharing_a_window(10, distance=300)
    assert bytes_of(deliver(server, first)) == message
    events = deliver(server, second)
    assert events[-1].code == 1007 and "too far back" in events[-1].reason


# ----------------------------------------------------------------------------
# bounded inflation: the decompression bomb
# ----------------------------------------------------------------------------

BOMB_SIZE = 200 * MiB


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """200 MiB of zeros deflated (about 200 KiB), as a peer would send it (no tail)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MiB)
    parts = [compressor.compress(zeros) for _ in range(BOMB_SIZE // MiB)]
    data = b"".join(parts) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(TAIL)
    return data[:-4]


def test_bomb_is_small(bomb: bytes) -> None:
    assert 150 * KiB < len(bomb) < 250 * KiB


def inflate_in_chunks(inflater: deflate.Inflater, data: bytes, chunk: int) -> tuple[int, int, int]:
    """Inflate ``data`` as the frame layer does, at most ``chunk`` bytes per call, until the
    message is finished: (bytes out, largest piece, pieces before the finish)."""
    total = largest = calls = 0
    out = inflater.inflate(data, chunk)
    while True:
        total += len(out)
        largest = max(largest, len(out))
        calls += 1
        if not inflater.pending:
            break
        out = inflater.inflate(b"", chunk)
    out = inflater.finish(chunk)
    total += len(out)
    while inflater.pending:
        total += len(inflater.inflate(b"", chunk))
    return total, largest, calls


def test_inflater_streams_a_bomb_in_bounded_chunks(bomb: bytes) -> None:
    chunk = 64 * KiB
    inflater = deflate.Inflater(15)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        total, largest, _ = inflate_in_chunks(inflater, bomb, chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == BOMB_SIZE
    assert largest == chunk
    # The bound: one output chunk (64 KiB) plus the queued compressed input
    # (at most the 200 KiB frame) plus zlib's 32 KiB window, with slack.
    assert peak < 1 * MiB, peak
    print(f"\nbomb streamed: {len(bomb)} B -> {total} B in {chunk} B chunks, tracemalloc peak {peak} B")


@pytest.mark.parametrize("feed", ["whole frame", "4 KiB reads"])
def test_connection_stops_a_bomb_at_max_message_size(bomb: bytes, feed: str) -> None:
    limit = MiB
    _, server, _, server_ext, _ = pair()
    server_ext.max_message_size = limit
    wire = frame(0x2, bomb, rsv1=True)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        events: list = []
        if feed == "whole frame":
            events = deliver(server, wire)
        else:
            for i in range(0, len(wire), 4 * KiB):
                events += deliver(server, wire[i:i + 4 * KiB])
                if events and isinstance(events[-1], CloseConnection):
                    break
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    close = events[-1]
    assert close == CloseConnection(1009, close.reason) and "max_message_size" in close.reason
    assert sum(len(e.data) for e in events if isinstance(e, BytesMessage)) <= limit
    # The bound: the limit (1 MiB) + 1 byte of output, the ~200 KiB frame and its unmasked copies.
    assert peak < limit + 2 * MiB, peak
    print(f"\nbomb stopped ({feed}): tracemalloc peak {peak} B for a {BOMB_SIZE} B bomb, limit {limit} B")


def test_max_message_size_boundary() -> None:
    limit = 10_000
    client, server, _, server_ext, _ = pair()
    server_ext.max_message_size = limit
    exact = random.Random(3).randbytes(limit // 2) * 2
    assert bytes_of(deliver(server, client.send(BytesMessage(exact)))) == exact
    # The count is per message, across its fragments.
    wire = client.send(BytesMessage(exact[:6000], message_finished=False)) + client.send(BytesMessage(exact[:4000]))
    assert bytes_of(deliver(server, wire)) == exact[:6000] + exact[:4000]
    events = deliver(server, client.send(BytesMessage(exact + b"!")))
    assert isinstance(events[-1], CloseConnection) and events[-1].code == 1009


def test_max_message_size_across_fragments_fails() -> None:
    client, server, _, server_ext, _ = pair()
    server_ext.max_message_size = 5000
    wire = client.send(BytesMessage(b"a" * 3000, message_finished=False)) + client.send(BytesMessage(b"b" * 3000))
    events = deliver(server, wire)
    assert isinstance(events[-1], CloseConnection) and events[-1].code == 1009


# ----------------------------------------------------------------------------
# wire compatibility with wsproto's PerMessageDeflate
# ----------------------------------------------------------------------------

WSPROTO_CONFIGS = [
    {},
    {"client_no_context_takeover": True},
    {"server_no_context_takeover": True},
    {"client_max_window_bits": 10, "server_max_window_bits": 11},
    {"client_no_context_takeover": True, "server_no_context_takeover": True, "client_max_window_bits": 9,
     "server_max_window_bits": 9},
]


def _messages() -> list[Any]:
    rng = random.Random(4)
    return [
        "hello",
        "Grüße, κόσμε! 你好 🌍" * 300,
        rng.randbytes(100_000),
        b"",
        "",
        json.dumps([{"id": i, "name": f"user{i}"} for i in range(3000)]),
    ]


@pytest.mark.parametrize("config", WSPROTO_CONFIGS, ids=lambda c: ",".join(c) or "defaults")
@pytest.mark.parametrize("ours", ["client", "server"])
def test_round_trips_with_wsproto(ours: str, config: dict) -> None:
    if ours == "client":
        our_hs, their_hs = H11Handshake(CLIENT), wp_handshake.H11Handshake(WpConnectionType.SERVER)
        our_ext = PerMessageDeflate(**config)
        their_hs.receive_data(our_hs.send(Request(host="h", target="/", extensions=[our_ext])))
        list(their_hs.events())
        our_hs.receive_data(their_hs.send(wp_events.AcceptConnection(
            extensions=[wp_extensions.PerMessageDeflate(**config)])))
        list(our_hs.events())
    else:
        their_hs, our_hs = wp_handshake.H11Handshake(WpConnectionType.CLIENT), H11Handshake(SERVER)
        our_ext = PerMessageDeflate(**config)
        our_hs.receive_data(their_hs.send(wp_events.Request(
            host="h", target="/", extensions=[wp_extensions.PerMessageDeflate(**config)])))
        list(our_hs.events())
        their_hs.receive_data(our_hs.send(AcceptConnection(extensions=[our_ext])))
        list(their_hs.events())
    assert our_ext.enabled()
    ours_conn, theirs = our_hs.connection, their_hs.connection
    assert len(ours_conn.extensions) == len(theirs._proto.extensions) == 1

    for message in _messages():
        event = TextMessage(message) if isinstance(message, str) else BytesMessage(message)
        wire = ours_conn.send(event)
        size = len(message.encode() if isinstance(message, str) else message)
        # RSV1: compressed, unless shorter than the threshold (wsproto inflates only RSV1 messages).
        assert parse_frames(wire)[0][1] is (size >= our_ext.compression_threshold)
        theirs.receive_data(wire)
        got = list(theirs.events())
        joined = "".join(e.data for e in got) if isinstance(message, str) else b"".join(e.data for e in got)
        assert joined == message and got[-1].message_finished

        wp_event = wp_events.TextMessage(message) if isinstance(message, str) else wp_events.BytesMessage(message)
        wire = theirs.send(wp_event)
        assert parse_frames(wire)[0][1]
        got = deliver(ours_conn, wire)
        assert (text_of(got) if isinstance(message, str) else bytes_of(got)) == message

    # Fragmented, both ways (no control frame in between: wsproto mishandles that).
    parts = ["one " * 100, "two " * 100, "three " * 100]
    wire = b"".join(ours_conn.send(TextMessage(p, message_finished=i == 2)) for i, p in enumerate(parts))
    theirs.receive_data(wire)
    assert "".join(e.data for e in theirs.events()) == "".join(parts)
    wire = b"".join(theirs.send(wp_events.TextMessage(p, message_finished=i == 2)) for i, p in enumerate(parts))
    assert text_of(deliver(ours_conn, wire)) == "".join(parts)


# ----------------------------------------------------------------------------
# measurement: compression ratio of a JSON-like text message
# ----------------------------------------------------------------------------


def json_like_text(size: int = MiB, seed: int = 5) -> str:
    """About ``size`` bytes of JSON resembling an API response."""
    rng = random.Random(seed)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    records = []
    length = 2
    i = 0
    while length < size:
        record = {
            "id": i,
            "uuid": f"{rng.getrandbits(128):032x}",
            "name": f"{rng.choice(words).title()} {rng.choice(words).title()}",
            "email": f"user{i}@example.com",
            "active": rng.random() < 0.5,
            "score": round(rng.uniform(0, 100), 3),
            "tags": rng.sample(words, 3),
            "created": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z",
        }
        text = json.dumps(record)
        records.append(text)
        length += len(text) + 2
        i += 1
    return ("[" + ", ".join(records) + "]")[:size]


def test_compression_ratio_on_1_mib_json() -> None:
    text = json_like_text()
    assert len(text.encode()) == MiB
    client, server, *_ = pair()
    wire = client.send(TextMessage(text))
    ((_, rsv1, _, payload),) = parse_frames(wire)
    assert rsv1
    ratio = len(wire) / MiB
    assert text_of(deliver(server, wire)) == text
    assert ratio < 0.35, ratio
    print(f"\n1 MiB JSON-like text: {len(wire)} wire bytes ({len(payload)} payload), ratio {ratio:.4f}")


# ----------------------------------------------------------------------------
# Driven as wsproto's users (and wsproto's own tests) drive it: _enabled set by
# hand, hooks called directly, _compressor / _decompressor read. The full
# wsproto suite runs in tests/test_wsproto_suite.py; these need no download.
# ----------------------------------------------------------------------------

from wsspec.frame_protocol import CloseReason, FrameDecoder, Opcode, RsvBits  # noqa: E402

NO_RSV = RsvBits(False, False, False)
RSV1 = RsvBits(True, False, False)


@pytest.mark.parametrize("client", [True, False])
@pytest.mark.parametrize("no_context_takeover", [True, False])
def test_enabled_by_hand_creates_compression_objects_on_first_use(client: bool, no_context_takeover: bool) -> None:
    own = "client" if client else "server"
    peer = "server" if client else "client"
    ext = PerMessageDeflate(**{f"{own}_no_context_takeover": no_context_takeover,
                               f"{peer}_no_context_takeover": no_context_takeover})
    assert not ext.enabled() and ext._enabled is False
    ext._enabled = True
    assert ext.enabled()
    proto = FrameProtocol(client, [ext])
    assert proto.extensions == [ext]
    assert ext._compressor is None and ext._decompressor is None

    rsv, first = ext.frame_outbound(proto, Opcode.BINARY, NO_RSV, b"x" * 12, False)
    assert rsv.rsv1 and ext._compressor is not None
    rsv, second = ext.frame_outbound(proto, Opcode.CONTINUATION, NO_RSV, b"x" * 11, True)
    assert not rsv.rsv1
    assert (ext._compressor is None) is no_context_takeover
    assert zlib.decompressobj(-15).decompress(first + second + TAIL) == b"x" * 23

    assert ext.frame_inbound_header(proto, Opcode.BINARY, RSV1, 6) == RSV1
    assert ext._decompressor is not None  # ready from the first header, as in wsproto
    data = ext.frame_inbound_payload_data(proto, b"\xaa\xa8\xc0\n\x00\x00")
    rest = ext.frame_inbound_complete(proto, True)
    assert isinstance(data, bytes) and isinstance(rest, bytes)
    assert data + rest == b"x" * 23
    assert (ext._decompressor is None) is no_context_takeover

    ext._enabled = False
    assert not ext.enabled() and ext._compressor is None and ext._decompressor is None


def test_hooks_called_directly_follow_wsprotos_contract() -> None:
    ext = PerMessageDeflate()
    ext._enabled = True
    proto = FrameProtocol(True, [ext])
    # Every frame's RSV1 is claimed, control frames included (wsproto's return value).
    assert ext.frame_inbound_header(proto, Opcode.PING, NO_RSV, 3) == RSV1
    assert ext.frame_inbound_payload_data(proto, b"abc") == b"abc"
    assert ext.frame_inbound_complete(proto, True) is None
    assert ext.frame_inbound_header(proto, Opcode.BINARY, NO_RSV, 3) == RSV1
    assert ext.frame_inbound_payload_data(proto, b"abc") == b"abc"
    assert ext.frame_inbound_complete(proto, True) is None
    # Failures are returned, not raised.
    assert ext.frame_inbound_header(proto, Opcode.PING, RSV1, 0) is CloseReason.PROTOCOL_ERROR
    assert ext.frame_inbound_header(proto, Opcode.CONTINUATION, RSV1, 0) is CloseReason.PROTOCOL_ERROR
    assert ext.frame_inbound_header(proto, Opcode.BINARY, RSV1, 4) == RSV1
    assert ext.frame_inbound_payload_data(proto, b"\xff\xff\xff\xff") is CloseReason.INVALID_FRAME_PAYLOAD_DATA
    # The extension's own limit: 1009, returned.
    ext = PerMessageDeflate()
    ext._enabled = True
    ext.max_message_size = 10
    assert ext.frame_inbound_header(proto, Opcode.BINARY, RSV1, 6) == RSV1
    assert ext.frame_inbound_payload_data(proto, b"\xaa\xa8\xc0\n\x00\x00") is CloseReason.MESSAGE_TOO_BIG


def test_hooks_return_the_code_and_the_decoder_raises_parse_failed_with_the_reason() -> None:
    """One error channel: the hook returns the code (to any caller) and sets failure_reason;
    wsspec's FrameDecoder turns both into ParseFailed, so the Close frame carries the reason."""
    ext = PerMessageDeflate()
    ext._enabled = True
    decoder = FrameDecoder(True, [ext])
    assert ext.frame_inbound_header(decoder, Opcode.PING, RSV1, 0) is CloseReason.PROTOCOL_ERROR
    assert ext.failure_reason is not None and "RFC 7692 §6" in ext.failure_reason
    decoder.receive_bytes(frame(0x9, b"", rsv1=True, masked=False))
    with pytest.raises(ParseFailed) as info:
        decoder.process_buffer()
    assert info.value.code == CloseReason.PROTOCOL_ERROR and "RFC 7692 §6" in str(info.value)
    assert ext.failure_reason is None  # read and cleared by the decoder


def test_offer_is_wsprotos() -> None:
    for config in ({}, {"client_max_window_bits": 10}, {"server_max_window_bits": 9, "client_no_context_takeover": True},
                   {"server_no_context_takeover": True, "client_no_context_takeover": True}):
        assert PerMessageDeflate(**config).offer() == wp_extensions.PerMessageDeflate(**config).offer()
    assert PerMessageDeflate().offer() == "client_max_window_bits=15; server_max_window_bits=15"


def test_zlib_objects_assigned_before_first_use_are_adopted() -> None:
    ext = PerMessageDeflate()
    ext._enabled = True
    compressor, decompressor = zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15)
    ext._compressor = compressor
    ext._decompressor = decompressor
    proto = FrameProtocol(False, [ext])
    ext.frame_outbound(proto, Opcode.TEXT, NO_RSV, b"hello", True)
    assert ext._compressor is compressor and ext._decompressor is decompressor


@pytest.mark.parametrize("no_context_takeover", [False, True])
@pytest.mark.parametrize("pieces", [1, 2, 3])
@pytest.mark.parametrize("delta", [-1, 0, 1])
@pytest.mark.parametrize("backend", ["zlib", "zlib-ng", "isal"])
def test_exact_multiple_of_inflate_chunk_size_ends_on_its_last_piece(pieces: int, delta: int,
                                                                       no_context_takeover: bool, backend: str) -> None:
    """A message inflating to k * INFLATE_CHUNK_SIZE bytes ends with its last full piece
    (message_finished=True), not with an extra empty piece; sizes next to it are unchanged."""
    from wsspec.extensions import INFLATE_CHUNK_SIZE

    size = pieces * INFLATE_CHUNK_SIZE + delta
    for payload in (bytes(size), random.Random(size).randbytes(size)):
        if not _installed(backend):
            pytest.skip(f"{backend} not installed")
        sender = PerMessageDeflate(client_no_context_takeover=no_context_takeover, zlib_backend=backend)
        receiver = PerMessageDeflate(client_no_context_takeover=no_context_takeover, zlib_backend=backend)
        sender._enabled = receiver._enabled = True
        client, server = FrameProtocol(True, [sender]), FrameProtocol(False, [receiver])
        for _ in range(2):  # a second message: the window (or its reset) carries over correctly
            server.receive_bytes(client.send_data(payload))
            frames = list(server.received_frames())
            assert b"".join(f.payload for f in frames) == payload  # type: ignore[misc]  # bytes payloads (BINARY)
            assert all(f.payload for f in frames), [len(f.payload) for f in frames]
            assert [f.message_finished for f in frames] == [False] * (len(frames) - 1) + [True]
            assert all(len(f.payload) <= INFLATE_CHUNK_SIZE for f in frames)
            expected = -(-size // INFLATE_CHUNK_SIZE)  # ceil: the pieces the output needs, no more
            assert len(frames) == expected


# ----------------------------------------------------------------------------
# issue 12: the measured defaults, the compression threshold, the zlib backends
# ----------------------------------------------------------------------------


def test_defaults_come_from_the_spec() -> None:
    ext = PerMessageDeflate()
    assert ext.compression_threshold == spec.DEFAULT_COMPRESSION_THRESHOLD == 256
    assert ext.mem_level == spec.DEFAULT_MEM_LEVEL == 5
    assert ext.zlib_backend == "zlib" and ext.compression_level == zlib.Z_DEFAULT_COMPRESSION
    assert ext.accept("permessage-deflate") == f"server_max_window_bits={spec.DEFAULT_COMPRESSOR_WINDOW_BITS}"
    assert ext._deflater.window_bits == 12 and ext._deflater.mem_level == 5
    # The client's offer stays wsproto's; it compresses with at most 12 bits all the same
    # (a sender may use a smaller window than agreed), unless configured.
    client = PerMessageDeflate()
    assert client.offer() == "client_max_window_bits=15; server_max_window_bits=15"
    client.finalize("permessage-deflate; server_max_window_bits=12")
    assert client.client_max_window_bits == 15  # what was agreed
    assert client._deflater.window_bits == 12 and client._inflater.window_bits == 12
    client = PerMessageDeflate(client_max_window_bits=15)
    client.finalize("permessage-deflate; server_max_window_bits=12")
    assert client._deflater.window_bits == 15
    client = PerMessageDeflate()
    client.finalize("permessage-deflate; client_max_window_bits=10")
    assert client._deflater.window_bits == 10  # the server's limit is lower still


def test_wsprotos_settings_give_wsprotos_behaviour() -> None:
    ext = PerMessageDeflate(server_max_window_bits=15, mem_level=zlib.DEF_MEM_LEVEL, compression_threshold=0)
    assert ext.accept("permessage-deflate; client_max_window_bits") == "server_max_window_bits=15"
    proto = FrameProtocol(False, [ext])
    rsv, data = ext.frame_outbound(proto, Opcode.BINARY, NO_RSV, b"x" * 23, True)
    assert rsv.rsv1 and data == b"\xaa\xa8\xc0\n\x00\x00"  # wsproto's bytes for it


@pytest.mark.parametrize("threshold", [0, 1, 100, 256])
def test_messages_below_the_threshold_go_out_uncompressed(threshold: int) -> None:
    client, server, client_ext, server_ext, _ = pair(PerMessageDeflate(compression_threshold=threshold),
                                                     PerMessageDeflate(compression_threshold=threshold))
    for size in sorted({0, max(threshold - 1, 0), threshold, threshold + 1, 1000}):
        text = "j" * size
        for sender, receiver in ((client, server), (server, client)):
            wire = sender.send(TextMessage(text))
            ((fin, rsv1, _, payload),) = parse_frames(wire)
            assert fin and rsv1 is (size >= threshold), (size, threshold)
            if not rsv1:
                assert payload == text.encode()  # as it is (the client's frame unmasked by parse_frames)
            assert text_of(deliver(receiver, wire)) == text


def test_threshold_counts_bytes_and_leaves_fragments_and_receiving_alone() -> None:
    client, server, client_ext, server_ext, _ = pair()
    short = "é" * 127  # 254 bytes of UTF-8: below 256
    assert not parse_frames(client.send(TextMessage(short)))[0][1]
    assert parse_frames(client.send(TextMessage(short + "é")))[0][1]  # 256 bytes
    # A fragmented message is compressed whatever its fragments' sizes: its size is unknown at its first frame.
    wire = client.send(TextMessage("a", message_finished=False)) + client.send(TextMessage("b"))
    frames = parse_frames(wire)
    assert [f[1] for f in frames] == [True, False]
    assert text_of(deliver(server, wire)) == "ab"
    # Receiving: a short compressed message from a peer without a threshold is inflated.
    assert text_of(deliver(server, frame(0x1, raw_deflate(b"hi"), rsv1=True))) == "hi"
    # No compression object was needed for uncompressed messages.
    assert not server_ext._deflater.active


def test_option_errors() -> None:
    for kwargs in ({"compression_threshold": -1}, {"compression_threshold": "256"}, {"compression_threshold": True},
                   {"mem_level": 0}, {"mem_level": 10}, {"compression_level": 10}, {"compression_level": -2},
                   {"zlib_backend": "gzip"}, {"zlib_backend": 3}, {"zlib_backend": json}):
        with pytest.raises(ConfigurationError) as info:
            PerMessageDeflate(**kwargs)
        assert isinstance(info.value, LocalProtocolError) and isinstance(info.value, ValueError)
        assert next(iter(kwargs)) in str(info.value) or "zlib_backend" in str(info.value), (kwargs, info.value)
    assert PerMessageDeflate(zlib_backend=zlib).zlib_backend == "zlib"


def test_a_missing_backend_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "zlib_ng.zlib_ng", None)  # import then raises ImportError
    monkeypatch.setitem(sys.modules, "isal.isal_zlib", None)
    with pytest.raises(ConfigurationError, match=r'pip install "wsspec\[zlib-ng\]"'):
        PerMessageDeflate(zlib_backend="zlib-ng")
    with pytest.raises(ConfigurationError, match=r'pip install "wsspec\[isal\]"'):
        PerMessageDeflate(zlib_backend="isal")


def _installed(name: str) -> bool:
    import importlib.util

    module, _ = deflate.BACKEND_MODULES[name]
    return importlib.util.find_spec(module.split(".")[0]) is not None


#: Every zlib backend; the optional ones when installed (the dev extra has both).
BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(not _installed(name), reason=f"{name} not installed"))
            for name in deflate.BACKEND_MODULES]


@pytest.mark.skipif(not _installed("isal"), reason="isal not installed")
def test_isal_compresses_at_levels_0_to_3_only() -> None:
    for level in range(4):
        assert PerMessageDeflate(zlib_backend="isal", compression_level=level).compression_level == level
    assert PerMessageDeflate(zlib_backend="isal").compression_level == 2  # ISA-L's default
    for level in (-1, 4, 6, 9):
        with pytest.raises(ConfigurationError, match="ISA-L compresses at levels 0-3 only"):
            PerMessageDeflate(zlib_backend="isal", compression_level=level)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_round_trips_with_every_other_backend(backend: str) -> None:
    """Messages compressed by one backend inflate with every other (a peer uses its own zlib)."""
    messages = ["hello " * 100, json_like_text(64 * KiB, seed=2), "x" * 300_000]
    for other in [p.values[0] for p in BACKENDS if _installed(p.values[0])]:
        for nct in (False, True):
            client, server, client_ext, server_ext, _ = pair(
                PerMessageDeflate(zlib_backend=backend, client_no_context_takeover=nct),
                PerMessageDeflate(zlib_backend=other, server_no_context_takeover=nct))
            assert client_ext.zlib_backend == client_ext._deflater.backend.name == backend
            assert server_ext._inflater.backend.name == other
            for text in messages + messages:
                wire = client.send(TextMessage(text))
                assert parse_frames(wire)[0][1]
                assert text_of(deliver(server, wire)) == text
                assert text_of(deliver(client, server.send(TextMessage(text)))) == text
            wire = b"".join(client.send(TextMessage(p, message_finished=i == 2)) for i, p in enumerate(messages))
            assert text_of(deliver(server, wire)) == "".join(messages)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_honours_every_agreed_window(backend: str) -> None:
    """Strict zlib inflaters with the agreed window decode each backend's output (8: the
    compressor falls back to what can honour it, see wsspec.deflate)."""
    ext_backend = PerMessageDeflate(zlib_backend=backend)._tuning.backend
    for bits in range(spec.MIN_WINDOW_BITS, spec.MAX_WINDOW_BITS + 1):
        deflater = deflate.Deflater(bits, backend=ext_backend)
        strict = zlib.decompressobj(-bits)
        for distance in (200, 250, 300, 600, 3000, 20_000):
            message = far_matches(size=max(6000, 3 * distance), distance=distance, seed=distance + bits)
            assert strict_inflate(deflater.compress(message, True) + TAIL, bits, strict) == message
        assert deflater.backend.name == ("zlib" if bits < ext_backend.min_deflate_window_bits else backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_window_bits_8_both_ways(backend: str) -> None:
    client, server, client_ext, server_ext, header = pair(
        PerMessageDeflate(server_max_window_bits=8, zlib_backend=backend),
        PerMessageDeflate(client_max_window_bits=8, zlib_backend=backend))
    assert header == b"permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"
    for distance in (200, 300, 600):
        message = far_matches(size=6000, distance=distance, seed=distance)
        assert bytes_of(deliver(server, client.send(BytesMessage(message)))) == message
        assert bytes_of(deliver(client, server.send(BytesMessage(message)))) == message


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("payload", [b"\xff\xff\xff", b"\x02\xff" * 40, bytes(range(256))])
def test_backend_corrupt_data_fails_with_1007(backend: str, payload: bytes) -> None:
    _, server, *_ = pair(None, PerMessageDeflate(zlib_backend=backend))
    events = deliver(server, frame(0x2, payload, rsv1=True))
    assert events[-1] == CloseConnection(1007, events[-1].reason)
    assert "permessage-deflate: invalid compressed data" in events[-1].reason


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_rejects_a_reference_beyond_the_agreed_window(backend: str) -> None:
    _, server, _, server_ext, _ = pair(PerMessageDeflate(client_max_window_bits=9),
                                       PerMessageDeflate(zlib_backend=backend))
    assert server_ext._inflater.window_bits == 9
    message, first, second = two_messages_sharing_a_window(15)
    assert bytes_of(deliver(server, first)) == message
    events = deliver(server, second)
    assert events == [CloseConnection(1007, events[0].reason)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_streams_a_bomb_in_bounded_chunks(backend: str, bomb: bytes) -> None:
    """max_length, unconsumed_tail and eof behave as zlib's with every backend."""
    chunk = 64 * KiB
    inflater = deflate.Inflater(15, backend=PerMessageDeflate(zlib_backend=backend)._tuning.backend)
    total, largest, calls = inflate_in_chunks(inflater, bomb, chunk)
    assert total == BOMB_SIZE and largest == chunk and calls >= BOMB_SIZE // chunk
    assert not inflater.pending and inflater.active  # context takeover: the window stays


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_stops_a_bomb_at_max_message_size(backend: str, bomb: bytes) -> None:
    limit = MiB
    _, server, _, server_ext, _ = pair(None, PerMessageDeflate(zlib_backend=backend))
    server_ext.max_message_size = limit
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        events = deliver(server, frame(0x2, bomb, rsv1=True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert events[-1].code == 1009 and "max_message_size" in events[-1].reason
    assert sum(len(e.data) for e in events if isinstance(e, BytesMessage)) <= limit
    assert peak < limit + 2 * MiB, peak


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=150, deadline=None)
@given(payload=st.binary(max_size=200), fin_first=st.booleans())
def test_backend_random_compressed_payloads_never_raise(backend: str, payload: bytes, fin_first: bool) -> None:
    _, server, *_ = pair(None, PerMessageDeflate(zlib_backend=backend))
    wire = frame(0x2, payload, rsv1=True, fin=fin_first)
    if not fin_first:
        wire += frame(0x0, payload[::-1])
    for event in deliver(server, wire):  # never raises
        assert isinstance(event, (BytesMessage, CloseConnection))
        if isinstance(event, CloseConnection):
            assert event.code in (1002, 1007)
