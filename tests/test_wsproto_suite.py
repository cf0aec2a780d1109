"""
wsproto 1.3.2's own test suite, run against wsspec.

The suite is not part of this repository: at test time the wsproto 1.3.2
sdist is fetched from PyPI with pip (checked against its sha256) into a
cache directory (``WSSPEC_WSPROTO_SUITE_CACHE``, default
``~/.cache/wsspec-wsproto-suite``) and unpacked there once. Its ``tests/``
then run in a subprocess with ``tests/wsproto_suite/wsspec_plugin.py``
loaded first (``-p``), which installs wsspec as ``wsproto``
(:func:`wsspec.install_as_wsproto`) and records every outcome.

The outcome must be exactly the list in
``tests/wsproto_suite/expected_failures.py``: every listed test fails (each
for a documented, deliberate reason), every other test passes. A wsproto
test that starts failing is a compatibility regression; a listed test that
starts passing means the list (and README) must be updated.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

WSPROTO_VERSION = "1.3.2"
#: sha256 of wsproto-1.3.2.tar.gz on PyPI; pip refuses a download that differs.
SDIST_SHA256 = "b86885dcf294e15204919950f666e06ffc6c7c114ca900b060d6e16293528294"
SDIST = f"wsproto-{WSPROTO_VERSION}.tar.gz"

HERE = Path(__file__).resolve().parent
PLUGIN_DIR = HERE / "wsproto_suite"
CACHE = Path(os.environ.get("WSSPEC_WSPROTO_SUITE_CACHE", Path.home() / ".cache" / "wsspec-wsproto-suite"))

#: The test files of wsproto 1.3.2's suite; all must be collected.
SUITE_FILES = {
    "test_client.py", "test_connection.py", "test_extensions.py", "test_frame_protocol.py",
    "test_handshake.py", "test_permessage_deflate.py", "test_server.py",
}


def _expected() -> object:
    spec = importlib.util.spec_from_file_location("wsspec_suite_expected", PLUGIN_DIR / "expected_failures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # NamedTuple needs its module while the class is built
    spec.loader.exec_module(module)
    return module


def _suite_dir() -> Path:
    """The unpacked sdist, fetched and unpacked on first use."""
    root = CACHE / f"wsproto-{WSPROTO_VERSION}"
    if (root / "tests" / "test_permessage_deflate.py").is_file():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    archive = CACHE / SDIST
    if not archive.is_file():
        requirements = CACHE / "requirements.txt"
        requirements.write_text(f"wsproto=={WSPROTO_VERSION} --hash=sha256:{SDIST_SHA256}\n")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--require-hashes",
             "--disable-pip-version-check", "-r", str(requirements), "-d", str(CACHE)],
            capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0 or not archive.is_file():
            pytest.fail(f"could not fetch {SDIST} from PyPI with pip:\n{result.stdout}\n{result.stderr}")
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(CACHE, filter="data")
        except TypeError:  # Python without extraction filters (< 3.10.12 / 3.11.4)
            tar.extractall(CACHE)  # noqa: S202 - the archive's hash was checked by pip
    assert (root / "tests" / "test_permessage_deflate.py").is_file(), f"{SDIST} has no tests/"
    return root


def _run_suite(root: Path, tmp_path: Path) -> dict:
    results = tmp_path / "outcomes.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PLUGIN_DIR)
    env["WSSPEC_SUITE_RESULTS"] = str(results)
    env.pop("PYTEST_ADDOPTS", None)
    command = [
        sys.executable, "-m", "pytest", "-p", "wsspec_plugin", "-p", "no:cacheprovider",
        "-q", "-rfE", "--no-header", "-o", "addopts=", "tests",
    ]
    start = time.monotonic()
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - start
    assert results.is_file(), f"wsproto's suite did not run:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    data = json.loads(results.read_text())
    data["log"] = proc.stdout[-6000:] + proc.stderr[-2000:]
    data["elapsed"] = elapsed
    return data


def test_wsproto_suite_against_wsspec(tmp_path: Path) -> None:
    root = _suite_dir()
    expected_module = _expected()
    deliberate = expected_module.EXPECTED_FAILURES  # type: ignore[attr-defined]
    for nodeid, entry in deliberate.items():
        assert entry.kind in ("a", "b", "c") and len(entry.reason) > 20, nodeid

    data = _run_suite(root, tmp_path)
    assert data["wsproto"] == "wsspec", "the suite ran against the real wsproto, not wsspec"
    outcomes: dict[str, str] = data["outcomes"]
    files = {nodeid.split("::")[0].rpartition("/")[2] for nodeid in outcomes}
    assert files == SUITE_FILES, f"collected {sorted(files)}"
    assert len(outcomes) > 200, len(outcomes)

    failed = {nodeid for nodeid, outcome in outcomes.items() if outcome in ("failed", "error")}
    skipped = sorted(nodeid for nodeid, outcome in outcomes.items() if outcome == "skipped")
    expected = set(deliberate)
    problems = []
    for nodeid in sorted(failed - expected):
        problems.append(f"unexpected failure: {nodeid}")
    for nodeid in sorted(expected - failed):
        outcome = outcomes.get(nodeid, "not collected")
        problems.append(f"expected to fail but {outcome}: {nodeid} [EXPECTED_FAILURES]")
    for nodeid in skipped:
        problems.append(f"skipped: {nodeid}")
    assert not problems, "\n".join(problems) + "\n\n" + data["log"]
    assert data["elapsed"] < 120, f"wsproto's suite took {data['elapsed']:.1f} s"
