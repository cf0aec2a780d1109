"""
trio-websocket 0.12.2's own test suite (tests/test_connection.py from its
sdist, fetched by pip into a cache directory, not kept in this repository)
passes with wsspec installed as wsproto. See tests/integration_trio_suite.py.
"""

from __future__ import annotations

import re

from tests.integration_support import run_example


def test_trio_websocket_suite_passes_on_wsspec() -> None:
    result = run_example(["-m", "tests.integration_trio_suite"], timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    assert "wsproto is wsspec (" in out, out[-3000:]
    summary = re.search(r"(\d+) passed", out)
    assert summary is not None and int(summary.group(1)) >= 60, out[-3000:]
    assert " failed" not in out and " error" not in out, out[-3000:]
