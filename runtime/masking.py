"""
wsspec.masking
~~~~~~~~~~~~~~

Payload masking (RFC 6455 §5.3) and masking keys, with one backend chosen
at import time:

* ``"websockets.speedups"``: the compiled ``apply_mask`` of the websockets
  package, when it is installed (any buffer in, ``bytes`` out, about
  30 GiB/s);
* ``"python"``: :func:`mask_python`, pure Python (a big-integer XOR for
  short payloads, four strided ``bytes.translate`` passes for long ones;
  about 700 MiB/s on CPython 3.11).

Setting the environment variable ``WSSPEC_NO_SPEEDUPS=1`` (any value but
empty or ``0``) before wsspec is imported forces the pure-Python backend.
Both backends give identical bytes (tests/test_masking.py).
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Callable

from ._generated.framing import MASKING_KEY_LENGTH

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["BACKEND", "mask", "mask_python", "new_masking_key", "rotate_key"]

# Payloads shorter than this are masked with one big-integer XOR, longer ones
# with four strided ``bytes.translate`` passes (measured crossover on CPython
# 3.11: the integer conversions cost more than translate beyond ~800 bytes).
_MASK_INT_THRESHOLD = 768

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


#: Which masking routine :func:`mask` is: ``"websockets.speedups"`` or ``"python"``.
BACKEND = "python"
#: ``mask(data, key) -> bytes``: XOR ``data`` (any bytes-like object) with the
#: 4-byte ``key`` repeated (RFC 6455 §5.3); the compiled routine if available.
mask: Callable[[bytes | bytearray | memoryview, bytes | bytearray], bytes] = mask_python
if not _speedups_disabled():
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
