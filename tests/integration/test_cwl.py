"""CWL workflows on the lab's batch system (Slurm, Mesos): `lab run WORKFLOW.cwl JOB.yml`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lab.cluster import Lab
from tests.integration.conftest import SPREAD_SECONDS, WORKFLOWS, Cli

pytestmark = pytest.mark.integration

CWL = WORKFLOWS / "cwl"


def test_a_scatter_over_8_inputs_runs_its_steps_on_several_workers(
    cli: Cli, lab: Lab, tmp_path: Path
) -> None:
    # A job file of its own, outside the workflow's folder (`lab run` copies both folders).
    seconds = round(float(SPREAD_SECONDS[lab.batch_system()]) + 1)
    # An input File that only the leader has: Toil copies it into the job store (the lab's
    # --symlinkImports False), from which each step's worker stages it.
    note = f"only the leader has this file ({tmp_path.name})"
    (tmp_path / "note.txt").write_text(note + "\n")
    job = tmp_path / "job.yml"
    job.write_text(
        f"items: [1, 2, 3, 4, 5, 6, 7, 8]\nseconds: {seconds}\nnote: {{class: File, path: note.txt}}\n"
    )
    run = cli("run", str(CWL / "scatter.cwl"), str(job), "--logLevel", "WARNING")
    assert run.returncode == 0, run.stderr[-4000:]
    found = re.search(r"^outputs: (\S+)", run.stderr, re.MULTILINE)
    assert found, run.stderr[-2000:]
    outdir = found.group(1)
    # The runner's own answer names one output file per item.
    answer = json.loads(run.stdout[run.stdout.index("{") :])
    assert len(answer["records"]) == 8, answer
    listing = lab.leader().exec(["sh", "-c", f"cat {outdir}/*"]).stdout
    steps = [json.loads(line) for line in listing.splitlines() if line.strip()]
    assert sorted(step["item"] for step in steps) == list(range(1, 9)), steps
    assert all(step["note"] == note for step in steps), steps
    nodes = {step["node"] for step in steps}
    assert len(nodes) >= 2 and all(node.startswith("worker-") for node in nodes), steps

    # Each tool's parent is the Toil worker process that the recorder saw run its step,
    # on the node the tool itself named.
    evidence = json.loads(cli("placement", "--json").stdout)
    workers = {(job["node"], job["pid"]): job for job in evidence["jobs"]}
    for step in steps:
        job = workers.get((step["node"], step["ppid"]))
        assert job is not None, (step, sorted(workers))
        assert job["status"] == "ok" and "where" in job["name"], job
    containers = {node.name: node.container_id for node in lab.workers()}
    assert all(workers[(s["node"], s["ppid"])]["container"] == containers[s["node"]] for s in steps)
    # The inputs stayed in the leader's private area: the workers read them from the job store.
    for worker in lab.workers():
        assert worker.exec(["test", "-e", "/home/lab/cwl"], check=False).returncode != 0
