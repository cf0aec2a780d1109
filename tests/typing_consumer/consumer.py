"""
A wsspec consumer, written the way uvicorn, hypercorn and trio-websocket use
wsproto: tests/test_typing.py type-checks this file under ``mypy --strict``
and pyright against the installed wsspec wheel, and again against wsproto
1.3.2 (the same text with ``wsspec`` replaced by ``wsproto``), so code that
type-checks against wsproto also type-checks against wsspec. ``assert_type``
pins the types a consumer sees; ``main()`` runs it (a client and a server in
memory, no sockets).

Only what both libraries share is used here (see README, "Where wsspec
differs from wsproto 1.3.2").
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import assert_type

import h11

import wsspec
import wsspec.frame_protocol as wsframeproto
import wsspec.utilities
from wsspec import ConnectionType, WSConnection
from wsspec.connection import CLIENT, SERVER, Connection, ConnectionState
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsspec.extensions import SUPPORTED_EXTENSIONS, Extension, PerMessageDeflate
from wsspec.frame_protocol import CloseReason, FrameProtocol, Opcode, ParseFailed, RsvBits
from wsspec.handshake import H11Handshake, client_extensions_handshake, server_extensions_handshake
from wsspec.typing import Headers
from wsspec.utilities import (
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    generate_accept_token,
    generate_nonce,
    normed_header_dict,
    split_comma_header,
)


class Received:
    """What an application collects from events (trio-websocket's message parts)."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.binary: list[bytes | bytearray] = []
        self.pongs: list[bytes] = []
        self.close: tuple[int, str | None] | None = None
        self.rejected: tuple[int, Headers, bytes] | None = None


def handle(ws: WSConnection, event: Event, received: Received) -> bytes:
    """Answer one event the way servers and clients do; the bytes to write."""
    if isinstance(event, Request):
        assert_type(event.host, str)
        assert_type(event.target, str)
        assert_type(event.extensions, Sequence[Extension] | Sequence[str])
        assert_type(event.extra_headers, Headers)
        assert_type(event.subprotocols, list[str])
        offered = [ext for ext in event.extensions if isinstance(ext, str)]
        extensions: list[Extension] = [PerMessageDeflate()] if offered else []
        subprotocol = event.subprotocols[0] if event.subprotocols else None
        return ws.send(AcceptConnection(subprotocol=subprotocol, extensions=extensions,
                                        extra_headers=[(b"server", b"consumer")]))
    if isinstance(event, AcceptConnection):
        assert_type(event.subprotocol, str | None)
        assert_type(event.extensions, list[Extension])
        assert_type(event.extra_headers, Headers)
    elif isinstance(event, RejectConnection):
        assert_type(event.status_code, int)
        assert_type(event.has_body, bool)
        received.rejected = (event.status_code, event.headers, b"")
    elif isinstance(event, RejectData):
        assert_type(event.data, bytes)
        assert_type(event.body_finished, bool)
        if received.rejected is not None:
            status, headers, body = received.rejected
            received.rejected = (status, headers, body + event.data)
    elif isinstance(event, TextMessage):
        assert_type(event.data, str)
        received.text.append(event.data)
        if event.message_finished and not ws.client:
            return ws.send(TextMessage(data="".join(received.text), message_finished=True))
    elif isinstance(event, BytesMessage):
        assert_type(event.data, bytes | bytearray)
        received.binary.append(event.data)
        if event.message_finished and not ws.client:
            return ws.send(BytesMessage(data=b"".join(received.binary)))
    elif isinstance(event, Message):
        assert_type(event.frame_finished, bool)
    elif isinstance(event, Ping):
        assert_type(event.payload, bytes)
        pong = event.response()
        assert_type(pong, Pong)
        return ws.send(pong)
    elif isinstance(event, Pong):
        received.pongs.append(event.payload)
    elif isinstance(event, CloseConnection):
        assert_type(event.code, int)
        assert_type(event.reason, str | None)
        received.close = (event.code, event.reason)
        if event.code == CloseReason.NORMAL_CLOSURE and ws.state is ConnectionState.REMOTE_CLOSING:
            return ws.send(event.response())
    return b""


def pump(source: WSConnection, target: WSConnection, data: bytes, received: Received) -> bytes:
    """Feed ``data`` to ``target``, handle its events; the bytes it answers with."""
    target.receive_data(data)
    events = target.events()
    assert_type(events, Generator[Event, None, None])
    out = b""
    for event in events:
        out += handle(target, event, received)
    return out


def is_open(ws: WSConnection) -> bool:
    """ConnectionState comparisons (trio-websocket, uvicorn)."""
    return ws.state is ConnectionState.OPEN


def session() -> Received:
    """A client and a server (WSConnection) with permessage-deflate: text, binary, ping, close."""
    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(connection_type=SERVER)
    assert_type(client.state, ConnectionState)
    at_client, at_server = Received(), Received()
    request = Request(host="localhost", target="/chat", extensions=[PerMessageDeflate()],
                      subprotocols=["chat"], extra_headers=[(b"origin", b"http://localhost")])
    data = client.send(request)
    assert_type(data, bytes)
    pump(server, client, pump(client, server, data, at_server), at_client)
    assert is_open(client) and is_open(server)
    for event in (TextMessage("héllo", message_finished=False), TextMessage(" world"),
                  BytesMessage(b"\x00\x01"), Ping(b"are you there")):
        pump(server, client, pump(client, server, client.send(event), at_server), at_client)
    closing = client.send(CloseConnection(code=CloseReason.NORMAL_CLOSURE, reason="bye"))
    pump(server, client, pump(client, server, closing, at_server), at_client)
    assert client.state is ConnectionState.CLOSED, client.state
    assert at_client.text == ["héllo world"], at_client.text  # echoed whole
    assert at_client.binary == [b"\x00\x01"] and at_client.pongs == [b"are you there"], at_client.pongs
    return at_client


def upgrade_from_h11() -> bytes:
    """uvicorn/hypercorn: an HTTP server parsed the request with h11, then hands it over."""
    parser = h11.Connection(h11.SERVER)
    parser.receive_data(
        b"GET /ws?x=1 HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    request = parser.next_event()
    assert isinstance(request, h11.Request)
    headers: list[tuple[bytes, bytes]] = list(request.headers)
    ws = WSConnection(ConnectionType.SERVER)
    ws.initiate_upgrade_connection(headers, request.target)
    out = b""
    for event in ws.events():
        if isinstance(event, Request):
            out += ws.send(AcceptConnection(extensions=[PerMessageDeflate(client_max_window_bits=12)]))
    assert out.startswith(b"HTTP/1.1 101 ")
    return out


def handshake_errors() -> list[str]:
    """RemoteProtocolError.event_hint (answered), LocalProtocolError (caught), ProtocolError."""
    seen: list[str] = []
    server = H11Handshake(ConnectionType.SERVER)
    try:
        server.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # no Upgrade
        list(server.events())
    except RemoteProtocolError as exc:
        hint = exc.event_hint
        assert_type(hint, Event | None)
        if isinstance(hint, RejectConnection):
            seen.append(f"reject {hint.status_code}")
            server.send(hint)
    try:
        WSConnection(ConnectionType.CLIENT).send(TextMessage("too early"))
    except LocalProtocolError as exc:
        seen.append(type(exc).__name__)
    except ProtocolError:
        seen.append("other")
    client = H11Handshake(CLIENT)
    client.send(Request(host="h", target="/"))
    assert_type(client.connection, Connection | None)
    assert_type(client.state, ConnectionState)
    assert client.connection is None
    return seen


def low_level() -> None:
    """Connection, FrameProtocol and the helpers hypercorn and trio-websocket import."""
    connection = Connection(ConnectionType.SERVER, extensions=[], trailing_data=b"")
    assert_type(connection.send(Ping(b"x")), bytes)
    connection.receive_data(None)
    for event in connection.events():
        if isinstance(event, CloseConnection):
            assert event.code == wsframeproto.CloseReason.ABNORMAL_CLOSURE
    assert connection.state is ConnectionState.CLOSED

    proto = FrameProtocol(client=False, extensions=[])
    frame = bytes(proto.send_data("hi", fin=True))
    assert frame[0] & 0x0F == Opcode.TEXT
    peer = FrameProtocol(client=True, extensions=[])
    peer.receive_bytes(bytes(proto.ping(b"p")))
    for received in peer.received_frames():
        assert received.opcode is Opcode.PING and received.payload == b"p"
    try:
        raise ParseFailed("bad", CloseReason.PROTOCOL_ERROR)
    except ParseFailed as exc:
        assert_type(exc.code, CloseReason)
    assert RsvBits(False, False, False) == (False, False, False)

    nonce = generate_nonce()
    assert_type(generate_accept_token(nonce), bytes)
    assert_type(normed_header_dict([(b"a", b"1"), (b"a", b"2")]), dict[bytes, bytes])
    assert_type(split_comma_header(b"chat, superchat"), list[str])
    accepted = server_extensions_handshake(["permessage-deflate"], [PerMessageDeflate()])
    assert_type(accepted, bytes | None)
    assert_type(client_extensions_handshake(["permessage-deflate"], [PerMessageDeflate()]), list[Extension])
    assert issubclass(wsspec.utilities.RemoteProtocolError, ProtocolError)
    deflate = SUPPORTED_EXTENSIONS[PerMessageDeflate.name]()
    assert_type(deflate.client_max_window_bits, int)
    assert deflate.name == "permessage-deflate" and not deflate.enabled()


def main() -> None:
    at_client = session()
    assert at_client.close is not None and at_client.close[0] == 1000
    upgrade_from_h11()
    errors = handshake_errors()
    assert errors == ["reject 400", "LocalProtocolError"], errors
    low_level()
    print("consumer ok", wsspec.__name__)


if __name__ == "__main__":
    main()
