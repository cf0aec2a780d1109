"""Tests for wsspec.extensions: the Extension hook API and PerMessageDeflate's API shape.

Negotiation and compression in depth: tests/test_permessage_deflate.py."""

from __future__ import annotations

import inspect

import h11
import pytest
import wsproto.events as wp_events
import wsproto.extensions as wp_extensions
import wsproto.handshake as wp_handshake
from wsproto.connection import ConnectionType as WpConnectionType

from wsspec import extensions as ext_mod
from wsspec._generated.framing import RsvBits
from wsspec._generated.opcodes import Opcode
from wsspec.connection import Connection, ConnectionState, ConnectionType
from wsspec.events import AcceptConnection, Request, TextMessage
from wsspec.extensions import (
    SUPPORTED_EXTENSIONS,
    ConfigurationError,
    Extension,
    NegotiationError,
    PerMessageDeflate,
)
from wsspec.handshake import H11Handshake, client_extensions_handshake, server_extensions_handshake
from wsspec.utilities import LocalProtocolError, RemoteProtocolError, generate_accept_token

BROWSER_OFFER = b"permessage-deflate; client_max_window_bits"


class Minimal(Extension):
    name = "x-minimal"

    def offer(self) -> bool | str:
        return True


class WpMinimal(wp_extensions.Extension):
    name = "x-minimal"

    def offer(self) -> bool | str:
        return True


def request_headers(data: bytes) -> dict[bytes, bytes]:
    server = h11.Connection(h11.SERVER)
    server.receive_data(data)
    event = server.next_event()
    assert isinstance(event, h11.Request)
    return dict(event.headers)


def response_headers(data: bytes) -> dict[bytes, bytes]:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x"), ("Upgrade", "websocket"),
                                                               ("Connection", "Upgrade")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    event = client.next_event()
    return dict(event.headers)


def browser_request(extensions: bytes = BROWSER_OFFER) -> bytes:
    return (
        b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: " + extensions + b"\r\n\r\n"
    )


# ----------------------------------------------------------------------------
# Extension base class
# ----------------------------------------------------------------------------


def test_extension_is_abstract() -> None:
    with pytest.raises(TypeError):
        Extension()  # type: ignore[abstract]

    class NoOffer(Extension):
        name = "x"

    with pytest.raises(TypeError):
        NoOffer()  # type: ignore[abstract]


def test_extension_defaults() -> None:
    ext = Minimal()
    assert ext.enabled() is False
    assert ext.offer() is True
    assert ext.accept("x-minimal; a=1") is None
    assert ext.finalize("x-minimal") is None
    assert ext.frame_inbound_header(None, Opcode.TEXT, RsvBits(True, False, False), 10) == RsvBits(
        False, False, False)
    assert ext.frame_inbound_payload_data(None, b"abc") == b"abc"
    assert ext.frame_inbound_complete(None, True) is None
    assert ext.frame_inbound_complete(None, False) is None
    rsv = RsvBits(False, True, False)
    assert ext.frame_outbound(None, Opcode.BINARY, rsv, b"xyz", True) == (rsv, b"xyz")


def test_extension_defaults_equal_wsproto() -> None:
    ours, theirs = Minimal(), WpMinimal()
    assert ours.enabled() == theirs.enabled()
    assert ours.accept("x") == theirs.accept("x")
    assert ours.finalize("x") == theirs.finalize("x")
    assert tuple(ours.frame_inbound_header(None, Opcode.TEXT, RsvBits(False, False, False), 0)) == tuple(
        theirs.frame_inbound_header(None, Opcode.TEXT, RsvBits(False, False, False), 0))
    assert ours.frame_inbound_payload_data(None, b"q") == theirs.frame_inbound_payload_data(None, b"q")
    assert ours.frame_inbound_complete(None, True) == theirs.frame_inbound_complete(None, True)


@pytest.mark.parametrize(
    "method",
    ["enabled", "offer", "accept", "finalize", "frame_inbound_header", "frame_inbound_payload_data",
     "frame_inbound_complete", "frame_outbound"],
)
def test_extension_signatures_equal_wsproto(method: str) -> None:
    ours = inspect.signature(getattr(Extension, method))
    theirs = inspect.signature(getattr(wp_extensions.Extension, method))
    assert list(ours.parameters) == list(theirs.parameters)
    assert [p.default for p in ours.parameters.values()] == [p.default for p in theirs.parameters.values()]


def test_extension_hooks_run_once_negotiated() -> None:
    """The generic plumbing: a negotiated extension's hooks see the frames."""

    class Tagging(Extension):
        name = "x-tag"

        def __init__(self) -> None:
            self._on = False
            self.inbound: list[bytes] = []

        def enabled(self) -> bool:
            return self._on

        def offer(self) -> bool | str:
            return True

        def accept(self, offer: str) -> bool | str | None:
            self._on = True
            return True

        def finalize(self, offer: str) -> None:
            self._on = True

        def frame_inbound_payload_data(self, proto, data):  # type: ignore[no-untyped-def]
            self.inbound.append(bytes(data))
            return data

        def frame_outbound(self, proto, opcode, rsv, data, fin):  # type: ignore[no-untyped-def]
            return rsv, bytes(data).upper()

    client_ext, server_ext = Tagging(), Tagging()
    client = H11Handshake(ConnectionType.CLIENT)
    server = H11Handshake(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="h", target="/", extensions=[client_ext])))
    (request,) = server.events()
    assert request.extensions == ["x-tag"]
    client.receive_data(server.send(AcceptConnection(extensions=[server_ext])))
    (accepted,) = client.events()
    assert accepted.extensions == [client_ext]
    assert client.connection is not None and server.connection is not None
    assert client_ext in client.connection.extensions
    assert server_ext in server.connection.extensions
    server.connection.receive_data(client.connection.send(TextMessage("quiet")))
    assert list(server.connection.events()) == [TextMessage("QUIET")]
    assert server_ext.inbound == [b"QUIET"]


def test_declined_extension_not_passed_to_connection() -> None:
    class Declines(Minimal):
        def enabled(self) -> bool:  # would process frames if it were handed over
            return True

    server = H11Handshake(ConnectionType.SERVER)
    server.receive_data(browser_request(b"x-other"))
    list(server.events())
    server.send(AcceptConnection(extensions=[Declines()]))
    assert server.connection is not None
    assert server.connection.extensions == []


# ----------------------------------------------------------------------------
# PerMessageDeflate: API shape
# ----------------------------------------------------------------------------


def test_pmd_name_and_supported_extensions() -> None:
    assert PerMessageDeflate.name == "permessage-deflate"
    assert SUPPORTED_EXTENSIONS == {"permessage-deflate": PerMessageDeflate}
    assert set(SUPPORTED_EXTENSIONS) == set(wp_extensions.SUPPORTED_EXTENSIONS)
    assert issubclass(PerMessageDeflate, Extension)


def test_pmd_constructor_signature_equals_wsproto() -> None:
    """wsproto's parameters, in order, with their defaults; then wsspec's own, keyword-only."""
    ours = inspect.signature(PerMessageDeflate.__init__)
    theirs = inspect.signature(wp_extensions.PerMessageDeflate.__init__)
    shared = [p for p in ours.parameters.values() if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert [p.name for p in shared] == list(theirs.parameters)
    assert [p.default for p in shared] == [p.default for p in theirs.parameters.values()]
    own = [p.name for p in ours.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert own == ["compression_threshold", "mem_level", "compression_level", "zlib_backend"]


def test_pmd_defaults_and_parameters() -> None:
    pmd = PerMessageDeflate()
    assert pmd.client_no_context_takeover is False
    assert pmd.server_no_context_takeover is False
    assert pmd.client_max_window_bits == 15
    assert pmd.server_max_window_bits == 15
    assert PerMessageDeflate.DEFAULT_CLIENT_MAX_WINDOW_BITS == wp_extensions.PerMessageDeflate.DEFAULT_CLIENT_MAX_WINDOW_BITS
    assert PerMessageDeflate.DEFAULT_SERVER_MAX_WINDOW_BITS == wp_extensions.PerMessageDeflate.DEFAULT_SERVER_MAX_WINDOW_BITS

    pmd = PerMessageDeflate(client_no_context_takeover=True, client_max_window_bits=9,
                            server_no_context_takeover=True, server_max_window_bits=12)
    assert pmd.client_no_context_takeover is True
    assert pmd.server_no_context_takeover is True
    assert pmd.client_max_window_bits == 9
    assert pmd.server_max_window_bits == 12
    pmd.client_max_window_bits = 15
    assert pmd.client_max_window_bits == 15


@pytest.mark.parametrize("bits", [0, 7, 16, -1])
def test_pmd_window_bits_validated_like_wsproto(bits: int) -> None:
    with pytest.raises(ValueError, match="Window size must be between 8 and 15 inclusive"):
        PerMessageDeflate(client_max_window_bits=bits)
    with pytest.raises(ConfigurationError):
        PerMessageDeflate(server_max_window_bits=bits)
    with pytest.raises(ValueError):
        wp_extensions.PerMessageDeflate(client_max_window_bits=bits)
    pmd = PerMessageDeflate()
    with pytest.raises(LocalProtocolError):  # caller misuse, and a ValueError as in wsproto
        pmd.server_max_window_bits = bits
    assert pmd.server_max_window_bits == 15


def test_pmd_window_bits_8_supported_unlike_wsproto() -> None:
    # RFC 7692 §7.1.2 allows 8..15; wsproto 1.3.2 refuses 8.
    pmd = PerMessageDeflate(client_max_window_bits=8, server_max_window_bits=8)
    assert (pmd.client_max_window_bits, pmd.server_max_window_bits) == (8, 8)
    with pytest.raises(ValueError, match="between 9 and 15"):
        wp_extensions.PerMessageDeflate(client_max_window_bits=8)


@pytest.mark.parametrize("value", ["10", 10.0, True, None])
def test_pmd_window_bits_must_be_int(value: object) -> None:
    pmd = PerMessageDeflate()
    with pytest.raises(ConfigurationError):
        pmd.client_max_window_bits = value  # type: ignore[assignment]


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"client_no_context_takeover": True}, {"server_max_window_bits": 10, "server_no_context_takeover": True},
     {"client_max_window_bits": 9}],
)
def test_pmd_repr_equals_wsproto(kwargs: dict) -> None:
    assert repr(PerMessageDeflate(**kwargs)) == repr(wp_extensions.PerMessageDeflate(**kwargs))


# ----------------------------------------------------------------------------
# PerMessageDeflate: negotiates for real
# ----------------------------------------------------------------------------


def test_pmd_docstrings_name_units_errors_and_rfc() -> None:
    def norm(text: str | None) -> str:
        return " ".join((text or "").split())

    doc = norm(PerMessageDeflate.__doc__)
    for needle in ("RFC 7692", "8..15", "ConfigurationError", "NegotiationError", "1002", "1007", "1009",
                   "max_message_size", "§7.1.2.2"):
        assert needle in doc, needle
    assert "not implemented" not in doc.lower()
    assert "not implemented" not in norm(ext_mod.__doc__).lower()
    for method in ("offer", "accept", "finalize", "frame_inbound_header", "frame_inbound_payload_data",
                   "frame_inbound_complete", "frame_outbound"):
        assert "RFC 7692" in norm(getattr(PerMessageDeflate, method).__doc__), method
    assert "bytes" in norm(PerMessageDeflate.max_message_size.__doc__)
    for error in (ConfigurationError, NegotiationError):
        assert error.__doc__


def test_pmd_not_enabled_until_negotiated() -> None:
    pmd = PerMessageDeflate()
    assert pmd.enabled() is False
    assert pmd.offer() == "client_max_window_bits=15; server_max_window_bits=15"  # wsproto's offer
    assert pmd.enabled() is False  # offering changes nothing


def test_pmd_accept_enables_and_reports_agreed_values() -> None:
    pmd = PerMessageDeflate()
    assert pmd.accept("permessage-deflate; server_max_window_bits=10; client_no_context_takeover") == (
        "client_no_context_takeover; server_max_window_bits=10")
    assert pmd.enabled() is True
    assert pmd.server_max_window_bits == 10
    assert pmd.client_no_context_takeover is True


def test_pmd_finalize_enables() -> None:
    pmd = PerMessageDeflate()
    assert pmd.finalize("permessage-deflate; client_max_window_bits=12") is None
    assert pmd.enabled() is True
    assert pmd.client_max_window_bits == 12


def test_pmd_finalize_raises_negotiation_error() -> None:
    pmd = PerMessageDeflate()
    with pytest.raises(NegotiationError) as info:
        pmd.finalize("permessage-deflate; server_max_window_bits=16")
    assert isinstance(info.value, RemoteProtocolError) and isinstance(info.value, ValueError)
    assert "server_max_window_bits" in str(info.value)
    assert pmd.enabled() is False


def test_pmd_client_offers_in_request() -> None:
    class Real(Minimal):
        name = "x-real"

    client = H11Handshake(ConnectionType.CLIENT)
    data = client.send(Request(host="h", target="/", extensions=[PerMessageDeflate(), Real()]))
    assert request_headers(data)[b"sec-websocket-extensions"] == b"permessage-deflate; client_max_window_bits=15; server_max_window_bits=15, x-real"


def test_pmd_client_accepts_server_that_accepts() -> None:
    pmd = PerMessageDeflate()
    client = H11Handshake(ConnectionType.CLIENT)
    data = client.send(Request(host="h", target="/", extensions=[pmd]))
    key = request_headers(data)[b"sec-websocket-key"]
    response = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + generate_accept_token(key) + b"\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    client.receive_data(response)
    (accepted,) = client.events()
    assert accepted.extensions == [pmd]
    assert client.state is ConnectionState.OPEN
    assert pmd.enabled()


@pytest.mark.parametrize(
    ("offer", "answer"),
    # Not configured, the server lowers its own window to 12 (RFC 7692 §7.1.2.1).
    [(BROWSER_OFFER, b"permessage-deflate; server_max_window_bits=12"),
     (b"permessage-deflate", b"permessage-deflate; server_max_window_bits=12"),
     (b"permessage-deflate; server_max_window_bits=10, permessage-deflate",
      b"permessage-deflate; server_max_window_bits=10"),
     (b"permessage-deflate; client_max_window_bits; server_no_context_takeover",
      b"permessage-deflate; server_no_context_takeover; server_max_window_bits=12")],
)
def test_pmd_server_accepts_browser_offer(offer: bytes, answer: bytes) -> None:
    server = H11Handshake(ConnectionType.SERVER)
    server.receive_data(browser_request(offer))
    (request,) = server.events()
    assert request.extensions[0].startswith("permessage-deflate")
    pmd = PerMessageDeflate()
    reply = server.send(AcceptConnection(extensions=[pmd]))
    assert response_headers(reply)[b"sec-websocket-extensions"] == answer
    assert server.state is ConnectionState.OPEN
    assert server.connection is not None
    assert server.connection.extensions == [pmd]
    assert pmd.enabled() is True


def test_pmd_server_extensions_handshake_accepts() -> None:
    assert server_extensions_handshake(
        [BROWSER_OFFER.decode()], [PerMessageDeflate()],
    ) == b"permessage-deflate; server_max_window_bits=12"
    assert server_extensions_handshake(
        [BROWSER_OFFER.decode()], [PerMessageDeflate(client_max_window_bits=10)],
    ) == b"permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"
    assert server_extensions_handshake(
        [BROWSER_OFFER.decode()], [PerMessageDeflate(server_max_window_bits=15)],
    ) == b"permessage-deflate; server_max_window_bits=15"


def test_pmd_client_extensions_handshake_with_nothing_accepted() -> None:
    pmd = PerMessageDeflate()
    assert client_extensions_handshake([], [pmd]) == []
    assert pmd.enabled() is False


def test_pmd_against_wsproto_peers() -> None:
    # wsproto client (offers deflate) to our server: negotiated, and messages inflate on both ends.
    their_client = wp_handshake.H11Handshake(WpConnectionType.CLIENT)
    server = H11Handshake(ConnectionType.SERVER)
    their_ext = wp_extensions.PerMessageDeflate()
    server.receive_data(their_client.send(wp_events.Request(host="h", target="/", extensions=[their_ext])))
    (request,) = server.events()
    assert request.extensions == [
        "permessage-deflate; client_max_window_bits=15; server_max_window_bits=15"]
    ours = PerMessageDeflate()
    their_client.receive_data(server.send(AcceptConnection(extensions=[ours])))
    (accepted,) = their_client.events()
    assert accepted.extensions == [their_ext]
    text = "compressible " * 200
    wire = their_client.connection.send(wp_events.TextMessage(text))
    assert len(wire) < 100 and wire[0] & 0x40
    server.connection.receive_data(wire)
    assert [e.data for e in server.connection.events()] == [text]
    wire = server.connection.send(TextMessage(text))
    assert len(wire) < 100 and wire[0] & 0x40
    their_client.connection.receive_data(wire)
    assert [e.data for e in their_client.connection.events()] == [text]

    # Our client to a wsproto server that supports deflate.
    client = H11Handshake(ConnectionType.CLIENT)
    ours = PerMessageDeflate()
    their_server = wp_handshake.H11Handshake(WpConnectionType.SERVER)
    their_server.receive_data(client.send(Request(host="h", target="/", extensions=[ours])))
    (their_request,) = their_server.events()
    assert their_request.extensions == ["permessage-deflate; client_max_window_bits=15; server_max_window_bits=15"]  # the same offer as wsproto's
    client.receive_data(their_server.send(wp_events.AcceptConnection(
        extensions=[wp_extensions.PerMessageDeflate()])))
    (accepted,) = client.events()
    assert accepted.extensions == [ours]
    their_server.connection.receive_data(client.connection.send(TextMessage(text)))
    assert [e.data for e in their_server.connection.events()] == [text]


def test_pmd_connection_does_not_touch_frames_until_negotiated() -> None:
    pmd = PerMessageDeflate()
    conn = Connection(ConnectionType.SERVER, extensions=[pmd])
    data = conn.send(TextMessage("abc"))
    assert data == b"\x81\x03abc"  # RSV1 clear, payload uncompressed


def test_every_hook_the_frame_layer_calls_is_declared_with_a_default() -> None:
    """Issue 11: the decoder and encoder call only hooks declared on Extension."""
    ext = Minimal()
    assert ext.frame_inbound_pending() is False
    assert ext.frame_inbound_drain(None) == b""  # type: ignore[arg-type]
    assert ext.failure_reason is None
    for hook in ("frame_inbound_header", "frame_inbound_payload_data", "frame_inbound_pending",
                 "frame_inbound_drain", "frame_inbound_complete", "frame_outbound"):
        doc = getattr(Extension, hook).__doc__
        assert doc and "RFC" in doc, hook


def test_failure_reason_becomes_the_close_reason() -> None:
    """One error channel: a hook returns the close code and says why in failure_reason."""

    class Refusing(Extension):
        name = "x-refusing"

        def enabled(self) -> bool:
            return True

        def offer(self) -> bool:
            return True

        def frame_inbound_payload_data(self, proto, data):  # type: ignore[no-untyped-def]
            assert isinstance(proto, FrameContext) and proto.client is False
            self.failure_reason = "no payload allowed"
            return 1008

    from wsspec.frame_protocol import FrameContext, FrameProtocol, ParseFailed

    ext = Refusing()
    proto = FrameProtocol(False, [ext])
    proto.receive_bytes(bytes([0x82, 0x81]) + b"\x00\x00\x00\x00" + b"x")
    with pytest.raises(ParseFailed) as info:
        list(proto.received_frames())
    assert info.value.code == 1008 and str(info.value) == "no payload allowed"
    assert ext.failure_reason is None
