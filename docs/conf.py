"""Sphinx configuration of wsspec's documentation.

Build (warnings are errors, every cross-reference must resolve)::

    .venv/bin/python -m sphinx -W --keep-going -n -b html docs docs/_build/html

The pages under ``protocol/`` are generated from spec/ by ``python -m codegen``.
Nothing is fetched at build time: no intersphinx, RFC links are plain links.
"""

from __future__ import annotations

import os
from pathlib import Path

# autodoc reads the pure-Python source (docstrings, ``#:`` comments,
# signatures); the compiled build has the same API, made from that source.
os.environ["WSSPEC_NO_EXTENSIONS"] = "1"


project = "wsspec"
author = "the wsspec developers"
copyright = "the wsspec developers"
try:
    from wsspec import __version__ as release
except ImportError:  # pragma: no cover - the docs need wsspec installed
    release = "0.1.0"
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.doctest"]
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"wsspec {release}"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"

# Every cross-reference must resolve. Targets outside wsspec (the standard
# library, h11) cannot: there is no intersphinx (no network at build time).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(h11|typing|collections|enum|abc|zlib|socket|asyncio|trio|types|os|re|sys|codecs)(\..*)?"),
    (r"py:.*", r"(bytes|bytearray|memoryview|str|int|float|bool|None|object|type|list|dict|tuple|set|"
               r"frozenset|Exception|ValueError|TypeError|RuntimeError|KeyError|IntEnum|Enum|IntFlag|ABC|"
               r"Iterable|Iterator|Generator|Sequence|Mapping|Callable|Optional|Union|Any|ClassVar|"
               r"NamedTuple|Self|ModuleType)"),
    # The generated tables a docstring names: documented as tables under protocol/, not as objects.
    (r"py:.*", r"wsspec\._generated\..*"),
    # Type variables in signatures.
    (r"py:.*", r"wsspec\.events\.T"),
]

autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": True}
autodoc_typehints = "signature"


def _resolve_short_names(app, env, node, contnode):
    """Resolve a bare name in a docstring (``:class:`RsvBits```) to the one wsspec object of that name.

    The docstrings are wsproto-style and often name a class of another module
    without its module; this links them without editing the docstrings. A name
    that two wsspec objects share stays unresolved (and fails the build).
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    if "." in target:
        return None
    domain = env.get_domain("py")
    found = {(obj.docname, obj.node_id): name for name, obj in domain.objects.items()
             if name.startswith("wsspec.") and name.rsplit(".", 1)[-1] == target}
    if len(found) != 1:
        return None
    (docname, node_id), name = found.popitem()
    from sphinx.util.nodes import make_refnode

    return make_refnode(app.builder, node["refdoc"], docname, node_id, contnode, name)


_GENERATED_MODULES = ("close_codes", "framing", "handshake", "opcodes", "connection", "permessage_deflate")


def _generated_attr_docs() -> dict[str, list[str]]:
    """The ``#:`` comments of the generated modules, by constant name."""
    from sphinx.pycode import ModuleAnalyzer

    docs: dict[str, list[str]] = {}
    for name in _GENERATED_MODULES:
        analyzer = ModuleAnalyzer.for_module(f"wsspec._generated.{name}")
        for (scope, attr), lines in analyzer.find_attr_docs().items():
            if scope == "":
                docs.setdefault(attr, list(lines))
    return docs


def _document_generated_constants(app, what, name, obj, options, lines):
    """A constant re-exported from wsspec._generated gets its generated ``#:`` comment, not int's docstring."""
    if what != "data":
        return
    if lines and obj.__doc__ is not None and obj.__doc__ == type(obj).__doc__:
        lines.clear()
    if not lines:
        if not hasattr(app, "_wsspec_generated_docs"):
            app._wsspec_generated_docs = _generated_attr_docs()
        lines.extend(app._wsspec_generated_docs.get(name.rsplit(".", 1)[-1], []))


def setup(app):
    app.connect("missing-reference", _resolve_short_names)
    app.connect("autodoc-process-docstring", _document_generated_constants)
