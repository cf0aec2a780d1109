"""
Side-by-side benchmark of wsspec, wsproto and websockets' Sans-I/O layer (issue 6).

Run it from the repository root::

    .venv/bin/python -m tests.bench            # full run, a few minutes at most
    .venv/bin/python -m tests.bench --quick    # CI smoke run, seconds
    .venv/bin/python -m tests.bench --help
    .venv/bin/python -m tests.bench --fresh    # one new interpreter per library x workload (issue 13)
    .venv/bin/python -m tests.bench --buffers  # full-size buffers per 1 MiB message (issue 13)
    .venv/bin/python -m tests.bench.e2e        # uvicorn end to end, server CPU per message (issue 13)
    .venv/bin/python -m tests.bench.deflate_settings  # permessage-deflate settings and zlib backends (issue 12)

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
- ``fresh``: ``--fresh``, each cell in its own interpreter (parent and child).
- ``buffers``: ``--buffers``, tracemalloc stepped per instruction / C call.
- ``deflate_settings``: permessage-deflate window bits, memLevel, context
  takeover and zlib backends (zlib, zlib-ng, ISA-L): CPU, bytes on the wire,
  RSS per connection, a compression-threshold study (issue 12).
- ``e2e``, ``e2e_server``, ``e2e_load``: uvicorn end to end; the parent,
  the uvicorn echo server, the raw-socket load generator.

Nothing here is imported by the test suite except through the smoke tests
(``tests/test_bench_smoke.py``, ``tests/test_bench_modes_smoke.py``,
``tests/test_bench_deflate_settings_smoke.py``), which
run the commands as subprocesses (the last also calls ``deflate_settings``'
codec helpers directly, to round-trip every backend and setting).
"""
