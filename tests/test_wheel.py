"""
A built wheel installs and imports the same package as the editable
install: `wsspec` with its generated tables inside, needing only h11.

Two wheels are built: the normal one, compiled (setup.py: Cython from the
build requirements, this machine's C compiler), and one built with a C
compiler that always fails (``CC=false``), which must still succeed and be
the pure-Python package (issue 13: installing never fails for lack of a
compiler).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from wsspec import _build

# Packaging does not depend on which build the suite runs on: CI's pure-Python
# run (WSSPEC_NO_EXTENSIONS=1) leaves it to the compiled run.
pytestmark = pytest.mark.skipif(_build.extensions_disabled(),
                                reason="packaging is tested in the run without WSSPEC_NO_EXTENSIONS")

ROOT = Path(__file__).resolve().parent.parent

SMOKE = r"""
import sys, wsspec
assert "site-packages" in wsspec.__file__, wsspec.__file__
for name in ("jinja2", "yaml", "transitions"):
    assert name not in sys.modules, name
from wsspec import WSConnection, ConnectionType
from wsspec.events import Request, AcceptConnection, TextMessage
from wsspec._generated.connection import TRANSITIONS
client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
server.receive_data(client.send(Request(host="localhost", target="/")))
assert isinstance(next(server.events()), Request)
client.receive_data(server.send(AcceptConnection()))
assert isinstance(next(client.events()), AcceptConnection)
server.receive_data(client.send(TextMessage("héllo")))
assert next(server.events()) == TextMessage("héllo")
big = bytes(range(256)) * 4096
server.receive_data(client.send(BytesMessage(big)))
assert b"".join(e.data for e in server.events()) == big
print("wheel ok", wsspec.__version__, len(TRANSITIONS), wsspec.BUILD)
"""
SMOKE = SMOKE.replace("TextMessage\n", "TextMessage, BytesMessage\n")
COMPILED = ("connection", "deflate", "extensions", "frame_protocol", "handshake", "masking")


def _build_wheel(out: Path, **env: str) -> Path:
    """Build from a clean copy of the tree: no build/ left by an earlier build, no in-place .so."""
    source = out.parent / (out.name + "-src")
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "_build", "*.so", "__pycache__", ".pytest_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, env=dict(os.environ, **env), timeout=900)
    (path,) = out.glob("wsspec-*.whl")
    return path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def pure_wheel(tmp_path_factory) -> Path:
    """Built where the C compiler fails: the build must still succeed, as pure Python."""
    return _build_wheel(tmp_path_factory.mktemp("dist-pure"), CC="false", CXX="false")


def _install_and_run(wheel: Path, tmp_path: Path) -> str:
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True)
    result = subprocess.run([str(python), "-c", SMOKE], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("__init__", "connection", "events", "extensions", "frame_protocol", "handshake",
                   "typing", "utilities"):
        assert f"wsspec/{module}.py" in names
    for module in ("__init__", "close_codes", "connection", "framing", "handshake", "opcodes"):
        assert f"wsspec/_generated/{module}.py" in names
    # Nothing of the generator, the spec or the tests ships in the library.
    assert not any(n.startswith(("codegen/", "spec/", "tests/", "runtime/", "generated/")) for n in names)
    # The .pxd declarations are inputs of the compiled build, not part of the package (pyproject.toml).
    assert not any(n.endswith(".pxd") for n in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert len(requires) == 1 and requires[0].replace(" ", "").startswith("Requires-Dist:h11")
    assert ">=0.16" in requires[0] and "<1" in requires[0]


def test_sdist_carries_the_compiled_builds_declarations(tmp_path: Path) -> None:
    """A wheel built from the sdist compiles the same modules: without the .pxd files beside them
    (runtime/*.pxd, and generated/*.pxd with the spec's C constants they cimport) the private
    names the .py leaves to the declarations would be undefined in the compiled modules."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "_build", "*.so", "__pycache__", ".pytest_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path / "dist"), str(source)],
                   check=True, capture_output=True, timeout=300)
    (sdist,) = (tmp_path / "dist").glob("wsspec-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.partition("/")[2] for name in archive.getnames()}
    expected = {f"runtime/{p.name}" for p in (ROOT / "runtime").glob("*.pxd")}
    expected |= {f"generated/{p.name}" for p in (ROOT / "generated").glob("*.pxd")}
    assert "generated/constants.pxd" in expected
    assert expected <= names, sorted(expected - names)


def test_wheel_installs_and_imports(wheel: Path, tmp_path: Path) -> None:
    """The compiled wheel: its extension modules load (BUILD == "compiled")."""
    assert _install_and_run(wheel, tmp_path).split()[-1] == "compiled"


def test_compiled_wheel_ships_extensions_and_their_source(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in COMPILED:
        assert any(n.startswith(f"wsspec/{module}.") and n.endswith(".so") for n in names), module
        assert f"wsspec/{module}.py" in names  # WSSPEC_NO_EXTENSIONS=1 and tracebacks need it
    assert not any(n.endswith(".c") for n in names)


def test_wheel_without_a_c_compiler_is_pure_python(pure_wheel: Path, tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(pure_wheel).namelist())
    assert not any(n.endswith((".so", ".pyd")) for n in names)
    assert _install_and_run(pure_wheel, tmp_path).split()[-1] == "pure"
