"""
codegen: spec/*.yaml -> generated/*.py and diagrams/*.{dot,svg}.

Run ``python -m codegen`` from the repository root to regenerate, and
``python -m codegen --check`` to verify that the committed files match
the spec. Needs Jinja2 and PyYAML (and Graphviz's ``dot`` to render SVG);
the wsspec library itself needs none of them.
"""
