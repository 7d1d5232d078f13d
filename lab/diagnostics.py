"""`lab export-logs`: everything needed to debug a lab, written to a folder."""

from __future__ import annotations

import json
from pathlib import Path

from lab import slurm
from lab.cluster import Lab
from lab.errors import LabError


def export_logs(lab: Lab, directory: Path) -> Path:
    """Write each node's logs and inspect output, and the scheduler's node list."""
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
    leader = next((n for n in nodes if n.role == "leader" and n.running), None)
    if leader is not None:
        try:
            sinfo = leader.exec(slurm.SINFO_ARGV, check=False)
            nodes_text = leader.exec(["scontrol", "show", "nodes"], check=False).stdout
            jobs_text = leader.exec(["scontrol", "show", "jobs"], check=False).stdout
            (directory / "scheduler-nodes.txt").write_text(sinfo.stdout + sinfo.stderr + "\n" + nodes_text)
            (directory / "scheduler-jobs.txt").write_text(jobs_text)
            (directory / "slurm.conf").write_text(leader.read_text("/etc/slurm/slurm.conf"))
        except LabError as error:
            (directory / "scheduler-nodes.txt").write_text(f"could not ask the scheduler: {error}\n")
    return directory
