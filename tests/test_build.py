"""
The two builds of wsspec (issue 13): the compiled modules (Cython, from the
same .py source, setup.py) and pure Python.

- ``wsspec.BUILD`` says which one runs; CI runs the whole suite once per
  build and sets ``WSSPEC_EXPECT_BUILD`` so that a build that silently fell
  back to pure Python fails here instead of passing unnoticed.
- ``WSSPEC_NO_EXTENSIONS=1`` makes every wsspec module load from source.
- In a source tree, a compiled module older than its .py or .pxd is stale:
  the suite would test old code (rebuild with ``python setup.py build_ext
  --inplace``, or run with ``WSSPEC_NO_EXTENSIONS=1``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import wsspec
from wsspec import _build, connection, deflate, extensions, frame_protocol, handshake, masking

ROOT = Path(__file__).resolve().parent.parent
# What setup.py's COMPILED lists (an expectation, written out on purpose).
COMPILED_MODULES = (connection, deflate, extensions, frame_protocol, handshake, masking)


def test_build_is_the_expected_one() -> None:
    expected = os.environ.get("WSSPEC_EXPECT_BUILD")
    if expected is None:
        pytest.skip("WSSPEC_EXPECT_BUILD is not set (CI sets it for each of its two runs)")
    assert wsspec.BUILD == expected, f"expected the {expected} build, running the {wsspec.BUILD} build"


def test_build_attribute_matches_the_loaded_modules() -> None:
    compiled = [_build.is_compiled(module) for module in COMPILED_MODULES]
    if wsspec.BUILD == "compiled":
        assert all(compiled), [m.__file__ for m in COMPILED_MODULES]
        assert masking.BACKEND == "wsspec.compiled"
    else:
        assert wsspec.BUILD == "pure"
        assert not any(compiled), [m.__file__ for m in COMPILED_MODULES]
        assert all(m.__file__.endswith(".py") for m in COMPILED_MODULES)


_REPORT = """
import sys, wsspec
from wsspec import _build
names = sorted(n for n, m in sys.modules.items() if n.startswith("wsspec") and _build.is_compiled(m))
print(wsspec.BUILD, ",".join(names) or "-")
"""


@pytest.mark.parametrize("value", ["1", "yes"])
def test_no_extensions_loads_every_module_from_source(value: str) -> None:
    env = dict(os.environ, WSSPEC_NO_EXTENSIONS=value)
    proc = subprocess.run([sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["pure", "-"]


@pytest.mark.parametrize("value", ["", "0"])
def test_empty_or_zero_keeps_the_installed_build(value: str) -> None:
    env = dict(os.environ, WSSPEC_NO_EXTENSIONS=value)
    proc = subprocess.run([sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    build, names = proc.stdout.split()
    if _build.extensions_disabled():
        # This run forces pure Python; the child, with the switch cleared,
        # loads whatever is installed (compiled, here), so there is nothing
        # to compare it with. The compiled run checks it.
        return
    assert build == wsspec.BUILD
    if build == "compiled":
        assert names == ",".join(sorted(m.__name__ for m in COMPILED_MODULES))


def test_compiled_modules_are_not_stale() -> None:
    """A compiled module built from older source than the tree's would test old code."""
    if wsspec.BUILD != "compiled":
        pytest.skip("the pure build is running")
    for module in COMPILED_MODULES:
        binary = Path(module.__file__)
        if binary.parent != ROOT / "runtime":
            continue  # an installed wheel: built from its own copy of the source
        built = binary.stat().st_mtime
        for suffix in (".py", ".pxd"):
            source = binary.parent / (module.__name__.rpartition(".")[2] + suffix)
            if not source.exists():
                continue  # no declarations for this module
            assert source.stat().st_mtime <= built, (
                f"{binary.name} is older than {source.name}: rebuild with "
                "`.venv/bin/python setup.py build_ext --inplace` (or run with WSSPEC_NO_EXTENSIONS=1)"
            )
