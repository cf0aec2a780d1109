"""
The fuzz harness (tests/fuzz/) in CI:

(a) a bounded, seeded slice of the fuzz loop (WSSPEC_FUZZ_SECONDS, default
    60 s; WSSPEC_FUZZ_SEED, default 1) that must find nothing;
(b) proofs that the oracle and every invariant can fail: wrong expectations
    and fake connections that misbehave are reported;
(c) the scaling check: pathological families at n and 4n, time ratio < 8;
(d) regressions where wsproto 1.3.2 misbehaves and wsspec must not; each
    runs the same scenario against wsproto and asserts wsproto's wrong
    behaviour too, so the test documents it.

Run the long version with ``python -m tests.fuzz --seconds 1800 --jobs 2``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import tracemalloc
from typing import Any

import pytest
import wsproto
import wsproto.connection as wp_connection
import wsproto.events as wp_events
import wsproto.extensions as wp_extensions

import wsspec
from tests.fuzz import __main__ as fuzz_main
from tests.fuzz import cases as C
from tests.fuzz import check as K
from tests.fuzz import hs as H
from tests.fuzz import runner as R
from tests.fuzz import scaling as S
from tests.fuzz import wire as W
from wsspec.connection import Connection, ConnectionType
from wsspec.events import BytesMessage, CloseConnection, Request, TextMessage
from wsspec.extensions import PerMessageDeflate
from wsspec.utilities import ProtocolError, RemoteProtocolError

KiB = 1024
MiB = 1024 * KiB
SEED = int(os.environ.get("WSSPEC_FUZZ_SEED", "1"))


# ----------------------------------------------------------------------------
# (a) the CI slice
# ----------------------------------------------------------------------------


def test_fuzz_slice_finds_nothing() -> None:
    seconds = float(os.environ.get("WSSPEC_FUZZ_SECONDS", "60"))
    lines: list[str] = []
    fuzzer = R.Fuzzer(SEED, out=lines.append)
    fuzzer.run(seconds)
    summary = fuzzer.summary()
    report = "\n".join(f"{n} x {sig}\n    {summary['examples'][sig]}" for sig, n in fuzzer.signatures.items())
    assert not fuzzer.signatures, f"{fuzzer.findings} findings in {fuzzer.count} inputs:\n{report}\n" + "\n".join(
        f"replay: python -m tests.fuzz --replay {path}" for path in fuzzer.files)
    # ~400-900 inputs/s on one core; 50/s is a floor that still proves the loop ran.
    assert fuzzer.count >= 50 * seconds, fuzzer.count
    # every family and (given the time) every violation kind was exercised
    families = {c.split("/")[0] if c.startswith(("handshake", "roundtrip", "send")) else "conn"
                for c in fuzzer.counts}
    assert families == {"conn", "handshake", "roundtrip", "send"}, families
    if seconds >= 30:
        assert set(fuzzer.violations) == set(C.VIOLATIONS), set(C.VIOLATIONS) - set(fuzzer.violations)
    assert fuzzer.measured > 0


# ----------------------------------------------------------------------------
# (b) the checks can fail
# ----------------------------------------------------------------------------


def _pick(mode: str, violation: str | None = None, *, need_message: bool = False,
          no_close: bool = False) -> C.ConnCase:
    """A small plain (no permessage-deflate) case that the real library passes."""
    for index in range(2000):
        case = C.gen_conn_case(7, index, mode=mode, violation=violation)
        if case.pmd is not None or len(case.wire) > 4000:
            continue
        if need_message and not any(kind in ("text", "bytes") and data for end, kind, data in case.items
                                    if mode == "exact" or end <= case.cut):
            continue
        if no_close and any(kind == "close" for _, kind, _ in case.items):
            continue
        if not K.run_conn_case(case)[0]:
            return case
    raise AssertionError("no suitable case")  # pragma: no cover


class Wrapper:
    """A real Connection with one behaviour replaced (see the subclasses)."""

    def __init__(self, case: C.ConnCase) -> None:
        self.inner = K.make_connection(case)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def receive_data(self, data: bytes | None) -> None:
        self.inner.receive_data(data)

    def events(self) -> Any:
        return self.inner.events()

    def send(self, event: Any) -> bytes:
        return self.inner.send(event)

    def data_to_send(self) -> bytes:
        return self.inner.data_to_send()


def test_oracle_reports_a_wrong_message() -> None:
    case = _pick("exact", need_message=True)
    i = next(i for i, item in enumerate(case.items) if item[1] in ("text", "bytes") and item[2])
    end, kind, data = case.items[i]
    wrong = ("X" if kind == "text" else b"X") + data[1:]
    bad = dataclasses.replace(case, items=case.items[:i] + [(end, kind, wrong)] + case.items[i + 1:])
    problems, _ = K.run_conn_case(bad)
    assert any("differs" in p for p in problems), problems


def test_oracle_reports_a_missing_item() -> None:
    case = _pick("exact")
    bad = dataclasses.replace(case, items=case.items + [(len(case.wire), "ping", b"never sent")])
    problems, _ = K.run_conn_case(bad)
    assert any("expected items delivered" in p for p in problems), problems


def test_oracle_reports_a_wrong_close_code() -> None:
    case = _pick("violation", "reserved_opcode")
    problems, _ = K.run_conn_case(dataclasses.replace(case, code=1007))
    assert any("expected 1007" in p for p in problems), problems


def test_oracle_reports_an_unnoticed_violation() -> None:
    case = _pick("exact", no_close=True)
    problems, _ = K.run_conn_case(dataclasses.replace(case, mode="violation", cut=len(case.wire), code=1002))
    assert any("no CloseConnection for the violation" in p or "only reported by the EOF" in p
               for p in problems), problems


def test_a_non_protocol_error_is_reported() -> None:
    class Raising(Wrapper):
        def receive_data(self, data: bytes | None) -> None:
            raise ValueError("boom")

    case = _pick("exact")
    problems, _ = K.run_conn_case(case, conn_factory=Raising)
    assert any("non-ProtocolError ValueError" in p for p in problems), problems

    class RaisingEvents(Wrapper):
        def events(self) -> Any:
            raise KeyError("boom")
            yield  # pragma: no cover

    problems, _ = K.run_conn_case(dataclasses.replace(case, drains=[-1] * len(case.ends)),
                                  conn_factory=RaisingEvents)
    assert any("non-ProtocolError KeyError" in p for p in problems), problems


def test_a_protocol_error_for_peer_bytes_is_reported() -> None:
    class Raising(Wrapper):
        def receive_data(self, data: bytes | None) -> None:
            raise RemoteProtocolError("peer input")

    problems, _ = K.run_conn_case(_pick("violation", "reserved_opcode"), conn_factory=Raising)
    assert any("receive_data raised RemoteProtocolError" in p for p in problems), problems


def test_a_lost_message_is_reported() -> None:
    class Dropping(Wrapper):
        dropped = False

        def events(self) -> Any:
            for event in self.inner.events():
                if isinstance(event, (TextMessage, BytesMessage)) and not self.dropped:
                    self.dropped = True
                    continue
                yield event

    problems, _ = K.run_conn_case(_pick("violation", "invalid_close_code", need_message=True),
                                  conn_factory=Dropping)
    assert problems, problems


def test_events_after_close_are_reported() -> None:
    class Zombie(Wrapper):
        def events(self) -> Any:
            for event in self.inner.events():
                yield event
                if isinstance(event, CloseConnection):
                    yield TextMessage(data="zombie")

    problems, _ = K.run_conn_case(_pick("violation", "fragmented_control"), conn_factory=Zombie)
    assert any("event after CloseConnection" in p for p in problems), problems


def test_send_after_close_must_raise() -> None:
    class Lenient(Wrapper):
        def send(self, event: Any) -> bytes:
            return b""

    problems, _ = K.run_conn_case(_pick("violation", "close_payload_1_byte"), conn_factory=Lenient)
    assert any("did not raise" in p for p in problems), problems


def test_data_to_send_is_checked() -> None:
    case = _pick("violation", "invalid_utf8_text")

    class Twice(Wrapper):
        def data_to_send(self) -> bytes:
            out = self.inner.data_to_send()
            self.saved = getattr(self, "saved", b"") or out
            return self.saved

    problems, _ = K.run_conn_case(case, conn_factory=Twice)
    assert any("a second time" in p for p in problems), problems

    class WrongCode(Wrapper):
        def data_to_send(self) -> bytes:
            out = self.inner.data_to_send()
            return W.frame(W.OP_CLOSE, W.close_payload(1000)) if out else out

    problems, _ = K.run_conn_case(case, conn_factory=WrongCode)
    assert any("carries code 1000" in p for p in problems), problems

    class Nothing(Wrapper):
        def data_to_send(self) -> bytes:
            self.inner.data_to_send()
            return b""

    problems, _ = K.run_conn_case(case, conn_factory=Nothing)
    assert any("empty after a protocol error" in p for p in problems), problems


def test_bytes_after_an_error_must_be_ignored() -> None:
    class Resurrecting(Wrapper):
        def receive_data(self, data: bytes | None) -> None:
            if self.inner.state.name == "REMOTE_CLOSING" and data:
                raise ValueError("closed")
            self.inner.receive_data(data)

    problems, _ = K.run_conn_case(_pick("violation", "wrong_masking"), conn_factory=Resurrecting)
    assert any("ValueError" in p for p in problems), problems


def test_memory_bound_is_enforced() -> None:
    class Hog(Wrapper):
        def receive_data(self, data: bytes | None) -> None:
            self.hoard = bytearray(8 * MiB)
            self.inner.receive_data(data)

    case = _pick("exact")
    assert K.mem_bound(len(case.wire), case.max_message_size) < 8 * MiB
    problems, stats = K.run_conn_case(case, conn_factory=Hog, measure_memory=True)
    assert any("memory peak" in p for p in problems), problems
    assert not K.run_conn_case(case, measure_memory=True)[0]


def test_time_budget_is_enforced() -> None:
    class Slow(Wrapper):
        def receive_data(self, data: bytes | None) -> None:
            time.sleep(K.CALL_BASE_S + 0.05)
            self.inner.receive_data(data)

    case = _pick("exact")
    case = dataclasses.replace(case, ends=[len(case.wire)], drains=[-1])
    problems, _ = K.run_conn_case(case, conn_factory=Slow)
    assert any("took" in p for p in problems), problems


def test_handshake_checks_can_fail() -> None:
    for index in range(2000):
        case = H.gen_hs_case(3, index)
        if case.side == "server" and case.expect == "reject" and case.note in ("drop key", "version 8"):
            break
    else:  # pragma: no cover
        raise AssertionError("no case")
    assert not H.run_hs_case(case)[0]
    problems, _ = H.run_hs_case(dataclasses.replace(case, expect="accept"))
    assert any("refused" in p for p in problems), problems

    class Broken:
        def receive_data(self, data: bytes | None) -> None:
            raise KeyError("h11 leaked")

    problems, _ = H.run_hs_case(case, ws_factory=Broken)
    assert any("non-ProtocolError KeyError" in p for p in problems), problems


def test_send_checks_can_fail() -> None:
    from tests.fuzz import sending

    case = sending.SendCase(seed=0, index=0, category="send/client/plain", side="client", pmd=None,
                            ops=[["text", "hi", True], ["close", 1000, None], ["text", "late", True]])
    assert not sending.run_send_case(case)[0]

    class Careless(Connection):
        def send(self, event: Any) -> bytes:
            if isinstance(event, TextMessage) and event.data == "late":
                return b""  # sends after our Close without complaint
            return super().send(event)

    problems, _ = sending.run_send_case(case, conn_factory=Careless)
    assert any("invalid text" in p and "was sent" in p for p in problems), problems

    class Unmasked(Connection):
        def send(self, event: Any) -> bytes:
            return W.frame(W.OP_TEXT, b"x")

    problems, _ = sending.run_send_case(case, conn_factory=Unmasked)
    assert any("masked=False" in p for p in problems), problems


def test_findings_are_written_and_replayable(tmp_path: Any, capsys: Any) -> None:
    case = _pick("exact", need_message=True)
    i = next(i for i, item in enumerate(case.items) if item[1] in ("text", "bytes") and item[2])
    end, kind, data = case.items[i]
    bad = dataclasses.replace(case, items=case.items[:i] + [(end, kind, data + data[:1])] + case.items[i + 1:])
    lines: list[str] = []
    fuzzer = R.Fuzzer(7, findings_dir=tmp_path, out=lines.append, gen=lambda seed, index: bad)
    fuzzer.run(10, max_inputs=1)
    assert fuzzer.findings == 1 and len(fuzzer.files) == 1
    assert any("FINDING" in line for line in lines)
    stored = json.loads(open(fuzzer.files[0]).read())
    assert stored["replay"] == f"python -m tests.fuzz --replay {fuzzer.files[0]}"
    assert R.replay(fuzzer.files[0]) == 1
    assert "ended after" in capsys.readouterr().out
    good = tmp_path / "good.json"
    good.write_text(json.dumps({**stored, "case": case.to_json()}))
    assert R.replay(str(good)) == 0


def test_a_timing_problem_is_a_finding_only_if_it_repeats(tmp_path: Any) -> None:
    """A case slow once (the process descheduled) is re-run; slow every time (a hang) is a finding."""
    case = _pick("exact", need_message=True)
    slow = ["the final events() call took 455.9 ms > 250.7 ms"]
    for outcomes, findings, noise in (
        ([slow, []], 0, 1),  # slow once, then fine: machine noise
        ([slow, slow, slow], 1, 0),  # slow every time: reported
        ([slow, ["final state CLOSED, expected OPEN"]], 1, 0),  # another problem on the re-run: reported
    ):
        results = iter(outcomes)
        calls: list[bool] = []

        def runner(case: Any, measure_memory: bool | None = None) -> tuple[list[str], dict[str, Any]]:
            calls.append(bool(measure_memory))
            return next(results), {}

        fuzzer = R.Fuzzer(7, findings_dir=tmp_path, out=lambda line: None, gen=lambda seed, index: case,
                          runner=runner)
        fuzzer.run(10, max_inputs=1)
        assert (fuzzer.findings, fuzzer.timing_noise, len(calls)) == (findings, noise, len(outcomes))
        assert fuzzer.summary()["timing_noise"] == noise
    assert R.only_timing(["input took 3.100 s > 2.000 s (4 bytes, ...)"]) and not R.only_timing([])


def test_command_exit_status(monkeypatch: Any, capsys: Any, tmp_path: Any) -> None:
    monkeypatch.setattr(R, "FINDINGS_DIR", tmp_path)
    real = R.run_case
    monkeypatch.setattr(R, "run_case", lambda case, **kw: ([], real(case, **kw)[1]))  # findings hidden
    assert fuzz_main.main(["--seconds", "1", "--seed", "5"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("ran ") and "inputs" in out[-1] and out[-1].endswith(": 0 findings")
    monkeypatch.setattr(R, "run_case", lambda case, **kw: (["always wrong"], {}))
    assert fuzz_main.main(["--seconds", "0.5", "--seed", "5"]) == 1
    assert "always wrong" in capsys.readouterr().out
    assert list(tmp_path.glob("5-*.json"))


def test_cases_round_trip_through_json() -> None:
    for index in range(60):
        case = R.gen_case(11, index)
        again = R.case_from_json(json.loads(json.dumps(case.to_json())))
        assert again == case


def test_generation_is_reproducible() -> None:
    for index in range(0, 200, 7):
        a, b = R.gen_case(13, index), R.gen_case(13, index)
        if a.category.startswith("roundtrip"):
            assert (a.items, len(a.wire)) == (b.items, len(b.wire))  # masking keys are random
        else:
            assert a == b


# ----------------------------------------------------------------------------
# (c) scaling
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(S.FAMILIES))
def test_scaling_is_linear(name: str) -> None:
    # 4x the input must cost under 8x the time. On a loaded machine one
    # measurement can spike past that; a quadratic family fails every
    # attempt (16x), so the best of up to three attempts is judged.
    attempts = []
    for _ in range(3):
        t_small, t_large, ratio = S.ratio(name)
        attempts.append(f"{t_small * 1e3:.1f} ms -> {t_large * 1e3:.1f} ms (x{ratio:.1f})")
        if ratio < S.RATIO_LIMIT:
            return
    pytest.fail(f"{name}: " + "; ".join(attempts))


def test_scaling_check_can_fail() -> None:
    def quadratic(n: int) -> Any:
        def run() -> None:
            buf = b""
            for _ in range(n):
                buf = buf + b"x" * 64  # re-copies the whole buffer every time
        return run

    *_, ratio = S.ratio("quadratic", n=3000, builder=quadratic)
    assert ratio > S.RATIO_LIMIT, ratio


# ----------------------------------------------------------------------------
# (d) where wsproto 1.3.2 misbehaves
# ----------------------------------------------------------------------------


def test_eof_after_data_keeps_order() -> None:
    """A frame and EOF arrive before events() is called: the message comes
    first, then CloseConnection(1006), then nothing. wsproto yields the 1006
    first and then the message, i.e. data after the close."""
    wire = W.frame(W.OP_TEXT, b"last words", key=b"abcd")
    ours = Connection(ConnectionType.SERVER)
    ours.receive_data(wire)
    ours.receive_data(None)
    assert [type(e).__name__ for e in ours.events()] == ["TextMessage", "CloseConnection"]

    theirs = wp_connection.Connection(wp_connection.ConnectionType.SERVER)
    theirs.receive_data(wire)
    theirs.receive_data(None)
    assert [type(e).__name__ for e in theirs.events()] == ["CloseConnection", "TextMessage"]


@pytest.mark.parametrize("param", [b"server_max_window_bits=abc", b"server_max_window_bits=20",
                                   b"client_max_window_bits=7"])
def test_malformed_deflate_response_is_a_protocol_error(param: bytes) -> None:
    """A 101 whose permessage-deflate parameter is malformed: wsspec raises
    RemoteProtocolError; wsproto lets a ValueError escape."""

    def respond(ws: Any, request: bytes) -> bytes:
        key = next(line.split(b": ", 1)[1] for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key"))
        return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + H.accept_token(key) + b"\r\n"
                b"Sec-WebSocket-Extensions: permessage-deflate; " + param + b"\r\n\r\n")

    ours = wsspec.WSConnection(ConnectionType.CLIENT)
    request = ours.send(Request(host="h", target="/", extensions=[PerMessageDeflate()]))
    with pytest.raises(RemoteProtocolError):
        ours.receive_data(respond(ours, request))

    theirs = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    request = theirs.send(wp_events.Request(host="h", target="/", extensions=[wp_extensions.PerMessageDeflate()]))
    with pytest.raises(ValueError) as info:
        theirs.receive_data(respond(theirs, request))
    assert not isinstance(info.value, wsproto.utilities.ProtocolError)


def test_malformed_deflate_offer_does_not_break_the_server() -> None:
    """An offer with ``client_max_window_bits=abc``: wsspec's server answers
    (declining the offer); wsproto's send(AcceptConnection) raises ValueError."""
    request = (b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=abc\r\n\r\n")
    ours = wsspec.WSConnection(ConnectionType.SERVER)
    ours.receive_data(request)
    assert isinstance(next(ours.events()), Request)
    from wsspec.events import AcceptConnection

    try:
        reply = ours.send(AcceptConnection(extensions=[PerMessageDeflate()]))
    except ProtocolError:
        pass
    else:
        assert reply.startswith(b"HTTP/1.1 101") and b"permessage-deflate" not in reply.lower()

    theirs = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
    theirs.receive_data(request)
    assert isinstance(next(theirs.events()), wp_events.Request)
    with pytest.raises(ValueError):
        theirs.send(wp_events.AcceptConnection(extensions=[wp_extensions.PerMessageDeflate()]))


def test_inflation_bomb_is_bounded() -> None:
    """32 KiB of compressed zeros inflating to 32 MiB: wsspec (max_message_size
    64 KiB) fails with 1009 having allocated little; wsproto inflates it all."""
    size = 32 * MiB
    wire = W.frame(W.OP_BINARY, W.bomb(size), rsv=W.RSV1, key=b"abcd")
    assert len(wire) < 64 * KiB

    server_ext, _ = W.negotiate({})
    ours = Connection(ConnectionType.SERVER, extensions=[server_ext], max_message_size=64 * KiB)
    tracemalloc.start()
    ours.receive_data(wire)
    delivered = 0
    close = None
    for event in ours.events():
        if isinstance(event, CloseConnection):
            close = event
        else:
            delivered += len(event.data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert close is not None and close.code == 1009 and delivered <= 64 * KiB
    assert peak < K.mem_bound(len(wire), 64 * KiB), peak

    ext = wp_extensions.PerMessageDeflate()
    ext.accept("permessage-deflate")
    theirs = wp_connection.Connection(wp_connection.ConnectionType.SERVER, extensions=[ext])
    tracemalloc.start()
    theirs.receive_data(wire)
    events = list(theirs.events())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sum(len(e.data) for e in events) == size and peak > size


def test_huge_frame_header_fails_at_once() -> None:
    """A header announcing 2**62 bytes: wsspec fails with 1009 before any
    payload; wsproto accepts it and waits for 4 EiB."""
    wire = W.header(W.OP_BINARY, 1 << 62, masked=True) + b"abcd" + b"x" * 100
    ours = Connection(ConnectionType.SERVER)
    ours.receive_data(wire)
    events = list(ours.events())
    assert [(type(e).__name__, getattr(e, "code", None)) for e in events] == [("CloseConnection", 1009)]
    assert W.parse_frames(ours.data_to_send())[0][2] == W.OP_CLOSE

    theirs = wp_connection.Connection(wp_connection.ConnectionType.SERVER)
    theirs.receive_data(wire)
    assert not any(isinstance(e, wp_events.CloseConnection) for e in theirs.events())
