"""
A fuzz harness for wsspec: structure-aware inputs for an open Connection
(both sides, with and without permessage-deflate), the opening handshake and
round trips, an oracle for inputs with a known effect, general invariants for
all inputs (exceptions, memory, time), and a scaling check.

``python -m tests.fuzz --help`` runs it; tests/test_fuzz.py runs a bounded
slice. See check.py for the invariants and their bounds.
"""
