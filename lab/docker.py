"""The Docker engine, through its CLI: daemon facts, images, containers, volumes."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import process
from lab.errors import CommandFailed, LabError

DOCKER = "docker"


@dataclass(frozen=True)
class EngineInfo:
    """What the daemon says of the machine it runs on."""

    cpus: int
    memory_bytes: int
    architecture: str
    server_version: str


def engine_info() -> EngineInfo:
    """Ask the daemon for its CPUs and memory; a clear error when it cannot be reached."""
    try:
        result = process.run([DOCKER, "info", "--format", "{{json .}}"])
    except CommandFailed as error:
        raise LabError(
            "no reachable Docker daemon: start it (e.g. `systemctl start docker`, or "
            "`dockerd &` as root) or point DOCKER_HOST at one, then try again.\n"
            f"{shlex.join(error.argv)}: {error.stderr.strip()}"
        ) from None
    data = json.loads(result.stdout)
    if data.get("ServerErrors"):
        raise LabError("Docker daemon unreachable: " + "; ".join(data["ServerErrors"]))
    return EngineInfo(
        cpus=int(data.get("NCPU") or 1),
        memory_bytes=int(data.get("MemTotal") or 0),
        architecture=str(data.get("Architecture") or "x86_64"),
        server_version=str(data.get("ServerVersion") or ""),
    )


def image_exists(reference: str) -> bool:
    """True when the daemon has this image locally."""
    return process.run([DOCKER, "image", "inspect", reference], check=False).returncode == 0


def pull(reference: str, timeout: float = 300) -> bool:
    """Try to pull an image; False when the registry cannot give it."""
    return process.run([DOCKER, "pull", reference], check=False, timeout=timeout).returncode == 0


def import_rootfs(tarball: Path, reference: str, labels: Mapping[str, str]) -> None:
    """Make an image from a root filesystem tarball."""
    changes = [f"LABEL {key}={value}" for key, value in labels.items()] + ['CMD ["bash"]']
    argv = [DOCKER, "import"]
    for change in changes:
        argv += ["--change", change]
    process.run([*argv, str(tarball), reference])


# A build's progress, from its output: the legacy builder's `Step 7/19 : RUN ...`,
# BuildKit's `#7 [node 3/5] RUN ...`.
_LEGACY_STEP = re.compile(r"^Step (\d+/\d+) : (.*)")
_BUILDKIT_STEP = re.compile(r"^#\d+ \[([^\]]+)\] (.*)")
LOG_TAIL = 25


def build_step(line: str) -> str | None:
    """What a line of `docker build` output says the build is doing now, if anything."""
    match = _LEGACY_STEP.match(line) or _BUILDKIT_STEP.match(line)
    if match is None:
        return None
    where, what = match.groups()
    return f"step {where}: {' '.join(what.split())[:60]}"


def build_argv(
    context: Path,
    dockerfile: Path,
    tag: str,
    build_args: Mapping[str, str],
    labels: Mapping[str, str],
    target: str | None = None,
) -> list[str]:
    """The `docker build` command line."""
    # --force-rm: a failed step leaves no stopped intermediate container behind.
    argv = [DOCKER, "build", "--force-rm", "--file", str(dockerfile), "--tag", tag]
    if target is not None:
        argv += ["--target", target]
    for key, value in build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    return [*argv, str(context)]


def build(argv: Sequence[str], log: Path | None, on_line: Callable[[str], None] | None = None) -> None:
    """Run a build; its whole output to `log` (each line handed to `on_line` too), or to the terminal.

    A failed build's error shows the log's last lines and where the log is.
    """
    if log is None:
        process.run(argv, capture=False)
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        out.write(f"$ {shlex.join(argv)}\n")

        def logged(line: str) -> None:
            out.write(line)
            if on_line is not None:
                on_line(line)

        try:
            process.run(argv, on_line=logged)
        except CommandFailed as error:
            tail = "\n".join(error.stdout.rstrip().splitlines()[-LOG_TAIL:])
            raise LabError(
                f"docker build exited with code {error.returncode}; its last lines:\n{tail}\n"
                f"(the whole build: {log}; the command: {shlex.join(argv)})"
            ) from None


def container_ids(labels: Mapping[str, str], *, all_states: bool = True) -> list[str]:
    """IDs of the containers that carry all these labels."""
    argv = [DOCKER, "ps", "--quiet", "--no-trunc"]
    if all_states:
        argv.append("--all")
    for key, value in labels.items():
        argv += ["--filter", f"label={key}={value}"]
    return process.run(argv).stdout.split()


def inspect(ids: Sequence[str]) -> list[dict[str, Any]]:
    """`docker inspect` of containers, as parsed JSON."""
    if not ids:
        return []
    result = process.run([DOCKER, "inspect", *ids], check=False)
    if result.returncode != 0 and not result.stdout.strip():
        return []  # they vanished between listing and inspecting
    data: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return data


def volume_names(labels: Mapping[str, str]) -> list[str]:
    """Names of the volumes that carry all these labels."""
    argv = [DOCKER, "volume", "ls", "--quiet"]
    for key, value in labels.items():
        argv += ["--filter", f"label={key}={value}"]
    return process.run(argv).stdout.split()


def remove_volumes(names: Sequence[str]) -> None:
    """Delete volumes (their containers must be gone)."""
    if names:
        process.run([DOCKER, "volume", "rm", *names])


def network_names(labels: Mapping[str, str]) -> list[str]:
    """Names of the networks that carry all these labels."""
    argv = [DOCKER, "network", "ls", "--quiet", "--format", "{{.Name}}"]
    for key, value in labels.items():
        argv += ["--filter", f"label={key}={value}"]
    return process.run(argv).stdout.split()


def disconnect(network: str, container: str) -> None:
    """Cut a container off a network."""
    process.run([DOCKER, "network", "disconnect", "--force", network, container])


def connect(network: str, container: str, aliases: Sequence[str]) -> None:
    """Join a container to a network again, under the names others know it by."""
    argv = [DOCKER, "network", "connect"]
    for alias in aliases:
        argv += ["--alias", alias]
    process.run([*argv, network, container])


def stats_argv(ids: Sequence[str]) -> list[str]:
    """`docker stats` of these containers, once, one JSON line each."""
    return [DOCKER, "stats", "--no-stream", "--format", "{{json .}}", *ids]


def copy_from(container: str, source: str, target: Path) -> None:
    """Copy a file or folder out of a container (running or not) into a host folder."""
    process.run([DOCKER, "cp", f"{container}:{source}", str(target)])


def tag(source: str, target: str) -> None:
    """Give an image another name (the image itself is not copied)."""
    process.run([DOCKER, "tag", source, target])
