"""The suites run against labs: `lab toil-tests` (Toil's own tests, lab/toil_tests/) and
`lab cwl-conformance` (the CWL v1.2 conformance suite, lab/cwl/conformance.py)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lab.cli.verb import Context, Verb
from lab.cwl import conformance, spec
from lab.errors import ConfigError
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


def _conformance_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--batch-systems",
        help="comma-separated, in order (default: slurm, and mesos where there is a Mesos build); the "
        "first lab's leader also runs the single_machine baseline",
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=conformance.DEFAULT_JOBS, help="tests at once (cwltest -j)"
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=conformance.DEFAULT_TIMEOUT,
        help="seconds per test (cwltest --timeout)",
    )
    parser.add_argument("-s", "--names", help="only these tests, by id (comma-separated; --list shows them)")
    parser.add_argument("--tags", help="only tests with one of these tags (comma-separated)")
    parser.add_argument("--exclude-tags", help="leave out tests with one of these tags (comma-separated)")
    parser.add_argument("--list", action="store_true", help="list the selected tests and stop (no lab)")
    parser.add_argument("--no-baseline", action="store_true", help="do not run the single_machine baseline")
    parser.add_argument(
        "--results", type=Path, help="where results go (default: test-results/cwl-conformance)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the labs this run brings up")


def cwl_conformance(args: argparse.Namespace, context: Context) -> int:
    """The CWL conformance suite on the labs of the batch systems asked, with the baseline; the table."""
    selection = spec.Selection.parse(args.names, args.tags, args.exclude_tags)
    if args.list:
        root = spec.suite_root(os.environ, context.config.root)
        print(spec.listing(spec.select(spec.catalogue(root), selection)))
        return 0
    if args.jobs < 1 or args.timeout < 1:
        raise ConfigError("-j and --timeout take a positive number")
    systems = spec.split(args.batch_systems) or conformance.default_batch_systems(os.environ)
    request = conformance.Request(
        batch_systems=systems,
        selection=selection,
        jobs=args.jobs,
        timeout=args.timeout,
        toil_args=tuple(args.extra),
        results=args.results or context.config.root / "test-results" / "cwl-conformance",
        baseline=not args.no_baseline,
        keep=args.keep,
    )
    return conformance.run(context.config, os.environ, request)


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
    Verb(
        "cwl-conformance",
        "the CWL v1.2 conformance suite on Slurm (and Mesos) labs, beside single_machine: "
        "lab cwl-conformance [-j N] [-s NAMES] [--tags T] [TOIL_ARGS ...]",
        "lab cwl-conformance -j 4 --tags scatter",
        cwl_conformance,
        _conformance_arguments,
        "Runs the CWL v1.2 conformance suite (CWL_SPEC, or its pinned commit from GitHub) with cwltest "
        "and toil-cwl-runner on the leader of each batch system's lab: its own (CWL_CONFORMANCE_LAB_NAME, "
        f"default {conformance.DEFAULT_LAB_NAME}-<batch system>; removed after unless --keep), or the "
        "running LAB_NAME lab with LAB_REUSE=1; the first also runs the suite on single_machine, the "
        "baseline. Tests tagged docker need a container engine, which the nodes lack: they are listed, "
        "not run. Arguments the verb does not know go to every toil-cwl-runner. The table, the "
        "findings (passed on single_machine, failed on a batch system) with each cause, and junit XML "
        "go to test-results/cwl-conformance/. Exit code 1: findings; 2: the suite could not run.",
        passes_on="TOIL_ARGS",
    ),
)
