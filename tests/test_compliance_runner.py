"""
tests/compliance/run without the testsuite itself: its arguments, the CI
selection, the summary and verdict it draws from a report, and its answer
when Python 2.7 is missing. (The real Autobahn|Testsuite run is the command
itself; it needs Python 2.7 and takes minutes.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "tests" / "compliance" / "run"


def _load_runner():
    spec = importlib.util.spec_from_file_location("compliance_runner", ROOT / "tests" / "compliance" / "runner.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


def _write_index(path: Path, results: dict[str, tuple[str, str]]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    index = {runner.AGENT: {
        case: {"behavior": behavior, "behaviorClose": close, "duration": 1, "remoteCloseCode": 1000,
               "reportfile": f"wsspec_case_{case.replace('.', '_')}.json"}
        for case, (behavior, close) in results.items()
    }}
    (path / "index.json").write_text(json.dumps(index))
    return path / "index.json"


def test_summary_counts_each_result_and_accepts_informational(tmp_path: Path) -> None:
    index = _write_index(tmp_path, {"1.1.1": ("OK", "OK"), "7.1.6": ("INFORMATIONAL", "INFORMATIONAL"),
                                    "7.13.1": ("INFORMATIONAL", "OK"), "10.1.1": ("OK", "OK")})
    summary = runner.summarize(index, "server side")
    assert summary.good and (summary.passed, summary.failed) == (4, 0)
    lines = summary.lines
    assert lines[0] == "server side: 4 cases"
    assert lines[1].split(None, 1)[1] == "OK 2, NON-STRICT 0, INFORMATIONAL 2, UNIMPLEMENTED 0, FAILED 0"
    assert lines[2].split(None, 1)[1] == "OK 3, NON-STRICT 0, INFORMATIONAL 1, UNIMPLEMENTED 0, FAILED 0"
    listed = [line.split()[0] for line in lines[4:]]
    assert listed == ["7.1.6", "7.13.1"]  # the cases not OK, in case order
    assert all("acceptable" in line for line in lines[4:])


@pytest.mark.parametrize("bad", [("NON-STRICT", "OK"), ("UNIMPLEMENTED", "OK"), ("OK", "FAILED"),
                                 ("OK", "WRONG CODE"), ("FAILED", "UNCLEAN")])
def test_summary_fails_anything_worse_than_ok_or_informational(tmp_path: Path, bad: tuple[str, str]) -> None:
    index = _write_index(tmp_path, {"1.1.1": ("OK", "OK"), "6.4.1": bad})
    summary = runner.summarize(index, "client side")
    assert not summary.good and (summary.passed, summary.failed) == (1, 1)
    lines = summary.lines
    assert any(line.split()[0] == "6.4.1" and line.split()[-2] == "FAIL" for line in lines)
    if bad[1] not in runner.RESULTS:  # results outside the five are counted too
        assert f"{bad[1]} 1" in lines[2]


def test_summary_without_report_or_agent_fails(tmp_path: Path) -> None:
    assert not runner.summarize(tmp_path / "missing.json", "server side").good
    other = tmp_path / "index.json"
    other.write_text(json.dumps({"someone-else": {}}))
    assert not runner.summarize(other, "server side").good


def test_ci_selection_is_sections_1_to_10_and_exact_deflate_cases() -> None:
    cases = runner.CI_CASES
    assert [case for case in cases if "*" in case] == [f"{n}.*" for n in range(1, 11)]
    deflate = [case for case in cases if "*" not in case]
    assert len(deflate) == len(set(deflate)) == (5 + 7) * len(runner.CI_DEFLATE_SUBCASES)
    assert {case.split(".")[0] for case in deflate} == {"12", "13"}
    assert runner.parse_args(["--ci"]).case_list == cases


def test_backend_selection_and_argument() -> None:
    args = runner.parse_args(["--ci-backend", "--zlib-backend", "isal"])
    assert args.zlib_backend == "isal"
    assert args.case_list == runner.CI_BACKEND_CASES
    assert len(set(args.case_list)) == (5 + 7) * len(runner.CI_BACKEND_SUBCASES)
    assert all(case.split(".")[0] in ("12", "13") and "*" not in case for case in args.case_list)
    assert runner.parse_args([]).zlib_backend == "zlib"
    for bad in (["--zlib-backend", "gzip"], ["--ci", "--ci-backend"]):
        with pytest.raises(SystemExit) as exc:
            runner.parse_args(bad)
        assert exc.value.code == runner.EXIT_USAGE


def test_arguments() -> None:
    args = runner.parse_args(["--cases", "1.*, 2.*,9.1.1", "--side", "client"])
    assert (args.case_list, args.side) == (["1.*", "2.*", "9.1.1"], "client")
    assert runner.parse_args([]).case_list == ["*"]
    for bad in (["--cases", "1.*;rm"], ["--cases", ","], ["--side", "neither"], ["--ci", "--cases", "1.*"],
                ["--cache", str(ROOT / "build")]):
        with pytest.raises(SystemExit) as exc:
            runner.parse_args(bad)
        assert exc.value.code == runner.EXIT_USAGE


def test_missing_python27_exits_3_and_says_how_to_get_it(tmp_path: Path) -> None:
    env = dict(os.environ, WSSPEC_AUTOBAHN_CACHE=str(tmp_path / "cache"))
    result = subprocess.run([str(RUN), "--python27", str(tmp_path / "no-python2.7"), "--cases", "1.1.1"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == runner.EXIT_NO_PYTHON27 == 3
    assert "Python 2.7" in result.stderr and "pyenv install 2.7.18" in result.stderr
    assert not (tmp_path / "cache").exists()  # nothing was installed


def test_summary_fails_when_cases_are_missing_from_the_report(tmp_path: Path) -> None:
    index = _write_index(tmp_path, {"1.1.1": ("OK", "OK"), "1.1.2": ("OK", "OK")})
    assert runner.summarize(index, "server side", expected=2).good
    summary = runner.summarize(index, "server side", expected=3)
    assert not summary.good and (summary.passed, summary.failed) == (2, 1)
    assert "MISSING: 3 cases were run, 2 reported" in summary.lines[1]
