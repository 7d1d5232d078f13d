"""`lab toil-tests`: Toil's own tests, unmodified, on a Mesos lab (lab/toil_tests/)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lab.cli.verb import Context, Verb
from lab.toil_tests import families, runner


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--family",
        default=families.ALL,
        choices=families.CHOICES,
        help="appliance: toil/test/src/autoDeploymentTest.py, pytest on this host; mesos: Toil's Mesos "
        "batch-system tests, pytest in a worker (both on a Mesos lab); slurm: Toil's needs_slurm tests, "
        "pytest on the leader of a Slurm lab; all (default): the families of the lab's batch system "
        "(Mesos where there is a Mesos build)",
    )
    parser.add_argument("--worker", help="the appliance tests' worker (default: the lab's first)")
    parser.add_argument("--mesos-node", help="the worker the Mesos tests run in (default: the lab's last)")
    parser.add_argument("--results", type=Path, help="where results go (default: test-results/toil-tests)")
    parser.add_argument("--keep", action="store_true", help="keep the lab this run brings up")


def toil_tests(args: argparse.Namespace, context: Context) -> int:
    """Bring up (or reuse) a lab of the families' batch system, run Toil's tests on it, print the table."""
    batch_system = runner.batch_system_of(args.family, context.config, os.environ)
    chosen = families.choose(args.family, batch_system)
    config, reuse = runner.tests_config(context.config, os.environ, batch_system)
    request = runner.Request(
        families=chosen,
        pytest_args=tuple(args.extra),
        results=args.results or runner.default_results(config.root),
        worker=args.worker,
        mesos_node=args.mesos_node,
        keep=args.keep,
    )
    return runner.run(config, reuse, request)


VERBS = (
    Verb(
        "toil-tests",
        "Toil's own tests, unmodified, on a Mesos or Slurm lab: "
        "lab toil-tests [--family F] [PYTEST ARGS ...]",
        "lab toil-tests --family appliance -k testRestart",
        toil_tests,
        _arguments,
        "Runs Toil's own multi-node tests, from the Toil the lab installs (TOIL_VERSION, or the "
        "TOIL_SOURCE checkout), against a Mesos lab (appliance, mesos) or a Slurm lab (slurm): its own "
        f"(TOIL_TESTS_LAB_NAME, default {runner.DEFAULT_LAB_NAME}, -slurm on Slurm; removed after unless "
        "--keep), or the running LAB_NAME lab with LAB_REUSE=1. The Mesos build is MESOS_PACKAGE or "
        "the one a lab remembers. Arguments the "
        "verb does not know go to pytest (a -k narrows each family's selection). Exit code 1: some "
        "of Toil's tests failed (a finding; the table gives each cause); 2: they could not run.",
        passes_on="PYTEST ARGS",
    ),
)
