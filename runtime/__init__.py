"""
wsspec
~~~~~~

A Sans-I/O WebSocket protocol stack (RFC 6455) whose state machine is
generated from a YAML spec, with wsproto's API: bytes in, events out; events
in, bytes out. No sockets, no event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _build  # first: with WSSPEC_NO_EXTENSIONS=1, the modules below load from source
from . import connection, events, extensions, frame_protocol, handshake, typing, utilities
from .connection import CLIENT as _CLIENT  # a global: ConnectionType.CLIENT costs EnumType.__getattr__ on 3.11
from .connection import Connection, ConnectionState, ConnectionType
from ._generated.framing import DEFAULT_MAX_MESSAGE_SIZE
from ._generated.handshake import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from .handshake import H11Handshake
from ._install import WsprotoAlreadyImportedError, install_as_wsproto

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    from .events import Event
    from .typing import Headers

__version__ = "0.1.0"

#: Which build of wsspec is running: ``"compiled"`` (the hot modules were
#: compiled from this package's own ``.py`` source by Cython at install time,
#: see setup.py) or ``"pure"`` (pure Python: no compiler, PyPy, or
#: ``WSSPEC_NO_EXTENSIONS=1`` set before the import). The masking routine in
#: use is :data:`wsspec.masking.BACKEND`.
BUILD = "compiled" if _build.is_compiled(frame_protocol) else "pure"

__all__ = ("BUILD", "ConnectionType", "WSConnection", "WsprotoAlreadyImportedError", "install_as_wsproto")


class WSConnection:
    """
    The local end of a WebSocket connection: the opening handshake, then
    the connection itself, behind one object.

    :param connection_type: ``ConnectionType.CLIENT`` or ``ConnectionType.SERVER``.
    :param max_message_size: keyword-only; the most bytes a received message
        may carry after inflation (default 16 MiB; ``None``: no limit).
    :param max_frame_size: keyword-only; the most payload bytes a received
        frame may announce (default ``None``: bounded by ``max_message_size``).
    :param max_incomplete_event_size: keyword-only; the most bytes of the
        peer's HTTP head buffered during the handshake (default 16 KiB).
    :param origins: keyword-only, server only: the allowed ``Origin`` values
        (``str``; ``None`` allows a request without one); default ``None``, no
        check. See :class:`~wsspec.handshake.H11Handshake` (403 for others,
        RFC 6455 §10.2).

    See :class:`~wsspec.connection.Connection` for what happens over a limit
    (``CloseConnection(1009)``, a queued Close, :meth:`data_to_send`).
    :raises LocalProtocolError: an invalid limit.
    """

    def __init__(
        self,
        connection_type: ConnectionType,
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
        max_incomplete_event_size: int = DEFAULT_MAX_INCOMPLETE_EVENT_SIZE,
        origins: Sequence[str | None] | None = None,
    ) -> None:
        self.client = connection_type is _CLIENT
        self.handshake = H11Handshake(
            connection_type,
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
            max_incomplete_event_size=max_incomplete_event_size,
            origins=origins,
        )
        self.connection: Connection | None = None

    @property
    def state(self) -> ConnectionState:
        """The current :class:`ConnectionState`, from the handshake until it is done."""
        if self.connection is None:
            return self.handshake.state
        return self.connection.state

    def initiate_upgrade_connection(self, headers: Headers, path: bytes | str) -> None:
        """
        Server only: start from an upgrade request some other code already
        parsed (e.g. an HTTP server handing over the connection).

        :param headers: the request headers as ``(bytes, bytes)`` pairs.
        :param path: the request target.
        :raises LocalProtocolError: called on a client.
        :raises RemoteProtocolError: the request is not a valid upgrade (RFC 6455 §4.2.1).
        """
        self.handshake.initiate_upgrade_connection(headers, path)
        self.connection = self.handshake.connection

    def send(self, event: Event) -> bytes:
        """
        The bytes that carry ``event`` to the peer.

        During the handshake: ``Request`` (client), ``AcceptConnection``,
        ``RejectConnection``, ``RejectData`` (server). Afterwards: messages,
        ``Ping``, ``Pong``, ``CloseConnection``.

        :raises LocalProtocolError: the event may not be sent in the current state.
        """
        if self.connection is None:
            data = self.handshake.send(event)
            self.connection = self.handshake.connection
            return data
        return self.connection.send(event)

    def data_to_send(self) -> bytes:
        """
        Bytes queued for the peer without a :meth:`send`: the Close frame
        owed after the peer broke the protocol or a size limit (see
        :meth:`Connection.data_to_send <wsspec.connection.Connection.data_to_send>`);
        ``b""`` if none.
        """
        if self.connection is None:
            return b""
        return self.connection.data_to_send()

    def receive_data(self, data: bytes | None) -> None:
        """
        Feed bytes received from the peer (``None`` when the transport
        closed); then call :meth:`events`.

        :raises RemoteProtocolError: the peer's handshake is invalid (with an
            ``event_hint`` to send back, on a server).
        :raises LocalProtocolError: data arrives after the connection is closed.
        """
        if self.connection is None:
            self.handshake.receive_data(data)
            self.connection = self.handshake.connection
        else:
            self.connection.receive_data(data)

    def events(self) -> Generator[Event, None, None]:
        """Yield pending events: handshake events first, then connection events."""
        connection = self.connection
        if connection is not None and not self.handshake._events:
            # The handshake is done and queues nothing more (its receive_data
            # now feeds the connection): the connection's generator alone
            # yields the same events, one generator layer less.
            return connection.events()
        return self._events()

    def _events(self) -> Generator[Event, None, None]:
        yield from self.handshake.events()
        if self.connection is not None:
            yield from self.connection.events()
