"""
wsspec.handshake
~~~~~~~~~~~~~~~~

The WebSocket opening handshake over HTTP/1.1 (RFC 6455 §4), Sans-I/O, on top
of h11. Same public API as ``wsproto.handshake``.

Every state change is looked up in the generated transition table
(:data:`wsspec._generated.handshake.TRANSITIONS`); a ``(side, state, input)``
the table does not list is refused: a send raises
:class:`~wsspec.utilities.LocalProtocolError`, a receive
:class:`~wsspec.utilities.RemoteProtocolError`.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import h11

from ._generated.handshake import (
    BAD_REQUEST,
    CONNECTION,
    CONNECTION_UPGRADE,
    CONTENT_LENGTH,
    CONTENT_TYPE,
    EXPECT,
    FORBIDDEN,
    DEFAULT_MAX_INCOMPLETE_EVENT_SIZE,
    HEADER_SPELLING,
    HEADERS_TOO_LARGE,
    HTTP_VERSION,
    METHOD,
    NONCE_BYTES,
    ORIGIN,
    UPGRADE_REQUIRED,
    CONNECTION_UPGRADE_TOKEN,
    HOST,
    RECEIVE_ACCEPT,
    RECEIVE_BAD_ACCEPT,
    RECEIVE_BAD_REQUEST,
    RECEIVE_FORBIDDEN_ORIGIN,
    RECEIVE_INFORMATIONAL,
    RECEIVE_REJECT,
    RECEIVE_REJECT_DATA,
    RECEIVE_REJECT_END,
    RECEIVE_REQUEST,
    SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS,
    SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION,
    SEND_ACCEPT,
    SEND_REJECT,
    SEND_REJECT_DATA,
    SEND_REJECT_DATA_END,
    SEND_REJECT_WITH_BODY,
    SEND_REQUEST,
    SWITCHING_PROTOCOLS,
    TRANSFER_ENCODING,
    TRANSITIONS,
    HandshakeInput,
    WEBSOCKET_UPGRADE,
    WEBSOCKET_VERSION,
)
# The Upgrade header *name*; WEBSOCKET_UPGRADE is its value.
from ._generated.handshake import UPGRADE as UPGRADE_HEADER
from ._generated.connection import INITIAL_STATE
from ._generated.framing import DEFAULT_MAX_MESSAGE_SIZE
from .connection import Connection, ConnectionState, ConnectionType, check_size_limit
from .events import AcceptConnection, Event, RejectConnection, RejectData, Request
from .extensions import TOKEN_CHARS, Extension, ExtensionSyntaxError, parse_extension, split_extension_list
from .utilities import (
    LocalProtocolError,
    RemoteProtocolError,
    generate_accept_token,
    generate_nonce,
    hand_out,
    split_comma_header,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator, Sequence

    from .typing import Headers

__all__ = [
    "WEBSOCKET_VERSION",
    "WEBSOCKET_UPGRADE",
    "H11Handshake",
    "server_extensions_handshake",
    "client_extensions_handshake",
]

# HTTP (not WebSocket) vocabulary h11 needs from us. RFC 6455 §4.1: the
# opening handshake is an HTTP/1.1 GET.
_SWITCHING_PROTOCOLS_REASON = HTTPStatus(SWITCHING_PROTOCOLS).phrase.encode("ascii")
_T = TypeVar("_T")
# Headers a received Request / AcceptConnection carries in its own fields,
# not in extra_headers (as wsproto does).
_REQUEST_FIELDS = frozenset({HOST, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL})
_RESPONSE_FIELDS = frozenset({CONNECTION, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_PROTOCOL,
                              UPGRADE_HEADER})

# wsspec writes the head of its upgrade Request and of its 101 itself; h11
# stays the parser of what the peer sends (issue 13). What it writes passes
# the checks h11 applies to what it sends (h11 0.16, ``h11._abnf``): a
# header name is a token (RFC 9110 §5.1); a value is visible bytes or
# obs-text with inner spaces/tabs, no NUL, CR or LF (RFC 9110 §5.5); the
# request-target is visible ASCII (RFC 9112 §3.2). Anything else goes to
# h11's own writer, which refuses it with the LocalProtocolError it always
# has: a name or value that fails a check, a header item that is neither
# bytes nor str, and the headers h11 acts on (Host, which it writes first;
# Content-Length and Transfer-Encoding, which it normalizes; Connection,
# Upgrade and Expect, which change its state).
_FIELD_NAME = re.compile(b"[" + re.escape("".join(sorted(TOKEN_CHARS)).encode("ascii")) + b"]+")
_FIELD_VALUE = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")
_REQUEST_TARGET = re.compile(rb"[\x21-\x7e]+")
_H11_WRITES = frozenset({HOST, CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION, UPGRADE_HEADER, EXPECT})
_CRLF = b"\r\n"
# A base64-encoded nonce (RFC 4648 §4): NONCE_BYTES bytes are 4 characters per
# 3 bytes, the last group padded with "=" (16 bytes: 22 characters and "==").
_BASE64_NONCE = re.compile(
    rb"[A-Za-z0-9+/]{%d}%s" % (-(-NONCE_BYTES * 4 // 3), b"=" * (-NONCE_BYTES % 3)))
# The prefix of an IDNA label in ASCII-compatible encoding (RFC 3490 §5).
_ACE_PREFIX = b"xn--"


def _line(name: bytes, value: bytes) -> bytes:
    """One header line of ours, ``name`` spelled as the spec says to send it."""
    return HEADER_SPELLING[name] + b": " + value + _CRLF


def _open_line(name: bytes) -> bytes:
    """The start of one header line whose value follows."""
    return HEADER_SPELLING[name] + b": "


# The fixed parts of the two heads, as h11 wrote them (Host first).
_REQUEST_LINE_END = b" HTTP/" + HTTP_VERSION + _CRLF + _open_line(HOST)
_REQUEST_KEY = _CRLF + _line(UPGRADE_HEADER, WEBSOCKET_UPGRADE) + _line(CONNECTION, CONNECTION_UPGRADE) + _open_line(
    SEC_WEBSOCKET_KEY)
_REQUEST_VERSION = _CRLF + _line(SEC_WEBSOCKET_VERSION, WEBSOCKET_VERSION)
_ACCEPT_HEAD = (
    b"HTTP/%s %d %s\r\n" % (HTTP_VERSION, SWITCHING_PROTOCOLS, _SWITCHING_PROTOCOLS_REASON)
    + _line(UPGRADE_HEADER, WEBSOCKET_UPGRADE) + _line(CONNECTION, CONNECTION_UPGRADE) + _open_line(SEC_WEBSOCKET_ACCEPT)
)
_PROTOCOL_LINE = _open_line(SEC_WEBSOCKET_PROTOCOL)
_EXTENSIONS_LINE = _open_line(SEC_WEBSOCKET_EXTENSIONS)
# What a client's h11 connection is told it sent when wsspec wrote the
# request: h11 reads from a request only its method, Upgrade, Connection,
# Expect and body framing (Content-Length, Transfer-Encoding), and a request
# naming any of the last four in its extra headers is written by h11 itself.
_H11_UPGRADE_REQUEST = h11.Request(
    method=METHOD,
    target=b"/",
    headers=[(HEADER_SPELLING[HOST], b"localhost"), (HEADER_SPELLING[UPGRADE_HEADER], WEBSOCKET_UPGRADE),
             (HEADER_SPELLING[CONNECTION], CONNECTION_UPGRADE)],
)
_H11_END_OF_MESSAGE = h11.EndOfMessage()


def _header_lines(headers: Headers) -> bytes | None:
    """
    The caller's extra ``headers`` as header lines, or ``None`` if h11 must
    write them (a name or value it refuses, an item neither ``bytes`` nor
    ``str``, or a header it acts on; see ``_H11_WRITES``).
    """
    lines = []
    for name, value in headers:
        if isinstance(name, str):
            if not name.isascii():
                return None
            name = name.encode("ascii")
        if isinstance(value, str):
            if not value.isascii():
                return None
            value = value.encode("ascii")
        if (
            type(name) is not bytes
            or type(value) is not bytes
            or _FIELD_NAME.fullmatch(name) is None
            or _FIELD_VALUE.fullmatch(value) is None
            or name.lower() in _H11_WRITES
        ):
            return None
        lines.append(b"%s: %s\r\n" % (name, value))
    return b"".join(lines)


def _spelled(headers: Headers) -> Headers:
    """Our own handshake headers, with names spelled as the spec says to send them."""
    return [(HEADER_SPELLING.get(name, name), value) for name, value in headers]


def _refuse(why: str, status_code: int = BAD_REQUEST, headers: Headers | None = None) -> RemoteProtocolError:
    """
    The error for a handshake the peer got wrong: ``why`` for the
    application, and as ``event_hint`` the :class:`RejectConnection` a
    server sends back (``status_code``, default 400, RFC 6455 §4.2.1;
    ``headers`` as sent). A client has nobody to answer, but gets the same
    shape of error (as with wsproto).
    """
    return RemoteProtocolError(why, event_hint=RejectConnection(status_code=status_code, headers=headers or []))


class _HandshakeHeaders:
    """
    The headers of one handshake message, read once: every value of each
    header in arrival order, names lowercased (RFC 9110 §5.1), and the
    pairs the application gets as ``extra_headers``.

    The accessors decode on demand and turn bad bytes into the handshake's
    error (a :func:`_refuse` ``RemoteProtocolError``), naming the header.
    """

    __slots__ = ("values", "extra")

    def __init__(self, message: h11.Request | h11.InformationalResponse, hidden: frozenset[bytes]) -> None:
        self.values: dict[bytes, list[bytes]] = {}
        #: ``(name, value)`` pairs not in ``hidden``, names lowercased.
        self.extra: list[tuple[bytes, bytes]] = []
        values = self.values
        extra = self.extra
        # raw_items() is one list; iterating h11's Headers is a generator
        # calling __getitem__ per header.
        for name, value in message.headers.raw_items():
            name = name.lower()
            found = values.get(name)
            if found is None:
                values[name] = [value]
            else:
                found.append(value)
            if name not in hidden:
                extra.append((name, value))

    def last(self, name: bytes) -> bytes | None:
        """The last value of ``name`` (a repeated single-valued header: the last wins, as in wsproto)."""
        values = self.values.get(name)
        return values[-1] if values else None

    def folded(self, name: bytes) -> bytes | None:
        """Every value of ``name`` joined with ``b", "`` (RFC 9110 §5.3), or ``None``."""
        values = self.values.get(name)
        return b", ".join(values) if values else None

    def tokens(self, name: bytes) -> list[str] | None:
        """The comma-separated tokens of every ``name`` header (a ``1#token`` list), or ``None``."""
        values = self.values.get(name)
        if values is None:
            return None
        return [token for value in values for token in self._decode(name, split_comma_header, value)]

    def extension_list(self, name: bytes) -> list[str]:
        """The ``Sec-WebSocket-Extensions`` entries of every ``name`` header, split by the
        RFC 6455 §9.1 grammar (commas inside quoted values do not split)."""
        return [
            entry
            for value in self.values.get(name, ())
            for entry in split_extension_list(self._decode(name, bytes.decode, value))
        ]

    def text(self, name: bytes, encoding: str = "ascii") -> str | None:
        """The last value of ``name`` decoded (``"idna"`` for ``Host``), or ``None``."""
        value = self.last(name)
        if value is None:
            return None
        if encoding == "idna" and _ACE_PREFIX not in value and value.isascii():
            # The idna codec's own first step (Lib/encodings/idna.py): ASCII
            # without an ACE label decodes as ASCII; one call less.
            return value.decode("ascii")
        return self._decode(name, lambda raw: raw.decode(encoding), value)

    @staticmethod
    def _decode(name: bytes, decode: Callable[[bytes], _T], value: bytes) -> _T:
        try:
            return decode(value)
        except UnicodeError as exc:
            msg = f"Invalid header, {name.decode('ascii', 'replace')!r} is not valid ASCII/IDNA"
            raise _refuse(msg) from exc


class H11Handshake:
    """
    The opening handshake for one HTTP/1.1 connection (RFC 6455 §4).

    ``connection_type`` selects the side. A client ``send()``\\ s a
    :class:`~wsspec.events.Request` and then feeds the server's response to
    ``receive_data()``; a server feeds the request to ``receive_data()`` (or
    passes an already parsed one to :meth:`initiate_upgrade_connection`) and
    answers with :class:`~wsspec.events.AcceptConnection` or
    :class:`~wsspec.events.RejectConnection` (+ :class:`~wsspec.events.RejectData`).

    Once the handshake succeeds, :attr:`state` is ``OPEN`` and
    :attr:`connection` holds the :class:`~wsspec.connection.Connection` for
    the WebSocket frames; any bytes that arrived after the handshake in the
    same read are handed to it (nothing is lost, on either side).

    :param connection_type: ``ConnectionType.CLIENT`` or ``ConnectionType.SERVER``.
    :param max_message_size: keyword-only, bytes; passed to the
        :class:`~wsspec.connection.Connection` (default 16 MiB; ``None``: no limit).
    :param max_frame_size: keyword-only, bytes; passed to the
        :class:`~wsspec.connection.Connection` (default ``None``: no separate limit).
    :param max_incomplete_event_size: keyword-only; the most bytes of an HTTP
        request or response head buffered while it is incomplete (h11's
        option; default 16 KiB, h11's own). A longer head raises
        ``RemoteProtocolError``, on a server with
        ``event_hint=RejectConnection(status_code=431)`` (RFC 6585 §5).
    :param origins: keyword-only, server only: the allowed values of the
        request's ``Origin`` header (``str`` each, compared exactly, e.g.
        ``"https://example.com"``; ``None`` in the list allows a request
        without ``Origin``, as non-browser clients send). Default ``None``:
        no check. A valid upgrade request from any other origin is never
        surfaced as a :class:`~wsspec.events.Request`:
        :meth:`receive_data` raises ``RemoteProtocolError`` whose
        ``event_hint`` is a ``RejectConnection(status_code=403)``; sending
        that hint writes a 403 with a short text body saying why. This stops
        cross-site WebSocket hijacking by browsers (RFC 6455 §10.2), which
        always send the page's origin; it does not authenticate anyone, as
        any other client can send any ``Origin``.
    :raises LocalProtocolError: a limit that is not ``None`` or an int >= 0
        (``max_incomplete_event_size`` must be an int >= 1); ``origins`` on a
        client, or not a list of ``str`` / ``None``.
    """

    #: The 403 hint of a request refused for its Origin and the body it is sent with.
    _origin_refusal: tuple[RejectConnection, bytes] | None = None

    def __init__(
        self,
        connection_type: ConnectionType,
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
        max_incomplete_event_size: int = DEFAULT_MAX_INCOMPLETE_EVENT_SIZE,
        origins: Sequence[str | None] | None = None,
    ) -> None:
        self.client = connection_type is ConnectionType.CLIENT
        self._origins = None if origins is None else _check_origins(origins, self.client)
        self._type = connection_type
        self._state: ConnectionState = INITIAL_STATE
        # Two attributes, not a dict: an idle connection keeps them (memory per connection).
        self._max_message_size = check_size_limit("max_message_size", max_message_size)
        self._max_frame_size = check_size_limit("max_frame_size", max_frame_size)
        if check_size_limit("max_incomplete_event_size", max_incomplete_event_size) in (None, 0):
            msg = f"max_incomplete_event_size must be an int >= 1 (bytes), got {max_incomplete_event_size!r}"
            raise LocalProtocolError(msg)
        self._max_head = max_incomplete_event_size
        # Bytes fed before the peer's request/response head was parsed;
        # None once it was (h11 bounds only an incomplete head, so a whole
        # one arriving in a single read is measured here).
        self._head_received: int | None = 0
        self._h11_connection: h11.Connection | None = h11.Connection(
            h11.CLIENT if self.client else h11.SERVER, max_incomplete_event_size=max_incomplete_event_size
        )
        self._connection: Connection | None = None
        # Server: h11 has not yet read the EndOfMessage of a bodiless request (see _h11_catch_up).
        self._h11_behind = False
        self._events: list[Event] = []  # oldest first (a list is 10x smaller than a deque)
        # Client: the Request we sent. Server: the valid Request we received.
        self._initiating_request: Request | None = None
        # Client: our Sec-WebSocket-Key. Server: the client's.
        self._nonce: bytes | None = None
        # Client: the extensions an offer was actually sent for.
        self._offered: list[Extension] = []

    @property
    def state(self) -> ConnectionState:
        """The handshake's :class:`~wsspec.connection.ConnectionState`."""
        return self._state

    @property
    def connection(self) -> Connection | None:
        """The established :class:`~wsspec.connection.Connection` once ``OPEN``, else ``None``."""
        return self._connection

    # ------------------------------------------------------------------
    # State table
    # ------------------------------------------------------------------

    @property
    def _role(self) -> str:
        return "client" if self.client else "server"

    def _send_target(self, trigger: HandshakeInput, event: Event) -> ConnectionState:
        """The state after sending ``event``, or LocalProtocolError if the table forbids it."""
        target = TRANSITIONS.get((self._type, self._state, trigger))
        if target is None:
            msg = (
                f"{type(event).__name__} cannot be sent by a {self._role} "
                f"in state {self._state.name}"
            )
            raise LocalProtocolError(msg)
        return target

    def _receive(self, trigger: HandshakeInput, what: str) -> None:
        """Apply a receive transition, or RemoteProtocolError if the table forbids it."""
        target = TRANSITIONS.get((self._type, self._state, trigger))
        if target is None:
            msg = f"Unexpected {what} received by a {self._role} in state {self._state.name}"
            raise RemoteProtocolError(msg)
        self._state = target

    def _fail(self, trigger: HandshakeInput, error: RemoteProtocolError) -> NoReturn:
        """Apply the bad-input transition (if the table has one here) and raise ``error``."""
        target = TRANSITIONS.get((self._type, self._state, trigger))
        if target is not None:
            self._state = target
        raise error

    def _release_http(self) -> None:
        """Once OPEN, nothing reads the HTTP state again (sends are refused by
        the state table first, received bytes go to :attr:`connection`): free
        h11's connection and the request for an idle connection's sake."""
        self._h11_connection = None  # (not del: the emptied instance dict would stay allocated)
        self._initiating_request = None
        self._nonce = None

    def _h11(self) -> h11.Connection:
        """h11's connection (released once OPEN, when nothing reads HTTP any more)."""
        h11_conn = self._h11_connection
        assert h11_conn is not None, "the HTTP state is released once OPEN"
        return h11_conn

    def _h11_send(self, event_type: type[h11.Event], event: h11.Event | None = None, **fields: Any) -> bytes:
        """Build (from ``fields``, unless ``event`` is given) and send an h11
        event; h11's complaints become LocalProtocolError."""
        if self._h11_behind:
            self._h11_catch_up()
        try:
            return self._h11().send(event_type(**fields) if event is None else event) or b""
        except (h11.LocalProtocolError, UnicodeError) as exc:
            msg = f"Cannot send HTTP {event_type.__name__} in state {self._state.name}: {exc}"
            raise LocalProtocolError(msg) from exc

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------

    def initiate_upgrade_connection(self, headers: Headers, path: bytes | str) -> None:
        """
        Server only: process an upgrade request that was already received and
        parsed elsewhere (e.g. by an HTTP server), as if its bytes had been
        passed to :meth:`receive_data`.

        :param headers: the request headers, ``(name, value)`` pairs (``bytes`` or ``str``).
        :param path: the request target, ``bytes`` or ASCII ``str``.
        :raises LocalProtocolError: when called on a client.
        :raises RemoteProtocolError: when the request is not a valid upgrade
            (with ``event_hint`` as for :meth:`receive_data`).
        """
        if self.client:
            msg = "Cannot initiate an upgrade connection when acting as the client"
            raise LocalProtocolError(msg)
        if (
            self._initiating_request is not None
            or (self._type, self._state, RECEIVE_REQUEST) not in TRANSITIONS
        ):
            msg = f"Cannot initiate an upgrade connection: a request was already handled (state {self._state.name})"
            raise LocalProtocolError(msg)
        try:
            upgrade_request = h11.Request(method=METHOD, target=path, headers=headers)
            data = h11.Connection(h11.CLIENT).send(upgrade_request) or b""
        except (h11.LocalProtocolError, UnicodeError) as exc:
            error = _refuse("Bad HTTP message")
            error.__cause__ = exc
            self._fail(RECEIVE_BAD_REQUEST, error)
        self.receive_data(data)

    def send(self, event: Event) -> bytes:
        """
        The bytes to write to the peer for ``event``.

        A client sends a :class:`Request`; a server sends
        :class:`AcceptConnection`, or :class:`RejectConnection` followed (if
        ``has_body``) by :class:`RejectData` events.

        :raises LocalProtocolError: if the event may not be sent by this side
            in the current state, or is malformed (e.g. a subprotocol the
            client did not offer, a non-ASCII target).
        """
        if isinstance(event, Request):
            return self._initiate_connection(event)
        if isinstance(event, AcceptConnection):
            return self._accept(event)
        if isinstance(event, RejectConnection):
            return self._reject(event)
        if isinstance(event, RejectData):
            return self._send_reject_data(event)
        msg = f"Event {event} cannot be sent during the handshake"
        raise LocalProtocolError(msg)

    def receive_data(self, data: bytes | None) -> None:
        """
        Feed bytes received from the peer (``None`` or ``b""`` means EOF).

        The events they produce are returned by :meth:`events`. Once the
        handshake is ``OPEN``, further bytes are passed on to
        :attr:`connection`.

        :raises RemoteProtocolError: the peer's HTTP message is malformed or
            not a valid WebSocket handshake; on a server ``event_hint`` is the
            :class:`RejectConnection` to send back.
        :raises LocalProtocolError: data fed after EOF.
        """
        if self._connection is not None:
            self._connection.receive_data(data)
            return
        if self._head_received is not None and data:
            self._head_received += len(data)
        try:
            self._h11().receive_data(data or b"")
        except RuntimeError as exc:
            msg = f"Cannot receive data after EOF (state {self._state.name})"
            raise LocalProtocolError(msg) from exc

        h11_conn = self._h11()
        while True:
            try:
                event = h11_conn.next_event()
            except h11.RemoteProtocolError as exc:
                if exc.error_status_hint == HEADERS_TOO_LARGE:
                    error = self._head_too_large()
                else:
                    error = _refuse("Bad HTTP message")
                error.__cause__ = exc
                self._fail(RECEIVE_BAD_ACCEPT if self.client else RECEIVE_BAD_REQUEST, error)
            # h11.NEED_DATA and h11.PAUSED are sentinel classes, every other event an instance.
            if isinstance(event, (type, h11.ConnectionClosed)):
                break
            if self._head_received is not None and isinstance(event, (h11.Request, h11.InformationalResponse,
                                                                       h11.Response)):
                # The same bound whether the head came in one read or many.
                size = self._head_received - len(h11_conn.trailing_data[0])
                self._head_received = None
                if size > self._max_head:
                    self._fail(RECEIVE_BAD_ACCEPT if self.client else RECEIVE_BAD_REQUEST,
                               self._head_too_large(size))
            if self.client:
                self._process_response_event(event)
                if self._connection is not None:
                    break  # OPEN: h11 pauses after a 101 (the rest is trailing data)
            elif isinstance(event, h11.Request):
                request, bodiless = self._process_connection_request(event)
                self._events.append(request)
                if bodiless:
                    # h11 still owes the request's (empty) EndOfMessage and
                    # then pauses. Reading those only matters if h11 writes
                    # the response: _h11_send catches up first.
                    self._h11_behind = True
                    break
            # A server ignores request body Data/EndOfMessage events.

    def _h11_catch_up(self) -> None:
        """Read what h11 owes after a bodiless request (its EndOfMessage) until it pauses."""
        self._h11_behind = False
        h11_conn = self._h11()
        while not isinstance(h11_conn.next_event(), type):
            pass

    def _head_too_large(self, size: int | None = None) -> RemoteProtocolError:
        """The error for a peer's HTTP head over ``max_incomplete_event_size``, with a 431 hint."""
        what = "HTTP head" if size is None else f"HTTP head of {size} bytes"
        return _refuse(f"{what} larger than max_incomplete_event_size ({self._max_head} bytes)", HEADERS_TOO_LARGE)

    def events(self) -> Generator[Event, None, None]:
        """Yield, oldest first, the events produced by received data."""
        # Events queued while the caller iterates are handed out too.
        while self._events:
            queued, self._events = self._events, []
            yield from hand_out(queued, self._requeue)

    def _requeue(self, unread: list[Event]) -> None:
        self._events = unread + self._events

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(client={self.client}, state={self.state})"

    # ------------------------------------------------------------------
    # Server side
    # ------------------------------------------------------------------

    def _process_connection_request(self, event: h11.Request) -> tuple[Request, bool]:
        """The valid upgrade request, and whether it has no body (neither Content-Length nor Transfer-Encoding)."""
        try:
            request, key, headers = _parse_upgrade_request(event)
        except RemoteProtocolError as error:
            self._fail(RECEIVE_BAD_REQUEST, error)
        if self._origins is not None:
            self._check_origin(headers.values.get(ORIGIN, []), self._origins)
        self._receive(RECEIVE_REQUEST, "upgrade request")
        self._initiating_request = request
        self._nonce = key
        return request, CONTENT_LENGTH not in headers.values and TRANSFER_ENCODING not in headers.values

    def _check_origin(self, values: list[bytes], allowed: frozenset[str | None]) -> None:
        """Refuse (403) a request whose Origin values the allow-list does not hold (RFC 6455 §10.2)."""
        if len(values) > 1:
            why = f"{len(values)} Origin headers"
        else:
            origin = values[0].decode("latin-1") if values else None
            if origin in allowed:
                return
            why = "no Origin header" if origin is None else f"Origin {origin!r}"
        listed = ", ".join(sorted("no Origin" if o is None else repr(o) for o in allowed))
        hint = RejectConnection(status_code=FORBIDDEN)
        error = RemoteProtocolError(f"{why} is not allowed (origins: {listed}; RFC 6455 §10.2)", event_hint=hint)
        self._origin_refusal = (hint, f"Forbidden: {why} is not allowed to open a WebSocket here.\n".encode())
        self._fail(RECEIVE_FORBIDDEN_ORIGIN, error)

    def _accept(self, event: AcceptConnection) -> bytes:
        new_state = self._send_target(SEND_ACCEPT, event)
        request = self._initiating_request
        if request is None or self._nonce is None:
            msg = (
                "AcceptConnection cannot be sent before a valid Request was "
                f"received (state {self._state.name})"
            )
            raise LocalProtocolError(msg)

        accept = generate_accept_token(self._nonce)
        head = [_ACCEPT_HEAD, accept, _CRLF]
        written = True  # False: a value h11 must refuse
        protocol = None
        if event.subprotocol is not None:
            if event.subprotocol not in request.subprotocols:
                msg = f"unexpected subprotocol {event.subprotocol}"
                raise LocalProtocolError(msg)
            protocol = _ascii(event.subprotocol, "subprotocol")
            head += (_PROTOCOL_LINE, protocol, _CRLF)
            written = _FIELD_VALUE.fullmatch(protocol) is not None

        accepted: list[Extension] = []
        header = None
        if event.extensions:
            for extension in event.extensions:
                if not isinstance(extension, Extension):
                    msg = f"AcceptConnection.extensions must hold Extension instances, got {extension!r}"
                    raise LocalProtocolError(msg)
            offers = [offer for offer in request.extensions if isinstance(offer, str)]
            header, accepted = _negotiate_server(offers, event.extensions, tolerant=True)
            if header is not None:
                head += (_EXTENSIONS_LINE, header, _CRLF)
                written = written and _FIELD_VALUE.fullmatch(header) is not None

        extra = _header_lines(event.extra_headers) if written else None
        if extra is not None:
            head += (extra, _CRLF)
            data = b"".join(head)
        else:
            headers: Headers = [
                (UPGRADE_HEADER, WEBSOCKET_UPGRADE),
                (CONNECTION, CONNECTION_UPGRADE),
                (SEC_WEBSOCKET_ACCEPT, accept),
            ]
            if protocol is not None:
                headers.append((SEC_WEBSOCKET_PROTOCOL, protocol))
            if header is not None:
                headers.append((SEC_WEBSOCKET_EXTENSIONS, header))
            data = self._h11_send(
                h11.InformationalResponse,
                status_code=SWITCHING_PROTOCOLS,
                headers=_spelled(headers) + list(event.extra_headers),
                reason=_SWITCHING_PROTOCOLS_REASON,
            )
        # Frames the client pipelined behind its request (already read by
        # h11) belong to the new connection.
        trailing = bytes(self._h11().trailing_data[0])
        self._state = new_state
        self._connection = Connection(
            self._type, accepted, trailing,
            max_message_size=self._max_message_size, max_frame_size=self._max_frame_size,
        )
        self._release_http()
        return data

    def _reject(self, event: RejectConnection) -> bytes:
        new_state = self._send_target(
            SEND_REJECT_WITH_BODY if event.has_body else SEND_REJECT, event,
        )
        refusal = self._origin_refusal
        if refusal is not None and event is refusal[0]:
            # The hint of a forbidden Origin: a complete 403 with a short body
            # saying why, so that programs that just send the hint (as wsproto
            # programs do) give a human something to read.
            body = refusal[1]
            data = self._h11_send(h11.Response, status_code=event.status_code, headers=[
                (HEADER_SPELLING[CONTENT_TYPE], b"text/plain; charset=utf-8"),
                (HEADER_SPELLING[CONTENT_LENGTH], str(len(body)).encode("ascii")),
            ], reason=HTTPStatus(event.status_code).phrase.encode("ascii"))
            data += self._h11_send(h11.Data, data=body) + self._h11_send(h11.EndOfMessage)
            self._state = new_state
            return data
        headers = list(event.headers)
        if not event.has_body and not any(
            name.lower() == CONTENT_LENGTH for name, _ in _bytes_headers(headers)
        ):
            headers.append((HEADER_SPELLING[CONTENT_LENGTH], b"0"))
        data = self._h11_send(h11.Response, status_code=event.status_code, headers=headers)
        if not event.has_body:
            data += self._h11_send(h11.EndOfMessage)
        self._state = new_state
        return data

    def _send_reject_data(self, event: RejectData) -> bytes:
        new_state = self._send_target(
            SEND_REJECT_DATA_END if event.body_finished else SEND_REJECT_DATA, event,
        )
        data = self._h11_send(h11.Data, data=event.data) if event.data else b""
        if event.body_finished:
            data += self._h11_send(h11.EndOfMessage)
        self._state = new_state
        return data

    # ------------------------------------------------------------------
    # Client side
    # ------------------------------------------------------------------

    def _initiate_connection(self, request: Request) -> bytes:
        new_state = self._send_target(SEND_REQUEST, request)
        if self._initiating_request is not None:
            msg = f"Request was already sent (state {self._state.name})"
            raise LocalProtocolError(msg)
        for extension in request.extensions:
            if not isinstance(extension, Extension):
                msg = f"Request.extensions must hold Extension instances when sending, got {extension!r}"
                raise LocalProtocolError(msg)
        try:
            host = request.host.encode("idna")
        except UnicodeError as exc:
            msg = f"Request.host {request.host!r} is not a valid host name"
            raise LocalProtocolError(msg) from exc

        target = _ascii(request.target, "target")
        nonce = generate_nonce()
        head = [METHOD, b" ", target, _REQUEST_LINE_END, host, _REQUEST_KEY, nonce, _REQUEST_VERSION]
        # False: a value h11 must refuse
        written = _REQUEST_TARGET.fullmatch(target) is not None and _FIELD_VALUE.fullmatch(host) is not None
        protocols = header = None
        if request.subprotocols:
            protocols = _ascii(", ".join(request.subprotocols), "subprotocols")
            head += (_PROTOCOL_LINE, protocols, _CRLF)
            written = written and _FIELD_VALUE.fullmatch(protocols) is not None

        offered: list[Extension] = []
        if request.extensions:
            # A client's Request offers Extension objects (str only on a received one).
            extensions = cast("Sequence[Extension]", request.extensions)
            offers: dict[str, bool | str] = {}
            for extension in extensions:
                offers[extension.name] = extension.offer()
            parts = []
            for name, params in offers.items():
                if params is False:
                    continue
                if params is True or params == "":
                    parts.append(_ascii(name, "extension name"))
                else:
                    parts.append(_ascii(f"{name}; {params}", "extension offer"))
            if parts:
                header = b", ".join(parts)
                head += (_EXTENSIONS_LINE, header, _CRLF)
                written = written and _FIELD_VALUE.fullmatch(header) is not None
            offered = [ext for ext in extensions if offers[ext.name] is not False]

        extra = _header_lines(request.extra_headers) if written else None
        if extra is not None:
            # h11 parses the response, so its connection learns that an
            # upgrade request without a body went out.
            self._h11_send(h11.Request, _H11_UPGRADE_REQUEST)
            self._h11_send(h11.EndOfMessage, _H11_END_OF_MESSAGE)
            head += (extra, _CRLF)
            data = b"".join(head)
        else:
            headers: Headers = [
                (HOST, host),
                (UPGRADE_HEADER, WEBSOCKET_UPGRADE),
                (CONNECTION, CONNECTION_UPGRADE),
                (SEC_WEBSOCKET_KEY, nonce),
                (SEC_WEBSOCKET_VERSION, WEBSOCKET_VERSION),
            ]
            if protocols is not None:
                headers.append((SEC_WEBSOCKET_PROTOCOL, protocols))
            if header is not None:
                headers.append((SEC_WEBSOCKET_EXTENSIONS, header))
            data = self._h11_send(
                h11.Request, method=METHOD, target=target, headers=_spelled(headers) + list(request.extra_headers),
            )
            data += self._h11_send(h11.EndOfMessage)
        self._initiating_request = request
        self._nonce = nonce
        self._offered = offered
        self._state = new_state
        return data

    def _process_response_event(self, event: h11.Event) -> None:
        if isinstance(event, h11.InformationalResponse):
            if event.status_code == SWITCHING_PROTOCOLS:
                try:
                    accept = self._establish_client_connection(event)
                except RemoteProtocolError as error:
                    self._fail(RECEIVE_BAD_ACCEPT, error)
                self._receive(RECEIVE_ACCEPT, "101 response")
                trailing = bytes(self._h11().trailing_data[0])
                self._connection = Connection(
                    self._type, accept.extensions, trailing,
                    max_message_size=self._max_message_size, max_frame_size=self._max_frame_size,
                )
                self._release_http()
                self._events.append(accept)
            else:
                self._receive(RECEIVE_INFORMATIONAL, f"{event.status_code} response")
                self._events.append(
                    RejectConnection(
                        status_code=event.status_code,
                        headers=list(event.headers),
                        has_body=False,
                    ),
                )
        elif isinstance(event, h11.Response):
            self._receive(RECEIVE_REJECT, f"{event.status_code} response")
            self._events.append(
                RejectConnection(
                    status_code=event.status_code, headers=list(event.headers), has_body=True,
                ),
            )
        elif isinstance(event, h11.Data):
            self._receive(RECEIVE_REJECT_DATA, "rejection body")
            self._events.append(RejectData(data=bytes(event.data), body_finished=False))
        elif isinstance(event, h11.EndOfMessage):
            self._receive(RECEIVE_REJECT_END, "end of rejection body")
            self._events.append(RejectData(data=b"", body_finished=True))

    def _establish_client_connection(self, event: h11.InformationalResponse) -> AcceptConnection:
        request = self._initiating_request
        if request is None or self._nonce is None:  # h11 refuses a 101 before our request
            msg = "101 response received before a Request was sent"
            raise _refuse(msg)

        headers = _HandshakeHeaders(event, hidden=_RESPONSE_FIELDS)
        _require_connection_upgrade(headers.tokens(CONNECTION))
        _require_upgrade_websocket(headers.last(UPGRADE_HEADER) or b"")
        if headers.last(SEC_WEBSOCKET_ACCEPT) != generate_accept_token(self._nonce):
            raise _refuse("Bad accept token")
        subprotocol = headers.text(SEC_WEBSOCKET_PROTOCOL)
        if subprotocol is not None and subprotocol not in request.subprotocols:
            raise _refuse(f"unrecognized subprotocol {subprotocol}")
        accepts = headers.extension_list(SEC_WEBSOCKET_EXTENSIONS)
        # RFC 6455 §9.1: only extensions we actually offered may be accepted.
        extensions = client_extensions_handshake(accepts, self._offered)
        return AcceptConnection(
            subprotocol=subprotocol, extensions=extensions, extra_headers=headers.extra,
        )


def _check_origins(origins: Sequence[str | None] | None, client: bool) -> frozenset[str | None] | None:
    """The ``origins`` option as a set, or LocalProtocolError naming what is wrong."""
    if origins is None:
        return None
    if client:
        msg = "origins is a server option (the allowed Origin values of requests); a client sends no check"
        raise LocalProtocolError(msg)
    if isinstance(origins, (str, bytes)) or not all(o is None or isinstance(o, str) for o in origins):
        msg = f"origins must be a list of str (or None for no Origin header), got {origins!r}"
        raise LocalProtocolError(msg)
    return frozenset(origins)


def _ascii(value: str | bytes, what: str) -> bytes:
    """Encode a caller-supplied ``str`` as ASCII, or LocalProtocolError."""
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("ascii")
    except UnicodeEncodeError as exc:
        msg = f"{what} {value!r} is not ASCII"
        raise LocalProtocolError(msg) from exc


def _bytes_headers(headers: Iterable[tuple[bytes | str, bytes | str]]) -> Iterable[tuple[bytes, object]]:
    for name, value in headers:
        yield (name.encode("latin-1") if isinstance(name, str) else name), value


def _valid_key(key: bytes) -> bool:
    """RFC 6455 §4.2.1: the key is a nonce of 16 random bytes, base64-encoded (24 ASCII bytes)."""
    return _BASE64_NONCE.fullmatch(key) is not None


def _require_connection_upgrade(connection_tokens: list[str] | None) -> None:
    """RFC 6455 §4.1/§4.2.1: ``Connection`` must list the ``upgrade`` token (any case)."""
    if connection_tokens is None or not any(
        token.lower() == CONNECTION_UPGRADE_TOKEN for token in connection_tokens
    ):
        raise _refuse("Missing header, 'Connection: Upgrade'")


def _require_upgrade_websocket(upgrade: bytes) -> None:
    """RFC 6455 §4.1/§4.2.1: ``Upgrade`` must be ``websocket`` (any case)."""
    if upgrade.lower() != WEBSOCKET_UPGRADE:
        raise _refuse(f"Missing header, 'Upgrade: {WEBSOCKET_UPGRADE.decode()}'")


def _parse_upgrade_request(event: h11.Request) -> tuple[Request, bytes, _HandshakeHeaders]:
    """
    Validate an h11 request as a WebSocket upgrade (RFC 6455 §4.2.1).

    Returns the :class:`Request` event, the client's key and the request's
    headers. Raises
    RemoteProtocolError with wsproto's messages and event hints.
    """
    if event.method != METHOD:
        raise _refuse("Request method must be GET")
    if event.http_version != HTTP_VERSION:
        got = event.http_version.decode("ascii", "replace")
        raise _refuse(f"Request must be HTTP/{HTTP_VERSION.decode()}, got HTTP/{got} (RFC 6455 §4.1)")
    headers = _HandshakeHeaders(event, hidden=_REQUEST_FIELDS)
    try:
        target = event.target.decode("ascii")
    except UnicodeError as exc:
        raise _refuse("Invalid header, 'target' is not valid ASCII/IDNA") from exc
    _require_connection_upgrade(headers.tokens(CONNECTION))
    version = headers.last(SEC_WEBSOCKET_VERSION)
    if version != WEBSOCKET_VERSION:
        raise _refuse(
            "Missing header, 'Sec-WebSocket-Version'",
            UPGRADE_REQUIRED if version else BAD_REQUEST,
            _spelled([(SEC_WEBSOCKET_VERSION, WEBSOCKET_VERSION)]),
        )
    key = headers.last(SEC_WEBSOCKET_KEY)
    if key is None:
        raise _refuse("Missing header, 'Sec-WebSocket-Key'")
    if not _valid_key(key):
        raise _refuse(f"Invalid Sec-WebSocket-Key {key!r}: expected {NONCE_BYTES} bytes, base64-encoded "
                      "(RFC 6455 §4.2.1)")
    _require_upgrade_websocket(headers.last(UPGRADE_HEADER) or b"")
    host = headers.text(HOST, "idna")
    if host is None:
        raise _refuse("Missing header, 'Host'")
    request = Request(
        host=host,
        target=target,
        extensions=headers.extension_list(SEC_WEBSOCKET_EXTENSIONS),
        extra_headers=headers.extra,
        subprotocols=headers.tokens(SEC_WEBSOCKET_PROTOCOL) or [],
    )
    # As wsproto: repeated keys are folded with ", " (and then fail on the client).
    return request, headers.folded(SEC_WEBSOCKET_KEY) or key, headers


def _offers(requested: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(name, offer)`` for each well-formed offer, in the client's order.

    Each item of ``requested`` may itself hold several comma-separated
    offers (a raw header value); they are split by the RFC 6455 §9.1
    grammar. An offer that breaks the grammar is skipped: it cannot be
    accepted (RFC 7692 §7 declines malformed offers).
    """
    for item in requested:
        for offer in split_extension_list(item):
            try:
                name, _ = parse_extension(offer)
            except ExtensionSyntaxError:
                continue
            yield name, offer


def _negotiate_server(
    requested: Iterable[str], supported: Sequence[Extension], *, tolerant: bool,
) -> tuple[bytes | None, list[Extension]]:
    """
    Server-side negotiation (RFC 6455 §9.1, RFC 7692 §5).

    For each supported extension, the first of the client's offers (in the
    client's order of preference, across all its headers) that its
    ``accept()`` takes wins; later offers for the same extension are not
    looked at. Returns the ``Sec-WebSocket-Extensions`` value (``None`` if
    nothing was accepted) and the accepted extensions, in header order.
    With ``tolerant``, an ``accept()`` raising ``ValueError`` (unparsable
    offer) declines that offer.
    """
    accepts: dict[str, bytes] = {}
    accepted: dict[str, Extension] = {}
    for name, offer in _offers(requested):
        if name in accepts:
            continue
        for extension in supported:
            if extension.name != name:
                continue
            try:
                answer = extension.accept(offer)
            except ValueError:
                if not tolerant:
                    raise
                answer = None
            if answer is None or answer is False:
                continue
            name_bytes = name.encode("ascii")
            if answer is True or answer == "":
                accepts[name] = name_bytes
            else:
                accepts[name] = b"%s; %s" % (name_bytes, _ascii(answer, f"{name} parameters"))
            accepted[name] = extension
            break
    if not accepts:
        return None, []
    return b", ".join(accepts.values()), list(accepted.values())


def server_extensions_handshake(
    requested: Iterable[str], supported: list[Extension],
) -> bytes | None:
    """
    Agree on extensions as a server (RFC 6455 §9.1).

    :param requested: the client's offers, ``str`` each, e.g.
        ``["permessage-deflate; client_max_window_bits"]`` (an item holding
        several comma-separated offers is split by the RFC 6455 §9.1
        grammar; malformed offers are skipped).
    :param supported: the server's :class:`Extension` instances; ``accept()``
        is called on each with the offers naming it.
    :returns: the ``Sec-WebSocket-Extensions`` response value (``bytes``), or
        ``None`` if no extension was agreed.

    Per extension, the first offer it accepts is used (the client lists
    offers in order of preference, RFC 7692 §5); ``accept()`` is not called
    with the offers after it.
    """
    header, _ = _negotiate_server(requested, supported, tolerant=False)
    return header


def client_extensions_handshake(
    accepted: Iterable[str], supported: Sequence[Extension],
) -> list[Extension]:
    """
    Apply the server's accepted extensions as a client (RFC 6455 §9.1).

    :param accepted: the server's ``Sec-WebSocket-Extensions`` entries,
        ``str`` each (from all its headers, split by the RFC 6455 §9.1
        grammar).
    :param supported: the client's :class:`Extension` instances (the ones it
        offered); ``finalize()`` is called on the one each entry names.
    :returns: the accepted extensions, in the server's order.
    :raises RemoteProtocolError: an entry breaks the header grammar; names
        an extension not in ``supported`` (``"unrecognized extension
        <name>"``); names one extension twice; or ``finalize()`` rejects its
        parameters with ``ValueError`` (``"bad parameters for extension
        <name>: ..."``).
    """
    extensions: list[Extension] = []
    for item in accepted:
        for accept in split_extension_list(item):
            try:
                name, _ = parse_extension(accept)
            except ExtensionSyntaxError as exc:
                msg = f"invalid Sec-WebSocket-Extensions response: {exc}"
                raise _refuse(msg) from None
            for extension in supported:
                if extension.name == name:
                    if any(other.name == name for other in extensions):
                        msg = f"extension {name} accepted twice"
                        raise _refuse(msg)
                    try:
                        extension.finalize(accept)
                    except ValueError as exc:
                        msg = f"bad parameters for extension {name}: {exc}"
                        raise _refuse(msg) from exc
                    extensions.append(extension)
                    break
            else:
                msg = f"unrecognized extension {name}"
                raise _refuse(msg)
    return extensions
