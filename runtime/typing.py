"""
wsspec.typing
~~~~~~~~~~~~~

Type aliases shared by the public API.
"""

from __future__ import annotations

#: HTTP headers as a list of ``(name, value)`` pairs of ``bytes``, in wire order.
Headers = list[tuple[bytes, bytes]]
