"""Smoke tests of the benchmark's issue-13 modes, each in its quickest form:
``--fresh`` (one interpreter per cell), ``--buffers`` (full-size buffers per
1 MiB message) and ``python -m tests.bench.e2e`` (uvicorn end to end). They
check the output's shape and that the correctness checks ran and passed;
speed is never asserted (a CI machine is too noisy for that)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import wsspec

REPO = Path(__file__).resolve().parents[1]
LIBRARIES = ["wsspec", "wsproto", "websockets"]
NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"
BEST_SPREAD = re.compile(rf"^{NUMBER} \({NUMBER}–{NUMBER}\)$")
RATIO = re.compile(rf"^{NUMBER}x$")


def _run(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
    )


def _tables(stdout: str) -> list[list[dict[str, str]]]:
    """Every markdown table in ``stdout``, as lists of row dicts."""
    tables: list[list[dict[str, str]]] = []
    header: list[str] | None = None
    for line in stdout.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            tables.append([])
        elif set(line) <= set("|-: "):
            continue
        else:
            assert len(cells) == len(header), line
            tables[-1].append(dict(zip(header, cells)))
    return tables


def test_fresh_mode_reports_best_spread_and_ratios_per_cell() -> None:
    proc = _run("tests.bench", "--fresh", "--quick", "--repeat", "2", "--only", "9,10")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "own new interpreter" in proc.stdout
    (table,) = _tables(proc.stdout)
    assert [row["#"] for row in table] == ["9", "10"]
    for row in table:
        for lib in LIBRARIES:
            assert BEST_SPREAD.match(row[f"{lib} best (min–max)"]), (lib, row)
        assert RATIO.match(row["wsspec/wsproto"]) and RATIO.match(row["wsspec/websockets"]), row
    # one correctness check per fresh process: 2 rows x 3 libraries x 2 processes
    assert "correctness: all checks passed (12 checks, one per fresh process)" in proc.stdout
    assert proc.stderr.count("one fresh process each") == 4


def test_fresh_mode_passes_no_speedups_to_every_child() -> None:
    proc = _run("tests.bench", "--fresh", "--quick", "--no-speedups", "--repeat", "1", "--only", "send-small")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "masking: C" not in proc.stdout
    (table,) = _tables(proc.stdout)
    assert [row["#"] for row in table] == ["2"]
    assert "correctness: all checks passed (3 checks" in proc.stdout


def test_fresh_baseline_mode_measures_this_tree_against_a_git_ref() -> None:
    """--baseline REF: wsspec exported at REF (here HEAD) alternates with this tree; the child
    proves it imported the exported copy (or the cell fails)."""
    proc = _run("tests.bench", "--fresh", "--quick", "--baseline", "HEAD", "--repeat", "2", "--only", "recv-small")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "baseline:   wsspec at HEAD (exported to " in proc.stdout
    (table,) = _tables(proc.stdout)
    (row,) = table
    assert BEST_SPREAD.match(row["wsspec best (min–max)"]), row
    assert BEST_SPREAD.match(row["wsspec@HEAD best (min–max)"]), row
    assert RATIO.match(row["wsspec/wsspec@HEAD"]), row
    assert "wsproto best (min–max)" not in row
    assert "correctness: all checks passed (4 checks, one per fresh process)" in proc.stdout


def test_buffers_mode_counts_full_size_buffers_per_direction() -> None:
    proc = _run("tests.bench", "--buffers")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (table,) = _tables(proc.stdout)
    seen = {(row["library"], row["direction"]) for row in table}
    directions = ["send", "receive (whole frame)", "receive (64 KiB reads)"]
    assert seen == {(lib, d) for lib in LIBRARIES for d in directions}
    for row in table:
        count = int(row["full-size allocations (lower bound)"])
        left = float(row["left allocated / size"])
        peak = float(row["peak extra / size"])
        # Each operation hands back one message's worth (the wire bytes or the payload) ...
        assert 0.95 <= left <= 1.2, row
        assert peak >= left - 0.01, row
        if row["direction"] != "receive (64 KiB reads)":
            # ... which no library can produce without at least one new full-size buffer
            # (masking never happens in the caller's bytes), and the count names where.
            assert count >= 1 and row["where (count)"] != "-", row
    assert "correctness: all checks passed (9 library/direction checks)" in proc.stdout
    assert "lower bound" in proc.stdout


def test_e2e_quick_run_against_three_uvicorn_servers() -> None:
    proc = _run("tests.bench.e2e", "--quick", "--only", "text-16,json-1k-deflate", timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cpu, bottleneck = _tables(proc.stdout)
    assert [row["workload"] for row in cpu] == ["text-16", "json-1k-deflate"]
    for row in cpu:
        for config in ("wsspec", "wsproto", "websockets-sansio"):
            assert re.match(rf"^{NUMBER}$", row[config]), row
        assert RATIO.match(row["wsspec/wsproto"]) and RATIO.match(row["wsspec/websockets-sansio"]), row
    assert len(bottleneck) == 6
    for row in bottleneck:
        assert re.match(rf"^{NUMBER}–{NUMBER}%$", row["load gen CPU % of wall"]), row
    # The servers really were wsspec (via install_as_wsproto), wsproto and websockets-sansio.
    build = wsspec.BUILD  # the server runs the build this process does (same environment)
    assert (f"servers: wsspec: wsproto module wsspec ({build} build), wsproto_impl; wsproto: wsproto module "
            "wsproto, wsproto_impl; websockets-sansio: wsproto module None, websockets_sansio_impl") in proc.stdout
    assert re.search(r"permessage-deflate, wsspec: server answered 'permessage-deflate", proc.stdout)
    assert re.search(r"correctness: all checks passed \(18 echoes decoded and compared", proc.stdout)
    assert "load generator: CPU per message below the server's in" in proc.stdout
