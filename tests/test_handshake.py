"""Tests for wsspec.handshake (RFC 6455 §4), against itself and against wsproto."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import h11
import pytest
import wsproto.events as wp_events
import wsproto.extensions as wp_extensions
import wsproto.handshake as wp_handshake
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto.connection import ConnectionType as WpConnectionType
from wsproto.frame_protocol import FrameProtocol as WpFrameProtocol

from wsspec import handshake as hs
from wsspec.connection import ConnectionState, ConnectionType
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsspec.extensions import Extension
from wsspec.handshake import (
    WEBSOCKET_VERSION,
    H11Handshake,
    client_extensions_handshake,
    server_extensions_handshake,
)
from wsspec.utilities import (
    LocalProtocolError,
    RemoteProtocolError,
    generate_accept_token,
)

CLIENT = ConnectionType.CLIENT
SERVER = ConnectionType.SERVER

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3 example key
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # ... and its accept token


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------


class _FakeBehaviour:
    """A generic extension that negotiates whatever it is told to (PerMessageDeflate: test_permessage_deflate.py)."""

    def __init__(self, name: str = "x-fake", offer: bool | str = "level=1",
                 answer: bool | str | None = "level=1") -> None:
        self.name = name
        self._offer = offer
        self._answer = answer
        self.accepted_offers: list[str] = []
        self.finalized: list[str] = []

    def enabled(self) -> bool:
        return bool(self.accepted_offers or self.finalized)

    def offer(self) -> bool | str:
        return self._offer

    def accept(self, offer: str) -> bool | str | None:
        if self._answer is not None and self._answer is not False:
            self.accepted_offers.append(offer)
        return self._answer

    def finalize(self, offer: str) -> None:
        self.finalized.append(offer)


class FakeExtension(_FakeBehaviour, Extension):
    pass


class WpFakeExtension(_FakeBehaviour, wp_extensions.Extension):
    """The same fake, for wsproto peers (which require wsproto's Extension base)."""


def fields(event: Any) -> tuple[str, tuple[Any, ...]]:
    """Class name and field values, to compare wsspec events with wsproto events."""
    return type(event).__name__, tuple(getattr(event, f.name) for f in dataclasses.fields(event))


def lower_names(headers: Any) -> list[tuple[bytes, bytes]]:
    return [(bytes(n).lower(), bytes(v)) for n, v in headers]


def hint_fields(hint: Any) -> Any:
    """An event_hint with header names lowercased (header names are case-insensitive)."""
    if hint is None:
        return None
    return (type(hint).__name__, hint.status_code, lower_names(hint.headers), hint.has_body)


def parse_request(data: bytes) -> h11.Request:
    server = h11.Connection(h11.SERVER)
    server.receive_data(data)
    event = server.next_event()
    assert isinstance(event, h11.Request)
    return event


def parse_response(data: bytes) -> h11.InformationalResponse | h11.Response:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x"), ("Upgrade", "websocket"),
                                                               ("Connection", "Upgrade")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    event = client.next_event()
    assert isinstance(event, (h11.InformationalResponse, h11.Response))
    return event


def raw_request(
    *, method: bytes = b"GET", target: bytes = b"/chat", http: bytes = b"1.1",
    drop: tuple[bytes, ...] = (), replace: dict[bytes, bytes] | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> bytes:
    headers = {
        b"Host": b"server.example.com",
        b"Upgrade": b"websocket",
        b"Connection": b"Upgrade",
        b"Sec-WebSocket-Key": KEY,
        b"Sec-WebSocket-Version": b"13",
    }
    headers.update(replace or {})
    lines = [method + b" " + target + b" HTTP/" + http]
    lines += [name + b": " + value for name, value in headers.items() if name not in drop]
    lines += [name + b": " + value for name, value in (extra or [])]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def run_ours_server(data: bytes) -> tuple[list[Any], BaseException | None, H11Handshake]:
    server = H11Handshake(SERVER)
    try:
        server.receive_data(data)
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return list(server.events()), exc, server
    return list(server.events()), None, server


def run_wsproto_server(data: bytes) -> tuple[list[Any], BaseException | None]:
    server = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    try:
        server.receive_data(data)
    except Exception as exc:  # noqa: BLE001
        return list(server.events()), exc
    return list(server.events()), None


def client_and_request(**kwargs: Any) -> tuple[H11Handshake, bytes, bytes]:
    """Our client after sending a Request; returns (client, request bytes, its key)."""
    client = H11Handshake(CLIENT)
    kwargs.setdefault("host", "server.example.com")
    kwargs.setdefault("target", "/chat")
    data = client.send(Request(**kwargs))
    key = dict(parse_request(data).headers)[b"sec-websocket-key"]
    return client, data, key


def response_101(key: bytes | None, *, drop: tuple[bytes, ...] = (), accept: bytes | None = None,
                 extra: list[tuple[bytes, bytes]] | None = None) -> bytes:
    headers = {
        b"Upgrade": b"websocket",
        b"Connection": b"Upgrade",
        b"Sec-WebSocket-Accept": accept if accept is not None else generate_accept_token(key or b""),
    }
    lines = [b"HTTP/1.1 101 Switching Protocols"]
    lines += [n + b": " + v for n, v in headers.items() if n not in drop]
    lines += [n + b": " + v for n, v in (extra or [])]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def handshake_pair(request: Request | None = None, accept: AcceptConnection | None = None,
                   ) -> tuple[H11Handshake, H11Handshake, Request, AcceptConnection]:
    client = H11Handshake(CLIENT)
    server = H11Handshake(SERVER)
    server.receive_data(client.send(request or Request(host="localhost", target="/")))
    (received,) = server.events()
    client.receive_data(server.send(accept or AcceptConnection()))
    (accepted,) = client.events()
    return client, server, received, accepted


def masked_text_frame(text: str) -> bytes:
    """A client-to-server (masked) text frame, built by wsproto."""
    return WpFrameProtocol(client=True, extensions=[]).send_data(text, fin=True)


def server_text_frame(text: str) -> bytes:
    return WpFrameProtocol(client=False, extensions=[]).send_data(text, fin=True)


# ----------------------------------------------------------------------------
# module level
# ----------------------------------------------------------------------------


def test_module_constants() -> None:
    assert WEBSOCKET_VERSION == wp_handshake.WEBSOCKET_VERSION == b"13"
    assert hs.WEBSOCKET_UPGRADE == wp_handshake.WEBSOCKET_UPGRADE


def test_initial_state_and_repr() -> None:
    client = H11Handshake(CLIENT)
    server = H11Handshake(SERVER)
    assert client.state is ConnectionState.CONNECTING
    assert server.state is ConnectionState.CONNECTING
    assert client.connection is None and server.connection is None
    assert list(client.events()) == [] and list(server.events()) == []
    assert repr(client) == "H11Handshake(client=True, state=ConnectionState.CONNECTING)"
    assert repr(server) == "H11Handshake(client=False, state=ConnectionState.CONNECTING)"


# ----------------------------------------------------------------------------
# client: the request
# ----------------------------------------------------------------------------


def test_client_request_bytes() -> None:
    client, data, key = client_and_request(
        host="server.example.com", target="/chat?x=1", subprotocols=["chat", "superchat"],
        extra_headers=[(b"Origin", b"http://example.com")],
    )
    request = parse_request(data)
    assert request.method == b"GET"
    assert request.target == b"/chat?x=1"
    headers = list(request.headers)
    names = [n for n, _ in headers]
    assert names.count(b"sec-websocket-key") == 1
    h = dict(headers)
    assert h[b"host"] == b"server.example.com"
    assert h[b"upgrade"].lower() == b"websocket"
    assert h[b"connection"].lower() == b"upgrade"
    assert h[b"sec-websocket-version"] == b"13"
    assert h[b"sec-websocket-protocol"] == b"chat, superchat"
    assert h[b"origin"] == b"http://example.com"
    assert b"sec-websocket-extensions" not in h
    assert len(base64.b64decode(key, validate=True)) == 16  # RFC 6455 §4.1
    assert client.state is ConnectionState.CONNECTING
    assert client.connection is None
    assert list(client.events()) == []


def test_client_nonce_is_fresh() -> None:
    keys = {client_and_request()[2] for _ in range(5)}
    assert len(keys) == 5


def test_client_request_idna_host() -> None:
    _, data, _ = client_and_request(host="bücher.example")
    assert dict(parse_request(data).headers)[b"host"] == b"xn--bcher-kva.example"


def test_client_request_accepted_by_wsproto_server() -> None:
    _, data, _ = client_and_request(subprotocols=["chat"], extra_headers=[(b"X-Trace", b"1")])
    events, exc = run_wsproto_server(data)
    assert exc is None
    (event,) = events
    assert isinstance(event, wp_events.Request)
    assert event.host == "server.example.com"
    assert event.target == "/chat"
    assert event.subprotocols == ["chat"]
    assert (b"x-trace", b"1") in event.extra_headers


# ----------------------------------------------------------------------------
# full handshakes
# ----------------------------------------------------------------------------


def test_full_handshake_ours_both_sides() -> None:
    client, server, received, accepted = handshake_pair(
        Request(host="localhost", target="/ws", subprotocols=["chat", "superchat"],
                extra_headers=[(b"origin", b"http://localhost")]),
        AcceptConnection(subprotocol="superchat", extra_headers=[(b"x-served-by", b"wsspec")]),
    )
    assert isinstance(received, Request)
    assert received.host == "localhost"
    assert received.target == "/ws"
    assert received.subprotocols == ["chat", "superchat"]
    assert received.extensions == []
    assert (b"origin", b"http://localhost") in received.extra_headers
    assert accepted == AcceptConnection(
        subprotocol="superchat", extensions=[], extra_headers=[(b"x-served-by", b"wsspec")],
    )
    for side in (client, server):
        assert side.state is ConnectionState.OPEN
        assert side.connection is not None
        assert side.connection.state is ConnectionState.OPEN
    assert client.connection.client is True  # type: ignore[union-attr]
    assert server.connection.client is False  # type: ignore[union-attr]

    # The connections talk to each other.
    server.connection.receive_data(client.connection.send(TextMessage("hello")))  # type: ignore[union-attr]
    assert list(server.connection.events()) == [TextMessage("hello")]  # type: ignore[union-attr]
    client.connection.receive_data(server.connection.send(BytesMessage(b"\x00\x01")))  # type: ignore[union-attr]
    assert list(client.connection.events()) == [BytesMessage(b"\x00\x01")]  # type: ignore[union-attr]


def test_server_response_bytes() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Protocol", b"chat")]))
    list(server.events())
    data = server.send(AcceptConnection(subprotocol="chat", extra_headers=[(b"X-A", b"b")]))
    assert data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    response = parse_response(data)
    assert isinstance(response, h11.InformationalResponse)
    assert response.status_code == 101
    h = dict(response.headers)
    assert h[b"sec-websocket-accept"] == ACCEPT  # RFC 6455 §1.3 example
    assert h[b"upgrade"].lower() == b"websocket"
    assert h[b"connection"].lower() == b"upgrade"
    assert h[b"sec-websocket-protocol"] == b"chat"
    assert h[b"x-a"] == b"b"
    assert b"sec-websocket-extensions" not in h
    assert server.state is ConnectionState.OPEN


def test_our_client_against_wsproto_server() -> None:
    client = H11Handshake(CLIENT)
    server = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    server.receive_data(client.send(Request(host="example.com", target="/", subprotocols=["a", "b"])))
    (request,) = server.events()
    assert request.subprotocols == ["a", "b"]
    client.receive_data(server.send(wp_events.AcceptConnection(
        subprotocol="b", extra_headers=[(b"x-peer", b"wsproto")])))
    (accepted,) = client.events()
    assert accepted == AcceptConnection(subprotocol="b", extra_headers=[(b"x-peer", b"wsproto")])
    assert client.state is ConnectionState.OPEN
    assert client.connection is not None
    # wsproto's server connection and our client connection interoperate.
    server.connection.receive_data(client.connection.send(TextMessage("ping?")))
    assert [fields(e) for e in server.connection.events()] == [fields(wp_events.TextMessage("ping?"))]


def test_wsproto_client_against_our_server() -> None:
    client = wp_handshake.H11Handshake(WpConnectionType.CLIENT)
    server = H11Handshake(SERVER)
    data = client.send(wp_events.Request(host="example.com", target="/x", subprotocols=["a", "b"],
                                         extra_headers=[(b"Origin", b"https://example.com")]))
    server.receive_data(data)
    (request,) = server.events()
    # Same Request as wsproto's own server parses from the same bytes.
    (wp_request,), exc = run_wsproto_server(data)
    assert exc is None
    assert fields(request) == fields(wp_request)
    client.receive_data(server.send(AcceptConnection(subprotocol="a")))
    (accepted,) = client.events()
    assert isinstance(accepted, wp_events.AcceptConnection)
    assert accepted.subprotocol == "a"
    assert client.state.name == "OPEN"
    assert server.connection is not None
    server.connection.receive_data(client.connection.send(wp_events.TextMessage("hi")))
    assert list(server.connection.events()) == [TextMessage("hi")]


# ----------------------------------------------------------------------------
# server: the Request event equals wsproto's
# ----------------------------------------------------------------------------

REQUESTS = [
    raw_request(),
    raw_request(target=b"/chat?a=b&c=%20"),
    # A browser-style request.
    raw_request(extra=[
        (b"Origin", b"http://example.com"),
        (b"Sec-WebSocket-Protocol", b"chat, superchat"),
        (b"Sec-WebSocket-Extensions", b"permessage-deflate; client_max_window_bits"),
        (b"User-Agent", b"Mozilla/5.0"),
        (b"Cookie", b"a=1; b=2"),
        (b"Pragma", b"no-cache"),
    ]),
    # Mixed case names and values, token lists, repeated headers.
    raw_request(replace={b"Connection": b"keep-alive, Upgrade", b"Upgrade": b"WebSocket"},
                extra=[(b"SEC-WEBSOCKET-PROTOCOL", b"a"), (b"sec-websocket-protocol", b"b, c"),
                       (b"sec-websocket-extensions", b"x-one, x-two; p=1"),
                       (b"Sec-WebSocket-Extensions", b"x-three"), (b"X-Dup", b"1"), (b"X-Dup", b"2")]),
    raw_request(replace={b"Host": b"xn--bcher-kva.example:8080"}),
]


# Requests wsproto 1.3.2 accepts although RFC 6455 §4.1/§4.2.1 forbids them.
INVALID_BUT_ACCEPTED_BY_WSPROTO = {
    "HTTP/1.0": (raw_request(http=b"1.0"), "HTTP/1.1"),
    "key not base64": (raw_request(replace={b"Sec-WebSocket-Key": b"not base64!"}), "Sec-WebSocket-Key"),
    "key of 15 bytes": (raw_request(replace={b"Sec-WebSocket-Key": b"AAAAAAAAAAAAAAAAAAAA"}), "16 bytes"),
    "key of 17 bytes": (raw_request(replace={b"Sec-WebSocket-Key": b"AAAAAAAAAAAAAAAAAAAAAAA="}), "16 bytes"),
    "empty key": (raw_request(replace={b"Sec-WebSocket-Key": b""}), "Sec-WebSocket-Key"),
}


@pytest.mark.parametrize("case", list(INVALID_BUT_ACCEPTED_BY_WSPROTO))
def test_server_refuses_what_wsproto_accepts(case: str) -> None:
    data, words = INVALID_BUT_ACCEPTED_BY_WSPROTO[case]
    theirs, their_exc = run_wsproto_server(data)
    assert their_exc is None and len(theirs) == 1  # wsproto 1.3.2 lets it through
    events, exc, server = run_ours_server(data)
    assert events == []
    assert isinstance(exc, RemoteProtocolError) and words in str(exc)
    assert exc.event_hint == RejectConnection(status_code=400)
    assert server.state is ConnectionState.CONNECTING  # the hint can still be sent
    assert server.send(exc.event_hint).startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize("data", REQUESTS)
def test_server_request_event_equals_wsproto(data: bytes) -> None:
    ours, exc, server = run_ours_server(data)
    theirs, their_exc = run_wsproto_server(data)
    assert exc is None and their_exc is None
    assert len(ours) == len(theirs) == 1
    assert fields(ours[0]) == fields(theirs[0])
    assert ours[0].extra_headers == theirs[0].extra_headers  # exactly as wsproto gives them
    assert server.state is ConnectionState.CONNECTING


def test_server_request_fields() -> None:
    (request,), exc, _ = run_ours_server(REQUESTS[3])
    assert exc is None
    assert request.host == "server.example.com"
    assert request.subprotocols == ["a", "b", "c"]
    assert request.extensions == ["x-one", "x-two; p=1", "x-three"]
    names = [n for n, _ in request.extra_headers]
    assert b"host" not in names
    assert b"sec-websocket-protocol" not in names
    assert b"sec-websocket-extensions" not in names
    assert (b"sec-websocket-key", KEY) in request.extra_headers
    assert (b"x-dup", b"1") in request.extra_headers and (b"x-dup", b"2") in request.extra_headers


def test_server_request_split_over_many_reads() -> None:
    data = raw_request(extra=[(b"Sec-WebSocket-Protocol", b"chat")])
    server = H11Handshake(SERVER)
    for i in range(len(data)):
        server.receive_data(data[i:i + 1])
        if i < len(data) - 1:
            assert list(server.events()) == []
    (request,) = server.events()
    assert request.subprotocols == ["chat"]


def test_server_eof_before_request() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(None)
    assert list(server.events()) == []
    assert server.state is ConnectionState.CONNECTING


# ----------------------------------------------------------------------------
# server: every RemoteProtocolError, compared with wsproto
# ----------------------------------------------------------------------------

BAD_REQUESTS = {
    "post": raw_request(method=b"POST"),
    "put": raw_request(method=b"PUT"),
    "no-connection": raw_request(drop=(b"Connection",)),
    "connection-keep-alive": raw_request(replace={b"Connection": b"keep-alive"}),
    "no-upgrade": raw_request(drop=(b"Upgrade",)),
    "upgrade-h2c": raw_request(replace={b"Upgrade": b"h2c"}),
    "no-version": raw_request(drop=(b"Sec-WebSocket-Version",)),
    "version-8": raw_request(replace={b"Sec-WebSocket-Version": b"8"}),
    "version-14": raw_request(replace={b"Sec-WebSocket-Version": b"14"}),
    "no-key": raw_request(drop=(b"Sec-WebSocket-Key",)),
    "no-host-http11": raw_request(drop=(b"Host",)),
    "garbage": b"NOT HTTP AT ALL\r\n\r\n",
    "bad-header-line": b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_server_bad_request_matches_wsproto(name: str) -> None:
    data = BAD_REQUESTS[name]
    _, exc, server = run_ours_server(data)
    _, their_exc = run_wsproto_server(data)
    assert isinstance(exc, RemoteProtocolError)
    assert isinstance(their_exc, wp_handshake.RemoteProtocolError)
    assert str(exc) == str(their_exc)
    assert hint_fields(exc.event_hint) == hint_fields(their_exc.event_hint)
    assert isinstance(exc.event_hint, RejectConnection)
    # The state stays CONNECTING so the hint can be sent.
    assert server.state is ConnectionState.CONNECTING
    assert server.connection is None
    reply = server.send(exc.event_hint)
    response = parse_response(reply)
    assert isinstance(response, h11.Response)
    assert response.status_code == exc.event_hint.status_code
    assert server.state is ConnectionState.CLOSED


@pytest.mark.parametrize(
    ("name", "message", "status", "headers"),
    [
        ("post", "Request method must be GET", 400, []),
        ("no-connection", "Missing header, 'Connection: Upgrade'", 400, []),
        ("no-upgrade", "Missing header, 'Upgrade: websocket'", 400, []),
        ("no-version", "Missing header, 'Sec-WebSocket-Version'", 400, [(b"sec-websocket-version", b"13")]),
        ("version-8", "Missing header, 'Sec-WebSocket-Version'", 426, [(b"sec-websocket-version", b"13")]),
        ("no-key", "Missing header, 'Sec-WebSocket-Key'", 400, []),
        ("garbage", "Bad HTTP message", 400, []),
    ],
)
def test_server_bad_request_details(name: str, message: str, status: int, headers: list) -> None:
    _, exc, _ = run_ours_server(BAD_REQUESTS[name])
    assert isinstance(exc, RemoteProtocolError)
    assert str(exc) == message
    assert exc.event_hint.status_code == status
    assert lower_names(exc.event_hint.headers) == headers
    assert exc.event_hint.has_body is False


def test_server_wrong_version_426_reply_bytes() -> None:
    _, exc, server = run_ours_server(BAD_REQUESTS["version-8"])
    reply = server.send(exc.event_hint)
    response = parse_response(reply)
    assert response.status_code == 426
    assert dict(response.headers)[b"sec-websocket-version"] == b"13"


@pytest.mark.parametrize(
    "data",
    [
        raw_request(extra=[(b"Sec-WebSocket-Protocol", b"caf\xc3\xa9")]),
        raw_request(extra=[(b"Sec-WebSocket-Extensions", b"x-\xff")]),
        raw_request(replace={b"Connection": b"Upgr\xe4de"}),
        raw_request(replace={b"Host": b"\xff.example"}),
    ],
)
def test_server_non_ascii_headers_raise_remote_protocol_error(data: bytes) -> None:
    # wsproto leaks UnicodeDecodeError here; we must not.
    _, exc, server = run_ours_server(data)
    assert isinstance(exc, RemoteProtocolError)
    assert exc.event_hint == RejectConnection()
    assert server.state is ConnectionState.CONNECTING
    server.send(exc.event_hint)
    assert server.state is ConnectionState.CLOSED


def test_server_request_with_body_still_validated() -> None:
    data = raw_request(method=b"POST", extra=[(b"Content-Length", b"3")]) + b"abc"
    _, exc, _ = run_ours_server(data)
    assert isinstance(exc, RemoteProtocolError)
    assert str(exc) == "Request method must be GET"


def test_server_bad_http_after_error_keeps_raising() -> None:
    server = H11Handshake(SERVER)
    with pytest.raises(RemoteProtocolError):
        server.receive_data(b"\x00\x01garbage\r\n\r\n")
    with pytest.raises(RemoteProtocolError):
        server.receive_data(b"more")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_server_random_bytes_only_remote_protocol_error(data: bytes) -> None:
    server = H11Handshake(SERVER)
    try:
        server.receive_data(data)
        server.receive_data(None)
    except RemoteProtocolError as exc:
        assert isinstance(exc.event_hint, RejectConnection)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=20), st.binary(max_size=40)), max_size=6))
def test_server_random_headers_only_remote_protocol_error(extra: list) -> None:
    data = raw_request(extra=[(b"X-" + n.replace(b"\r", b"").replace(b"\n", b""), v) for n, v in extra])
    server = H11Handshake(SERVER)
    try:
        server.receive_data(data)
    except RemoteProtocolError as exc:
        assert isinstance(exc.event_hint, RejectConnection)


# ----------------------------------------------------------------------------
# client: checking the 101
# ----------------------------------------------------------------------------


def test_client_accepts_valid_101() -> None:
    client, _, key = client_and_request()
    client.receive_data(response_101(key, extra=[(b"X-Extra", b"1")]))
    (event,) = client.events()
    assert event == AcceptConnection(subprotocol=None, extensions=[], extra_headers=[(b"x-extra", b"1")])
    assert client.state is ConnectionState.OPEN
    assert client.connection is not None


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (lambda key: response_101(key, accept=b"AAAAAAAAAAAAAAAAAAAAAAAAAAA="), "Bad accept token"),
        (lambda key: response_101(key, drop=(b"Sec-WebSocket-Accept",)), "Bad accept token"),
        (lambda key: response_101(key, accept=generate_accept_token(b"other")), "Bad accept token"),
        (lambda key: response_101(key, drop=(b"Connection",)), "Missing header, 'Connection: Upgrade'"),
        (lambda key: response_101(key, drop=(b"Upgrade",)), "Missing header, 'Upgrade: websocket'"),
        (lambda key: response_101(key, extra=[(b"Sec-WebSocket-Protocol", b"chat")]),
         "unrecognized subprotocol chat"),
        (lambda key: response_101(key, extra=[(b"Sec-WebSocket-Extensions", b"x-unknown")]),
         "unrecognized extension x-unknown"),
    ],
)
def test_client_bad_101(response: Any, message: str) -> None:
    client, _, key = client_and_request()
    with pytest.raises(RemoteProtocolError) as info:
        client.receive_data(response(key))
    assert str(info.value) == message
    assert info.value.event_hint == RejectConnection()
    assert client.state is ConnectionState.CLOSED
    assert client.connection is None
    assert list(client.events()) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda key: response_101(key, accept=b"AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        lambda key: response_101(key, drop=(b"Connection",)),
        lambda key: response_101(key, drop=(b"Upgrade",)),
        lambda key: response_101(key, extra=[(b"Sec-WebSocket-Protocol", b"chat")]),
        lambda key: response_101(key, extra=[(b"Sec-WebSocket-Extensions", b"x-unknown")]),
        lambda key: b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
    ],
)
def test_client_bad_101_same_error_as_wsproto(mutate: Any) -> None:
    ours, _, key = client_and_request()
    theirs = wp_handshake.H11Handshake(WpConnectionType.CLIENT)
    their_request = parse_request(theirs.send(wp_events.Request(host="server.example.com", target="/chat")))
    their_key = dict(their_request.headers)[b"sec-websocket-key"]
    with pytest.raises(RemoteProtocolError) as info:
        ours.receive_data(mutate(key))
    with pytest.raises(wp_handshake.RemoteProtocolError) as their_info:
        theirs.receive_data(mutate(their_key))
    assert str(info.value) == str(their_info.value)
    assert hint_fields(info.value.event_hint) == hint_fields(their_info.value.event_hint)


def test_client_subprotocol_selected() -> None:
    client, _, key = client_and_request(subprotocols=["chat", "superchat"])
    client.receive_data(response_101(key, extra=[(b"Sec-WebSocket-Protocol", b"superchat")]))
    (event,) = client.events()
    assert event.subprotocol == "superchat"


def test_client_non_ascii_response_header() -> None:
    client, _, key = client_and_request(subprotocols=["chat"])
    with pytest.raises(RemoteProtocolError):
        client.receive_data(response_101(key, extra=[(b"Sec-WebSocket-Protocol", b"ch\xe4t")]))
    assert client.state is ConnectionState.CLOSED


def test_client_eof_before_response() -> None:
    client, _, _ = client_and_request()
    with pytest.raises(RemoteProtocolError) as info:
        client.receive_data(None)
    assert str(info.value) == "Bad HTTP message"
    assert client.state is ConnectionState.CLOSED


def test_client_malformed_response() -> None:
    client, _, _ = client_and_request()
    with pytest.raises(RemoteProtocolError) as info:
        client.receive_data(b"HTTP/1.1 xyz\r\n\r\n")
    assert str(info.value) == "Bad HTTP message"
    assert info.value.event_hint == RejectConnection()
    assert client.state is ConnectionState.CLOSED


def test_client_response_before_request_sent() -> None:
    client = H11Handshake(CLIENT)
    with pytest.raises(RemoteProtocolError):
        client.receive_data(response_101(b"x"))
    assert client.connection is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_client_random_bytes_only_remote_protocol_error(data: bytes) -> None:
    client, _, _ = client_and_request()
    try:
        client.receive_data(b"HTTP/1.1 " + data)
        client.receive_data(None)
    except RemoteProtocolError:
        pass


# ----------------------------------------------------------------------------
# subprotocols
# ----------------------------------------------------------------------------


def test_server_subprotocol_must_be_offered() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Protocol", b"chat")]))
    list(server.events())
    with pytest.raises(LocalProtocolError, match="unexpected subprotocol superchat"):
        server.send(AcceptConnection(subprotocol="superchat"))
    assert server.state is ConnectionState.CONNECTING
    server.send(AcceptConnection(subprotocol="chat"))
    assert server.state is ConnectionState.OPEN


def test_subprotocol_none_sends_no_header() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Protocol", b"chat")]))
    list(server.events())
    response = parse_response(server.send(AcceptConnection()))
    assert b"sec-websocket-protocol" not in dict(response.headers)


@pytest.mark.parametrize("chosen", ["a", "b", "c", None])
def test_subprotocol_round_trip(chosen: str | None) -> None:
    _, _, received, accepted = handshake_pair(
        Request(host="h", target="/", subprotocols=["a", "b", "c"]),
        AcceptConnection(subprotocol=chosen),
    )
    assert received.subprotocols == ["a", "b", "c"]
    assert accepted.subprotocol == chosen


# ----------------------------------------------------------------------------
# extensions through the handshake
# ----------------------------------------------------------------------------


def test_extension_offer_and_accept_round_trip() -> None:
    client_ext = FakeExtension(offer="level=1")
    server_ext = FakeExtension(answer="level=1")
    client = H11Handshake(CLIENT)
    server = H11Handshake(SERVER)
    data = client.send(Request(host="h", target="/", extensions=[client_ext]))
    assert dict(parse_request(data).headers)[b"sec-websocket-extensions"] == b"x-fake; level=1"
    server.receive_data(data)
    (received,) = server.events()
    assert received.extensions == ["x-fake; level=1"]
    reply = server.send(AcceptConnection(extensions=[server_ext]))
    assert dict(parse_response(reply).headers)[b"sec-websocket-extensions"] == b"x-fake; level=1"
    assert server_ext.accepted_offers == ["x-fake; level=1"]
    client.receive_data(reply)
    (accepted,) = client.events()
    assert accepted.extensions == [client_ext]
    assert client_ext.finalized == ["x-fake; level=1"]
    assert client.state is ConnectionState.OPEN and server.state is ConnectionState.OPEN


def test_extension_bare_offer_and_bare_accept() -> None:
    client_ext = FakeExtension(name="x-bare", offer=True)
    server_ext = FakeExtension(name="x-bare", answer=True)
    client = H11Handshake(CLIENT)
    server = H11Handshake(SERVER)
    data = client.send(Request(host="h", target="/", extensions=[client_ext]))
    assert dict(parse_request(data).headers)[b"sec-websocket-extensions"] == b"x-bare"
    server.receive_data(data)
    assert next(server.events()).extensions == ["x-bare"]
    reply = server.send(AcceptConnection(extensions=[server_ext]))
    assert dict(parse_response(reply).headers)[b"sec-websocket-extensions"] == b"x-bare"
    client.receive_data(reply)
    assert next(client.events()).extensions == [client_ext]
    assert client_ext.finalized == ["x-bare"]


def test_server_declining_extension_sends_no_header() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Extensions", b"x-fake; level=1")]))
    list(server.events())
    declining = FakeExtension(answer=None)
    response = parse_response(server.send(AcceptConnection(extensions=[declining])))
    assert b"sec-websocket-extensions" not in dict(response.headers)
    assert server.state is ConnectionState.OPEN


def test_server_extension_not_offered_is_not_accepted() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Extensions", b"x-other")]))
    list(server.events())
    ext = FakeExtension()
    response = parse_response(server.send(AcceptConnection(extensions=[ext])))
    assert b"sec-websocket-extensions" not in dict(response.headers)
    assert ext.accepted_offers == []


def test_server_only_accepted_extensions_and_order() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Extensions", b"x-b; q=1, x-a, x-c")]))
    list(server.events())
    a = FakeExtension(name="x-a", answer=True)
    b = FakeExtension(name="x-b", answer="q=1")
    c = FakeExtension(name="x-c", answer=None)
    response = parse_response(server.send(AcceptConnection(extensions=[a, b, c])))
    assert dict(response.headers)[b"sec-websocket-extensions"] == b"x-b; q=1, x-a"


def test_server_first_acceptable_offer_wins() -> None:
    class Picky(FakeExtension):
        def accept(self, offer: str) -> str | None:
            self.accepted_offers.append(offer)
            return "w=10" if "w=10" in offer else None

    ext = Picky(name="x-w")
    header = server_extensions_handshake(["x-w; w=9", "x-w; w=10", "x-w; w=10; more"], [ext])
    assert header == b"x-w; w=10"
    assert ext.accepted_offers == ["x-w; w=9", "x-w; w=10"]  # stops at the first accepted


def test_server_extension_accept_value_error_declines() -> None:
    class Strict(FakeExtension):
        def accept(self, offer: str) -> str:
            raise ValueError("bad parameter")

    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Extensions", b"x-fake; level=zzz")]))
    list(server.events())
    response = parse_response(server.send(AcceptConnection(extensions=[Strict()])))
    assert b"sec-websocket-extensions" not in dict(response.headers)


def test_client_rejects_unoffered_extension() -> None:
    client, _, key = client_and_request(extensions=[FakeExtension()])
    with pytest.raises(RemoteProtocolError) as info:
        client.receive_data(response_101(key, extra=[(b"Sec-WebSocket-Extensions", b"x-other")]))
    assert str(info.value) == "unrecognized extension x-other"
    assert info.value.event_hint == RejectConnection()
    assert client.state is ConnectionState.CLOSED


def test_client_rejects_extension_it_declined_to_offer() -> None:
    # Listed in Request.extensions but offer() was False: not offered, so not acceptable.
    silent = FakeExtension(name="x-silent", offer=False)
    client, data, key = client_and_request(extensions=[silent])
    assert b"sec-websocket-extensions" not in dict(parse_request(data).headers)
    with pytest.raises(RemoteProtocolError, match="unrecognized extension x-silent"):
        client.receive_data(response_101(key, extra=[(b"Sec-WebSocket-Extensions", b"x-silent")]))
    assert silent.finalized == []


def test_client_extension_finalize_value_error() -> None:
    class Strict(FakeExtension):
        def finalize(self, offer: str) -> None:
            raise ValueError("nope")

    client, _, key = client_and_request(extensions=[Strict()])
    with pytest.raises(RemoteProtocolError):
        client.receive_data(response_101(key, extra=[(b"Sec-WebSocket-Extensions", b"x-fake; level=1")]))
    assert client.state is ConnectionState.CLOSED


def test_client_multiple_offers_header() -> None:
    a = FakeExtension(name="x-a", offer=True)
    b = FakeExtension(name="x-b", offer="p=1; q")
    _, data, _ = client_and_request(extensions=[a, b])
    assert dict(parse_request(data).headers)[b"sec-websocket-extensions"] == b"x-a, x-b; p=1; q"


def test_client_request_with_string_extensions_is_local_error() -> None:
    client = H11Handshake(CLIENT)
    with pytest.raises(LocalProtocolError):
        client.send(Request(host="h", target="/", extensions=["permessage-deflate"]))
    assert client.state is ConnectionState.CONNECTING


def test_extensions_with_wsproto_peers() -> None:
    # wsproto client offering our fake extension to our server.
    wp_client_ext = WpFakeExtension()
    their_client = wp_handshake.H11Handshake(WpConnectionType.CLIENT)
    server = H11Handshake(SERVER)
    server.receive_data(their_client.send(wp_events.Request(host="h", target="/", extensions=[wp_client_ext])))
    (request,) = server.events()
    assert request.extensions == ["x-fake; level=1"]
    their_client.receive_data(server.send(AcceptConnection(extensions=[FakeExtension()])))
    (accepted,) = their_client.events()
    assert accepted.extensions == [wp_client_ext]
    assert wp_client_ext.finalized == ["x-fake; level=1"]

    # Our client offering to a wsproto server.
    our_ext = FakeExtension()
    client = H11Handshake(CLIENT)
    their_server = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    their_server.receive_data(client.send(Request(host="h", target="/", extensions=[our_ext])))
    (their_request,) = their_server.events()
    assert their_request.extensions == ["x-fake; level=1"]
    client.receive_data(their_server.send(wp_events.AcceptConnection(extensions=[WpFakeExtension()])))
    (accepted,) = client.events()
    assert accepted.extensions == [our_ext]


def test_server_offers_split_by_the_header_grammar() -> None:
    # One item holding several offers (a raw header value) is split; a quoted comma does not split.
    a = FakeExtension(name="x-a", answer=None)
    b = FakeExtension(name="x-b", answer="q=1")
    assert server_extensions_handshake(['x-a; p="1,2", x-b; q=1'], [a, b]) == b"x-b; q=1"
    assert b.accepted_offers == ["x-b; q=1"]


def test_server_skips_malformed_offers() -> None:
    ext = FakeExtension(name="x-a", answer=True)
    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Extensions", b'x-a; p="unterminated'),
                                           (b"Sec-WebSocket-Extensions", b"x-a; =1, x-a; ok")]))
    (request,) = server.events()
    assert request.extensions == ['x-a; p="unterminated', "x-a; =1", "x-a; ok"]
    response = parse_response(server.send(AcceptConnection(extensions=[ext])))
    assert dict(response.headers)[b"sec-websocket-extensions"] == b"x-a"
    assert ext.accepted_offers == ["x-a; ok"]  # the malformed ones never reached accept()


@pytest.mark.parametrize(("header", "message"), [
    (b'x-fake; level="1', "invalid Sec-WebSocket-Extensions response"),
    (b"x-fake; =1", "invalid Sec-WebSocket-Extensions response"),
    (b"x-fake; level=1, x-fake; level=1", "extension x-fake accepted twice"),
])
def test_client_rejects_malformed_or_repeated_acceptance(header: bytes, message: str) -> None:
    ext = FakeExtension()
    client, _, key = client_and_request(extensions=[ext])
    with pytest.raises(RemoteProtocolError) as info:
        client.receive_data(response_101(key, extra=[(b"Sec-WebSocket-Extensions", header)]))
    assert message in str(info.value)
    assert info.value.event_hint == RejectConnection()
    assert client.state is ConnectionState.CLOSED


def test_client_reads_extensions_from_every_header() -> None:
    a, b = FakeExtension(name="x-a"), FakeExtension(name="x-b")
    client, _, key = client_and_request(extensions=[a, b])
    client.receive_data(response_101(key, extra=[(b"Sec-WebSocket-Extensions", b"x-b; level=1"),
                                                 (b"Sec-WebSocket-Extensions", b"x-a")]))
    (accepted,) = client.events()
    assert accepted.extensions == [b, a]
    assert (a.finalized, b.finalized) == (["x-a"], ["x-b; level=1"])


@pytest.mark.parametrize(
    ("requested", "answers"),
    [
        ([], {}),
        (["x-a"], {"x-a": True}),
        (["x-a; p=1", "x-b"], {"x-a": "p=1", "x-b": True}),
        (["x-a", "x-b"], {"x-a": None, "x-b": "z"}),
        (["x-c"], {"x-a": True}),
        (["x-a"], {"x-a": ""}),
    ],
)
def test_server_extensions_handshake_matches_wsproto(requested: list[str], answers: dict) -> None:
    ours = [FakeExtension(name=n, answer=a) for n, a in answers.items()]
    theirs = [WpFakeExtension(name=n, answer=a) for n, a in answers.items()]
    assert server_extensions_handshake(requested, ours) == wp_handshake.server_extensions_handshake(
        requested, theirs)


def test_client_extensions_handshake_matches_wsproto() -> None:
    ours = [FakeExtension(name="x-a"), FakeExtension(name="x-b")]
    theirs = [WpFakeExtension(name="x-a"), WpFakeExtension(name="x-b")]
    got = client_extensions_handshake(["x-b; z=1", "x-a"], ours)
    expected = wp_handshake.client_extensions_handshake(["x-b; z=1", "x-a"], theirs)
    assert [e.name for e in got] == [e.name for e in expected] == ["x-b", "x-a"]
    assert ours[1].finalized == theirs[1].finalized == ["x-b; z=1"]
    assert client_extensions_handshake([], ours) == []
    with pytest.raises(RemoteProtocolError) as info:
        client_extensions_handshake(["x-zzz"], ours)
    with pytest.raises(wp_handshake.RemoteProtocolError) as their_info:
        wp_handshake.client_extensions_handshake(["x-zzz"], theirs)
    assert str(info.value) == str(their_info.value) == "unrecognized extension x-zzz"
    assert info.value.event_hint == RejectConnection()


# ----------------------------------------------------------------------------
# rejection
# ----------------------------------------------------------------------------


def test_reject_without_body_ours_both_sides() -> None:
    client, _, _ = client_and_request()
    server = H11Handshake(SERVER)
    server.receive_data(raw_request())
    list(server.events())
    data = server.send(RejectConnection(status_code=403, headers=[(b"x-why", b"nope")]))
    assert server.state is ConnectionState.CLOSED
    assert server.connection is None
    response = parse_response(data)
    assert response.status_code == 403
    assert dict(response.headers)[b"content-length"] == b"0"
    client.receive_data(data)
    events = list(client.events())
    assert events == [
        RejectConnection(status_code=403, headers=[(b"x-why", b"nope"), (b"content-length", b"0")],
                         has_body=True),
        RejectData(b"", body_finished=True),
    ]
    assert client.state is ConnectionState.CLOSED
    assert client.connection is None


def test_reject_with_body_ours_both_sides() -> None:
    client, _, _ = client_and_request()
    server = H11Handshake(SERVER)
    server.receive_data(raw_request())
    list(server.events())
    data = server.send(RejectConnection(status_code=400, headers=[(b"content-type", b"text/plain")],
                                        has_body=True))
    assert server.state is ConnectionState.REJECTING
    data += server.send(RejectData(b"bad ", body_finished=False))
    assert server.state is ConnectionState.REJECTING
    data += server.send(RejectData(b"request"))
    assert server.state is ConnectionState.CLOSED
    client.receive_data(data)
    events = list(client.events())
    assert isinstance(events[0], RejectConnection)
    assert events[0].status_code == 400 and events[0].has_body is True
    body = b"".join(e.data for e in events[1:])
    assert body == b"bad request"
    assert all(isinstance(e, RejectData) for e in events[1:])
    assert [e.body_finished for e in events[1:]] == [False] * (len(events) - 2) + [True]
    assert events[-1] == RejectData(b"", body_finished=True)
    assert all(type(e.data) is bytes for e in events[1:])
    assert client.state is ConnectionState.CLOSED


def test_reject_empty_final_chunk() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request())
    list(server.events())
    server.send(RejectConnection(has_body=True, headers=[(b"content-length", b"2")]))
    data = server.send(RejectData(b"no", body_finished=False)) + server.send(RejectData(b""))
    assert data == b"no"
    assert server.state is ConnectionState.CLOSED


def test_client_reject_in_pieces() -> None:
    client, _, _ = client_and_request()
    client.receive_data(b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nab")
    assert client.state is ConnectionState.REJECTING
    assert list(client.events()) == [
        RejectConnection(status_code=404, headers=[(b"content-length", b"5")], has_body=True),
        RejectData(b"ab", body_finished=False),
    ]
    client.receive_data(b"cde")
    assert list(client.events()) == [RejectData(b"cde", body_finished=False),
                                     RejectData(b"", body_finished=True)]
    assert client.state is ConnectionState.CLOSED


def test_client_informational_response_is_rejection() -> None:
    client, _, _ = client_and_request()
    client.receive_data(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert list(client.events()) == [RejectConnection(status_code=100, headers=[], has_body=False)]
    assert client.state is ConnectionState.CLOSED


def test_rejection_matches_wsproto_client() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request())
    list(server.events())
    data = server.send(RejectConnection(status_code=401, has_body=True))
    data += server.send(RejectData(b"who are you?"))
    theirs = wp_handshake.H11Handshake(WpConnectionType.CLIENT)
    theirs.send(wp_events.Request(host="h", target="/"))
    theirs.receive_data(data)
    ours, _, _ = client_and_request()
    ours.receive_data(data)
    assert [fields(e) for e in ours.events()] == [fields(e) for e in theirs.events()]
    assert ours.state.name == theirs.state.name == "CLOSED"


def test_wsproto_server_rejection_to_our_client() -> None:
    client, data, _ = client_and_request()
    their_server = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    their_server.receive_data(data)
    list(their_server.events())
    reply = their_server.send(wp_events.RejectConnection(status_code=403, has_body=True))
    reply += their_server.send(wp_events.RejectData(b"forbidden"))
    client.receive_data(reply)
    events = list(client.events())
    assert events[0].status_code == 403
    assert b"".join(e.data for e in events[1:]) == b"forbidden"
    assert events[-1] == RejectData(b"", body_finished=True)
    assert client.state is ConnectionState.CLOSED

    client, data, _ = client_and_request()
    their_server = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    their_server.receive_data(data)
    list(their_server.events())
    client.receive_data(their_server.send(wp_events.RejectConnection(status_code=503)))
    assert list(client.events()) == [
        RejectConnection(status_code=503, headers=[(b"content-length", b"0")], has_body=True),
        RejectData(b"", body_finished=True),
    ]


def test_server_reject_bytes_match_wsproto_status_and_body() -> None:
    ours = H11Handshake(SERVER)
    ours.receive_data(raw_request())
    list(ours.events())
    theirs = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    theirs.receive_data(raw_request())
    list(theirs.events())
    our_bytes = ours.send(RejectConnection(status_code=418, headers=[(b"x", b"y")]))
    their_bytes = theirs.send(wp_events.RejectConnection(status_code=418, headers=[(b"x", b"y")]))
    # Same bytes but for the spelling of the header names (ours come from the spec).
    assert our_bytes.lower() == their_bytes.lower()


def test_reject_with_explicit_content_length_not_duplicated() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request())
    list(server.events())
    data = server.send(RejectConnection(status_code=400, headers=[(b"Content-Length", b"0")]))
    assert data.lower().count(b"content-length") == 1


# ----------------------------------------------------------------------------
# initiate_upgrade_connection
# ----------------------------------------------------------------------------


def test_initiate_upgrade_connection_equals_receive_data() -> None:
    headers = [
        (b"Host", b"example.com"),
        (b"Upgrade", b"websocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Key", KEY),
        (b"Sec-WebSocket-Version", b"13"),
        (b"Sec-WebSocket-Protocol", b"chat"),
    ]
    ours = H11Handshake(SERVER)
    ours.initiate_upgrade_connection(headers, "/path")
    (request,) = ours.events()
    theirs = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    theirs.initiate_upgrade_connection(headers, "/path")
    (their_request,) = theirs.events()
    assert fields(request) == fields(their_request)
    assert request.target == "/path"
    assert request.subprotocols == ["chat"]
    data = ours.send(AcceptConnection(subprotocol="chat"))
    assert dict(parse_response(data).headers)[b"sec-websocket-accept"] == ACCEPT
    assert ours.state is ConnectionState.OPEN


def test_initiate_upgrade_connection_bytes_path() -> None:
    server = H11Handshake(SERVER)
    server.initiate_upgrade_connection(
        [(b"Host", b"h"), (b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"),
         (b"Sec-WebSocket-Key", KEY), (b"Sec-WebSocket-Version", b"13")], b"/b")
    assert next(server.events()).target == "/b"


def test_initiate_upgrade_connection_client_is_local_error() -> None:
    client = H11Handshake(CLIENT)
    with pytest.raises(LocalProtocolError,
                       match="Cannot initiate an upgrade connection when acting as the client"):
        client.initiate_upgrade_connection([(b"Host", b"h")], "/")


def test_initiate_upgrade_connection_invalid() -> None:
    server = H11Handshake(SERVER)
    with pytest.raises(RemoteProtocolError) as info:
        server.initiate_upgrade_connection([(b"Host", b"h"), (b"Connection", b"Upgrade")], "/")
    assert str(info.value) == "Missing header, 'Sec-WebSocket-Version'"
    assert server.state is ConnectionState.CONNECTING

    server = H11Handshake(SERVER)
    with pytest.raises(RemoteProtocolError) as info:  # h11 refuses it (no Host)
        server.initiate_upgrade_connection([(b"Upgrade", b"websocket")], "/")
    assert info.value.event_hint == RejectConnection()
    server.send(info.value.event_hint)
    assert server.state is ConnectionState.CLOSED


# ----------------------------------------------------------------------------
# LocalProtocolError on misuse
# ----------------------------------------------------------------------------


def opened_server() -> H11Handshake:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request())
    list(server.events())
    return server


def test_accept_twice() -> None:
    server = opened_server()
    server.send(AcceptConnection())
    with pytest.raises(LocalProtocolError) as info:
        server.send(AcceptConnection())
    assert "AcceptConnection" in str(info.value) and "OPEN" in str(info.value)
    assert server.state is ConnectionState.OPEN


def test_client_cannot_send_accept_or_reject() -> None:
    client, _, _ = client_and_request()
    for event in (AcceptConnection(), RejectConnection(), RejectData(b"x")):
        with pytest.raises(LocalProtocolError) as info:
            client.send(event)
        assert type(event).__name__ in str(info.value)
        assert "CONNECTING" in str(info.value)
        assert "client" in str(info.value)
    assert client.state is ConnectionState.CONNECTING


def test_server_cannot_send_request() -> None:
    server = H11Handshake(SERVER)
    with pytest.raises(LocalProtocolError, match="Request .*server.*CONNECTING"):
        server.send(Request(host="h", target="/"))


def test_client_cannot_send_request_twice() -> None:
    client, _, _ = client_and_request()
    with pytest.raises(LocalProtocolError, match="Request"):
        client.send(Request(host="h", target="/"))


def test_accept_before_request() -> None:
    server = H11Handshake(SERVER)
    with pytest.raises(LocalProtocolError, match="AcceptConnection"):
        server.send(AcceptConnection())
    assert server.state is ConnectionState.CONNECTING


def test_accept_after_bad_request() -> None:
    _, exc, server = run_ours_server(BAD_REQUESTS["no-key"])
    assert isinstance(exc, RemoteProtocolError)
    with pytest.raises(LocalProtocolError):
        server.send(AcceptConnection())
    server.send(exc.event_hint)
    assert server.state is ConnectionState.CLOSED


def test_reject_misuse() -> None:
    server = opened_server()
    with pytest.raises(LocalProtocolError, match="RejectData.*CONNECTING"):
        server.send(RejectData(b"x"))
    server.send(AcceptConnection())
    with pytest.raises(LocalProtocolError, match="RejectConnection.*OPEN"):
        server.send(RejectConnection())

    server = opened_server()
    server.send(RejectConnection())
    assert server.state is ConnectionState.CLOSED
    with pytest.raises(LocalProtocolError, match="CLOSED"):
        server.send(RejectData(b"late"))
    with pytest.raises(LocalProtocolError, match="CLOSED"):
        server.send(AcceptConnection())

    server = opened_server()
    server.send(RejectConnection(has_body=True))
    with pytest.raises(LocalProtocolError, match="REJECTING"):
        server.send(RejectConnection())
    with pytest.raises(LocalProtocolError, match="REJECTING"):
        server.send(AcceptConnection())
    server.send(RejectData(b"", body_finished=True))
    assert server.state is ConnectionState.CLOSED


@pytest.mark.parametrize("event", [TextMessage("x"), Ping(), CloseConnection(1000)])
def test_non_handshake_events(event: Any) -> None:
    for side in (H11Handshake(CLIENT), opened_server()):
        with pytest.raises(LocalProtocolError, match="cannot be sent during the handshake"):
            side.send(event)


def test_invalid_rejection_status_is_local_error() -> None:
    server = opened_server()
    with pytest.raises(LocalProtocolError):
        server.send(RejectConnection(status_code=101))
    assert server.state is ConnectionState.CONNECTING


def test_bad_request_fields_are_local_errors() -> None:
    with pytest.raises(LocalProtocolError):
        H11Handshake(CLIENT).send(Request(host="h", target="/caf\u00e9"))
    with pytest.raises(LocalProtocolError):
        H11Handshake(CLIENT).send(Request(host="h", target="/", subprotocols=["ch\u00e4t"]))
    with pytest.raises(LocalProtocolError):
        H11Handshake(CLIENT).send(Request(host="h", target="/", extra_headers=[(b"Bad Name", b"v")]))
    with pytest.raises(LocalProtocolError):
        H11Handshake(CLIENT).send(Request(host="a..b", target="/"))
    client = H11Handshake(CLIENT)
    with pytest.raises(LocalProtocolError):
        client.send(Request(host="h", target="/", extra_headers=[(b"X", b"a\r\nb")]))
    # Nothing was sent, so a correct Request still works.
    assert client.send(Request(host="h", target="/"))


# ----------------------------------------------------------------------------
# the heads wsspec writes itself are the bytes h11 wrote, and refused alike
# ----------------------------------------------------------------------------


def test_own_header_checks_are_h11s() -> None:
    # wsspec writes its Request and 101 heads itself and checks names, values
    # and the target as h11 checks what it sends; any drift here would let a
    # value through that h11 refuses (or refuse one it accepts).
    from h11._events import request_target_re
    from h11._headers import _field_name_re, _field_value_re

    pairs = [(hs._FIELD_NAME, _field_name_re), (hs._FIELD_VALUE, _field_value_re),
             (hs._REQUEST_TARGET, request_target_re)]
    samples = [bytes([a]) for a in range(256)]
    samples += [bytes([a, b]) for a in range(256) for b in (0x20, 0x09, 0x41, 0x0D, 0x0A, 0x00, 0xE9)]
    samples += [b"a b", b"a\tb", b"a  b", b"a \r\n b", b" a", b"a ", b"", b"a\x0bb", b"a\x0cb", b"\xffa\x80"]
    for ours, h11s in pairs:
        for sample in samples:
            assert (ours.fullmatch(sample) is None) == (h11s.fullmatch(sample) is None), (ours.pattern, sample)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ABCxyz019+/=-_ \n", min_size=18, max_size=28).map(str.encode)
       | st.binary(min_size=16, max_size=16).map(base64.b64encode))
def test_key_check_is_base64_of_16_bytes(key: bytes) -> None:
    # wsspec matches the key against one pattern; the definition is "decodes
    # (strict base64) to NONCE_BYTES bytes".
    try:
        decodes_to_16 = len(base64.b64decode(key, validate=True)) == 16
    except ValueError:  # binascii.Error
        decodes_to_16 = False
    assert hs._valid_key(key) is decodes_to_16


def _h11_request(target: bytes, headers: list[tuple[Any, Any]]) -> bytes:
    connection = h11.Connection(h11.CLIENT)
    return (connection.send(h11.Request(method=b"GET", target=target, headers=headers))
            + connection.send(h11.EndOfMessage()))


REQUEST_HEADS = {
    "plain": {},
    "subprotocols": {"subprotocols": ["chat", "superchat"]},
    "extension": {"extensions": [FakeExtension()]},
    "bytes extra": {"extra_headers": [(b"Origin", b"http://x"), (b"X-Dup", b"1"), (b"x-dup", b"2")]},
    "str extra": {"extra_headers": [("Origin", "http://x"), ("X-Empty", ""), ("X-Inner", "a  b\tc")]},
    "obs-text value": {"extra_headers": [(b"X-Latin", b"caf\xe9")]},
    "bytearray extra": {"extra_headers": [(bytearray(b"X-A"), bytearray(b"1"))]},
    # Headers h11 acts on are written by h11 (Host first, Content-Length normalized, ...).
    "connection extra": {"extra_headers": [(b"Connection", b"keep-alive")]},
    "expect extra": {"extra_headers": [(b"Expect", b"100-continue")]},
    "content-length extra": {"extra_headers": [(b"Content-Length", b"0, 0")]},
    "upgrade extra": {"extra_headers": [(b"Upgrade", b"h2c")]},
}


@pytest.mark.parametrize("fields", REQUEST_HEADS.values(), ids=REQUEST_HEADS.keys())
def test_client_request_head_is_h11s(fields: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hs, "generate_nonce", lambda: KEY)
    client = H11Handshake(CLIENT)
    data = client.send(Request(host="bücher.example", target="/chat?x=1", **fields))
    headers = [(b"Host", b"xn--bcher-kva.example"), (b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"),
               (b"Sec-WebSocket-Key", KEY), (b"Sec-WebSocket-Version", b"13")]
    if "subprotocols" in fields:
        headers.append((b"Sec-WebSocket-Protocol", b"chat, superchat"))
    if "extensions" in fields:
        headers.append((b"Sec-WebSocket-Extensions", b"x-fake; level=1"))
    assert data == _h11_request(b"/chat?x=1", headers + list(fields.get("extra_headers", [])))
    # ... and h11 (which reads the response) knows the request went out.
    client.receive_data(response_101(KEY))
    (accepted,) = client.events()
    assert isinstance(accepted, AcceptConnection)
    assert client.state is ConnectionState.OPEN


def _h11_101(request: bytes, headers: list[tuple[Any, Any]]) -> bytes:
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(request)
    while connection.next_event() not in (h11.PAUSED, h11.NEED_DATA):
        pass
    return connection.send(h11.InformationalResponse(status_code=101, headers=headers,
                                                     reason=b"Switching Protocols"))


ACCEPT_HEADS = {
    "plain": {},
    "subprotocol": {"subprotocol": "chat"},
    "extension": {"extensions": [FakeExtension()]},
    "bytes extra": {"extra_headers": [(b"Set-Cookie", b"a=1; Path=/"), (b"X-Dup", b"1"), (b"x-dup", b"2")]},
    "str extra": {"extra_headers": [("Server", "wsspec"), ("X-Empty", "")]},
    "host extra": {"extra_headers": [(b"X-A", b"1"), (b"Host", b"example.com")]},  # h11 writes Host first
    "content-length extra": {"extra_headers": [(b"Content-Length", b"0, 0")]},  # ... and folds this
    "transfer-encoding extra": {"extra_headers": [(b"Transfer-Encoding", b"Chunked")]},  # ... lowercases this
}


@pytest.mark.parametrize("fields", ACCEPT_HEADS.values(), ids=ACCEPT_HEADS.keys())
def test_server_101_head_is_h11s(fields: dict[str, Any]) -> None:
    request = raw_request(extra=[(b"Sec-WebSocket-Protocol", b"chat"), (b"Sec-WebSocket-Extensions", b"x-fake")])
    server = H11Handshake(SERVER)
    server.receive_data(request + b"\x81\x80\x00\x00\x00\x00")  # and a pipelined empty text frame
    list(server.events())
    data = server.send(AcceptConnection(**fields))
    headers = [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"), (b"Sec-WebSocket-Accept", ACCEPT)]
    if "subprotocol" in fields:
        headers.append((b"Sec-WebSocket-Protocol", b"chat"))
    if "extensions" in fields:
        headers.append((b"Sec-WebSocket-Extensions", b"x-fake; level=1"))
    assert data == _h11_101(request, headers + list(fields.get("extra_headers", [])))
    assert server.state is ConnectionState.OPEN
    assert list(server.connection.events()) == [TextMessage("")]  # type: ignore[union-attr]


BAD_EXTRA_HEADERS = {
    "space in name": ([(b"Bad Name", b"v")], LocalProtocolError, "Illegal header name"),
    "colon in name": ([(b"X:Y", b"v")], LocalProtocolError, "Illegal header name"),
    "empty name": ([(b"", b"v")], LocalProtocolError, "Illegal header name"),
    "CRLF in value": ([(b"X", b"a\r\nInjected: 1")], LocalProtocolError, "Illegal header value"),
    "LF in value": ([(b"X", b"a\nb")], LocalProtocolError, "Illegal header value"),
    "NUL in value": ([(b"X", b"a\x00b")], LocalProtocolError, "Illegal header value"),
    "leading space": ([(b"X", b" a")], LocalProtocolError, "Illegal header value"),
    "trailing tab": ([(b"X", b"a\t")], LocalProtocolError, "Illegal header value"),
    "non-ASCII str name": ([("Ünï", "v")], LocalProtocolError, "ascii"),
    "non-ASCII str value": ([("X", "é")], LocalProtocolError, "ascii"),
    "bad after good": ([(b"X-Good", b"1"), (b"X", b"a\rb")], LocalProtocolError, "Illegal header value"),
    "int value": ([(b"X", 1)], TypeError, "bytes"),
}


@pytest.mark.parametrize(("extra", "error", "match"), BAD_EXTRA_HEADERS.values(), ids=BAD_EXTRA_HEADERS.keys())
def test_bad_extra_headers_refused_as_h11_refuses_them(extra: list, error: type, match: str) -> None:
    client = H11Handshake(CLIENT)
    with pytest.raises(error, match=match):
        client.send(Request(host="h", target="/", extra_headers=extra))
    assert client.state is ConnectionState.CONNECTING
    assert client.send(Request(host="h", target="/")).endswith(b"\r\n\r\n")

    server = H11Handshake(SERVER)
    server.receive_data(raw_request())
    list(server.events())
    with pytest.raises(error, match=match):
        server.send(AcceptConnection(extra_headers=extra))
    assert server.state is ConnectionState.CONNECTING
    assert server.send(AcceptConnection()).startswith(b"HTTP/1.1 101 ")
    assert server.state is ConnectionState.OPEN


@pytest.mark.parametrize(("fields", "match"), [
    ({"host": "a\r\nInjected: 1"}, "Illegal header value"),
    ({"host": "h", "target": "/a b"}, "Illegal target characters"),
    ({"host": "h", "target": "/\r\n"}, "Illegal target characters"),
    ({"host": "h", "subprotocols": ["a\r\nInjected: 1"]}, "Illegal header value"),
    ({"host": "h", "extensions": [FakeExtension(offer="a=\r\n")]}, "Illegal header value"),
])
def test_bad_request_values_refused_as_h11_refuses_them(fields: dict[str, Any], match: str) -> None:
    fields.setdefault("target", "/")
    with pytest.raises(LocalProtocolError, match=match):
        H11Handshake(CLIENT).send(Request(**fields))


def test_bad_accept_values_refused_as_h11_refuses_them() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Extensions", b"x-fake")]))
    list(server.events())
    with pytest.raises(LocalProtocolError, match="Illegal header value"):
        server.send(AcceptConnection(extensions=[FakeExtension(answer="a\nb")]))
    assert server.state is ConnectionState.CONNECTING


def test_receive_after_eof_is_local_error() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(None)
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"GET / HTTP/1.1\r\n")


# ----------------------------------------------------------------------------
# pipelined frames are not lost
# ----------------------------------------------------------------------------


def test_client_gets_frames_pipelined_with_101() -> None:
    client, _, key = client_and_request()
    client.receive_data(response_101(key) + server_text_frame("early") + server_text_frame("bird"))
    (accepted,) = client.events()
    assert isinstance(accepted, AcceptConnection)
    assert client.connection is not None
    assert list(client.connection.events()) == [TextMessage("early"), TextMessage("bird")]


def test_server_gets_frames_pipelined_with_request() -> None:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request() + masked_text_frame("hello") + masked_text_frame("again"))
    (request,) = server.events()
    assert isinstance(request, Request)
    server.send(AcceptConnection())
    assert server.connection is not None
    assert list(server.connection.events()) == [TextMessage("hello"), TextMessage("again")]


def test_server_gets_frames_received_before_accept() -> None:
    server = H11Handshake(SERVER)
    frame = masked_text_frame("split")
    server.receive_data(raw_request() + frame[:3])
    list(server.events())
    server.receive_data(frame[3:])
    assert list(server.events()) == []
    server.send(AcceptConnection())
    assert list(server.connection.events()) == [TextMessage("split")]  # type: ignore[union-attr]


def test_server_request_body_is_not_taken_for_frames() -> None:
    # A server stops reading HTTP right after a bodiless request; a request
    # with a body has it read (and dropped) by h11 first.
    for body_headers, body in [([(b"Content-Length", b"5")], b"hello"),
                               ([(b"Transfer-Encoding", b"chunked")], b"5\r\nhello\r\n0\r\n\r\n")]:
        server = H11Handshake(SERVER)
        server.receive_data(raw_request(extra=body_headers) + body + masked_text_frame("frame"))
        (request,) = server.events()
        assert isinstance(request, Request)
        server.send(AcceptConnection())
        assert list(server.connection.events()) == [TextMessage("frame")]  # type: ignore[union-attr]


def test_server_rejects_after_more_bytes_arrived() -> None:
    # h11 catches up with the request it paused on before writing a rejection.
    ours = H11Handshake(SERVER)
    theirs = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    for server in (ours, theirs):
        server.receive_data(raw_request())
        list(server.events())
        server.receive_data(masked_text_frame("early"))
        assert list(server.events()) == []
    our_bytes = ours.send(RejectConnection(status_code=403, has_body=True))
    our_bytes += ours.send(RejectData(data=b"no", body_finished=True))
    their_bytes = theirs.send(wp_events.RejectConnection(status_code=403, has_body=True))
    their_bytes += theirs.send(wp_events.RejectData(data=b"no", body_finished=True))
    assert our_bytes == their_bytes
    assert ours.state is ConnectionState.CLOSED


def test_pipelined_frames_between_our_peers() -> None:
    client = H11Handshake(CLIENT)
    server = H11Handshake(SERVER)
    request_bytes = client.send(Request(host="h", target="/"))
    server.receive_data(request_bytes)
    list(server.events())
    reply = server.send(AcceptConnection())
    # The server sends a frame right behind its 101, in the same write.
    reply += server.connection.send(TextMessage("welcome"))  # type: ignore[union-attr]
    client.receive_data(reply)
    list(client.events())
    assert list(client.connection.events()) == [TextMessage("welcome")]  # type: ignore[union-attr]


def test_wsproto_drops_server_pipelined_frames_we_do_not() -> None:
    data = raw_request() + masked_text_frame("kept")
    theirs = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    theirs.receive_data(data)
    list(theirs.events())
    theirs.send(wp_events.AcceptConnection())
    assert list(theirs.connection.events()) == []  # wsproto loses the frame
    ours = H11Handshake(SERVER)
    ours.receive_data(data)
    list(ours.events())
    ours.send(AcceptConnection())
    assert list(ours.connection.events()) == [TextMessage("kept")]  # type: ignore[union-attr]


def test_receive_data_after_open_goes_to_connection() -> None:
    client, _, key = client_and_request()
    client.receive_data(response_101(key))
    list(client.events())
    client.receive_data(server_text_frame("later"))
    assert list(client.events()) == []
    assert list(client.connection.events()) == [TextMessage("later")]  # type: ignore[union-attr]


def test_initiate_upgrade_connection_twice_is_local_error() -> None:
    headers = [(b"Host", b"h"), (b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"),
               (b"Sec-WebSocket-Key", KEY), (b"Sec-WebSocket-Version", b"13")]
    server = H11Handshake(SERVER)
    server.initiate_upgrade_connection(headers, "/")
    with pytest.raises(LocalProtocolError, match="already"):
        server.initiate_upgrade_connection(headers, "/")
    server.send(AcceptConnection())
    with pytest.raises(LocalProtocolError, match="OPEN"):
        server.initiate_upgrade_connection(headers, "/")


def test_extension_non_ascii_answer_is_local_error() -> None:
    server = opened_server_with(b"x-fake")
    with pytest.raises(LocalProtocolError):
        server.send(AcceptConnection(extensions=[FakeExtension(answer="caf\u00e9")]))
    assert server.state is ConnectionState.CONNECTING


def opened_server_with(extensions: bytes) -> H11Handshake:
    server = H11Handshake(SERVER)
    server.receive_data(raw_request(extra=[(b"Sec-WebSocket-Extensions", extensions)]))
    list(server.events())
    return server
