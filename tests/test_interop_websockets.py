"""
Interop over real sockets on 127.0.0.1 with the `websockets` package
(its asyncio server and client), in both directions.

wsspec client  -> websockets server
websockets client -> wsspec server

Each run covers the opening handshake, text (ASCII and multi-byte UTF-8),
binary messages of 0, 125, 126, 65535, 65536 and 1 MiB bytes (the length
form boundaries), a fragmented message, ping/pong, and a closing handshake
started by either side with the code and reason reaching the other side.

With permessage-deflate (RFC 7692; websockets negotiates it by default), in
both directions and for each parameter websockets can offer or accept
(server_no_context_takeover, client_no_context_takeover, the two
max_window_bits), configured on either end: 1 MiB compressible and
incompressible messages, fragmented and empty messages, with both ends
agreeing on the parameters and the wire really compressed.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.extensions.permessage_deflate import PerMessageDeflate as WsPerMessageDeflate

from wsspec import ConnectionType, WSConnection
from wsspec.connection import ConnectionState
from wsspec.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsspec._generated.permessage_deflate import DEFAULT_COMPRESSOR_WINDOW_BITS
from wsspec.extensions import Extension, PerMessageDeflate

HOST = "127.0.0.1"
BINARY_SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
TEXTS = ["hello", "Grüße, κόσμε! 你好 🌍" * 50]
CLOSE_REASON = "bye — fin ✓"


class Peer:
    """A wsspec endpoint on asyncio streams: send events, await events."""

    def __init__(self, ws: WSConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.ws, self.reader, self.writer = ws, reader, writer
        self.pending: list[Event] = []
        self.bytes_received = 0

    async def send(self, event: Event) -> None:
        self.writer.write(self.ws.send(event))
        await self.writer.drain()

    async def next_event(self) -> Event:
        while not self.pending:
            self.pending.extend(self.ws.events())
            if self.pending:
                break
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            self.bytes_received += len(data)
            self.ws.receive_data(data or None)
        return self.pending.pop(0)

    async def next_message(self) -> str | bytes:
        parts = []
        while True:
            event = await self.next_event()
            if isinstance(event, Ping):
                await self.send(event.response())
                continue
            assert isinstance(event, (TextMessage, BytesMessage)), event
            parts.append(event.data)
            if event.message_finished:
                return "".join(parts) if isinstance(event, TextMessage) else b"".join(map(bytes, parts))


# --- wsspec client -> websockets server ----------------------------------

async def _run_client_session(close_by_client: bool) -> dict:
    seen: dict = {}

    async def handler(conn):
        try:
            async for message in conn:
                if message == "server: close now":
                    await conn.close(4001, CLOSE_REASON)
                    break
                await conn.send(message)
        except ConnectionClosed:
            pass
        seen["close_code"] = conn.close_code
        seen["close_reason"] = conn.close_reason

    async with serve(handler, HOST, 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(HOST, port)
        peer = Peer(WSConnection(ConnectionType.CLIENT), reader, writer)
        await peer.send(Request(host=f"{HOST}:{port}", target="/interop"))
        accepted = await peer.next_event()
        assert isinstance(accepted, AcceptConnection)
        assert peer.ws.state is ConnectionState.OPEN

        for text in TEXTS:
            await peer.send(TextMessage(text))
            assert await peer.next_message() == text
        for size in BINARY_SIZES:
            payload = bytes(i % 251 for i in range(size))
            await peer.send(BytesMessage(payload))
            assert await peer.next_message() == payload

        await peer.send(TextMessage("frag", message_finished=False))
        await peer.send(TextMessage("mented—", message_finished=False))
        await peer.send(TextMessage("message"))
        assert await peer.next_message() == "fragmented—message"

        await peer.send(Ping(b"ping-payload"))
        pong = await peer.next_event()
        assert pong == Pong(b"ping-payload")

        if close_by_client:
            await peer.send(CloseConnection(code=4000, reason=CLOSE_REASON))
            assert peer.ws.state is ConnectionState.LOCAL_CLOSING
            reply = await peer.next_event()
            assert isinstance(reply, CloseConnection)
            seen["reply"] = reply
        else:
            await peer.send(TextMessage("server: close now"))
            close = await peer.next_event()
            assert isinstance(close, CloseConnection)
            seen["received"] = close
            assert peer.ws.state is ConnectionState.REMOTE_CLOSING
            await peer.send(close.response())
        assert peer.ws.state is ConnectionState.CLOSED
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if "close_code" in seen:
                break
            await asyncio.sleep(0.02)
    return seen


def test_wsspec_client_closes_websockets_server():
    seen = asyncio.run(_run_client_session(close_by_client=True))
    assert seen["close_code"] == 4000
    assert seen["close_reason"] == CLOSE_REASON
    assert seen["reply"].code == 4000 and seen["reply"].reason == CLOSE_REASON


def test_websockets_server_closes_wsspec_client():
    seen = asyncio.run(_run_client_session(close_by_client=False))
    assert seen["received"] == CloseConnection(code=4001, reason=CLOSE_REASON)
    assert seen["close_code"] == 4001
    assert seen["close_reason"] == CLOSE_REASON


def test_websockets_server_pings_wsspec_client():
    async def run():
        async def handler(conn):
            waiter = await conn.ping(b"are you there")
            await asyncio.wait_for(waiter, 5)
            await conn.send("pong received")
            await conn.wait_closed()

        async with serve(handler, HOST, 0) as server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection(HOST, port)
            peer = Peer(WSConnection(ConnectionType.CLIENT), reader, writer)
            await peer.send(Request(host=f"{HOST}:{port}", target="/"))
            assert isinstance(await peer.next_event(), AcceptConnection)
            ping = await peer.next_event()
            assert ping == Ping(b"are you there")
            await peer.send(ping.response())
            assert await peer.next_message() == "pong received"
            await peer.send(CloseConnection(1000))
            assert isinstance(await peer.next_event(), CloseConnection)
            writer.close()

    asyncio.run(run())


# --- websockets client -> wsspec server ----------------------------------

async def _serve_wsspec(log: dict, extensions: Callable[[], list[Extension]] = list):
    """Start a wsspec echo server; 'server: close now' makes it close with 4002.

    ``extensions`` makes the extensions each connection accepts; the server logs
    the last connection's Peer and extensions.
    """

    async def handle(reader, writer):
        peer = Peer(WSConnection(ConnectionType.SERVER), reader, writer)
        log["peer"] = peer
        try:
            request = await peer.next_event()
            assert isinstance(request, Request)
            log["request"] = request
            log["extensions"] = extensions()
            await peer.send(AcceptConnection(extensions=log["extensions"]))
            while True:
                event = await peer.next_event()
                if isinstance(event, Ping):
                    log.setdefault("pings", []).append(event.payload)
                    await peer.send(event.response())
                elif isinstance(event, Pong):
                    log.setdefault("pongs", []).append(event.payload)
                elif isinstance(event, CloseConnection):
                    log["close"] = event
                    if peer.ws.state is ConnectionState.REMOTE_CLOSING:
                        await peer.send(event.response())
                    break
                else:
                    peer.pending.insert(0, event)
                    message = await peer.next_message()
                    if message == "server: close now":
                        await peer.send(CloseConnection(code=4002, reason=CLOSE_REASON))
                    else:
                        await peer.send(TextMessage(message) if isinstance(message, str) else BytesMessage(message))
        finally:
            log["final_state"] = peer.ws.state
            writer.close()

    return await asyncio.start_server(handle, HOST, 0)


def _client_session(close_by_client: bool) -> dict:
    log: dict = {}

    async def run():
        server = await _serve_wsspec(log)
        port = server.sockets[0].getsockname()[1]
        async with server:
            async with connect(f"ws://{HOST}:{port}/echo?x=1", max_size=None) as conn:
                for text in TEXTS:
                    await conn.send(text)
                    assert await conn.recv() == text
                for size in BINARY_SIZES:
                    payload = bytes(i % 251 for i in range(size))
                    await conn.send(payload)
                    assert await conn.recv() == payload
                await conn.send(["frag", "mented—", "message"])  # one message, three frames
                assert await conn.recv() == "fragmented—message"
                waiter = await conn.ping(b"client-ping")
                latency = await asyncio.wait_for(waiter, 5)
                assert latency >= 0
                if close_by_client:
                    await conn.close(4003, CLOSE_REASON)
                else:
                    await conn.send("server: close now")
                    with pytest.raises(ConnectionClosed):
                        await conn.recv()
                log["client_close"] = (conn.close_code, conn.close_reason)
            for _ in range(100):
                if "final_state" in log:
                    break
                await asyncio.sleep(0.02)

    asyncio.run(run())
    return log


def test_websockets_client_closes_wsspec_server():
    log = _client_session(close_by_client=True)
    assert log["request"].target == "/echo?x=1"
    assert log["request"].host.startswith(HOST)
    assert log["pings"] == [b"client-ping"]
    assert log["close"] == CloseConnection(code=4003, reason=CLOSE_REASON)
    assert log["client_close"] == (4003, CLOSE_REASON)
    assert log["final_state"] is ConnectionState.CLOSED


def test_wsspec_server_closes_websockets_client():
    log = _client_session(close_by_client=False)
    assert log["client_close"] == (4002, CLOSE_REASON)
    assert log["close"].code == 4002 and log["close"].reason == CLOSE_REASON
    assert log["final_state"] is ConnectionState.CLOSED


def test_websockets_client_offers_deflate_and_wsspec_accepts():
    """websockets offers permessage-deflate by default (the same offer as a
    browser's); wsspec accepts it and messages flow compressed both ways."""
    log: dict = {}

    async def run():
        server = await _serve_wsspec(log, lambda: [PerMessageDeflate()])
        port = server.sockets[0].getsockname()[1]
        async with server:
            async with connect(f"ws://{HOST}:{port}/") as conn:
                # wsspec's server lowers its own window to 12 (RFC 7692 §7.1.2.1; DEFAULT_COMPRESSOR_WINDOW_BITS).
                assert conn.response.headers.get("Sec-WebSocket-Extensions") == \
                    "permessage-deflate; server_max_window_bits=12"
                (theirs,) = conn.protocol.extensions
                assert isinstance(theirs, WsPerMessageDeflate)
                before = log["peer"].bytes_received
                await conn.send("x" * 10000)
                assert await conn.recv() == "x" * 10000
                assert log["peer"].bytes_received - before < 100  # 10000 bytes arrived compressed

    asyncio.run(run())
    assert log["request"].extensions == ["permessage-deflate; client_max_window_bits"]
    (ours,) = log["extensions"]
    assert ours.enabled()
    assert log["peer"].ws.connection.extensions == [ours]


def _json_like(size: int) -> str:
    rng = random.Random(1)
    items = []
    length = 0
    i = 0
    while length < size:
        item = json.dumps({"id": i, "name": f"user{i}", "score": rng.randint(0, 999), "tags": ["a", "b"]})
        items.append(item)
        length += len(item) + 2
        i += 1
    return ("[" + ", ".join(items) + "]")[:size]


COMPRESSIBLE = _json_like(1 << 20)
INCOMPRESSIBLE = random.Random(2).randbytes(1 << 20)
FRAGMENTS = ["frag" * 1000, "mented—" * 1000, "message" * 1000]

# The parameters websockets can offer (client) or accept (server), each set on
# one end; the other end runs with defaults and agrees.
DEFLATE_COMBOS = {
    "defaults": {},
    "server_no_context_takeover": {"server_no_context_takeover": True},
    "client_no_context_takeover": {"client_no_context_takeover": True},
    "max_window_bits": {"server_max_window_bits": 10, "client_max_window_bits": 11},
}


def _agreed(combo: dict, wsspec_server: bool = False) -> dict:
    server_bits = combo.get("server_max_window_bits", 15)
    if wsspec_server:  # it answers with at most its default window, 12 (RFC 7692 §7.1.2.1)
        server_bits = min(server_bits, DEFAULT_COMPRESSOR_WINDOW_BITS)
    return {
        "server_no_context_takeover": combo.get("server_no_context_takeover", False),
        "client_no_context_takeover": combo.get("client_no_context_takeover", False),
        "server_max_window_bits": server_bits,
        "client_max_window_bits": combo.get("client_max_window_bits", 15),
    }


def _check_agreement(ours: PerMessageDeflate, theirs: WsPerMessageDeflate, combo: dict, theirs_is_client: bool):
    agreed = _agreed(combo, wsspec_server=theirs_is_client)
    assert ours.enabled()
    assert {name: getattr(ours, name) for name in agreed} == agreed
    local, remote = ("client", "server") if theirs_is_client else ("server", "client")
    assert theirs.local_no_context_takeover == agreed[f"{local}_no_context_takeover"]
    assert theirs.remote_no_context_takeover == agreed[f"{remote}_no_context_takeover"]
    assert theirs.local_max_window_bits == agreed[f"{local}_max_window_bits"]
    assert theirs.remote_max_window_bits == agreed[f"{remote}_max_window_bits"]


@pytest.mark.parametrize("configured_by", ["websockets", "wsspec"])
@pytest.mark.parametrize("combo", list(DEFLATE_COMBOS))
def test_deflate_websockets_client_to_wsspec_server(combo: str, configured_by: str):
    params = DEFLATE_COMBOS[combo]
    log: dict = {}
    factory = ClientPerMessageDeflateFactory(**(params if configured_by == "websockets" else {}))
    ours_kwargs = params if configured_by == "wsspec" else {}

    async def run():
        server = await _serve_wsspec(log, lambda: [PerMessageDeflate(**ours_kwargs)])
        port = server.sockets[0].getsockname()[1]
        async with server:
            async with connect(f"ws://{HOST}:{port}/", max_size=None, extensions=[factory],
                               compression=None) as conn:
                (theirs,) = conn.protocol.extensions
                (ours,) = log["extensions"]
                _check_agreement(ours, theirs, params, theirs_is_client=True)
                peer = log["peer"]
                for message in ("hello", "Grüße, κόσμε! 你好 🌍" * 50, COMPRESSIBLE, INCOMPRESSIBLE, "", b"",
                                COMPRESSIBLE):
                    before = peer.bytes_received
                    await conn.send(message)
                    assert await conn.recv() == message
                    received = peer.bytes_received - before
                    if message is COMPRESSIBLE:
                        assert received < len(COMPRESSIBLE) // 4, received
                    elif message is INCOMPRESSIBLE:
                        assert received < len(INCOMPRESSIBLE) * 1.01
                await conn.send(FRAGMENTS)  # one message, three frames
                assert await conn.recv() == "".join(FRAGMENTS)
                await conn.close(1000)
            for _ in range(100):
                if "final_state" in log:
                    break
                await asyncio.sleep(0.02)

    asyncio.run(run())
    assert log["close"] == CloseConnection(code=1000, reason="")
    assert log["final_state"] is ConnectionState.CLOSED


@pytest.mark.parametrize("configured_by", ["websockets", "wsspec"])
@pytest.mark.parametrize("combo", list(DEFLATE_COMBOS))
def test_deflate_wsspec_client_to_websockets_server(combo: str, configured_by: str):
    params = DEFLATE_COMBOS[combo]
    factory = ServerPerMessageDeflateFactory(**(params if configured_by == "websockets" else {}))
    ours = PerMessageDeflate(**(params if configured_by == "wsspec" else {}))
    seen: dict = {}

    async def handler(conn):
        seen["extensions"] = conn.protocol.extensions
        try:
            async for message in conn:
                await conn.send(message)
        except ConnectionClosed:
            pass

    async def run():
        async with serve(handler, HOST, 0, max_size=None, extensions=[factory], compression=None) as server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection(HOST, port)
            peer = Peer(WSConnection(ConnectionType.CLIENT), reader, writer)
            await peer.send(Request(host=f"{HOST}:{port}", target="/", extensions=[ours]))
            accepted = await peer.next_event()
            assert isinstance(accepted, AcceptConnection)
            assert accepted.extensions == [ours]
            (theirs,) = seen["extensions"]
            _check_agreement(ours, theirs, params, theirs_is_client=False)
            for message in ("hello", "Grüße, κόσμε! 你好 🌍" * 50, COMPRESSIBLE, INCOMPRESSIBLE, "", b"",
                            COMPRESSIBLE):
                before = peer.bytes_received
                await peer.send(TextMessage(message) if isinstance(message, str) else BytesMessage(message))
                assert await peer.next_message() == message
                received = peer.bytes_received - before
                if message is COMPRESSIBLE:
                    assert received < len(COMPRESSIBLE) // 4, received
            for i, part in enumerate(FRAGMENTS):
                await peer.send(TextMessage(part, message_finished=i == len(FRAGMENTS) - 1))
            assert await peer.next_message() == "".join(FRAGMENTS)
            await peer.send(CloseConnection(code=1000))
            assert isinstance(await peer.next_event(), CloseConnection)
            assert peer.ws.state is ConnectionState.CLOSED
            writer.close()
            await writer.wait_closed()

    asyncio.run(run())
