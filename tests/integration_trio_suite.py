"""
Run trio-websocket's own test suite on wsspec.

    .venv/bin/python -m tests.integration_trio_suite [--cache-dir DIR] [PYTEST ARGS...]

Downloads trio-websocket's sdist (the version pinned in pyproject's dev
extra) with pip into a cache directory (``$WSSPEC_INTEG_CACHE``, default
``~/.cache/wsspec-integ``) once, extracts only its ``tests/test_connection.py``
(their code is not part of this repository), and runs it with pytest against
the installed trio-websocket, with ``wsspec.install_as_wsproto()`` called by a
plugin (``tests/wsspec_as_wsproto_plugin.py``) before collection, so every
``wsproto`` trio-websocket and its tests use is wsspec. Exits with pytest's
status; 3 if the sdist cannot be fetched or has no test suite.
Needs pytest-trio and trustme (in the dev extra).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
from pathlib import Path

VERSION = "0.12.2"
SDIST = f"trio_websocket-{VERSION}.tar.gz"
MEMBER = f"trio_websocket-{VERSION}/tests/test_connection.py"
HERE = Path(__file__).resolve().parent
#: Bound on the whole suite (it takes about 10 s here).
SUITE_TIMEOUT = 300


def default_cache() -> Path:
    return Path(os.environ.get("WSSPEC_INTEG_CACHE") or Path.home() / ".cache" / "wsspec-integ")


def fetch_suite(cache: Path) -> Path:
    """The directory holding trio-websocket's test_connection.py and a pytest.ini."""
    cache.mkdir(parents=True, exist_ok=True)
    sdist = cache / SDIST
    if not sdist.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             f"trio-websocket=={VERSION}", "--dest", str(cache)],
            check=True, timeout=180,
        )
    suite = cache / f"trio-websocket-{VERSION}-tests"
    target = suite / "test_connection.py"
    if not target.exists():
        suite.mkdir(exist_ok=True)
        with tarfile.open(sdist) as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise FileNotFoundError(MEMBER)
            target.write_bytes(member.read())
    # Their suite is written for pytest-trio's trio mode; a pytest.ini of our
    # own also stops pytest from picking up any configuration above `suite`.
    (suite / "pytest.ini").write_text("[pytest]\ntrio_mode = true\n")
    return suite


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=None)
    args, pytest_args = parser.parse_known_args(argv)
    try:
        suite = fetch_suite(args.cache_dir or default_cache())
    except (OSError, KeyError, subprocess.SubprocessError, tarfile.TarError) as exc:
        print(f"integration_trio_suite: cannot get trio-websocket {VERSION}'s test suite: {exc}",
              file=sys.stderr)
        return 3
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "pytest", "-p", "wsspec_as_wsproto_plugin", "-p", "no:cacheprovider",
               "--rootdir", str(suite), "-c", str(suite / "pytest.ini"), *pytest_args, str(suite)]
    return subprocess.run(command, cwd=suite, env=env, timeout=SUITE_TIMEOUT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
