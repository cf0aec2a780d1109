"""
Optional compiled build of wsspec's hot modules (issue 13).

The same ``.py`` files that run as pure Python are compiled by Cython in
pure-Python mode: type declarations live in ``.pxd`` files beside them
(``runtime/*.pxd``; ``generated/*.pxd`` are written by ``python -m codegen``
from ``spec/``). Nothing here is needed to use wsspec:

- no Cython, no C compiler, a failed compile, or ``WSSPEC_NO_EXTENSIONS=1``
  while installing: the pure-Python package is installed (a warning says
  why);
- ``WSSPEC_NO_EXTENSIONS=1`` at run time: the compiled modules are ignored
  (see ``wsspec/__init__.py``); ``wsspec.BUILD`` says which build runs.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

#: module name -> its one source file; the .pxd beside it, where there is
#: one, declares C types (classes without one stay ordinary Python classes).
COMPILED = {
    "wsspec.masking": "runtime/masking.py",
    "wsspec.frame_protocol": "runtime/frame_protocol.py",
    "wsspec.connection": "runtime/connection.py",
    "wsspec.extensions": "runtime/extensions.py",
    "wsspec.deflate": "runtime/deflate.py",
    "wsspec.handshake": "runtime/handshake.py",
}

# -g0: no debug information (a third of the compile time and two thirds of
# the size of the modules).
COMPILE_ARGS = ["-O3", "-g0"] if os.name == "posix" else []
# masking.py XORs 64-bit words at any alignment; no auto-vectorisation, so
# the compiler never turns them into vector accesses that assume alignment.
EXTRA_ARGS = {"wsspec.masking": ["-fno-tree-vectorize"] if os.name == "posix" else []}


def _skip(reason: str) -> None:
    print(f"wsspec: installing the pure-Python build only: {reason}", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext that never fails the install: a module that does not compile stays pure Python."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, ...
            _skip(f"building the extensions failed ({exc})")

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:
            _skip(f"compiling {ext.name} failed ({exc})")


def _extensions() -> list:
    if os.environ.get("WSSPEC_NO_EXTENSIONS", "") not in ("", "0"):
        _skip("WSSPEC_NO_EXTENSIONS is set")
        return []
    if sys.implementation.name != "cpython":
        _skip(f"{sys.implementation.name} runs the pure-Python code")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        _skip("Cython is not installed")
        return []
    from setuptools import Extension

    # Cython finds a module's .pxd (and names the module) by its package
    # path, so the sources are compiled from a copy laid out as the
    # installed package: build/cython/wsspec/... (runtime/ is `wsspec`,
    # generated/ is `wsspec._generated`, see pyproject.toml).
    stage = Path("build", "cython")
    modules = []
    for name, path in COMPILED.items():
        source = Path(path)
        target = stage.joinpath(*name.split(".")).with_suffix(".py")
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".py", ".pxd"):
            if source.with_suffix(suffix).exists():
                shutil.copy2(source.with_suffix(suffix), target.with_suffix(suffix))
            else:  # no declarations (any more): Cython must not find an old copy
                target.with_suffix(suffix).unlink(missing_ok=True)
        for package in target.parents:
            if package == stage:
                break
            package.joinpath("__init__.py").touch()
        modules.append(
            Extension(name, [str(target)], extra_compile_args=COMPILE_ARGS + EXTRA_ARGS.get(name, []))
        )
    # The declarations the runtime .pxd files cimport (generated/*.pxd, e.g.
    # the spec's constants as C constants: wsspec._generated.constants),
    # staged as the package wsspec._generated; no module is compiled from them.
    declarations = stage / "wsspec" / "_generated"
    declarations.mkdir(parents=True, exist_ok=True)
    declarations.joinpath("__init__.py").touch()
    for old in declarations.glob("*.pxd"):  # one the generator no longer writes must not be found
        old.unlink()
    for pxd in sorted(Path("generated").glob("*.pxd")):
        shutil.copy2(pxd, declarations / pxd.name)
    try:
        return _translate(cythonize, modules)
    except Exception as exc:  # a Cython error must not fail the install either
        _skip(f"Cython could not translate the modules ({exc})")
        return []


def _translate(cythonize, modules: list) -> list:  # type: ignore[no-untyped-def]
    """Cython's translation of ``modules`` to C, with the build's directives."""
    return cythonize(
        modules,
        language_level=3,
        compiler_directives={
            # Types come from the .pxd files only: an annotation such as
            # `data: bytes` must not make Cython reject a bytearray that
            # pure Python accepts.
            "annotation_typing": False,
            "binding": True,
            "embedsignature": True,
            # __text_signature__ for inspect.signature() of compiled functions
            # and methods (not of the extension classes themselves).
            "embedsignature.format": "clinic",
        },
        quiet=True,
        # Always translate afresh: the staged copies keep their mtimes, and a
        # removed .pxd would not make an old translation out of date.
        force=True,
    )


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
