"""
Side-by-side benchmark of wsspec, wsproto and websockets' Sans-I/O layer (issue 6).

Run it from the repository root::

    .venv/bin/python -m tests.bench            # full run, a few minutes at most
    .venv/bin/python -m tests.bench --quick    # CI smoke run, seconds
    .venv/bin/python -m tests.bench --help

Layout:

- ``__main__``: the command line; it applies ``--no-speedups`` *before* any
  WebSocket library is imported, then hands over to ``runner``.
- ``libs``: one adapter per library family (wsspec and wsproto share one,
  they have the same API; websockets' ``ServerProtocol``/``ClientProtocol``
  have another). Every hot loop is written against the library's own public
  API, with no adapter call inside the loop.
- ``workloads``: the eight workloads of issue 6 and the per-call rows 9-10 (issue 13), each verified for
  correctness once per library before it is timed.
- ``wire``: a tiny independent frame encoder/decoder used to build inputs
  and to check what the libraries put on the wire.
- ``runner``: round-robin, best-of-N timing, the table, ``--profile``.

Nothing here is imported by the test suite except through the smoke test
(``tests/test_bench_smoke.py``), which runs the command as a subprocess.
"""
