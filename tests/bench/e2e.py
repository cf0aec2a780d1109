"""
``python -m tests.bench.e2e``: uvicorn end to end, server CPU per echoed message.

Three configurations of uvicorn 0.54 (``tests/bench/e2e_server.py``, an ASGI
echo app on 127.0.0.1, asyncio loop, h11):

- ``wsspec``: ``--ws wsproto`` after ``wsspec.install_as_wsproto()``;
- ``wsproto``: ``--ws wsproto`` with the real wsproto 1.3.2;
- ``websockets-sansio``: ``--ws websockets-sansio``.

Each is driven by ``tests/bench/e2e_load.py``, a separate process with raw
sockets and pre-built masked frames (no WebSocket library in it), through
four workloads: 16 B text, 4 KiB text, 64 KiB binary, and 1 KiB JSON text
with permessage-deflate negotiated (the client offers ``permessage-deflate;
client_max_window_bits`` as Chromium does and really compresses, RSV1 set,
context takeover). Before every load window the load generator checks the
server's echoes in full; after it, that every message and byte came back.

The figure is the server process's CPU time (user + system, all threads,
from ``/proc/<pid>/task/*/schedstat``, nanoseconds) over the load window
only (handshakes, checks, startup and shutdown excluded), divided by the
messages echoed. Beside it: the load generator's own CPU time per message
and both processes' CPU as a share of the window's wall time, which shows
who the bottleneck is (the server near 100% of a core, the load generator
well below it and below the server).

Rounds: every round starts each configuration's server afresh (the order
rotating per round), runs the four workloads against it and kills it (its
process group, in ``finally``). Best and spread (min-max) over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .e2e_load import WORKLOADS

REPO = Path(__file__).resolve().parents[2]
CONFIGS = ("wsspec", "wsproto", "websockets-sansio")
#: workload -> (connections, messages per connection) for a full run; --quick divides messages.
COUNTS = {
    "text-16": (16, 1500),
    "text-4k": (16, 1000),
    "binary-64k": (8, 300),
    "json-1k-deflate": (16, 600),
}
EXPECT_MODULE = {  # what /whoami must answer for each configuration
    "wsspec": ("wsspec", "uvicorn.protocols.websockets.wsproto_impl"),
    "wsproto": ("wsproto", "uvicorn.protocols.websockets.wsproto_impl"),
    "websockets-sansio": (None, "uvicorn.protocols.websockets.websockets_sansio_impl"),
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of ``pid``, in seconds (schedstat: ns)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError as exc:
        raise RuntimeError(f"server process {pid} is gone") from exc
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that just ended
    return total / 1e9


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One uvicorn process (its own process group), killed in ``stop()``."""

    def __init__(self, impl: str, timeout: float) -> None:
        self.impl = impl
        self.port = free_port()
        self.log = open(os.devnull, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.e2e_server", "--impl", impl, "--port", str(self.port)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"{impl} server exited with {self.proc.returncode}: {err.strip()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{impl} server did not listen within {timeout:g} s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.log.close()


def _load_cmd(port: int, workload: str, conns: int, messages: int, timeout: float, window: int) -> list[str]:
    return [sys.executable, "-m", "tests.bench.e2e_load", "--port", str(port), "--workload", workload,
            "--conns", str(conns), "--messages", str(messages), "--timeout", str(timeout),
            "--window", str(window)]


def whoami(server: Server, timeout: float) -> dict[str, Any]:
    proc = subprocess.run(_load_cmd(server.port, "whoami", 1, 1, timeout, 1), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"whoami failed: {proc.stderr.strip()[-500:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    module, ws_module = EXPECT_MODULE[server.impl]
    if info["uvicorn_ws_modules"] != [ws_module] or (module and info["wsproto_module"] != module):
        raise RuntimeError(f"{server.impl}: server runs {info}, expected wsproto={module}, {ws_module}")
    return info


def run_load(server: Server, workload: str, conns: int, messages: int, timeout: float,
             window: int) -> dict[str, Any]:
    """One load window; the load generator's result plus the server's CPU over it."""
    proc = subprocess.Popen(_load_cmd(server.port, workload, conns, messages, timeout, window), cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        ready = proc.stdout.readline() if proc.stdout else ""
        if not ready.startswith("{"):
            raise RuntimeError(f"load generator: {ready!r} {proc.communicate(timeout=timeout)[1].strip()[-800:]}")
        extension = json.loads(ready).get("extension")
        cpu0 = cpu_seconds(server.proc.pid)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        cpu1 = cpu_seconds(server.proc.pid)
        if not line.startswith("{"):
            raise RuntimeError(f"load generator: {line!r} {proc.communicate(timeout=timeout)[1].strip()[-800:]}")
        result = json.loads(line)
        proc.stdin.close()
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    expected = conns * messages
    if result["messages"] != expected or not result["bytes_ok"]:
        raise RuntimeError(f"echoed {result['messages']} messages / {result['echo_bytes']} bytes, "
                           f"expected {expected} / {result['expected_bytes']}")
    if WORKLOADS[workload][2] and not extension:
        raise RuntimeError("permessage-deflate was not negotiated")
    result["server_cpu_s"] = cpu1 - cpu0
    result["extension"] = extension
    return result


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.e2e",
        description="uvicorn 0.54 end to end on 127.0.0.1: server CPU per echoed message for wsspec "
                    "(install_as_wsproto), wsproto and websockets-sansio, under a raw-socket load generator.",
    )
    parser.add_argument("--rounds", type=int, default=3, help="servers started per configuration (default 3)")
    parser.add_argument("--quick", action="store_true", help="1 round, 1/20 of the messages (smoke run)")
    parser.add_argument("--only", metavar="WORKLOADS", help="comma-separated: " + ", ".join(COUNTS))
    parser.add_argument("--window", type=int, default=1, help="messages in flight per connection (default 1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for any one step (default 60)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    rounds = 1 if args.quick and args.rounds == 3 else args.rounds
    scale = 20 if args.quick else 1
    workloads = [w.strip() for w in args.only.split(",")] if args.only else list(COUNTS)
    for w in workloads:
        if w not in COUNTS:
            parser.error(f"unknown workload {w!r}")

    import uvicorn

    from .runner import machine_info, reproduce_command

    info = machine_info()
    print("# wsspec end to end: uvicorn echo server, server CPU per echoed message")
    print()
    command = reproduce_command(sys.argv[1:] if argv is None else argv).replace("-m tests.bench", "-m tests.bench.e2e", 1)
    print(f"command:    {command}")
    print(f"python:     {info['python']} on {info['platform']}")
    print(f"machine:    {info['cpu_count']} CPUs ({info['cpu_affinity']} usable), {info['cpu_model']}; "
          f"load average {os.getloadavg()[0]:.2f} at start")
    print(f"uvicorn:    {uvicorn.__version__} (loop asyncio, http h11, lifespan off), wsspec git {info['wsspec_git']}")
    print(f"settings:   {rounds} round(s), window {args.window} message(s) in flight per connection; "
          + "; ".join(f"{w}: {COUNTS[w][0]} conns x {max(1, COUNTS[w][1] // scale)} msgs" for w in workloads))
    print(flush=True)

    samples: dict[tuple[str, str], list[dict[str, Any]]] = {(w, c): [] for w in workloads for c in CONFIGS}
    failures: list[str] = []
    whoamis: dict[str, Any] = {}
    for r in range(rounds):
        order = list(CONFIGS[r % 3:] + CONFIGS[: r % 3])
        _log(f"round {r + 1}/{rounds}: {' -> '.join(order)}")
        for impl in order:
            server = None
            try:
                server = Server(impl, args.timeout)
                whoamis[impl] = whoami(server, args.timeout)
                for w in workloads:
                    conns, messages = COUNTS[w]
                    messages = max(1, messages // scale)
                    result = run_load(server, w, conns, messages, args.timeout, args.window)
                    samples[(w, impl)].append(result)
                    _log(f"  {impl:>17} {w:<16} server {1e6 * result['server_cpu_s'] / result['messages']:7.1f} "
                         f"us/msg, load gen {1e6 * result['cpu_s'] / result['messages']:6.1f} us/msg, "
                         f"{result['messages'] / result['wall_s']:8.0f} msg/s")
            except Exception as exc:  # noqa: BLE001 - reported
                failures.append(f"round {r + 1}, {impl}: {type(exc).__name__}: {exc}")
                _log(f"  {impl}: FAILED: {exc}")
            finally:
                if server is not None:
                    server.stop()

    def per_msg(result: dict[str, Any], key: str) -> float:
        return 1e6 * result[key] / result["messages"]

    print("Server CPU per echoed message (µs, lower is better): best (min–max) over the rounds")
    print()
    print("| workload | " + " | ".join(CONFIGS) + " | wsspec/wsproto | wsspec/websockets-sansio |")
    print("|:---|" + "---:|" * (len(CONFIGS) + 2))
    best: dict[tuple[str, str], float] = {}
    records = []
    for w in workloads:
        cells = []
        for c in CONFIGS:
            values = [per_msg(s, "server_cpu_s") for s in samples[(w, c)]]
            if not values:
                cells.append("FAIL")
                continue
            best[(w, c)] = min(values)
            cells.append(_fmt(min(values)) + (f" ({_fmt(min(values))}–{_fmt(max(values))})" if len(values) > 1 else ""))
        ratios = []
        for other in ("wsproto", "websockets-sansio"):
            if (w, "wsspec") in best and (w, other) in best and best[(w, "wsspec")] > 0:
                ratios.append(f"{best[(w, other)] / best[(w, 'wsspec')]:.2f}x")
            else:
                ratios.append("-")
        print(f"| {w} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
        records.append({"workload": w, "samples": {c: samples[(w, c)] for c in CONFIGS}})
    print()
    print("Ratios: the other server's CPU per message / wsspec's (above 1.00x wsspec costs less).")
    print()
    print("Who is the bottleneck (each run: CPU time over the load window / its wall time; µs per message):")
    print()
    print("| workload | config | server CPU % of wall | load gen CPU % of wall | load gen µs/msg | "
          "server µs/msg | msg/s |")
    print("|:---|:---|---:|---:|---:|---:|---:|")
    for w in workloads:
        for c in CONFIGS:
            runs = samples[(w, c)]
            if not runs:
                continue
            srv = [100 * s["server_cpu_s"] / s["wall_s"] for s in runs]
            gen = [100 * s["cpu_s"] / s["wall_s"] for s in runs]
            gen_us = [per_msg(s, "cpu_s") for s in runs]
            srv_us = [per_msg(s, "server_cpu_s") for s in runs]
            rate = [s["messages"] / s["wall_s"] for s in runs]
            print(f"| {w} | {c} | {min(srv):.0f}–{max(srv):.0f}% | {min(gen):.0f}–{max(gen):.0f}% | "
                  f"{_fmt(min(gen_us))}–{_fmt(max(gen_us))} | {_fmt(min(srv_us))}–{_fmt(max(srv_us))} | "
                  f"{min(rate):,.0f}–{max(rate):,.0f} |")
    all_runs = [s for runs in samples.values() for s in runs]
    below = sum(1 for s in all_runs if s["cpu_s"] < s["server_cpu_s"])
    max_gen = max((100 * s["cpu_s"] / s["wall_s"] for s in all_runs), default=0.0)
    print()
    print(f"load generator: CPU per message below the server's in {below}/{len(all_runs)} runs; its CPU share "
          f"at most {max_gen:.0f}% of one core (a bottleneck would sit near 100%).")
    print("When neither process reaches 100%, the rest is the kernel round trip and other load on the")
    print("machine; the figure compared is CPU per message, which neither inflates much.")
    for c in CONFIGS:
        negotiated = sorted({str(s.get("extension")) for w in workloads if WORKLOADS[w][2]
                             for s in samples[(w, c)]})
        if negotiated:
            print(f"permessage-deflate, {c}: server answered {' / '.join(negotiated)!r}")
    if any(WORKLOADS[w][2] for w in workloads):
        print("(uvicorn configures websockets-sansio's permessage-deflate with 12-bit windows and zlib memLevel 5;")
        print("for wsproto and wsspec, each library's defaults: wsproto's are 15-bit windows and memLevel 8,")
        print("wsspec's a 12-bit window and memLevel 5 for what it compresses (its inflater takes the window")
        print("the client uses: 15 bits here). The deflate row compares what uvicorn ships, not the libraries")
        print("at equal settings: see")
        print("`python -m tests.bench --only deflate` for that.)")
    print("servers: " + "; ".join(f"{c}: wsproto module {whoamis[c]['wsproto_module']}"
                                  + (f" ({whoamis[c]['build']} build)" if whoamis[c].get("build") else "") + ", "
                                  f"{whoamis[c]['uvicorn_ws_modules'][0].rsplit('.', 1)[1]}"
                                  for c in CONFIGS if c in whoamis))
    checks = sum(s["checked"] for runs in samples.values() for s in runs)
    print()
    if failures:
        print(f"correctness: FAILED ({len(failures)}):")
        for failure in failures:
            print(f"  - {failure}")
    else:
        print(f"correctness: all checks passed ({checks} echoes decoded and compared before the load windows, "
              f"every message and byte of {sum(len(v) for v in samples.values())} load windows counted back)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": records, "failures": failures}, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
