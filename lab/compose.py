"""Docker Compose: the only module that builds compose command lines.

Works with the `docker compose` v2 plugin and with Debian's `docker-compose` 1.29.
The lab's compose files are compose.yaml plus a generated workers.yaml, which adds
worker-1 ... worker-N made from compose.yaml's `x-worker` block, and every node's labels.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from innode.layout import LEADER, NODE_STATE_DIR, worker_name
from lab import process
from lab.errors import LabError
from lab.labels import node_labels
from lab.process import Result

V2 = ("docker", "compose")
V1 = ("docker-compose",)


def detect_command() -> tuple[str, ...]:
    """The Compose CLI on this machine: the v2 plugin if present, else docker-compose."""
    for candidate in (V2, V1):
        try:
            result = process.run([*candidate, "version"], check=False)
        except LabError:
            continue
        if result.returncode == 0:
            return candidate
    raise LabError(
        "neither `docker compose` (v2) nor `docker-compose` (v1) works here: install one "
        "(e.g. `apt-get install docker-compose`), or set LAB_COMPOSE to its command."
    )


def render_workers(template: Mapping[str, Any], count: int) -> dict[str, Any]:
    """The compose document that adds `count` workers made from `template`."""
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    for index in range(1, count + 1):
        name = worker_name(index)
        service = copy.deepcopy(dict(template))
        service["hostname"] = name
        service["labels"] = node_labels("worker", name)
        # Each worker's own filesystem: Slurm's spool, Toil's work directory,
        # the placement records.
        service["volumes"] = [*list(service.get("volumes", [])), f"{name}-state:{NODE_STATE_DIR}"]
        services[name] = service
        volumes[f"{name}-state"] = {}
    # The leader's labels, as the workers', from lab/labels.py (Compose merges them into
    # compose.yaml's leader service).
    services[LEADER] = {"labels": node_labels("leader", LEADER)}
    return {"services": services, "volumes": volumes}


def load_worker_template(compose_file: Path) -> dict[str, Any]:
    """The `x-worker` block of compose.yaml, with its YAML anchors resolved."""
    document = yaml.safe_load(compose_file.read_text())
    template = document.get("x-worker") if isinstance(document, dict) else None
    if not isinstance(template, dict):
        raise LabError(f"{compose_file} has no `x-worker` block to make workers from.")
    return template


@dataclass(frozen=True)
class Compose:
    """One Compose project: its CLI, name, files and interpolation variables."""

    command: tuple[str, ...]
    project: str
    project_dir: Path
    files: tuple[Path, ...]
    variables: Mapping[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        """The full command line for a compose subcommand."""
        argv = [*self.command, "--project-name", self.project, "--project-directory", str(self.project_dir)]
        for path in self.files:
            argv += ["--file", str(path)]
        return argv + list(args)

    def run(self, *args: str, capture: bool = True, check: bool = True) -> Result:
        """Run a compose subcommand with the lab's variables in its environment."""
        return process.run(self.argv(*args), env=self.variables, capture=capture, check=check)

    def up(self, services: Sequence[str] = ()) -> Result:
        """Create or update the services and start them, without waiting."""
        return self.run("up", "--detach", "--remove-orphans", *services)

    def stop(self) -> Result:
        """Stop the containers, keeping them and their volumes."""
        return self.run("stop")

    def down(self, *, volumes: bool) -> Result:
        """Remove containers and network; volumes only when asked."""
        args = ["down", "--remove-orphans"]
        if volumes:
            args.append("--volumes")
        return self.run(*args)

    def config(self) -> dict[str, Any]:
        """The merged configuration as Compose understands it."""
        document = yaml.safe_load(self.run("config").stdout)
        return document if isinstance(document, dict) else {}


def write_workers_file(path: Path, template: Mapping[str, Any], count: int) -> Path:
    """Write the generated workers file (JSON is YAML, and needs no quoting rules)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(render_workers(template, count), indent=2, sort_keys=True) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
