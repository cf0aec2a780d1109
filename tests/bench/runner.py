"""
Round-robin, best-of-N timing of the workloads, and the one table.

For each row: build every library's case (connections through the real
handshake), verify it once, calibrate how many iterations fill one sample,
then take ``repeats`` samples per library, rotating the library order every
round so no library always runs first (or right after a given other one).
The best sample wins: highest rate, lowest time, lowest memory. The garbage
collector stays enabled (its cost is part of a library's cost), with a
``gc.collect()`` before every sample so each starts from the same heap.
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import os
import platform
import pstats
import shlex
import subprocess
import sys
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import libs as libs_mod
from .workloads import ROWS, WORKLOAD_NUMBERS, WORKLOADS, Row, ZlibAlone

REPO = Path(__file__).resolve().parents[2]
LIBRARIES = ("wsspec", "wsproto", "websockets")
NOT_NEGOTIATED = "n/a (not negotiated)"
BAR = {"wsproto": 2.0, "websockets": 1.0}  # issue 6: >= 2x wsproto, >= 1.0x websockets


@dataclass
class Config:
    repeats: int
    target: float  # seconds per timed sample
    mem_pairs: int
    mem_repeats: int
    only: list[str]
    no_speedups: bool
    argv: list[str]
    json_path: str | None = None
    profile: str | None = None
    fresh: bool = False
    buffers: bool = False
    baseline: str | None = None  # --fresh --baseline REF: wsspec against wsspec at git REF
    failures: list[str] = field(default_factory=list)
    checks_passed: int = 0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def select_rows(only: list[str]) -> list[Row]:
    if not only:
        return list(ROWS)
    wanted = set()
    for name in only:
        name = WORKLOAD_NUMBERS.get(name, name)
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)} or 1-10")
        wanted.add(name)
    return [row for row in ROWS if row.key in wanted]


# ---------------------------------------------------------------------------
# machine and library information
# ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return rev + (" + uncommitted changes" if dirty else "")


def reproduce_command(argv: list[str]) -> str:
    exe = Path(sys.executable)
    try:
        exe_text = str(exe.relative_to(REPO) if exe.is_absolute() else exe)
    except ValueError:
        exe_text = str(exe)
    return f"cd {shlex.quote(str(REPO))} && " + shlex.join([exe_text, "-m", "tests.bench", *argv])


def machine_info() -> dict[str, Any]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "cpu_model": _cpu_model(),
        "zlib": f"{zlib.ZLIB_VERSION} (runtime {zlib.ZLIB_RUNTIME_VERSION})",
        "wsspec_git": _git_revision(),
    }


# ---------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------


def _failure(cfg: Config, row: Row, name: str, exc: BaseException, stage: str) -> str:
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    cfg.failures.append(f"row {row.id} ({row.key}) / {name}: {stage} failed: {detail}")
    return "FAIL"


def _build(row: Row, lib: Any, cfg: Config) -> Any:
    """The verified case, or a status string ("n/a (not negotiated)", "FAIL")."""
    if isinstance(lib, libs_mod.Unavailable):
        return _failure(cfg, row, lib.name, lib.import_error, "import")
    try:
        case = row.make(lib, cfg)  # type: ignore[misc]
    except libs_mod.NotNegotiated as exc:
        _log(f"  {lib.name}: permessage-deflate n/a: {exc}")
        return NOT_NEGOTIATED
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return _failure(cfg, row, lib.name, exc, "setup")
    try:
        case.verify()
    except libs_mod.NotNegotiated as exc:
        _log(f"  {lib.name}: permessage-deflate n/a: {exc}")
        return NOT_NEGOTIATED
    except Exception as exc:  # noqa: BLE001
        return _failure(cfg, row, lib.name, exc, "correctness check")
    cfg.checks_passed += 1
    return case


def calibrate(case: Any, target: float) -> int:
    """Iterations that make one sample last about ``target`` seconds (doubles as warm-up)."""
    n = 1
    while True:
        elapsed = case.run(n)
        if elapsed >= target / 5 or n >= 10**8:
            break
        if elapsed <= 0:
            n *= 10
        else:
            n = max(n * 2, int(n * (target / 5) / elapsed * 1.5))
    return max(1, round(n * target / elapsed))


def _rotations(names: list[str], repeats: int) -> list[list[str]]:
    """Round r starts with library r mod len: nobody always runs first."""
    if not names:
        return []
    return [names[r % len(names):] + names[: r % len(names)] for r in range(repeats)]


def measure_row(row: Row, libraries: list[Any], cfg: Config) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for lib in libraries:
        _log(f"  {lib.name}: setup + correctness check")
        cases[lib.name] = _build(row, lib, cfg)
    if row.reference is not None:
        _log(f"  {row.reference_label} alone: setup + check")
        try:
            reference = row.reference(cfg)
            reference.verify()
            cfg.checks_passed += 1
            cases[ZlibAlone.name] = reference
        except Exception as exc:  # noqa: BLE001
            cases[ZlibAlone.name] = _failure(cfg, row, ZlibAlone.name, exc, "correctness check")

    results: dict[str, Any] = {name: value for name, value in cases.items() if isinstance(value, str)}
    live = [name for name, value in cases.items() if not isinstance(value, str)]
    best: dict[str, float] = {}

    if row.kind == "memory":
        for order in _rotations(live, cfg.mem_repeats):
            for name in order:
                if name in results:
                    continue
                gc.collect()
                try:
                    value = cases[name].measure(cfg.mem_pairs)
                except Exception as exc:  # noqa: BLE001
                    results[name] = _failure(cfg, row, name, exc, "measurement")
                    continue
                best[name] = min(best.get(name, value), value)
    else:
        iterations: dict[str, int] = {}
        for name in live:
            _log(f"  {name}: calibrating")
            try:
                iterations[name] = calibrate(cases[name], cfg.target)
            except Exception as exc:  # noqa: BLE001
                results[name] = _failure(cfg, row, name, exc, "calibration run")
        for r, order in enumerate(_rotations(live, cfg.repeats)):
            _log(f"  round {r + 1}/{cfg.repeats}: {' -> '.join(order)}")
            for name in order:
                if name in results:
                    continue
                case, n = cases[name], iterations[name]
                gc.collect()
                try:
                    elapsed = case.run(n)
                except Exception as exc:  # noqa: BLE001
                    results[name] = _failure(cfg, row, name, exc, "timed run")
                    continue
                if row.kind == "rate":
                    value = case.per_iter * n / elapsed
                    best[name] = max(best.get(name, value), value)
                else:  # time per message, in ms
                    value = 1000.0 * elapsed / n
                    best[name] = min(best.get(name, value), value)
    for name, value in best.items():
        results.setdefault(name, value)
    return results


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------


def fmt_value(value: Any, unit: str) -> str:
    if not isinstance(value, float):
        return str(value)
    if unit.startswith("%"):
        return f"{value:.0f}%" if value >= 10 else f"{value:.1f}%"
    if unit == "x":
        return f"{value:.2f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def ratio(row: Row, mine: Any, other: Any) -> float | None:
    """wsspec's advantage over ``other``: > 1 means wsspec is better."""
    if row.kind not in ("rate", "time", "memory"):
        return None
    if not isinstance(mine, float) or not isinstance(other, float) or mine <= 0 or other <= 0:
        return None
    return mine / other if row.kind == "rate" else other / mine


def bar_verdict(ratios: dict[str, float | None], row: Row) -> str:
    if row.kind not in ("rate", "time", "memory"):
        return "-"
    if any(value is None for value in ratios.values()):
        return "n/a"
    below = [name for name, value in ratios.items() if value is not None and value < BAR[name]]
    return "ok" if not below else "below " + " & ".join(below)


def build_table(rows: list[Row], results: dict[str, dict[str, Any]]) -> tuple[str, list[dict]]:
    header = ["#", "workload", "unit", *LIBRARIES, "wsspec/wsproto", "wsspec/websockets", "bar"]
    align = ["---", ":---", ":---", *["---:"] * len(LIBRARIES), "---:", "---:", ":---"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    records = []
    for row in rows:
        values = results[row.id]
        ratios = {other: ratio(row, values.get("wsspec"), values.get(other)) for other in ("wsproto", "websockets")}
        title = row.title
        if row.reference is not None and isinstance(values.get("zlib"), float):
            title += f" ({row.reference_label} alone: {fmt_value(values['zlib'], row.unit)} msg/s)"
        unit = row.unit + (" (lower is better)" if row.kind in ("time", "memory") else "")
        cells = [row.id, title, unit]
        cells += [fmt_value(values.get(name, "n/a"), row.unit) for name in LIBRARIES]
        cells += ["-" if value is None else f"{value:.2f}x" for value in ratios.values()]
        cells.append(bar_verdict(ratios, row))
        lines.append("| " + " | ".join(cells) + " |")
        records.append({
            "id": row.id, "workload": row.key, "title": row.title, "unit": row.unit, "kind": row.kind,
            "values": values, "ratios": ratios, "bar": bar_verdict(ratios, row),
        })
    return "\n".join(lines), records


# ---------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------


def profile(cfg: Config, rows: list[Row], libraries: list[Any]) -> int:
    """cProfile of one library alone on each timed row, top 15 by tottime."""
    lib = next((lib for lib in libraries if lib.name == cfg.profile), None)
    if lib is None:
        raise SystemExit(f"--profile: unknown library {cfg.profile!r}; choose from {', '.join(LIBRARIES)}")
    for row in rows:
        if row.kind not in ("rate", "time"):
            continue
        case = _build(row, lib, cfg)
        if isinstance(case, str):
            print(f"== row {row.id} ({row.key}): {case}")
            continue
        n = calibrate(case, cfg.target)
        profiler = cProfile.Profile()
        gc.collect()
        profiler.enable()
        elapsed = case.run(n)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(15)
        print(f"== {lib.name}, row {row.id} ({row.key}): {row.title}; {n} iterations, "
              f"{elapsed:.3f} s under the profiler")
        text = out.getvalue()
        text = text.replace(str(REPO) + "/", "").replace(str(Path(sys.prefix)) + "/", "")
        print(text.strip("\n"))
        print()
    return 1 if cfg.failures else 0


def settle_allocator() -> None:
    """Start every library from the allocator's steady state.

    glibc's malloc adjusts its mmap and trim thresholds the first time a large
    mmapped block is freed. Until then, and depending on heap layout, the
    1 MiB-sized buffers of rows 3 and 6 may be returned to the OS and faulted
    back in on every message: those rows were bimodal run to run (wsproto 1 MiB
    at 216 or 316 MiB/s). Freeing one 32 MiB block (glibc's maximum dynamic
    threshold) up front puts the process in the state a long-running server
    reaches anyway, for all libraries alike. Harmless on other allocators.
    """
    block = bytearray((32 << 20) - (64 << 10))
    del block


def print_correctness(cfg: Config, checks: str) -> None:
    """The closing correctness line: every failure, or how many ``checks`` passed."""
    if cfg.failures:
        print(f"correctness: FAILED ({len(cfg.failures)}):")
        for failure in cfg.failures:
            print(f"  - {failure}")
    else:
        print(f"correctness: all checks passed ({cfg.checks_passed} {checks})")


def main(cfg: Config) -> int:
    if not cfg.fresh:
        settle_allocator()
    rows = select_rows(cfg.only)
    libraries = libs_mod.load_libraries()
    if cfg.no_speedups:
        for lib in libraries:
            if lib.masking().startswith("C"):
                raise SystemExit(f"--no-speedups did not take effect for {lib.name}: {lib.masking()}")
    if cfg.profile:
        return profile(cfg, rows, libraries)

    info = machine_info()
    lines = [
        "# wsspec benchmark: wsspec vs wsproto vs websockets (Sans-I/O)",
        "",
        f"command:    {reproduce_command(cfg.argv)}",
        f"python:     {info['python']} on {info['platform']}",
        f"machine:    {info['cpu_count']} CPUs ({info['cpu_affinity']} usable), {info['cpu_model']}",
        f"zlib:       {info['zlib']}",
    ]
    for lib in libraries:
        extra = f" (git {info['wsspec_git']})" if lib.name == "wsspec" else ""
        lines.append(f"{lib.name + ':':<12}{lib.version}{extra}; masking: {lib.masking()}")
    speedups = "forced off (--no-speedups)" if cfg.no_speedups else "as installed"
    if cfg.buffers:
        from . import buffers

        lines.append(f"settings:   C speedups {speedups}")
        return buffers.main(cfg, lines, libraries)
    if cfg.fresh:
        from . import fresh

        lines.append(f"settings:   memory: {cfg.mem_pairs} pairs; C speedups {speedups}")
        return fresh.main(cfg, lines)
    lines.append(f"settings:   best of {cfg.repeats} round-robin samples of ~{cfg.target:g} s per library; "
                 f"memory: {cfg.mem_pairs} pairs, best of {cfg.mem_repeats}; C speedups {speedups}; "
                 "allocator settled (one 32 MiB block freed first)")
    for line in lines:
        print(line)
    print(flush=True)

    results: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.kind == "derived":
            results[row.id] = row.derive(results)  # type: ignore[misc]
            continue
        _log(f"[row {row.id}] {row.key}: {row.title.strip()}")
        results[row.id] = measure_row(row, libraries, cfg)

    table, records = build_table(rows, results)
    print(table)
    print()
    print("Ratios are wsspec's advantage: rate / rate, or for ms and bytes the other library's cost /")
    print("wsspec's, so above 1.00x wsspec is better. Bar (issue 6): >= 2x wsproto and >= 1x websockets.")
    print("Text is str in and out for every library (websockets' Sans-I/O layer works in bytes, so its")
    print("loops encode and decode UTF-8 as its own I/O layers do). Rows 4 and 6 iterate over fixed")
    print("message sequences (seeded), the same for every library.")
    print()
    print_correctness(cfg, "library/workload checks")

    if cfg.json_path:
        payload = {
            "command": reproduce_command(cfg.argv), "machine": info,
            "libraries": {lib.name: {"version": lib.version, "masking": lib.masking()} for lib in libraries},
            "settings": {"repeats": cfg.repeats, "target_s": cfg.target, "mem_pairs": cfg.mem_pairs,
                         "mem_repeats": cfg.mem_repeats, "no_speedups": cfg.no_speedups},
            "rows": records, "failures": cfg.failures,
        }
        Path(cfg.json_path).write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return 1 if cfg.failures else 0
