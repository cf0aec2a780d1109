"""
wsspec.deflate
~~~~~~~~~~~~~~

The two halves of permessage-deflate's message transformation (RFC 7692
§7.2), on the standard :mod:`zlib` module:

* :class:`Deflater` compresses the messages this endpoint sends: raw DEFLATE
  (RFC 1951) ending each message with a sync flush whose 4-byte tail
  (``DEFLATE_TAIL``, ``00 00 ff ff``) is removed (§7.2.1).
* :class:`Inflater` inflates the messages the peer sends: the tail is
  appended at the end of each message (§7.2.2), and the output of every call
  can be capped, so that a small compressed frame cannot make it allocate
  more than the caller allows (a "decompression bomb").

Both create their zlib object lazily, on the first message that needs it,
and with *no context takeover* (§7.1.1) drop it after every message, so an
idle connection holds no zlib state at all.

zlib cannot compress raw deflate with an 8-bit window (RFC 7692 allows
8..15): ``zlib.compressobj(wbits=-8)`` raises. A :class:`Deflater` limited to
8 bits is therefore created with ``ZLIB_MIN_WINDOW_BITS`` (9), which still
honours the limit: zlib's deflate never emits a match further back than its
window minus 262 bytes (``MAX_DIST`` in zlib's deflate.c), 250 bytes for a
9-bit window, inside the 256 bytes an 8-bit window allows. An
:class:`Inflater` uses the agreed window as it is; zlib inflates raw streams
with 8 bits.

Everything here is plain bytes in, bytes out; the frame hooks that use it
live in :mod:`wsspec.extensions`.
"""

from __future__ import annotations

import zlib

from ._generated.permessage_deflate import (
    DEFLATE_TAIL,
    MAX_WINDOW_BITS,
    MIN_WINDOW_BITS,
    ZLIB_MIN_WINDOW_BITS,
)
from .utilities import LocalProtocolError

__all__ = ["DeflateError", "Deflater", "Inflater"]

_TAIL_LENGTH = len(DEFLATE_TAIL)


class DeflateError(Exception):
    """
    The peer's compressed data is not a valid DEFLATE stream (RFC 1951), or
    needs a larger window than was agreed. :mod:`wsspec.extensions` turns it
    into a close with code 1007 (INVALID_FRAME_PAYLOAD_DATA).
    """


def _check_window_bits(window_bits: int) -> int:
    if isinstance(window_bits, bool) or not isinstance(window_bits, int) or not (
        MIN_WINDOW_BITS <= window_bits <= MAX_WINDOW_BITS
    ):
        msg = f"window_bits must be an int from {MIN_WINDOW_BITS} to {MAX_WINDOW_BITS}, got {window_bits!r}"
        raise LocalProtocolError(msg)
    return window_bits


class Deflater:
    """
    Compresses the messages one endpoint sends (RFC 7692 §7.2.1).

    :param window_bits: the agreed LZ77 window limit for this sender, 8..15
        (the window is ``2**window_bits`` bytes).
    :param no_context_takeover: start every message with an empty window
        (RFC 7692 §7.1.1); the zlib object is dropped after each message.
    :param level: zlib compression level, 0..9 or -1 (zlib's default).
    :param mem_level: zlib memLevel, 1..9: memory for the match finder.
    :raises LocalProtocolError: ``window_bits`` outside 8..15.

    The zlib object is created when the first message is compressed.
    """

    __slots__ = ("window_bits", "no_context_takeover", "level", "mem_level", "_wbits", "_obj")

    def __init__(
        self,
        window_bits: int,
        no_context_takeover: bool = False,
        level: int = zlib.Z_DEFAULT_COMPRESSION,
        mem_level: int = zlib.DEF_MEM_LEVEL,
    ) -> None:
        self.window_bits = _check_window_bits(window_bits)
        self.no_context_takeover = no_context_takeover
        self.level = level
        self.mem_level = mem_level
        # zlib refuses 8; with 9 its matches reach at most 250 bytes back (see above).
        self._wbits = -max(window_bits, ZLIB_MIN_WINDOW_BITS)
        self._obj: zlib._Compress | None = None

    @property
    def active(self) -> bool:
        """Whether a zlib compression object is currently allocated."""
        return self._obj is not None

    def compress(self, data: bytes, fin: bool) -> bytes:
        """
        Compress the next fragment of the current message.

        :param data: the fragment's application data, bytes-like.
        :param fin: True for the last fragment of the message.
        :returns: the fragment's payload (``bytes``). Every fragment ends
            with a sync flush, so the peer can inflate it at once; on the
            last one the flush's 4-byte tail is removed (RFC 7692 §7.2.1),
            and with no context takeover the window is forgotten.
        """
        obj = self._obj
        if obj is None:
            obj = self._obj = zlib.compressobj(self.level, zlib.DEFLATED, self._wbits, self.mem_level)
        out = obj.compress(data) + obj.flush(zlib.Z_SYNC_FLUSH)
        if fin:
            # A sync flush always ends with the tail; cut it off.
            out = out[:-_TAIL_LENGTH]
            if self.no_context_takeover:
                self._obj = None
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(window_bits={self.window_bits}, "
                f"no_context_takeover={self.no_context_takeover}, active={self.active})")


class Inflater:
    """
    Inflates the messages the peer sends (RFC 7692 §7.2.2), never producing
    more output per call than the caller allows.

    :param window_bits: the agreed LZ77 window limit of the peer, 8..15.
    :param no_context_takeover: the peer starts every message with an empty
        window (RFC 7692 §7.1.1); the zlib object is dropped after each
        message.
    :raises LocalProtocolError: ``window_bits`` outside 8..15.

    Use per message: :meth:`inflate` for each compressed fragment, then
    :meth:`finish` (which appends the tail). Both take ``max_length``: at
    most that many bytes come back; input that would produce more stays
    queued (zlib's ``unconsumed_tail``) and :attr:`pending` is true until
    ``inflate(b"", n)`` calls have drained it. So a caller can stream a huge
    message in bounded pieces, or stop at a size limit before anything big
    is allocated. The zlib object is created on the first call.
    """

    __slots__ = ("window_bits", "no_context_takeover", "_wbits", "_obj", "_input", "_more", "_ending")

    def __init__(self, window_bits: int, no_context_takeover: bool = False) -> None:
        self.window_bits = _check_window_bits(window_bits)
        self.no_context_takeover = no_context_takeover
        self._wbits = -window_bits
        self._obj: zlib._Decompress | None = None
        self._input = b""  # compressed bytes not yet consumed (max_length reached)
        self._more = False  # the last call filled max_length: zlib may hold more output
        self._ending = False  # finish() was called; reset once drained

    @property
    def active(self) -> bool:
        """Whether a zlib decompression object is currently allocated."""
        return self._obj is not None

    @property
    def pending(self) -> bool:
        """True if ``inflate(b"", n)`` may return more output of input already given."""
        return bool(self._input) or self._more

    def start(self) -> None:
        """A compressed message begins: create the zlib object now if there is none
        (wsproto creates it at the first frame header, and code written for
        wsproto may look at it then)."""
        if self._obj is None:
            self._obj = zlib.decompressobj(self._wbits)

    def inflate(self, data: bytes, max_length: int = 0) -> bytes:
        """
        Feed the next compressed bytes of the current message and inflate.

        :param data: compressed bytes (bytes-like); ``b""`` to drain output
            left over by an earlier call.
        :param max_length: the most bytes to return; 0 means no limit.
        :returns: inflated bytes, at most ``max_length`` of them.
        :raises DeflateError: the data is not valid DEFLATE, or refers
            further back than the window. The inflater is then reset.
        :raises LocalProtocolError: ``max_length`` is negative.
        """
        if max_length < 0:
            msg = f"max_length must be >= 0, got {max_length}"
            raise LocalProtocolError(msg)
        if self._input:
            data = self._input + data
        elif not data and not self._more:
            if self._ending:
                self._end()
            return b""
        obj = self._obj
        if obj is None:
            obj = self._obj = zlib.decompressobj(self._wbits)
        try:
            out = obj.decompress(data, max_length)
        except zlib.error as exc:
            self._obj = None
            self._input = b""
            self._more = self._ending = False
            msg = f"invalid compressed data: {exc}"
            raise DeflateError(msg) from None
        if obj.eof:
            # The peer ended its stream with a final block (BFINAL, RFC 7692
            # §7.2.3): the rest of this message (the appended tail) is not
            # DEFLATE data, and the next message starts a new stream.
            self._input = b""
            self._more = False
        else:
            tail = obj.unconsumed_tail
            self._input = tail
            # Output that filled max_length may not be all there is, unless
            # the tail finish() appended is consumed: zlib reads its LEN/NLEN
            # bytes (the empty stored block, RFC 1951 §3.2.4) only after
            # emitting every symbol before them, so nothing is held back then
            # and the piece just returned ends the message.
            self._more = bool(max_length) and len(out) == max_length and not (self._ending and not tail)
        if self._ending and not self._input and not self._more:
            self._end()
        return out

    def finish(self, max_length: int = 0, data: bytes = b"") -> bytes:
        """
        End the current message: append the tail to ``data`` (its last
        compressed bytes, if not fed yet) and inflate what is left.

        :param max_length: the most bytes to return; 0 means no limit. If
            more remains, :attr:`pending` is true and ``inflate(b"", n)``
            returns the rest; the message ends when it is drained.
        :returns: inflated bytes, at most ``max_length`` of them.
        :raises DeflateError: as :meth:`inflate`.
        """
        self._ending = True
        obj = self._obj
        if obj is not None and obj.eof:
            # After a final block, the rest is not DEFLATE data (RFC 7692 §7.2.3).
            self._input = b""
            return self.inflate(b"", max_length)
        return self.inflate(data + DEFLATE_TAIL if data else DEFLATE_TAIL, max_length)

    def _end(self) -> None:
        """The message is complete: forget the window if it cannot be reused."""
        self._ending = False
        obj = self._obj
        if self.no_context_takeover or (obj is not None and obj.eof):
            self._obj = None

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(window_bits={self.window_bits}, "
                f"no_context_takeover={self.no_context_takeover}, active={self.active})")
