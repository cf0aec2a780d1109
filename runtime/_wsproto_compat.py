"""
wsspec._wsproto_compat
~~~~~~~~~~~~~~~~~~~~~~

Names of ``wsproto.frame_protocol`` that wsspec's own receive path does not
use, kept so that code written against wsproto 1.3.2 (and wsproto's own
test suite) runs unchanged. They are re-exported from
:mod:`wsspec.frame_protocol` under wsproto's names; nothing else in wsspec
imports them.

* :data:`NULL_MASK`, :class:`XorMaskerSimple`, :class:`XorMaskerNull`:
  masking helpers (RFC 6455 §5.3). wsspec unmasks with
  :func:`wsspec.masking.mask` and :func:`wsspec.masking.rotate_key`.
* :class:`Buffer`: wsproto's receive buffer with tentative consumption.
  :class:`~wsspec.frame_protocol.FrameDecoder` keeps its own buffer.
* :class:`MessageDecoder`: wsproto's message reassembly. In wsspec the
  fragmentation rules (RFC 6455 §5.4) are enforced once, by
  :class:`~wsspec.frame_protocol.FrameDecoder` at each frame header, and
  :class:`~wsspec.frame_protocol.FrameProtocol` only decodes TEXT as
  UTF-8; this class repeats the fragmentation checks for its direct
  callers, who feed it frames that no FrameDecoder has checked.
"""

from __future__ import annotations

from codecs import IncrementalDecoder, getincrementaldecoder
from typing import TYPE_CHECKING

from ._generated.framing import MASKING_KEY_LENGTH
from ._generated.opcodes import CONTROL_OPCODES, FRAGMENTATION, FRAGMENTATION_ERRORS, Opcode
from .frame_protocol import Frame, ParseFailed, decode_text_piece
from .masking import mask, rotate_key

__all__ = ["NULL_MASK", "Buffer", "MessageDecoder", "XorMaskerNull", "XorMaskerSimple"]

#: An all-zero masking key (``MASKING_KEY_LENGTH`` zero bytes); XOR with it
#: is the identity.
NULL_MASK = bytes(MASKING_KEY_LENGTH)

# Compact the buffer once at least this share of it has been consumed.
_COMPACT_RATIO = 2


class XorMaskerSimple:
    """Apply (or remove) the masking of one frame's payload (RFC 6455 section 5.3).

    :param masking_key: the frame's 4-byte masking key.

    The payload may be processed in several pieces: the key is rotated after
    each call so that the next call continues at the right key byte.
    """

    __slots__ = ("_masking_key",)

    def __init__(self, masking_key: bytearray | bytes) -> None:
        self._masking_key = bytes(masking_key)

    def process(self, data: bytes | bytearray | memoryview) -> bytearray:
        """Mask/unmask the next ``len(data)`` payload bytes.

        :param data: the next piece of payload, any bytes-like object.
        :returns: a new bytearray of the same length; ``data`` is not modified.
        """
        key = self._masking_key
        result = bytearray(mask(data, key))
        self._masking_key = rotate_key(key, len(data))
        return result


class XorMaskerNull:
    """The masker for unmasked frames: returns its input unchanged."""

    __slots__ = ()

    def process(self, data: bytearray) -> bytearray:
        """Return ``data`` itself (no masking)."""
        return data


class Buffer:
    """A byte buffer with tentative consumption.

    ``consume_*`` advance a read cursor; :meth:`commit` makes the consumption
    permanent and :meth:`rollback` undoes it. Consumed bytes are dropped from
    the underlying bytearray in amortised linear time (the buffer is
    compacted only once at least half of it has been consumed).
    """

    def __init__(self, initial_bytes: bytes | None = None) -> None:
        self.buffer = bytearray()
        self.bytes_used = 0  # tentatively consumed, relative to _start
        self._start = 0  # committed offset into self.buffer
        if initial_bytes:
            self.feed(initial_bytes)

    def feed(self, new_bytes: bytes) -> None:
        """Append ``new_bytes`` (any bytes-like object)."""
        self.buffer += new_bytes

    def consume_at_most(self, nbytes: int) -> bytearray:
        """Consume and return up to ``nbytes`` bytes (fewer if fewer are available)."""
        if nbytes <= 0:
            return bytearray()
        begin = self._start + self.bytes_used
        data = self.buffer[begin : begin + nbytes]
        self.bytes_used += len(data)
        return data

    def consume_exactly(self, nbytes: int) -> bytearray | None:
        """Consume and return exactly ``nbytes`` bytes, or None if fewer are available."""
        if len(self) - self.bytes_used < nbytes:
            return None
        return self.consume_at_most(nbytes)

    def commit(self) -> None:
        """Make the bytes consumed since the last commit/rollback permanent."""
        self._start += self.bytes_used
        self.bytes_used = 0
        start = self._start
        if start and start * _COMPACT_RATIO >= len(self.buffer):
            del self.buffer[:start]
            self._start = 0

    def rollback(self) -> None:
        """Un-consume the bytes consumed since the last commit/rollback."""
        self.bytes_used = 0

    def __len__(self) -> int:
        """Number of uncommitted bytes (including tentatively consumed ones)."""
        return len(self.buffer) - self._start


class MessageDecoder:
    """Reassemble data frames into messages (wsproto's class).

    Enforces the fragmentation rules of RFC 6455 section 5.4 (by the
    generated ``FRAGMENTATION`` table, as FrameDecoder does) and decodes
    TEXT messages as UTF-8 incrementally (section 8.1), so invalid UTF-8 is
    reported as soon as the piece containing it arrives.
    """

    def __init__(self) -> None:
        self.opcode: Opcode | None = None
        self.decoder: IncrementalDecoder | None = None

    def process_frame(self, frame: Frame) -> Frame:
        """Process one (piece of a) data frame from :class:`FrameDecoder`.

        :param frame: a TEXT, BINARY or CONTINUATION frame with bytes payload.
        :returns: the frame with the message's opcode (TEXT or BINARY), the
            payload as ``str`` for TEXT, and ``message_finished`` true only on
            the last piece of the message.
        :raises ParseFailed: code 1002 for a CONTINUATION frame with no
            message in progress or a TEXT/BINARY frame inside an unfinished
            message; code 1007 for invalid UTF-8 in a TEXT message.
        :raises ValueError: if given a control frame (internal misuse).
        """
        opcode = frame.opcode
        if opcode in CONTROL_OPCODES:
            msg = f"MessageDecoder cannot process control frame {opcode!r}"
            raise ValueError(msg)
        message_open = self.opcode is not None
        if (message_open, opcode, frame.message_finished) not in FRAGMENTATION:
            msg = FRAGMENTATION_ERRORS[(message_open, opcode)]
            raise ParseFailed(msg if opcode is Opcode.CONTINUATION else f"{msg}, got {opcode!r}")
        if not message_open:
            self.opcode = opcode
            if opcode is Opcode.TEXT:
                self.decoder = getincrementaldecoder("utf-8")()
        finished = frame.frame_finished and frame.message_finished
        if TYPE_CHECKING:  # a data frame's payload is bytes (FrameDecoder)
            assert isinstance(frame.payload, bytes)
        decoder = self.decoder
        data: bytes | str = frame.payload if decoder is None else decode_text_piece(decoder, frame.payload, finished)
        message_opcode = self.opcode
        assert message_opcode is not None  # set above for the message's first frame
        if finished:
            self.opcode = None
            self.decoder = None
        return Frame(message_opcode, data, frame.frame_finished, finished)

