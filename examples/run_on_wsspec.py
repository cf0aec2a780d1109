"""
Run a wsproto program's command line on wsspec.

    python examples/run_on_wsspec.py uvicorn examples.asgi_echo:app --ws wsproto --port 8000
    python examples/run_on_wsspec.py hypercorn examples.asgi_echo:app --bind 127.0.0.1:8000
    python examples/run_on_wsspec.py -m some.module [ARGS...]

It calls ``wsspec.install_as_wsproto()`` first (also in worker processes
the program spawns), so every ``import wsproto``
in the program returns wsspec's modules, then runs the named console script
(found by its entry point, as pip installed it) or, with ``-m``, the module,
with the remaining arguments. Nothing else changes: the program's own
options, logging and exit status are the program's.
"""

from __future__ import annotations

import runpy
import sys
from importlib.metadata import entry_points

import wsspec

# At import, not in main(): servers that start workers with multiprocessing's
# "spawn" method (hypercorn does, for each of its --workers) re-import this
# file in every worker before the worker imports the server, so each worker
# runs on wsspec too.
wsspec.install_as_wsproto()

USAGE = "usage: run_on_wsspec.py PROGRAM [ARGS...] | -m MODULE [ARGS...]"


def main(argv: list[str]) -> object:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\n" + USAGE)
        return 0 if argv else 2
    if argv[0] == "-m":
        if len(argv) < 2:
            return USAGE
        sys.argv = argv[1:]
        # alter_sys=False keeps this file as sys.modules["__main__"], which
        # is what "spawn" workers re-import (and so install wsspec).
        runpy.run_module(argv[1], run_name="__main__", alter_sys=False)
        return 0
    found = entry_points(group="console_scripts", name=argv[0])
    if not found:
        return f"run_on_wsspec: no console script named {argv[0]!r} is installed"
    entry = next(iter(found))
    sys.argv = argv
    return entry.load()()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
