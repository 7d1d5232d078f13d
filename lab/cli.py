"""`lab`: the command line behind the Makefile."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from lab import fault, placement, remembered, workflow
from lab.backend import WorkerState
from lab.cluster import Lab
from lab.config import BATCH_SYSTEM_CHOICES, LEADER, LabConfig, parse_batch_system, parse_workers
from lab.diagnostics import export_logs
from lab.errors import LabError, NotReady
from lab.node import Node
from lab.report import write_report


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every `lab` subcommand."""
    parser = argparse.ArgumentParser(
        prog="lab",
        description="A Docker Compose multi-node lab for Toil. LAB_NAME names the lab (default toil-lab).",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every command run")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="bring the lab up (or rescale it); returns when every worker is ready")
    up.add_argument("--workers", help="number of workers (default: WORKERS, the running lab's, or 3)")
    up.add_argument(
        "--batch-system",
        help=f"one of: {', '.join(BATCH_SYSTEM_CHOICES)} (default: BATCH_SYSTEM, or auto: mesos when "
        "MESOS_PACKAGE is set, else slurm)",
    )

    sub.add_parser("down", help="stop and remove the containers; keep every volume, the job store included")
    clean = sub.add_parser("clean", help="remove the lab and DELETE its volumes, the job store included")
    clean.add_argument("--yes", action="store_true", help="confirm that the volumes may be deleted")

    status = sub.add_parser("status", help="nodes, roles, container state, and the scheduler's view")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    shell = sub.add_parser("shell", help="an interactive shell on a node (default: the leader)")
    shell.add_argument("node", nargs="?", default=LEADER)
    shell.add_argument("--root", action="store_true", help="as root instead of the lab user")

    run_in = sub.add_parser("exec", help="run a command on a node: lab exec NODE -- CMD ...")
    run_in.add_argument("node")
    run_in.add_argument("argv", nargs=argparse.REMAINDER)
    run_in.add_argument("--user", default=None, help="user to run as (default: root)")

    logs = sub.add_parser("logs", help="container logs of one node, or of all")
    logs.add_argument("node", nargs="?")
    logs.add_argument("--follow", "-f", action="store_true")
    logs.add_argument("--tail", type=int, default=None)

    export = sub.add_parser("export-logs", help="every node's logs and inspect output, into a folder")
    export.add_argument("directory", type=Path)

    run = sub.add_parser(
        "run",
        help="run WORKFLOW.py on the leader: lab run [--shared] WORKFLOW.py [TOIL_ARGS ...]",
        description="Runs the workflow from the leader's private area on a batch system that ships it "
        "to the workers (Slurm: slurm_autodeploy; Mesos: Toil's mesos); --shared puts it on the shared "
        "volume (on Slurm: plain slurm, no auto-deployment).",
    )
    run.add_argument(
        "--shared", action="store_true", help="the shared volume (on Slurm: plain slurm, no auto-deployment)"
    )
    run.add_argument("workflow", type=Path)
    run.add_argument("toil_args", nargs=argparse.REMAINDER)

    where = sub.add_parser("placement", help="where each job of the last run ran")
    where.add_argument("--json", action="store_true")

    fault_cmd = sub.add_parser(
        "fault",
        help="cause a fault: lab fault KIND NODE [--after S] [--for S]",
        description="kill: SIGKILL the node's container; pause: freeze it; partition: cut it off the "
        "lab's network; restart-scheduler: restart slurmctld or mesos-master (leader); kill-leader: "
        "SIGKILL the Toil leader of the last run (leader). Lasting faults stay until `lab heal NODE`, "
        "or --for S.",
    )
    fault_cmd.add_argument("kind", help="one of: kill, pause, partition, restart-scheduler, kill-leader")
    fault_cmd.add_argument("node")
    fault_cmd.add_argument("--after", type=float, default=0.0, help="wait this many seconds first")
    fault_cmd.add_argument(
        "--for", dest="duration", type=float, default=None, help="heal after this many seconds"
    )
    heal_cmd = sub.add_parser("heal", help="undo the lasting faults of a node (or --all)")
    heal_cmd.add_argument("node", nargs="?")
    heal_cmd.add_argument("--all", action="store_true")

    report = sub.add_parser("report", help="an HTML page of the last run: a bar per job, a row per process")
    report.add_argument("directory", nargs="?", type=Path, default=Path("."))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `lab` command; its exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="lab: %(message)s")
    try:
        return _dispatch(args)
    except NotReady as error:
        print(f"lab: not ready: {error}", file=sys.stderr)
        return 3
    except LabError as error:
        print(f"lab: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    config = remembered.apply(LabConfig.from_env())
    command = args.command
    if command == "up":
        if args.workers is not None:
            config = config.with_workers(parse_workers(args.workers))
        if args.batch_system is not None:
            config = replace(config, batch_system=parse_batch_system(args.batch_system))
        plan = Lab(config).up()
        plural = "s" if plan.workers > 1 else ""
        print(
            f"lab {config.name!r} is up: leader + {plan.workers} worker{plural} ready "
            f"(`make shell`, `lab status`, `lab run WORKFLOW.py`)"
        )
        return 0
    lab = Lab(config)
    if command == "down":
        lab.down()
        return 0
    if command == "clean":
        if not args.yes:
            print(
                "lab: clean deletes every volume of the lab, the job store included; "
                "run `lab clean --yes` (or `make lab-clean`) to confirm.",
                file=sys.stderr,
            )
            return 2
        lab.clean()
        return 0
    if command == "status":
        return _status(lab, as_json=args.json)
    if command == "shell":
        return lab.node(args.node).shell(user="root" if args.root else "lab", tty=sys.stdin.isatty())
    if command == "exec":
        argv, user = _exec_command(list(args.argv), args.user)
        node = lab.node(args.node)
        return node.exec(argv, user=user, check=False, capture=False).returncode
    if command == "logs":
        return _logs(lab, args.node, args.follow, args.tail)
    if command == "export-logs":
        path = export_logs(lab, args.directory)
        print(f"lab: logs of {config.name!r} written to {path}")
        return 0
    if command == "run":
        record, code = workflow.run_workflow(lab.leader, args.workflow, args.toil_args, shared=args.shared)
        found = placement.of_run(lab.nodes(), record.job_store)
        print(f"\nwhere each job ran (job store {record.job_store}):", file=sys.stderr)
        print(placement.format_table(found), file=sys.stderr)
        return code
    if command == "placement":
        record, found = _last_run(lab)
        if args.json:
            print(
                json.dumps(
                    {
                        "job_store": record.job_store,
                        "workflow": record.workflow,
                        "exit_code": record.exit_code,
                        "jobs": [p.to_json() for p in found],
                    },
                    indent=2,
                )
            )
        else:
            print(f"run of {record.workflow} (job store {record.job_store}, exit code {record.exit_code})")
            print(placement.format_table(found))
        return 0
    if command == "fault":
        return _fault(lab, args.kind, args.node, args.after, args.duration)
    if command == "heal":
        if args.all == (args.node is not None):
            raise LabError("lab heal NODE, or lab heal --all")
        healed = fault.heal_all(lab) if args.all else {args.node: fault.heal(lab, args.node)}
        for name, undone in healed.items():
            print(f"{name}: {', '.join(undone) or 'no fault to undo'}")
        return 0
    if command == "report":
        record, found = _last_run(lab)
        path = write_report(args.directory, record, found)
        print(f"lab: report of {record.workflow} ({len(found)} jobs) written to {path}")
        return 0
    raise LabError(f"unknown command {command}")


def _last_run(lab: Lab) -> tuple[workflow.RunRecord, list[placement.Placement]]:
    """The last run and its placements; a warning names nodes whose records cannot be read."""
    record = workflow.require_last_run(lab.leader)
    nodes = lab.nodes()
    _warn_unreadable(nodes)
    return record, placement.of_run(nodes, record.job_store)


def _warn_unreadable(nodes: list[Node]) -> None:
    stopped = [n.name for n in nodes if not n.running]
    if stopped:
        print(
            f"lab: warning: the records of {', '.join(stopped)} cannot be read while "
            "it is not running (`lab heal NODE`)",
            file=sys.stderr,
        )


def _fault(lab: Lab, kind: str, name: str, after: float, duration: float | None) -> int:
    fault.check_kind(kind)
    lab.node(name)  # an unknown node is an error before any wait
    if duration is not None and kind not in fault.LASTING:
        raise LabError(f"--for applies to lasting faults ({', '.join(fault.LASTING)}), not {kind}")
    done = fault.after(after, lambda: fault.inject(lab, kind, name))
    print(f"lab: {done.kind} on {done.node}{f' ({done.detail})' if done.detail else ''}")
    if duration is not None:
        time.sleep(duration)  # the fault's length, as asked
        print(f"lab: {name}: {', '.join(fault.heal(lab, name)) or 'nothing to undo'}")
    return 0


def _exec_command(words: list[str], user: str | None) -> tuple[list[str], str | None]:
    """Split `[--user U] -- CMD ...` (what follows NODE) into the command and the user."""
    if "--" in words and (not words or words[0].startswith("-")):
        cut = words.index("--")
        options, words = words[:cut], words[cut + 1 :]
        parser = argparse.ArgumentParser(prog="lab exec NODE", add_help=False)
        parser.add_argument("--user", default=user)
        user = parser.parse_args(options).user
    if not words:
        raise LabError("lab exec NODE [--user USER] -- CMD ...: give the command to run after --")
    return words, user


def _status(lab: Lab, *, as_json: bool) -> int:
    nodes = lab.nodes()
    scheduler: dict[str, WorkerState] = {}
    leader = next((n for n in nodes if n.role == "leader" and n.running), None)
    backend = lab.backend
    if leader is not None:
        try:
            scheduler = {s.name: s for s in backend.worker_states(leader)}
        except (LabError, ValueError):
            scheduler = {}
    try:
        faults = {f.node: f for f in fault.faults_in_force(lab)} if nodes else {}
    except LabError:
        faults = {}
    if as_json:
        print(
            json.dumps(
                {
                    "lab": lab.config.name,
                    "batch_system": backend.name,
                    "nodes": [
                        {
                            "name": n.name,
                            "role": n.role,
                            "container": n.container_name,
                            "state": n.state,
                            "health": n.health,
                            "scheduler": None
                            if n.name not in scheduler
                            else {
                                "state": scheduler[n.name].state,
                                "raw": scheduler[n.name].raw,
                                "ready": scheduler[n.name].ready,
                                "reason": scheduler[n.name].reason,
                            },
                            "fault": faults[n.name].kind if n.name in faults else None,
                        }
                        for n in nodes
                    ],
                },
                indent=2,
            )
        )
        return 0
    if not nodes:
        print(f"lab {lab.config.name!r} has no containers (`make lab-up` starts it)")
        return 0
    rows = [("NODE", "ROLE", "CONTAINER", "STATE", "HEALTH", "FAULT", "SCHEDULER")]
    for n in nodes:
        view = scheduler.get(n.name)
        sched = (
            backend.scheduler
            if n.role == "leader"
            else (view.raw + (f" ({view.reason})" if view.reason else "") if view else "-")
        )
        in_force = faults[n.name].kind if n.name in faults else "-"
        rows.append((n.name, n.role, n.container_name, n.state, n.health or "-", in_force, sched))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"lab {lab.config.name!r} (batch system: {backend.name})")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())
    return 0


def _logs(lab: Lab, name: str | None, follow: bool, tail: int | None) -> int:
    if name is not None:
        node = lab.node(name)
        if follow:
            return node.follow_logs()
        sys.stdout.write(node.logs(tail=tail))
        return 0
    if follow:
        raise LabError("--follow needs a node: lab logs NODE --follow")
    for node in lab.nodes():
        print(f"===== {node.name} ({node.container_name}) =====")
        sys.stdout.write(node.logs(tail=tail))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
