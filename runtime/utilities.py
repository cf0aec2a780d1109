"""
wsspec.utilities
~~~~~~~~~~~~~~~~

Exceptions and small helpers shared by the handshake and the connection.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import TYPE_CHECKING

from ._generated.handshake import ACCEPT_GUID, NONCE_BYTES

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    from .events import Event

__all__ = [
    "ProtocolError",
    "LocalProtocolError",
    "InvalidEventError",
    "InvalidEventTypeError",
    "RemoteProtocolError",
    "normed_header_dict",
    "split_comma_header",
    "generate_nonce",
    "generate_accept_token",
]


class ProtocolError(Exception):
    """Base class of the errors wsspec raises for protocol violations."""


class LocalProtocolError(ProtocolError):
    """
    The caller asked for something the protocol or the current state forbids.

    Raised by ``send()`` (an event that may not be sent in the current
    ``ConnectionState``, a close code that may not go on the wire, ...) and by
    ``receive_data()`` after the connection is closed. The message names what
    was wrong and the state it happened in.
    """


class InvalidEventError(LocalProtocolError, ValueError):
    """
    An event whose content cannot be sent (e.g. a Ping payload over 125
    bytes). Also a ``ValueError``, which wsproto raises for the same misuse.
    """


class InvalidEventTypeError(LocalProtocolError, TypeError):
    """
    An event field of the wrong type (e.g. ``TextMessage(data=None)``, or
    bytes in the middle of a text message). Also a ``TypeError``, which
    wsproto raises for the same misuse.
    """


class RemoteProtocolError(ProtocolError):
    """
    The peer sent bytes that break the protocol (RFC 6455 §4, the handshake).

    .. attribute:: event_hint

       An event the caller may send in reply (for a server, usually a
       ``RejectConnection`` with a suitable status code), or ``None``.
    """

    def __init__(self, message: str, event_hint: Event | None = None) -> None:
        self.event_hint = event_hint
        super().__init__(message)


def normed_header_dict(h11_headers: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """
    Fold ``(name, value)`` header pairs into a dict, joining repeated names
    with ``b", "`` (RFC 9110 §5.3). Names are used as given (h11 gives them
    lowercased). ``Set-Cookie`` would be mangled, which no WebSocket header is.
    """
    folded: dict[bytes, bytes] = {}
    for name, value in h11_headers:
        previous = folded.get(name)
        folded[name] = value if previous is None else previous + b", " + value
    return folded


def split_comma_header(value: bytes) -> list[str]:
    """
    Split a comma-separated header value (``1#token``) into stripped ASCII
    strings, e.g. ``b"chat, superchat"`` -> ``["chat", "superchat"]``.

    Raises ``UnicodeDecodeError`` for non-ASCII input; the handshake turns
    that into a ``RemoteProtocolError``.
    """
    return [piece.decode("ascii").strip() for piece in value.split(b",")]


def generate_nonce() -> bytes:
    """
    A fresh ``Sec-WebSocket-Key``: 16 random bytes, base64-encoded (24 ASCII
    bytes). RFC 6455 §4.1.
    """
    return base64.b64encode(os.urandom(NONCE_BYTES))


def generate_accept_token(token: bytes) -> bytes:
    """
    The ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key`` (both
    ``bytes``): base64(SHA-1(key + GUID)). RFC 6455 §4.2.2.
    """
    return base64.b64encode(hashlib.sha1(token + ACCEPT_GUID).digest())


def hand_out(queued: list[Event], give_back: Callable[[list[Event]], None]) -> Generator[Event, None, None]:
    """
    Yield the events of ``queued`` oldest first, by index (``pop(0)`` would be
    quadratic in a long queue, and a deque is 10x the size of a list on an
    idle connection); what the caller leaves unread goes back through
    ``give_back``, so it stays queued for the next ``events()``.
    """
    index = 0
    try:
        while index < len(queued):
            index += 1
            yield queued[index - 1]
    finally:
        if index < len(queued):
            give_back(queued[index:])
