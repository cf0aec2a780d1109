"""
One adapter per library family, so the workloads can drive each library
through its own public API.

wsspec and wsproto share :class:`WsprotoFamily` (same API: ``WSConnection``,
events, ``PerMessageDeflate``); websockets' Sans-I/O layer
(``ClientProtocol`` / ``ServerProtocol``) has :class:`Websockets`.

The ``loop_*`` methods are the timed code. Each binds what it needs to
locals and then runs the library's public calls in a plain loop, the same
shape for every library, so no adapter overhead lands inside the loop.
They return the elapsed ``time.perf_counter()`` seconds.

Text is ``str`` in and ``str`` out for every library: wsspec and wsproto
encode and decode UTF-8 themselves; websockets' Sans-I/O layer works in
bytes, so its loops call ``str.encode`` before ``send_text`` and
``bytes.decode`` on received TEXT frames, as websockets' own asyncio and
threading layers do. Without that the comparison would charge the UTF-8
work to two libraries out of three.

Importing this module imports no WebSocket library: :func:`load_libraries`
does, after ``__main__`` had a chance to block the C speedups.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from time import perf_counter
from typing import Any

#: Modules that provide a compiled masking routine, in any library we run.
#: ``--no-speedups`` makes importing them fail, which is how each library
#: decides to use its pure-Python path (websockets: ``try: from .speedups
#: import apply_mask / except ImportError: from .utils import apply_mask``).
SPEEDUP_MODULES = (
    "websockets.speedups",
    "wsaccel",
    "wsaccel.xormask",
    "wsaccel.utf8validator",
    "wsspec._speedups",
    "wsspec.speedups",
)


class NotNegotiated(Exception):
    """permessage-deflate did not get negotiated by this library's handshake."""


def block_speedups() -> None:
    """Make every module of :data:`SPEEDUP_MODULES` fail to import.

    Must run before any WebSocket library is imported. Also sets
    ``WSSPEC_NO_SPEEDUPS=1``, wsspec's own switch. A ``None`` entry in
    ``sys.modules`` makes ``import`` raise ``ImportError``
    (``ModuleNotFoundError``), exactly what an interpreter without the
    compiled extension sees.
    """
    os.environ["WSSPEC_NO_SPEEDUPS"] = "1"  # wsspec.masking: pure Python, whatever is installed
    for name in SPEEDUP_MODULES:
        if name in sys.modules and sys.modules[name] is not None:
            msg = f"{name} is already imported; --no-speedups must run before the libraries are imported"
            raise RuntimeError(msg)
        sys.modules[name] = None  # type: ignore[assignment]


def _loaded_speedups() -> list[str]:
    return [name for name in SPEEDUP_MODULES if sys.modules.get(name) is not None]


def _qualified_name(func: Any) -> str:
    """``module.name`` of a compiled function, naming the module it was
    imported from (websockets' C extension calls itself "websocket.speedups")."""
    for module_name in SPEEDUP_MODULES:
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, func.__name__, None) is func:
            return f"{module_name}.{func.__name__}"
    return f"{getattr(func, '__module__', '?')}.{func.__name__}"


def _compiled_mask_functions(module: types.ModuleType) -> list[str]:
    """Compiled (builtin) callables named like a masking routine in ``module``'s globals."""
    found = []
    for name, value in vars(module).items():
        lowered = name.lower()
        if ("mask" in lowered or "xor" in lowered) and isinstance(
            value, (types.BuiltinFunctionType, types.BuiltinMethodType)
        ):
            found.append(_qualified_name(value))
    return found


class WsprotoFamily:
    """wsspec or wsproto: ``WSConnection`` and wsproto's event classes."""

    def __init__(self, name: str) -> None:
        self.name = name
        before = set(_loaded_speedups())
        pkg = importlib.import_module(name)
        self.pkg = pkg
        self.events = importlib.import_module(f"{name}.events")
        self.extensions = importlib.import_module(f"{name}.extensions")
        self.frame_protocol = importlib.import_module(f"{name}.frame_protocol")
        self.connection_mod = importlib.import_module(f"{name}.connection")
        self.speedups_imported = sorted(set(_loaded_speedups()) - before)
        self.version = getattr(pkg, "__version__", "?")
        self.WSConnection = pkg.WSConnection
        self.CLIENT = pkg.ConnectionType.CLIENT
        self.SERVER = pkg.ConnectionType.SERVER
        self.OPEN = self.connection_mod.ConnectionState.OPEN

    # -- descriptions ------------------------------------------------------

    def masking(self) -> str:
        if self.name == "wsspec":
            # wsspec says itself which build runs and which masking routine it uses.
            package = importlib.import_module("wsspec")
            masking = importlib.import_module("wsspec.masking")
            return f"{masking.BACKEND} ({package.BUILD} build)"
        compiled = _compiled_mask_functions(self.frame_protocol)
        if compiled:
            return "C: " + ", ".join(compiled)
        if self.speedups_imported:
            return "C module imported: " + ", ".join(self.speedups_imported)
        func = getattr(self.frame_protocol, "_mask", None)
        if func is not None:
            return f"pure Python ({func.__module__}.{func.__qualname__})"
        return f"pure Python ({self.name}.frame_protocol.XorMaskerSimple)"

    def deflate_unavailable(self) -> str | None:
        """Why permessage-deflate cannot be negotiated, or None if it may be."""
        pmd_cls = getattr(self.extensions, "PerMessageDeflate", None)
        if pmd_cls is None:
            return f"{self.name}.extensions has no PerMessageDeflate"
        if not pmd_cls().offer():
            return "PerMessageDeflate().offer() is falsy"
        return None

    # -- connections ---------------------------------------------------------

    def pair(self, deflate: bool = False, deflate_options: dict[str, Any] | None = None) -> tuple[Any, Any]:
        """A client and a server ``WSConnection``, OPEN, through the real handshake;
        ``deflate_options``: keywords for both ``PerMessageDeflate`` (wsspec's own, e.g. zlib_backend)."""
        ev = self.events
        client = self.WSConnection(self.CLIENT)
        server = self.WSConnection(self.SERVER)
        options = deflate_options or {}
        try:
            client_exts = [self.extensions.PerMessageDeflate(**options)] if deflate else []
            server_exts = [self.extensions.PerMessageDeflate(**options)] if deflate else []
        except TypeError as exc:  # e.g. a --baseline tree before the option existed
            raise NotNegotiated(f"PerMessageDeflate(**{options!r}): {exc}") from None
        server.receive_data(client.send(ev.Request(host="localhost", target="/", extensions=client_exts)))
        received = list(server.events())
        if len(received) != 1 or not isinstance(received[0], ev.Request):
            raise AssertionError(f"server did not receive one Request: {received!r}")
        client.receive_data(server.send(ev.AcceptConnection(extensions=server_exts)))
        received = list(client.events())
        if len(received) != 1 or not isinstance(received[0], ev.AcceptConnection):
            raise AssertionError(f"client did not receive one AcceptConnection: {received!r}")
        if client.state is not self.OPEN or server.state is not self.OPEN:
            raise AssertionError(f"not OPEN after the handshake: {client.state}, {server.state}")
        if deflate:
            if not (client_exts[0].enabled() and server_exts[0].enabled()):
                raise NotNegotiated("the handshake did not enable PerMessageDeflate on both ends")
        return client, server

    # -- single operations, for the correctness checks -----------------------

    def send_text(self, conn: Any, text: str) -> bytes:
        return conn.send(self.events.TextMessage(data=text))

    def send_bytes(self, conn: Any, data: bytes) -> bytes:
        return conn.send(self.events.BytesMessage(data=data))

    def receive(self, conn: Any, data: bytes) -> list[tuple[str, Any, bool]]:
        """``(kind, payload, message_finished)`` for every event ``data`` produces."""
        conn.receive_data(data)
        out = []
        for event in conn.events():
            if isinstance(event, self.events.TextMessage):
                out.append(("text", event.data, event.message_finished))
            elif isinstance(event, self.events.BytesMessage):
                out.append(("bytes", bytes(event.data), event.message_finished))
            else:
                out.append((type(event).__name__, event, True))
        return out

    # -- timed loops -----------------------------------------------------------

    def loop_receive(self, server: Any, chunk: bytes, n: int) -> float:
        receive_data = server.receive_data
        events = server.events
        t0 = perf_counter()
        for _ in range(n):
            receive_data(chunk)
            for _event in events():
                pass
        return perf_counter() - t0

    def loop_send_text(self, client: Any, text: str, n: int) -> float:
        send = client.send
        TextMessage = self.events.TextMessage
        t0 = perf_counter()
        for _ in range(n):
            send(TextMessage(data=text))
        return perf_counter() - t0

    def loop_roundtrip_bytes(self, client: Any, server: Any, payload: bytes, n: int) -> float:
        send = client.send
        receive_data = server.receive_data
        events = server.events
        BytesMessage = self.events.BytesMessage
        t0 = perf_counter()
        for _ in range(n):
            receive_data(send(BytesMessage(data=payload)))
            for _event in events():
                pass
        return perf_counter() - t0

    def loop_roundtrip_text(self, client: Any, server: Any, texts: list[str], n: int) -> float:
        send = client.send
        receive_data = server.receive_data
        events = server.events
        TextMessage = self.events.TextMessage
        count = len(texts)
        t0 = perf_counter()
        for i in range(n):
            receive_data(send(TextMessage(data=texts[i % count])))
            for _event in events():
                pass
        return perf_counter() - t0

    def loop_receive_each(self, server: Any, chunks: list[bytes], n: int) -> float:
        """One message per ``receive_data`` call, events drained after each."""
        receive_data = server.receive_data
        events = server.events
        t0 = perf_counter()
        for _ in range(n):
            for chunk in chunks:
                receive_data(chunk)
                for _event in events():
                    pass
        return perf_counter() - t0

    def loop_echo_each(self, server: Any, chunks: list[bytes], n: int) -> float:
        """As a server does it: one message per ``receive_data``, events
        drained, each received text sent back with its own ``send()``."""
        receive_data = server.receive_data
        events = server.events
        send = server.send
        TextMessage = self.events.TextMessage
        t0 = perf_counter()
        for _ in range(n):
            for chunk in chunks:
                receive_data(chunk)
                for event in events():
                    send(TextMessage(data=event.data))
        return perf_counter() - t0

    def loop_handshake(self, n: int) -> float:
        ev = self.events
        WSConnection, CLIENT, SERVER = self.WSConnection, self.CLIENT, self.SERVER
        Request, AcceptConnection = ev.Request, ev.AcceptConnection
        t0 = perf_counter()
        for _ in range(n):
            client = WSConnection(CLIENT)
            server = WSConnection(SERVER)
            server.receive_data(client.send(Request(host="localhost", target="/")))
            for _event in server.events():
                pass
            client.receive_data(server.send(AcceptConnection()))
            for _event in client.events():
                pass
        return perf_counter() - t0

    def loop_echo(self, client: Any, server: Any, messages: list[tuple[bytes, str]], n: int) -> float:
        client_send, client_receive, client_events = client.send, client.receive_data, client.events
        server_send, server_receive, server_events = server.send, server.receive_data, server.events
        BytesMessage, TextMessage = self.events.BytesMessage, self.events.TextMessage
        count = len(messages)
        t0 = perf_counter()
        for i in range(n):
            client_msg, server_msg = messages[i % count]
            server_receive(client_send(BytesMessage(data=client_msg)))
            for _event in server_events():
                pass
            client_receive(server_send(TextMessage(data=server_msg)))
            for _event in client_events():
                pass
        return perf_counter() - t0

    def loop_feed(self, server: Any, chunks: list[bytes], n: int) -> float:
        receive_data = server.receive_data
        events = server.events
        t0 = perf_counter()
        for _ in range(n):
            parts = []
            append = parts.append
            for chunk in chunks:
                receive_data(chunk)
                for event in events():
                    append(event.data)
        return perf_counter() - t0


class Websockets:
    """websockets' Sans-I/O layer: ``ClientProtocol`` / ``ServerProtocol``."""

    name = "websockets"

    def __init__(self) -> None:
        before = set(_loaded_speedups())
        import websockets
        import websockets.client
        import websockets.extensions.permessage_deflate as pmd
        import websockets.frames
        import websockets.protocol
        import websockets.server
        import websockets.uri

        self.speedups_imported = sorted(set(_loaded_speedups()) - before)
        self.version = websockets.__version__
        self.frames = websockets.frames
        self.ClientProtocol = websockets.client.ClientProtocol
        self.ServerProtocol = websockets.server.ServerProtocol
        self.OPEN = websockets.protocol.State.OPEN
        self.TEXT = websockets.frames.Opcode.TEXT
        self.BINARY = websockets.frames.Opcode.BINARY
        self.CONT = websockets.frames.Opcode.CONT
        self.ClientDeflate = pmd.ClientPerMessageDeflateFactory
        self.ServerDeflate = pmd.ServerPerMessageDeflateFactory
        self.uri = websockets.uri.parse_uri("ws://localhost/")

    def masking(self) -> str:
        apply_mask = self.frames.apply_mask
        if isinstance(apply_mask, (types.BuiltinFunctionType, types.BuiltinMethodType)):
            return f"C ({_qualified_name(apply_mask)})"
        return f"pure Python ({apply_mask.__module__}.apply_mask)"

    def deflate_unavailable(self) -> str | None:
        return None

    def pair(self, deflate: bool = False, deflate_options: dict[str, Any] | None = None) -> tuple[Any, Any]:
        """A ``ClientProtocol`` and a ``ServerProtocol``, OPEN, through the real handshake.

        ``max_size=None``: wsspec and wsproto have no message size limit, so
        websockets gets none either. Factories with default settings: 15-bit
        windows and zlib's default level and memLevel, as wsproto's defaults.
        """
        client = self.ClientProtocol(
            self.uri, extensions=[self.ClientDeflate()] if deflate else None, max_size=None,
        )
        server = self.ServerProtocol(
            extensions=[self.ServerDeflate()] if deflate else None, max_size=None,
        )
        client.send_request(client.connect())
        for data in client.data_to_send():
            server.receive_data(data)
        received = server.events_received()
        if len(received) != 1:
            raise AssertionError(f"server did not receive one request: {received!r}")
        server.send_response(server.accept(received[0]))
        for data in server.data_to_send():
            client.receive_data(data)
        received = client.events_received()
        if len(received) != 1 or client.handshake_exc is not None or server.handshake_exc is not None:
            raise AssertionError(f"handshake failed: {client.handshake_exc!r} {server.handshake_exc!r}")
        if client.state is not self.OPEN or server.state is not self.OPEN:
            raise AssertionError(f"not OPEN after the handshake: {client.state}, {server.state}")
        if deflate:
            for proto in (client, server):
                if [ext.name for ext in proto.extensions] != ["permessage-deflate"]:
                    raise NotNegotiated(f"negotiated extensions: {proto.extensions!r}")
                ext = proto.extensions[0]
                if (ext.local_max_window_bits, ext.remote_max_window_bits) != (15, 15):
                    raise AssertionError(f"unexpected window bits: {ext!r}")
        return client, server

    def send_text(self, conn: Any, text: str) -> bytes:
        conn.send_text(text.encode())
        return b"".join(conn.data_to_send())

    def send_bytes(self, conn: Any, data: bytes) -> bytes:
        conn.send_binary(data)
        return b"".join(conn.data_to_send())

    def receive(self, conn: Any, data: bytes) -> list[tuple[str, Any, bool]]:
        conn.receive_data(data)
        if conn.data_to_send():
            raise AssertionError("unexpected data to send after receiving data frames")
        out = []
        text = None
        for frame in conn.events_received():
            if frame.opcode is self.TEXT or (frame.opcode is self.CONT and text):
                text = True
                out.append(("text", bytes(frame.data).decode(), frame.fin))
            elif frame.opcode is self.BINARY or frame.opcode is self.CONT:
                text = False
                out.append(("bytes", bytes(frame.data), frame.fin))
            else:
                out.append((frame.opcode.name, frame, True))
        return out

    # -- timed loops -----------------------------------------------------------

    def loop_receive(self, server: Any, chunk: bytes, n: int) -> float:
        receive_data = server.receive_data
        events_received = server.events_received
        TEXT = self.TEXT
        t0 = perf_counter()
        for _ in range(n):
            receive_data(chunk)
            for frame in events_received():
                if frame.opcode is TEXT:
                    frame.data.decode()
        return perf_counter() - t0

    def loop_send_text(self, client: Any, text: str, n: int) -> float:
        send_text = client.send_text
        data_to_send = client.data_to_send
        t0 = perf_counter()
        for _ in range(n):
            send_text(text.encode())
            data_to_send()
        return perf_counter() - t0

    def loop_roundtrip_bytes(self, client: Any, server: Any, payload: bytes, n: int) -> float:
        send_binary = client.send_binary
        data_to_send = client.data_to_send
        receive_data = server.receive_data
        events_received = server.events_received
        TEXT = self.TEXT
        t0 = perf_counter()
        for _ in range(n):
            send_binary(payload)
            for data in data_to_send():
                receive_data(data)
            for frame in events_received():
                if frame.opcode is TEXT:
                    frame.data.decode()
        return perf_counter() - t0

    def loop_roundtrip_text(self, client: Any, server: Any, texts: list[str], n: int) -> float:
        send_text = client.send_text
        data_to_send = client.data_to_send
        receive_data = server.receive_data
        events_received = server.events_received
        TEXT = self.TEXT
        count = len(texts)
        t0 = perf_counter()
        for i in range(n):
            send_text(texts[i % count].encode())
            for data in data_to_send():
                receive_data(data)
            for frame in events_received():
                if frame.opcode is TEXT:
                    frame.data.decode()
        return perf_counter() - t0

    def loop_receive_each(self, server: Any, chunks: list[bytes], n: int) -> float:
        receive_data = server.receive_data
        events_received = server.events_received
        TEXT = self.TEXT
        t0 = perf_counter()
        for _ in range(n):
            for chunk in chunks:
                receive_data(chunk)
                for frame in events_received():
                    if frame.opcode is TEXT:
                        frame.data.decode()
        return perf_counter() - t0

    def loop_echo_each(self, server: Any, chunks: list[bytes], n: int) -> float:
        receive_data = server.receive_data
        events_received = server.events_received
        send_text = server.send_text
        data_to_send = server.data_to_send
        TEXT = self.TEXT
        t0 = perf_counter()
        for _ in range(n):
            for chunk in chunks:
                receive_data(chunk)
                for frame in events_received():
                    if frame.opcode is TEXT:
                        send_text(frame.data.decode().encode())
                        data_to_send()
        return perf_counter() - t0

    def loop_handshake(self, n: int) -> float:
        ClientProtocol, ServerProtocol, uri = self.ClientProtocol, self.ServerProtocol, self.uri
        t0 = perf_counter()
        for _ in range(n):
            client = ClientProtocol(uri, max_size=None)
            server = ServerProtocol(max_size=None)
            client.send_request(client.connect())
            for data in client.data_to_send():
                server.receive_data(data)
            for request in server.events_received():
                server.send_response(server.accept(request))
            for data in server.data_to_send():
                client.receive_data(data)
            for _event in client.events_received():
                pass
        return perf_counter() - t0

    def loop_echo(self, client: Any, server: Any, messages: list[tuple[bytes, str]], n: int) -> float:
        client_send, client_out = client.send_binary, client.data_to_send
        client_receive, client_events = client.receive_data, client.events_received
        server_send, server_out = server.send_text, server.data_to_send
        server_receive, server_events = server.receive_data, server.events_received
        TEXT = self.TEXT
        count = len(messages)
        t0 = perf_counter()
        for i in range(n):
            client_msg, server_msg = messages[i % count]
            client_send(client_msg)
            for data in client_out():
                server_receive(data)
            for frame in server_events():
                if frame.opcode is TEXT:
                    frame.data.decode()
            server_send(server_msg.encode())
            for data in server_out():
                client_receive(data)
            for frame in client_events():
                if frame.opcode is TEXT:
                    frame.data.decode()
        return perf_counter() - t0

    def loop_feed(self, server: Any, chunks: list[bytes], n: int) -> float:
        receive_data = server.receive_data
        events_received = server.events_received
        t0 = perf_counter()
        for _ in range(n):
            parts = []
            append = parts.append
            for chunk in chunks:
                receive_data(chunk)
                for frame in events_received():
                    append(frame.data)
        return perf_counter() - t0


class Unavailable:
    """A library that failed to import: every workload reports FAIL for it."""

    version = "?"

    def __init__(self, name: str, error: BaseException) -> None:
        self.name = name
        self.import_error = error

    def masking(self) -> str:
        return f"unavailable ({type(self.import_error).__name__}: {self.import_error})"

    def __getattr__(self, attr: str) -> Any:
        raise self.import_error


def load_libraries() -> list[Any]:
    """The three libraries, in table order. wsspec is imported first so the
    speedup modules it pulls in (if any) are attributed to it. A library
    that fails to import is reported, not fatal: its cells say FAIL."""
    out: list[Any] = []
    for name, factory in (
        ("wsspec", lambda: WsprotoFamily("wsspec")),
        ("wsproto", lambda: WsprotoFamily("wsproto")),
        ("websockets", Websockets),
    ):
        try:
            out.append(factory())
        except Exception as exc:  # noqa: BLE001 - reported in the table
            out.append(Unavailable(name, exc))
    return out
