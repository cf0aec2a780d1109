"""
Every name a generated module defines is used: by the runtime (runtime/),
by another generated module, or by the generator's own documentation pages
(docs/protocol/). A name nothing reads should not be generated (issue 11:
the spec drives what the runtime decides, nothing more).

generated/constants.pxd is outside this rule on purpose: it is a C
declaration header for the compiled build (issue 13), mirroring every
integer constant of framing, opcodes and close codes so that compiled code
can use any of them without regenerating; it defines no run-time name (no
module, no Python attribute; the wheel does not ship it), and Cython emits
nothing for an enum value no module cimports. tests/test_codegen.py checks
each value against the Python constant it mirrors.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p for p in (ROOT / "generated").glob("*.py") if p.name != "__init__.py")


def _defined(path: Path) -> list[str]:
    names = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [name for name in names if not name.startswith("_")]


def _uses(path: Path, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", path.read_text(encoding="utf-8")) is not None


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_every_generated_name_is_used(module: Path) -> None:
    readers = [*sorted((ROOT / "runtime").glob("*.py")), *sorted((ROOT / "docs" / "protocol").glob("*.rst"))]
    unused = []
    for name in _defined(module):
        body = module.read_text(encoding="utf-8")
        used_inside = len(re.findall(rf"\b{re.escape(name)}\b", body)) > 1
        others = [p for p in MODULES if p != module]
        if used_inside or any(_uses(p, name) for p in readers + others):
            continue
        unused.append(name)
    assert unused == [], f"{module.name} defines names nothing uses: {unused}"
