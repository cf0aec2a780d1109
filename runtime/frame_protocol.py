"""
wsspec.frame_protocol
~~~~~~~~~~~~~~~~~~~~~

The WebSocket framing layer (RFC 6455 section 5), Sans-I/O.

:class:`FrameProtocol` turns received bytes into :class:`Frame` tuples and
turns outgoing messages and control requests into wire bytes. It is the same
API as ``wsproto.frame_protocol`` (wsproto 1.3.2); every protocol constant is
taken from the generated modules in ``wsspec._generated``.

Layering:

* :class:`FrameDecoder` parses frame headers, unmasks payloads and runs the
  inbound extension hooks. It is the one owner of the receive state: whether
  a fragmented message is open (decided by the generated ``FRAGMENTATION``
  table, RFC 6455 section 5.4), the message's size against the limits, and
  whether parsing has stopped. Data-frame payloads are delivered in pieces as
  they arrive (``frame_finished=False`` until the last piece); control-frame
  payloads are delivered whole.
* :class:`FrameProtocol` ties it to UTF-8 decoding of TEXT messages
  (incremental, section 8.1), parses Close payloads (section 5.5.1) and
  serializes outgoing frames (masked with a fresh random key when acting as
  a client, section 5.3).
* Extensions see the frame layer only through a :class:`FrameContext`,
  passed as ``proto`` to the hooks declared on
  :class:`wsspec.extensions.Extension`.
* wsproto's ``Buffer``, ``MessageDecoder``, ``XorMaskerSimple``,
  ``XorMaskerNull`` and ``NULL_MASK`` are re-exported from
  ``wsspec._wsproto_compat``; wsspec's own receive path does not use them.

Every problem with received bytes is reported as :class:`ParseFailed`, whose
``code`` is the close code to fail the connection with (section 7.1.7).
"""

from __future__ import annotations

import struct
from codecs import IncrementalDecoder, getincrementaldecoder
from typing import TYPE_CHECKING, NamedTuple, cast

from ._generated.close_codes import (
    LOCAL_ONLY_CLOSE_REASONS,
    MAX_CLOSE_REASON,
    MAX_LIBRARY_CLOSE_REASON,
    MAX_PRIVATE_CLOSE_REASON,
    MAX_PROTOCOL_CLOSE_REASON,
    MIN_CLOSE_REASON,
    MIN_LIBRARY_CLOSE_REASON,
    MIN_PRIVATE_CLOSE_REASON,
    MIN_PROTOCOL_CLOSE_REASON,
    REGISTERED_CLOSE_CODES,
    SEND_AS,
    CloseReason,
    may_appear_on_wire,
)
from ._generated.framing import (
    FIN_MASK,
    MASK_MASK,
    MASKING_KEY_LENGTH,
    MAX_CLOSE_REASON_BYTES,
    MAX_CONTROL_PAYLOAD,
    MAX_FRAME_PAYLOAD,
    MAX_PAYLOAD_EIGHT_BYTE,
    MAX_PAYLOAD_NORMAL,
    MAX_PAYLOAD_TWO_BYTE,
    OPCODE_MASK,
    PAYLOAD_LEN_MASK,
    PAYLOAD_LENGTH_EIGHT_BYTE,
    PAYLOAD_LENGTH_TWO_BYTE,
    RSV1_MASK,
    RSV2_MASK,
    RSV3_MASK,
    RsvBits,
)
from ._generated.opcodes import CONTROL_OPCODES, FRAGMENTATION, FRAGMENTATION_ERRORS, Opcode
from .masking import _HEADER_SHORT  # byte 0, byte 1 (7-bit length)
from .masking import VIEW_THRESHOLD as _VIEW_THRESHOLD
from .masking import mask_slice as _mask_slice
from .masking import masked_frame as _masked_frame
from .masking import new_masking_key as _new_masking_key
from .masking import short_frame as _short_frame
from .masking import unmask_payload as _unmask_payload
from .masking import rotate_key as _rotate_key
from .utilities import InvalidEventTypeError, LocalProtocolError

if TYPE_CHECKING:
    from . import _cython_shim as _cython
else:
    try:
        import cython as _cython  # as in masking.py: compiled, Cython's compile-time module
    except ImportError:
        from . import _cython_shim as _cython

if TYPE_CHECKING:
    from collections.abc import Generator

    from .extensions import Extension  # pragma: no cover

__all__ = [
    "FIN_MASK",
    "LOCAL_ONLY_CLOSE_REASONS",
    "MASK_MASK",
    "MAX_CLOSE_REASON",
    "MAX_FRAME_PAYLOAD",
    "MAX_LIBRARY_CLOSE_REASON",
    "MAX_PAYLOAD_EIGHT_BYTE",
    "MAX_PAYLOAD_NORMAL",
    "MAX_PAYLOAD_TWO_BYTE",
    "MAX_PRIVATE_CLOSE_REASON",
    "MAX_PROTOCOL_CLOSE_REASON",
    "MIN_CLOSE_REASON",
    "MIN_LIBRARY_CLOSE_REASON",
    "MIN_PRIVATE_CLOSE_REASON",
    "MIN_PROTOCOL_CLOSE_REASON",
    "NULL_MASK",
    "OPCODE_MASK",
    "PAYLOAD_LENGTH_EIGHT_BYTE",
    "PAYLOAD_LENGTH_TWO_BYTE",
    "PAYLOAD_LEN_MASK",
    "RSV1_MASK",
    "RSV2_MASK",
    "RSV3_MASK",
    "Buffer",
    "CloseReason",
    "Frame",
    "FrameContext",
    "FrameDecoder",
    "FrameProtocol",
    "Header",
    "MessageDecoder",
    "Opcode",
    "ParseFailed",
    "RsvBits",
    "XorMaskerNull",
    "XorMaskerSimple",
]

# Wire layouts of the header pieces (RFC 6455 section 5.2), network order.
_HEADER_TWO_BYTE = struct.Struct("!BBH")  # ... + 16-bit extended length
_HEADER_EIGHT_BYTE = struct.Struct("!BBQ")  # ... + 64-bit extended length
_LEN_TWO_BYTE = struct.Struct("!H")
_LEN_EIGHT_BYTE = struct.Struct("!Q")
_CLOSE_CODE = struct.Struct("!H")  # RFC 6455 section 5.5.1: 2-byte code

_TWO_BYTE_HEADER_LEN = _HEADER_TWO_BYTE.size
_EIGHT_BYTE_HEADER_LEN = _HEADER_EIGHT_BYTE.size
_SHORT_HEADER_LEN = _HEADER_SHORT.size

if not _cython.compiled:
    # The compiled build has these as C constants: frame_protocol.pxd cimports
    # them from generated/constants.pxd (rendered from spec/ by the generator).
    # Interpreted, they are the Python constants of wsspec._generated.
    _FIN_MASK = FIN_MASK
    _MASK_MASK = MASK_MASK
    _OPCODE_MASK = OPCODE_MASK
    _PAYLOAD_LEN_MASK = PAYLOAD_LEN_MASK
    _MAX_PAYLOAD_NORMAL = MAX_PAYLOAD_NORMAL
    _MAX_PAYLOAD_TWO_BYTE = MAX_PAYLOAD_TWO_BYTE
    _PAYLOAD_LENGTH_TWO_BYTE = PAYLOAD_LENGTH_TWO_BYTE
    _PAYLOAD_LENGTH_EIGHT_BYTE = PAYLOAD_LENGTH_EIGHT_BYTE
    _MAX_CONTROL_PAYLOAD = MAX_CONTROL_PAYLOAD
    _MASKING_KEY_LENGTH = MASKING_KEY_LENGTH

# Opcode value (0..15) -> Opcode member, or None for a reserved opcode.
_OPCODES: dict[int, Opcode] = {int(member): member for member in Opcode}
_OPCODE_TABLE: tuple[Opcode | None, ...] = tuple(_OPCODES.get(value) for value in range(OPCODE_MASK + 1))
# Members as module globals: on Python 3.11, Opcode.X goes through
# EnumType.__getattr__ (about 800 instructions; a global is a dict lookup).
_CONTINUATION = Opcode.CONTINUATION
_TEXT = Opcode.TEXT
_BINARY = Opcode.BINARY
_CLOSE = Opcode.CLOSE
_PING = Opcode.PING
_PONG = Opcode.PONG
_RSV_ALL = RSV1_MASK | RSV2_MASK | RSV3_MASK
# RSV bits of byte 0 (masked with _RSV_ALL) -> RsvBits, precomputed.
_RSV_TABLE: dict[int, RsvBits] = {
    bits: RsvBits(bool(bits & RSV1_MASK), bool(bits & RSV2_MASK), bool(bits & RSV3_MASK))
    for bits in range(_RSV_ALL + 1)
    if not bits & ~_RSV_ALL
}
_NO_RSV = _RSV_TABLE[0]
# Byte 0 of a frame header -> its opcode if it is a data frame (TEXT, BINARY,
# CONTINUATION) with no RSV bit set, else None: FrameDecoder's fast path.
_FAST_DATA_OPCODES: tuple[Opcode | None, ...] = tuple(
    None if byte0 & _RSV_ALL or _OPCODE_TABLE[byte0 & OPCODE_MASK] in CONTROL_OPCODES
    else _OPCODE_TABLE[byte0 & OPCODE_MASK]
    for byte0 in range(256)
)
_CLOSE_REASONS: dict[int, CloseReason] = {int(member): member for member in CloseReason}
# Frame(*fields) or Header(*fields) without the named tuple's Python-level
# __new__: _new_frame(Frame, (opcode, payload, frame_finished, message_finished)).
_new_frame = tuple.__new__

# Compact the receive buffer once at least this share of it has been consumed.
_COMPACT_RATIO = 2


# ---------------------------------------------------------------------------
# Data types
# ---------------------------------------------------------------------------


class ParseFailed(Exception):
    """The received bytes violate RFC 6455; the connection must be failed.

    :param msg: human-readable description (``str(exc)``).
    :param code: the close code to send in the resulting Close frame
        (RFC 6455 section 7.4.1); ``CloseReason.PROTOCOL_ERROR`` (1002) by
        default, ``INVALID_FRAME_PAYLOAD_DATA`` (1007) for bad UTF-8, or
        whatever an extension returned.
    """

    def __init__(
        self,
        msg: str,
        code: CloseReason = CloseReason.PROTOCOL_ERROR,
    ) -> None:
        super().__init__(msg)
        self.code = code


class Header(NamedTuple):
    """A parsed frame header (RFC 6455 section 5.2).

    ``payload_len`` is the payload length in bytes; ``masking_key`` is the
    4-byte masking key of a masked frame, else None.
    """

    fin: bool
    rsv: RsvBits
    opcode: Opcode
    payload_len: int
    masking_key: bytes | None


class Frame(NamedTuple):
    """A received frame, or a piece of one.

    * ``opcode``: from :class:`FrameDecoder`, the frame's opcode on its
      first piece and CONTINUATION on later pieces; from
      :class:`FrameProtocol`, every piece of every fragment of a data
      message carries the message's opcode (TEXT or BINARY), and control
      frames their own opcode.
    * ``payload``: ``bytes`` for BINARY, PING and PONG, ``str`` for TEXT
      (decoded incrementally, may be empty when a piece ends mid-character),
      ``(code, reason)`` for CLOSE where ``code`` is a ``CloseReason`` member
      or a plain ``int`` and ``reason`` a ``str``.
    * ``frame_finished``: this piece ends the frame.
    * ``message_finished``: this piece ends the message.
    """

    opcode: Opcode
    payload: bytes | str | tuple[int, str]
    frame_finished: bool
    message_finished: bool


def _truncate_utf8(data: bytes, nbytes: int) -> bytes:
    """Cut UTF-8 ``data`` to at most ``nbytes`` bytes at a character boundary."""
    if len(data) <= nbytes:
        return data
    cut = nbytes
    # Back off over continuation bytes (10xxxxxx) so no character is split.
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return data[:cut]


def _unsendable_close_code(code: object) -> str:
    """Why ``code`` may not go in a Close frame, for a LocalProtocolError."""
    registered = REGISTERED_CLOSE_CODES.get(code) if isinstance(code, int) else None
    if registered is not None:
        name, meaning, source = registered
        why = f"{name} must not be sent in a Close frame: {meaning} ({source})"
    else:
        why = (f"it is neither a registered code nor in {MIN_LIBRARY_CLOSE_REASON}-{MAX_PRIVATE_CLOSE_REASON} "
               "(RFC 6455 §7.4.2)")
    return f"close code {code!r} may not be sent: {why}"

def decode_text_piece(decoder: IncrementalDecoder, data: bytes, final: bool) -> str:
    """Decode the next piece of a TEXT message as UTF-8 (RFC 6455 §8.1, RFC 3629).

    :param decoder: the message's incremental UTF-8 decoder.
    :param data: the next payload bytes.
    :param final: ``data`` ends the message.
    :returns: the text decoded so far (``""`` when the piece ends mid-character).
    :raises ParseFailed: code 1007 (INVALID_FRAME_PAYLOAD_DATA) as soon as the
        bytes cannot be (the start of) valid UTF-8.
    """
    try:
        text = decoder.decode(data, final)
    except UnicodeDecodeError as exc:
        raise ParseFailed(str(exc), CloseReason.INVALID_FRAME_PAYLOAD_DATA) from None
    if not final:
        # Python's decoder accepts ED A0..ED BF as a pending prefix
        # although it can only continue as a UTF-16 surrogate, which
        # is invalid UTF-8 (RFC 3629 section 3); fail it now.
        pending = decoder.getstate()[0]
        if len(pending) >= 2 and pending[0] == 0xED and pending[1] >= 0xA0:
            msg = f"'utf-8' codec can't decode bytes: {bytes(pending[:2])!r} starts a UTF-16 surrogate"
            raise ParseFailed(msg, CloseReason.INVALID_FRAME_PAYLOAD_DATA)
    return text



# ---------------------------------------------------------------------------
# Frame level (RFC 6455 section 5.2)
# ---------------------------------------------------------------------------


class FrameContext:
    """What an extension's frame hooks may know: passed to them as ``proto``.

    The frame layer (:class:`FrameDecoder`, and :class:`FrameProtocol` for
    outbound frames) owns one per connection and passes it, never itself,
    as the ``proto`` argument of every hook declared on
    :class:`~wsspec.extensions.Extension`. An extension reads these
    attributes and nothing else of the frame layer:

    * ``client`` (``bool``): this endpoint is the client (RFC 6455 §5.1).
    * ``max_message_size`` (``int`` bytes or ``None``): the most bytes a
      received data message may carry after the extensions (inflated); an
      extension that expands data should stop producing output past it
      (RFC 6455 §10.4). The decoder checks it too.
    * ``message_ends`` (``bool``): during ``frame_inbound_payload_data``,
      the piece being passed is the last payload of the message's last
      frame (FIN set, every payload byte read), so an extension may finish
      the message with it (RFC 7692 §7.2.2). False otherwise.

    wsproto's hooks were given the FrameDecoder or FrameProtocol itself; code
    that still calls hooks that way keeps working with wsspec's extensions
    (see :class:`~wsspec.extensions.PerMessageDeflate`).
    """

    __slots__ = ("client", "max_message_size", "message_ends")

    def __init__(self, client: bool, max_message_size: int | None) -> None:
        self.client = client
        self.max_message_size = max_message_size
        self.message_ends = False


def _too_big(what: str) -> ParseFailed:
    """The ParseFailed for a size limit (1009 MESSAGE_TOO_BIG, RFC 6455 §10.4)."""
    return ParseFailed(f"{what} (RFC 6455 §10.4)", CloseReason.MESSAGE_TOO_BIG)


def _extension_failed(extension: Extension, code: int) -> ParseFailed:
    """The ParseFailed for an extension hook that returned the close code ``code``.

    The reason is the extension's ``failure_reason`` (declared on
    ``Extension``), read and cleared here; any int (e.g. another library's
    CloseReason) is accepted and converted to our CloseReason when it is a
    member.
    """
    # getattr: an extension that is no Extension subclass (duck-typed, as wsproto allows) may lack it.
    reason = getattr(extension, "failure_reason", None)
    if reason is None:
        reason = f"error in extension {getattr(extension, 'name', '?')}"
    else:
        extension.failure_reason = None
    # ParseFailed.code is typed CloseReason, as in wsproto; a code that is no member passes as the int it is.
    return ParseFailed(reason, cast(CloseReason, _CLOSE_REASONS.get(int(code), code)))


def _holds_back(extension: Extension) -> bool:
    """``extension.frame_inbound_pending()`` (declared on Extension); False for a
    duck-typed extension that lacks the hook (wsproto never calls it)."""
    pending = getattr(extension, "frame_inbound_pending", None)
    return pending is not None and bool(pending())


def _fragmentation_error(message_open: bool, opcode: Opcode) -> ParseFailed:
    """The ParseFailed for a data frame the FRAGMENTATION table has no key for (RFC 6455 §5.4, 1002)."""
    reason = FRAGMENTATION_ERRORS[(message_open, opcode)]
    return ParseFailed(reason if opcode is _CONTINUATION else f"{reason}, got {opcode!r}")


# The generated fragmentation table (RFC 6455 §5.4) as two tuples, one per
# "message open" value, indexed by byte 0 of a header masked with FIN|opcode:
# whether a message is open after the frame, or None if the frame is invalid.
_FIN_OPCODE = FIN_MASK | OPCODE_MASK


def _fragment_next(message_open: bool) -> tuple[bool | None, ...]:
    table: list[bool | None] = []
    for key in range(_FIN_OPCODE + 1):
        opcode = _OPCODE_TABLE[key & OPCODE_MASK]
        table.append(None if opcode is None else FRAGMENTATION.get((message_open, opcode, bool(key & FIN_MASK))))
    return tuple(table)


_FRAGMENT_NEXT = (_fragment_next(False), _fragment_next(True))


class FrameDecoder:
    """Incremental frame parser (RFC 6455 section 5.2); the one owner of the receive state.

    :param client: True when parsing frames a server sent to us (they must
        be unmasked), False when we are the server (frames must be masked,
        section 5.1).
    :param extensions: enabled extensions; their ``frame_inbound_header``,
        ``frame_inbound_payload_data``, ``frame_inbound_complete`` (and,
        while one holds output back, ``frame_inbound_pending`` /
        ``frame_inbound_drain``) hooks are called for every frame, with
        :attr:`context` (a :class:`FrameContext`) as ``proto``.
    :param max_message_size: the most bytes a data message may carry after
        the extensions (i.e. inflated), or ``None`` for no limit. A frame
        header announcing more than fits in what is left of the limit fails
        before any of its payload is buffered; payload past the limit (e.g.
        inflated output) fails at the first byte over. Both with code 1009
        (RFC 6455 §10.4). Extensions read it as ``proto.max_message_size``.
    :param max_frame_size: the most payload bytes a single frame header may
        announce, or ``None`` for no limit; more fails with code 1009.

    It alone tracks whether a fragmented message is open (deciding by the
    generated ``FRAGMENTATION`` table, RFC 6455 §5.4), the message's size,
    and whether parsing has stopped (after :class:`ParseFailed`, or
    :meth:`stop`). Feed bytes with :meth:`receive_bytes` (split anywhere)
    and call :meth:`process_buffer` until it returns None.
    """

    def __init__(
        self,
        client: bool,
        extensions: list[Extension] | None = None,
        *,
        max_message_size: int | None = None,
        max_frame_size: int | None = None,
    ) -> None:
        self.client = client
        # The MASK bit every received frame must carry (RFC 6455 §5.1).
        self._mask_bit = 0 if client else MASK_MASK
        # The caller's list even when empty (FrameProtocol's): no second empty list per connection.
        self.extensions = extensions if extensions is not None else []
        #: What the extensions' hooks get as ``proto`` (a :class:`FrameContext`).
        self.context = FrameContext(client, max_message_size)
        self.max_frame_size = max_frame_size
        # The data message in progress: whether one is open (FRAGMENTATION),
        # its opcode (TEXT/BINARY; kept until the next message begins),
        # whether an extension transforms it (its first frame had an RSV
        # bit), and its size so far (wire bytes announced, or for a
        # transformed message, bytes the extensions produced).
        self._message_open = False
        #: The opcode (TEXT or BINARY) of the data message the last data
        #: frame belongs to, or None before any (read-only for callers).
        self.message_opcode: Opcode | None = None
        self._message_transformed = False
        self._message_size = 0
        # Index of the extension holding back output of the current frame.
        self._draining: int | None = None
        # Receive buffer: unconsumed bytes are self._buf[self._pos:].
        self._buf = bytearray()
        self._pos = 0
        self._stopped = False
        # (fin, rsv, opcode, payload_len, header_len) of a masked frame's
        # header whose hooks already ran but whose masking key is missing.
        self._pending: tuple[bool, RsvBits, Opcode, int, int] | None = None
        # wsproto's attributes: the current frame's header (with its masking
        # key), the opcode of its next piece, the payload bytes it needs
        # before a piece is delivered, and the payload bytes read so far.
        self.header: Header | None = None
        self.effective_opcode: Opcode | None = None
        self.payload_required = 0
        self.payload_consumed = 0

    @property
    def max_message_size(self) -> int | None:
        """The message size limit in bytes (see the class), or ``None``; stored on :attr:`context`."""
        return self.context.max_message_size

    @max_message_size.setter
    def max_message_size(self, value: int | None) -> None:
        self.context.max_message_size = value

    @property
    def stopped(self) -> bool:
        """True once parsing stopped (:class:`ParseFailed` was raised, or :meth:`stop` was called)."""
        return self._stopped

    def stop(self) -> None:
        """Stop parsing for good: drop the buffered bytes; later bytes are ignored and
        :meth:`process_buffer` returns None (after a Close frame or a failure, RFC 6455 §5.5.1, §7.1.7)."""
        self._stopped = True
        self._buf = bytearray()
        self._pos = 0

    def receive_bytes(self, data: bytes) -> None:
        """Append received bytes (any bytes-like object) to the buffer.

        Ignored once parsing stopped (see :meth:`stop`).
        """
        if self._stopped:
            return
        pos = self._pos
        if pos:
            buf = self._buf
            if pos >= len(buf):
                buf.clear()
                self._pos = 0
            elif pos * _COMPACT_RATIO >= len(buf):
                del buf[:pos]
                self._pos = 0
        self._buf += data

    def process_buffer(self) -> Frame | None:
        """Parse the next frame, or the next piece of the current data frame.

        :returns: a :class:`Frame` whose payload is ``bytes`` (unmasked and
            passed through the extensions), or None if more bytes are needed.
            Data frames are returned piecewise as bytes arrive
            (``frame_finished`` false until the last piece; pieces after the
            first have opcode CONTINUATION). Control frames are returned only
            when complete.
        :raises ParseFailed: for any violation of RFC 6455 section 5 (see
            :meth:`parse_header`) or a close code returned by an extension.
            After that the decoder returns None forever.
        """
        if self._stopped:
            return None
        buf = self._buf
        pos = self._pos
        try:
            if self.header is not None:
                if pos >= len(buf) and self._draining is None:
                    return None  # mid-frame and nothing buffered: no piece to deliver
            elif pos >= len(buf):
                return None  # between frames and nothing buffered
            elif self._pending is None and not self.extensions:
                # Fast path: a whole data frame with a 7-bit length, the
                # expected MASK bit and no RSV bit is buffered. It goes through
                # the same _begin_data() as the general path; anything else
                # takes the general path.
                byte0 = buf[pos]
                opcode = _FAST_DATA_OPCODES[byte0]
                mask_bit = self._mask_bit
                end = pos + _SHORT_HEADER_LEN
                if opcode is not None and len(buf) >= end:
                    length = buf[pos + 1] ^ mask_bit  # >= 128 if the MASK bit is wrong
                    if length <= _MAX_PAYLOAD_NORMAL:
                        start = end + _MASKING_KEY_LENGTH if mask_bit else end
                        end = start + length
                        if len(buf) >= end:
                            self._begin_data(byte0, opcode, length, False)
                            if mask_bit:
                                payload = _unmask_payload(buf, start, end)
                            else:
                                payload = bytes(buf[start:end])
                            if end >= len(buf):
                                buf.clear()
                                self._pos = 0
                            else:
                                self._pos = end
                            self.payload_required = 0
                            self.payload_consumed = length
                            return _new_frame(Frame, (opcode, payload, True, byte0 >= _FIN_MASK))
            return self._process_buffer()
        except ParseFailed:
            self.stop()
            raise

    def _begin_data(self, byte0: int, opcode: Opcode, payload_len: int, transformed: bool) -> None:
        """A data frame's header (byte 0, opcode, payload length in bytes): apply the
        fragmentation table and the size limits, before any of its payload is read.

        A message whose first frame has an RSV bit set (``transformed``) is
        transformed by an extension (permessage-deflate: RSV1, RFC 7692 §6):
        its wire length is not its size, so only its output is held to
        ``max_message_size`` (by the extension while inflating, and in
        :meth:`_through_extensions`); its payload is streamed through the
        extension, never buffered whole.

        :raises ParseFailed: code 1009 if the frame announces more than
            ``max_frame_size`` or (untransformed messages) than is left of
            ``max_message_size``; code 1002 for a frame the generated
            ``FRAGMENTATION`` table has no key for (RFC 6455 §5.4).
        """
        max_frame_size = self.max_frame_size
        if max_frame_size is not None and payload_len > max_frame_size:
            raise _too_big(
                f"frame header announces {payload_len} bytes, more than max_frame_size ({max_frame_size} bytes)"
            )
        message_open = self._message_open
        open_after = _FRAGMENT_NEXT[message_open][byte0 & _FIN_OPCODE]
        if open_after is None:
            raise _fragmentation_error(message_open, opcode)
        self._message_open = open_after
        if message_open:
            if self._message_transformed:
                return  # its size is what the extensions make of it: counted in _through_extensions()
            size = self._message_size + payload_len
        else:  # the first frame of a message
            self.message_opcode = opcode
            self._message_transformed = transformed
            if transformed:
                self._message_size = 0  # counted in _through_extensions()
                return
            size = payload_len
        self._message_size = size
        max_message_size = self.context.max_message_size
        if max_message_size is not None and size > max_message_size:
            raise _too_big(f"message of at least {size} bytes, more than max_message_size ({max_message_size} bytes)")

    def _process_buffer(self) -> Frame | None:
        header = self.header
        if self._draining is not None:
            assert header is not None  # the frame whose output is being drained
            return self._drain(header)
        if header is None:
            if not self.parse_header():
                return None
            header = self.header
            assert header is not None  # set by parse_header()

        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        if available < self.payload_required:
            return None

        consumed = self.payload_consumed
        remaining = header.payload_len - consumed
        if remaining > available:
            if not available:
                return None
            remaining = available
        end = pos + remaining

        key = header.masking_key
        if key is not None and consumed:
            key = _rotate_key(key, consumed)  # continue mid-key (RFC 6455 §5.3: j MOD 4)
        if not remaining:
            payload = b""
        elif key is not None:
            payload = _mask_slice(buf, pos, end, key)
        elif remaining < _VIEW_THRESHOLD:
            payload = bytes(buf[pos:end])  # small piece: slicing is cheaper than a memoryview
        else:
            with memoryview(buf) as view:
                payload = bytes(view[pos:end])
        if end >= len(buf):
            buf.clear()
            self._pos = 0
        else:
            self._pos = end

        consumed += remaining
        self.payload_consumed = consumed
        finished = consumed == header.payload_len

        if self.extensions:
            return self._through_extensions(header, payload, 0, finished)
        return self._piece(header, payload, finished)

    def _piece(self, header: Header, payload: bytes, finished: bool) -> Frame:
        """The Frame for one piece of the current frame; ends the frame if ``finished``."""
        opcode = self.effective_opcode
        assert opcode is not None  # set by parse_header() for the current frame
        if finished:
            self.header = None
            self.effective_opcode = None
        else:
            self.effective_opcode = _CONTINUATION
        return _new_frame(Frame, (opcode, payload, finished, header.fin))

    def _through_extensions(self, header: Header, payload: bytes, first: int, wire_done: bool) -> Frame:
        """Pass a piece of payload through ``extensions[first:]`` and make the Frame.

        An extension that holds output back (``frame_inbound_pending()``,
        e.g. PerMessageDeflate past ``INFLATE_CHUNK_SIZE``) is drained by
        the following calls (:meth:`_drain`) before more payload is read or
        the frame ends, so no piece exceeds its chunk size.
        """
        extensions = self.extensions
        context = self.context
        is_data = header.opcode not in CONTROL_OPCODES
        # Bytes of this piece already counted in _message_size: the wire
        # bytes of an untransformed message's piece (counted at its header).
        counted = 0 if first or self._message_transformed else len(payload)
        context.message_ends = is_data and wire_done and header.fin
        for index in range(first, len(extensions)):
            extension = extensions[index]
            result = extension.frame_inbound_payload_data(context, payload)
            if type(result) is bytes:
                payload = result
            elif isinstance(result, int):
                raise _extension_failed(extension, result)
            else:
                payload = bytes(result)
            if is_data and self._draining is None and _holds_back(extension):
                self._draining = index
        context.message_ends = False
        finished = wire_done and self._draining is None
        if finished:
            fin = header.fin
            for extension in extensions:
                completed = extension.frame_inbound_complete(context, fin)
                if completed is None:
                    continue
                if isinstance(completed, int):
                    raise _extension_failed(extension, completed)
                if completed:
                    payload += completed
        if is_data and len(payload) != counted:
            # The wire length of an untransformed message was checked in
            # _begin_data(); this bounds what the extensions made of it
            # beyond that, and all the output of a transformed message
            # (PerMessageDeflate stops inflating at the limit itself).
            self._message_size += len(payload) - counted
            max_message_size = context.max_message_size
            if max_message_size is not None and self._message_size > max_message_size:
                raise _too_big(f"message of more than {max_message_size} bytes")
        return self._piece(header, payload, finished)

    def _drain(self, header: Header) -> Frame:
        """The next piece of output an extension held back (see :meth:`_through_extensions`)."""
        index = self._draining
        assert index is not None  # called only while draining
        extension = self.extensions[index]
        result = extension.frame_inbound_drain(self.context)
        if isinstance(result, int):
            raise _extension_failed(extension, result)
        if not extension.frame_inbound_pending():
            self._draining = None
        wire_done = self.payload_consumed == header.payload_len
        return self._through_extensions(header, bytes(result), index + 1, wire_done)

    def parse_header(self) -> bool:
        """Parse the next frame header from the buffer if it is complete.

        Checks, in wsproto's order, each as soon as the bytes it needs are
        buffered: reserved opcode (section 5.2), fragmented control frame or
        control payload over 125 bytes (section 5.5), non-minimal extended
        length or 64-bit length with the top bit set (section 5.2), the
        extensions' ``frame_inbound_header`` verdict and RSV bits no
        extension claimed (section 5.2), masking that does not match our
        role (section 5.1), then for data frames the fragmentation table and
        the size limits (``_begin_data()``). The extension hook is called
        once per frame.

        :returns: True if a header was consumed (sets ``header``,
            ``effective_opcode``), False if more bytes are needed.
        :raises ParseFailed: code 1002, 1009, or the extension's close code.
        """
        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        pending = self._pending
        if pending is None:
            if available < _SHORT_HEADER_LEN:
                return False
            byte0 = buf[pos]
            byte1 = buf[pos + 1]
            opcode = _OPCODE_TABLE[byte0 & _OPCODE_MASK]
            if opcode is None:
                msg = f"Invalid opcode {byte0 & OPCODE_MASK:#x}"
                raise ParseFailed(msg)
            fin = bool(byte0 & _FIN_MASK)
            payload_len = byte1 & _PAYLOAD_LEN_MASK
            if opcode in CONTROL_OPCODES:
                if not fin:
                    msg = "Invalid attempt to fragment control frame"
                    raise ParseFailed(msg)
                if payload_len > _MAX_CONTROL_PAYLOAD:
                    msg = f"Control frame with payload len > {MAX_CONTROL_PAYLOAD}"
                    raise ParseFailed(msg)

            if payload_len <= _MAX_PAYLOAD_NORMAL:
                header_len = _SHORT_HEADER_LEN
            elif payload_len == _PAYLOAD_LENGTH_TWO_BYTE:
                header_len = _TWO_BYTE_HEADER_LEN
                if available < header_len:
                    return False
                (payload_len,) = _LEN_TWO_BYTE.unpack_from(buf, pos + _SHORT_HEADER_LEN)
                if payload_len <= _MAX_PAYLOAD_NORMAL:
                    msg = "Payload length used 2 bytes when 1 would have sufficed"
                    raise ParseFailed(msg)
            else:
                header_len = _EIGHT_BYTE_HEADER_LEN
                if available < header_len:
                    return False
                (payload_len,) = _LEN_EIGHT_BYTE.unpack_from(buf, pos + _SHORT_HEADER_LEN)
                if payload_len <= _MAX_PAYLOAD_TWO_BYTE:
                    msg = "Payload length used 8 bytes when 2 would have sufficed"
                    raise ParseFailed(msg)
                if payload_len > MAX_PAYLOAD_EIGHT_BYTE:
                    msg = "8-byte payload length with non-zero MSB"
                    raise ParseFailed(msg)

            rsv = _RSV_TABLE[byte0 & _RSV_ALL]
            self.extension_processing(opcode, rsv, payload_len)

            if byte1 & _MASK_MASK != self._mask_bit:
                msg = "client received unexpected masked frame" if self.client else \
                    "server received unexpected unmasked frame"
                raise ParseFailed(msg)
            if opcode not in CONTROL_OPCODES:
                self._begin_data(byte0, opcode, payload_len, rsv is not _NO_RSV)
            if self._mask_bit:
                header_len += _MASKING_KEY_LENGTH
                if available < header_len:
                    self._pending = (fin, rsv, opcode, payload_len, header_len)
                    return False
        else:
            fin, rsv, opcode, payload_len, header_len = pending
            if available < header_len:
                return False
            self._pending = None

        end = pos + header_len
        self._pos = end
        masking_key = bytes(buf[end - _MASKING_KEY_LENGTH : end]) if self._mask_bit else None
        self.header = _new_frame(Header, (fin, rsv, opcode, payload_len, masking_key))
        self.effective_opcode = opcode
        self.payload_required = payload_len if opcode in CONTROL_OPCODES else 0
        self.payload_consumed = 0
        return True

    def extension_processing(
        self,
        opcode: Opcode,
        rsv: RsvBits,
        payload_len: int,
    ) -> None:
        """Run the extensions' ``frame_inbound_header`` hooks for one frame.

        :param payload_len: the frame's payload length in bytes.
        :raises ParseFailed: with the extension's close code and
            ``failure_reason`` if a hook returns a code (a ``CloseReason``
            or any int); code 1002 if an RSV bit is set that no extension
            claimed (RFC 6455 section 5.2).
        """
        extensions = self.extensions
        if not extensions:
            if rsv is not _NO_RSV:
                msg = "Reserved bit set unexpectedly"
                raise ParseFailed(msg)
            return
        rsv_used = [False, False, False]
        context = self.context
        for extension in extensions:
            result = extension.frame_inbound_header(context, opcode, rsv, payload_len)
            if isinstance(result, int):
                raise _extension_failed(extension, result)
            for bit, used in enumerate(result):
                if used:
                    rsv_used[bit] = True
        for expected, found in zip(rsv_used, rsv):
            if found and not expected:
                msg = "Reserved bit set unexpectedly"
                raise ParseFailed(msg)


# ---------------------------------------------------------------------------
# Protocol level
# ---------------------------------------------------------------------------


class FrameProtocol:
    """Both directions of the framing layer of one WebSocket connection.

    :param client: True for the client side (outgoing frames are masked,
        incoming frames must not be), False for the server side.
    :param extensions: negotiated extensions; only those whose ``enabled()``
        returns True are used.
    :param max_message_size: the most bytes (after inflation) a received data
        message may carry; ``None`` (the default here, as in wsproto) for no
        limit. See :class:`FrameDecoder`.
    :param max_frame_size: the most payload bytes a received frame may
        announce; ``None`` for no limit.

    Outgoing methods return the wire bytes to send. Incoming bytes are fed
    with :meth:`receive_bytes` and read back as frames with
    :meth:`received_frames`.
    """

    def __init__(
        self,
        client: bool,
        extensions: list[Extension],
        *,
        max_message_size: int | None = None,
        max_frame_size: int | None = None,
    ) -> None:
        self.client = client
        self.extensions = [ext for ext in extensions if ext.enabled()]

        self._frame_decoder = FrameDecoder(
            self.client, self.extensions, max_message_size=max_message_size, max_frame_size=max_frame_size
        )
        # The UTF-8 decoder of the TEXT message being received in pieces.
        self._text_decoder: IncrementalDecoder | None = None
        self._started = False

        self._outbound_opcode: Opcode | None = None

    # -- receiving ---------------------------------------------------------

    def _process_close(self, frame: Frame) -> Frame:
        data = cast(bytes, frame.payload)  # bytes from FrameDecoder

        if not data:
            # RFC 6455 section 7.1.5: no status code means 1005.
            payload: tuple[int, str] = (CloseReason.NO_STATUS_RCVD, "")
        elif len(data) < _CLOSE_CODE.size:
            msg = "CLOSE with 1 byte payload"
            raise ParseFailed(msg)
        else:
            code: int
            (code,) = _CLOSE_CODE.unpack_from(data)
            if not may_appear_on_wire(code):
                if code < MIN_CLOSE_REASON or code > MAX_CLOSE_REASON:
                    msg = f"CLOSE with invalid code {code}"
                elif code in LOCAL_ONLY_CLOSE_REASONS:
                    msg = f"remote CLOSE with local-only reason {code}"
                else:
                    msg = f"CLOSE with unknown reserved code {code}"
                raise ParseFailed(msg)
            try:
                reason = data[_CLOSE_CODE.size :].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ParseFailed(
                    "Error decoding CLOSE reason: " + str(exc),
                    CloseReason.INVALID_FRAME_PAYLOAD_DATA,
                ) from None
            payload = (_CLOSE_REASONS.get(code, code), reason)

        return Frame(frame.opcode, payload, frame.frame_finished, frame.message_finished)

    def receive_bytes(self, data: bytes) -> None:
        """Feed bytes received from the peer (any bytes-like object, split anywhere).

        Bytes received after a Close frame or after :class:`ParseFailed`
        are discarded (RFC 6455 section 5.5.1: nothing follows a Close).
        """
        self._frame_decoder.receive_bytes(data)

    def received_frames(self) -> Generator[Frame, None, None]:
        """Yield the frames (and pieces of data frames) parsed so far.

        Data frames carry their message's opcode (TEXT or BINARY) on every
        piece, TEXT payloads as ``str`` (decoded incrementally, RFC 6455
        §8.1); PING/PONG payloads are bytes; a CLOSE frame's payload is
        ``(code, reason)`` and ends parsing: no frame is produced after it.

        :raises ParseFailed: when the received bytes violate RFC 6455. The
            exception's ``code`` is the close code to send. Afterwards this
            generator yields nothing, whatever is received.
        """
        next_frame = self.next_frame
        while True:
            frame = next_frame()
            if frame is None:
                return
            yield frame

    def next_frame(self) -> Frame | None:
        """The next frame :meth:`received_frames` yields, or None (more bytes needed,
        or parsing stopped after a Close frame or a failure).

        :raises ParseFailed: as :meth:`received_frames`.
        """
        if not self._started:
            # As wsproto: drop extensions disabled since construction.
            self._started = True
            self.extensions = [ext for ext in self.extensions if ext.enabled()]
        decoder = self._frame_decoder
        try:
            frame = decoder.process_buffer()
            if frame is None:
                return None
            opcode, payload, frame_finished, message_finished = frame
            if frame_finished:
                # Fast cases: a whole TEXT message, a BINARY frame's only piece.
                if opcode is _TEXT and message_finished:
                    if TYPE_CHECKING:  # a data frame's payload is bytes (FrameDecoder); no cast() call here
                        assert isinstance(payload, bytes)
                    try:
                        return _new_frame(Frame, (opcode, payload.decode("utf-8"), True, True))
                    except UnicodeDecodeError as exc:
                        raise ParseFailed(str(exc), CloseReason.INVALID_FRAME_PAYLOAD_DATA) from None
                if opcode is _BINARY:
                    return frame
            if opcode in CONTROL_OPCODES:
                if opcode is _CLOSE:
                    frame = self._process_close(frame)
                    decoder.stop()
                return frame
            if opcode is _BINARY or (opcode is _CONTINUATION and decoder.message_opcode is _BINARY):
                # The message's opcode on every piece; the message ends with its last frame's last piece.
                finished = frame_finished and message_finished
                if opcode is _BINARY and finished is message_finished:
                    return frame
                return _new_frame(Frame, (_BINARY, payload, frame_finished, finished))
            return self._text_piece(frame)
        except ParseFailed:
            decoder.stop()
            raise

    def _text_piece(self, frame: Frame) -> Frame:
        """A piece of a TEXT message from the decoder, its payload decoded as UTF-8 (RFC 6455 §8.1)."""
        finished = frame.frame_finished and frame.message_finished
        if TYPE_CHECKING:  # a data frame's payload is bytes (FrameDecoder); no cast() call here
            assert isinstance(frame.payload, bytes)
        text_decoder = self._text_decoder
        if frame.opcode is _TEXT:  # the message's first piece (not its only one: see next_frame())
            text_decoder = self._text_decoder = getincrementaldecoder("utf-8")()
        assert text_decoder is not None  # FrameDecoder delivered this message's first piece before
        text = decode_text_piece(text_decoder, frame.payload, finished)
        if finished:
            self._text_decoder = None
        return Frame(_TEXT, text, frame.frame_finished, finished)

    # -- sending -----------------------------------------------------------

    def close(self, code: int | None = None, reason: str | None = None) -> bytes:
        """Serialize a Close frame (RFC 6455 section 5.5.1).

        :param code: close code (int), or ``None`` for an empty payload. A
            local-only code is replaced as wsproto does (``SEND_AS``, from
            the ``send_as`` column of spec/close_codes.yaml): 1005
            NO_STATUS_RCVD (the ``response()`` of a Close that carried no
            code) is sent as a Close frame without a code, 1006
            ABNORMAL_CLOSURE and 1015 TLS_HANDSHAKE_FAILED as 1000 with the
            reason kept; the local-only codes must never be on the wire
            (RFC 6455 §7.4.1). Any other code must be one that may appear on
            the wire (registered codes except 1004, and 3000-4999).
        :param reason: text reason; encoded as UTF-8 and truncated at a
            character boundary to ``MAX_CLOSE_REASON_BYTES`` (123) bytes.
        :returns: the frame's wire bytes.
        :raises LocalProtocolError: a code that may not be sent, naming it and
            why (wsproto sends 1004, 999 or 5000 as given).
        :raises InvalidEventTypeError: a reason without a code (a reason
            needs a code on the wire, RFC 6455 §5.5.1); it is both a
            ``LocalProtocolError`` and the ``TypeError`` wsproto raises.
        """
        given = code
        if isinstance(code, int) and code in SEND_AS:
            code = SEND_AS[code]
        if code is None:
            if reason:
                why = "no code given" if given is None else f"code {given} is sent as a Close frame without a code"
                msg = f"cannot send a close reason without a close code ({why}; RFC 6455 §5.5.1)"
                raise InvalidEventTypeError(msg)
            payload = b""
        else:
            if not isinstance(code, int) or not may_appear_on_wire(code):
                raise LocalProtocolError(_unsendable_close_code(code))
            payload = _CLOSE_CODE.pack(code)
            if reason:
                payload += _truncate_utf8(reason.encode("utf-8"), MAX_CLOSE_REASON_BYTES)
        return self._serialize_frame(_CLOSE, payload)

    def ping(self, payload: bytes = b"") -> bytes:
        """Serialize a Ping frame carrying ``payload`` (at most 125 bytes; RFC 6455 section 5.5.2).

        :raises ValueError: payload longer than 125 bytes.
        """
        return self._serialize_frame(_PING, payload)

    def pong(self, payload: bytes = b"") -> bytes:
        """Serialize a Pong frame carrying ``payload`` (at most 125 bytes; RFC 6455 section 5.5.3).

        :raises ValueError: payload longer than 125 bytes.
        """
        return self._serialize_frame(_PONG, payload)

    def send_data(
        self,
        payload: bytes | bytearray | str = b"",
        fin: bool = True,
    ) -> bytes:
        """Serialize one data frame (RFC 6455 sections 5.4 and 5.6).

        :param payload: ``str`` for a text message (sent as UTF-8), or
            ``bytes``/``bytearray``/``memoryview`` for a binary message.
        :param fin: True if this frame ends the message. The first frame of
            a message gets opcode TEXT or BINARY, later ones CONTINUATION.
        :returns: the frame's wire bytes (masked when we are the client).
        :raises TypeError: payload of another type ("Must provide bytes or
            text"), or a payload type different from the one the unfinished
            message started with ("Data type mismatch inside message").
        """
        if isinstance(payload, (bytes, bytearray, memoryview)):
            opcode = _BINARY
        elif isinstance(payload, str):
            opcode = _TEXT
            payload = payload.encode("utf-8")
        else:
            msg = "Must provide bytes or text"
            raise TypeError(msg)

        if self._outbound_opcode is None:
            self._outbound_opcode = opcode
        elif self._outbound_opcode is not opcode:
            msg = "Data type mismatch inside message"
            raise TypeError(msg)
        else:
            opcode = _CONTINUATION

        if fin:
            self._outbound_opcode = None

        return self._serialize_frame(opcode, payload, fin)

    def _make_fin_rsv_opcode(self, fin: bool, rsv: RsvBits, opcode: Opcode) -> int:
        return (
            (FIN_MASK if fin else 0)
            | (RSV1_MASK if rsv[0] else 0)
            | (RSV2_MASK if rsv[1] else 0)
            | (RSV3_MASK if rsv[2] else 0)
            | int(opcode)
        )

    def _serialize_frame(
        self,
        opcode: Opcode,
        payload: bytes | bytearray | memoryview = b"",
        fin: bool = True,
    ) -> bytes:
        extensions = self.extensions
        if extensions:
            rsv = _NO_RSV
            context = self._frame_decoder.context
            for extension in reversed(extensions):
                rsv, payload = extension.frame_outbound(context, opcode, rsv, bytes(payload), fin)
            byte0 = self._make_fin_rsv_opcode(fin, rsv, opcode)
        else:
            byte0 = opcode
            if fin:
                byte0 |= _FIN_MASK
        length = len(payload)
        if self.client:
            if length <= _MAX_PAYLOAD_NORMAL:
                # RFC 6455 section 5.3: a fresh, unpredictable key per frame.
                return _short_frame(byte0, _MASK_MASK | length, _new_masking_key(), payload)
            byte1 = _MASK_MASK
        else:
            if length <= _MAX_PAYLOAD_NORMAL:
                return _short_frame(byte0, length, None, payload)
            byte1 = 0
        if opcode in CONTROL_OPCODES:
            msg = "payload too long for control frame"
            raise ValueError(msg)
        if length <= _MAX_PAYLOAD_TWO_BYTE:
            header = _HEADER_TWO_BYTE.pack(byte0, byte1 | _PAYLOAD_LENGTH_TWO_BYTE, length)
        else:
            header = _HEADER_EIGHT_BYTE.pack(byte0, byte1 | _PAYLOAD_LENGTH_EIGHT_BYTE, length)

        if byte1:
            # RFC 6455 section 5.3: a fresh, unpredictable key per frame.
            masking_key = _new_masking_key()
            return _masked_frame(header, masking_key, payload)
        return b"".join((header, payload))


# wsproto's names that wsspec's receive path does not use (see the module docstring).
from ._wsproto_compat import NULL_MASK, Buffer, MessageDecoder, XorMaskerNull, XorMaskerSimple  # noqa: E402
