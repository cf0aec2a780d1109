"""
``python -m tests.bench --fresh``: every library x workload in its own new interpreter.

The default mode runs the three libraries in one warm process, alternating.
That is fair between them, but it is not how anyone runs a library: a server
process imports one WebSocket library, its heap and the allocator's state
are its own, and nothing else warmed the caches. Here each *cell* (one
library, one workload) is measured in a fresh ``python -m tests.bench.fresh
--cell ...`` subprocess that imports only that library, builds the case
through the real handshake, runs the same correctness check as the warm
mode, calibrates (which doubles as warm-up: a long-running server is warm
too), takes **one** timed sample and prints it as one JSON line. The parent
runs the cells round-robin (wsspec, wsproto, websockets, wsspec, ...; the
order rotates every round), ``repeat`` processes per cell, and reports the
best and the spread (min-max) of each cell, and the ratios of the bests.

Unlike the warm mode the children do *not* settle the allocator first
(``runner.settle_allocator``): a fresh process starts from glibc's initial
thresholds, as a freshly started server does. ``--no-speedups`` is passed
on to every child, which blocks the compiled maskers before importing its
library, exactly as the warm mode does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from .workloads import ROWS, Row

CHILD_TIMEOUT = 180.0  # seconds; a cell that takes longer is reported as FAIL


# ---------------------------------------------------------------------------
# the child: one library, one workload, one sample
# ---------------------------------------------------------------------------


def _load_one(name: str) -> Any:
    from . import libs

    if name == "websockets":
        return libs.Websockets()
    return libs.WsprotoFamily(name)


def child_main(argv: list[str]) -> int:
    """Measure one cell and print ``{"status": ..., "value": ...}`` as the last line."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench.fresh")
    parser.add_argument("--cell", nargs=2, metavar=("ROW", "LIB"), required=True)
    parser.add_argument("--target", type=float, required=True)
    parser.add_argument("--mem-pairs", type=int, required=True)
    parser.add_argument("--no-speedups", action="store_true")
    args = parser.parse_args(argv)
    row_id, lib_name = args.cell
    if args.no_speedups:
        from .libs import block_speedups

        block_speedups()  # before the library is imported
    from . import libs
    from .runner import calibrate

    row = next(row for row in ROWS if row.id == row_id)
    out: dict[str, Any] = {"row": row_id, "lib": lib_name}
    t_start = time.perf_counter()
    try:
        if lib_name == "zlib":
            if row.reference is None:
                raise SystemExit(f"row {row_id} has no zlib reference")
            case = row.reference(args)
            out["masking"] = "-"
        else:
            lib = _load_one(lib_name)
            out["version"] = lib.version
            out["module_file"] = getattr(sys.modules.get(lib_name), "__file__", None)
            out["masking"] = lib.masking()
            case = row.make(lib, args)  # type: ignore[misc]
        case.verify()
        out["checks_passed"] = 1
        if row.kind == "memory":
            out["value"] = float(case.measure(args.mem_pairs))
        else:
            n = calibrate(case, args.target)
            elapsed = case.run(n)
            out["iterations"] = n
            out["value"] = case.per_iter * n / elapsed if row.kind == "rate" else 1000.0 * elapsed / n
        out["status"] = "ok"
    except libs.NotNegotiated as exc:
        out.update(status="n/a", detail=str(exc))
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        out.update(status="FAIL", detail=f"{type(exc).__name__}: {exc}")
    out["child_seconds"] = time.perf_counter() - t_start
    print(json.dumps(out), flush=True)
    return 0


# ---------------------------------------------------------------------------
# the parent: round-robin over fresh processes
# ---------------------------------------------------------------------------


#: The library name of the baseline tree in --baseline mode (wsspec imported from an exported old commit).
BASELINE = "baseline"


def export_baseline(ref: str) -> str:
    """Export wsspec as it was at git ``ref`` into a temporary folder laid out as the
    installed package (``runtime/`` -> ``wsspec``, ``generated/`` -> ``wsspec/_generated``);
    returns the folder to put first on ``PYTHONPATH``."""
    import io
    import tarfile
    import tempfile

    from .runner import REPO

    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "runtime", "generated"],
                             capture_output=True, check=True, timeout=60).stdout
    root = tempfile.mkdtemp(prefix="wsspec-baseline-")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    os.rename(os.path.join(root, "runtime"), os.path.join(root, "wsspec"))
    os.rename(os.path.join(root, "generated"), os.path.join(root, "wsspec", "_generated"))
    return root


def run_cell(row: Row, lib: str, cfg: Any) -> dict[str, Any]:
    """One fresh interpreter for one cell; its JSON line, or a FAIL record."""
    env = None
    if lib == BASELINE:
        env = {**os.environ, "PYTHONPATH": cfg.baseline_dir}
        lib = "wsspec"
    cmd = [sys.executable, "-m", "tests.bench.fresh", "--cell", row.id, lib,
           "--target", repr(cfg.target), "--mem-pairs", str(cfg.mem_pairs)]
    if cfg.no_speedups:
        cmd.append("--no-speedups")
    from .runner import REPO

    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False,
                              env=env)
    except subprocess.TimeoutExpired:
        return {"status": "FAIL", "detail": f"child timed out after {CHILD_TIMEOUT:g} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": "FAIL", "detail": f"child exit {proc.returncode}: {tail}"}
    record: dict[str, Any] = json.loads(lines[-1])
    if env is not None and record.get("status") == "ok":
        where = str(record.get("module_file") or "")
        if not where.startswith(cfg.baseline_dir):
            return {"status": "FAIL", "detail": f"the baseline child imported wsspec from {where}"}
    return record


def measure_row(row: Row, cfg: Any, libraries: list[str]) -> dict[str, Any]:
    """``{lib: {"best", "min", "max", "samples"} or status string}`` for one row."""
    from .runner import _log, _rotations

    names = list(libraries) + (["zlib"] if row.reference is not None else [])
    samples: dict[str, list[float]] = {name: [] for name in names}
    status: dict[str, str] = {}
    for r, order in enumerate(_rotations(names, cfg.repeats)):
        _log(f"  round {r + 1}/{cfg.repeats}: {' -> '.join(order)} (one fresh process each)")
        for name in order:
            if name in status:
                continue
            record = run_cell(row, name, cfg)
            if record["status"] == "ok":
                samples[name].append(record["value"])
                cfg.checks_passed += record.get("checks_passed", 0)
                masking = record.get("masking", "-")
                if cfg.no_speedups and masking.startswith("C"):
                    status[name] = "FAIL"
                    cfg.failures.append(f"row {row.id} / {name}: --no-speedups did not reach the child: {masking}")
            elif record["status"] == "n/a":
                _log(f"  {name}: permessage-deflate n/a: {record.get('detail')}")
                status[name] = "n/a (not negotiated)"
            else:
                status[name] = "FAIL"
                cfg.failures.append(f"row {row.id} ({row.key}) / {name}: {record.get('detail')}")
    out: dict[str, Any] = {}
    for name in names:
        if name in status:
            out[name] = status[name]
            continue
        values = samples[name]
        best = max(values) if row.kind == "rate" else min(values)
        out[name] = {"best": best, "min": min(values), "max": max(values), "samples": values}
    return out


def _best(cell: Any) -> Any:
    return cell["best"] if isinstance(cell, dict) else cell


def fmt_cell(cell: Any, row: Row) -> str:
    from .runner import fmt_value

    if not isinstance(cell, dict):
        return str(cell)
    if len(cell["samples"]) < 2:
        return fmt_value(cell["best"], row.unit)
    return f"{fmt_value(cell['best'], row.unit)} ({fmt_value(cell['min'], row.unit)}–{fmt_value(cell['max'], row.unit)})"


def main(cfg: Any, header_lines: list[str]) -> int:
    from .runner import LIBRARIES, _log, print_correctness, ratio, select_rows

    rows = select_rows(cfg.only)
    for line in header_lines:
        print(line)
    print(f"mode:       --fresh: every cell in its own new interpreter (only that library imported), "
          f"{cfg.repeats} processes per cell, round-robin; each: correctness check, calibration "
          f"(= warm-up), one ~{cfg.target:g} s sample; allocator NOT settled")
    print(flush=True)

    libraries = list(LIBRARIES)
    if cfg.baseline:
        cfg.baseline_dir = export_baseline(cfg.baseline)
        libraries = ["wsspec", BASELINE]
        print(f"baseline:   wsspec at {cfg.baseline} (exported to {cfg.baseline_dir}) against this tree; "
              "the two alternate, each cell in its own interpreter")
        print(flush=True)
    results: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    for row in rows:
        if row.kind == "derived":
            plain = {row_id: {lib: _best(cell) for lib, cell in cells.items()} for row_id, cells in results.items()}
            results[row.id] = row.derive(plain)  # type: ignore[misc]
            continue
        _log(f"[row {row.id}] {row.key}: {row.title.strip()}")
        results[row.id] = measure_row(row, cfg, libraries)

    others = [lib for lib in libraries if lib != "wsspec"]
    names = {BASELINE: f"wsspec@{cfg.baseline}"}
    header = ["#", "workload", "unit", *(f"{names.get(lib, lib)} best (min–max)" for lib in libraries),
              *(f"wsspec/{names.get(lib, lib)}" for lib in others)]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---", ":---", ":---", *["---:"] * (len(libraries) + len(others))]) + "|")
    records = []
    for row in rows:
        cells = results[row.id]
        ratios = {other: ratio(row, _best(cells.get("wsspec")), _best(cells.get(other)))
                  for other in others}
        title = row.title
        if row.reference is not None and isinstance(cells.get("zlib"), dict):
            title += f" ({row.reference_label} alone: {fmt_cell(cells['zlib'], row)} msg/s)"
        unit = row.unit + (" (lower is better)" if row.kind in ("time", "memory") else "")
        line = [row.id, title, unit]
        line += [fmt_cell(cells.get(lib, "n/a"), row) if row.kind != "derived"
                 else fmt_cell_derived(cells.get(lib, "n/a"), row) for lib in libraries]
        line += ["-" if value is None else f"{value:.2f}x" for value in ratios.values()]
        print("| " + " | ".join(line) + " |")
        records.append({"id": row.id, "workload": row.key, "title": row.title, "unit": row.unit,
                        "kind": row.kind, "cells": cells, "ratios": ratios})
    print()
    print("Each cell: the best of its fresh processes, then (min–max) over them. Ratios compare the")
    print("bests and are wsspec's advantage (above 1.00x wsspec is better). Derived rows use the bests.")
    print(f"{len(rows)} rows in {time.perf_counter() - t0:.0f} s.")
    print()
    print_correctness(cfg, "checks, one per fresh process")
    if cfg.json_path:
        from pathlib import Path

        payload = {"mode": "fresh", "settings": {"repeats": cfg.repeats, "target_s": cfg.target,
                                                 "mem_pairs": cfg.mem_pairs, "no_speedups": cfg.no_speedups},
                   "rows": records, "failures": cfg.failures}
        Path(cfg.json_path).write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return 1 if cfg.failures else 0


def fmt_cell_derived(value: Any, row: Row) -> str:
    from .runner import fmt_value

    return fmt_value(value, row.unit)


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
