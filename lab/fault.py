"""Faults on purpose: kill, pause or cut off a node, restart the scheduler, kill Toil's leader.

Faults that last (a killed, paused or partitioned node) are read back from Docker's
own state, so `lab status` shows what is really in force; `heal` undoes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from innode.layout import LAB_USER, LEADER
from lab import docker
from lab.cluster import COMPOSE_PROJECT_LABEL, Lab
from lab.errors import ConfigError, LabError
from lab.node import Node

KINDS = ("kill", "pause", "partition", "restart-scheduler", "kill-leader")
# Faults that last until healed, as Docker shows them.
LASTING = ("kill", "pause", "partition")
COMPOSE_NETWORK_LABEL = "com.docker.compose.network"
LAB_NETWORK = "lab"  # the network's name in compose.yaml


@dataclass(frozen=True)
class Fault:
    """A fault in force on one node."""

    kind: str
    node: str
    detail: str = ""


def check_kind(kind: str) -> str:
    """A known fault kind, or a clear error listing them."""
    if kind not in KINDS:
        raise ConfigError(f"unknown fault {kind!r}; choose one of: {', '.join(KINDS)}")
    return kind


def lab_network(lab: Lab) -> str:
    """The Docker network that joins the lab's nodes."""
    names = docker.network_names({COMPOSE_PROJECT_LABEL: lab.config.name, COMPOSE_NETWORK_LABEL: LAB_NETWORK})
    if not names:
        raise LabError(f"lab {lab.config.name!r} has no network: is it up?")
    return names[0]


def networks(node: Node) -> dict[str, Any]:
    """The Docker networks the node is attached to, with its settings on each (its address)."""
    found: dict[str, Any] = node.inspect().get("NetworkSettings", {}).get("Networks") or {}
    return found


def connected(node: Node, network: str) -> bool:
    """True when the node is attached to the network."""
    return network in networks(node)


def faults_in_force(lab: Lab, nodes: Sequence[Node] | None = None) -> list[Fault]:
    """The lasting faults that Docker shows now (of `nodes`, as just listed, or listed here)."""
    network = None
    found = []
    for node in lab.nodes() if nodes is None else nodes:
        if node.state == "paused":
            found.append(Fault("pause", node.name))
        elif node.state in ("exited", "dead", "created"):
            found.append(Fault("kill", node.name, f"container {node.state}"))
        elif node.running:
            network = network or lab_network(lab)
            if not connected(node, network):
                found.append(Fault("partition", node.name, f"not on {network}"))
    return found


def inject(lab: Lab, kind: str, name: str) -> Fault:
    """Cause one fault now."""
    check_kind(kind)
    node = lab.node(name)
    if kind in ("restart-scheduler", "kill-leader") and node.role != "leader":
        raise ConfigError(f"{kind} acts on the leader, not on {name}: lab fault {kind} leader")
    if kind == "kill":
        node.kill()
        return Fault(kind, name)
    if kind == "pause":
        node.pause()
        return Fault(kind, name)
    if kind == "partition":
        network = lab_network(lab)
        keep_resolvable(lab, node, network)
        docker.disconnect(network, node.container_id)
        return Fault(kind, name, f"off {network}")
    if kind == "restart-scheduler":
        # The entrypoint's supervisor starts slurmctld (or mesos-master) again at once.
        scheduler = lab.backend().scheduler
        node.exec(["pkill", "-TERM", "-x", scheduler])
        return Fault(kind, name, scheduler)
    return kill_toil_leader(lab)


def kill_toil_leader(lab: Lab) -> Fault:
    """SIGKILL the Toil leader of the last run (the `python -m` process that holds its job store)."""
    from lab.workflow import require_last_run

    record = require_last_run(lab.leader())
    pattern = f" {record.job_store}( |$)"
    result = lab.leader().exec(["pkill", "-KILL", "-u", LAB_USER, "-f", pattern], check=False)
    if result.returncode != 0:
        raise LabError(f"no Toil leader is running for {record.job_store} on the leader")
    return Fault("kill-leader", LEADER, record.job_store)


# Marks the /etc/hosts lines that keep a cut-off node's name resolvable on the others.
PINNED = "# toil-lab: kept while cut off"


def keep_resolvable(lab: Lab, victim: Node, network: str) -> None:
    """Pin the victim's address under its name in the other running nodes' /etc/hosts.

    A partition cuts a host off the network, not out of DNS; but Docker's DNS forgets a
    container that leaves the network. Without this, Toil's Mesos scheduler, which resolves
    every offer's hostname, raises in its offer callback during the partition, and pymesos
    drops and renews its subscription dozens of times a second, losing the master's TASK_LOST.
    """
    address = str((networks(victim).get(network) or {}).get("IPAddress") or "")
    if not address:
        raise LabError(f"{victim.name} has no address on {network}: is it already cut off?")
    line = f"{address} {victim.name} {PINNED}"
    _as_root_on_the_others(lab, victim.name, ["sh", "-c", 'printf "%s\\n" "$1" >> /etc/hosts', "pin", line])


def forget_pinned(lab: Lab, name: str) -> None:
    """Remove the pins keep_resolvable left for `name` (Docker's DNS knows it again)."""
    # /etc/hosts is a bind mount: rewritten in place, never replaced (as sed -i would).
    script = (
        'grep -vF -- "$1" /etc/hosts > /tmp/hosts.lab; cat /tmp/hosts.lab > /etc/hosts; rm -f /tmp/hosts.lab'
    )
    _as_root_on_the_others(lab, name, ["sh", "-c", script, "forget", f" {name} {PINNED}"])


def _as_root_on_the_others(lab: Lab, name: str, argv: list[str]) -> None:
    """Run argv as root on every running node but `name` (a paused node cannot exec)."""
    for node in lab.nodes():
        if node.running and node.name != name:
            node.exec(argv, user="root")


def heal(lab: Lab, name: str) -> list[str]:
    """Undo every lasting fault of a node; what was undone."""
    node = lab.node(name)
    undone = []
    if node.state == "paused":
        node.unpause()
        undone.append("resumed")
    elif node.state in ("exited", "dead", "created"):
        node.start()
        undone.append("started")
    current = lab.node(name)
    if current.running:
        network = lab_network(lab)
        if not connected(current, network):
            docker.connect(network, current.container_id, aliases=[name])
            forget_pinned(lab, name)
            lab.backend().rejoin(current)
            undone.append(f"reconnected to {network}")
    return undone


def heal_all(lab: Lab) -> dict[str, list[str]]:
    """Undo every lasting fault of the lab."""
    return {fault.node: heal(lab, fault.node) for fault in faults_in_force(lab)}


def after(seconds: float, action: Callable[[], Fault], sleep: Callable[[float], None] = time.sleep) -> Fault:
    """Run a fault after a delay the user asked for (a schedule, not a readiness wait)."""
    if seconds < 0:
        raise ConfigError("--after takes a number of seconds >= 0")
    sleep(seconds)
    return action()
