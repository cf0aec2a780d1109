"""
Running one fuzz input against the library, the oracle and the invariants.

:func:`run_conn_case` feeds a :class:`~tests.fuzz.cases.ConnCase` to a fresh
``Connection`` piece by piece and returns a list of problems (empty = pass).

The oracle (:class:`Checker`) consumes events one at a time and compares
them, without copying payloads, to the case's expected items:

* every item ending at or before ``case.cut`` (all items for a well-formed
  stream) is delivered intact and in order: messages reassembled from
  ``TextMessage``/``BytesMessage`` pieces up to ``message_finished``,
  pings, pongs, and a peer Close with its code and reason;
* for a violation: then at most a prefix of the message in progress (never
  finished), exactly one ``CloseConnection`` with the expected code, and no
  further event (one ``CloseConnection(1006)`` after ``receive_data(None)``
  is the transport's end and allowed);
* for a well-formed stream nothing else is delivered.

General invariants, checked on every input:

* only ``wsspec.utilities.ProtocolError`` subclasses escape from
  ``receive_data``/``events``/``send``; anything else is a finding, and a
  Connection must not raise at all for bad peer bytes (it reports them with a
  ``CloseConnection``);
* messages are well-formed (pieces of one type, ``str`` for text, bytes for
  binary) and no delivered message is larger than ``max_message_size``
  (characters are counted for text: a lower bound of its UTF-8 size);
* after a ``CloseConnection`` (protocol error or peer Close): the state is
  not OPEN, ``data_to_send()`` returns either nothing or one Close frame
  (masked iff we are the client) carrying the event's code, and then
  nothing; after a protocol error it must return that frame;
  ``send(TextMessage(...))`` raises ``LocalProtocolError``;
  ``receive_data`` of more bytes does not raise and yields no events (if we
  had sent our Close first, the state is then CLOSED and a ProtocolError is
  allowed; ``data_to_send()`` must then stay empty: one Close per side);
* memory (when measured): the tracemalloc peak while processing the input is
  at most ``6 * len(input) + 7 * piece + 256 KiB``, where ``piece`` is the
  largest inflated piece, ``min(max_message_size + 1, INFLATE_CHUNK_SIZE)``
  (256 KiB): the library never holds a whole compressed message, so the
  bound does not grow with the limit. 6x the input: receive buffer, payload
  copy, and CPython's UTF-8 decoder, which allocates 4 bytes per input byte
  for text with an astral character before shrinking; 7x a piece: zlib's
  output blocks and their joined copy (2x), the piece, and the decoder's
  4x (measured: 128 KiB of emoji text inflates at a peak of 828 KB);
* time: every ``receive_data``/``events`` call takes at most
  ``0.25 s + 2 us * bytes fed so far + 50 ns * payload bytes (or
  characters) it delivered``; the whole input at most
  ``0.5 s + 20 us * len(input) + 50 ns * payload delivered``. Not checked
  on memory-measured inputs (tracemalloc is slow).
"""

from __future__ import annotations

import functools
import inspect
import time
import tracemalloc
from typing import Any, Callable

from . import wire as W

KiB = 1024
CALL_BASE_S = 0.25
CALL_PER_FED_BYTE_S = 2e-6
TOTAL_BASE_S = 0.5
TOTAL_PER_BYTE_S = 20e-6
PER_DELIVERED_S = 50e-9
MEM_SLACK = 256 * KiB
DEFAULT_MMS = 16 * 1024 * 1024


def mem_bound(input_len: int, mms: int | None) -> int:
    """The tracemalloc peak allowed while processing ``input_len`` bytes."""
    from wsspec.extensions import INFLATE_CHUNK_SIZE

    piece = INFLATE_CHUNK_SIZE if mms is None else min(mms + 1, INFLATE_CHUNK_SIZE)
    return 6 * input_len + 7 * piece + MEM_SLACK


def _lib() -> Any:
    import wsspec.connection as connection
    import wsspec.events as events
    import wsspec.utilities as utilities

    return connection, events, utilities


@functools.lru_cache(maxsize=None)
def supported_keywords(func: Callable[..., Any]) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        # wsspec's compiled build: a Cython extension class has no signature
        # inspect can read (as any C type); its keywords are the source's.
        if getattr(func, "__module__", "").startswith("wsspec"):
            return frozenset({"max_message_size", "max_frame_size"})
        return frozenset()


def limit_kwargs(cls: Any, mms: int | None, mfs: int | None, *, explicit: bool = True) -> dict[str, Any]:
    """The size-limit keywords for ``cls`` that it supports (skipped until it does)."""
    params = supported_keywords(cls)
    out: dict[str, Any] = {}
    if not explicit:
        return out
    if "max_message_size" in params:
        out["max_message_size"] = mms
    if "max_frame_size" in params:
        out["max_frame_size"] = mfs
    return out


def has_limits() -> bool:
    connection, _, _ = _lib()
    return "max_message_size" in supported_keywords(connection.Connection)


def make_connection(case: Any) -> Any:
    connection, _, _ = _lib()
    extensions = []
    if case.pmd is not None:
        server_ext, client_ext = W.negotiate(case.pmd)
        extensions = [server_ext if case.side == "server" else client_ext]
    ctype = connection.ConnectionType.SERVER if case.side == "server" else connection.ConnectionType.CLIENT
    explicit = case.max_message_size is not None or case.max_frame_size is not None
    return connection.Connection(ctype, extensions=extensions,
                                 **limit_kwargs(connection.Connection, case.max_message_size,
                                                case.max_frame_size, explicit=explicit))


def _short(value: Any, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + f"...({len(value) if hasattr(value, '__len__') else '?'})"


class Checker:
    """The streaming oracle for one case (see the module docstring)."""

    def __init__(self, case: Any, problems: list[str]) -> None:
        _, ev, _ = _lib()
        self.ev = ev
        self.case = case
        self.problems = problems
        self.items = case.items
        if case.mode == "exact":
            self.required = len(case.items)
        else:
            self.required = sum(1 for end, _, _ in case.items if end <= case.cut)
        self.pos = 0
        self.cur_kind: str | None = None
        self.cur_target: Any = None  # expected content of the message in progress, or None (unknown)
        self.cur_index: int | None = None  # its index in items, None for a partial/unknown one
        self.cur_len = 0
        self.close: Any = None
        self.close_expected_item = False
        self.eof_sent = False
        self.after_eof_close = False
        self.delivered = 0
        self.mms = case.max_message_size if case.max_message_size is not None else DEFAULT_MMS
        self.events_seen = 0

    def problem(self, text: str) -> None:
        if len(self.problems) < 8:
            self.problems.append(text)

    def _next_message_index(self) -> int | None:
        for j in range(self.pos, self.required):
            if self.items[j][1] in ("text", "bytes"):
                return j
            if self.items[j][1] == "close":
                return None
        return None

    def on_event(self, event: Any) -> None:
        ev = self.ev
        self.events_seen += 1
        if self.close is not None:
            if (isinstance(event, ev.CloseConnection) and event.code == 1006 and self.eof_sent
                    and not self.after_eof_close):
                self.after_eof_close = True
                return
            self.problem(f"event after CloseConnection({self.close.code}): {_short(event)}")
            return
        if isinstance(event, (ev.TextMessage, ev.BytesMessage)):
            self._on_data(event)
        elif isinstance(event, (ev.Ping, ev.Pong)):
            kind = "ping" if isinstance(event, ev.Ping) else "pong"
            payload = event.payload
            if not isinstance(payload, (bytes, bytearray)) or len(payload) > 125:
                self.problem(f"{kind} payload of type {type(payload).__name__} / length {len(payload)}")
            if self.pos < self.required:
                end, ekind, edata = self.items[self.pos]
                if ekind != kind or bytes(payload) != edata:
                    self.problem(f"item {self.pos}: expected {ekind} {_short(edata)}, got {kind} {_short(payload)}")
                self.pos += 1
            elif self.case.mode != "mutated":
                self.problem(f"unexpected {kind} {_short(payload)} after {self.pos} expected items "
                             f"({self.case.mode})")
        elif isinstance(event, ev.CloseConnection):
            self._on_close(event)
        else:
            self.problem(f"unexpected event type {type(event).__name__}")

    def _on_data(self, event: Any) -> None:
        ev = self.ev
        kind = "text" if isinstance(event, ev.TextMessage) else "bytes"
        data = event.data
        if kind == "text" and not isinstance(data, str):
            self.problem(f"TextMessage.data is {type(data).__name__}")
            return
        if kind == "bytes" and not isinstance(data, (bytes, bytearray)):
            self.problem(f"BytesMessage.data is {type(data).__name__}")
            return
        if self.cur_kind is None:
            self.cur_kind = kind
            self.cur_len = 0
            j = self._next_message_index()
            if j is not None:
                self.cur_index = j
                if self.items[j][1] != kind:
                    self.problem(f"item {j}: expected a {self.items[j][1]} message, got {kind}")
                self.cur_target = self.items[j][2]
            else:
                self.cur_index = None
                self.cur_target = None
                # The message ends after the cut (control items interleaved in
                # it may still be pending): a partial or unknown message.
                if self.case.mode == "exact":
                    self.problem(f"unexpected {kind} message after all {self.required} items")
                elif self.case.mode == "violation":
                    partial = self.case.partial
                    if partial is None or partial[0] != kind:
                        self.problem(f"{kind} data delivered after the violation point (no message was open)")
                    else:
                        self.cur_target = partial[1]
        elif kind != self.cur_kind:
            self.problem(f"{kind} piece inside a {self.cur_kind} message")
            return
        target = self.cur_target
        if target is not None and not target.startswith(data, self.cur_len):
            self.problem(f"{kind} message (item {self.cur_index}) differs at offset {self.cur_len}: "
                         f"got {_short(data)} expected {_short(target[self.cur_len:self.cur_len + 40])}")
            self.cur_target = target = None
        self.cur_len += len(data)
        self.delivered += len(data)
        if self.cur_len > self.mms:
            self.problem(f"{kind} message of more than {self.cur_len} > max_message_size {self.mms} delivered")
        if event.message_finished:
            if self.cur_index is not None:
                if self.cur_index != self.pos:
                    self.problem(f"message item {self.cur_index} finished before control item {self.pos}")
                if target is not None and self.cur_len != len(target):
                    self.problem(f"message item {self.cur_index} ended after {self.cur_len} of {len(target)}")
                self.pos = self.cur_index + 1
            elif self.case.mode == "violation" and self.cur_target is not None:
                self.problem("the message containing the violation was delivered as finished")
            self.cur_kind = None
            self.cur_target = None
            self.cur_index = None

    def _on_close(self, event: Any) -> None:
        self.close = event
        code = event.code
        reason = event.reason or ""
        mode = self.case.mode
        if self.pos < self.required:
            end, ekind, edata = self.items[self.pos]
            if ekind == "close" and self.cur_kind is None:
                if (code, reason) != tuple(edata):
                    self.problem(f"close item: expected {edata}, got ({code}, {reason!r})")
                self.close_expected_item = True
                self.pos += 1
            else:
                self.problem(f"CloseConnection({code}, {reason!r}) while item {self.pos} ({ekind}) and "
                             f"{self.required - self.pos - 1} more were not delivered (data lost)")
            return
        if self.cur_kind is not None and self.cur_index is not None:
            self.problem(f"CloseConnection({code}) in the middle of expected message item {self.cur_index}")
        if mode == "exact":
            if not (self.eof_sent and code == 1006):
                self.problem(f"unexpected CloseConnection({code}, {reason!r}) in a well-formed stream")
        elif mode == "violation":
            if code != self.case.code:
                self.problem(f"CloseConnection code {code} ({reason!r}), expected {self.case.code}")

    def finish(self) -> None:
        """Checks once all bytes were fed and all events drained."""
        if self.pos < self.required:
            self.problem(f"only {self.pos} of {self.required} expected items delivered")
        mode = self.case.mode
        if mode == "exact" and self.cur_kind is not None and self.close is None:
            self.problem("a message was left unfinished at the end of a well-formed stream")
        if mode == "violation" and self.close is None:
            self.problem(f"no CloseConnection for the violation (expected code {self.case.code})")
        if mode == "violation" and self.close is not None and self.close.code == 1006 and self.case.code != 1006:
            self.problem("the violation was only reported by the EOF (1006)")
        if self.eof_sent and self.close is None:
            self.problem("no CloseConnection after receive_data(None)")


def _drain(conn: Any, checker: Checker, limit: int, problems: list[str], PE: type) -> None:
    """Consume events: all (limit < 0) or at most ``limit`` (abandoning the generator)."""
    try:
        gen = conn.events()
        if limit < 0:
            for event in gen:
                checker.on_event(event)
        else:
            for i, event in enumerate(gen):
                checker.on_event(event)
                if i + 1 >= limit:
                    break
            gen.close()
    except PE as exc:
        problems.append(f"events() raised {type(exc).__name__}: {exc} (bad peer input must become a CloseConnection)")
        raise _Stop from None
    except Exception as exc:  # noqa: BLE001 - the invariant under test
        problems.append(f"events() raised non-ProtocolError {type(exc).__name__}: {exc}")
        raise _Stop from None


class _Stop(Exception):
    pass


def _frame_after(case: Any) -> bytes:
    """A valid frame for the receiving side, to feed after a close."""
    key = b"\x01\x02\x03\x04" if case.side == "server" else None
    return W.frame(W.OP_TEXT, b"late", key=key) + W.frame(W.OP_PING, b"p", key=key)


def run_conn_case(case: Any, *, measure_memory: bool = False, check_time: bool = True,
                  conn_factory: Callable[[Any], Any] | None = None) -> tuple[list[str], dict[str, Any]]:
    """Run one connection case; returns (problems, stats)."""
    connection, ev, utilities = _lib()
    PE = utilities.ProtocolError
    LPE = utilities.LocalProtocolError
    problems: list[str] = []
    stats: dict[str, Any] = {}
    try:
        conn = (conn_factory or make_connection)(case)
    except Exception as exc:  # noqa: BLE001
        return [f"creating the Connection raised {type(exc).__name__}: {exc}"], stats
    if case.local_close:
        try:
            conn.send(ev.CloseConnection(code=1000, reason="local"))
        except Exception as exc:  # noqa: BLE001
            return [f"send(CloseConnection(1000)) on an open connection raised {type(exc).__name__}: {exc}"], stats
    checker = Checker(case, problems)
    wire = case.wire
    perf = time.perf_counter
    if measure_memory:
        tracemalloc.start()
    t_start = perf()
    try:
        prev = 0
        for end, drain in zip(case.ends, case.drains):
            piece = wire[prev:end]
            prev = end
            before = checker.delivered
            t0 = perf()
            try:
                conn.receive_data(piece)
            except PE as exc:
                if case.local_close and checker.close is not None:
                    break  # both Closes are done: CLOSED, and wsproto's API refuses more bytes
                problems.append(f"receive_data raised {type(exc).__name__}: {exc} (state {conn.state})")
                raise _Stop from None
            except Exception as exc:  # noqa: BLE001
                problems.append(f"receive_data raised non-ProtocolError {type(exc).__name__}: {exc}")
                raise _Stop from None
            if drain:
                _drain(conn, checker, drain, problems, PE)
            dt = perf() - t0
            if check_time and not measure_memory:
                budget = CALL_BASE_S + CALL_PER_FED_BYTE_S * end + PER_DELIVERED_S * (checker.delivered - before)
                if dt > budget:
                    problems.append(f"a receive_data+events call took {dt * 1e3:.1f} ms > {budget * 1e3:.1f} ms "
                                    f"(piece ending at {end} of {len(wire)})")
        t0 = perf()
        before = checker.delivered
        _drain(conn, checker, -1, problems, PE)
        dt = perf() - t0
        if check_time and not measure_memory:
            budget = CALL_BASE_S + CALL_PER_FED_BYTE_S * len(wire) + PER_DELIVERED_S * (checker.delivered - before)
            if dt > budget:
                problems.append(f"the final events() call took {dt * 1e3:.1f} ms > {budget * 1e3:.1f} ms")
        _post_checks(case, conn, checker, problems, PE, LPE, ev)
        if case.eof:
            checker.eof_sent = True
            try:
                conn.receive_data(None)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"receive_data(None) raised {type(exc).__name__}: {exc}")
                raise _Stop from None
            _drain(conn, checker, -1, problems, PE)
            try:
                conn.receive_data(b"\x81\x00")
            except PE:
                pass
            except Exception as exc:  # noqa: BLE001
                problems.append(f"receive_data after EOF raised non-ProtocolError {type(exc).__name__}: {exc}")
        checker.finish()
    except _Stop:
        pass
    total = perf() - t_start
    if measure_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        bound = mem_bound(len(wire), case.max_message_size)
        stats["peak"] = peak
        if peak > bound:
            problems.append(f"memory peak {peak} bytes > bound {bound} (input {len(wire)} bytes, "
                            f"max_message_size {case.max_message_size})")
    elif check_time:
        budget = TOTAL_BASE_S + TOTAL_PER_BYTE_S * len(wire) + PER_DELIVERED_S * checker.delivered
        if total > budget:
            problems.append(f"input took {total:.3f} s > {budget:.3f} s ({len(wire)} bytes, "
                            f"{checker.delivered} delivered)")
    stats["time"] = total
    stats["delivered"] = checker.delivered
    stats["closed"] = None if checker.close is None else checker.close.code
    return problems, stats


def _post_checks(case: Any, conn: Any, checker: Checker, problems: list[str], PE: type, LPE: type,
                 ev: Any) -> None:
    """Invariants once everything was fed and drained (before any EOF)."""
    close = checker.close
    error_close = close is not None and not checker.close_expected_item
    if close is not None:
        if conn.state.name == "OPEN":
            problems.append(f"state OPEN after CloseConnection({close.code})")
        allowed: tuple[type, ...] = (PE,) if case.local_close else ()
        # More bytes from the peer before we answered: ignored, no events, no
        # exception (after our own Close too the state is CLOSED: a ProtocolError is allowed).
        try:
            conn.receive_data(_frame_after(case))
        except allowed:
            pass
        except Exception as exc:  # noqa: BLE001
            problems.append(f"receive_data after CloseConnection({close.code}) raised {type(exc).__name__}: "
                            f"{exc} (state {conn.state})")
        else:
            before = checker.events_seen
            _drain(conn, checker, -1, problems, PE)
            if checker.events_seen != before:
                problems.append(f"bytes after CloseConnection({close.code}) produced events")
        try:
            conn.send(ev.TextMessage(data="after close"))
            problems.append(f"send(TextMessage) after CloseConnection({close.code}) did not raise "
                            f"(state {conn.state})")
        except LPE:
            pass
        except Exception as exc:  # noqa: BLE001
            problems.append(f"send(TextMessage) after close raised {type(exc).__name__}: {exc}")
    if not hasattr(conn, "data_to_send"):
        return
    try:
        out = conn.data_to_send()
        again = conn.data_to_send()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"data_to_send() raised {type(exc).__name__}: {exc}")
        return
    if not isinstance(out, (bytes, bytearray)) or not isinstance(again, (bytes, bytearray)):
        problems.append(f"data_to_send() returned {type(out).__name__}")
        return
    if again:
        problems.append(f"data_to_send() handed out {len(again)} bytes a second time")
    if close is None or case.local_close:
        if out:
            problems.append(f"data_to_send() returned {_short(bytes(out))} though "
                            + ("we already sent our Close" if case.local_close else "nothing failed"))
        return
    if out:
        _check_close_frame(case, bytes(out), close.code, problems)
    elif error_close and case.mode == "violation":
        problems.append(f"data_to_send() is empty after a protocol error (CloseConnection({close.code}))")
    # Once the Close went out, more bytes may be refused, but only with a ProtocolError.
    try:
        conn.receive_data(_frame_after(case))
    except PE:
        return
    except Exception as exc:  # noqa: BLE001
        problems.append(f"receive_data after data_to_send() raised non-ProtocolError {type(exc).__name__}: {exc}")
        return
    before = checker.events_seen
    _drain(conn, checker, -1, problems, PE)
    if checker.events_seen != before:
        problems.append(f"bytes after the Close was sent produced events")


def _check_close_frame(case: Any, out: bytes, code: int, problems: list[str]) -> None:
    try:
        frames = W.parse_frames(out)
    except ValueError as exc:
        problems.append(f"data_to_send() is not whole frames ({exc}): {_short(out)}")
        return
    if len(frames) != 1:
        problems.append(f"data_to_send() holds {len(frames)} frames")
        return
    fin, rsv, opcode, masked, payload = frames[0]
    if opcode != W.OP_CLOSE or not fin or rsv:
        problems.append(f"data_to_send() frame opcode {opcode:#x} fin {fin} rsv {rsv}, expected a Close")
    if masked != (case.side == "client"):
        problems.append(f"data_to_send() Close frame masked={masked} on the {case.side} side")
    sent = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
    if sent != code and not (code == 1005 and sent is None):
        problems.append(f"data_to_send() Close frame carries code {sent}, the event said {code}")
    try:
        payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        problems.append("data_to_send() Close reason is not UTF-8")
    if len(payload) > 125:
        problems.append(f"data_to_send() Close payload of {len(payload)} bytes")
