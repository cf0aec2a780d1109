"""
A pytest plugin that runs wsproto's own test suite against wsspec.

Loaded with ``-p wsspec_plugin`` (this directory on ``PYTHONPATH``) before
pytest collects wsproto's tests: importing it calls
:func:`wsspec.install_as_wsproto`, so every ``import wsproto`` in those
tests gets wsspec's modules. It writes each test's outcome to the JSON file
named by ``WSSPEC_SUITE_RESULTS``: ``{"wsproto": <module name>, "outcomes":
{nodeid: "passed" | "failed" | "skipped" | "error"}}``.

Used by ``tests/test_wsproto_suite.py``; it is not a test module itself.
"""

from __future__ import annotations

import json
import os
from typing import Any

import wsspec

wsspec.install_as_wsproto()

import wsproto  # noqa: E402  (wsspec's modules, registered just above)

_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report: Any) -> None:
    nodeid = report.nodeid
    if report.when == "call":
        if report.passed:
            _outcomes[nodeid] = "passed"
        elif report.skipped:
            _outcomes[nodeid] = "skipped"
        else:
            _outcomes[nodeid] = "failed"
    elif report.failed:  # setup or teardown failed
        _outcomes[nodeid] = "error"
    elif report.skipped and report.when == "setup":
        _outcomes[nodeid] = "skipped"


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _outcomes[report.nodeid or "<collection>"] = "error"


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get("WSSPEC_SUITE_RESULTS")
    if path:
        with open(path, "w", encoding="utf-8") as file:
            json.dump({"wsproto": wsproto.__name__, "outcomes": _outcomes}, file, indent=1, sort_keys=True)
