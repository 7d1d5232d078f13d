"""The Mesos backend: master and agent flags for N workers, and the master's view of its agents.

mesos-master runs on the leader with an in-memory registry; mesos-agent on every
worker, each with its own work directory on the worker's private volume, the posix
launcher (unprivileged containers have no writable cgroups) and no systemd. Every
daemon advertises its own container address on the Compose network (--ip,
--advertise_ip, LIBPROCESS_IP), not the Docker host's.

Like lab/slurm.py this module also runs inside the nodes (`python3 -m lab.mesos ...`:
flags, health, state, agent activation), so it uses the standard library only.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lab.config import worker_order

MASTER_HOST = "leader"
MASTER_PORT = 5050
AGENT_PORT = 5051
ENDPOINT = f"{MASTER_HOST}:{MASTER_PORT}"
MESOS_DIR = "/var/lib/lab/mesos"  # on each node's private volume
MASTER_WORK_DIR = f"{MESOS_DIR}/master"
AGENT_WORK_DIR = f"{MESOS_DIR}/agent"
# Where an agent keeps its executors' sandboxes (stdout and stderr of each task).
SANDBOXES_DIR = f"{AGENT_WORK_DIR}/slaves"
# Written by images/mesos/install-mesos: where the package put the daemons and the
# launcher's helpers. Not MESOS_* names: Mesos reads those as flags.
INSTALL_ENV_FILE = "/etc/toil-lab/mesos.env"
# Mesos starts executors with a clean environment, and Toil's executor command is the
# bare name `_toil_mesos_executor`: its PATH must include where Toil's scripts are.
EXECUTOR_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Memory left to the worker's OS and the agent itself, as for Slurm's RealMemory.
RESERVED_MEMORY_MB = 128
HTTP_TIMEOUT = 5.0
# Toil's Mesos batch system reads this attribute of each offer (Toil's appliance sets it).
AGENT_ATTRIBUTES = "preemptible:False"
# The AVENTER fork's agent refuses hosts whose cgroup v2 hierarchy is mounted at
# /sys/fs/cgroup/unified (hybrid cgroups); its log line contains this.
CGROUPS2_REFUSAL = "cgroups2 mount at an unexpected location"


@dataclass(frozen=True)
class MesosLayout:
    """What the daemons' flags need: the lab, this node and the workers' size."""

    cluster: str
    hostname: str
    ip: str
    cpus: int
    memory_mb: int
    launcher_dir: str
    slots_per_cpu: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MesosLayout:
        """Read the layout from compose.yaml's variables and the install's env file."""
        return cls(
            cluster=env["LAB_NAME"],
            hostname=socket.gethostname(),
            ip=own_ip(),
            cpus=int(env.get("LAB_WORKER_CPUS", "1")),
            memory_mb=int(env.get("LAB_WORKER_MEMORY_MB", "1024")),
            launcher_dir=env.get("LAB_MESOS_LAUNCHER_DIR", "/usr/libexec/mesos"),
            slots_per_cpu=int(env.get("LAB_SLOTS_PER_CPU", "1")),
        )


def own_ip() -> str:
    """This container's address on the lab network (Docker writes it in /etc/hosts)."""
    return socket.gethostbyname(socket.gethostname())


def master_flags(layout: MesosLayout) -> list[str]:
    """mesos-master's command line on the leader."""
    return [
        f"--ip={layout.ip}",
        f"--advertise_ip={layout.ip}",
        f"--port={MASTER_PORT}",
        f"--hostname={MASTER_HOST}",
        "--no-hostname_lookup",
        f"--cluster={layout.cluster}",
        # One master, no ZooKeeper: the registry lives in memory (as in Toil's tests),
        # so a restarted master learns its agents again when they re-register.
        "--registry=in_memory",
        f"--work_dir={MASTER_WORK_DIR}",
        # Offers every 500 ms instead of every second: a lab's jobs are short.
        "--allocation_interval=500ms",
        # A lost agent is declared gone within ~10 s (default 75 s), as SlurmdTimeout.
        "--agent_ping_timeout=2secs",
        "--max_agent_ping_timeouts=5",
    ]


def agent_resources(layout: MesosLayout) -> str:
    """The agent's --resources: SLOTS_PER_CPU x the container's CPUs, its memory less the OS's share.

    Toil asks at least one core per job; an agent that offers `slots_per_cpu` cores per
    CPU runs that many jobs on each, as Slurm's OverSubscribe=FORCE does.
    """
    memory = max(layout.memory_mb - RESERVED_MEMORY_MB, 128)
    return f"cpus:{layout.cpus * layout.slots_per_cpu};mem:{memory}"


def executor_environment() -> dict[str, str]:
    """The whole environment Mesos gives each executor (it adds its MESOS_* variables)."""
    return {"PATH": EXECUTOR_PATH, "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}


def agent_flags(layout: MesosLayout) -> list[str]:
    """mesos-agent's command line on a worker."""
    return [
        f"--master={ENDPOINT}",
        f"--ip={layout.ip}",
        f"--advertise_ip={layout.ip}",
        f"--port={AGENT_PORT}",
        f"--hostname={layout.hostname}",
        "--no-hostname_lookup",
        # Its own work directory, on this worker's private volume: its executors'
        # sandboxes and checkpoints are invisible to the other agents.
        f"--work_dir={AGENT_WORK_DIR}",
        "--containerizers=mesos",
        # No writable cgroups in an unprivileged container: plain processes, no systemd.
        "--launcher=posix",
        f"--launcher_dir={layout.launcher_dir}",
        "--isolation=posix/cpu,posix/mem",
        "--no-systemd_enable_support",
        f"--resources={agent_resources(layout)}",
        f"--attributes={AGENT_ATTRIBUTES}",
        "--executor_environment_variables=" + json.dumps(executor_environment(), sort_keys=True),
        # Python executors take a second or two to register; the default is 1 min.
        "--executor_registration_timeout=2mins",
    ]


def daemon_environment(ip: str) -> dict[str, str]:
    """What libprocess reads to bind and advertise this container's address."""
    return {"LIBPROCESS_IP": ip, "LIBPROCESS_ADVERTISE_IP": ip}


# --- the master's view ----------------------------------------------------------


@dataclass(frozen=True)
class AgentState:
    """One agent as the master sees it."""

    name: str  # the agent's hostname: worker-1, ...
    agent_id: str
    state: str  # active, deactivated or inactive
    raw: str  # a one-line summary: state, resources used, tasks
    reason: str
    ready: bool
    cpus: float
    memory_mb: float
    used_cpus: float
    used_memory_mb: float
    tasks: int


def parse_agents(state: Mapping[str, Any]) -> list[AgentState]:
    """The agents in the master's /master/state, by worker number."""
    running: dict[str, int] = {}
    for framework in state.get("frameworks") or []:
        for task in framework.get("tasks") or []:
            if task.get("state") in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING"):
                agent = str(task.get("slave_id", ""))
                running[agent] = running.get(agent, 0) + 1
    agents = []
    for agent in state.get("slaves") or []:
        resources = agent.get("resources") or {}
        used = agent.get("used_resources") or {}
        active = bool(agent.get("active"))
        deactivated = bool(agent.get("deactivated", False))
        status = "deactivated" if deactivated else ("active" if active else "inactive")
        tasks = running.get(str(agent.get("id", "")), 0)
        cpus, memory = float(resources.get("cpus", 0)), float(resources.get("mem", 0))
        used_cpus, used_memory = float(used.get("cpus", 0)), float(used.get("mem", 0))
        raw = f"{status}, cpus {used_cpus:g}/{cpus:g}, mem {used_memory:g}/{memory:g}M, {tasks} tasks"
        reason = "" if active else "not connected to the master"
        if deactivated:
            reason = "deactivated: no offers (lab pins jobs elsewhere)"
        agents.append(
            AgentState(
                name=str(agent.get("hostname", "")),
                agent_id=str(agent.get("id", "")),
                state=status,
                raw=raw,
                reason=reason,
                ready=active and not deactivated,
                cpus=cpus,
                memory_mb=memory,
                used_cpus=used_cpus,
                used_memory_mb=used_memory,
                tasks=tasks,
            )
        )
    return sorted(agents, key=lambda a: worker_order(a.name))


def is_elected(state: Mapping[str, Any]) -> bool:
    """True when the master that answered is the elected leading master."""
    return bool(state.get("elected_time")) and state.get("leader") == state.get("pid")


def deactivate_call(agent_id: str) -> dict[str, Any]:
    """The operator API call that stops offers from an agent, keeping its tasks (Mesos >= 1.9)."""
    return {"type": "DEACTIVATE_AGENT", "deactivate_agent": {"agent_id": {"value": agent_id}}}


def reactivate_call(agent_id: str) -> dict[str, Any]:
    """The operator API call that lets an agent's resources be offered again."""
    return {"type": "REACTIVATE_AGENT", "reactivate_agent": {"agent_id": {"value": agent_id}}}


# Toil's own Mesos batch system; it ships user code to the workers by itself.
BATCH_SYSTEM = "mesos"


def toil_options() -> list[tuple[str, str | None]]:
    """Toil options (name, value) that run a workflow on this backend."""
    return [("--batchSystem", BATCH_SYSTEM), ("--mesosEndpoint", ENDPOINT)]


# --- host side: through the leader ------------------------------------------------


class Scheduler(Protocol):
    """What the lab asks of the node it runs master queries on."""

    def exec(self, argv: Sequence[str], *, check: bool = ...) -> Any: ...


STATE_ARGV = ["python3", "-m", "lab.mesos", "state"]


def master_state(leader: Scheduler) -> dict[str, Any]:
    """The master's /master/state, fetched on the leader."""
    data: dict[str, Any] = json.loads(leader.exec(STATE_ARGV).stdout)
    return data


def worker_states(leader: Scheduler) -> list[AgentState]:
    """Every agent as the master sees it now."""
    return parse_agents(master_state(leader))


def set_active(leader: Scheduler, name: str, *, active: bool) -> None:
    """Stop (or resume) offers from one worker's agent; its running tasks go on."""
    leader.exec(["python3", "-m", "lab.mesos", "activate" if active else "deactivate", name])


# --- in-node entry points ---------------------------------------------------------


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
        body: bytes = response.read()
        return body


def _operator_call(body: Mapping[str, Any]) -> None:
    request = urllib.request.Request(
        f"http://{MASTER_HOST}:{MASTER_PORT}/api/v1",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        response.read()


def _agent_id(name: str) -> str:
    state = json.loads(_get(f"http://{MASTER_HOST}:{MASTER_PORT}/master/state"))
    for agent in parse_agents(state):
        if agent.name == name:
            return agent.agent_id
    raise SystemExit(f"lab.mesos: the master knows no agent {name!r}")


def main(argv: Sequence[str]) -> int:
    """`python3 -m lab.mesos flags ROLE | env | own-ip | health ROLE | state | (de)activate NAME`."""
    args = list(argv)
    try:
        if len(args) == 2 and args[0] == "flags" and args[1] in ("leader", "worker"):
            layout = MesosLayout.from_env(os.environ)
            flags = master_flags(layout) if args[1] == "leader" else agent_flags(layout)
            sys.stdout.write("\n".join(flags) + "\n")
            return 0
        if len(args) == 2 and args[0] == "health" and args[1] in ("leader", "worker"):
            port = MASTER_PORT if args[1] == "leader" else AGENT_PORT
            _get(f"http://{own_ip()}:{port}/health")
            return 0
        if args == ["own-ip"]:
            print(own_ip())
            return 0
        if args == ["env"]:
            for key, value in daemon_environment(own_ip()).items():
                print(f"{key}={value}")
            return 0
        if args == ["state"]:
            sys.stdout.write(_get(f"http://{MASTER_HOST}:{MASTER_PORT}/master/state").decode())
            return 0
        if len(args) == 2 and args[0] in ("activate", "deactivate"):
            agent = _agent_id(args[1])
            _operator_call(reactivate_call(agent) if args[0] == "activate" else deactivate_call(agent))
            return 0
    except (urllib.error.URLError, OSError) as error:
        print(f"lab.mesos: {' '.join(args)}: {error}", file=sys.stderr)
        return 1
    print(
        "usage: python3 -m lab.mesos flags leader|worker | env | health leader|worker | own-ip | state | "
        "activate NAME | deactivate NAME",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
