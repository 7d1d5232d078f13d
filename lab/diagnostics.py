"""`lab export-logs`: everything needed to debug a lab, written to a folder."""

from __future__ import annotations

import json
from pathlib import Path

from lab.cluster import Lab


def export_logs(lab: Lab, directory: Path) -> Path:
    """Write each node's logs and inspect output, and the scheduler's view (and Mesos sandboxes)."""
    directory.mkdir(parents=True, exist_ok=True)
    nodes = lab.nodes()
    summary = [
        {
            "name": n.name,
            "role": n.role,
            "state": n.state,
            "health": n.health,
            "container": n.container_name,
            "id": n.container_id,
        }
        for n in nodes
    ]
    (directory / "ps.json").write_text(json.dumps(summary, indent=2) + "\n")
    for node in nodes:
        (directory / f"{node.name}.log").write_text(node.logs())
        (directory / f"{node.name}.inspect.json").write_text(node.inspect_json() + "\n")
    if not nodes:
        return directory  # no lab: no scheduler (and no backend to ask, e.g. Mesos without a build)
    leader = next((n for n in nodes if n.role == "leader" and n.running), None)
    # The scheduler's view and configuration; on Mesos also the agents' sandboxes.
    lab.backend().export(leader, [n for n in nodes if n.role == "worker"], directory)
    return directory
