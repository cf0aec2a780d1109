#!/usr/bin/env bash
# The quick start's first command: set everything up, regenerate the code and
# the diagrams from spec/, then run a wsspec client and server over 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
echo "== python -m codegen   (spec/ -> generated/ and diagrams/)"
.venv/bin/python -m codegen
echo "== a whole WebSocket session over 127.0.0.1"
.venv/bin/python examples/session_demo.py
