"""lab/fault.py: each fault's docker argv, the faults Docker shows, and how they are undone."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from lab import backends as backend
from lab import fault
from lab.backends import Backend
from lab.errors import ConfigError, LabError
from lab.fault import Fault
from lab.node import Node

from .fakes import FakeRun

IDS = {
    "leader": "a" * 64,
    "worker-1": "1" * 64,
    "worker-2": "2" * 64,
    "worker-3": "3" * 64,
}
NETWORK = "t_lab"
NETWORK_LS = [
    "docker",
    "network",
    "ls",
    "--quiet",
    "--format",
    "{{.Name}}",
    "--filter",
    "label=com.docker.compose.project=t",
    "--filter",
    "label=com.docker.compose.network=lab",
]


def node(name: str, state: str = "running") -> Node:
    return Node(
        name=name,
        role="leader" if name == "leader" else "worker",
        container_id=IDS[name],
        container_name=f"t-{name}-1",
        state=state,
        health="",
    )


class FakeLab:
    """Just what lab/fault.py asks of a Lab: its name, its nodes, a node by name.

    Each name maps to the views successive `node(name)` calls return (the last one
    repeats), so a heal sees the container change state under it.
    """

    def __init__(self, *views: Node | list[Node]) -> None:
        self.config = SimpleNamespace(name="t")
        self.runs_on = "slurm"
        self.views: dict[str, list[Node]] = {}
        for view in views:
            sequence = view if isinstance(view, list) else [view]
            self.views[sequence[0].name] = list(sequence)

    def batch_system(self) -> str:
        return self.runs_on

    def backend(self) -> Backend:
        return backend.get(self.runs_on)

    def nodes(self) -> list[Node]:
        return [sequence[0] for sequence in self.views.values()]

    def node(self, name: str) -> Node:
        sequence = self.views[name]
        return sequence.pop(0) if len(sequence) > 1 else sequence[0]


def lab(*views: Node | list[Node]) -> Any:
    return FakeLab(*views)


def inspect_output(*networks: str) -> str:
    return json.dumps([{"NetworkSettings": {"Networks": {name: {} for name in networks}}}])


def test_check_kind_accepts_every_kind() -> None:
    for kind in fault.KINDS:
        assert fault.check_kind(kind) == kind


def test_check_kind_rejects_an_unknown_kind_listing_the_choices() -> None:
    with pytest.raises(ConfigError) as raised:
        fault.check_kind("explode")
    message = str(raised.value)
    assert "'explode'" in message
    for kind in ("kill", "pause", "partition", "restart-scheduler", "kill-leader"):
        assert kind in message


def test_inject_unknown_kind_touches_nothing(fake_run: FakeRun) -> None:
    with pytest.raises(ConfigError):
        fault.inject(lab(node("worker-1")), "explode", "worker-1")
    assert fake_run.calls == []


def test_inject_kill_sends_sigkill(fake_run: FakeRun) -> None:
    fake_run.on("docker", "kill")
    found = fault.inject(lab(node("worker-2")), "kill", "worker-2")
    assert fake_run.argvs == [["docker", "kill", "--signal", "KILL", IDS["worker-2"]]]
    assert found == Fault("kill", "worker-2")


def test_inject_pause_pauses_the_container(fake_run: FakeRun) -> None:
    fake_run.on("docker", "pause")
    found = fault.inject(lab(node("worker-1")), "pause", "worker-1")
    assert fake_run.argvs == [["docker", "pause", IDS["worker-1"]]]
    assert found == Fault("pause", "worker-1")


def test_inject_partition_keeps_the_name_resolvable_then_disconnects(fake_run: FakeRun) -> None:
    """A real partition leaves the host in DNS: its address is pinned in the other running
    nodes' /etc/hosts (not a paused one's) before Docker's DNS forgets it."""
    fake_run.on("docker", "network", "ls", stdout=f"{NETWORK}\n")
    addressed = json.dumps([{"NetworkSettings": {"Networks": {NETWORK: {"IPAddress": "192.168.0.4"}}}}])
    fake_run.on("docker", "inspect", stdout=addressed)
    fake_run.on("docker", "exec")
    fake_run.on("docker", "network", "disconnect")
    the_lab = lab(node("leader"), node("worker-1", "paused"), node("worker-3"))
    found = fault.inject(the_lab, "partition", "worker-3")
    pin = ["sh", "-c", 'printf "%s\\n" "$1" >> /etc/hosts', "pin", f"192.168.0.4 worker-3 {fault.PINNED}"]
    assert fake_run.argvs == [
        NETWORK_LS,
        ["docker", "inspect", IDS["worker-3"]],
        ["docker", "exec", "--user", "root", IDS["leader"], *pin],
        ["docker", "network", "disconnect", "--force", NETWORK, IDS["worker-3"]],
    ]
    assert found == Fault("partition", "worker-3", f"off {NETWORK}")


def test_inject_partition_of_a_node_without_an_address_changes_nothing(fake_run: FakeRun) -> None:
    fake_run.on("docker", "network", "ls", stdout=f"{NETWORK}\n")
    fake_run.on("docker", "inspect", stdout=inspect_output())
    with pytest.raises(LabError, match="worker-3 has no address on t_lab"):
        fault.inject(lab(node("leader"), node("worker-3")), "partition", "worker-3")
    assert fake_run.argvs == [NETWORK_LS, ["docker", "inspect", IDS["worker-3"]]]


def test_inject_partition_without_a_network_says_the_lab_is_not_up(fake_run: FakeRun) -> None:
    fake_run.on("docker", "network", "ls", stdout="")
    with pytest.raises(LabError, match="'t' has no network"):
        fault.inject(lab(node("worker-3")), "partition", "worker-3")
    assert fake_run.argvs == [NETWORK_LS]


def test_inject_restart_scheduler_terms_slurmctld_on_the_leader(fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec")
    found = fault.inject(lab(node("leader")), "restart-scheduler", "leader")
    assert fake_run.argvs == [["docker", "exec", IDS["leader"], "pkill", "-TERM", "-x", "slurmctld"]]
    assert found == Fault("restart-scheduler", "leader", "slurmctld")


def test_inject_restart_scheduler_terms_the_mesos_master_on_a_mesos_lab(fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec")
    mesos_lab = lab(node("leader"))
    mesos_lab.runs_on = "mesos"
    found = fault.inject(mesos_lab, "restart-scheduler", "leader")
    assert fake_run.argvs == [["docker", "exec", IDS["leader"], "pkill", "-TERM", "-x", "mesos-master"]]
    assert found == Fault("restart-scheduler", "leader", "mesos-master")


@pytest.mark.parametrize("kind", ["restart-scheduler", "kill-leader"])
def test_leader_faults_refuse_a_worker(fake_run: FakeRun, kind: str) -> None:
    with pytest.raises(ConfigError, match=f"{kind} acts on the leader, not on worker-1"):
        fault.inject(lab(node("worker-1")), kind, "worker-1")
    assert fake_run.calls == []


def test_faults_in_force_reads_docker_state(fake_run: FakeRun) -> None:
    fake_run.on("docker", "network", "ls", stdout=f"{NETWORK}\n")
    fake_run.on("docker", "inspect", IDS["leader"], stdout=inspect_output(NETWORK))
    fake_run.on("docker", "inspect", IDS["worker-3"], stdout=inspect_output("bridge"))
    the_lab = lab(
        node("leader"),
        node("worker-1", "paused"),
        node("worker-2", "exited"),
        node("worker-3"),
    )
    assert fault.faults_in_force(the_lab) == [
        Fault("pause", "worker-1"),
        Fault("kill", "worker-2", "container exited"),
        Fault("partition", "worker-3", f"not on {NETWORK}"),
    ]
    # The network is looked up once; only running nodes are inspected.
    assert fake_run.argvs == [
        NETWORK_LS,
        ["docker", "inspect", IDS["leader"]],
        ["docker", "inspect", IDS["worker-3"]],
    ]


def test_faults_in_force_of_a_healthy_lab_is_empty(fake_run: FakeRun) -> None:
    fake_run.on("docker", "network", "ls", stdout=f"{NETWORK}\n")
    fake_run.on("docker", "inspect", stdout=inspect_output(NETWORK))
    assert fault.faults_in_force(lab(node("leader"), node("worker-1"))) == []


def test_heal_unpauses_a_paused_node(fake_run: FakeRun) -> None:
    fake_run.on("docker", "unpause")
    fake_run.on("docker", "network", "ls", stdout=f"{NETWORK}\n")
    fake_run.on("docker", "inspect", stdout=inspect_output(NETWORK))
    the_lab = lab([node("worker-1", "paused"), node("worker-1")])
    assert fault.heal(the_lab, "worker-1") == ["resumed"]
    assert fake_run.argvs == [
        ["docker", "unpause", IDS["worker-1"]],
        NETWORK_LS,
        ["docker", "inspect", IDS["worker-1"]],
    ]


def test_heal_starts_an_exited_node(fake_run: FakeRun) -> None:
    fake_run.on("docker", "start")
    fake_run.on("docker", "network", "ls", stdout=f"{NETWORK}\n")
    fake_run.on("docker", "inspect", stdout=inspect_output(NETWORK))
    the_lab = lab([node("worker-2", "exited"), node("worker-2")])
    assert fault.heal(the_lab, "worker-2") == ["started"]
    assert fake_run.argvs[0] == ["docker", "start", IDS["worker-2"]]
    assert not any(argv[:3] == ["docker", "network", "connect"] for argv in fake_run.argvs)


def test_heal_reconnects_a_partitioned_node_under_its_name_and_unpins_it(fake_run: FakeRun) -> None:
    fake_run.on("docker", "network", "ls", stdout=f"{NETWORK}\n")
    fake_run.on("docker", "inspect", stdout=inspect_output())
    fake_run.on("docker", "network", "connect")
    fake_run.on("docker", "exec")
    the_lab = lab(node("leader"), node("worker-3"))
    assert fault.heal(the_lab, "worker-3") == [f"reconnected to {NETWORK}"]
    assert fake_run.argvs[:3] == [
        NETWORK_LS,
        ["docker", "inspect", IDS["worker-3"]],
        ["docker", "network", "connect", "--alias", "worker-3", NETWORK, IDS["worker-3"]],
    ]
    unpin = fake_run.argvs[3]
    assert unpin[:5] == ["docker", "exec", "--user", "root", IDS["leader"]]
    assert unpin[-1] == f" worker-3 {fault.PINNED}"


def test_heal_of_a_healthy_node_does_nothing(fake_run: FakeRun) -> None:
    fake_run.on("docker", "network", "ls", stdout=f"{NETWORK}\n")
    fake_run.on("docker", "inspect", stdout=inspect_output(NETWORK))
    assert fault.heal(lab(node("worker-1")), "worker-1") == []
    assert fake_run.argvs == [NETWORK_LS, ["docker", "inspect", IDS["worker-1"]]]


def test_after_sleeps_then_acts() -> None:
    events: list[Any] = []
    expected = Fault("kill", "worker-1")

    def action() -> Fault:
        events.append("act")
        return expected

    assert fault.after(2.5, action, sleep=events.append) is expected
    assert events == [2.5, "act"]


def test_after_rejects_a_negative_delay() -> None:
    events: list[Any] = []

    def action() -> Fault:
        events.append("act")
        return Fault("kill", "worker-1")

    with pytest.raises(ConfigError, match=">= 0"):
        fault.after(-1, action, sleep=events.append)
    assert events == []
