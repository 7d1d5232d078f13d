"""The Toil installed in a node, or in the host's test runner, as innode.toil_facts describes it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import process
from lab.node import Node

FACTS = ["-m", "innode.toil_facts", "facts"]


@dataclass(frozen=True)
class Installed:
    """One Toil installation: its version, the folder that holds `toil/`, its files' digest, its Python."""

    version: str
    site: str
    digest: str
    python: str  # python3.11: the interpreter's name as virtualenv --python takes it

    @classmethod
    def from_json(cls, text: str) -> Installed:
        """Read `python3 -m innode.toil_facts facts`' answer."""
        data: dict[str, Any] = json.loads(text)
        return cls(str(data["version"]), str(data["site"]), str(data["digest"]), str(data["python"]))


def in_node(node: Node) -> Installed:
    """The Toil of a node's python3."""
    return Installed.from_json(node.exec(["python3", *FACTS]).stdout)


def in_runner(python: Path, root: Path) -> Installed:
    """The Toil of the host runner's interpreter (the checkout on its path for innode/)."""
    return Installed.from_json(process.run([str(python), *FACTS], env={"PYTHONPATH": str(root)}).stdout)
