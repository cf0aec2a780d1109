"""
Size limits, the queued Close after a protocol error, and the HTTP head
bound: what a hostile peer gets from wsspec (issue 5), each next to what
wsproto 1.3.2 does with the same bytes.
"""

from __future__ import annotations

import functools
import importlib.util
import zlib

import pytest
import wsproto
import wsproto.connection as wp_connection
import wsproto.events as wp_events
import wsproto.utilities as wp_utilities

from tests import hostile
from tests.hostile import GiB, KiB, MiB, frame, header
from wsspec import WSConnection
from wsspec._generated.framing import DEFAULT_MAX_MESSAGE_SIZE
from wsspec._generated.handshake import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from wsspec.connection import Connection, ConnectionState, ConnectionType
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsspec.deflate import BACKEND_MODULES
from wsspec.extensions import PerMessageDeflate
from wsspec.frame_protocol import FrameProtocol
from wsspec.utilities import LocalProtocolError, RemoteProtocolError

SERVER = ConnectionType.SERVER
CLIENT = ConnectionType.CLIENT


def events(conn, data: bytes) -> list:
    conn.receive_data(data)
    return list(conn.events())


def close_code(frame_bytes: bytes) -> int:
    """The close code of one unmasked Close frame (server to client)."""
    assert frame_bytes[0] == 0x88, frame_bytes[:2]
    return int.from_bytes(frame_bytes[2:4], "big")


def _installed(name: str) -> bool:
    module, _ = BACKEND_MODULES[name]
    return importlib.util.find_spec(module.split(".")[0]) is not None


#: Every zlib backend (issue 12); the optional ones when installed (the dev extra has both).
BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(not _installed(name), reason=f"{name} not installed"))
            for name in BACKEND_MODULES]


def deflated_server(backend: str = "zlib", **limits) -> Connection:
    ext = PerMessageDeflate(zlib_backend=backend)
    assert ext.accept("permessage-deflate") is not None
    return Connection(SERVER, [ext], **limits)


def compressed(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


# ---------------------------------------------------------------------------
# defaults and options
# ---------------------------------------------------------------------------


def test_defaults_come_from_the_spec() -> None:
    assert DEFAULT_MAX_MESSAGE_SIZE == 16 * MiB
    assert DEFAULT_MAX_INCOMPLETE_EVENT_SIZE == 16 * KiB
    conn = Connection(SERVER)
    assert conn.max_message_size == 16 * MiB
    assert conn.max_frame_size is None


def test_limits_pass_from_wsconnection_to_the_connection() -> None:
    client = WSConnection(CLIENT)
    server = WSConnection(SERVER, max_message_size=100, max_frame_size=50)
    server.receive_data(client.send(Request(host="localhost", target="/")))
    assert isinstance(next(server.events()), Request)
    client.receive_data(server.send(AcceptConnection()))
    assert server.connection.max_message_size == 100
    assert server.connection.max_frame_size == 50
    assert client.connection.max_message_size == DEFAULT_MAX_MESSAGE_SIZE


@pytest.mark.parametrize("option", ["max_message_size", "max_frame_size"])
@pytest.mark.parametrize("value", [-1, 1.5, "10", True])
def test_invalid_limits_are_refused(option: str, value: object) -> None:
    with pytest.raises(LocalProtocolError, match=option):
        Connection(SERVER, **{option: value})
    with pytest.raises(LocalProtocolError, match=option):
        WSConnection(SERVER, **{option: value})


def test_limits_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Connection(SERVER, None, b"", 100)  # type: ignore[misc]
    with pytest.raises(TypeError):
        WSConnection(SERVER, 100)  # type: ignore[misc]


def test_none_disables_the_message_limit() -> None:
    big = bytes(17 * MiB)
    conn = Connection(SERVER, max_message_size=None)
    got = events(conn, frame(0x2, big))
    assert sum(len(e.data) for e in got) == len(big) and got[-1].message_finished
    # The default refuses the same message.
    assert events(Connection(SERVER), frame(0x2, big))[-1].code == 1009


# ---------------------------------------------------------------------------
# a frame header announcing too much fails before any payload is buffered
# ---------------------------------------------------------------------------


def test_2_gib_frame_header_fails_at_the_header() -> None:
    conn = Connection(SERVER)
    got = events(conn, frame(0x1, b"before") + header(0x2, 2 * GiB))
    assert got[0] == TextMessage("before")
    assert got[1].code == 1009 and "2147483648" in got[1].reason and "max_message_size" in got[1].reason
    assert conn.state is ConnectionState.REMOTE_CLOSING
    assert close_code(conn.data_to_send()) == 1009
    assert conn.state is ConnectionState.CLOSED
    # wsproto: no limit; it accepts the header and waits for 2 GiB.
    wp = wp_connection.Connection(wp_connection.ConnectionType.SERVER)
    wp.receive_data(frame(0x1, b"before") + header(0x2, 2 * GiB))
    assert [type(e) for e in wp.events()] == [wp_events.TextMessage]
    assert wp.state is wp_connection.ConnectionState.OPEN


def test_payload_after_a_refused_header_is_never_buffered() -> None:
    conn = Connection(SERVER)
    events(conn, header(0x2, 2 * GiB))
    conn.receive_data(bytes(MiB))  # REMOTE_CLOSING: ignored
    assert list(conn.events()) == []
    assert len(conn._proto._frame_decoder._buf) == 0


def test_max_frame_size_limits_each_frame() -> None:
    conn = Connection(SERVER, max_frame_size=100)
    got = events(conn, frame(0x2, bytes(100), fin=False) + frame(0x0, bytes(101)))
    assert got[0].data == bytes(100)
    assert got[1].code == 1009 and "max_frame_size" in got[1].reason


def test_fragmentation_errors_keep_their_code_over_the_size_check() -> None:
    # A CONTINUATION with no message in progress is a 1002, whatever its size.
    conn = Connection(SERVER, max_message_size=10)
    assert events(conn, header(0x0, 1000))[-1].code == 1002


# ---------------------------------------------------------------------------
# a message growing past the limit fails at the first byte over
# ---------------------------------------------------------------------------


def test_fragments_past_the_limit() -> None:
    conn = Connection(SERVER, max_message_size=10)
    got = events(conn, frame(0x2, b"12345", fin=False) + frame(0x0, b"67890", fin=False) + frame(0x0, b"!"))
    assert [e.data for e in got[:2]] == [b"12345", b"67890"]
    assert got[2].code == 1009
    # Exactly the limit is fine.
    conn = Connection(SERVER, max_message_size=10)
    got = events(conn, frame(0x2, b"12345", fin=False) + frame(0x0, b"67890"))
    assert got[-1].message_finished and b"".join(e.data for e in got) == b"1234567890"
    # wsproto delivers any number of fragments.
    wp = wp_connection.Connection(wp_connection.ConnectionType.SERVER)
    wp.receive_data(frame(0x2, b"x", fin=False) + frame(0x0, b"x", fin=False) * 999 + frame(0x0, b"x"))
    assert sum(len(e.data) for e in wp.events()) == 1001


def test_the_count_is_per_message_and_control_frames_do_not_count() -> None:
    conn = Connection(SERVER, max_message_size=10)
    wire = frame(0x1, b"a" * 10) + frame(0x1, b"b" * 5, fin=False) + frame(0x9, b"p" * 100) + frame(0x0, b"c" * 5)
    got = events(conn, wire)
    assert [type(e) for e in got] == [TextMessage, TextMessage, Ping, TextMessage]
    assert conn.state is ConnectionState.OPEN


def test_text_is_counted_in_utf8_bytes() -> None:
    conn = Connection(SERVER, max_message_size=4)
    assert events(conn, frame(0x1, "€".encode()))[-1] == TextMessage("€")  # 3 bytes
    assert events(conn, frame(0x1, "€€".encode()))[-1].code == 1009  # 6 bytes


@pytest.mark.parametrize("backend", BACKENDS)
def test_inflation_stops_at_the_connection_limit(backend: str) -> None:
    limit = 100 * KiB
    conn = deflated_server(backend, max_message_size=limit)
    got = events(conn, frame(0x2, compressed(bytes(10 * MiB)), rsv1=True))
    assert got[-1].code == 1009 and "max_message_size" in got[-1].reason
    assert sum(len(e.data) for e in got[:-1]) <= limit
    assert close_code(conn.data_to_send()) == 1009


@pytest.mark.parametrize("backend", BACKENDS)
def test_compressed_message_at_exactly_the_limit(backend: str) -> None:
    conn = deflated_server(backend, max_message_size=1000)
    got = events(conn, frame(0x2, compressed(b"a" * 1000), rsv1=True))
    assert b"".join(e.data for e in got) == b"a" * 1000 and got[-1].message_finished


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_extensions_own_limit_still_applies_when_smaller(backend: str) -> None:
    conn = deflated_server(backend, max_message_size=MiB)
    conn.extensions[0].max_message_size = 1000
    assert events(conn, frame(0x2, compressed(bytes(2000)), rsv1=True))[-1].code == 1009


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_compressed_frames_are_delivered_in_bounded_pieces(backend: str) -> None:
    from wsspec.extensions import INFLATE_CHUNK_SIZE

    data = bytes(range(256)) * (5 * MiB // 256)
    conn = deflated_server(backend, max_message_size=None)
    got = events(conn, frame(0x2, compressed(data), rsv1=True))
    assert b"".join(e.data for e in got) == data
    assert max(len(e.data) for e in got) <= INFLATE_CHUNK_SIZE
    assert len(got) >= len(data) // INFLATE_CHUNK_SIZE
    assert [e.frame_finished for e in got] == [False] * (len(got) - 1) + [True]
    assert [e.message_finished for e in got] == [False] * (len(got) - 1) + [True]


def test_frame_protocol_keeps_wsprotos_unlimited_default() -> None:
    proto = FrameProtocol(client=False, extensions=[])
    proto.receive_bytes(header(0x2, 2 * GiB))
    assert list(proto.received_frames()) == []  # waiting for payload, no error


# ---------------------------------------------------------------------------
# the peak memory a hostile peer causes (tests/hostile.py prints the table)
# ---------------------------------------------------------------------------


def test_memory_for_a_2_gib_frame_header() -> None:
    outcome = hostile.run(hostile.wsspec_server, hostile.giant_frame_reads(4 * MiB))
    assert outcome.close.code == 1009 and outcome.delivered == 0
    assert outcome.peak < 16 * KiB, outcome.peak
    wsproto_outcome = hostile.run(hostile.wsproto_server, hostile.giant_frame_reads(4 * MiB))
    assert wsproto_outcome.close is None and wsproto_outcome.delivered == 4 * MiB


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_for_a_200_mib_decompression_bomb(backend: str) -> None:
    data = hostile.bomb()
    server = functools.partial(hostile.wsspec_server, zlib_backend=backend)
    alone = hostile.run(server, hostile.bomb_reads(data), deflate=True, assemble=False)
    assert alone.close.code == 1009
    assert alone.peak < 2 * MiB, alone.peak  # pieces of 256 KiB, never the whole output
    app = hostile.run(server, hostile.bomb_reads(data), deflate=True)
    assert app.delivered <= DEFAULT_MAX_MESSAGE_SIZE
    assert app.peak < DEFAULT_MAX_MESSAGE_SIZE + 2 * MiB, app.peak


def test_memory_for_10000_one_byte_fragments() -> None:
    outcome = hostile.run(hostile.wsspec_server, hostile.fragment_reads(10_000), assemble=False)
    assert outcome.messages == 0 and outcome.delivered == 10_000 and outcome.close is None
    # The 70,000 wire bytes are parsed in place; events are made one at a time.
    assert outcome.peak < 128 * KiB, outcome.peak


# ---------------------------------------------------------------------------
# protocol errors: a declared state, a queued Close, a clear refusal to send
# ---------------------------------------------------------------------------

BAD_FRAMES = [
    (frame(0x3, b""), 1002, "Invalid opcode"),
    (frame(0x1, b"\xff"), 1007, "utf-8"),
    (frame(0x8, (1005).to_bytes(2, "big")), 1002, "1005"),
    (header(0x2, 2 * GiB), 1009, "max_message_size"),
]


@pytest.mark.parametrize(("bad", "code", "why"), BAD_FRAMES)
def test_protocol_error_queues_the_close(bad: bytes, code: int, why: str) -> None:
    conn = Connection(SERVER)
    got = events(conn, frame(0x1, b"ok") + bad + frame(0x1, b"never"))
    assert got[0] == TextMessage("ok")
    assert got[1].code == code and why in got[1].reason
    assert len(got) == 2
    assert conn.state is ConnectionState.REMOTE_CLOSING
    with pytest.raises(LocalProtocolError, match=rf"closing because the peer's data failed \({code}") as info:
        conn.send(TextMessage("more"))
    assert "data_to_send" in str(info.value)
    queued = conn.data_to_send()
    assert close_code(queued) == code
    assert conn.state is ConnectionState.CLOSED
    assert conn.data_to_send() == b""  # handed out once
    with pytest.raises(LocalProtocolError, match="closed because the peer's data failed"):
        conn.send(CloseConnection(1000))


def test_wsproto_stays_open_after_a_protocol_error() -> None:
    wp = wp_connection.Connection(wp_connection.ConnectionType.SERVER)
    wp.receive_data(frame(0x3, b""))
    assert [e.code for e in wp.events()] == [1002]
    assert not hasattr(wp, "data_to_send")  # nothing queued
    assert wp.state is wp_connection.ConnectionState.OPEN  # stuck OPEN
    assert wp.send(wp_events.TextMessage("more"))  # data still goes out
    # wsspec: REMOTE_CLOSING, and data is refused (test_protocol_error_queues_the_close).


def test_sending_the_response_replaces_the_queued_close() -> None:
    conn = Connection(SERVER)
    (error,) = events(conn, frame(0x3, b""))
    data = conn.send(error.response())  # what wsproto applications do
    assert close_code(data) == 1002
    assert conn.state is ConnectionState.CLOSED
    assert conn.data_to_send() == b""  # exactly one Close goes out


def test_later_bytes_are_ignored_after_an_error() -> None:
    conn = Connection(SERVER)
    events(conn, frame(0x3, b""))
    assert events(conn, frame(0x1, b"after")) == []


def test_error_while_local_closing_owes_nothing() -> None:
    conn = Connection(SERVER)
    conn.send(CloseConnection(1000))
    got = events(conn, frame(0x1, b"\xff"))
    assert got[-1].code == 1007
    assert conn.state is ConnectionState.CLOSED
    assert conn.data_to_send() == b""


def test_connection_lost_drops_the_queued_close() -> None:
    conn = Connection(SERVER)
    events(conn, frame(0x3, b""))
    conn.receive_data(None)
    assert [e.code for e in conn.events()] == [1006]
    assert conn.state is ConnectionState.CLOSED and conn.data_to_send() == b""


def test_send_after_peer_close_says_why() -> None:
    conn = Connection(SERVER)
    events(conn, frame(0x8, (1001).to_bytes(2, "big")))
    with pytest.raises(LocalProtocolError, match=r"closing because the peer sent Close \(1001\)"):
        conn.send(BytesMessage(b"x"))
    assert conn.data_to_send() == b""  # the application chooses its answer to a Close


def test_wsconnection_data_to_send() -> None:
    client = WSConnection(CLIENT)
    server = WSConnection(SERVER)
    assert server.data_to_send() == b""
    server.receive_data(client.send(Request(host="localhost", target="/")))
    list(server.events())
    client.receive_data(server.send(AcceptConnection()))
    server.receive_data(frame(0x3, b""))
    assert [e.code for e in server.events()] == [1002]
    client.receive_data(server.data_to_send())
    got = list(client.events())
    assert isinstance(got[0], AcceptConnection) and got[-1].code == 1002
    assert server.state is ConnectionState.CLOSED


# ---------------------------------------------------------------------------
# the HTTP head bound (h11's max_incomplete_event_size)
# ---------------------------------------------------------------------------


def _request(extra: int) -> bytes:
    return (
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"X-Padding: " + b"a" * extra + b"\r\n\r\n"
    )


def test_oversized_head_is_refused_with_431() -> None:
    # The bound is on what is buffered while the head is incomplete (h11).
    server = WSConnection(SERVER, max_incomplete_event_size=1024)
    with pytest.raises(RemoteProtocolError, match="1024 bytes") as info:
        server.receive_data(_request(2000)[:1500])
    assert info.value.event_hint == RejectConnection(status_code=431)
    # The default (16 KiB) refuses 20 KiB of unfinished head and accepts 8 KiB.
    with pytest.raises(RemoteProtocolError):
        WSConnection(SERVER).receive_data(_request(30 * KiB)[: 20 * KiB])
    ok = WSConnection(SERVER)
    for i in range(0, len(_request(8 * KiB)), 1000):
        ok.receive_data(_request(8 * KiB)[i : i + 1000])
    assert isinstance(next(ok.events()), Request)
    # wsproto: no option, and a 400 hint for the same refusal.
    wp = wsproto.WSConnection(wp_connection.ConnectionType.SERVER)
    with pytest.raises(wp_utilities.RemoteProtocolError) as wp_info:
        wp.receive_data(_request(30 * KiB)[: 20 * KiB])
    assert wp_info.value.event_hint == wp_events.RejectConnection(status_code=400)


def test_client_head_bound() -> None:
    client = WSConnection(CLIENT, max_incomplete_event_size=512)
    client.send(Request(host="localhost", target="/"))
    with pytest.raises(RemoteProtocolError):
        client.receive_data(b"HTTP/1.1 101 Switching Protocols\r\nX: " + b"a" * 1000)


def test_invalid_head_bound_is_refused() -> None:
    for value in (0, -5, None, "big"):
        with pytest.raises(LocalProtocolError, match="max_incomplete_event_size"):
            WSConnection(SERVER, max_incomplete_event_size=value)  # type: ignore[arg-type]
