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

import json
import os
import re
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
        sources = [binary.parent / (module.__name__.rpartition(".")[2] + suffix) for suffix in (".py", ".pxd")]
        sources = [source for source in sources if source.exists()]  # not every module has declarations
        # ... and the generated declarations its .pxd cimports (generated/*.pxd, from spec/).
        sources += [ROOT / "generated" / f"{name}.pxd" for source in sources if source.suffix == ".pxd"
                    for name in _CIMPORTED_GENERATED.findall(source.read_text(encoding="utf-8"))]
        for source in sources:
            assert source.stat().st_mtime <= built, (
                f"{binary.name} is older than {source.name}: rebuild with "
                "`.venv/bin/python setup.py build_ext --inplace` (or run with WSSPEC_NO_EXTENSIONS=1)"
            )


_CIMPORTED_GENERATED = re.compile(r"^from wsspec\._generated\.(\w+) cimport", re.MULTILINE)


def test_runtime_declarations_cimport_generated_constants() -> None:
    """The compiled hot paths take the spec's constants from generated/constants.pxd (written by
    the generator from spec/), not from a hand-kept copy in runtime/*.pxd."""
    for name in ("frame_protocol", "masking"):
        text = (ROOT / "runtime" / f"{name}.pxd").read_text(encoding="utf-8")
        assert _CIMPORTED_GENERATED.findall(text) == ["constants"], name
        assert "cdef enum" not in text and "DEF " not in text, name
    assert (ROOT / "generated" / "constants.pxd").is_file()


# Every public name of the compiled modules, in the child's build: name -> a
# description that is equal across builds for equal values (ints, enum
# members, strings, ...) and names the type otherwise (functions, classes).
_PUBLIC = """
import json, sys, wsspec, importlib
from wsspec import connection, frame_protocol, masking, handshake, extensions, deflate
out = {"build": wsspec.BUILD}
for module in (connection, frame_protocol, masking, handshake, extensions, deflate):
    names = {}
    for name, value in sorted(vars(module).items()):
        if name.startswith("_"):
            continue
        if isinstance(value, (frozenset, set)):
            names[name] = f"{type(value).__qualname__} {sorted(map(repr, value))}"
        elif isinstance(value, (int, str, bytes, float, tuple)) or value is None:
            names[name] = f"{type(value).__qualname__} {value!r}"
        else:
            names[name] = getattr(value, "__qualname__", None) or type(value).__qualname__
    out[module.__name__] = names
print(json.dumps(out, sort_keys=True))
"""


def _public_names(no_extensions: bool) -> dict[str, object]:
    env = dict(os.environ, WSSPEC_NO_EXTENSIONS="1" if no_extensions else "")
    proc = subprocess.run([sys.executable, "-c", _PUBLIC], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_public_names_and_values_are_the_same_in_both_builds() -> None:
    """The C constants are private: every public attribute (e.g. frame_protocol.FIN_MASK, Opcode,
    MAX_PAYLOAD_NORMAL) is the same name with the same value in the compiled and the pure build."""
    pure = _public_names(no_extensions=True)
    assert pure.pop("build") == "pure"
    installed = _public_names(no_extensions=False)
    if installed.pop("build") != "compiled":
        pytest.skip("no compiled build is installed to compare with")
    # Known differences, none of them a constant: `from __future__ import
    # annotations` leaves `annotations` only in the pure modules; masking's
    # routine is the compiled one (BACKEND says which) and Cython's `cython`
    # module exists only at compile time there.
    for names in (*installed.values(), *pure.values()):
        names.pop("annotations", None)
    for name in ("BACKEND", "mask", "cython"):
        installed["wsspec.masking"].pop(name, None)
        pure["wsspec.masking"].pop(name, None)
    assert installed == pure
    assert "FIN_MASK" in pure["wsspec.frame_protocol"]


def test_public_constants_are_the_generated_objects() -> None:
    """frame_protocol's and connection's constants are the very objects of wsspec._generated."""
    from wsspec._generated import close_codes, framing, opcodes

    generated = {**vars(close_codes), **vars(framing), **vars(opcodes)}
    for module in (frame_protocol, connection):
        shared = [name for name in vars(module) if not name.startswith("_") and name in generated]
        for name in shared:
            assert getattr(module, name) is generated[name], f"{module.__name__}.{name}"
    for name in ("FIN_MASK", "MASK_MASK", "OPCODE_MASK", "PAYLOAD_LEN_MASK", "MAX_PAYLOAD_NORMAL",
                 "MAX_PAYLOAD_TWO_BYTE", "MAX_PAYLOAD_EIGHT_BYTE", "PAYLOAD_LENGTH_TWO_BYTE",
                 "PAYLOAD_LENGTH_EIGHT_BYTE", "RSV1_MASK", "Opcode", "CloseReason", "RsvBits"):
        assert getattr(frame_protocol, name) is generated[name], name
