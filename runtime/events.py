"""
wsspec.events
~~~~~~~~~~~~~

The events a connection produces from received bytes and turns into bytes
to send. Same classes, fields, field order, defaults, immutability and
equality as wsproto's events, so code written for wsproto works unchanged.

Events are frozen dataclasses: construct them by keyword or by position in
the documented field order; two events are equal when they are of the same
class and all fields are equal.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar, Union

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .extensions import Extension
    from .typing import Headers

__all__ = [
    "Event",
    "Request",
    "AcceptConnection",
    "RejectConnection",
    "RejectData",
    "CloseConnection",
    "Message",
    "TextMessage",
    "BytesMessage",
    "Ping",
    "Pong",
]


class Event(ABC):
    """Base class of all wsspec events."""


@dataclass(frozen=True)
class Request(Event):
    """
    The HTTP Upgrade request that opens a WebSocket connection (RFC 6455 §4.1).

    Received by a SERVER when a client's handshake request has been parsed;
    sent by a CLIENT to start the handshake.

    Fields:

    - ``host`` (str, required): the ``Host`` header value.
    - ``target`` (str, required): the request target (path and query string).
    - ``extensions``: when received, the offered extensions as ``str`` (one per
      offer, parameters included); when sent, ``Extension`` objects to offer.
    - ``extra_headers`` (:class:`~wsspec.typing.Headers`): the other request
      headers, names lowercased, without ``Host``, ``Sec-WebSocket-Extensions``
      and ``Sec-WebSocket-Protocol``.
    - ``subprotocols`` (list of str): the offered subprotocols, in order.
    """

    host: str
    target: str
    extensions: Union[Sequence[Extension], Sequence[str]] = field(default_factory=list)
    extra_headers: Headers = field(default_factory=list)
    subprotocols: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AcceptConnection(Event):
    """
    Acceptance of the upgrade: the ``101 Switching Protocols`` response (RFC 6455 §4.2.2).

    Sent by a SERVER to accept a :class:`Request`; received by a CLIENT when
    the server accepted. After it the connection is ``OPEN``.

    Fields:

    - ``subprotocol`` (str or None): the chosen subprotocol, one the client offered.
    - ``extensions`` (list of ``Extension``): the extensions in use.
    - ``extra_headers`` (:class:`~wsspec.typing.Headers`): other response headers.
    """

    subprotocol: str | None = None
    extensions: list[Extension] = field(default_factory=list)
    extra_headers: Headers = field(default_factory=list)


@dataclass(frozen=True)
class RejectConnection(Event):
    """
    Rejection of the upgrade: any HTTP response other than 101 (RFC 6455 §4.2.2).

    Sent by a SERVER; received by a CLIENT. To send a body, set ``has_body``
    and the ``Content-Length`` or ``Transfer-Encoding`` header, then send one or
    more :class:`RejectData` events. A received rejection almost always has
    ``has_body == True`` and is followed by at least one :class:`RejectData`
    (possibly ``b""``); only an informational (1xx, not 101) response arrives
    with ``has_body == False``.

    Fields:

    - ``status_code`` (int): the HTTP status code, default 400.
    - ``headers`` (:class:`~wsspec.typing.Headers`): the response headers.
    - ``has_body`` (bool): whether :class:`RejectData` events follow.
    """

    status_code: int = 400
    headers: Headers = field(default_factory=list)
    has_body: bool = False


@dataclass(frozen=True)
class RejectData(Event):
    """
    A chunk of the body of a rejection response.

    Fields:

    - ``data`` (bytes, required): the chunk.
    - ``body_finished`` (bool): True on the last chunk; the connection is then ``CLOSED``.
    """

    data: bytes
    body_finished: bool = True


@dataclass(frozen=True)
class CloseConnection(Event):
    """
    A Close frame (RFC 6455 §5.5.1, §7), or the end of the connection.

    Received when the peer sends Close, when the peer broke the protocol (the
    code then says why: 1002, 1007, ...), or with code 1006 when the transport
    closed without a Close frame (``receive_data(None)``).

    **wsspec does not answer a Close by itself.** If the connection state is
    ``REMOTE_CLOSING`` after this event, you owe the peer a Close: send
    :meth:`response`, then close the transport.

    Fields:

    - ``code`` (int, required): the close code (a ``CloseReason`` member when registered).
    - ``reason`` (str or None): the close reason, at most 123 bytes once UTF-8 encoded.
    """

    code: int
    reason: str | None = None

    def response(self) -> CloseConnection:
        """The Close to send back to the peer: same code and reason (RFC 6455 §5.5.1)."""
        return CloseConnection(code=self.code, reason=self.reason)


T = TypeVar("T", Union[bytes, bytearray], str)


@dataclass(frozen=True, init=False)
class Message(Event, Generic[T]):
    """
    Data of a WebSocket message, possibly one chunk of it (RFC 6455 §5.6).

    Fields:

    - ``data`` (str for text, bytes/bytearray for binary, required): this chunk.
      A message may arrive in several chunks; buffer them until
      ``message_finished``.
    - ``frame_finished`` (bool): True when this chunk ends a frame (informational).
    - ``message_finished`` (bool): True when this chunk ends the message.

    When sending, ``message_finished=False`` sends a fragment and the next
    ``Message`` of the same kind continues the message.
    """

    data: T
    frame_finished: bool = True
    message_finished: bool = True

    def __init__(self, data: T, frame_finished: bool = True, message_finished: bool = True) -> None:
        # What the frozen dataclass's generated __init__ does (same fields,
        # order and defaults), writing the instance dict instead of calling
        # object.__setattr__ once per field: a message is created per send.
        fields: dict[str, object] = self.__dict__  # pyright: ignore[reportAssignmentType]
        fields["data"] = data
        fields["frame_finished"] = frame_finished
        fields["message_finished"] = message_finished


@dataclass(frozen=True, init=False)
class TextMessage(Message[str]):
    """A chunk of a text message: ``data`` is a ``str`` (validated UTF-8, RFC 6455 §5.6)."""


@dataclass(frozen=True, init=False)
class BytesMessage(Message[Union[bytearray, bytes]]):
    """A chunk of a binary message: ``data`` is ``bytes`` or ``bytearray``."""


@dataclass(frozen=True)
class Ping(Event):
    """
    A Ping control frame (RFC 6455 §5.5.2), sent or received.

    **wsspec does not answer a Ping by itself.** Send :meth:`response` (a
    :class:`Pong` with the same payload) as soon as practical.

    Fields:

    - ``payload`` (bytes): application data, at most 125 bytes.
    """

    payload: bytes = b""

    def response(self) -> Pong:
        """The :class:`Pong` that answers this ping, echoing its payload (RFC 6455 §5.5.3)."""
        return Pong(payload=self.payload)


@dataclass(frozen=True)
class Pong(Event):
    """
    A Pong control frame (RFC 6455 §5.5.3), sent or received.

    Fields:

    - ``payload`` (bytes): application data, at most 125 bytes.
    """

    payload: bytes = b""
