"""
``python -m tests.fuzz [--seconds N] [--seed S] [--jobs J]``: fuzz wsspec
until the time budget is spent; ``python -m tests.fuzz --replay FILE``:
re-run one recorded finding.

Run from the repository root. Progress goes to stdout every 10 s; failing
inputs are written to tests/fuzz/findings/ (gitignored) with their replay
command. Exit status 1 on any finding, 0 otherwise; the last line says how
many inputs ran.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from .runner import TIMING_RETRIES, fuzz, main_env_seed, replay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--seed", type=int, default=main_env_seed(),
                        help="seed; job j uses seed + j (default $WSSPEC_FUZZ_SEED or 1)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    parser.add_argument("--replay", metavar="FILE", help="re-run one finding file and exit")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)

    results = fuzz(args.seconds, args.seed, args.jobs)
    total = sum(r["count"] for r in results)
    elapsed = max(r["elapsed"] for r in results) or 1e-9
    counts: Counter[str] = Counter()
    signatures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    files: list[str] = []
    for r in results:
        counts.update(r["counts"])
        signatures.update(r["signatures"])
        for sig, ex in r["examples"].items():
            examples.setdefault(sig, ex)
        files += r["files"]
    print("\ninputs per category:")
    for category, n in sorted(counts.items()):
        print(f"  {n:8d}  {category}")
    measured = sum(r["measured"] for r in results)
    ratio = max(r["max_peak_ratio"] for r in results)
    print(f"memory measured on {measured} inputs; highest peak/bound {ratio:.2f}")
    noise = sum(r.get("timing_noise", 0) for r in results)
    print(f"timing problems that did not repeat on {TIMING_RETRIES} re-runs (a loaded machine, not reported): {noise}")
    if signatures:
        print(f"\nfindings: {sum(signatures.values())} inputs, {len(signatures)} kinds")
        for sig, n in signatures.most_common():
            print(f"  {n:6d}  {sig}\n          e.g. {examples[sig][:300]}")
        print(f"files ({len(files)}): " + " ".join(files[:20]) + (" ..." if len(files) > 20 else ""))
    seeds = ", ".join(str(r["seed"]) for r in results)
    print(f"ran {total} inputs in {elapsed:.0f} s ({total / elapsed:.0f}/s, seeds {seeds}, {args.jobs} job(s)): "
          f"{sum(signatures.values())} findings")
    return 1 if signatures else 0


if __name__ == "__main__":
    sys.exit(main())
