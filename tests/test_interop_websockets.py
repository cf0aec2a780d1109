"""
Interop over real sockets on 127.0.0.1 with the `websockets` package
(its asyncio server and client), in both directions.

wsspec client  -> websockets server
websockets client -> wsspec server

Each run covers the opening handshake, text (ASCII and multi-byte UTF-8),
binary messages of 0, 125, 126, 65535, 65536 and 1 MiB bytes (the length
form boundaries), a fragmented message, ping/pong, and a closing handshake
started by either side with the code and reason reaching the other side.
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

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

HOST = "127.0.0.1"
BINARY_SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
TEXTS = ["hello", "Grüße, κόσμε! 你好 🌍" * 50]
CLOSE_REASON = "bye — fin ✓"


class Peer:
    """A wsspec endpoint on asyncio streams: send events, await events."""

    def __init__(self, ws: WSConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.ws, self.reader, self.writer = ws, reader, writer
        self.pending: list[Event] = []

    async def send(self, event: Event) -> None:
        self.writer.write(self.ws.send(event))
        await self.writer.drain()

    async def next_event(self) -> Event:
        while not self.pending:
            self.pending.extend(self.ws.events())
            if self.pending:
                break
            data = await asyncio.wait_for(self.reader.read(65536), 10)
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

async def _serve_wsspec(log: dict):
    """Start a wsspec echo server; 'server: close now' makes it close with 4002."""

    async def handle(reader, writer):
        peer = Peer(WSConnection(ConnectionType.SERVER), reader, writer)
        try:
            request = await peer.next_event()
            assert isinstance(request, Request)
            log["request"] = request
            await peer.send(AcceptConnection())
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


def test_websockets_client_offers_deflate_and_wsspec_declines():
    """websockets offers permessage-deflate by default; until compression
    lands wsspec must decline it, and the connection must work uncompressed."""
    log: dict = {}

    async def run():
        server = await _serve_wsspec(log)
        port = server.sockets[0].getsockname()[1]
        async with server:
            async with connect(f"ws://{HOST}:{port}/") as conn:
                assert conn.response.headers.get("Sec-WebSocket-Extensions") is None
                await conn.send("x" * 10000)
                assert await conn.recv() == "x" * 10000

    asyncio.run(run())
    assert any(offer.startswith("permessage-deflate") for offer in log["request"].extensions)
