"""
``python -m tests.bench``: wsspec vs wsproto vs websockets' Sans-I/O layer.

Run from the repository root. See ``--help``; the table goes to stdout,
progress to stderr. Exit status 1 if any correctness check failed.
"""

from __future__ import annotations

import argparse
import sys

from .workloads import WORKLOADS

DEFAULTS = {"repeats": 7, "target": 0.25, "mem_pairs": 200}
FRESH_REPEATS = 5  # --fresh: processes per cell (each pays an interpreter start)
QUICK = {"repeats": 2, "target": 0.02, "mem_pairs": 20}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=(
            "Benchmark wsspec, wsproto and websockets' Sans-I/O layer side by side "
            "(issue 6): each workload alternates between the libraries, best of N, "
            "and one markdown table is printed."
        ),
    )
    parser.add_argument("--quick", action="store_true",
                        help="few, short samples (CI smoke run, well under 20 s)")
    parser.add_argument("--repeat", type=int, metavar="N",
                        help=f"samples per library and workload, best kept (default {DEFAULTS['repeats']}, "
                             f"--quick {QUICK['repeats']})")
    parser.add_argument("--only", metavar="NAMES",
                        help="comma-separated workloads, by name or number 1-10: " + ", ".join(WORKLOADS))
    parser.add_argument("--no-speedups", action="store_true",
                        help="block the compiled masking modules (websockets.speedups, wsaccel, ...) "
                             "before any library is imported, forcing the pure-Python paths")
    parser.add_argument("--sample-seconds", type=float, metavar="S",
                        help=f"target length of one timed sample (default {DEFAULTS['target']}, "
                             f"--quick {QUICK['target']})")
    parser.add_argument("--fresh", action="store_true",
                        help="measure every library x workload in its own new interpreter (only that library "
                             "imported), round-robin, best and spread (min-max) of --repeat processes per cell "
                             f"(default {FRESH_REPEATS})")
    parser.add_argument("--baseline", metavar="REF",
                        help="with --fresh: measure wsspec against wsspec at git REF (e.g. a commit before a "
                             "change) instead of the other libraries, alternating the two trees, best and spread")
    parser.add_argument("--buffers", action="store_true",
                        help="instead of timing: count the full-size (>= ~1 MiB) buffers each library "
                             "allocates per 1 MiB message, per direction (tracemalloc, per step)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="LIB",
                        help="instead of the table: cProfile LIB (e.g. wsspec) alone on each timed "
                             "workload, top 15 functions by tottime")
    args = parser.parse_args(argv)
    if args.baseline and not args.fresh:
        parser.error("--baseline needs --fresh (each tree is measured in its own interpreters)")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.no_speedups:
        # Before anything imports a WebSocket library.
        from .libs import block_speedups

        block_speedups()
    from .runner import Config
    from .runner import main as run

    base = QUICK if args.quick else DEFAULTS
    default_repeats = base["repeats"] if args.quick or not args.fresh else FRESH_REPEATS
    repeats = args.repeat if args.repeat is not None else default_repeats
    cfg = Config(
        repeats=repeats,
        target=args.sample_seconds if args.sample_seconds is not None else base["target"],
        mem_pairs=base["mem_pairs"],
        mem_repeats=min(repeats, 3),
        only=[name.strip() for name in args.only.split(",") if name.strip()] if args.only else [],
        no_speedups=args.no_speedups,
        argv=argv,
        json_path=args.json,
        profile=args.profile,
        fresh=args.fresh,
        buffers=args.buffers,
        baseline=args.baseline,
    )
    return run(cfg)


if __name__ == "__main__":
    sys.exit(main())
