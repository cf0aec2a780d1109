"""The receive and send fast paths (issue 6) behave exactly as the general code."""

from __future__ import annotations

import random

import pytest

from wsspec.connection import Connection, ConnectionType
from wsspec.events import BytesMessage, CloseConnection, TextMessage
from wsspec.frame_protocol import FrameDecoder, FrameProtocol


def test_received_message_events_equal_constructed_ones() -> None:
    from wsspec.connection import _new_message

    for cls, data in ((TextMessage, "héllo"), (BytesMessage, b"\x00\xff")):
        for ff in (True, False):
            for mf in (True, False):
                fast = _new_message(cls, data, ff, mf)
                slow = cls(data, ff, mf)
                assert type(fast) is cls
                assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
                with pytest.raises(AttributeError):
                    fast.data = data  # type: ignore[misc]  # still frozen


def _frames(seed: int) -> bytes:
    """Masked client frames: fragmented and whole, TEXT and BINARY, 7-bit and longer lengths, a ping."""
    rng = random.Random(seed)
    client = FrameProtocol(True, [])
    out = b""
    for _ in range(30):
        kind = rng.choice(["text", "bytes", "frag", "ping"])
        n = rng.choice([0, 1, 5, 125, 126, 300])
        if kind == "text":
            out += client.send_data("é" * (n // 2))
        elif kind == "bytes":
            out += client.send_data(rng.randbytes(n))
        elif kind == "ping":
            out += client.ping(rng.randbytes(min(n, 125)))
        else:
            out += client.send_data(rng.randbytes(n), False) + client.send_data(rng.randbytes(3), True)
    return out


def _state(decoder: FrameDecoder) -> tuple:
    return (decoder.header, decoder.effective_opcode, decoder.payload_required, decoder.payload_consumed,
            decoder._message_open, decoder.message_opcode, decoder._message_size, decoder._pending)


@pytest.mark.parametrize("seed", range(5))
def test_decoder_fast_path_leaves_the_same_state_as_the_general_path(seed: int) -> None:
    wire = _frames(seed)
    whole, trickled = FrameDecoder(False), FrameDecoder(False)
    whole.receive_bytes(wire)
    fast = []
    while (frame := whole.process_buffer()) is not None:
        assert frame.frame_finished
        fast.append((frame, _state(whole)))
    slow = []
    pieces: list = []
    for i in range(len(wire)):
        trickled.receive_bytes(wire[i : i + 1])
        while (frame := trickled.process_buffer()) is not None:
            pieces.append(frame)
            if frame.frame_finished:  # the frame, reassembled from its pieces
                joined = frame._replace(opcode=pieces[0].opcode, payload=b"".join(p.payload for p in pieces))
                slow.append((joined, _state(trickled)))
                pieces = []
    assert fast == slow


def test_events_generator_created_before_the_connection_is_lost() -> None:
    server = Connection(ConnectionType.SERVER)
    client = FrameProtocol(True, [])
    pending = server.events()
    server.receive_data(client.send_data("hi") + client.send_data(b"\x01"))
    server.receive_data(None)
    assert list(pending) == [TextMessage("hi"), BytesMessage(b"\x01"), CloseConnection(1006)]
    assert list(server.events()) == []
