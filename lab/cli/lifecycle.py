"""`lab up`, `lab down`, `lab clean`: a lab's life."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from lab import startup
from lab.cli.verb import Context, Verb
from lab.config import BATCH_SYSTEM_CHOICES, parse_batch_system, parse_workers


def _up_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", help="number of workers (default: WORKERS, the running lab's, or 3)")
    parser.add_argument(
        "--batch-system",
        help=f"one of: {', '.join(BATCH_SYSTEM_CHOICES)} (default: BATCH_SYSTEM, or auto: mesos when "
        "MESOS_PACKAGE is set or remembered, else slurm)",
    )


def up(args: argparse.Namespace, context: Context) -> int:
    """Bring the lab up, rescale it, or find it already up."""
    config = context.config
    if args.workers is not None:
        config = config.with_workers(parse_workers(args.workers))
    if args.batch_system is not None:
        config = replace(config, batch_system=parse_batch_system(args.batch_system))
    context.config = config
    plan = startup.up(context.lab())
    plural = "s" if plan.workers > 1 else ""
    state = "already up" if plan.already_up else "up"
    ready = f"leader + {plan.workers} worker{plural} ready on {plan.batch_system}"
    print(f"lab {config.name!r} is {state}: {ready} (`make shell`, `lab status`, `lab run WORKFLOW.py`)")
    return 0


def down(args: argparse.Namespace, context: Context) -> int:
    """Remove the containers and network; keep every volume."""
    context.lab().down()
    return 0


def _clean_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="confirm that the volumes may be deleted")


def clean(args: argparse.Namespace, context: Context) -> int:
    """Remove the lab and delete its volumes, once confirmed."""
    if not args.yes:
        print(
            "lab: clean deletes every volume of the lab, the job store included; "
            "run `lab clean --yes` (or `make lab-clean`) to confirm.",
            file=sys.stderr,
        )
        return 2
    context.lab().clean()
    return 0


VERBS = (
    Verb(
        "up",
        "bring the lab up (or rescale it); returns when every worker is ready",
        "lab up --workers 5",
        up,
        _up_arguments,
        "Builds what is missing, starts or rescales the lab, and returns when every worker is "
        "registered with the scheduler. A running lab whose images and settings did not change "
        "is left as it is.",
    ),
    Verb(
        "down",
        "stop and remove the containers; keep every volume, the job store included",
        "lab down",
        down,
    ),
    Verb(
        "clean",
        "remove the lab and DELETE its volumes, the job store included",
        "lab clean --yes",
        clean,
        _clean_arguments,
    ),
)
