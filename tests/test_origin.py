"""
The server's Origin allow-list (``origins=``, RFC 6455 §10.2): a browser
always sends the page's origin, so refusing unknown ones stops cross-site
WebSocket hijacking. A refused request is never a ``Request`` event; the
application gets ``RemoteProtocolError`` with a 403 ``event_hint``, and
sending that hint writes a complete 403 with a short body.
"""

from __future__ import annotations

import pytest

from wsspec import ConnectionType, WSConnection
from wsspec._generated.handshake import FORBIDDEN, RECEIVE_FORBIDDEN_ORIGIN, TRANSITIONS
from wsspec.connection import ConnectionState
from wsspec.events import RejectConnection, RejectData, Request
from wsspec.handshake import H11Handshake
from wsspec.utilities import LocalProtocolError, RemoteProtocolError

HEAD = (b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")


def request(*origins: bytes) -> bytes:
    return HEAD + b"".join(b"Origin: " + origin + b"\r\n" for origin in origins) + b"\r\n"


def refused(server: WSConnection, data: bytes) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as info:
        server.receive_data(data)
    assert list(server.events()) == []  # never surfaced as a Request
    return info.value


@pytest.mark.parametrize(("origins", "wire"), [
    (["http://127.0.0.1:8000"], request(b"http://127.0.0.1:8000")),
    (["https://a.example", "http://127.0.0.1:8000"], request(b"http://127.0.0.1:8000")),
    ([None], request()),
    (None, request(b"https://anywhere.example")),  # the default: no check
    (None, request()),
])
def test_allowed_requests_are_surfaced(origins, wire) -> None:
    server = WSConnection(ConnectionType.SERVER, origins=origins)
    server.receive_data(wire)
    (event,) = server.events()
    assert isinstance(event, Request) and event.target == "/chat"


@pytest.mark.parametrize(("wire", "why"), [
    (request(b"http://localhost:8000"), "Origin 'http://localhost:8000' is not allowed"),
    (request(b"HTTP://127.0.0.1:8000"), "Origin 'HTTP://127.0.0.1:8000' is not allowed"),  # compared exactly
    (request(b"null"), "Origin 'null' is not allowed"),
    (request(), "no Origin header is not allowed"),
    (request(b"http://127.0.0.1:8000", b"http://127.0.0.1:8000"), "2 Origin headers is not allowed"),
])
def test_other_origins_get_a_403_with_a_body(wire: bytes, why: str) -> None:
    server = WSConnection(ConnectionType.SERVER, origins=["http://127.0.0.1:8000"])
    error = refused(server, wire)
    assert str(error).startswith(why)
    assert "origins: 'http://127.0.0.1:8000'; RFC 6455 §10.2" in str(error)
    assert error.event_hint == RejectConnection(status_code=FORBIDDEN)
    assert server.state is ConnectionState.CONNECTING
    answer = server.send(error.event_hint)  # what wsproto programs (uvicorn, hypercorn) do
    assert server.state is ConnectionState.CLOSED
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    # A client reads it as a complete rejection with its body.
    client = H11Handshake(ConnectionType.CLIENT)
    from wsspec.events import Request as Req

    client.send(Req(host="127.0.0.1:8000", target="/chat"))
    client.receive_data(answer)
    events = list(client.events())
    assert events[0].status_code == 403 and events[0].has_body
    body = b"".join(e.data for e in events[1:] if isinstance(e, RejectData))
    assert body.decode() == f"Forbidden: {why} to open a WebSocket here.\n"
    assert isinstance(events[-1], RejectData) and events[-1].body_finished
    assert client.state is ConnectionState.CLOSED


def test_the_application_may_answer_otherwise() -> None:
    """Only the hint itself carries the body; any other rejection is sent as given."""
    server = WSConnection(ConnectionType.SERVER, origins=[])
    refused(server, request(b"https://evil.example"))
    answer = server.send(RejectConnection(status_code=404))
    assert answer.startswith(b"HTTP/1.1 404 ") and answer.endswith(b"\r\n\r\n")
    assert b"Forbidden" not in answer


def test_refusal_is_a_spec_row() -> None:
    assert TRANSITIONS[(ConnectionType.SERVER, ConnectionState.CONNECTING, RECEIVE_FORBIDDEN_ORIGIN)] is (
        ConnectionState.CONNECTING)


def test_initiate_upgrade_connection_checks_origin_too() -> None:
    server = H11Handshake(ConnectionType.SERVER, origins=["https://app.example"])
    headers = [(b"Host", b"x"), (b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"),
               (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="), (b"Sec-WebSocket-Version", b"13"),
               (b"Origin", b"https://evil.example")]
    with pytest.raises(RemoteProtocolError, match="Origin 'https://evil.example' is not allowed"):
        server.initiate_upgrade_connection(headers, "/")


@pytest.mark.parametrize("bad", ["https://a.example", b"https://a.example", [b"https://a.example"], [1]])
def test_invalid_origins_option(bad) -> None:
    with pytest.raises(LocalProtocolError, match="origins must be a list of str"):
        WSConnection(ConnectionType.SERVER, origins=bad)


def test_origins_is_a_server_option() -> None:
    with pytest.raises(LocalProtocolError, match="origins is a server option"):
        H11Handshake(ConnectionType.CLIENT, origins=["https://a.example"])
