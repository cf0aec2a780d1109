"""
wsspec is a drop-in for wsproto: the same public names module for module,
the same event fields in the same order with the same defaults, the same
enum values, immutability and equality. wsproto 1.3.2 is the reference.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest
import wsproto

import wsspec

MODULES = ["", ".connection", ".events", ".extensions", ".frame_protocol", ".handshake", ".utilities", ".typing"]


def public_names(module) -> set[str]:
    names = set(getattr(module, "__all__", ()))
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        # Names defined in the module itself, not what it imported for its own use.
        if getattr(value, "__module__", module.__name__) == module.__name__ or name.isupper():
            names.add(name)
    return names


@pytest.mark.parametrize("suffix", MODULES)
def test_every_public_wsproto_name_exists(suffix: str) -> None:
    theirs = importlib.import_module("wsproto" + suffix)
    ours = importlib.import_module("wsspec" + suffix)
    missing = sorted(name for name in public_names(theirs) if not hasattr(ours, name))
    assert missing == []


def test_import_wsspec_loads_submodules() -> None:
    for suffix in MODULES[1:]:
        assert hasattr(wsspec, suffix[1:]), suffix
    assert wsspec.events.Ping(b"x").response() == wsspec.events.Pong(b"x")


EVENT_CLASSES = ["Request", "AcceptConnection", "RejectConnection", "RejectData", "CloseConnection",
                 "Message", "TextMessage", "BytesMessage", "Ping", "Pong"]


def _field_shape(cls):
    shape = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "<required>")
        shape.append((f.name, default))
    return shape


@pytest.mark.parametrize("name", EVENT_CLASSES)
def test_event_fields_order_and_defaults(name: str) -> None:
    theirs = getattr(wsproto.events, name)
    ours = getattr(wsspec.events, name)
    assert _field_shape(ours) == _field_shape(theirs)
    assert issubclass(ours, wsspec.events.Event)
    assert ours.__dataclass_params__.frozen


def test_events_positional_construction_equality_and_immutability() -> None:
    from wsspec.events import BytesMessage, CloseConnection, Request, TextMessage

    assert Request("host", "/t") == Request(host="host", target="/t")
    assert TextMessage("x", False, True) == TextMessage(data="x", frame_finished=False, message_finished=True)
    assert TextMessage("x") != BytesMessage(b"x")
    assert CloseConnection(1000, "r").response() == CloseConnection(1000, "r")
    with pytest.raises(dataclasses.FrozenInstanceError):
        TextMessage("x").data = "y"  # type: ignore[misc]
    assert repr(TextMessage("x")) == "TextMessage(data='x', frame_finished=True, message_finished=True)"


@pytest.mark.parametrize("enum_name, module", [
    ("Opcode", "frame_protocol"), ("CloseReason", "frame_protocol"),
    ("ConnectionState", "connection"), ("ConnectionType", "connection"),
])
def test_enums_match(enum_name: str, module: str) -> None:
    theirs = getattr(importlib.import_module(f"wsproto.{module}"), enum_name)
    ours = getattr(importlib.import_module(f"wsspec.{module}"), enum_name)
    assert [(m.name, m.value) for m in ours] == [(m.name, m.value) for m in theirs]
    assert type(ours).__mro__[1:] == type(theirs).__mro__[1:] or issubclass(ours, theirs.__mro__[1])


def test_module_level_names() -> None:
    from wsspec import connection, handshake

    assert handshake.WEBSOCKET_VERSION == wsproto.handshake.WEBSOCKET_VERSION == b"13"
    assert connection.CLIENT is connection.ConnectionType.CLIENT
    assert connection.SERVER is connection.ConnectionType.SERVER
    assert callable(handshake.server_extensions_handshake)
    assert callable(handshake.client_extensions_handshake)
    err = wsspec.utilities.RemoteProtocolError("bad", event_hint=wsspec.events.RejectConnection())
    assert err.event_hint == wsspec.events.RejectConnection() and str(err) == "bad"
    assert issubclass(wsspec.utilities.LocalProtocolError, wsspec.utilities.ProtocolError)


def test_utilities_match_wsproto() -> None:
    from wsspec import utilities as ours

    theirs = wsproto.utilities
    key = b"dGhlIHNhbXBsZSBub25jZQ=="
    assert ours.generate_accept_token(key) == theirs.generate_accept_token(key) == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert len(ours.generate_nonce()) == 24 and ours.generate_nonce() != ours.generate_nonce()
    headers = [(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]
    assert ours.normed_header_dict(headers) == theirs.normed_header_dict(headers)
    assert ours.split_comma_header(b"chat, superchat ,x") == theirs.split_comma_header(b"chat, superchat ,x")


def _script(lib, client_first: bool):
    """Drive a client/server pair of `lib` through a session; return what each side saw."""
    Conn, CT = lib.WSConnection, lib.ConnectionType
    ev = lib.events
    client, server = Conn(CT.CLIENT), Conn(CT.SERVER)
    seen = []
    server.receive_data(client.send(ev.Request(host="h", target="/p", subprotocols=["a", "b"],
                                               extra_headers=[(b"X-Custom", b"1")])))
    req = next(server.events())
    seen.append(("request", req.host, req.target, req.subprotocols, sorted(req.extra_headers)[:0], req.extensions))
    seen.append(("extra", [h for h in req.extra_headers if h[0] != b"sec-websocket-key"]))
    client.receive_data(server.send(ev.AcceptConnection(subprotocol="b")))
    seen.append(("accept", next(client.events())))
    for msg in (ev.TextMessage("héllo"), ev.BytesMessage(b"\x00" * 300), ev.Ping(b"1"), ev.Pong(b"2"),
                ev.TextMessage("part", message_finished=False), ev.TextMessage("end")):
        server.receive_data(client.send(msg))
        seen.extend(("server got", type(e).__name__, e) for e in server.events())
    closer, other = (client, server) if client_first else (server, client)
    other.receive_data(closer.send(ev.CloseConnection(code=1001, reason="going")))
    seen.extend(("close", e, other.state.name) for e in other.events())
    closer.receive_data(other.send(ev.CloseConnection(code=1001, reason="going")))
    seen.extend(("close back", e, closer.state.name) for e in closer.events())
    seen.append(("states", client.state.name, server.state.name))
    return seen


@pytest.mark.parametrize("client_first", [True, False])
def test_same_session_same_events_as_wsproto(client_first: bool) -> None:
    ours, theirs = _script(wsspec, client_first), _script(wsproto, client_first)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert repr(a).replace("wsspec", "wsproto") == repr(b), (a, b)
