"""The Mesos daemons of a lab: mesos-master on the leader, mesos-agent on every worker.

The entrypoint runs `python3 -m innode.mesos_daemons start leader|worker`, which renders
the daemon's flags and environment and becomes the daemon (one interpreter, then exec).
The host polls the master's /master/state while a lab starts with `state_argv()`, a bash
request that starts no interpreter, and asks `activate|deactivate AGENT_ID` through the
leader (the master answers on the lab's network only: no port is published on the host).

The master keeps an in-memory registry; each agent has its own work directory on its
worker's private volume, the posix launcher (unprivileged containers have no writable
cgroups) and no systemd. Every daemon advertises its own container address on the
Compose network (--advertise_ip, LIBPROCESS_ADVERTISE_IP), not the Docker host's; the
master listens on every address of the leader, the agents on their own.
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
from typing import Any, NoReturn

from innode.layout import LEADER, NODE_STATE_DIR, RESERVED_MEMORY_MB

MASTER_PORT = 5050
ANY_ADDRESS = "0.0.0.0"
AGENT_PORT = 5051
ENDPOINT = f"{LEADER}:{MASTER_PORT}"
MESOS_DIR = f"{NODE_STATE_DIR}/mesos"  # on each node's private volume
MASTER_WORK_DIR = f"{MESOS_DIR}/master"
AGENT_WORK_DIR = f"{MESOS_DIR}/agent"
# Where an agent keeps its executors' sandboxes (stdout and stderr of each task).
SANDBOXES_DIR = f"{AGENT_WORK_DIR}/slaves"
# Mesos starts executors with a clean environment, and Toil's executor command is the
# bare name `_toil_mesos_executor`: its PATH must include where Toil's scripts are.
EXECUTOR_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HTTP_TIMEOUT = 5.0
# How soon an agent (re-)registers with a master it found (Mesos's default: within 1 s).
REGISTRATION_BACKOFF = "100ms"
# Toil's Mesos batch system reads this attribute of each offer (Toil's appliance sets it).
AGENT_ATTRIBUTES = "preemptible:False"
# Where the Mesos image's env file (images/mesos/install-mesos) names each role's daemon.
DAEMON_VARIABLES = {"leader": "LAB_MESOS_MASTER", "worker": "LAB_MESOS_AGENT"}
# An HTTP/1.0 GET with bash's /dev/tcp: the master answers and closes the connection.
# `timeout` ends it if the master accepted the connection but never answered.
HTTP_GET_SCRIPT = (
    'exec 3<>"/dev/tcp/$1/$2" && '
    'printf \'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n\' "$3" "$1" >&3 && cat <&3'
)


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
    """This container's address on the lab network: the one it reaches the leader from.

    Asked of the kernel's routes, not of /etc/hosts, which Docker may leave as it was
    when a node is cut off the network and joined to it again (`lab heal`).
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((LEADER, MASTER_PORT))  # UDP: nothing is sent
            address: str = probe.getsockname()[0]
            return address
    except OSError:
        return socket.gethostbyname(socket.gethostname())


def master_flags(layout: MesosLayout) -> list[str]:
    """mesos-master's command line on the leader."""
    return [
        # Every address of the leader, its loopback included: Toil's own appliance tests
        # (`lab toil-tests`) run their workflows on the leader with
        # --mesosEndpoint=localhost:5050. Agents and frameworks are told the container's
        # address (--advertise_ip).
        f"--ip={ANY_ADDRESS}",
        f"--advertise_ip={layout.ip}",
        f"--port={MASTER_PORT}",
        f"--hostname={LEADER}",
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
        # An agent waits a random time in [0, b] before it first registers, and retries in
        # [0, 2b], [0, 4b] ... (b = 1 s by default): the agents start with the master, so a
        # first attempt before the master listens cost up to 2 s more of `lab up`.
        f"--registration_backoff_factor={REGISTRATION_BACKOFF}",
    ]


def daemon_environment(ip: str) -> dict[str, str]:
    """What libprocess reads to bind and advertise this container's address."""
    return {"LIBPROCESS_IP": ip, "LIBPROCESS_ADVERTISE_IP": ip}


def daemon_flags(role: str, layout: MesosLayout) -> list[str]:
    """The flags of this role's daemon: mesos-master's on the leader, mesos-agent's on a worker."""
    return master_flags(layout) if role == "leader" else agent_flags(layout)


def daemon_argv(role: str, layout: MesosLayout, env: Mapping[str, str]) -> list[str]:
    """The daemon's whole command line: its binary (from the Mesos image's env file) and flags."""
    variable = DAEMON_VARIABLES[role]
    binary = env.get(variable)
    if not binary:
        raise KeyError(f"{variable} is not set: this image has no Mesos (/etc/toil-lab/mesos.env)")
    return [binary, *daemon_flags(role, layout)]


def start(role: str, env: Mapping[str, str]) -> NoReturn:
    """Become this node's Mesos daemon: flags and libprocess's addresses rendered now, then exec.

    Rendered at each start, so that a daemon started again (after `lab heal` of a
    partition, or a restart) binds the container's current address.
    """
    layout = MesosLayout.from_env(env)
    argv = daemon_argv(role, layout, env)
    os.execve(argv[0], argv, {**env, **daemon_environment(layout.ip)})


def state_argv(path: str = "/master/state", seconds: float = HTTP_TIMEOUT) -> list[str]:
    """A command, run in a node, that prints the master's HTTP response to GET `path`.

    bash and coreutils only: the host polls it while a lab starts, and a Python
    interpreter's start would cost more than the request (http_body reads the answer).
    """
    host, port = ENDPOINT.split(":")
    return ["timeout", f"{seconds:g}", "bash", "-c", HTTP_GET_SCRIPT, "mesos-http-get", host, port, path]


def http_body(response: str) -> str:
    """The body of an HTTP/1.x response with status 200; ValueError with the status line otherwise.

    The header ends at the first blank line, CRLF or LF (text read in universal-newline
    mode, as subprocess's text=True does, has lost its CRs).
    """
    ends = [(i, len(mark)) for mark in ("\r\n\r\n", "\n\n") if (i := response.find(mark)) >= 0]
    end, mark_length = min(ends) if ends else (len(response), 0)
    head, body = response[:end], response[end + mark_length :]
    status = head.splitlines()[0] if head else ""
    parts = status.split(" ", 2)
    if not mark_length or len(parts) < 2 or not parts[0].startswith("HTTP/") or parts[1] != "200":
        raise ValueError(f"the master answered {status.strip()[:120]!r}, not 200 with a body")
    return body


def deactivate_call(agent_id: str) -> dict[str, Any]:
    """The operator API call that stops offers from an agent, keeping its tasks (Mesos >= 1.9)."""
    return {"type": "DEACTIVATE_AGENT", "deactivate_agent": {"agent_id": {"value": agent_id}}}


def reactivate_call(agent_id: str) -> dict[str, Any]:
    """The operator API call that lets an agent's resources be offered again."""
    return {"type": "REACTIVATE_AGENT", "reactivate_agent": {"agent_id": {"value": agent_id}}}


def teardown_call(framework_id: str) -> dict[str, Any]:
    """The operator API call that removes a framework and kills its tasks, as an operator might."""
    return {"type": "TEARDOWN", "teardown": {"framework_id": {"value": framework_id}}}


def _operator_call(body: Mapping[str, Any]) -> None:
    request = urllib.request.Request(
        f"http://{ENDPOINT}/api/v1",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        response.read()


USAGE = (
    "usage: python3 -m innode.mesos_daemons start leader|worker | flags leader|worker | own-ip | "
    "activate AGENT_ID | deactivate AGENT_ID | teardown FRAMEWORK_ID"
)


def main(argv: Sequence[str]) -> int:
    """The entrypoint's and the host's questions to this node's Mesos daemon (USAGE)."""
    args = list(argv)
    try:
        if len(args) == 2 and args[0] == "start" and args[1] in DAEMON_VARIABLES:
            start(args[1], os.environ)
        if len(args) == 2 and args[0] == "flags" and args[1] in DAEMON_VARIABLES:
            flags = daemon_flags(args[1], MesosLayout.from_env(os.environ))
            sys.stdout.write("\n".join(flags) + "\n")
            return 0
        if args == ["own-ip"]:
            print(own_ip())
            return 0
        if len(args) == 2 and args[0] in ("activate", "deactivate", "teardown"):
            calls = {"activate": reactivate_call, "deactivate": deactivate_call, "teardown": teardown_call}
            _operator_call(calls[args[0]](args[1]))
            return 0
    except KeyError as error:
        print(f"innode.mesos_daemons: {' '.join(args)}: {error.args[0]}", file=sys.stderr)
        return 2
    except (urllib.error.URLError, OSError) as error:
        print(f"innode.mesos_daemons: {' '.join(args)}: {error}", file=sys.stderr)
        return 1
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
