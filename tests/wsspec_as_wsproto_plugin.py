"""
A pytest plugin (``-p wsspec_as_wsproto_plugin``) that runs another project's
test suite on wsspec: it calls ``wsspec.install_as_wsproto()`` when pytest
loads it, before any test module is collected, so their ``import wsproto``
returns wsspec. The report header says which library ``wsproto`` is, for the
runner (``tests/integration_trio_suite.py``) to check.
"""

from __future__ import annotations

import wsspec

wsspec.install_as_wsproto()


def pytest_report_header(config: object) -> list[str]:
    import trio_websocket
    import wsproto

    return [
        f"wsproto is {wsproto.__name__} ({wsproto.__file__})",
        f"trio_websocket {getattr(trio_websocket, '__version__', '?')} from {trio_websocket.__file__}",
    ]
