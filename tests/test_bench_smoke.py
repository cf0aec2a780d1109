"""Smoke test of the benchmark command (issue 6): it runs, prints every row
and column, and every library passes the correctness checks. Speed is not
asserted: a CI machine is too noisy for that."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROW_IDS = ["1", "2", "3", "4", "4z", "4-ng", "4z-ng", "4-isal", "4z-isal", "5", "6", "7a", "7b", "7c", "8a", "8b",
           "9", "10"]
LIBRARIES = ["wsspec", "wsproto", "websockets"]
COLUMNS = ["#", "workload", "unit", *LIBRARIES, "wsspec/wsproto", "wsspec/websockets", "bar"]
# Rows where a library may not negotiate permessage-deflate (yet).
DEFLATE_ROWS = {"4", "4z", "4-ng", "4-isal", "8b"}
# The share of zlib-ng / ISA-L alone: wsspec only (the others have only the standard zlib).
WSSPEC_ONLY_ROWS = {"4z-ng", "4z-isal"}
NUMBER = re.compile(r"^[0-9][0-9,]*(\.[0-9]+)?%?$")


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.bench", *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
    )


def _table(stdout: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    assert len(lines) >= 2, stdout
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == len(header), line
        rows[cells[0]] = dict(zip(header, cells))
    return header, rows


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    json_path = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = _run("--quick", "--json", str(json_path))
    data = json.loads(json_path.read_text()) if json_path.exists() else {}
    return proc, data


def test_quick_run_passes_correctness_checks(quick_run) -> None:
    proc, data = quick_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "correctness: all checks passed" in proc.stdout, proc.stdout
    assert "FAIL" not in proc.stdout
    assert data["failures"] == []


def test_quick_run_prints_every_row_and_column(quick_run) -> None:
    proc, _data = quick_run
    header, rows = _table(proc.stdout)
    assert header == COLUMNS
    assert list(rows) == ROW_IDS
    for row_id, row in rows.items():
        for lib in LIBRARIES:
            cell = row[lib]
            if row_id in DEFLATE_ROWS and cell == "n/a (not negotiated)":
                continue
            if row_id in WSSPEC_ONLY_ROWS and lib != "wsspec":
                assert cell == "n/a", f"row {row_id}, {lib}: {cell!r}"
                continue
            assert NUMBER.match(cell), f"row {row_id}, {lib}: {cell!r}"


def test_quick_run_prints_how_to_reproduce_and_the_machine(quick_run) -> None:
    proc, _data = quick_run
    assert "-m tests.bench --quick" in proc.stdout
    assert "python:" in proc.stdout and "CPUs" in proc.stdout
    for lib in LIBRARIES:
        assert re.search(rf"^{lib}:.*masking: ", proc.stdout, re.MULTILINE), lib


def test_no_speedups_forces_pure_python_masking() -> None:
    proc = _run("--quick", "--no-speedups", "--only", "send-small")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "masking: pure Python (websockets.utils.apply_mask)" in proc.stdout
    assert "masking: C" not in proc.stdout
    _header, rows = _table(proc.stdout)
    assert list(rows) == ["2"]
