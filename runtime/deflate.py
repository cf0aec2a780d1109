"""
wsspec.deflate
~~~~~~~~~~~~~~

The two halves of permessage-deflate's message transformation (RFC 7692
§7.2), on a zlib backend: the standard :mod:`zlib` module by default, or
zlib-ng (``zlib_ng.zlib_ng``) or ISA-L (``isal.isal_zlib``), which offer the
same API (see :class:`Backend`):

* :class:`Deflater` compresses the messages this endpoint sends: raw DEFLATE
  (RFC 1951) ending each message with a sync flush whose 4-byte tail
  (``DEFLATE_TAIL``, ``00 00 ff ff``) is removed (§7.2.1).
* :class:`Inflater` inflates the messages the peer sends: the tail is
  appended at the end of each message (§7.2.2), and the output of every call
  can be capped, so that a small compressed frame cannot make it allocate
  more than the caller allows (a "decompression bomb"). Every backend's
  ``decompressobj`` takes ``max_length`` and keeps ``unconsumed_tail`` and
  ``eof`` as zlib does; the tests run each backend through the same bombs.

Both create their compression object lazily, on the first message that
needs it, and with *no context takeover* (§7.1.1) drop it after every
message, so an idle connection holds no compression state at all.

zlib cannot compress raw deflate with an 8-bit window (RFC 7692 allows
8..15): ``zlib.compressobj(wbits=-8)`` raises. A :class:`Deflater` limited to
8 bits is therefore created with ``ZLIB_MIN_WINDOW_BITS`` (9), which still
honours the limit: zlib's deflate never emits a match further back than its
window minus 262 bytes (``MAX_DIST`` in zlib's deflate.c), 250 bytes for a
9-bit window, inside the 256 bytes an 8-bit window allows. zlib-ng's deflate
has the same ``MAX_DIST``. ISA-L's does not (its matches reach the whole
window) and refuses 8 bits too, so with ISA-L a :class:`Deflater` limited to
8 bits compresses with the standard :mod:`zlib` instead (its peer cannot
tell). An :class:`Inflater` uses the agreed window as it is; every backend
inflates raw streams with 8 bits.

Everything here is plain bytes in, bytes out; the frame hooks that use it
live in :mod:`wsspec.extensions`.
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import NamedTuple

from ._generated.permessage_deflate import (
    DEFLATE_TAIL,
    MAX_WINDOW_BITS,
    MIN_WINDOW_BITS,
    ZLIB_MIN_WINDOW_BITS,
)
from .utilities import LocalProtocolError

__all__ = ["Backend", "BACKEND_MODULES", "ZLIB", "DeflateError", "Deflater", "Inflater"]

_TAIL_LENGTH = len(DEFLATE_TAIL)


class Backend(NamedTuple):
    """
    A zlib implementation: a module with zlib's ``compressobj``,
    ``decompressobj``, ``error`` and constants.

    Make one with :meth:`from_module`; :data:`ZLIB` is the standard library's.
    """

    #: ``"zlib"``, ``"zlib-ng"``, ``"isal"`` or the module's name.
    name: str
    #: The module (``zlib``, ``zlib_ng.zlib_ng``, ``isal.isal_zlib``, ...).
    module: ModuleType
    #: The lowest and highest compression level it accepts (ISA-L: 0..3).
    min_level: int
    max_level: int
    #: Its default level (zlib: -1, which means 6; ISA-L: 2).
    default_level: int
    #: The fewest window bits its deflate can honour (zlib, zlib-ng: 8, by
    #: compressing with 9, see above; ISA-L: 9). A smaller agreed window is
    #: compressed with the standard zlib.
    min_deflate_window_bits: int
    #: Whether its inflater may consume all its input and still hold output
    #: back (ISA-L); zlib's reads the stored block's LEN/NLEN bytes only once
    #: everything before them is out, which :class:`Inflater` relies on to end
    #: a message on a full piece without asking for one more.
    holds_output: bool

    @classmethod
    def from_module(cls, module: ModuleType) -> Backend:
        """The :class:`Backend` of a zlib-compatible ``module``."""
        name = BACKEND_NAMES.get(module.__name__, module.__name__)
        if hasattr(module, "ISAL_BEST_COMPRESSION"):
            # ISA-L: levels 0..3 (python-isal raises ValueError for any other),
            # no 8-bit deflate window, and matches reaching the whole window.
            return cls(name, module, int(module.ISAL_BEST_SPEED), int(module.ISAL_BEST_COMPRESSION),
                       int(module.ISAL_DEFAULT_COMPRESSION), MIN_WINDOW_BITS + 1, True)
        return cls(name, module, zlib.Z_DEFAULT_COMPRESSION, zlib.Z_BEST_COMPRESSION, int(module.Z_DEFAULT_COMPRESSION),
                   MIN_WINDOW_BITS, False)


#: The backends by name: the module to import and the extra that installs it
#: (``pip install "wsspec[zlib-ng]"``); the standard zlib needs none.
BACKEND_MODULES: dict[str, tuple[str, str | None]] = {
    "zlib": ("zlib", None),
    "zlib-ng": ("zlib_ng.zlib_ng", "zlib-ng"),
    "isal": ("isal.isal_zlib", "isal"),
}
#: Module name -> backend name.
BACKEND_NAMES = {module: name for name, (module, _) in BACKEND_MODULES.items()}

#: The standard library's zlib, the default backend.
ZLIB = Backend.from_module(zlib)

_TUNINGS: dict[tuple[Backend, int, int], tuple[Backend, int, int]] = {}


def _tuning(backend: Backend, level: int, mem_level: int) -> tuple[Backend, int, int]:
    """One shared tuple per distinct setting (most connections share one)."""
    key = (backend, level, mem_level)
    return _TUNINGS.setdefault(key, key) if len(_TUNINGS) < 64 else key


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
        (RFC 7692 §7.1.1); the compression object is dropped after each
        message.
    :param level: compression level: -1 (zlib's default, 6) or 0..9; ISA-L
        0..3. ``None``: the backend's default.
    :param mem_level: zlib memLevel, 1..9: memory for the match finder.
    :param backend: the :class:`Backend` (default :data:`ZLIB`).
    :raises LocalProtocolError: ``window_bits`` outside 8..15.

    The compression object is created when the first message is compressed.
    Levels and memLevel are checked by :class:`~wsspec.extensions.PerMessageDeflate`.
    """

    # Few slots: one Deflater per negotiated connection (the settings it
    # shares with every other one are one tuple).
    __slots__ = ("window_bits", "no_context_takeover", "_tuning", "_obj")

    def __init__(
        self,
        window_bits: int,
        no_context_takeover: bool = False,
        level: int | None = None,
        mem_level: int = zlib.DEF_MEM_LEVEL,
        backend: Backend = ZLIB,
    ) -> None:
        self.window_bits = _check_window_bits(window_bits)
        self.no_context_takeover = no_context_takeover
        if window_bits < backend.min_deflate_window_bits:
            # ISA-L cannot honour an 8-bit window; zlib can (see the module doc).
            backend = ZLIB
            level = None
        self._tuning = _tuning(backend, backend.default_level if level is None else level, mem_level)
        self._obj: zlib._Compress | None = None

    @property
    def backend(self) -> Backend:
        """The :class:`Backend` this deflater compresses with."""
        return self._tuning[0]

    @property
    def level(self) -> int:
        """The compression level (``int``)."""
        return self._tuning[1]

    @property
    def mem_level(self) -> int:
        """zlib's memLevel (``int``, 1..9)."""
        return self._tuning[2]

    @property
    def active(self) -> bool:
        """Whether a compression object is currently allocated."""
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
            backend, level, mem_level = self._tuning
            module = backend.module
            # zlib refuses 8 bits; with 9 its matches reach at most 250 bytes back (see above).
            wbits = -max(self.window_bits, ZLIB_MIN_WINDOW_BITS)
            obj = self._obj = module.compressobj(level, module.DEFLATED, wbits, mem_level)
        out = obj.compress(data) + obj.flush(zlib.Z_SYNC_FLUSH)
        if fin:
            # A sync flush always ends with the tail; cut it off.
            out = out[:-_TAIL_LENGTH]
            if self.no_context_takeover:
                self._obj = None
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(window_bits={self.window_bits}, "
                f"no_context_takeover={self.no_context_takeover}, backend={self.backend.name!r}, "
                f"active={self.active})")


class Inflater:
    """
    Inflates the messages the peer sends (RFC 7692 §7.2.2), never producing
    more output per call than the caller allows.

    :param window_bits: the agreed LZ77 window limit of the peer, 8..15.
    :param no_context_takeover: the peer starts every message with an empty
        window (RFC 7692 §7.1.1); the decompression object is dropped after
        each message.
    :param backend: the :class:`Backend` (default :data:`ZLIB`).
    :raises LocalProtocolError: ``window_bits`` outside 8..15.

    Use per message: :meth:`inflate` for each compressed fragment, then
    :meth:`finish` (which appends the tail). Both take ``max_length``: at
    most that many bytes come back; input that would produce more stays
    queued (zlib's ``unconsumed_tail``) and :attr:`pending` is true until
    ``inflate(b"", n)`` calls have drained it. So a caller can stream a huge
    message in bounded pieces, or stop at a size limit before anything big
    is allocated. The zlib object is created on the first call.
    """

    __slots__ = ("window_bits", "no_context_takeover", "backend", "_obj", "_input", "_more", "_ending", "_held")

    def __init__(self, window_bits: int, no_context_takeover: bool = False, backend: Backend = ZLIB) -> None:
        self.window_bits = _check_window_bits(window_bits)
        self.no_context_takeover = no_context_takeover
        self.backend = backend
        self._obj: zlib._Decompress | None = None
        self._input = b""  # compressed bytes not yet consumed (max_length reached)
        self._more = False  # the last call filled max_length: zlib may hold more output
        self._ending = False  # finish() was called; reset once drained
        self._held = b""  # output taken from a backend that holds output back, not returned yet

    @property
    def active(self) -> bool:
        """Whether a decompression object is currently allocated."""
        return self._obj is not None

    @property
    def pending(self) -> bool:
        """True if ``inflate(b"", n)`` may return more output of input already given."""
        return bool(self._input) or self._more or bool(self._held)

    def start(self) -> None:
        """A compressed message begins: create the zlib object now if there is none
        (wsproto creates it at the first frame header, and code written for
        wsproto may look at it then)."""
        if self._obj is None:
            self._obj = self.backend.module.decompressobj(-self.window_bits)

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
        held = self._held
        if held:  # output an ISA-L inflater gave early (see below): return that first
            if data:
                self._input += bytes(data)
            out = held[:max_length] if max_length else held
            self._held = held[len(out):]
            if self._ending and not self.pending:
                self._end()
            return out
        if self._input:
            data = self._input + data
        elif not data and not self._more:
            if self._ending:
                self._end()
            return b""
        obj = self._obj
        if obj is None:
            obj = self._obj = self.backend.module.decompressobj(-self.window_bits)
        try:
            out = obj.decompress(data, max_length)
        except self.backend.module.error as exc:  # evaluated only when something is raised
            self._obj = None
            self._input = self._held = b""
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
            full = bool(max_length) and len(out) == max_length
            self._more = full and not (self._ending and not tail)
            if full and self._ending and not tail and self.backend.holds_output:
                # ISA-L may have consumed the tail with output still inside:
                # take at most one more piece now, to know whether the
                # message ends here (held until the next call).
                try:
                    held = obj.decompress(b"", max_length)
                except self.backend.module.error as exc:
                    self._obj = None
                    self._input = b""
                    self._more = self._ending = False
                    raise DeflateError(f"invalid compressed data: {exc}") from None
                self._held = held
                self._more = len(held) == max_length
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
                f"no_context_takeover={self.no_context_takeover}, backend={self.backend.name!r}, "
                f"active={self.active})")
