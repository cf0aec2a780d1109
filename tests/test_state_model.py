"""
The spec as a checked oracle: a `transitions.Machine` built from the same
YAML as the generated tables, driven with hypothesis-generated event
sequences next to the real runtime. They must agree on the state after
every step and on every refusal.

This does not compare the generated dict with the YAML (that would only
test the template); it drives the real Connection and H11Handshake, so a
runtime that bypasses or misreads the tables fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transitions import Machine, MachineError

from codegen.model import load_spec
from wsspec.connection import Connection, ConnectionState, ConnectionType
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsspec.frame_protocol import FrameProtocol
from wsspec.handshake import H11Handshake
from wsspec.utilities import LocalProtocolError, RemoteProtocolError, generate_accept_token

SPEC = load_spec(Path(__file__).resolve().parent.parent / "spec")


class Model:
    """The object a transitions.Machine drives."""


def connection_machine() -> tuple[Model, Machine]:
    model = Model()
    machine = Machine(
        model=model,
        states=SPEC.connection.state_names,
        transitions=[{"trigger": t.input, "source": t.source, "dest": t.target}
                     for t in SPEC.connection.transitions],
        initial="OPEN",
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )
    return model, machine


def handshake_machine(side: str) -> tuple[Model, Machine]:
    model = Model()
    machine = Machine(
        model=model,
        states=SPEC.connection.state_names,
        transitions=[{"trigger": t.input, "source": t.source, "dest": t.target}
                     for t in SPEC.handshake.transitions if t.side == side],
        initial=SPEC.connection.initial_state,
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )
    return model, machine


# --- connection ------------------------------------------------------------

# What the peer sends for each receive input, and the event class we expect.
def _peer_frames(client: bool):
    peer = FrameProtocol(client=not client, extensions=[])
    return {
        "receive_message": (lambda: peer.send_data("data"), TextMessage),
        "receive_ping": (lambda: peer.ping(b"p"), Ping),
        "receive_pong": (lambda: peer.pong(b"q"), Pong),
        "receive_close": (lambda: peer.close(1000, "bye"), CloseConnection),
        # A reserved opcode (0x3) with FIN: always a protocol error.
        "protocol_error": (lambda: bytes([0x83, 0x80 if not client else 0x00]) + (b"\x00" * 4 if not client else b""),
                           CloseConnection),
    }


SEND_EVENTS = {
    "send_message": lambda: TextMessage("hi"),
    "send_binary": lambda: BytesMessage(b"\x00\x01"),
    "send_ping": lambda: Ping(b"x"),
    "send_pong": lambda: Pong(b"y"),
    "send_close": lambda: CloseConnection(1000, "done"),
}
SEND_INPUT = {"send_binary": "send_message"}
RECEIVE_ACTIONS = ["receive_message", "receive_ping", "receive_pong", "receive_close", "protocol_error",
                   "connection_lost"]

actions = st.lists(st.sampled_from(sorted(SEND_EVENTS) + RECEIVE_ACTIONS), max_size=12)


@settings(max_examples=400, deadline=None)
@given(client=st.booleans(), steps=actions)
def test_connection_agrees_with_spec_machine(client: bool, steps: list[str]) -> None:
    model, _ = connection_machine()
    conn = Connection(ConnectionType.CLIENT if client else ConnectionType.SERVER)
    peer_frames = _peer_frames(client)
    for step in steps:
        before = conn.state
        if step in SEND_EVENTS:
            trigger = SEND_INPUT.get(step, step)
            try:
                getattr(model, trigger)()
                allowed = True
            except MachineError:
                allowed = False
            if allowed:
                assert conn.send(SEND_EVENTS[step]()), step
            else:
                with pytest.raises(LocalProtocolError) as info:
                    conn.send(SEND_EVENTS[step]())
                assert before.name in str(info.value)
        elif step == "connection_lost":
            getattr(model, "connection_lost")()
            conn.receive_data(None)
            events = list(conn.events())
            assert events[-1] == CloseConnection(code=1006)
        else:
            make, expected_event = peer_frames[step]
            action = SPEC.connection.receive_bytes[before.name]
            if action == "error":
                with pytest.raises(LocalProtocolError):
                    conn.receive_data(make())
            elif action == "ignore":
                conn.receive_data(make())
                assert list(conn.events()) == []
            else:
                getattr(model, step)()
                conn.receive_data(make())
                events = list(conn.events())
                assert len(events) == 1 and isinstance(events[0], expected_event), (step, events)
                if step == "protocol_error":
                    assert events[0].code == 1002
        assert conn.state.name == model.state, (steps, step)


def test_every_connection_transition_is_exercised_by_the_alphabet() -> None:
    """The hypothesis alphabet covers every input the spec declares."""
    alphabet = {SEND_INPUT.get(s, s) for s in SEND_EVENTS} | set(RECEIVE_ACTIONS)
    assert alphabet == {i.name for i in SPEC.connection.inputs}


# --- handshake -------------------------------------------------------------

REQUEST_BYTES = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
BAD_REQUEST_BYTES = REQUEST_BYTES.replace(b"Upgrade: websocket\r\n", b"")

SERVER_STEPS = {
    "receive_request": lambda hs: hs.receive_data(REQUEST_BYTES),
    "receive_bad_request": lambda hs: hs.receive_data(BAD_REQUEST_BYTES),
    "send_accept": lambda hs: hs.send(AcceptConnection()),
    "send_reject": lambda hs: hs.send(RejectConnection(status_code=403)),
    "send_reject_with_body": lambda hs: hs.send(
        RejectConnection(status_code=403, headers=[(b"transfer-encoding", b"chunked")], has_body=True)),
    "send_reject_data": lambda hs: hs.send(RejectData(b"no", body_finished=False)),
    "send_reject_data_end": lambda hs: hs.send(RejectData(b"pe", body_finished=True)),
}


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.sampled_from(sorted(SERVER_STEPS)), max_size=6))
def test_server_handshake_agrees_with_spec_machine(steps: list[str]) -> None:
    model, _ = handshake_machine("SERVER")
    hs = H11Handshake(ConnectionType.SERVER)
    got_request = got_bad_request = False
    for step in steps:
        try:
            getattr(model, step)()
            allowed = True
        except MachineError:
            allowed = False
        if step.startswith("receive") and (got_request or got_bad_request):
            # A second request on the same connection is pipelined HTTP that
            # h11 holds until a response is sent: not part of the handshake.
            return
        # The server must have received a valid request before it can accept
        # one; the machine does not model that precondition, the runtime must
        # refuse it with LocalProtocolError. (Rejecting needs no request:
        # a server may answer garbage with a 400.)
        needs_request = step == "send_accept"
        if step.startswith("receive"):
            if step == "receive_bad_request":
                if not allowed:
                    return
                with pytest.raises(RemoteProtocolError):
                    SERVER_STEPS[step](hs)
                got_bad_request = True
            else:
                if not allowed:
                    return
                SERVER_STEPS[step](hs)
                events = list(hs.events())
                assert len(events) == 1 and isinstance(events[0], Request)
                got_request = True
        elif allowed and (got_request or not needs_request):
            SERVER_STEPS[step](hs)
        else:
            with pytest.raises(LocalProtocolError):
                SERVER_STEPS[step](hs)
            if allowed:
                return  # refused for want of a request; machine moved, runtime did not
        assert hs.state.name == model.state, (steps, step)


def _response(status: bytes, headers: list[bytes], body: bytes = b"") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def test_client_handshake_paths_follow_spec_machine() -> None:
    """Each client path of handshake.yaml, driven through H11Handshake."""

    def start():
        hs = H11Handshake(ConnectionType.CLIENT)
        data = hs.send(Request(host="example.com", target="/"))
        key = [line.split(b": ", 1)[1] for line in data.split(b"\r\n") if line.lower().startswith(b"sec-websocket-key")][0]
        model, _ = handshake_machine("CLIENT")
        model.send_request()
        assert hs.state.name == model.state
        return hs, model, key

    # receive_accept
    hs, model, key = start()
    hs.receive_data(_response(b"101 Switching Protocols", [b"Upgrade: websocket", b"Connection: Upgrade",
                                                         b"Sec-WebSocket-Accept: " + generate_accept_token(key)]))
    assert isinstance(next(hs.events()), AcceptConnection)
    model.receive_accept()
    assert hs.state.name == model.state == "OPEN"

    # receive_bad_accept
    hs, model, key = start()
    with pytest.raises(RemoteProtocolError):
        hs.receive_data(_response(b"101 Switching Protocols", [b"Upgrade: websocket", b"Connection: Upgrade",
                                                             b"Sec-WebSocket-Accept: AAAA"]))
    model.receive_bad_accept()
    assert hs.state.name == model.state

    # receive_informational
    hs, model, key = start()
    hs.receive_data(_response(b"100 Continue", []))
    event = next(hs.events())
    assert event == RejectConnection(status_code=100, headers=[], has_body=False)
    model.receive_informational()
    assert hs.state.name == model.state

    # receive_reject, receive_reject_data, receive_reject_end
    hs, model, key = start()
    hs.receive_data(_response(b"403 Forbidden", [b"Content-Length: 4"]))
    assert isinstance(next(hs.events()), RejectConnection)
    model.receive_reject()
    assert hs.state.name == model.state == "REJECTING"
    hs.receive_data(b"no")
    assert list(hs.events()) == [RejectData(b"no", body_finished=False)]
    model.receive_reject_data()
    assert hs.state.name == model.state
    hs.receive_data(b"pe")
    assert list(hs.events()) == [RejectData(b"pe", body_finished=False), RejectData(b"", body_finished=True)]
    model.receive_reject_end()
    assert hs.state.name == model.state == "CLOSED"

    # Every client input the spec declares was used above.
    assert {i.name for i in SPEC.handshake.inputs if i.side == "CLIENT"} == {
        "send_request", "receive_accept", "receive_bad_accept", "receive_informational",
        "receive_reject", "receive_reject_data", "receive_reject_end"}
