"""`lab fault`, `lab heal`: breaking a lab on purpose, and mending it."""

from __future__ import annotations

import argparse
import time

from lab import fault
from lab.cli.verb import Context, Verb
from lab.errors import LabError


def _fault_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", help=f"one of: {', '.join(fault.KINDS)}")
    parser.add_argument("node")
    parser.add_argument("--after", type=float, default=0.0, help="wait this many seconds first")
    parser.add_argument(
        "--for", dest="duration", type=float, default=None, help="heal after this many seconds"
    )


def strike(args: argparse.Namespace, context: Context) -> int:
    """Cause one fault, after a delay if asked, and undo it after --for if asked."""
    fault.check_kind(args.kind)
    lab = context.lab()
    lab.node(args.node)  # an unknown node is an error before any wait
    if args.duration is not None and args.kind not in fault.LASTING:
        raise LabError(f"--for applies to lasting faults ({', '.join(fault.LASTING)}), not {args.kind}")
    done = fault.after(args.after, lambda: fault.inject(lab, args.kind, args.node))
    print(f"lab: {done.kind} on {done.node}{f' ({done.detail})' if done.detail else ''}")
    if args.duration is not None:
        time.sleep(args.duration)  # the fault's length, as asked
        print(f"lab: {args.node}: {', '.join(fault.heal(lab, args.node)) or 'nothing to undo'}")
    return 0


def _heal_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node", nargs="?")
    parser.add_argument("--all", action="store_true")


def heal(args: argparse.Namespace, context: Context) -> int:
    """Undo the lasting faults of a node, or of every node."""
    if args.all == (args.node is not None):
        raise LabError("lab heal NODE, or lab heal --all")
    lab = context.lab()
    healed = fault.heal_all(lab) if args.all else {args.node: fault.heal(lab, args.node)}
    for name, undone in healed.items():
        print(f"{name}: {', '.join(undone) or 'no fault to undo'}")
    return 0


VERBS = (
    Verb(
        "fault",
        "cause a fault: lab fault KIND NODE [--after S] [--for S]",
        "lab fault pause worker-1 --for 30",
        strike,
        _fault_arguments,
        "kill: SIGKILL the node's container; pause: freeze it; partition: cut it off the lab's "
        "network; restart-scheduler: restart slurmctld or mesos-master (leader); kill-leader: SIGKILL "
        "the Toil leader of the last run (leader). Lasting faults stay until `lab heal NODE`, or --for S.",
    ),
    Verb("heal", "undo the lasting faults of a node (or --all)", "lab heal --all", heal, _heal_arguments),
)
