"""The Slurm backend, host side: slurmctld's view of its workers, and what Toil needs to use it.

slurmctld runs on the leader and slurmd on every worker; their configuration is
rendered in the leader (innode/slurm_conf.py). Each worker also has a partition of its
own, which pins a run to it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from innode.layout import worker_order
from innode.slurm_autodeploy import BATCH_SYSTEM_NAME, PLAIN_BATCH_SYSTEM_NAME
from innode.slurm_conf import CONF_PATH
from lab.backends.backend import WorkerState
from lab.errors import LabError
from lab.node import Node
from lab.wait import Check

# States in which a worker can take a job (sinfo %T, lower case, flags stripped).
READY_STATES = frozenset({"idle", "mixed", "allocated", "completing"})
# sinfo's state suffixes that mean the node cannot take jobs now (not responding, ...).
NOT_READY_FLAGS = ("*", "~", "#", "!", "%")
# sinfo: one line per node, fields separated by '|', reason last (it may hold spaces).
SINFO_ARGV = ["sinfo", "--noheader", "--Node", "--format=%N|%T|%E"]
SQUEUE_ARGV = ["squeue", "--noheader", "--format=%i"]


def parse_sinfo(text: str) -> list[WorkerState]:
    """Parse the output of SINFO_ARGV into worker states."""
    states: dict[str, WorkerState] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, raw, reason = ([*line.split("|", 2), "", ""])[:3]
        name, raw, reason = name.strip(), raw.strip().lower(), reason.strip()
        state = raw.rstrip("*~#!%$@^-+")
        states[name] = WorkerState(
            name=name,
            state=state,
            raw=raw,
            reason="" if reason == "none" else reason,
            ready=state in READY_STATES and not raw.endswith(NOT_READY_FLAGS),
            lost=state == "down",
            id=name,
        )
    return [states[name] for name in sorted(states, key=worker_order)]


def set_conf_values(conf: str, settings: Sequence[tuple[str, str]]) -> str:
    """slurm.conf with each KEY=VALUE replacing the line that sets KEY, or appended."""
    lines = conf.splitlines()
    for key, value in settings:
        wanted = f"{key}={value}"
        found = [i for i, line in enumerate(lines) if line.split("=", 1)[0].strip().lower() == key.lower()]
        if found:
            lines[found[0]] = wanted
            for extra in reversed(found[1:]):
                del lines[extra]
        else:
            lines.append(wanted)
    return "\n".join(lines) + "\n"


class SlurmBackend:
    """slurmctld on the leader, slurmd on every worker."""

    name = "slurm"
    scheduler = "slurmctld"
    worker_daemon = "slurmd"
    # Toil jobs in a lab are mostly light: Slurm may put 4 on one CPU (OverSubscribe=FORCE),
    # so a 2-core worker offers 8 job slots.
    default_slots_per_cpu = 4

    def leader_ready(self, leader: Node) -> Check[None]:
        result = leader.exec(["scontrol", "ping"], check=False)
        return Check(result.returncode == 0, result.stdout.strip() or result.stderr.strip(), None)

    def worker_states(self, leader: Node) -> list[WorkerState]:
        return parse_sinfo(leader.exec(SINFO_ARGV).stdout)

    def queued_jobs(self, leader: Node) -> int:
        return len(leader.exec(SQUEUE_ARGV).stdout.split())

    def toil_options(self, *, auto_deploy: bool) -> list[tuple[str, str | None]]:
        # slurm_autodeploy (innode/slurm_autodeploy.py) is Toil's Slurm plus auto-deployment.
        return [("--batchSystem", BATCH_SYSTEM_NAME if auto_deploy else PLAIN_BATCH_SYSTEM_NAME)]

    @contextlib.contextmanager
    def pinned(self, leader: Node, node: str, workers: Sequence[str]) -> Iterator[list[str]]:
        # Each worker has a partition of its own (innode/slurm_conf.py).
        yield ["--slurmPartition", node]

    def after_rescale(self, leader: Node, workers: Sequence[Node]) -> None:
        # slurmctld and every slurmd re-read the configuration.
        leader.exec(["scontrol", "reconfigure"])

    def rejoin(self, worker: Node) -> None:
        # slurmctld reaches slurmd by its hostname, which Docker's DNS gives again.
        return None

    def configure(self, leader: Node, settings: Sequence[tuple[str, str]]) -> None:
        # A read that failed raises (CommandFailed): slurm.conf is only rewritten from its contents.
        current = leader.read_text(CONF_PATH)
        if current is None:
            raise LabError(
                f"{CONF_PATH} does not exist on the leader (it renders it when it starts: `lab up`); "
                "nothing was changed"
            )
        leader.write_text(CONF_PATH, set_conf_values(current, settings), user="root")
        leader.exec(["scontrol", "reconfigure"])

    def export(self, leader: Node | None, workers: Sequence[Node], directory: Path) -> None:
        if leader is None:
            return
        try:
            sinfo = leader.exec(SINFO_ARGV, check=False)
            nodes_text = leader.exec(["scontrol", "show", "nodes"], check=False).stdout
            jobs_text = leader.exec(["scontrol", "show", "jobs"], check=False).stdout
            (directory / "scheduler-nodes.txt").write_text(sinfo.stdout + sinfo.stderr + "\n" + nodes_text)
            (directory / "scheduler-jobs.txt").write_text(jobs_text)
        except LabError as error:
            (directory / "scheduler-nodes.txt").write_text(f"could not ask the scheduler: {error}\n")
        try:
            conf = leader.read_text(CONF_PATH)
        except LabError as error:
            conf = f"# could not read {CONF_PATH}: {error}\n"
        (directory / "slurm.conf").write_text(conf if conf is not None else f"# {CONF_PATH} does not exist\n")

    def explain(self, logs: str) -> str:
        return ""
