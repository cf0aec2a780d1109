"""
wsspec.extensions
~~~~~~~~~~~~~~~~~

WebSocket extensions (RFC 6455 §9) and the hooks through which the frame
layer runs them.

An :class:`Extension` takes part in two phases:

1. Negotiation, during the opening handshake (RFC 6455 §9.1). A client puts
   :meth:`Extension.offer` into ``Sec-WebSocket-Extensions`` and, if the
   server answers with the extension, calls :meth:`Extension.finalize` with
   the server's answer. A server calls :meth:`Extension.accept` with each of
   the client's offers naming the extension and answers with what it returns.
2. Framing, once the connection is open. Only extensions whose
   :meth:`Extension.enabled` returns ``True`` are run. Inbound frames pass
   through ``frame_inbound_header``, ``frame_inbound_payload_data`` (and
   ``frame_inbound_pending`` / ``frame_inbound_drain`` while an extension
   holds output back) and ``frame_inbound_complete``; outbound frames
   through ``frame_outbound``. These are all the hooks the frame layer
   calls; each gets, as ``proto``, the frame layer's
   :class:`~wsspec.frame_protocol.FrameContext` (``client``,
   ``max_message_size``, ``message_ends``) and nothing else of it. A hook
   fails the connection by returning a close code and may say why in
   :attr:`Extension.failure_reason` (the Close frame's reason).

The base class implements every hook as a no-op, so a subclass overrides
only what it needs. Same names, signatures and defaults as
``wsproto.extensions``.

:class:`PerMessageDeflate` implements permessage-deflate (RFC 7692): its
negotiation (RFC 7692 §5, §7.1) and its frame hooks (§6, §7.2), with the
compression itself in :mod:`wsspec.deflate`.

:func:`split_extension_list` and :func:`parse_extension` read the
``Sec-WebSocket-Extensions`` grammar (RFC 6455 §9.1 with RFC 7230's token,
quoted-string and list rules); the handshake and :class:`PerMessageDeflate`
use them instead of splitting on commas.
"""

from __future__ import annotations

import importlib
import zlib
from abc import ABC, abstractmethod
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from ._generated.close_codes import CloseReason
from ._generated.connection import ConnectionType
from ._generated.framing import RsvBits
from ._generated.opcodes import CONTROL_OPCODES, Opcode
from ._generated.permessage_deflate import (
    CLIENT_MAX_WINDOW_BITS,
    CLIENT_NO_CONTEXT_TAKEOVER,
    DEFAULT_COMPRESSION_THRESHOLD,
    DEFAULT_MEM_LEVEL,
    DEFAULT_COMPRESSOR_WINDOW_BITS,
    DEFAULT_WINDOW_BITS,
    EXTENSION_NAME,
    KIND_MAX_WINDOW_BITS,
    MAX_WINDOW_BITS,
    MIN_WINDOW_BITS,
    PARAMETERS,
    SERVER_MAX_WINDOW_BITS,
    SERVER_NO_CONTEXT_TAKEOVER,
    VALUE_NONE,
    VALUE_REQUIRED,
    WINDOW_BITS_VALUES,
)
from .deflate import BACKEND_MODULES, ZLIB, Backend, DeflateError, Deflater, Inflater
from .frame_protocol import FrameContext
from .utilities import LocalProtocolError, RemoteProtocolError

if TYPE_CHECKING:
    # A frame hook's ``proto``: wsspec's frame layer passes its FrameContext;
    # wsproto-style code may pass a FrameDecoder or FrameProtocol (wsproto's contract).
    from .frame_protocol import FrameDecoder, FrameProtocol


#: The most inflated bytes handed over per piece of a compressed frame. A
#: frame that inflates to more is delivered in pieces of this size, so the
#: output of a small frame never sits in memory whole (a decompression bomb
#: costs one piece, not its size). Not a protocol constant: the peer cannot
#: observe it.
INFLATE_CHUNK_SIZE = 256 * 1024

# (a module global: on Python 3.11 Opcode.X goes through EnumType.__getattr__)
_CONTINUATION = Opcode.CONTINUATION


__all__ = [
    "Extension",
    "PerMessageDeflate",
    "SUPPORTED_EXTENSIONS",
    "ConfigurationError",
    "NegotiationError",
    "ExtensionSyntaxError",
    "split_extension_list",
    "parse_extension",
]


class Extension(ABC):
    """
    Base class of WebSocket extensions (RFC 6455 §9).

    Subclasses set the class attribute ``name`` (``str``, the extension token
    used in ``Sec-WebSocket-Extensions``, e.g. ``"permessage-deflate"``) and
    implement :meth:`offer`. All other methods have working defaults.
    """

    #: The extension token (``str``) as it appears in ``Sec-WebSocket-Extensions``.
    name: str

    def enabled(self) -> bool:
        """
        Whether the extension was negotiated and must process frames.

        The frame layer only runs the hooks of enabled extensions. Default:
        ``False``; :meth:`accept` / :meth:`finalize` typically switch it on.
        """
        return False

    @abstractmethod
    def offer(self) -> bool | str:
        """
        Client side: what to offer in ``Sec-WebSocket-Extensions``.

        Return ``True`` to offer the bare name, a ``str`` of parameters
        (``"a=1; b"``, ASCII, without the name) to offer ``name; a=1; b``, or
        ``False`` to offer nothing.
        """

    def accept(self, offer: str) -> bool | str | None:
        """
        Server side: answer one client offer for this extension.

        ``offer`` is the whole offer as a ``str``, name included (e.g.
        ``"permessage-deflate; client_max_window_bits"``). Return ``True``
        (or ``""``) to answer with the bare name, a ``str`` of parameters to
        answer ``name; params``, or ``None`` / ``False`` to decline.
        Default: ``None`` (decline).
        """
        return None

    def finalize(self, offer: str) -> None:
        """
        Client side: the server accepted this extension.

        ``offer`` is the server's answer as a ``str``, name included. Called
        at most once per accepted answer, before the connection is opened.
        May raise ``ValueError`` on unusable parameters; the handshake turns
        that into a ``RemoteProtocolError``. Default: does nothing.
        """
        return None

    # -- the frame hooks ----------------------------------------------------
    #
    # The frame layer calls exactly these hooks, with ``proto`` its
    # FrameContext (``client``, ``max_message_size``, ``message_ends``); an
    # extension learns nothing else about the frame layer. Failing: a hook
    # *returns* the close code (wsproto's contract, so direct callers get
    # it too) and may say why in :attr:`failure_reason`, which the frame
    # layer puts in its ParseFailed and thus in the Close frame.

    #: Why the last hook that returned a close code did so (``str``, becomes
    #: the reason of the Close frame, RFC 6455 §7.1.6), or ``None``. Set it
    #: before returning a code; the frame layer reads and clears it.
    failure_reason: str | None = None

    def frame_inbound_header(
        self,
        proto: FrameContext | FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        payload_length: int,
    ) -> CloseReason | RsvBits:
        """
        A frame header arrived (RFC 6455 §5.2): ``opcode``, its RSV bits,
        ``payload_length`` in bytes (as on the wire). Called once per frame,
        before any of its payload.

        :returns: the :class:`RsvBits` this extension claims (bits it gives
            a meaning to, so the frame layer does not reject them, RFC 6455
            §5.2), or a close code (``CloseReason`` or ``int``) to fail the
            connection. Default: claims no bits.
        """
        return RsvBits(False, False, False)

    def frame_inbound_payload_data(
        self, proto: FrameContext | FrameDecoder | FrameProtocol, data: bytes,
    ) -> bytes | CloseReason:
        """
        A piece of the current inbound frame's (unmasked) payload, ``bytes``
        (a frame's payload may come in several pieces; ``proto.message_ends``
        says this is the last piece of the message). An extension may
        transform "Extension data" (RFC 6455 §5.2, §9).

        :returns: the transformed ``bytes`` (possibly ``b""``), or a close
            code (``int``) to fail the connection (RFC 6455 §7.4).
            Default: ``data`` unchanged.
        """
        return data

    def frame_inbound_pending(self) -> bool:
        """
        Whether output of the payload already given is held back (e.g. an
        inflater limiting each piece's size). While it is true, the frame
        layer calls :meth:`frame_inbound_drain` instead of reading more
        payload or ending the frame, so no piece grows unbounded (RFC 6455
        §10.4). Data frames only. Default: ``False``.
        """
        return False

    def frame_inbound_drain(self, proto: FrameContext | FrameDecoder | FrameProtocol) -> bytes | CloseReason:
        """
        The next piece of held-back output (see :meth:`frame_inbound_pending`).

        :returns: ``bytes``, or a close code (``int``) to fail the
            connection (RFC 6455 §7.4). Default: ``b""``.
        """
        return b""

    def frame_inbound_complete(
        self, proto: FrameContext | FrameDecoder | FrameProtocol, fin: bool,
    ) -> bytes | CloseReason | None:
        """
        The current inbound frame ended (``fin`` is its FIN bit, RFC 6455
        §5.2; True: the message ended too for a data frame).

        :returns: extra ``bytes`` to append to the frame's payload, ``None``
            for none, or a close code to fail the connection. Default:
            ``None``.
        """
        return None

    def frame_outbound(
        self,
        proto: FrameContext | FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        data: bytes,
        fin: bool,
    ) -> tuple[RsvBits, bytes]:
        """
        An outbound frame (``opcode``, ``rsv``, payload ``data`` in bytes,
        ``fin``) is about to be written; extensions are applied in reverse
        order of negotiation (RFC 6455 §9).

        :returns: the ``(rsv, payload)`` to write instead. Default: unchanged.
        """
        return (rsv, data)


# ---------------------------------------------------------------------------
# The Sec-WebSocket-Extensions grammar (RFC 6455 §9.1, RFC 7230 §3.2.6, §7)
# ---------------------------------------------------------------------------

# The characters of the grammar. They are HTTP's (RFC 7230 §3.2.6: token,
# quoted-string, quoted-pair; §3.2.3: OWS; §7: the list rule) as RFC 6455
# §9.1 uses them, fixed for good, so they are plain constants here, not spec.

#: Characters of a token (tchar): ALPHA, DIGIT and ``!#$%&'*+-.^_`|~`` (RFC 7230 §3.2.6).
TOKEN_CHARS = frozenset("!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~")
#: Separates the elements of a list (RFC 7230 §7).
LIST_SEPARATOR = ","
#: Separates an extension's name and its parameters (RFC 6455 §9.1).
PARAMETER_SEPARATOR = ";"
#: Separates a parameter's name and its value (RFC 6455 §9.1).
VALUE_SEPARATOR = "="
#: Opens and closes a quoted-string (RFC 7230 §3.2.6).
QUOTE = '"'
#: Escapes the next character inside a quoted-string: quoted-pair (RFC 7230 §3.2.6).
ESCAPE = "\\"
#: Optional whitespace, OWS: SP and HTAB (RFC 7230 §3.2.3).
WHITESPACE = " \t"


class ExtensionSyntaxError(ValueError):
    """A ``Sec-WebSocket-Extensions`` element that breaks the RFC 6455 §9.1 grammar."""


#: Characters allowed unescaped inside a quoted string (RFC 7230 qdtext,
#: ASCII only: the handshake decodes header values as ASCII).
_QDTEXT = frozenset(chr(c) for c in range(0x20, 0x7F) if chr(c) not in (QUOTE, ESCAPE)) | {"\t"}
#: Characters a quoted-pair may escape: HTAB, SP and VCHAR.
_QUOTABLE = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"\t"}


def split_extension_list(value: str) -> list[str]:
    """
    Split a ``Sec-WebSocket-Extensions`` value into its elements.

    :param value: the header value, ``str`` (decode the header bytes as ASCII).
    :returns: the elements as ``str``, with surrounding whitespace removed
        and empty elements skipped (RFC 7230 §7), e.g.
        ``'a; p="x,y", b'`` -> ``['a; p="x,y"', 'b']``. Commas inside a
        quoted string do not split. Nothing is validated here; see
        :func:`parse_extension`.
    """
    elements = []
    start = 0
    quoted = False
    escaped = False
    for index, char in enumerate(value):
        if quoted:
            if escaped:
                escaped = False
            elif char == ESCAPE:
                escaped = True
            elif char == QUOTE:
                quoted = False
        elif char == QUOTE:
            quoted = True
        elif char == LIST_SEPARATOR:
            element = value[start:index].strip(WHITESPACE)
            if element:
                elements.append(element)
            start = index + 1
    element = value[start:].strip(WHITESPACE)
    if element:
        elements.append(element)
    return elements


def _skip_whitespace(text: str, index: int) -> int:
    length = len(text)
    while index < length and text[index] in WHITESPACE:
        index += 1
    return index


def _token(text: str, index: int, what: str) -> tuple[str, int]:
    start = index
    length = len(text)
    while index < length and text[index] in TOKEN_CHARS:
        index += 1
    if index == start:
        found = repr(text[index]) if index < length else "the end"
        msg = f"expected {what} (a token) at offset {start} of {text!r}, found {found}"
        raise ExtensionSyntaxError(msg)
    return text[start:index], index


def _quoted_string(text: str, index: int) -> tuple[str, int]:
    """Unquote the quoted-string starting at ``text[index]`` (a QUOTE)."""
    chars: list[str] = []
    index += 1
    length = len(text)
    while index < length:
        char = text[index]
        if char == QUOTE:
            return "".join(chars), index + 1
        if char == ESCAPE:
            index += 1
            if index == length:
                break
            char = text[index]
            if char not in _QUOTABLE:
                msg = f"invalid escaped character {char!r} in {text!r}"
                raise ExtensionSyntaxError(msg)
        elif char not in _QDTEXT:
            msg = f"invalid character {char!r} in a quoted string in {text!r}"
            raise ExtensionSyntaxError(msg)
        chars.append(char)
        index += 1
    msg = f"unterminated quoted string in {text!r}"
    raise ExtensionSyntaxError(msg)


def parse_extension(element: str) -> tuple[str, list[tuple[str, str | None]]]:
    """
    Parse one ``Sec-WebSocket-Extensions`` element (RFC 6455 §9.1)::

        extension       = token *( OWS ";" OWS extension-param )
        extension-param = token [ BWS "=" BWS ( token / quoted-string ) ]

    :param element: one element, ``str``, as :func:`split_extension_list`
        returns it, e.g. ``'permessage-deflate; client_max_window_bits="10"'``.
    :returns: ``(name, params)``: the extension token and its parameters in
        order as ``(name, value)`` pairs, ``value`` being ``None`` for a bare
        parameter and the unquoted ``str`` otherwise, e.g.
        ``("permessage-deflate", [("client_max_window_bits", "10")])``.
        Repeated parameters are all returned; judging them is the
        extension's business.
    :raises ExtensionSyntaxError: (a ``ValueError``) the element breaks the
        grammar, including a quoted value that does not unquote to a token
        (RFC 6455 §9.1).
    """
    length = len(element)
    index = _skip_whitespace(element, 0)
    name, index = _token(element, index, "an extension name")
    params: list[tuple[str, str | None]] = []
    index = _skip_whitespace(element, index)
    while index < length:
        if element[index] != PARAMETER_SEPARATOR:
            msg = f"expected {PARAMETER_SEPARATOR!r} at offset {index} of {element!r}, found {element[index]!r}"
            raise ExtensionSyntaxError(msg)
        index = _skip_whitespace(element, index + 1)
        param, index = _token(element, index, "a parameter name")
        index = _skip_whitespace(element, index)
        value: str | None = None
        if index < length and element[index] == VALUE_SEPARATOR:
            index = _skip_whitespace(element, index + 1)
            if index < length and element[index] == QUOTE:
                value, index = _quoted_string(element, index)
                if not value or not all(char in TOKEN_CHARS for char in value):
                    msg = f"the quoted value {value!r} of {param!r} is not a token (RFC 6455 §9.1)"
                    raise ExtensionSyntaxError(msg)
            else:
                value, index = _token(element, index, f"a value for {param!r}")
            index = _skip_whitespace(element, index)
        params.append((param, value))
    return name, params


# ---------------------------------------------------------------------------
# permessage-deflate (RFC 7692)
# ---------------------------------------------------------------------------


class ConfigurationError(LocalProtocolError, ValueError):
    """
    A :class:`PerMessageDeflate` setting out of range (caller misuse). It is
    also a ``ValueError``, which is what wsproto raises in the same cases.
    """


class NegotiationError(RemoteProtocolError, ValueError):
    """
    The server's permessage-deflate response breaks RFC 7692 §7: raised by
    :meth:`PerMessageDeflate.finalize`. It is also a ``ValueError``, so the
    handshake reports it like any extension's refusal: as a
    ``RemoteProtocolError`` ("bad parameters for extension ...") that fails
    the opening handshake.
    """


class _BadParameters(ValueError):
    """An offer or response whose parameters break RFC 7692 §7 (internal)."""


class _Settings(NamedTuple):
    """permessage-deflate parameters: configured, offered, or agreed."""

    client_no_context_takeover: bool
    server_no_context_takeover: bool
    #: Window bits (8..15); ``None``: not configured.
    client_max_window_bits: int | None
    server_max_window_bits: int | None


_RSV1 = RsvBits(True, False, False)
_PARAMS_JOIN = PARAMETER_SEPARATOR + " "


def _format_params(params: list[tuple[str, int | None]]) -> str:
    return _PARAMS_JOIN.join(name if value is None else f"{name}{VALUE_SEPARATOR}{value}" for name, value in params)


def _read_params(params: list[tuple[str, str | None]], *, response: bool) -> dict[str, int | None]:
    """
    Check permessage-deflate parameters against their grammar (RFC 7692 §7).

    :returns: parameter name -> window bits (``int``) or ``None`` (bare).
    :raises _BadParameters: an unknown or repeated parameter, a value where
        none is allowed or none where one is required, a value that is not
        8..15 written without leading zeros.
    """
    result: dict[str, int | None] = {}
    where = "response" if response else "offer"
    for name, raw in params:
        parameter = PARAMETERS.get(name)
        if parameter is None:
            msg = f"unknown parameter {name!r} in the {where}"
            raise _BadParameters(msg)
        if name in result:
            msg = f"parameter {name!r} appears twice in the {where}"
            raise _BadParameters(msg)
        rule = parameter.response if response else parameter.offer
        if raw is None:
            if rule == VALUE_REQUIRED:
                msg = f"parameter {name!r} needs a value in the {where}"
                raise _BadParameters(msg)
            result[name] = None
        elif rule == VALUE_NONE:
            msg = f"parameter {name!r} takes no value, got {raw!r}"
            raise _BadParameters(msg)
        else:
            bits = WINDOW_BITS_VALUES.get(raw)
            if bits is None:
                msg = (f"parameter {name!r} has value {raw!r}; expected {MIN_WINDOW_BITS}..{MAX_WINDOW_BITS} "
                       "without leading zeros")
                raise _BadParameters(msg)
            result[name] = bits
    return result


def _bits(value: int | None) -> int:
    """Window bits of agreed settings (always set there), the default 15 where unset."""
    return DEFAULT_WINDOW_BITS if value is None else value


def _check_window_bits(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_WINDOW_BITS <= value <= MAX_WINDOW_BITS:
        msg = f"Window size must be between {MIN_WINDOW_BITS} and {MAX_WINDOW_BITS} inclusive, got {value!r}"
        raise ConfigurationError(msg)
    return value


#: zlib's memLevel range (zlib.h: 1..MAX_MEM_LEVEL).
_MEM_LEVELS = range(1, 10)


def _load_backend(value: str | ModuleType | Backend | None) -> Backend:
    """The zlib backend ``zlib_backend`` names (see :class:`PerMessageDeflate`)."""
    if value is None:
        return ZLIB
    if isinstance(value, Backend):
        return value
    if isinstance(value, ModuleType):
        missing = [attr for attr in ("compressobj", "decompressobj", "error", "DEFLATED", "Z_DEFAULT_COMPRESSION")
                   if not hasattr(value, attr)]
        if missing:
            msg = f"zlib_backend {value.__name__!r} is not zlib-compatible: it lacks {', '.join(missing)}"
            raise ConfigurationError(msg)
        return ZLIB if value is zlib else Backend.from_module(value)
    if not isinstance(value, str) or value not in BACKEND_MODULES:
        msg = (f"zlib_backend must be a module or one of {', '.join(map(repr, BACKEND_MODULES))}, "
               f"got {value!r}")
        raise ConfigurationError(msg)
    module_name, extra = BACKEND_MODULES[value]
    if extra is None:
        return ZLIB
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        msg = (f"zlib_backend {value!r} needs the module {module_name}, which is not installed: "
               f'pip install "wsspec[{extra}]"')
        raise ConfigurationError(msg) from None
    return Backend.from_module(module)


def _check_level(level: int | None, backend: Backend) -> int | None:
    if level is None:
        return None
    if isinstance(level, bool) or not isinstance(level, int) or not backend.min_level <= level <= backend.max_level:
        limit = " (ISA-L compresses at levels 0-3 only)" if backend.max_level < zlib.Z_BEST_COMPRESSION else ""
        msg = (f"compression_level must be an int from {backend.min_level} to {backend.max_level} for the "
               f"{backend.name} backend{limit}, got {level!r}")
        raise ConfigurationError(msg)
    return level


def _check_int(name: str, value: int, allowed: range | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (
            value < 0 if allowed is None else value not in allowed):
        expected = "an int >= 0 (bytes)" if allowed is None else f"an int from {allowed[0]} to {allowed[-1]}"
        msg = f"{name} must be {expected}, got {value!r}"
        raise ConfigurationError(msg)
    return value


class _Tuning(NamedTuple):
    """How this endpoint compresses (none of it is negotiated)."""

    #: Messages shorter than this many bytes go out uncompressed.
    compression_threshold: int
    mem_level: int
    #: ``None``: the backend's default.
    compression_level: int | None
    backend: Backend


_DEFAULT_TUNING = _Tuning(DEFAULT_COMPRESSION_THRESHOLD, DEFAULT_MEM_LEVEL, None, ZLIB)


def _ends_message(proto: FrameContext | FrameDecoder | FrameProtocol) -> bool:
    """Whether the payload piece being passed to ``frame_inbound_payload_data`` ends its message.

    wsspec's frame layer says so in its :class:`~wsspec.frame_protocol.FrameContext`.
    wsproto-style callers pass their FrameDecoder (or FrameProtocol, or
    anything else): its ``header`` and ``payload_consumed`` tell, as wsproto's
    own extension reads them; without them the answer is no (the message then
    ends in ``frame_inbound_complete``).
    """
    if isinstance(proto, FrameContext):
        return proto.message_ends
    header = getattr(proto, "header", None)
    return header is not None and bool(header.fin) and getattr(proto, "payload_consumed", None) == header.payload_len


class PerMessageDeflate(Extension):
    """
    permessage-deflate, RFC 7692: every data message compressed with DEFLATE.

    The parameters configure what this endpoint offers (as a client) or
    insists on (as a server); each is optional:

    :param client_no_context_takeover: ``bool``. The client starts each
        message it sends with an empty LZ77 window (RFC 7692 §7.1.1.2):
        worse compression, but no window kept between messages.
    :param client_max_window_bits: ``int`` 8..15 or ``None``. The client's
        LZ77 window is at most ``2**bits`` bytes (§7.1.2.2). As a client: a
        promise in the offer. As a server: announced to the client, but only
        if the client's offer names ``client_max_window_bits`` (bare or with
        a value); RFC 7692 §7.1.2.2 forbids it otherwise, and the client
        then keeps its default window of 32 KiB, which this server inflates.
        A wsspec client not configured with it offers 15 (wsproto's offer)
        but compresses with at most 12 bits
        (``DEFAULT_COMPRESSOR_WINDOW_BITS``): a sender may always use a
        smaller window than agreed. Configure 15 to compress with 15.
    :param server_no_context_takeover: ``bool``. The server starts each
        message it sends with an empty window (§7.1.1.1).
    :param server_max_window_bits: ``int`` 8..15 or ``None``. The server's
        window is at most ``2**bits`` bytes (§7.1.2.1): requested by a
        client, imposed on itself by a server. A server not configured with
        it answers with ``server_max_window_bits=12`` (the smaller of 12 and
        the offered value), lowering its own window, which §7.1.2.1 allows
        whatever the offer said: ``DEFAULT_COMPRESSOR_WINDOW_BITS``, chosen by
        measurement (docs: "permessage-deflate settings"). Configure 15 to
        answer as wsproto 1.3.2 does.

    wsspec's own options, keyword-only; none of them is negotiated, the
    peer cannot tell them apart from other valid choices:

    :param compression_threshold: ``int`` >= 0, bytes. A message whose
        payload is shorter is sent uncompressed, RSV1 clear (RFC 7692 §6
        lets a sender choose per message); 0 compresses every message, as
        wsproto does. Default ``DEFAULT_COMPRESSION_THRESHOLD`` (256). Only
        a message sent in one frame can be measured: the first frame of a
        fragmented message is always compressed. Receiving is unaffected.
    :param mem_level: ``int`` 1..9, zlib's memLevel for the messages sent:
        the match finder's memory (zlib's deflate takes ``2**(window_bits +
        2) + 2**(mem_level + 9)`` bytes). Default ``DEFAULT_MEM_LEVEL`` (5;
        wsproto uses zlib's 8).
    :param compression_level: ``int`` or ``None``: -1 (zlib's default, 6)
        or 0..9 (0: stored, 1: fastest, 9: smallest); ISA-L accepts 0..3
        only. ``None`` (default): the backend's default (ISA-L: 2).
    :param zlib_backend: which zlib compresses and inflates, for this
        connection only: ``None`` or ``"zlib"`` (the standard library, the
        default), ``"zlib-ng"`` (``zlib_ng.zlib_ng``, ``pip install
        "wsspec[zlib-ng]"``), ``"isal"`` (``isal.isal_zlib``, ``pip install
        "wsspec[isal]"``), or a zlib-compatible module object. Inflation is
        bounded the same way with each (``max_message_size``, pieces of
        ``INFLATE_CHUNK_SIZE``). ISA-L cannot compress with an 8-bit window;
        a compressor limited to 8 bits uses the standard zlib.
    :raises ConfigurationError: (a ``LocalProtocolError`` and a
        ``ValueError``) a window size outside 8..15 (wsproto 1.3.2 accepts
        only 9..15; 8 works here, see :mod:`wsspec.deflate`); a negative or
        non-int ``compression_threshold``; ``mem_level`` outside 1..9;
        ``compression_level`` outside the backend's range (ISA-L: 0..3); an
        unknown ``zlib_backend``, or one whose module is not installed (the
        message names the extra to install).

    Negotiation (RFC 7692 §5, §7):

    - :meth:`offer` (client) makes wsproto's offer: both window sizes
      (15 unless configured) and the configured no_context_takeover
      parameters; naming ``client_max_window_bits`` lets a server limit
      the client.
    - :meth:`accept` (server) answers one offer; an offer with an unknown,
      repeated or malformed parameter or a value out of range is declined
      (``None``) and leaves no trace, so the handshake moves on to the next
      offer.
    - :meth:`finalize` (client) checks the server's response and raises
      :class:`NegotiationError` if RFC 7692 §7 says the client must fail.

    After :meth:`accept` or :meth:`finalize` succeeds, :meth:`enabled` is
    true, the four parameter attributes read the *agreed* values, and the
    frame hooks compress every data message sent that is not shorter than
    ``compression_threshold`` (RSV1 on its first frame only, control frames
    never) and inflate every received message whose first frame has RSV1
    (RFC 7692 §6). zlib objects are created on first use and, with no
    context takeover, dropped after every message.

    As in wsproto, the extension can also be enabled without negotiation by
    setting ``_enabled = True`` (wsproto's tests do); the hooks then use
    the configured parameters and take the side from ``proto.client``.
    ``_compressor`` / ``_decompressor`` read the zlib objects in use
    (``None`` when none is allocated). The hooks can be called directly,
    with any ``proto`` (wsspec's frame layer passes its
    :class:`~wsspec.frame_protocol.FrameContext`; wsproto-style code its
    FrameDecoder or FrameProtocol), and follow wsproto's contract: they
    *return* a close code on failure, whoever calls them.

    Inbound errors fail the connection: the hook returns the code and sets
    ``failure_reason`` to the rule broken; wsspec's frame layer raises
    :class:`~wsspec.frame_protocol.ParseFailed` with both, and the
    Connection emits a ``CloseConnection`` with the code and that reason:

    - 1002 PROTOCOL_ERROR: RSV1 on a control frame or on a frame that is not
      the first of its message (RFC 7692 §6).
    - 1007 INVALID_FRAME_PAYLOAD_DATA: compressed data that does not inflate.
    - 1009 MESSAGE_TOO_BIG: a compressed message inflating past
      :attr:`max_message_size`.

    One instance serves one connection.
    """

    name = EXTENSION_NAME

    DEFAULT_CLIENT_MAX_WINDOW_BITS = DEFAULT_WINDOW_BITS
    DEFAULT_SERVER_MAX_WINDOW_BITS = DEFAULT_WINDOW_BITS

    # The options, shared by every instance left at the defaults (an idle
    # connection holds nothing more for them).
    _tuning: _Tuning = _DEFAULT_TUNING

    def __init__(
        self,
        client_no_context_takeover: bool = False,
        client_max_window_bits: int | None = None,
        server_no_context_takeover: bool = False,
        server_max_window_bits: int | None = None,
        *,
        compression_threshold: int = DEFAULT_COMPRESSION_THRESHOLD,
        mem_level: int = DEFAULT_MEM_LEVEL,
        compression_level: int | None = None,
        zlib_backend: str | ModuleType | None = None,
    ) -> None:
        backend = _load_backend(zlib_backend)
        tuning = _Tuning(
            _check_int("compression_threshold", compression_threshold, None),
            _check_int("mem_level", mem_level, _MEM_LEVELS),
            _check_level(compression_level, backend),
            backend,
        )
        if tuning != _DEFAULT_TUNING:
            self._tuning = tuning
        self._config = _Settings(
            bool(client_no_context_takeover),
            bool(server_no_context_takeover),
            None if client_max_window_bits is None else _check_window_bits(client_max_window_bits),
            None if server_max_window_bits is None else _check_window_bits(server_max_window_bits),
        )
        self._max_message_size: int | None = None
        # Set once negotiated (accept/finalize), with the side we negotiated as.
        self._agreed: _Settings | None = None
        self._side: ConnectionType | None = None
        # Switched on by negotiation or by assigning ``_enabled`` (wsproto's attribute).
        self._on = False
        # Created by negotiation, or on first use from ``proto.client`` (their
        # zlib objects are created on first use in any case).
        self._deflater: Deflater | None = None
        self._inflater: Inflater | None = None
        # zlib objects assigned to _compressor/_decompressor before the wrappers exist.
        # (A 1-tuple: "was assigned this value"; None: not assigned.)
        self._adopt_compressor: tuple[zlib._Compress | None] | None = None
        self._adopt_decompressor: tuple[zlib._Decompress | None] | None = None
        # Inbound state: the current frame is a data frame / of a compressed
        # message; a data message is unfinished; its compression; inflated size.
        self._reset_inbound()

    # -- parameters ------------------------------------------------------------

    def _current(self) -> _Settings:
        """The agreed settings once negotiated, the configured ones before."""
        agreed = self._agreed
        return self._config if agreed is None else agreed

    def _configure(self, **changes: Any) -> None:
        self._config = self._config._replace(**changes)

    @property
    def client_no_context_takeover(self) -> bool:
        """``bool``: the client resets its LZ77 window per message (configured, or agreed once enabled)."""
        return bool(self._current().client_no_context_takeover)

    @client_no_context_takeover.setter
    def client_no_context_takeover(self, value: bool) -> None:
        self._configure(client_no_context_takeover=bool(value))

    @property
    def server_no_context_takeover(self) -> bool:
        """``bool``: the server resets its LZ77 window per message (configured, or agreed once enabled)."""
        return bool(self._current().server_no_context_takeover)

    @server_no_context_takeover.setter
    def server_no_context_takeover(self, value: bool) -> None:
        self._configure(server_no_context_takeover=bool(value))

    @property
    def client_max_window_bits(self) -> int:
        """
        The client's LZ77 window in bits, 8..15 (configured or the default
        15; the agreed value once enabled). Setting a value outside 8..15
        raises :class:`ConfigurationError`.
        """
        bits = self._current().client_max_window_bits
        return self.DEFAULT_CLIENT_MAX_WINDOW_BITS if bits is None else bits

    @client_max_window_bits.setter
    def client_max_window_bits(self, value: int) -> None:
        self._configure(client_max_window_bits=_check_window_bits(value))

    @property
    def server_max_window_bits(self) -> int:
        """
        The server's LZ77 window in bits, 8..15 (configured or the default
        15; the agreed value once enabled). Setting a value outside 8..15
        raises :class:`ConfigurationError`.
        """
        bits = self._current().server_max_window_bits
        return self.DEFAULT_SERVER_MAX_WINDOW_BITS if bits is None else bits

    @server_max_window_bits.setter
    def server_max_window_bits(self, value: int) -> None:
        self._configure(server_max_window_bits=_check_window_bits(value))

    @property
    def compression_threshold(self) -> int:
        """
        ``int``, bytes: a message sent in one frame whose payload is shorter
        goes out uncompressed (RSV1 clear, RFC 7692 §6); 0 compresses every
        message. Set at construction.
        """
        return self._tuning.compression_threshold

    @property
    def mem_level(self) -> int:
        """``int`` 1..9: zlib's memLevel for the messages sent. Set at construction."""
        return self._tuning.mem_level

    @property
    def compression_level(self) -> int:
        """
        ``int``: the compression level of the messages sent (-1 means zlib's
        default, 6; ISA-L 0..3, default 2). Set at construction.
        """
        level = self._tuning.compression_level
        return self._tuning.backend.default_level if level is None else level

    @property
    def zlib_backend(self) -> str:
        """
        ``str``: the name of the zlib backend (``"zlib"``, ``"zlib-ng"``,
        ``"isal"``, or a module's name). Set at construction.
        """
        return self._tuning.backend.name

    @property
    def max_message_size(self) -> int | None:
        """
        The largest inflated size, in bytes, of one compressed message from
        the peer; ``None`` (the default) for no limit.

        Inflation stops as soon as a message would exceed it, after
        producing at most ``max_message_size + 1`` bytes of output, and the
        connection fails with 1009 (MESSAGE_TOO_BIG): a decompression bomb
        never gets to allocate its full size. The connection's own
        ``max_message_size`` (16 MiB by default, see
        :class:`~wsspec.connection.Connection`) applies as well; the smaller
        of the two wins. Uncompressed messages are not counted here. May be
        changed at any time.

        :raises ConfigurationError: a negative size or a non-int.
        """
        return self._max_message_size

    @max_message_size.setter
    def max_message_size(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            msg = f"max_message_size must be None or an int >= 0 (bytes), got {value!r}"
            raise ConfigurationError(msg)
        self._max_message_size = value

    # -- negotiation -----------------------------------------------------------

    def enabled(self) -> bool:
        """
        ``True`` once :meth:`accept` or :meth:`finalize` agreed on
        compression, or once ``_enabled`` was set to ``True``.
        """
        return self._on

    @property
    def _enabled(self) -> bool:
        """
        wsproto's private switch, kept because wsproto's own tests and code
        copied from them set it: assigning ``True`` enables the extension
        without negotiation, with the configured parameters (15 bits where
        none is configured); the side (client or server) is then taken from
        ``proto.client`` when a hook first needs a compression object.
        Assigning ``False`` disables it and forgets all compression state.
        """
        return self._on

    @_enabled.setter
    def _enabled(self, value: bool) -> None:
        value = bool(value)
        if value == self._on:
            return
        self._on = value
        if not value:
            self._agreed = self._side = None
            self._deflater = self._inflater = None
            self._reset_inbound()

    @property
    def _compressor(self) -> zlib._Compress | None:
        """wsproto's attribute: the zlib compression object in use, or ``None`` (none allocated)."""
        deflater = self._deflater
        if deflater is None:
            adopted = self._adopt_compressor
            return None if adopted is None else adopted[0]
        return deflater._obj

    @_compressor.setter
    def _compressor(self, value: zlib._Compress | None) -> None:
        if self._deflater is None:
            self._adopt_compressor = (value,)
        else:
            self._deflater._obj = value

    @property
    def _decompressor(self) -> zlib._Decompress | None:
        """wsproto's attribute: the zlib decompression object in use, or ``None`` (none allocated)."""
        inflater = self._inflater
        if inflater is None:
            adopted = self._adopt_decompressor
            return None if adopted is None else adopted[0]
        return inflater._obj

    @_decompressor.setter
    def _decompressor(self, value: zlib._Decompress | None) -> None:
        if self._inflater is None:
            self._adopt_decompressor = (value,)
        else:
            self._inflater._obj = value

    def _reset_inbound(self) -> None:
        self._frame_is_data = self._frame_compressed = False
        self._message_compressed = False
        self._tail_fed = False
        self._inbound_size = 0

    def _settings(self) -> _Settings:
        """What the hooks use: the agreed settings, or the configured ones with 15-bit defaults."""
        agreed = self._agreed
        if agreed is not None:
            return agreed
        config = self._config
        return config._replace(
            client_max_window_bits=self.client_max_window_bits,
            server_max_window_bits=self.server_max_window_bits,
        )

    def _make_coders(self, proto: FrameContext | FrameDecoder | FrameProtocol) -> tuple[Deflater, Inflater]:
        """Create the Deflater/Inflater wrappers for the negotiated side, else for ``proto.client``'s."""
        side = self._side
        if side is None:
            side = ConnectionType.CLIENT if getattr(proto, "client", False) else ConnectionType.SERVER
        return self._create_coders(side, self._settings())

    def _deflater_for(self, proto: FrameContext | FrameDecoder | FrameProtocol) -> Deflater:
        deflater = self._deflater
        return self._make_coders(proto)[0] if deflater is None else deflater

    def _inflater_for(self, proto: FrameContext | FrameDecoder | FrameProtocol) -> Inflater:
        inflater = self._inflater
        return self._make_coders(proto)[1] if inflater is None else inflater

    def _offered(self) -> dict[str, int | None]:
        """The parameters :meth:`offer` sends, name -> window bits or ``None``, in wsproto's order."""
        config = self._config
        params: dict[str, int | None] = {
            # Both window sizes are always named, with 15 where none is
            # configured: wsproto's offer. 15 limits nothing, and naming
            # client_max_window_bits lets the server limit the client
            # (RFC 7692 §7.1.2.1, §7.1.2.2).
            CLIENT_MAX_WINDOW_BITS: self.client_max_window_bits,
            SERVER_MAX_WINDOW_BITS: self.server_max_window_bits,
        }
        if config.client_no_context_takeover:
            params[CLIENT_NO_CONTEXT_TAKEOVER] = None
        if config.server_no_context_takeover:
            params[SERVER_NO_CONTEXT_TAKEOVER] = None
        return params

    def offer(self) -> str:
        """
        Client side: the parameters of our offer (RFC 7692 §5, §7.1), a
        ``str``, the same as wsproto's: ``"client_max_window_bits=15;
        server_max_window_bits=15"`` by default, the configured values in
        their place and the configured no_context_takeover parameters after
        them, e.g. ``"client_max_window_bits=12; server_max_window_bits=10;
        client_no_context_takeover"``. The handshake prefixes the name.
        Calling it changes nothing.
        """
        return _format_params(list(self._offered().items()))

    def accept(self, offer: str) -> str | None:
        """
        Server side: answer one client offer (RFC 7692 §5, §7).

        :param offer: the whole offer, ``str``, name included, e.g.
            ``"permessage-deflate; client_max_window_bits"``.
        :returns: the response parameters (``str``, possibly ``""`` for the
            bare name), after which the extension is enabled; or ``None``
            to decline an offer that is malformed, names another extension,
            or has an unknown, repeated or invalid parameter (RFC 7692 §7).
            A declined offer changes nothing.

        The response: ``server_no_context_takeover`` if offered or
        configured; ``client_no_context_takeover`` if offered or configured;
        ``server_max_window_bits`` with the smaller of the offered and the
        configured value, ``DEFAULT_COMPRESSOR_WINDOW_BITS`` (12) standing for
        the latter when none is configured (§7.1.2.1 allows it unasked);
        ``client_max_window_bits`` only if the offer named it (§7.1.2.2),
        with the smaller of the offered and configured values, and left out
        when neither has a value.
        """
        try:
            name, raw = parse_extension(offer)
            if name != self.name:
                return None
            offered = _read_params(raw, response=False)
        except ValueError:
            return None
        config = self._config

        server_nct = SERVER_NO_CONTEXT_TAKEOVER in offered or config.server_no_context_takeover
        client_nct = CLIENT_NO_CONTEXT_TAKEOVER in offered or config.client_no_context_takeover
        own = DEFAULT_COMPRESSOR_WINDOW_BITS if config.server_max_window_bits is None else config.server_max_window_bits
        limits = [b for b in (offered.get(SERVER_MAX_WINDOW_BITS), own) if b is not None]
        server_bits = min(limits)
        client_bits = None
        if CLIENT_MAX_WINDOW_BITS in offered:
            limits = [b for b in (offered[CLIENT_MAX_WINDOW_BITS], config.client_max_window_bits) if b is not None]
            client_bits = min(limits) if limits else None

        response: list[tuple[str, int | None]] = []
        if server_nct:
            response.append((SERVER_NO_CONTEXT_TAKEOVER, None))
        if client_nct:
            response.append((CLIENT_NO_CONTEXT_TAKEOVER, None))
        response.append((SERVER_MAX_WINDOW_BITS, server_bits))
        if client_bits is not None:
            response.append((CLIENT_MAX_WINDOW_BITS, client_bits))
        self._enable(ConnectionType.SERVER, _Settings(
            client_nct,
            server_nct,
            DEFAULT_WINDOW_BITS if client_bits is None else client_bits,
            server_bits,
        ))
        return _format_params(response)

    def finalize(self, offer: str) -> None:
        """
        Client side: apply the server's response (RFC 7692 §7).

        :param offer: the server's response element, ``str``, name included,
            e.g. ``"permessage-deflate; client_max_window_bits=10"``.
        :raises NegotiationError: (a ``RemoteProtocolError`` and a
            ``ValueError``) the response is malformed; has an unknown,
            repeated or invalid parameter (a window size outside 8..15, a
            value on a no_context_takeover parameter, a bare window size);
            names ``client_max_window_bits`` although our offer did not, or
            with a larger value than ours; omits ``server_no_context_takeover``
            or ``server_max_window_bits`` although we asked for them, or
            raises the latter. The client must then fail the connection
            (RFC 7692 §7); the handshake does.
        """
        try:
            name, raw = parse_extension(offer)
            if name != self.name:
                msg = f"the response names {name!r}, not {self.name!r}"
                raise _BadParameters(msg)
            answered = _read_params(raw, response=True)
        except ValueError as exc:
            raise NegotiationError(f"invalid {self.name} response {offer!r}: {exc}") from None
        offered = self._offered()
        config = self._config
        for param, bits in answered.items():
            if PARAMETERS[param].response_needs_offer and param not in offered:
                msg = f"the response names {param}, which the offer did not (RFC 7692 §7.1.2.2)"
                raise NegotiationError(msg)
            if PARAMETERS[param].kind == KIND_MAX_WINDOW_BITS:
                mine = offered.get(param)
                if mine is not None and bits is not None and bits > mine:
                    msg = f"the response raises {param} to {bits}, above the offered {mine} (RFC 7692 §7.1.2)"
                    raise NegotiationError(msg)
        if config.server_no_context_takeover and SERVER_NO_CONTEXT_TAKEOVER not in answered:
            msg = f"the response drops {SERVER_NO_CONTEXT_TAKEOVER}, which the offer asked for (RFC 7692 §7.1.1.1)"
            raise NegotiationError(msg)
        if config.server_max_window_bits is not None and SERVER_MAX_WINDOW_BITS not in answered:
            msg = f"the response drops {SERVER_MAX_WINDOW_BITS}, which the offer asked for (RFC 7692 §7.1.2.1)"
            raise NegotiationError(msg)

        client_bits = answered.get(CLIENT_MAX_WINDOW_BITS, config.client_max_window_bits)
        server_bits = answered.get(SERVER_MAX_WINDOW_BITS)
        self._enable(ConnectionType.CLIENT, _Settings(
            config.client_no_context_takeover or CLIENT_NO_CONTEXT_TAKEOVER in answered,
            SERVER_NO_CONTEXT_TAKEOVER in answered,
            DEFAULT_WINDOW_BITS if client_bits is None else client_bits,
            DEFAULT_WINDOW_BITS if server_bits is None else server_bits,
        ))

    def _enable(self, side: ConnectionType, agreed: _Settings) -> None:
        """Commit an agreement: this endpoint compresses as ``side`` and inflates the other."""
        self._agreed = agreed
        self._side = side
        self._on = True
        self._create_coders(side, agreed)
        self._reset_inbound()

    def _create_coders(self, side: ConnectionType, agreed: _Settings) -> tuple[Deflater, Inflater]:
        client = side is ConnectionType.CLIENT
        own_bits, peer_bits = ((agreed.client_max_window_bits, agreed.server_max_window_bits) if client
                               else (agreed.server_max_window_bits, agreed.client_max_window_bits))
        own_nct, peer_nct = ((agreed.client_no_context_takeover, agreed.server_no_context_takeover) if client
                             else (agreed.server_no_context_takeover, agreed.client_no_context_takeover))
        configured = self._config.client_max_window_bits if client else self._config.server_max_window_bits
        own_window = _bits(own_bits)
        if configured is None:
            # Not configured: compress with at most wsspec's default window (a
            # sender may use less than agreed, RFC 7692 §7.1.2).
            own_window = min(own_window, DEFAULT_COMPRESSOR_WINDOW_BITS)
        # Small wrappers; their zlib objects are created on first use.
        tuning = self._tuning
        deflater = self._deflater = Deflater(own_window, own_nct, tuning.compression_level, tuning.mem_level,
                                             tuning.backend)
        inflater = self._inflater = Inflater(_bits(peer_bits), peer_nct, tuning.backend)
        if self._adopt_compressor is not None:
            (deflater._obj,) = self._adopt_compressor
            self._adopt_compressor = None
        if self._adopt_decompressor is not None:
            (inflater._obj,) = self._adopt_decompressor
            self._adopt_decompressor = None
        return deflater, inflater

    # -- frames ----------------------------------------------------------------
    #
    # Failing: every hook returns the close code (wsproto's contract) and
    # sets ``failure_reason`` (declared on Extension), which wsspec's frame
    # layer puts in the Close frame.

    def _failed(self, msg: str, code: CloseReason) -> CloseReason:
        self.failure_reason = msg
        return code

    def frame_inbound_header(
        self,
        proto: FrameContext | FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        payload_length: int,
    ) -> CloseReason | RsvBits:
        """
        A frame header arrived (``payload_length`` in bytes, still compressed).

        Claims RSV1 on every frame (as wsproto does; a control frame with
        RSV1 has failed before that matters). On the first frame of a data
        message RSV1 marks the message compressed (RFC 7692 §6), and the
        zlib decompression object is made ready (``_decompressor``). A
        control frame leaves the state of an unfinished compressed message
        alone. Whether a CONTINUATION frame may come at all is the frame
        layer's business (RFC 6455 §5.4); it is inflated only inside a
        compressed message.

        :returns: the claimed :class:`RsvBits` (``RsvBits(True, False,
            False)``), or ``CloseReason.PROTOCOL_ERROR`` (1002) for RSV1 on a
            control frame or on a CONTINUATION frame (RFC 7692 §6), with the
            rule broken in ``failure_reason``.
        """
        if opcode in CONTROL_OPCODES:
            if rsv.rsv1:
                msg = f"RSV1 set on a {opcode.name} frame; control frames are never compressed (RFC 7692 §6)"
                return self._failed(msg, CloseReason.PROTOCOL_ERROR)
            self._frame_is_data = self._frame_compressed = False
            return _RSV1
        self._frame_is_data = True
        if opcode is _CONTINUATION:
            if rsv.rsv1:
                msg = "RSV1 set on a CONTINUATION frame; only a message's first frame carries it (RFC 7692 §6)"
                return self._failed(msg, CloseReason.PROTOCOL_ERROR)
            self._frame_compressed = self._message_compressed
        else:
            self._frame_compressed = self._message_compressed = rsv.rsv1
            self._inbound_size = 0
            if rsv.rsv1:
                self._inflater_for(proto).start()
        return _RSV1

    def _limit(self, proto: FrameContext | FrameDecoder | FrameProtocol) -> int | None:
        """The tighter of our own limit and the connection's (``proto.max_message_size``)."""
        own = self._max_message_size
        connection: int | None = getattr(proto, "max_message_size", None)
        if connection is None or (own is not None and own <= connection):
            return own
        return connection

    def _inflates_too_far(self, limit: int) -> CloseReason:
        msg = f"compressed message inflates past max_message_size ({limit} bytes) (RFC 6455 §10.4)"
        return self._failed(msg, CloseReason.MESSAGE_TOO_BIG)

    def _corrupt(self, exc: Exception) -> CloseReason:
        return self._failed(f"{self.name}: {exc}", CloseReason.INVALID_FRAME_PAYLOAD_DATA)

    def frame_inbound_payload_data(
        self, proto: FrameContext | FrameDecoder | FrameProtocol, data: bytes,
    ) -> bytes | CloseReason:
        """
        A piece of a frame's (unmasked) payload, ``bytes``: inflated if its
        message is compressed (RFC 7692 §6.2, §7.2.2).

        :returns: the inflated bytes for a compressed message (at most
            ``INFLATE_CHUNK_SIZE``, the rest held back for
            :meth:`frame_inbound_drain`; possibly ``b""``: zlib may hold
            output back until more input arrives); ``data`` itself
            otherwise; or a close code (reason in ``failure_reason``):
            ``CloseReason.INVALID_FRAME_PAYLOAD_DATA`` (1007) if the data does
            not inflate, ``CloseReason.MESSAGE_TOO_BIG`` (1009) if the message
            would exceed :attr:`max_message_size` (detected before the
            output passes ``max_message_size + 1`` bytes).
        """
        if not self._frame_compressed:
            return data
        if _ends_message(proto):
            # The message's last piece: inflate it and the tail in one call.
            self._tail_fed = True
            return self._inflate(proto, data, final=True)
        return self._inflate(proto, data)

    def _inflate(self, proto: FrameContext | FrameDecoder | FrameProtocol, data: bytes, final: bool = False) -> bytes | CloseReason:
        """Inflate ``data`` (``b""``: drain), at most ``INFLATE_CHUNK_SIZE`` bytes, within the limit;
        ``final``: it ends the message, append the tail (RFC 7692 §7.2.2)."""
        limit = self._limit(proto)
        room = None if limit is None else limit - self._inbound_size
        size = INFLATE_CHUNK_SIZE if room is None or room >= INFLATE_CHUNK_SIZE else room + 1
        inflater = self._inflater_for(proto)
        try:
            if final:
                out = inflater.finish(size, data)
            else:
                out = inflater.inflate(data, size)
        except DeflateError as exc:
            return self._corrupt(exc)
        if limit is not None and room is not None and len(out) > room:
            return self._inflates_too_far(limit)
        self._inbound_size += len(out)
        return out

    def frame_inbound_pending(self) -> bool:
        """
        Whether inflated output of the payload already given is still held
        back (a frame inflating to more than ``INFLATE_CHUNK_SIZE`` bytes,
        RFC 7692 §6.2). The frame layer then calls
        :meth:`frame_inbound_drain` before feeding more payload or ending
        the frame.
        """
        return self._frame_compressed and self._inflater is not None and self._inflater.pending

    def frame_inbound_drain(self, proto: FrameContext | FrameDecoder | FrameProtocol) -> bytes | CloseReason:
        """
        The next piece (at most ``INFLATE_CHUNK_SIZE`` bytes) of output held
        back by :meth:`frame_inbound_payload_data` (RFC 7692 §6.2).

        :returns: as :meth:`frame_inbound_payload_data`.
        """
        return self._inflate(proto, b"")

    def frame_inbound_complete(
        self, proto: FrameContext | FrameDecoder | FrameProtocol, fin: bool,
    ) -> bytes | CloseReason | None:
        """
        The current frame ended (``fin``: its FIN bit).

        At the end of a compressed message, appends the tail and returns the
        remaining inflated bytes (RFC 7692 §7.2.2); with the peer's no context
        takeover the inflater's window is dropped.

        :returns: at the end of a compressed message, the remaining
            inflated ``bytes`` (possibly ``b""``); ``None`` otherwise; or a
            close code (1007 / 1009) as :meth:`frame_inbound_payload_data`.
        """
        if not self._frame_is_data or not fin or not self._frame_compressed:
            return None
        self._message_compressed = self._frame_compressed = False
        if self._tail_fed:  # the last piece already took the tail (and was drained)
            self._tail_fed = False
            self._inbound_size = 0
            return b""
        inflater = self._inflater_for(proto)
        limit = self._limit(proto)
        try:
            if limit is None:
                out = inflater.finish()
            else:
                room = limit - self._inbound_size
                out = inflater.finish(room + 1)
                if len(out) > room:
                    return self._inflates_too_far(limit)
        except DeflateError as exc:
            return self._corrupt(exc)
        self._inbound_size = 0
        return out

    def frame_outbound(
        self,
        proto: FrameContext | FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        data: bytes,
        fin: bool,
    ) -> tuple[RsvBits, bytes]:
        """
        Compress an outgoing data frame (RFC 7692 §7.2.1).

        A data message is compressed unless it is sent in one frame (``fin``
        on its TEXT or BINARY frame) with fewer than
        :attr:`compression_threshold` bytes of payload; it then goes out
        as it is, RSV1 clear (RFC 7692 §6). A compressed message's first
        frame gets RSV1, its CONTINUATION frames do not, and each frame's
        payload is the compressed fragment (the last one without the 4-byte
        tail). Control frames pass unchanged. The zlib compression object
        (``_compressor``) is created by the first compressed frame.

        :returns: ``(rsv, payload)`` to write.
        """
        if opcode in CONTROL_OPCODES:
            return (rsv, data)
        if opcode is not _CONTINUATION:
            if fin and len(data) < self._tuning.compression_threshold:
                # One frame, short: sent as it is. (A CONTINUATION frame always
                # follows a first frame without FIN, which is compressed.)
                return (rsv, data)
            rsv = RsvBits(True, rsv[1], rsv[2])
        deflater = self._deflater
        if deflater is None:
            deflater = self._deflater_for(proto)
        return (rsv, deflater.compress(data, fin))

    def __repr__(self) -> str:
        descr = [f"client_max_window_bits={self.client_max_window_bits}"]
        if self.client_no_context_takeover:
            descr.append(CLIENT_NO_CONTEXT_TAKEOVER)
        descr.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.server_no_context_takeover:
            descr.append(SERVER_NO_CONTEXT_TAKEOVER)
        return "<{} {}>".format(self.__class__.__name__, "; ".join(descr))


#: Maps every supported extension name (``str``) to its class, e.g. to
#: instantiate extensions by name.
SUPPORTED_EXTENSIONS: dict[str, type[PerMessageDeflate]] = {  # wsproto's (inferred) type
    PerMessageDeflate.name: PerMessageDeflate,
}
