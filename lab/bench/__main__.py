"""`python -m lab.bench`: measure, print the table, write the JSON."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from lab.bench.run import (
    DEFAULT_BENCH_LAB,
    DEFAULT_JOBS,
    DEFAULT_ROUNDS,
    DEFAULT_WORKERS,
    BenchOptions,
    run_bench,
)
from lab.bench.summary import format_report
from lab.config import BATCH_SYSTEMS, parse_workers
from lab.errors import LabError

DEFAULT_JSON = Path("test-results/bench.json")


def parse_setting(text: str) -> tuple[str, str]:
    """'KEY=VALUE' from the command line."""
    key, sep, value = text.partition("=")
    if not sep or not key.isalnum() or not key[0].isalpha():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. SchedulerParameters=defer)")
    return key, value


def parse_batch_systems(text: str) -> tuple[str, ...]:
    """'slurm,mesos' from the command line."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in BATCH_SYSTEMS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give some of {', '.join(BATCH_SYSTEMS)}, comma-separated"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    """The bench's options."""
    parser = argparse.ArgumentParser(
        prog="python -m lab.bench",
        description="Measure lab start-up, 64 trivial Toil jobs, idle worker memory and an idle lab's CPU on "
        "each batch system, the first two beside a baseline measured in the same run. Makes fresh labs and "
        "deletes them.",
    )
    parser.add_argument(
        "--lab", default=DEFAULT_BENCH_LAB, help=f"the bench labs' name ({DEFAULT_BENCH_LAB})"
    )
    parser.add_argument("--workers", type=parse_workers, default=DEFAULT_WORKERS)
    parser.add_argument(
        "--jobs", type=int, default=DEFAULT_JOBS, help=f"child jobs of the workflow ({DEFAULT_JOBS})"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"batch system/single_machine pairs ({DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--batch-systems",
        type=parse_batch_systems,
        default=BATCH_SYSTEMS,
        help="which labs to measure (default: slurm,mesos; Mesos needs MESOS_PACKAGE, given or remembered)",
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"where to write JSON ({DEFAULT_JSON})"
    )
    parser.add_argument("--keep", action="store_true", help="leave the bench labs up at the end")
    parser.add_argument("--slots-per-cpu", type=int, default=None, help="SLOTS_PER_CPU of the bench labs")
    parser.add_argument(
        "--slurm-set",
        type=parse_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a slurm.conf setting in the Slurm bench lab before the runs (repeatable)",
    )
    parser.add_argument(
        "--toil-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra Toil option for the batch systems' runs, e.g. --toil-arg=--maxJobs=16 (repeatable)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every command run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; print the report and write the JSON."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="lab: %(message)s")
    if args.rounds < 0:
        print("bench: --rounds must be 0 (start-up and memory only) or more", file=sys.stderr)
        return 2
    options = BenchOptions(
        lab=args.lab,
        workers=args.workers,
        jobs=args.jobs,
        rounds=args.rounds,
        keep=args.keep,
        slots_per_cpu=args.slots_per_cpu,
        batch_systems=args.batch_systems,
        slurm_settings=tuple(args.slurm_set),
        toil_args=tuple(args.toil_arg),
    )
    try:
        result = run_bench(options)
    except LabError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    print(format_report(result))
    print(f"\n(JSON: {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
