"""
wsspec.masking
~~~~~~~~~~~~~~

Payload masking (RFC 6455 §5.3) and masking keys, with one backend chosen
at import time:

* ``"wsspec.compiled"``: in wsspec's compiled build (``wsspec.BUILD ==
  "compiled"``) this module is compiled from this same file and
  :func:`mask` is :func:`mask_compiled`: C loops over the buffers, one new
  ``bytes`` per call, no other copy;
* ``"websockets.speedups"``: in the pure-Python build, the compiled
  ``apply_mask`` of the websockets package when it is installed (any
  buffer in, ``bytes`` out);
* ``"python"``: :func:`mask_python`, pure Python (a big-integer XOR for
  short payloads, four strided ``bytes.translate`` passes for long ones;
  about 700 MiB/s on CPython 3.11).

Setting the environment variable ``WSSPEC_NO_SPEEDUPS=1`` (any value but
empty or ``0``) before wsspec is imported makes the pure-Python build use
``"python"`` (the compiled build is left with ``WSSPEC_NO_EXTENSIONS=1``).
All backends give identical bytes (tests/test_masking.py).
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Any, Callable

from ._generated.framing import MASKING_KEY_LENGTH

if TYPE_CHECKING:
    from . import _cython_shim as cython
else:
    try:
        # Compiled: Cython's compile-time module. Interpreted: Cython's
        # shadow module if Cython is installed, else the shim.
        import cython
    except ImportError:
        from . import _cython_shim as cython

if not cython.compiled:
    # Compiled, a C constant cimported in masking.pxd from generated/constants.pxd.
    _MASKING_KEY_LENGTH = MASKING_KEY_LENGTH

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "BACKEND", "mask", "mask_compiled", "mask_python", "mask_slice", "masked_frame", "new_masking_key", "rotate_key",
    "short_frame", "unmask_payload",
]

# Payloads shorter than this are masked with one big-integer XOR, longer ones
# with four strided ``bytes.translate`` passes (measured crossover on CPython
# 3.11: the integer conversions cost more than translate beyond ~800 bytes).
_MASK_INT_THRESHOLD = 768

#: Pieces of a buffer at least this long (bytes) are read through a
#: memoryview (one copy fewer) rather than a slice, which is cheaper below it.
VIEW_THRESHOLD = 16384

# _XOR_TABLE[k] is the 256-byte translation table for "XOR with k".
_IDENTITY = int.from_bytes(bytes(range(256)), "big")
_XOR_TABLE = [
    (_IDENTITY ^ int.from_bytes(bytes((k,)) * 256, "big")).to_bytes(256, "big")
    for k in range(256)
]
del _IDENTITY


def mask_python(data: bytes | bytearray | memoryview, key: bytes | bytearray) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` repeated (RFC 6455 §5.3), in pure Python.

    :param data: any bytes-like object (C-contiguous), of any length.
    :param key: exactly ``MASKING_KEY_LENGTH`` (4) bytes; byte ``i`` of
        ``data`` is XORed with ``key[i % 4]``.
    :returns: new ``bytes`` of ``len(data)``; ``data`` is not modified.
    """
    n = len(data)
    if n < _MASK_INT_THRESHOLD:
        if not n:
            return b""
        keystream = key * ((n + MASKING_KEY_LENGTH - 1) // MASKING_KEY_LENGTH)
        if len(keystream) != n:
            keystream = keystream[:n]
        return (int.from_bytes(data, "big") ^ int.from_bytes(keystream, "big")).to_bytes(n, "big")
    out = bytearray(data)
    for i in range(MASKING_KEY_LENGTH):
        out[i::MASKING_KEY_LENGTH] = out[i::MASKING_KEY_LENGTH].translate(_XOR_TABLE[key[i]])
    return bytes(out)


def mask_compiled(data: bytes | bytearray | memoryview, key: bytes | bytearray) -> bytes:
    """:func:`mask_python`'s contract, as a C loop: what :func:`mask` is in the compiled build.

    Only the compiled build may call it (``cython.compiled``); interpreted,
    it raises ``RuntimeError``. Types and locals are declared in
    ``masking.pxd`` beside this file. ``bytes`` and ``bytearray`` are read
    through their internal pointer, other buffers (``memoryview``,
    C-contiguous) through a typed memoryview; the result is written straight
    into the new ``bytes`` object (no other allocation).

    :raises ValueError: ``key`` is not ``MASKING_KEY_LENGTH`` (4) bytes.
    """
    if not cython.compiled:
        msg = "mask_compiled() runs only in wsspec's compiled build; use mask()"
        raise RuntimeError(msg)
    n = len(data)
    if not n:
        return b""
    return _xor_copy(_read_pointer(data), n, key)


def mask_slice(buf: bytearray, start: int, end: int, key: bytes | bytearray) -> bytes:
    """``mask(buf[start:end], key)`` without copying the slice first (the receive path).

    :param buf: the receive buffer; ``0 <= start <= end <= len(buf)``.
    :param key: the 4-byte masking key for ``buf[start]`` (already rotated).
    :returns: new ``bytes`` of ``end - start``.
    """
    if cython.compiled:
        return _xor_copy(cython.cast(cython.p_uchar, buf) + start, end - start, key)
    if end - start < VIEW_THRESHOLD:
        return mask(buf[start:end], key)  # small: slicing is cheaper than a memoryview
    with memoryview(buf) as view:
        return mask(view[start:end], key)


# A frame header's first two bytes (RFC 6455 §5.2): byte 0, byte 1.
_HEADER_SHORT = struct.Struct("!BB")


def unmask_payload(buf: bytearray, start: int, end: int) -> bytes:
    """``buf[start:end]`` unmasked with the masking key just before it, in
    ``buf[start - 4:start]`` (a whole masked frame in the receive buffer,
    RFC 6455 §5.3): :func:`mask_slice` without taking the key out first.

    :param buf: the receive buffer; ``4 <= start <= end <= len(buf)``.
    :returns: new ``bytes`` of ``end - start``.
    """
    if cython.compiled:
        base = cython.cast(cython.p_uchar, buf)
        key_at = start - _MASKING_KEY_LENGTH
        out = _new_bytes(end - start)
        _xor_key(base + start, cython.cast(cython.p_uchar, out), end - start, base + key_at)
        return out
    key = buf[start - MASKING_KEY_LENGTH : start]
    if end - start < VIEW_THRESHOLD:  # mask_slice()'s small case, one call less (frames up to 125 B)
        return mask(buf[start:end], key)
    return mask_slice(buf, start, end, key)


def short_frame(byte0: int, byte1: int, key: bytes | None, payload: bytes | bytearray | memoryview) -> bytes:
    """A whole frame whose payload length fits the 7-bit field (RFC 6455
    §5.2): header bytes ``byte0`` (FIN, RSV1-3, opcode) and ``byte1`` (MASK
    bit, payload length), then, if ``key`` is given, the 4-byte masking key
    and the payload masked with it (a client's frame, §5.3), else the
    payload as it is.

    :param payload: any bytes-like object (C-contiguous) of at most 125 bytes.
    :returns: the frame as new ``bytes``, the only buffer allocated in the
        compiled build.
    """
    if not cython.compiled:
        if key is None:
            return _HEADER_SHORT.pack(byte0, byte1) + payload
        return b"".join((_HEADER_SHORT.pack(byte0, byte1), key, mask(payload, key)))
    n = len(payload)
    body = 2 if key is None else 2 + _MASKING_KEY_LENGTH  # where the payload starts in the frame
    out = _new_bytes(body + n)
    dst = cython.cast(cython.p_uchar, out)
    dst[0] = byte0
    dst[1] = byte1
    if key is None:
        if n:
            src = _read_pointer(payload)
            for i in range(n):  # at most 125 bytes
                dst[body + i] = src[i]
        return out
    for i in range(_MASKING_KEY_LENGTH):
        dst[2 + i] = key[i]
    if n:
        _xor_into(_read_pointer(payload), dst + body, n, key)
    return out


def masked_frame(header: bytes, key: bytes, payload: bytes | bytearray | memoryview) -> bytes:
    """``header + key + mask(payload, key)``: a client's frame, the payload masked
    straight into the frame (RFC 6455 §5.3).

    :param header: the frame header's first bytes (2, 4 or 10: up to the masking key).
    :param key: the frame's 4-byte masking key.
    :param payload: any bytes-like object (C-contiguous).
    :returns: the frame as new ``bytes``; in the compiled build the only
        buffer allocated (pure Python: the masked payload, then the join).
    """
    if not cython.compiled:
        return b"".join((header, key, mask(payload, key)))
    n = len(payload)
    head = len(header)
    body = head + _MASKING_KEY_LENGTH  # where the payload starts in the frame
    out = _new_bytes(body + n)
    dst = cython.cast(cython.p_uchar, out)
    for i in range(head):  # at most 10 bytes
        dst[i] = header[i]
    for i in range(_MASKING_KEY_LENGTH):
        dst[head + i] = key[i]
    if n:
        _xor_into(_read_pointer(payload), dst + body, n, key)
    return out


def _read_pointer(data: bytes | bytearray | memoryview) -> Any:
    """Compiled build only: a C pointer to the first byte of non-empty ``data``, valid while
    ``data`` lives: ``bytes`` and ``bytearray`` through their internal pointer, other
    buffers (``memoryview``, C-contiguous) through a typed memoryview."""
    if type(data) is bytes:
        data_bytes = data
        return cython.cast(cython.p_uchar, data_bytes)
    if type(data) is bytearray:
        data_bytearray = data
        return cython.cast(cython.p_uchar, data_bytearray)
    view = data
    return cython.address(view[0])


def _xor_copy(src: Any, n: int, key: bytes | bytearray) -> bytes:
    """Compiled build only: new ``bytes`` of ``n`` = the ``n`` bytes at C pointer
    ``src`` XOR ``key`` repeated."""
    out = _new_bytes(n)
    _xor_into(src, cython.cast(cython.p_uchar, out), n, key)
    return out


def _new_bytes(n: int) -> bytes:
    """Compiled build only: a new ``bytes`` of ``n`` bytes, left uninitialised
    (the caller fills every byte): ``PyBytes_FromStringAndSize(NULL, n)``,
    declared in masking.pxd. ``bytes(n)`` would zero it first."""
    return PyBytes_FromStringAndSize(cython.NULL, n)  # type: ignore[name-defined, no-any-return]  # pyright: ignore[reportUndefinedVariable]  # noqa: F821


def _xor_into(src: Any, dst: Any, n: int, key: bytes | bytearray) -> None:
    """Compiled build only: ``n`` bytes at C pointer ``dst`` = those at ``src`` XOR
    ``key`` repeated: eight bytes per step (the key twice, as a native 64-bit
    word, which is endian-neutral since XOR works byte by byte), then the
    last 0-7 bytes one by one.

    The key is read in place (one 32-bit load, no ``bytes`` made). The 32-
    and 64-bit accesses may be unaligned: fine on the platforms CPython
    wheels are built for (x86-64, ARM64); setup.py compiles this module
    without auto-vectorisation, so no aligned vector access is assumed.

    :raises ValueError: ``key`` is not ``MASKING_KEY_LENGTH`` (4) bytes.
    """
    if len(key) != _MASKING_KEY_LENGTH:
        msg = f"a masking key is {MASKING_KEY_LENGTH} bytes, got {len(key)}"
        raise ValueError(msg)
    _xor_key(src, dst, n, _read_pointer(key))


def _xor_key(src: Any, dst: Any, n: int, key_bytes: Any) -> None:
    """Compiled build only: :func:`_xor_into` with the key at C pointer ``key_bytes`` (4 bytes)."""
    half = cython.cast(cython.pointer(cython.uint), key_bytes)[0]
    word_key = half | (cython.cast(cython.ulonglong, half) << 32)
    src_words = cython.cast(cython.pointer(cython.ulonglong), src)
    dst_words = cython.cast(cython.pointer(cython.ulonglong), dst)
    words = n // 8
    for w in range(words):
        dst_words[w] = src_words[w] ^ word_key
    i = words * 8  # a multiple of 4: the key starts over
    while i < n:
        dst[i] = src[i] ^ key_bytes[i & 3]
        i += 1


def rotate_key(key: bytes, offset: int) -> bytes:
    """The masking key to continue with after ``offset`` payload bytes (RFC 6455 §5.3: byte ``j``
    of the payload is XORed with key byte ``j MOD 4``).

    :param key: a frame's 4-byte masking key.
    :param offset: payload bytes already (un)masked with it, any int >= 0.
    :returns: ``key`` rotated left by ``offset % 4`` bytes (``key`` itself when that is 0).
    """
    offset %= MASKING_KEY_LENGTH
    return key[offset:] + key[:offset] if offset else key


def _speedups_disabled() -> bool:
    return os.environ.get("WSSPEC_NO_SPEEDUPS", "") not in ("", "0")


#: Which masking routine :func:`mask` is: ``"wsspec.compiled"``,
#: ``"websockets.speedups"`` or ``"python"``.
BACKEND = "python"
#: ``mask(data, key) -> bytes``: XOR ``data`` (any bytes-like object) with the
#: 4-byte ``key`` repeated (RFC 6455 §5.3); the compiled routine if available.
mask: Callable[[bytes | bytearray | memoryview, bytes | bytearray], bytes] = mask_python
if cython.compiled:
    mask = mask_compiled
    BACKEND = "wsspec.compiled"
elif not _speedups_disabled():
    try:
        # websockets is optional: without it mypy finds no module here, with
        # it (typed, speedups.pyi) the ignore is unused; both are fine.
        from websockets.speedups import apply_mask as _apply_mask  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        pass
    else:
        mask = _apply_mask
        BACKEND = "websockets.speedups"


# Masking keys come from os.urandom (RFC 6455 §5.3: fresh and unpredictable
# for every frame), read 4 KiB at a time: one system call per 1024 frames
# instead of one per frame. The iterator hands out each key once, also
# across threads (next() on a C iterator is atomic under the GIL).
_POOL_BYTES = 4096
_KEY = struct.Struct(f"{MASKING_KEY_LENGTH}s")
_keys: Iterator[tuple[bytes]] = iter(())


def _refill() -> None:
    global _keys
    _keys = _KEY.iter_unpack(os.urandom(_POOL_BYTES))


def new_masking_key() -> bytes:
    """A fresh random masking key: ``MASKING_KEY_LENGTH`` (4) bytes from ``os.urandom``."""
    while True:
        try:
            return next(_keys)[0]
        except StopIteration:
            _refill()


def _forget_keys() -> None:
    """After fork(): the child must not reuse the keys its parent may still use."""
    global _keys
    _keys = iter(())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_keys)
