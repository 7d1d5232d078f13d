"""`lab status`, `lab logs`, `lab export-logs`, `lab placement`, `lab report`: looking at a lab."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lab import fault, placement, workflow
from lab.backends import WorkerState
from lab.cli.verb import Context, Verb
from lab.cluster import Lab
from lab.diagnostics import export_logs
from lab.errors import LabError
from lab.node import Node
from lab.report import write_report


def _json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def scheduler_view(lab: Lab, nodes: list[Node]) -> tuple[dict[str, WorkerState], str]:
    """Each worker as the scheduler sees it, and why there is no view ('' when there is one)."""
    leader = next((n for n in nodes if n.role == "leader"), None)
    if leader is None:
        return {}, "no leader container"
    if not leader.running:
        return {}, f"the leader is {leader.state}: no scheduler to ask"
    try:
        return {s.name: s for s in lab.backend().worker_states(leader)}, ""
    except (LabError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return {}, f"{lab.backend().scheduler} did not answer: {first}"


def why_not_seen(node: Node, scheduler: str, missing: str) -> str:
    """What the SCHEDULER column says of a worker the scheduler does not show."""
    if missing:
        return f"? ({missing})"
    if not node.running:
        return f"? (container {node.state})"
    return f"not registered with {scheduler}"


def status(args: argparse.Namespace, context: Context) -> int:
    """Nodes, roles, container state and health, faults, and the scheduler's view."""
    lab = context.lab()
    nodes = lab.nodes()
    # No lab, no batch system: a lab's backend comes from its containers, and asking for it
    # without them would ask for what a new lab would run (BATCH_SYSTEM=mesos: a Mesos build).
    if not nodes:
        if args.json:
            print(json.dumps(status_json(lab.config.name, None, [], {}, "", {}), indent=2))
        else:
            print(f"lab {lab.config.name!r} has no containers (`make lab-up` starts it)")
        return 0
    backend = lab.backend()
    view, missing = scheduler_view(lab, nodes)
    try:
        faults = {f.node: f for f in fault.faults_in_force(lab, nodes)}
    except LabError:
        faults = {}
    if args.json:
        print(json.dumps(status_json(lab.config.name, backend.name, nodes, view, missing, faults), indent=2))
        return 0
    rows = [("NODE", "ROLE", "CONTAINER", "STATE", "HEALTH", "FAULT", "SCHEDULER")]
    for n in nodes:
        seen = view.get(n.name)
        if n.role == "leader":
            sched = backend.scheduler + (f" ({missing})" if missing else "")
        elif seen is not None:
            sched = seen.raw + (f" ({seen.reason})" if seen.reason else "")
        else:
            sched = why_not_seen(n, backend.scheduler, missing)
        in_force = faults[n.name].kind if n.name in faults else "-"
        rows.append((n.name, n.role, n.container_name, n.state, n.health or "-", in_force, sched))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"lab {lab.config.name!r} (batch system: {backend.name})")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())
    return 0


def status_json(
    name: str,
    batch_system: str | None,
    nodes: list[Node],
    view: dict[str, WorkerState],
    missing: str,
    faults: dict[str, fault.Fault],
) -> dict[str, Any]:
    """`lab status --json`."""
    return {
        "lab": name,
        "batch_system": batch_system,
        "scheduler_unavailable": missing or None,
        "nodes": [
            {
                "name": n.name,
                "role": n.role,
                "container": n.container_name,
                "state": n.state,
                "health": n.health,
                "scheduler": None
                if n.name not in view
                else {
                    "state": view[n.name].state,
                    "raw": view[n.name].raw,
                    "ready": view[n.name].ready,
                    "reason": view[n.name].reason,
                },
                "fault": faults[n.name].kind if n.name in faults else None,
            }
            for n in nodes
        ],
    }


def _logs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node", nargs="?")
    parser.add_argument("--follow", "-f", action="store_true")
    parser.add_argument("--tail", type=int, default=None)


def logs(args: argparse.Namespace, context: Context) -> int:
    """Container logs of one node, or of all."""
    lab = context.lab()
    if args.node is not None:
        node = lab.node(args.node)
        if args.follow:
            return node.follow_logs()
        sys.stdout.write(node.logs(tail=args.tail))
        return 0
    if args.follow:
        raise LabError("--follow needs a node: lab logs NODE --follow")
    for node in lab.nodes():
        print(f"===== {node.name} ({node.container_name}) =====")
        sys.stdout.write(node.logs(tail=args.tail))
    return 0


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path)


def export(args: argparse.Namespace, context: Context) -> int:
    """Every node's logs and inspect output, and the scheduler's view, into a folder."""
    path = export_logs(context.lab(), args.directory)
    print(f"lab: logs of {context.config.name!r} written to {path}")
    return 0


def last_run(lab: Lab) -> tuple[workflow.RunRecord, list[placement.Placement]]:
    """The last run and its placements; a warning names nodes whose records cannot be read."""
    record = workflow.require_last_run(lab.leader())
    nodes = lab.nodes()
    stopped = [n.name for n in nodes if not n.running]
    if stopped:
        print(
            f"lab: warning: the records of {', '.join(stopped)} cannot be read while "
            "it is not running (`lab heal NODE`)",
            file=sys.stderr,
        )
    return record, placement.of_run(nodes, record.job_store)


def where(args: argparse.Namespace, context: Context) -> int:
    """Where each job of the last run ran."""
    record, found = last_run(context.lab())
    if args.json:
        shown = {
            "job_store": record.job_store,
            "workflow": record.workflow,
            "exit_code": record.exit_code,
            "jobs": [p.to_json() for p in found],
        }
        print(json.dumps(shown, indent=2))
    else:
        print(f"run of {record.workflow} (job store {record.job_store}, exit code {record.exit_code})")
        print(placement.format_table(found))
    return 0


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", nargs="?", type=Path, default=Path("."))


def report(args: argparse.Namespace, context: Context) -> int:
    """An HTML page of the last run."""
    record, found = last_run(context.lab())
    path = write_report(args.directory, record, found)
    print(f"lab: report of {record.workflow} ({len(found)} jobs) written to {path}")
    return 0


VERBS = (
    Verb(
        "status",
        "nodes, roles, container state, and the scheduler's view",
        "lab status --json",
        status,
        _json_argument,
    ),
    Verb(
        "logs", "container logs of one node, or of all", "lab logs worker-1 --tail 50", logs, _logs_arguments
    ),
    Verb(
        "export-logs",
        "every node's logs and inspect output, and the scheduler's view, into a folder",
        "lab export-logs test-results/logs",
        export,
        _export_arguments,
    ),
    Verb("placement", "where each job of the last run ran", "lab placement --json", where, _json_argument),
    Verb(
        "report",
        "an HTML page of the last run: a bar per job, a row per process",
        "lab report test-results/reports",
        report,
        _report_arguments,
    ),
)
