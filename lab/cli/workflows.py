"""`lab run`: a Toil workflow on the lab, in Python or CWL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab import placement, workflow
from lab.cli.verb import Context, Verb
from lab.cluster import Lab
from lab.cwl import run as cwl_run
from lab.errors import ConfigError


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shared", action="store_true", help="the shared volume (on Slurm: plain slurm, no auto-deployment)"
    )
    parser.add_argument("workflow", type=Path)
    parser.add_argument("toil_args", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace, context: Context) -> int:
    """Check the workflow file, run it on the leader, and show where each job ran."""
    if cwl_run.is_cwl(args.workflow):
        return _run_cwl(args, context)
    workflow.check_workflow(args.workflow)  # a bad file is an error before the lab is asked
    lab = context.lab()
    record, code = workflow.run_workflow(lab.leader(), args.workflow, args.toil_args, shared=args.shared)
    _show_placement(lab, record.job_store, "job")
    return code


def _show_placement(lab: Lab, job_store: str, what: str) -> None:
    found = placement.of_run(lab.nodes(), job_store)
    print(f"\nwhere each {what} ran (job store {job_store}):", file=sys.stderr)
    print(placement.format_table(found), file=sys.stderr)


def _run_cwl(args: argparse.Namespace, context: Context) -> int:
    if args.shared:
        raise ConfigError("--shared is for Python workflows: a CWL run's inputs go into the job store")
    asked = cwl_run.CwlRun.parse(args.workflow, args.toil_args)  # checked before the lab is asked
    lab = context.lab()
    record, code, outdir = cwl_run.run_cwl(lab.leader(), asked)
    _show_placement(lab, record.job_store, "step")
    print(f"outputs: {outdir} (on the shared volume; `lab shell` to look)", file=sys.stderr)
    return code


VERBS = (
    Verb(
        "run",
        "run a workflow on the leader: lab run [--shared] WORKFLOW.py [TOIL_ARGS ...] | "
        "lab run WORKFLOW.cwl [JOB.yml] [TOIL_ARGS ...]",
        "lab run tests/integration/workflows/fanout.py --leaves 8",
        run,
        _run_arguments,
        "Runs the workflow from the leader's private area on a batch system that ships it to the "
        "workers (Slurm: slurm_autodeploy; Mesos: Toil's mesos); --shared puts it on the shared "
        "volume (on Slurm: plain slurm, no auto-deployment). Toil options given after the file "
        "replace the lab's. A .cwl document runs with toil-cwl-runner (the lab needs CWL=1) on Toil's "
        "plain batch system, --no-container, its outputs in /data/outputs/.",
    ),
)
