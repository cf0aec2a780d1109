"""
Connection (post-handshake): the transitions of spec/connection.yaml as
behaviour, the declared protocol-error path, and receive_data(None).
"""

from __future__ import annotations

import pytest

from wsspec.connection import CLIENT, SERVER, Connection, ConnectionState
from wsspec.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsspec.frame_protocol import CloseReason
from wsspec.utilities import LocalProtocolError


def pair() -> tuple[Connection, Connection]:
    return Connection(CLIENT), Connection(SERVER)


def deliver(sender: Connection, receiver: Connection, event) -> list:
    receiver.receive_data(sender.send(event))
    return list(receiver.events())


def test_messages_both_ways() -> None:
    client, server = pair()
    assert deliver(client, server, TextMessage("ünïcode ✓")) == [TextMessage("ünïcode ✓")]
    assert deliver(server, client, BytesMessage(b"\x00\xff")) == [BytesMessage(b"\x00\xff")]
    assert deliver(client, server, Ping(b"1")) == [Ping(b"1")]
    assert deliver(server, client, Pong(b"1")) == [Pong(b"1")]
    assert client.state is server.state is ConnectionState.OPEN


def test_close_started_by_client() -> None:
    client, server = pair()
    events = deliver(client, server, CloseConnection(1000, "bye"))
    assert events == [CloseConnection(CloseReason.NORMAL_CLOSURE, "bye")]
    assert client.state is ConnectionState.LOCAL_CLOSING
    assert server.state is ConnectionState.REMOTE_CLOSING
    assert deliver(server, client, events[0].response()) == [CloseConnection(1000, "bye")]
    assert client.state is server.state is ConnectionState.CLOSED


def test_frames_received_while_local_closing_are_delivered() -> None:
    client, server = pair()
    client.send(CloseConnection(1000))
    assert deliver(server, client, TextMessage("late")) == [TextMessage("late")]
    assert client.state is ConnectionState.LOCAL_CLOSING


@pytest.mark.parametrize("event", [TextMessage("x"), BytesMessage(b"x"), Ping(), Pong()])
def test_no_data_or_control_after_close_sent(event) -> None:
    client, _ = pair()
    client.send(CloseConnection(1000))
    with pytest.raises(LocalProtocolError, match="LOCAL_CLOSING"):
        client.send(event)


def test_data_after_closed_raises() -> None:
    client, server = pair()
    server.receive_data(client.send(CloseConnection(1000)))
    list(server.events())
    server.send(CloseConnection(1000))
    assert server.state is ConnectionState.CLOSED
    with pytest.raises(LocalProtocolError, match="closed"):
        server.receive_data(b"\x81\x00")


def test_protocol_error_takes_the_declared_path() -> None:
    """spec/connection.yaml: OPEN --protocol_error--> REMOTE_CLOSING; the parser stops."""
    client, server = pair()
    good = client.send(TextMessage("before"))
    bad = bytes([0x83, 0x80, 0, 0, 0, 0])  # reserved opcode 0x3
    after = client.send(TextMessage("after"))
    server.receive_data(good + bad + after)
    events = list(server.events())
    assert events[0] == TextMessage("before")
    assert isinstance(events[1], CloseConnection) and events[1].code == CloseReason.PROTOCOL_ERROR
    assert len(events) == 2  # nothing after the bad frame
    assert server.state is ConnectionState.REMOTE_CLOSING
    server.receive_data(client.send(TextMessage("ignored")))
    assert list(server.events()) == []
    with pytest.raises(LocalProtocolError, match="REMOTE_CLOSING"):
        server.send(TextMessage("no"))
    server.send(events[1].response())
    assert server.state is ConnectionState.CLOSED


def test_invalid_utf8_is_1007_and_protocol_error_after_local_close_closes() -> None:
    client, server = pair()
    server.send(CloseConnection(1000))
    server.receive_data(_masked_text(b"\xff"))
    (event,) = server.events()
    assert event.code == CloseReason.INVALID_FRAME_PAYLOAD_DATA
    assert server.state is ConnectionState.CLOSED


def _masked_text(payload: bytes) -> bytes:
    """A masked TEXT frame with an all-zero key (so the payload is sent as is)."""
    return bytes([0x81, 0x80 | len(payload), 0, 0, 0, 0]) + payload


def test_connection_lost_delivers_buffered_frames_first() -> None:
    client, server = pair()
    server.receive_data(client.send(TextMessage("last words")))
    server.receive_data(None)
    assert list(server.events()) == [TextMessage("last words"), CloseConnection(CloseReason.ABNORMAL_CLOSURE)]
    assert server.state is ConnectionState.CLOSED


def test_trailing_data_is_parsed() -> None:
    client = Connection(CLIENT)
    server = Connection(SERVER, trailing_data=client.send(TextMessage("pipelined")))
    assert list(server.events()) == [TextMessage("pipelined")]


def test_fragmented_message_across_reads_and_split_bytes() -> None:
    client, server = pair()
    data = client.send(TextMessage("héllo ", message_finished=False)) + client.send(TextMessage("wörld"))
    received = []
    for i in range(len(data)):
        server.receive_data(data[i:i + 1])
        received.extend(server.events())
    text = "".join(e.data for e in received)
    assert text == "héllo wörld"
    assert received[-1].message_finished and not received[0].message_finished


@pytest.mark.parametrize("code", [1004, 999, 5000])
def test_unsendable_close_code_raises_and_keeps_state(code: int) -> None:
    client, _ = pair()
    with pytest.raises(LocalProtocolError, match=f"in state OPEN: close code {code} may not be sent"):
        client.send(CloseConnection(code, "x"))
    assert client.state is ConnectionState.OPEN


@pytest.mark.parametrize("code", [CloseReason.ABNORMAL_CLOSURE, 1015])
def test_aborting_with_a_local_only_code_sends_1000(code: int) -> None:
    """trio-websocket aborts a broken connection with CloseConnection(1006) while OPEN;
    wsproto puts 1000 on the wire, and so does wsspec (spec/close_codes.yaml send_as)."""
    client, server = pair()
    wire = client.send(CloseConnection(code, "aborted"))
    assert client.state is ConnectionState.LOCAL_CLOSING
    server.receive_data(wire)
    assert list(server.events()) == [CloseConnection(CloseReason.NORMAL_CLOSURE, "aborted")]


def test_reason_without_code_is_a_type_error_too() -> None:
    client, _ = pair()
    with pytest.raises(LocalProtocolError, match="in state OPEN: cannot send a close reason without") as info:
        client.send(CloseConnection(None, "x"))  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    assert client.state is ConnectionState.OPEN


def test_answering_a_close_without_code() -> None:
    """A Close with no payload arrives as 1005; its response() goes back as an empty Close."""
    client, server = pair()
    server.receive_data(bytes([0x88, 0x80, 0, 0, 0, 0]))  # masked Close, empty payload
    (event,) = server.events()
    assert event == CloseConnection(CloseReason.NO_STATUS_RCVD, "")
    wire = server.send(event.response())
    assert wire == b"\x88\x00"
    assert server.state is ConnectionState.CLOSED
