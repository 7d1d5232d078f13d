"""A lab node: a typed handle on one container, found by its labels."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innode.layout import LAB_USER, USER_HOME, worker_order
from lab import docker, process, tarball, wait
from lab.errors import CommandFailed
from lab.labels import LABEL_BATCH_SYSTEM, LABEL_NODE, LABEL_ROLE
from lab.process import Result

# read_text's script exits with this when the file does not exist.
MISSING = 3

# What Docker says when the cgroup freezer gave up (runc thawed the container again),
# and how long a pause asks again.
FREEZE_REFUSED = "unable to freeze"
FREEZE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Node:
    """One container of the lab, as Docker described it when it was discovered."""

    name: str  # the node's hostname: leader, worker-1, ...
    role: str  # leader or worker
    container_id: str
    container_name: str
    state: str  # Docker's state: running, exited, paused, ...
    health: str  # healthy, unhealthy, starting, or '' without a healthcheck
    batch_system: str = "slurm"  # the lab's batch system, from the container's label
    image: str = ""  # the image it was created from, as Compose named it

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> Node:
        """Build a handle from one `docker inspect` record."""
        labels = data.get("Config", {}).get("Labels") or {}
        state = data.get("State", {})
        return cls(
            name=labels.get(LABEL_NODE, ""),
            role=labels.get(LABEL_ROLE, ""),
            container_id=data["Id"],
            container_name=str(data.get("Name", "")).lstrip("/"),
            state=str(state.get("Status", "unknown")),
            health=str((state.get("Health") or {}).get("Status", "")),
            batch_system=labels.get(LABEL_BATCH_SYSTEM) or "slurm",
            image=str(data.get("Config", {}).get("Image", "")),
        )

    @property
    def running(self) -> bool:
        """True when the container is running (not paused, not stopped)."""
        return self.state == "running"

    def exec_argv(
        self,
        argv: Sequence[str],
        *,
        user: str | None = None,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
        interactive: bool = False,
        tty: bool = False,
    ) -> list[str]:
        """The `docker exec` command line that runs argv in this node."""
        command = [docker.DOCKER, "exec"]
        if interactive:
            command.append("--interactive")
        if tty:
            command.append("--tty")
        if user:
            command += ["--user", user]
        if workdir:
            command += ["--workdir", workdir]
        for key, value in (env or {}).items():
            command += ["--env", f"{key}={value}"]
        return [*command, self.container_id, *argv]

    def exec(
        self,
        argv: Sequence[str],
        *,
        user: str | None = None,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        capture: bool = True,
        input: str | bytes | None = None,
        timeout: float | None = None,
    ) -> Result:
        """Run a command in this node and wait for it."""
        command = self.exec_argv(argv, user=user, workdir=workdir, env=env, interactive=input is not None)
        return process.run(command, check=check, capture=capture, input=input, timeout=timeout)

    def shell(self, user: str = LAB_USER, tty: bool = True) -> int:
        """An interactive login shell in this node; returns its exit code."""
        command = self.exec_argv(
            ["bash", "--login"],
            user=user,
            workdir=USER_HOME if user == LAB_USER else "/",
            interactive=True,
            tty=tty,
        )
        return process.run(command, check=False, capture=False).returncode

    def read_text(self, path: str) -> str | None:
        """A file's contents in this node; None when it does not exist; CommandFailed if it cannot be read."""
        # Existence is tested in the same exec, so "missing" is never mistaken for a read that
        # failed (a stopped container, a permission): those raise.
        script = f'test -e "$1" || exit {MISSING}; exec cat -- "$1"'
        result = self.exec(["sh", "-c", script, "read", path], check=False)
        if result.returncode == MISSING:
            return None
        if result.returncode != 0:
            raise CommandFailed(result.argv, result.returncode, result.stdout, result.stderr)
        return result.stdout

    def write_text(self, path: str, text: str, *, user: str = LAB_USER) -> None:
        """Write a file in this node (its directory is created)."""
        script = 'mkdir -p "$(dirname "$1")" && cat > "$1"'
        self.exec(["sh", "-c", script, "write", path], user=user, input=text)

    def copy_in(self, folder: Path, target: str, *, user: str = LAB_USER) -> None:
        """Copy a host folder's files into `target` in this node (made, owned by `user`)."""
        archive = tarball.in_memory(folder, tarball.tree_files(folder))
        script = 'mkdir -p "$1" && tar -xf - -C "$1" --no-same-owner'
        self.exec(["sh", "-c", script, "copy-in", target], user=user, input=archive)

    def logs(self, tail: int | None = None, since: str | None = None) -> str:
        """The container's output (stdout and stderr), all or its last lines, or since a time (RFC 3339)."""
        argv = [docker.DOCKER, "logs"]
        if tail is not None:
            argv += ["--tail", str(tail)]
        if since is not None:
            argv += ["--since", since]
        result = process.run([*argv, self.container_id], check=False)
        return result.stdout + result.stderr

    def follow_logs(self) -> int:
        """Stream the container's output to the terminal until interrupted."""
        argv = [docker.DOCKER, "logs", "--follow", self.container_id]
        return process.run(argv, check=False, capture=False).returncode

    def inspect(self) -> dict[str, Any]:
        """The container's full `docker inspect` record."""
        found = docker.inspect([self.container_id])
        return found[0] if found else {}

    def inspect_json(self) -> str:
        """`docker inspect` of this node, pretty-printed."""
        return json.dumps(self.inspect(), indent=2, sort_keys=True)

    def kill(self, signal: str = "KILL") -> None:
        """Send a signal to the container's main process (default SIGKILL)."""
        process.run([docker.DOCKER, "kill", "--signal", signal, self.container_id])

    def pause(self, timeout: float = FREEZE_TIMEOUT) -> None:
        """Freeze every process of the container.

        The kernel's cgroup freezer can give up while a process sits in uninterruptible
        I/O, as on a loaded host's disk: runc then thaws the container again and Docker
        says "unable to freeze". That refusal is asked again until `timeout`; any other
        failure (the container not running) passes at once.
        """
        argv = [docker.DOCKER, "pause", self.container_id]

        def frozen() -> wait.Check[process.Result]:
            result = process.run(argv, check=False)
            if result.returncode != 0 and FREEZE_REFUSED not in result.stderr:
                raise CommandFailed(argv, result.returncode, result.stdout, result.stderr)
            return wait.Check(result.returncode == 0, result.stderr.strip(), result)

        wait.wait_until(frozen, what=f"{self.name} to freeze", timeout=timeout, interval=1.0, not_yet=())

    def unpause(self) -> None:
        """Resume a paused container."""
        process.run([docker.DOCKER, "unpause", self.container_id])

    def start(self) -> None:
        """Start a stopped container again."""
        process.run([docker.DOCKER, "start", self.container_id])


def sort_key(node: Node) -> tuple[int, int]:
    """Leader first, then workers by number."""
    return worker_order(node.name)
