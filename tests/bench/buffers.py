"""
``python -m tests.bench --buffers``: full-size buffers per 1 MiB message, per direction.

For a 1 MiB binary message, how many buffers of (about) the message's size
does each library allocate?

- **send**: a client's ``send(BytesMessage(payload))`` (websockets:
  ``send_binary(payload)`` + ``data_to_send()``): serialise and mask; the
  bytes for the socket are left as the library returns them (not joined).
- **receive, whole frame**: a server's ``receive_data(frame)`` with the
  whole masked frame in one call, then the events drained: parse + unmask.
- **receive, 64 KiB reads**: the same frame in 64 KiB pieces, the events
  drained after each, as a server reading a socket sees it. (wsproto's API,
  and so wsspec's, delivers the pieces as they come; joining them is then
  the application's buffer, not counted here; websockets buffers the frame
  and delivers it whole.)

Method. CPython gives no hook that reports each allocation from Python, and
``tracemalloc`` keeps only the blocks still alive and one peak. So the work
is cut into *steps* and the peak is read per step: ``sys.settrace`` with
``f_trace_opcodes`` stops at every bytecode instruction of every Python
frame, and ``sys.setprofile`` at every call into and return from a C
function. At each stop the hook reads ``tracemalloc.get_traced_memory()``,
and a step whose peak rose by at least ~one message size above the traced
memory at its start counts ``(rise + size/16) // size`` full-size buffers,
attributed to the source line or C function the step ran; then
``tracemalloc.reset_peak()`` starts the next step. Between two stops runs a
single bytecode instruction or a single C call, so two buffers of a step are
counted separately unless one was freed before the other was allocated
inside the same C call (a ``realloc`` that grows a buffer counts its growth
only, and mremap does not copy). **The count is therefore a lower bound of
the number of allocations >= ~1 MiB**, exact for code that keeps what it
allocates during a C call. Also printed: the whole direction's peak traced
memory above its start, divided by the message size (how many full-size
buffers were alive at once at worst), which needs no hook at all.

Every count is taken on the second message of a connection (the first one
warms buffers and caches) and the received payload is checked against the
sent one. Tracing makes this slow, so it runs one message per library.
"""

from __future__ import annotations

import random
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from .wire import OP_BINARY, encode_frame

MIB = 1 << 20
READ_SIZE = 64 << 10
REPO = Path(__file__).resolve().parents[2]


def _short(filename: str) -> str:
    path = Path(filename)
    for base in (REPO, Path(sys.prefix) / "lib"):
        try:
            rel = path.relative_to(base)
        except ValueError:
            continue
        parts = rel.parts
        if "site-packages" in parts:
            parts = parts[parts.index("site-packages") + 1 :]
        return "/".join(parts)
    return path.name


class FullBufferCounter:
    """Counts full-size allocations step by step (see the module docstring)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.count = 0
        self.where: Counter[str] = Counter()
        self._level = 0
        self._label = "start"

    def _stop(self, label: str) -> None:
        current, peak = tracemalloc.get_traced_memory()
        rise = peak - self._level
        if rise >= self.size - self.size // 16:
            k = (rise + self.size // 16) // self.size
            self.count += k
            self.where[self._label] += k
        tracemalloc.reset_peak()
        self._level = current
        self._label = label

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event == "c_call":
            name = getattr(arg, "__qualname__", None) or getattr(arg, "__name__", "?")
            self._stop(f"{name}() (C) at {_short(frame.f_code.co_filename)}:{frame.f_lineno}")
        elif event in ("c_return", "c_exception"):
            self._stop(f"{_short(frame.f_code.co_filename)}:{frame.f_lineno}")

    def _trace(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "call":
            frame.f_trace_opcodes = True
        self._stop(f"{_short(frame.f_code.co_filename)}:{frame.f_lineno}")
        return self._trace

    def run(self, func: Callable[[], Any]) -> Any:
        """Run ``func()`` under the hooks, counting; returns its result."""
        if tracemalloc.is_tracing():
            raise RuntimeError("tracemalloc is already tracing")
        tracemalloc.start(1)
        try:
            tracemalloc.reset_peak()
            start = tracemalloc.get_traced_memory()[0]
            self._level = start
            sys.setprofile(self._profile)
            sys.settrace(self._trace)
            try:
                result = func()
            finally:
                sys.settrace(None)
                sys.setprofile(None)
            self._stop("end")
        finally:
            tracemalloc.stop()
        return result


def whole_peak(func: Callable[[], Any], size: int) -> tuple[Any, float, float]:
    """``func()``'s result, its peak traced memory above the start / size,
    and what it left allocated / size (no hooks)."""
    tracemalloc.start(1)
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = func()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, (peak - start) / size, (current - start) / size


# ---------------------------------------------------------------------------
# the three directions, per library family
# ---------------------------------------------------------------------------


def _ops(lib: Any, payload: bytes) -> dict[str, tuple[Callable[[], Any], Callable[[Any], bytes]]]:
    """``{direction: (fresh operation factory, payload extractor)}``."""
    frame = encode_frame(OP_BINARY, payload, mask_key=random.Random(11).randbytes(4))
    pieces = [frame[i : i + READ_SIZE] for i in range(0, len(frame), READ_SIZE)]

    if lib.name == "websockets":
        def send_op(client: Any) -> Any:
            client.send_binary(payload)
            return client.data_to_send()

        def recv_op(server: Any, chunks: list[bytes]) -> Any:
            frames = []
            for chunk in chunks:
                server.receive_data(chunk)
                frames.extend(server.events_received())
            return frames

        def recv_payload(frames: Any) -> bytes:
            return b"".join(bytes(f.data) for f in frames)
    else:
        BytesMessage = lib.events.BytesMessage

        def send_op(client: Any) -> Any:
            return client.send(BytesMessage(data=payload))

        def recv_op(server: Any, chunks: list[bytes]) -> Any:
            events = []
            for chunk in chunks:
                server.receive_data(chunk)
                events.extend(server.events())
            return events

        def recv_payload(events: Any) -> bytes:
            return b"".join(bytes(e.data) for e in events)

    def send_payload(out: Any) -> bytes:
        from .wire import decode_frames

        wire = out if isinstance(out, (bytes, bytearray)) else b"".join(out)
        (decoded,) = decode_frames(bytes(wire))
        return decoded.payload

    return {
        "send": (lambda: send_op, send_payload),
        "receive (whole frame)": (lambda: (lambda server: recv_op(server, [frame])), recv_payload),
        f"receive ({READ_SIZE >> 10} KiB reads)": (lambda: (lambda server: recv_op(server, pieces)), recv_payload),
    }


def measure(lib: Any, size: int = MIB) -> dict[str, dict[str, Any]]:
    payload = random.Random(3).randbytes(size)
    out: dict[str, dict[str, Any]] = {}
    for direction, (factory, extract) in _ops(lib, payload).items():
        op = factory()
        results = {}
        for method in ("steps", "peak"):
            client, server = lib.pair()
            conn = client if direction == "send" else server
            first = op(conn)  # warm-up message
            if extract(first) != payload:
                raise AssertionError(f"{lib.name} {direction}: warm-up payload differs")
            del first
            if method == "steps":
                counter = FullBufferCounter(size)
                got = counter.run(lambda: op(conn))
                results["count"] = counter.count
                results["where"] = dict(counter.where)
            else:
                got, peak, left = whole_peak(lambda: op(conn), size)
                results["peak"] = peak
                results["left"] = left
            if extract(got) != payload:
                raise AssertionError(f"{lib.name} {direction}: payload differs")
            del got
        out[direction] = results
    return out


def main(cfg: Any, header_lines: list[str], libraries: list[Any]) -> int:
    for line in header_lines:
        print(line)
    print("mode:       --buffers: full-size (>= ~1 MiB) buffers per 1 MiB binary message, per direction")
    print(flush=True)
    failures = []
    print("| library | direction | full-size allocations (lower bound) | peak extra / size | "
          "left allocated / size | where (count) |")
    print("|:---|:---|---:|---:|---:|:---|")
    for lib in libraries:
        try:
            rows = measure(lib)
        except Exception as exc:  # noqa: BLE001 - reported
            failures.append(f"{lib.name}: {type(exc).__name__}: {exc}")
            print(f"| {lib.name} | FAIL | - | - | - | {exc} |")
            continue
        for direction, r in rows.items():
            where = "; ".join(f"{label} ({k})" for label, k in r["where"].items()) or "-"
            print(f"| {lib.name} | {direction} | {r['count']} | {r['peak']:.2f} | {r['left']:.2f} | {where} |")
    print()
    print("Method (details: tests/bench/buffers.py): tracemalloc's peak is read and reset at every")
    print("bytecode instruction (sys.settrace, f_trace_opcodes) and every C call and return")
    print("(sys.setprofile); a step whose peak rose by ~k message sizes counts k full-size buffers. A")
    print("buffer freed and another allocated inside one C call count once: a lower bound. 'peak extra")
    print("/ size' is the whole operation's peak above its start (buffers alive at once, at worst);")
    print("'left allocated' is what it hands back (wire bytes, or the received payload). Measured on")
    print("the second message of a connection; the payload is checked in every case.")
    print()
    if failures:
        print(f"correctness: FAILED ({len(failures)}):")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print(f"correctness: all checks passed ({len(libraries) * 3} library/direction checks)")
    return 0
