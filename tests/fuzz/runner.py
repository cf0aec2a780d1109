"""
The seeded fuzz loop: input ``index`` of ``seed`` is always the same input,
so a run can be repeated, and any failing input is also written out whole
(JSON) with a replay command.

Families, by ``index % 20``: 0-11 an open Connection (:mod:`.cases`),
12-15 the opening handshake (:mod:`.hs`), 16-18 round trips through the
library's own sender (:mod:`.roundtrip`), 19 ``send()`` misuse (:mod:`.sending`).

Memory is measured (tracemalloc, which slows a run several times) on every
20th input, on every input of 64 KiB or more and on every inflation bomb;
time on all the others.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from . import cases as C
from . import check as K
from . import hs as H
from . import roundtrip as R
from . import sending as S

FINDINGS_DIR = Path(__file__).resolve().parent / "findings"
MEASURE_EVERY = 20
LARGE = 64 * 1024
MAX_FILES_PER_SIGNATURE = 3


def family(index: int) -> str:
    slot = index % 20
    return "conn" if slot < 12 else "hs" if slot < 16 else "roundtrip" if slot < 19 else "send"


def gen_case(seed: int, index: int) -> Any:
    fam = family(index)
    if fam == "conn":
        return C.gen_conn_case(seed, index)
    if fam == "hs":
        return H.gen_hs_case(seed, index)
    if fam == "send":
        return S.gen_send_case(seed, index)
    return R.gen_roundtrip_case(seed, index)


def should_measure(case: Any) -> bool:
    return case.index % MEASURE_EVERY == 0 or len(case.wire) >= LARGE or "bomb" in case.category


def run_case(case: Any, *, measure_memory: bool | None = None) -> tuple[list[str], dict[str, Any]]:
    measure = should_measure(case) if measure_memory is None else measure_memory
    if case.kind == "hs":
        return H.run_hs_case(case, measure_memory=measure)
    if case.kind == "send":
        return S.run_send_case(case)
    return K.run_conn_case(case, measure_memory=measure)


#: A problem that is only about wall-clock time ("... took 455.9 ms > 250.7 ms").
_TIMING_PROBLEM = re.compile(r" took [\d.]+ m?s > [\d.]+ m?s")
#: How often a case whose only problems are timing ones is run again: it is a
#: finding only if it is slow every time (a real hang or quadratic path is; a
#: process descheduled on a loaded machine is not).
TIMING_RETRIES = 2


def only_timing(problems: list[str]) -> bool:
    return bool(problems) and all(_TIMING_PROBLEM.search(problem) for problem in problems)


def case_from_json(data: dict[str, Any]) -> Any:
    kind = data.get("kind")
    if kind == "hs":
        return H.HsCase.from_json(data)
    if kind == "send":
        return S.SendCase.from_json(data)
    return C.ConnCase.from_json(data)


def signature(category: str, problem: str) -> str:
    """Groups findings: the input family and the problem, without quoted text or
    numbers other than close codes (1000-4999)."""
    base = category.split("/")[0]
    if base in ("server", "client"):
        base = "conn"
    if base == "send":
        problem = re.sub(r"^op \d+: ", "", problem)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", problem)
    text = re.sub(r"\d+(\.\d+)?", lambda m: m.group() if 1000 <= float(m.group()) <= 4999 and "." not in m.group()
                  else "#", text)
    return f"{base} :: {text[:120]}"


class Fuzzer:
    """One seeded loop; :meth:`run` until a time budget is spent."""

    def __init__(self, seed: int, *, findings_dir: Path | None | str = "default", job: int = 0,
                 out: Callable[[str], None] | None = None, gen: Callable[[int, int], Any] | None = None,
                 runner: Callable[..., tuple[list[str], dict[str, Any]]] | None = None) -> None:
        self.seed = seed
        self.job = job
        # "default": tests/fuzz/findings (looked up at run time); None: write nothing.
        self.findings_dir = FINDINGS_DIR if findings_dir == "default" else findings_dir
        self.out = out or (lambda line: print(line, flush=True))
        self.gen = gen
        self.runner = runner
        self.count = 0
        self.counts: Counter[str] = Counter()
        self.violations: Counter[str] = Counter()
        self.signatures: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.files: list[str] = []
        self.measured = 0
        self.max_peak_ratio = 0.0
        self.bytes = 0
        self.timing_noise = 0  # timing-only problems that did not repeat (see TIMING_RETRIES)

    @property
    def findings(self) -> int:
        return sum(self.signatures.values())

    def record(self, case: Any, problems: list[str]) -> None:
        sig = signature(case.category, problems[0])
        self.signatures[sig] += 1
        first = sig not in self.examples
        self.examples.setdefault(sig, f"seed {case.seed} index {case.index}: {problems[0]}")
        if self.findings_dir is None or self.signatures[sig] > MAX_FILES_PER_SIGNATURE:
            return
        self.findings_dir.mkdir(parents=True, exist_ok=True)
        path = self.findings_dir / f"{case.seed}-{case.index}.json"
        try:
            data = case.to_json()
        except Exception:  # noqa: BLE001 - a generator finding without a case
            data = None
        path.write_text(json.dumps({
            "seed": case.seed, "index": case.index, "category": case.category,
            "problems": problems, "signature": sig, "case": data,
            "replay": f"python -m tests.fuzz --replay {path}",
        }, indent=1))
        self.files.append(str(path))
        if first:
            self.out(f"[job {self.job}] FINDING {sig}\n    {problems[0]}\n    "
                     f"replay: python -m tests.fuzz --replay {path}")

    def one(self, index: int) -> None:
        try:
            case = (self.gen or gen_case)(self.seed, index)
        except R.SenderError as exc:
            case = _Stub(self.seed, index, f"roundtrip/{family(index)}/sender")
            self.record(case, [str(exc)])
            return
        except Exception as exc:  # noqa: BLE001 - a harness bug, but do not hide it
            case = _Stub(self.seed, index, f"harness/{family(index)}/generator")
            self.record(case, [f"generator crashed: {type(exc).__name__}: {exc}"])
            return
        self.counts[case.category.split(":")[0]] += 1
        if ":" in case.category:
            self.violations[case.category.split(":")[1]] += 1
        self.bytes += len(case.wire)
        try:
            problems, stats = (self.runner or run_case)(case)
        except Exception as exc:  # noqa: BLE001
            problems, stats = [f"harness crashed: {type(exc).__name__}: {exc}"], {}
        if "peak" in stats:
            self.measured += 1
            bound = K.mem_bound(len(case.wire), case.max_message_size)
            self.max_peak_ratio = max(self.max_peak_ratio, stats["peak"] / bound)
        if only_timing(problems):
            for _ in range(TIMING_RETRIES):
                again, _stats = (self.runner or run_case)(case, measure_memory=False)
                if not only_timing(again):
                    problems = again  # no timing problem this time (or another problem: report that)
                    if not again:
                        self.timing_noise += 1
                    break
        if problems:
            self.record(case, problems)

    def run(self, seconds: float, *, start_index: int = 0, progress_every: float = 10.0,
            max_inputs: int | None = None) -> None:
        begin = time.monotonic()
        deadline = begin + seconds
        next_report = begin + progress_every
        index = start_index
        while True:
            now = time.monotonic()
            if now >= deadline or (max_inputs is not None and self.count >= max_inputs):
                break
            if now >= next_report:
                elapsed = now - begin
                self.out(f"[job {self.job}] {elapsed:6.0f} s  {self.count} inputs  "
                         f"{self.count / elapsed:.0f}/s  findings {self.findings} "
                         f"({len(self.signatures)} kinds)")
                next_report = now + progress_every
            self.one(index)
            index += 1
            self.count += 1
        self.elapsed = time.monotonic() - begin

    def summary(self) -> dict[str, Any]:
        return {"seed": self.seed, "count": self.count, "elapsed": getattr(self, "elapsed", 0.0),
                "counts": dict(self.counts), "violations": dict(self.violations), "signatures": dict(self.signatures), "examples": self.examples,
                "files": self.files, "measured": self.measured, "max_peak_ratio": self.max_peak_ratio,
                "bytes": self.bytes, "timing_noise": self.timing_noise}


class _Stub:
    def __init__(self, seed: int, index: int, category: str) -> None:
        self.seed, self.index, self.category = seed, index, category
        self.wire = b""

    def to_json(self) -> None:
        return None


def _job(seed: int, seconds: float, job: int, queue: Any) -> None:
    fuzzer = Fuzzer(seed, job=job)
    fuzzer.run(seconds)
    queue.put(fuzzer.summary())


def fuzz(seconds: float, seed: int, jobs: int = 1) -> list[dict[str, Any]]:
    """Run ``jobs`` loops (seeds ``seed``, ``seed + 1``, ...) for ``seconds``; their summaries."""
    if jobs <= 1:
        fuzzer = Fuzzer(seed)
        fuzzer.run(seconds)
        return [fuzzer.summary()]
    ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_job, args=(seed + j, seconds, j, queue)) for j in range(jobs)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return sorted(results, key=lambda r: r["seed"])


def replay(path: str) -> int:
    """Re-run a finding file; prints the problems; 1 if it still fails."""
    data = json.loads(Path(path).read_text())
    print(f"finding: seed {data['seed']} index {data['index']} ({data['category']})")
    for problem in data["problems"]:
        print(f"  recorded: {problem}")
    if data.get("case") is None:
        case = gen_case(data["seed"], data["index"])
    else:
        case = case_from_json(data["case"])
        if case.kind == "send":
            print(f"  {case.side} {'with' if case.pmd else 'without'} permessage-deflate sends: "
                  + "; ".join(f"{op[0]}({str(op[1])[:30]!s})" for op in case.ops))
        else:
            print(f"  input: {len(case.wire)} bytes, {len(case.ends)} pieces, eof={case.eof}, note={case.note!r}")
            print(f"  wire (first 200 bytes): {case.wire[:200].hex()}")
    failed = False
    for measure in (False, True):
        problems, stats = run_case(case, measure_memory=measure)
        label = "with tracemalloc" if measure else "timed"
        if problems:
            failed = True
            print(f"  now ({label}):")
            for problem in problems:
                print(f"    {problem}")
        else:
            print(f"  now ({label}): passes")
    return 1 if failed else 0


def main_env_seed() -> int:
    return int(os.environ.get("WSSPEC_FUZZ_SEED", "1"))
