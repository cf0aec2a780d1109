"""
wsspec._install
~~~~~~~~~~~~~~~

``install_as_wsproto()``: make ``import wsproto`` (and every ``wsproto.*``
submodule) return wsspec's modules, so that programs written for wsproto
(uvicorn ``--ws wsproto``, hypercorn, trio-websocket, httpx-ws,
simple-websocket) run on wsspec without a patch. The pattern is PyMySQL's
``install_as_MySQLdb()``.
"""

from __future__ import annotations

import sys

__all__ = ["WsprotoAlreadyImportedError", "install_as_wsproto"]

_TARGET = "wsproto"
_SOURCE = __name__.rpartition(".")[0]  # "wsspec"


class WsprotoAlreadyImportedError(RuntimeError):
    """The real wsproto was imported before :func:`install_as_wsproto` ran.

    Modules that already hold references to the real wsproto's classes would
    mix the two libraries' events in one process; call
    :func:`install_as_wsproto` before anything imports wsproto.
    """


def install_as_wsproto() -> None:
    """
    Register wsspec under the name ``wsproto`` in :data:`sys.modules`.

    After it, ``import wsproto``, ``import wsproto.events``,
    ``from wsproto.connection import ConnectionState`` and so on return
    wsspec's modules (``wsproto.__name__`` is ``"wsspec"``, which is how a
    program can tell which library serves it). Call it before the program
    imports wsproto, e.g. first thing in the script that starts the server.
    Calling it again is harmless.

    :raises WsprotoAlreadyImportedError: (a ``RuntimeError``) the real wsproto,
        or one of its submodules, is already imported in this process.
    """
    source = sys.modules[_SOURCE]
    already = sorted(
        name
        for name, module in list(sys.modules.items())
        if (name == _TARGET or name.startswith(_TARGET + "."))
        and module is not None
        and not _is_ours(module)
    )
    if already:
        where = getattr(sys.modules.get(already[0]), "__file__", None) or "?"
        msg = (
            f"the real wsproto is already imported ({already[0]}, from {where}); "
            "call wsspec.install_as_wsproto() before anything imports wsproto"
        )
        raise WsprotoAlreadyImportedError(msg)
    prefix = _SOURCE + "."
    for name, module in list(sys.modules.items()):
        if name.startswith(prefix) and module is not None:
            sys.modules[_TARGET + name[len(_SOURCE):]] = module
    sys.modules[_TARGET] = source


def _is_ours(module: object) -> bool:
    name = getattr(module, "__name__", "")
    return isinstance(name, str) and (name == _SOURCE or name.startswith(_SOURCE + "."))
