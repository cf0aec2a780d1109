"""
wsspec.connection
~~~~~~~~~~~~~~~~~

A WebSocket connection after the opening handshake (RFC 6455 §5-§7).

Every state change is looked up in the transition table generated from
``spec/connection.yaml`` (``wsspec._generated.connection.TRANSITIONS``); this
module only turns events into frames and frames into events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ._generated.close_codes import SEND_AS, CloseReason
from . import events as _events_module
from ._generated.connection import (
    CONNECTION_LOST,
    PARSE_STATES,
    PROTOCOL_ERROR,
    RECEIVE_BYTES,
    RECEIVE_INPUTS,
    RECEIVE_MESSAGE,
    SEND_CLOSE,
    SEND_INPUTS,
    SEND_MESSAGE,
    SEND_PING,
    SEND_PONG,
    TRANSITIONS,
    TRANSITIONS_BY_INPUT,
    ConnectionInput,
    ConnectionState,
    ConnectionType,
    ReceiveAction,
)
from ._generated.framing import DEFAULT_MAX_MESSAGE_SIZE
from ._generated.opcodes import Opcode
from .events import (
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    TextMessage,
)
from .frame_protocol import FrameProtocol, ParseFailed
from .utilities import InvalidEventError, InvalidEventTypeError, LocalProtocolError, hand_out

if TYPE_CHECKING:
    from collections.abc import Generator

    from .extensions import Extension

__all__ = ["Connection", "ConnectionState", "ConnectionType", "CLIENT", "SERVER"]

CLIENT = ConnectionType.CLIENT
SERVER = ConnectionType.SERVER

# The spec input each sendable event class stands for (spec/connection.yaml
# names the classes: SEND_INPUTS), and each received opcode's transitions.
_SEND_INPUTS: dict[type, ConnectionInput] = {
    getattr(_events_module, name): input_ for name, input_ in SEND_INPUTS.items()
}
_RECEIVE_TRANSITIONS: dict[Opcode, dict[ConnectionState, ConnectionState]] = {
    opcode: TRANSITIONS_BY_INPUT[input_] for opcode, input_ in RECEIVE_INPUTS.items()
}
_ON_RECEIVE_MESSAGE = TRANSITIONS_BY_INPUT[RECEIVE_MESSAGE]
# Members as module globals (on Python 3.11 Opcode.X and ConnectionState.X
# go through EnumType.__getattr__, about 800 instructions each).
_TEXT = Opcode.TEXT
_BINARY = Opcode.BINARY
_PING = Opcode.PING
_PONG = Opcode.PONG
_OPEN = ConnectionState.OPEN
_new_object = object.__new__


def _new_message(
    cls: type[Message[Any]], data: object, frame_finished: bool, message_finished: bool
) -> Message[Any]:
    """``cls(data, frame_finished, message_finished)`` for a received chunk,
    without the frozen dataclass's per-field ``object.__setattr__`` calls
    (the same instance, in half the time: no field has a default factory or
    ``__post_init__``)."""
    event: Message[Any] = _new_object(cls)
    # Pyright types a dataclass instance's __dict__ as its class's mappingproxy (mypy: dict).
    fields: dict[str, Any] = event.__dict__  # pyright: ignore[reportAssignmentType]
    fields["data"] = data
    fields["frame_finished"] = frame_finished
    fields["message_finished"] = message_finished
    return event


def check_size_limit(name: str, value: object) -> int | None:
    """``value`` if it is a valid size limit (``None`` or an int >= 0, bytes).

    :raises LocalProtocolError: anything else, naming the option.
    """
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    msg = f"{name} must be None (no limit) or an int >= 0 (bytes), got {value!r}"
    raise LocalProtocolError(msg)


def _send_input(event: Event) -> ConnectionInput | None:
    kind = _SEND_INPUTS.get(type(event))
    if kind is None:
        for cls, name in _SEND_INPUTS.items():
            if isinstance(event, cls):
                return name
    return kind


class Connection:
    """
    A low-level WebSocket connection, once the opening handshake is done.

    Feed it the bytes the peer sent with :meth:`receive_data`, collect the
    resulting events from :meth:`events`, and turn your own events into
    bytes for the peer with :meth:`send`. It does no I/O.

    :param connection_type: ``ConnectionType.CLIENT`` (masks outgoing frames)
        or ``ConnectionType.SERVER``.
    :param extensions: negotiated extensions (e.g. ``PerMessageDeflate``), as
        returned by the handshake; ``None`` for none.
    :param trailing_data: bytes the peer sent after the handshake that the
        handshake already read; they are parsed at once.
    :param max_message_size: keyword-only; the most bytes a received data
        message may carry (after permessage-deflate inflation), or ``None``
        for no limit. Default 16 MiB (``DEFAULT_MAX_MESSAGE_SIZE``, the
        default of uvicorn and hypercorn). A frame header announcing more
        than is left of it fails before any payload is buffered; inflated
        output fails at the first byte over, and inflation never allocates
        past it.
    :param max_frame_size: keyword-only; the most payload bytes one received
        frame may announce, or ``None`` (the default: every data frame is
        already bounded by ``max_message_size``, control frames by 125).
    :raises LocalProtocolError: a limit that is not ``None`` or an int >= 0.

    Over a limit, :meth:`events` yields ``CloseConnection(1009, reason)``,
    the state becomes ``REMOTE_CLOSING``, and the 1009 Close frame for the
    peer is queued: :meth:`data_to_send` returns it (RFC 6455 §7.1.7).
    Every other protocol error of the peer ends the same way with its own
    code (1002, 1007).
    """

    def __init__(
        self,
        connection_type: ConnectionType,
        extensions: list[Extension] | None = None,
        trailing_data: bytes = b"",
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
    ) -> None:
        self.client = connection_type is CLIENT
        self._max_message_size = check_size_limit("max_message_size", max_message_size)
        self._max_frame_size = check_size_limit("max_frame_size", max_frame_size)
        self._extensions = list(extensions or [])
        self._events: list[Event] = []  # oldest first (a list is 10x smaller than a deque)
        self._proto = FrameProtocol(
            self.client, self._extensions, max_message_size=max_message_size, max_frame_size=max_frame_size
        )
        self._state = _OPEN
        # Why the connection is closing (for error messages), and the Close
        # frame owed to the peer after its protocol error (data_to_send()).
        self._closing_because: str | None = None
        self._queued_close = b""
        self.receive_data(trailing_data)

    @property
    def state(self) -> ConnectionState:
        """The current :class:`ConnectionState` (``OPEN`` until a Close is sent or received)."""
        return self._state

    @property
    def extensions(self) -> list[Extension]:
        """The extensions in use on this connection (possibly empty)."""
        return self._extensions

    @property
    def max_message_size(self) -> int | None:
        """The limit on a received message, in bytes (``None``: no limit)."""
        return self._max_message_size

    @property
    def max_frame_size(self) -> int | None:
        """The limit on a received frame's payload, in bytes (``None``: no limit)."""
        return self._max_frame_size

    def data_to_send(self) -> bytes:
        """
        Bytes the connection queued for the peer on its own, once: the Close
        frame owed after the peer broke the protocol or a size limit (code
        1002, 1007 or 1009, with the same reason as the ``CloseConnection``
        event). Handing it out completes our side of the closing handshake:
        the state becomes ``CLOSED``, and the transport should be closed
        (RFC 6455 §7.1.7). ``b""`` if nothing is queued.

        Sending the event's ``response()`` with :meth:`send` instead (as
        wsproto applications do) sends that Close and drops the queued one;
        either way exactly one Close goes out.
        """
        data = self._queued_close
        if data:
            self._queued_close = b""
            self._state = TRANSITIONS[(self._state, SEND_CLOSE)]
        return data

    def send(self, event: Event) -> bytes:
        """
        Serialise ``event`` into the bytes to write to the peer.

        :param event: a :class:`~wsspec.events.Message` (``TextMessage`` data
            is ``str``, ``BytesMessage`` data is ``bytes``), ``Ping``, ``Pong`` or
            ``CloseConnection``.
        :returns: ``bytes`` to send; client frames are masked (RFC 6455 §5.3).
        :raises LocalProtocolError: the event may not be sent in the current
            state (e.g. data after a Close), or it is not a connection event,
            or its content is invalid (a control payload over 125 bytes, a
            message of the other type in the middle of a fragmented message).
        """
        state = self._state
        kind = _SEND_INPUTS.get(type(event)) or _send_input(event)
        next_state = TRANSITIONS_BY_INPUT[kind].get(state) if kind is not None else None
        if next_state is None:
            msg = f"Event {event} cannot be sent in state {state}"
            if self._closing_because is not None:
                done = "closed" if state is ConnectionState.CLOSED else "closing"
                msg += f": the connection is {done} because {self._closing_because}"
                if self._queued_close:
                    msg += "; send the queued Close (data_to_send()) and close the transport"
            raise LocalProtocolError(msg + ".")
        proto = self._proto
        try:
            # `kind` says which event class `event` is (_SEND_INPUTS); the
            # checker is told so without a cast() call on the hot path.
            if kind is SEND_MESSAGE:
                if TYPE_CHECKING:
                    assert isinstance(event, Message)
                data = proto.send_data(event.data, event.message_finished)
            elif kind is SEND_PING:
                if TYPE_CHECKING:
                    assert isinstance(event, Ping)
                data = proto.ping(event.payload)
            elif kind is SEND_PONG:
                if TYPE_CHECKING:
                    assert isinstance(event, Pong)
                data = proto.pong(event.payload)
            else:
                if TYPE_CHECKING:
                    assert isinstance(event, CloseConnection)
                data = proto.close(event.code, event.reason)
        except (ValueError, TypeError, LocalProtocolError) as exc:
            if isinstance(exc, LocalProtocolError):
                error: type[LocalProtocolError] = type(exc)
            else:
                error = InvalidEventTypeError if isinstance(exc, TypeError) else InvalidEventError
            msg = f"Cannot send {type(event).__name__} in state {state.name}: {exc}"
            raise error(msg) from exc
        if kind is SEND_CLOSE:
            self._queued_close = b""  # this Close replaces the queued one
            if self._closing_because is None:
                code = cast(CloseConnection, event).code
                sent = SEND_AS.get(code, code) if isinstance(code, int) else code
                self._closing_because = (
                    f"we sent Close ({code})" if sent == code else f"we sent Close ({code}, on the wire as {sent or 'no code'})"
                )
        self._state = next_state
        return data

    def receive_data(self, data: bytes | None) -> None:
        """
        Feed bytes received from the peer; then call :meth:`events`.

        :param data: ``bytes`` as read from the transport, split anywhere, or
            ``None`` when the transport reached end of file. After ``None``,
            the frames already received are still delivered, then a
            ``CloseConnection`` with code 1006 (ABNORMAL_CLOSURE), and the
            state is ``CLOSED`` (RFC 6455 §7.1.5).
        :raises LocalProtocolError: bytes arrive after the connection is ``CLOSED``.

        In ``REMOTE_CLOSING`` (a Close or a protocol error was received) bytes
        are ignored: nothing the peer sends after its Close can matter.
        """
        if data is None:
            # Deliver what already arrived before declaring the loss.
            self._events.extend(list(self.events()))  # the queue first, then the parsed frames
            self._events.append(CloseConnection(code=CloseReason.ABNORMAL_CLOSURE))
            self._state = TRANSITIONS[(self._state, CONNECTION_LOST)]
            self._queued_close = b""  # nobody left to send it to
            if self._closing_because is None:
                self._closing_because = "the transport was closed (1006)"
            return
        if self._state in PARSE_STATES:
            self._proto.receive_bytes(data)
        elif RECEIVE_BYTES.get(self._state) is ReceiveAction.ERROR:
            raise LocalProtocolError(f"Connection already closed: cannot receive data in state {self._state}.")

    def events(self) -> Generator[Event, None, None]:
        """
        Yield the events produced by the received bytes, in order.

        ``TextMessage``/``BytesMessage`` chunks, ``Ping`` (answer with its
        ``response()``), ``Pong``, and ``CloseConnection``: a Close from the
        peer, a protocol error (code 1002, 1007, ... and a reason saying what
        was wrong; the state then tells whether a Close is owed), or the
        transport's end (1006). Never raises for bad peer input.
        """
        queued = self._events
        if queued:
            self._events = []
            yield from hand_out(queued, self._requeue)
        # Then the events of the frames parsed so far, applying each transition.
        if self._state not in PARSE_STATES:
            return
        next_frame = self._proto.next_frame
        on_message = _ON_RECEIVE_MESSAGE
        try:
            while True:
                frame = next_frame()
                if frame is None:
                    return
                opcode, payload, frame_finished, message_finished = frame
                if opcode is _TEXT:
                    self._state = on_message[self._state]
                    yield _new_message(TextMessage, payload, frame_finished, message_finished)
                elif opcode is _BINARY:
                    self._state = on_message[self._state]
                    yield _new_message(BytesMessage, payload, frame_finished, message_finished)
                else:
                    self._state = _RECEIVE_TRANSITIONS[opcode][self._state]
                    # Frame.payload is bytes for PING/PONG, (code, reason) for CLOSE.
                    if opcode is _PING:
                        yield Ping(cast(bytes, payload))
                    elif opcode is _PONG:
                        yield Pong(cast(bytes, payload))
                    else:  # CLOSE
                        code, reason = cast("tuple[int, str]", payload)
                        if self._closing_because is None:
                            self._closing_because = f"the peer sent Close ({code})"
                        yield CloseConnection(code=code, reason=reason)
                if self._state not in PARSE_STATES:
                    return  # nothing after a Close frame is read (RFC 6455 §5.5.1)
        except ParseFailed as exc:
            yield self._protocol_error(exc)

    def _requeue(self, unread: list[Event]) -> None:
        self._events = unread + self._events

    def _protocol_error(self, exc: ParseFailed) -> CloseConnection:
        """Apply the spec's protocol_error transition; queue the Close we owe."""
        code, reason = exc.code, str(exc)
        self._state = TRANSITIONS[(self._state, PROTOCOL_ERROR)]
        self._closing_because = f"the peer's data failed ({int(code)}: {reason})"
        if (self._state, SEND_CLOSE) in TRANSITIONS:
            try:
                self._queued_close = self._proto.close(code, reason)
            except LocalProtocolError:
                # An extension's code that may not go on the wire.
                self._queued_close = self._proto.close(CloseReason.PROTOCOL_ERROR, reason)
        return CloseConnection(code=code, reason=reason)
