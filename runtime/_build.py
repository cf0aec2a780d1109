"""
Which build of wsspec runs: the compiled modules or the pure-Python source.

wsspec's hot modules may be installed twice: as ``.py`` source and, in the
compiled build (``setup.py``, Cython in pure-Python mode), as extension
modules built from that same source. Python imports an extension module in
preference to a ``.py`` beside it. Setting ``WSSPEC_NO_EXTENSIONS=1`` (any
value but empty or ``0``) before wsspec is imported makes every
``wsspec.*`` module load from its ``.py`` instead: :func:`prefer_source`
puts a finder first on ``sys.meta_path`` that does exactly that.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

_PACKAGE = __name__.rpartition(".")[0]


def extensions_disabled() -> bool:
    """True if ``WSSPEC_NO_EXTENSIONS`` is set to anything but empty or ``0``."""
    return os.environ.get("WSSPEC_NO_EXTENSIONS", "") not in ("", "0")


class _SourceFirst:
    """A meta path finder: wsspec's submodules from their ``.py`` files, never from an extension module."""

    @staticmethod
    def find_spec(
        fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if not fullname.startswith(_PACKAGE + ".") or not path:
            return None
        name = fullname.rpartition(".")[2]
        for folder in path:
            source = os.path.join(folder, name + ".py")
            if os.path.isfile(source):
                loader = importlib.machinery.SourceFileLoader(fullname, source)
                return importlib.util.spec_from_file_location(fullname, source, loader=loader)
        return None  # a subpackage (wsspec._generated): the normal finders, then this one for its modules


def prefer_source() -> None:
    """Load wsspec's submodules from source from now on (idempotent)."""
    if not any(isinstance(finder, _SourceFirst) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst())


def is_compiled(module: ModuleType) -> bool:
    """True if ``module`` was loaded from an extension module (the compiled build)."""
    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)


if extensions_disabled():
    prefer_source()
