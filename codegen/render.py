"""
Render the validated spec into file contents: Python modules for
``generated/`` and Graphviz sources for ``diagrams/``; render SVGs from the
sources with Graphviz's ``dot``.

Every output is a pure function of the spec, so two runs give identical
bytes. An SVG carries the SHA-256 of the ``.dot`` it was rendered from, so
``--check`` can tell a stale SVG without running Graphviz, and regenerating
re-renders only the SVGs whose source changed.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path

import jinja2

from .model import Spec, Transition

TEMPLATES = Path(__file__).parent / "templates"
SVG_STAMP = "<!-- wsspec: rendered from {name} sha256={digest} -->"
_STAMP_RE = re.compile(r"<!-- wsspec: rendered from (\S+) sha256=([0-9a-f]{64}) -->")

COLOR = {"send": "#1f5fbf", "receive": "#202020", "error": "#c62828"}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = repr
    env.globals["hex"] = hex
    return env


def _edges(transitions: list[Transition], inputs) -> list[dict]:
    """Group transitions with the same ends and kind into one labelled edge."""
    by_name = {i.name: i for i in inputs}
    grouped: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for t in transitions:
        inp = by_name[t.input]
        kind = "error" if inp.error else inp.direction
        verb = "send" if inp.direction == "send" else "recv"
        label = f"{verb} {inp.event}" if inp.direction == "send" else f"{inp.name.replace('_', ' ')}: {inp.event}"
        grouped[(t.source, t.target, kind)].append(label)
    edges = []
    for (source, target, kind), labels in grouped.items():
        edges.append({
            "source": source,
            "target": target,
            "label": "\\n".join(label.replace('"', '\\"') for label in labels),
            "color": COLOR[kind],
            "style": "dashed" if kind == "error" else "",
        })
    return edges


def render_sources(spec: Spec) -> dict[str, str]:
    """Map of repository-relative path -> text for every generated text file."""
    env = _environment()
    src = spec.sources
    out: dict[str, str] = {}

    def emit(path: str, template: str, sources: list[str], **context) -> None:
        out[path] = env.get_template(template).render(spec=spec, sources=sources, **context)

    all_sources = [src[name] for name in src]
    emit("generated/__init__.py", "init.py.j2", all_sources)
    reserved_values = sorted(v for r in spec.reserved_opcodes for v in range(r.value[0], r.value[1] + 1))
    emit("generated/opcodes.py", "opcodes.py.j2", [src["opcodes.yaml"]], reserved_values=reserved_values)
    emit("generated/close_codes.py", "close_codes.py.j2", [src["close_codes.yaml"]])
    emit("generated/framing.py", "framing.py.j2", [src["framing.yaml"]])
    emit("generated/connection.py", "connection.py.j2", [src["connection.yaml"]],
         input_const={i.name: i.const for i in spec.connection_inputs})
    emit("generated/handshake.py", "handshake.py.j2", [src["handshake.yaml"], src["connection.yaml"]],
         hs=type("HS", (), spec.handshake_constants),
         input_const={i.name: i.const for i in spec.handshake_inputs})

    # Diagrams.
    states = {s.name: s for s in spec.states}
    used = []
    for t in spec.connection_transitions:
        for name in (t.source, t.target):
            if name not in used:
                used.append(name)
    outgoing = {t.source for t in spec.connection_transitions if t.target != t.source}
    nodes = [{
        "name": name,
        "value": states[name].value,
        "doc": states[name].doc,
        "bytes": spec.receive_bytes.get(name, "not parsed"),
        "terminal": name not in outgoing,
    } for name in used]
    entry = next(t.target for t in spec.handshake_transitions if t.source == spec.initial_state and t.target in used)
    emit("diagrams/connection.dot", "connection.dot.j2", [src["connection.yaml"]],
         nodes=nodes, entry=entry, edges=_edges(spec.connection_transitions, spec.connection_inputs))

    sides = []
    for ctype in spec.connection_types:
        transitions = [t for t in spec.handshake_transitions if t.side == ctype.name]
        names: list[str] = [spec.initial_state]
        for t in transitions:
            for name in (t.source, t.target):
                if name not in names:
                    names.append(name)
        leaving = {t.source for t in transitions if t.target != t.source}
        sides.append({
            "name": ctype.name,
            "doc": ctype.doc,
            "nodes": [{"name": n, "value": states[n].value, "terminal": n not in leaving} for n in names],
            "edges": _edges(transitions, spec.handshake_inputs),
        })
    emit("diagrams/handshake.dot", "handshake.dot.j2", [src["handshake.yaml"], src["connection.yaml"]],
         sides=sides, initial=spec.initial_state)
    return out


def svg_path(dot_path: str) -> str:
    return dot_path[: -len(".dot")] + ".svg"


def dot_digest(dot_source: str) -> str:
    return hashlib.sha256(dot_source.encode("utf-8")).hexdigest()


def svg_is_current(svg_text: str | None, dot_path: str, dot_source: str) -> bool:
    """True if ``svg_text`` carries the stamp of exactly this ``.dot`` source."""
    if svg_text is None:
        return False
    match = _STAMP_RE.search(svg_text)
    return bool(match) and match.group(1) == dot_path and match.group(2) == dot_digest(dot_source)


class RendererMissing(RuntimeError):
    """Graphviz's ``dot`` program is not installed."""


def render_svg(dot_path: str, dot_source: str) -> str:
    """Render one ``.dot`` source to SVG text with Graphviz and stamp it."""
    import graphviz  # a dev/codegen dependency; calls the `dot` program

    try:
        svg = graphviz.pipe("dot", "svg", dot_source.encode("utf-8")).decode("utf-8")
    except graphviz.ExecutableNotFound as exc:
        raise RendererMissing(str(exc)) from None
    stamp = SVG_STAMP.format(name=dot_path, digest=dot_digest(dot_source))
    # Put the stamp after the XML declaration / doctype, before <svg>.
    index = svg.find("<svg")
    return svg[:index] + stamp + "\n" + svg[index:]
