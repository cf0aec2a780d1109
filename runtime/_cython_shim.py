"""
The few names of Cython's ``cython`` module that wsspec's compiled modules
use, for running them as plain Python without Cython installed.

In the compiled build ``import cython`` is resolved by the compiler and this
module is not used; interpreted, ``cython.compiled`` is False and the
compiled-only branches (e.g. :func:`wsspec.masking.mask_compiled`) are never
entered. Type checkers always see this module (``TYPE_CHECKING``).
"""

from __future__ import annotations

from typing import Any

#: False: this is the interpreted build.
compiled = False
#: Type names used in ``cython.cast(...)``; placeholders when interpreted.
p_uchar: Any = object
uint: Any = object
ulonglong: Any = object
#: C's NULL pointer; interpreted, None.
NULL: Any = None


def pointer(type_: Any) -> Any:
    """Cython's pointer type constructor; interpreted it returns ``type_``."""
    return type_


def cast(type_: Any, value: Any) -> Any:
    """Cython's cast; interpreted it returns ``value`` unchanged."""
    return value


def address(value: Any) -> Any:
    """Cython's address-of; interpreted it returns ``value`` unchanged."""
    return value
