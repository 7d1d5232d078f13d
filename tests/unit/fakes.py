"""Fakes shared by the unit tests: the subprocess entry point, recorded."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import CommandFailed
from lab.process import Result

# Recorded inputs: `docker inspect` output of a lab's containers.
DATA = Path(__file__).resolve().parent / "data"
# The recorded lab (leader, worker-2 exited, worker-10 paused): what `docker ps` and
# `docker inspect` answer for it (the docker_with_lab fixture).
INSPECT = (DATA / "docker-inspect.json").read_text()
IDS = [record["Id"] for record in json.loads(INSPECT)]
PS = ["docker", "ps", "--quiet", "--no-trunc", "--all", "--filter", "label=org.toil-lab.lab=toil-lab"]


@dataclass
class Call:
    """One command the code under test asked lab.process.run to run."""

    argv: list[str]
    kwargs: dict[str, Any]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.kwargs.get("env") or {})


@dataclass
class FakeRun:
    """Stands in for lab.process.run: records every call, answers from a script.

    An unscripted command fails the test: no plausible output is made up.
    """

    calls: list[Call] = field(default_factory=list)
    script: list[tuple[tuple[str, ...], Callable[[list[str]], Result]]] = field(default_factory=list)

    def on(
        self,
        *prefix: str,
        returncode: int = 0,
        stdout: str = "",
        stderr: str = "",
        raises: Exception | None = None,
    ) -> None:
        """Answer commands that start with `prefix` (the first matching rule wins)."""

        def answer(argv: list[str]) -> Result:
            if raises is not None:
                raise raises
            return Result(tuple(argv), returncode, stdout, stderr)

        self.script.append((prefix, answer))

    def __call__(self, argv: Sequence[str], **kwargs: Any) -> Result:
        argv = list(argv)
        self.calls.append(Call(argv, kwargs))
        for prefix, answer in self.script:
            if tuple(argv[: len(prefix)]) == prefix:
                result = answer(argv)
                # Mirror on_line: the output, handed over line by line.
                on_line = kwargs.get("on_line")
                if on_line is not None:
                    for line in result.stdout.splitlines(keepends=True):
                        on_line(line)
                # Mirror lab.process.run: check=True (the default) raises on failure.
                if kwargs.get("check", True) and result.returncode != 0:
                    raise CommandFailed(argv, result.returncode, result.stdout, result.stderr)
                return result
        raise AssertionError(f"unexpected command: {argv!r}")

    @property
    def argvs(self) -> list[list[str]]:
        return [call.argv for call in self.calls]


class FakeLeader:
    """A node that answers every command with the same result, and records the commands."""

    def __init__(self, stdout: str = "", returncode: int = 0, stderr: str = "") -> None:
        self.stdout, self.returncode, self.stderr = stdout, returncode, stderr
        self.calls: list[list[str]] = []

    def exec(self, argv: Sequence[str], *, check: bool = True) -> Result:
        self.calls.append(list(argv))
        return Result(tuple(argv), self.returncode, self.stdout, self.stderr)


def http_ok(body: Any) -> str:
    """What the master's HTTP server answers a GET with (innode.mesos_daemons.state_argv prints it)."""
    text = body if isinstance(body, str) else json.dumps(body)
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(text)}\r\n\r\n{text}"


# A recorded Mesos master's /state (trimmed): three agents, one deactivated, one inactive.
STATE: dict[str, Any] = {
    "pid": "master@172.20.0.2:5050",
    "leader": "master@172.20.0.2:5050",
    "elected_time": 1764450000.5,
    "slaves": [
        {
            "id": "A-S2",
            "hostname": "worker-2",
            "active": True,
            "deactivated": False,
            "resources": {"cpus": 2.0, "mem": 2944.0, "disk": 1000.0},
            "used_resources": {"cpus": 1.0, "mem": 256.0},
            "attributes": {"preemptible": "False"},
        },
        {
            "id": "A-S1",
            "hostname": "worker-1",
            "active": True,
            "deactivated": True,
            "resources": {"cpus": 2.0, "mem": 2944.0},
            "used_resources": {},
        },
        {"id": "A-S3", "hostname": "worker-3", "active": False, "resources": {}, "used_resources": {}},
    ],
    "frameworks": [
        {
            "tasks": [
                {"slave_id": "A-S2", "state": "TASK_RUNNING"},
                {"slave_id": "A-S2", "state": "TASK_FINISHED"},
                {"slave_id": "A-S1", "state": "TASK_STAGING"},
            ]
        }
    ],
}
