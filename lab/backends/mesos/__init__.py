"""The Mesos backend, host side: the master's view of its agents, pinning, logs.

mesos-master runs on the leader and mesos-agent on every worker, from the Mesos build
named by MESOS_PACKAGE (package.py checks it, image.py builds it into the image); their
flags are in-node code (innode/mesos_daemons.py). The host asks the master through the
leader: /master/state with a bash request (innode.mesos_daemons.state_argv: no interpreter
starts, so `lab up` can poll it often), the operator API with `python3 -m innode.mesos_daemons`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from innode.layout import worker_order
from innode.mesos_daemons import ENDPOINT, SANDBOXES_DIR, http_body, state_argv
from lab import docker
from lab.backends.backend import WorkerState
from lab.errors import ConfigError, LabError
from lab.node import Node
from lab.wait import Check

DAEMONS = ["python3", "-m", "innode.mesos_daemons"]
# Toil's own Mesos batch system; it ships user code to the workers by itself.
BATCH_SYSTEM = "mesos"
RUNNING_TASK_STATES = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING")
# The AVENTER fork's agent refuses hosts whose cgroup v2 hierarchy is mounted at
# /sys/fs/cgroup/unified (hybrid cgroups); its log line contains this.
CGROUPS2_REFUSAL = "cgroups2 mount at an unexpected location"


def running_tasks(state: Mapping[str, Any]) -> dict[str, int]:
    """Tasks staging, starting or running, by agent id."""
    running: dict[str, int] = {}
    for framework in state.get("frameworks") or []:
        for task in framework.get("tasks") or []:
            if task.get("state") in RUNNING_TASK_STATES:
                agent = str(task.get("slave_id", ""))
                running[agent] = running.get(agent, 0) + 1
    return running


def parse_agents(state: Mapping[str, Any]) -> list[WorkerState]:
    """The agents in the master's /master/state, one per worker, by worker number.

    A worker whose container was recreated registers a new agent while the master may
    still list its old one (disconnected): the connected one stands for the worker. An
    agent the master has declared unreachable (no answer to its pings for
    agent_ping_timeout x max_agent_ping_timeouts) is no longer listed: lost, as a Slurm
    node that is DOWN; a listed agent that is only disconnected is not lost yet.
    """
    running = running_tasks(state)
    agents: dict[str, WorkerState] = {}
    for agent in state.get("slaves") or []:
        resources = agent.get("resources") or {}
        used = agent.get("used_resources") or {}
        active = bool(agent.get("active"))
        deactivated = bool(agent.get("deactivated", False))
        status = "deactivated" if deactivated else ("active" if active else "inactive")
        agent_id = str(agent.get("id", ""))
        raw = (
            f"{status}, cpus {float(used.get('cpus', 0)):g}/{float(resources.get('cpus', 0)):g}, "
            f"mem {float(used.get('mem', 0)):g}/{float(resources.get('mem', 0)):g}M, "
            f"{running.get(agent_id, 0)} tasks"
        )
        reason = "" if active else "not connected to the master"
        if deactivated:
            reason = "deactivated: no offers (lab pins jobs elsewhere)"
        name = str(agent.get("hostname", ""))
        found = WorkerState(name, status, raw, reason, active and not deactivated, False, agent_id)
        if name not in agents or (active and agents[name].state == "inactive"):
            agents[name] = found
    return [agents[name] for name in sorted(agents, key=worker_order)]


def is_elected(state: Mapping[str, Any]) -> bool:
    """True when the master that answered is the elected leading master."""
    return bool(state.get("elected_time")) and state.get("leader") == state.get("pid")


def fetch_state(leader: Node) -> dict[str, Any]:
    """The master's /master/state, fetched on the leader; ValueError if the master did not answer it."""
    result = leader.exec(state_argv(), check=False)
    if result.returncode != 0 and not result.stdout:
        reason = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        raise ValueError(f"the master does not answer on {ENDPOINT}: {reason[0]}")
    data: dict[str, Any] = json.loads(http_body(result.stdout))
    return data


def master_state(leader: Node) -> dict[str, Any]:
    """The master's /master/state, fetched on the leader (LabError if it cannot be had)."""
    try:
        return fetch_state(leader)
    except ValueError as error:
        raise LabError(str(error)) from None


def set_active(leader: Node, name: str, *, active: bool) -> None:
    """Stop (or resume) offers from one worker's agent; its running tasks go on."""
    agents = {agent.name: agent for agent in parse_agents(master_state(leader))}
    if name not in agents:
        raise LabError(f"the Mesos master knows no agent on {name} (it knows: {', '.join(agents) or 'none'})")
    leader.exec([*DAEMONS, "activate" if active else "deactivate", agents[name].id])


def teardown(leader: Node, framework_id: str) -> None:
    """Remove a framework from the master (its tasks are killed), as an operator's TEARDOWN does."""
    leader.exec([*DAEMONS, "teardown", framework_id])


class MesosBackend:
    """mesos-master on the leader, mesos-agent on every worker."""

    name = "mesos"
    scheduler = "mesos-master"
    worker_daemon = "mesos-agent"
    # An agent offers SLOTS_PER_CPU x its CPUs, and Toil asks at least one core per job
    # (--defaultCores >= 1); Toil's Mesos scheduler fills the first offer that fits, and
    # Mesos withholds an agent whose offer Toil declined for 5 s, so with 4 slots a fan-out
    # lands on one worker. One slot per CPU makes a fan-out wider than a worker's CPUs use
    # the other workers (docs/mesos.md).
    default_slots_per_cpu = 1

    def leader_ready(self, leader: Node) -> Check[None]:
        try:
            state = fetch_state(leader)
        except ValueError as error:  # json.JSONDecodeError included: an answer cut short
            return Check(False, str(error), None)
        elected = is_elected(state)
        return Check(elected, "master elected" if elected else "master up, not yet elected", None)

    def worker_states(self, leader: Node) -> list[WorkerState]:
        return parse_agents(master_state(leader))

    def queued_jobs(self, leader: Node) -> int:
        return sum(running_tasks(master_state(leader)).values())

    def toil_options(self, *, auto_deploy: bool) -> list[tuple[str, str | None]]:
        # Toil's Mesos batch system always ships the user's code itself. A job asks
        # Toil's default (and least) core request, 1; each agent offers SLOTS_PER_CPU
        # times its CPUs (innode/mesos_daemons.py).
        return [("--batchSystem", BATCH_SYSTEM), ("--mesosEndpoint", ENDPOINT)]

    @contextlib.contextmanager
    def pinned(self, leader: Node, node: str, workers: Sequence[str]) -> Iterator[list[str]]:
        # Toil's Mesos batch system has no placement option: the other agents are
        # deactivated (no offers; their tasks go on) while the pinned run lasts.
        others = [name for name in workers if name != node]
        done: list[str] = []
        try:
            for name in others:
                set_active(leader, name, active=False)
                done.append(name)
            yield []
        finally:
            for name in done:
                set_active(leader, name, active=True)

    def after_rescale(self, leader: Node, workers: Sequence[Node]) -> None:
        # The recreated leader may have a new address, and an agent resolves
        # --master=leader:5050 when it starts: restart each agent (the entrypoint's
        # supervisor starts it again; it recovers from its work directory).
        for worker in workers:
            if worker.running:
                worker.exec(["pkill", "-TERM", "-x", self.worker_daemon], check=False)

    def rejoin(self, worker: Node) -> None:
        # An agent keeps serving on the address it started with. Docker usually gives a
        # node joined to the network again the same one, and then the agent re-registers
        # by itself; if the address changed, the entrypoint's supervisor starts the agent
        # again (after this TERM) with flags rendered anew, at the current address.
        if worker.role != "worker":
            return
        running = worker.exec(["pgrep", "-a", "-x", self.worker_daemon], check=False).stdout
        address = worker.exec([*DAEMONS, "own-ip"]).stdout.strip()
        if f" --ip={address} " not in f"{running.strip()} ":
            worker.exec(["pkill", "-TERM", "-x", self.worker_daemon], check=False)

    def configure(self, leader: Node, settings: Sequence[tuple[str, str]]) -> None:
        raise ConfigError(
            "scheduler settings can be changed on a running Slurm lab only; a Mesos master's flags "
            "are fixed at its start (innode/mesos_daemons.py)"
        )

    def export(self, leader: Node | None, workers: Sequence[Node], directory: Path) -> None:
        if leader is not None:
            result = leader.exec(state_argv(), check=False)
            answer = result.stdout or result.stderr
            with contextlib.suppress(ValueError):
                answer = http_body(answer)
            (directory / "mesos-master-state.json").write_text(answer)
        for worker in workers:
            if not worker.running:
                continue
            target = directory / "sandboxes" / worker.name
            target.mkdir(parents=True, exist_ok=True)
            try:
                docker.copy_from(worker.container_id, SANDBOXES_DIR, target)
            except LabError as error:
                (target / "ERROR.txt").write_text(f"could not copy {SANDBOXES_DIR}: {error}\n")

    def explain(self, logs: str) -> str:
        if CGROUPS2_REFUSAL in logs:
            return (
                "hint: this Mesos agent refuses to start because of how cgroups are mounted "
                f"('{CGROUPS2_REFUSAL}'): the Docker host uses hybrid cgroups (a cgroup2 mount at "
                "/sys/fs/cgroup/unified). Use a Mesos build without that check, or a host with pure "
                "cgroup v1 or v2 (systemd.unified_cgroup_hierarchy)."
            )
        if "error while loading shared libraries" in logs:
            return (
                "hint: a Mesos binary cannot find a shared library: name the Debian package that "
                "provides it in MESOS_EXTRA_PACKAGES and run `lab up` again."
            )
        return ""
