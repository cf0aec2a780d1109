"""
python -m codegen [--check] [--spec DIR] [--out DIR]

Regenerate generated/ and diagrams/ from spec/, or with --check verify that
they are current without writing anything.

Exit status: 0 done / current; 1 (--check) files are stale, listed on
stderr; 2 the spec is broken (file:line: what was expected); 3 Graphviz's
`dot` is needed to render an SVG and is not installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .loader import SpecError
from .model import load_spec
from .render import RendererMissing, render_sources, render_svg, svg_is_current, svg_path

REPO = Path(__file__).resolve().parent.parent


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__.split("\n\n")[1])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 and list stale files")
    parser.add_argument("--spec", type=Path, default=REPO / "spec", help="spec folder (default: spec/)")
    parser.add_argument("--out", type=Path, default=REPO, help="folder holding generated/ and diagrams/")
    args = parser.parse_args(argv)

    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        print(f"codegen: error: {exc}", file=sys.stderr)
        print("codegen: nothing was generated.", file=sys.stderr)
        return 2
    sources = render_sources(spec)

    stale: list[str] = []
    for rel, text in sorted(sources.items()):
        if _read(args.out / rel) != text:
            stale.append(rel)
        if rel.endswith(".dot") and not svg_is_current(_read(args.out / svg_path(rel)), rel, text):
            stale.append(svg_path(rel))
    generated_dir = args.out / "generated"
    expected = {rel for rel in sources if rel.startswith("generated/")}
    if generated_dir.is_dir():
        for path in sorted([*generated_dir.glob("*.py"), *generated_dir.glob("*.pxd")]):
            rel = f"generated/{path.name}"
            if rel not in expected:
                stale.append(f"{rel} (not produced by the spec; remove it)")

    if args.check:
        if stale:
            print("codegen --check: these files differ from what spec/ generates:", file=sys.stderr)
            for rel in stale:
                print(f"  {rel}", file=sys.stderr)
            print("Run `python -m codegen` and commit the result.", file=sys.stderr)
            return 1
        print(f"codegen --check: {len(sources) + sum(r.endswith('.dot') for r in sources)} files current")
        return 0

    # Render every SVG that is out of date before writing anything, so a
    # missing Graphviz leaves the tree as it was.
    svgs: dict[str, str] = {}
    for rel, text in sorted(sources.items()):
        if rel.endswith(".dot") and not svg_is_current(_read(args.out / svg_path(rel)), rel, text):
            try:
                svgs[svg_path(rel)] = render_svg(rel, text)
            except RendererMissing:
                print("codegen: error: rendering diagrams needs Graphviz's `dot` program; "
                      "install it with `apt-get install graphviz` (the README's setup does). "
                      "Nothing was written.", file=sys.stderr)
                return 3
    for rel, text in sorted({**sources, **svgs}.items()):
        path = args.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if _read(path) != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {rel}")
    for rel in stale:
        if rel.endswith("(not produced by the spec; remove it)"):
            print(f"codegen: note: {rel}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
