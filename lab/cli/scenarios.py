"""`lab scenario`: Toil's multi-node bugs reproduced on demand (lab/scenarios/)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lab.cli.verb import Context, Verb
from lab.scenarios import runner


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help="`list` (the catalogue), `all`, or scenario names or Toil issue numbers",
    )
    parser.add_argument(
        "--batch-systems",
        help="comma-separated (default: each scenario's own, Mesos where there is a Mesos build)",
    )
    parser.add_argument("--results", type=Path, help="where verdicts go (default: test-results/scenarios)")
    parser.add_argument("--keep", action="store_true", help="keep the labs this run brings up")


def scenario(args: argparse.Namespace, context: Context) -> int:
    """List the catalogue, or play the scenarios named and print their verdicts."""
    if args.names == ["list"]:
        print(runner.listing())
        return 0
    names = () if args.names == ["all"] else tuple(args.names)
    systems = tuple(s.strip() for s in (args.batch_systems or "").split(",") if s.strip())
    request = runner.Request(
        names=names,
        batch_systems=systems,
        toil_args=tuple(args.extra),
        results=args.results or context.config.root / "test-results" / "scenarios",
        keep=args.keep,
    )
    return runner.run(context.config, os.environ, request)


VERBS = (
    Verb(
        "scenario",
        "reproduce a Toil issue on the lab: lab scenario list | lab scenario NAME ... | lab scenario all",
        "lab scenario 5177-walltime",
        scenario,
        _arguments,
        "Plays scenarios from the catalogue (`lab scenario list`): each prepares nodes, runs a "
        "workflow, observes ground truth (the jobs' own records, squeue, the Mesos master's state, "
        "Toil's log) and gives a verdict: reproduces (this Toil still has the bug), fixed, or "
        "inconclusive (the setup did not take). It plays on the running LAB_NAME lab when it is up on "
        f"the scenario's batch system (brought up to date, e.g. to TOIL_SOURCE, and kept), else on its "
        f"own lab (SCENARIOS_LAB_NAME, default {runner.DEFAULT_LAB_NAME}-<batch system>; removed after "
        "unless --keep). Every change to a node is undone. Arguments the verb does not know go to "
        "every workflow's Toil. Exit code 0: every verdict is the one recorded for Toil 9.6.0; 1: some "
        "differ (e.g. TOIL_SOURCE fixed a bug); 2: could not play.",
        passes_on="TOIL_ARGS",
    ),
)
