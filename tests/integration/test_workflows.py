"""Toil workflows on the lab's batch system (Slurm, Mesos), and the placement evidence for them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.cluster import Lab
from tests.integration.conftest import SPREAD_SECONDS, WORKFLOWS, Cli

pytestmark = pytest.mark.integration


def result_of(stdout: str) -> object:
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the workflow printed no RESULT line:\n{stdout[-3000:]}"
    return json.loads(lines[-1].removeprefix("RESULT "))


def placement(cli: Cli) -> dict[str, object]:
    result = cli("placement", "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.mark.backends("slurm")
def test_fan_out_on_plain_slurm_from_the_shared_volume(cli: Cli, lab: Lab) -> None:
    run = cli("run", "--shared", str(WORKFLOWS / "fanout.py"), "--leaves", "6", "--logLevel", "WARNING")
    assert run.returncode == 0, run.stderr[-3000:]
    leaves = result_of(run.stdout)
    assert isinstance(leaves, list) and len(leaves) == 6
    assert all(leaf["node"].startswith("worker-") for leaf in leaves)
    # What the leaves saw of themselves: each ran in a Slurm job, and imported the workflow
    # from the shared volume, not from a copy that auto-deployment made on its node.
    assert all(leaf["slurm_job_id"].isdigit() for leaf in leaves), leaves
    assert {leaf["module_file"] for leaf in leaves} == {"/data/workflows/fanout.py"}, leaves
    jobs = placement(cli)["jobs"]
    assert isinstance(jobs, list)
    # Keyed by node and pid: each container has its own pid numbers.
    recorded = {(job["node"], job["pid"]): job["batch_job_id"] for job in jobs if job["job_name"] == "leaf"}
    assert {(leaf["node"], leaf["pid"]): leaf["slurm_job_id"] for leaf in leaves} == recorded
    assert lab.node("worker-1").exec(["test", "-f", "/data/workflows/fanout.py"], check=False).returncode == 0


def test_fan_out_lands_on_several_workers_and_processes(cli: Cli, lab: Lab) -> None:
    """By default the workflow stays on the leader; slurm_autodeploy (or Toil's mesos) ships it."""
    seconds = SPREAD_SECONDS[lab.batch_system()]
    run = cli(
        "run", str(WORKFLOWS / "fanout.py"), "--leaves", "8", "--seconds", seconds, "--logLevel", "WARNING"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    leaves = result_of(run.stdout)
    assert isinstance(leaves, list) and len(leaves) == 8
    observed = {(leaf["node"], leaf["pid"]) for leaf in leaves}
    assert len({node for node, _ in observed}) >= 2, observed
    assert len(observed) >= 6, observed
    assert all(node.startswith("worker-") for node, _ in observed)
    # Each worker imported the code from a copy of its own: not the leader's private area
    # (no worker has it), not the shared volume.
    assert not [leaf for leaf in leaves if leaf["module_file"].startswith(("/home/lab/", "/data/"))], leaves

    evidence = placement(cli)
    jobs = evidence["jobs"]
    assert isinstance(jobs, list)
    recorded_leaves = [job for job in jobs if job["job_name"] == "leaf"]
    assert len(recorded_leaves) == 8
    assert [job["job_name"] for job in jobs].count("root") == 1
    assert all(job["status"] == "ok" and job["end"] >= job["start"] for job in jobs)
    # What the jobs saw of themselves is what the recorder wrote on their nodes.
    assert {(job["node"], job["pid"]) for job in recorded_leaves} == observed
    # Each record names the container it was written in: the worker of that name.
    containers = {node.name: node.container_id for node in lab.workers()}
    assert all(job["container"] == containers[job["node"]] for job in jobs)
    if lab.batch_system() == "slurm":
        assert all(job["batch_job_id"].isdigit() for job in jobs)
    # The workflow file never left the leader's private area.
    assert (
        lab.leader().exec(["test", "-f", "/home/lab/workflows/fanout/fanout.py"], check=False).returncode == 0
    )
    for worker in lab.workers():
        assert worker.exec(["test", "-e", "/home/lab/workflows"], check=False).returncode != 0


def test_a_failed_workflow_leaves_the_lab_usable(cli: Cli, lab: Lab) -> None:
    failed = cli("run", str(WORKFLOWS / "failing.py"), "--logLevel", "WARNING")
    assert failed.returncode != 0
    assert "this job fails on purpose" in failed.stdout + failed.stderr
    jobs = placement(cli)["jobs"]
    assert isinstance(jobs, list)
    doomed = [job for job in jobs if job["job_name"] == "doomed"]
    assert doomed and all(job["status"] == "failed" for job in doomed)
    assert "RuntimeError: this job fails on purpose" in doomed[0]["error"]

    assert all(s.ready for s in lab.worker_states())
    again = cli("run", str(WORKFLOWS / "fanout.py"), "--leaves", "6", "--logLevel", "WARNING")
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(result_of(again.stdout)) == 6  # type: ignore[arg-type]


def test_a_workflow_with_a_syntax_error_is_refused_before_it_runs(cli: Cli, lab: Lab, tmp_path: Path) -> None:
    # A run first, so that the record the refused run must leave alone exists.
    first = cli(
        "run", str(WORKFLOWS / "fanout.py"), "--leaves", "1", "--seconds", "0", "--logLevel", "WARNING"
    )
    assert first.returncode == 0, first.stderr[-3000:]
    before = lab.leader().read_text("/var/lib/lab/runs/last.json")
    assert before is not None
    broken = tmp_path / "broken.py"
    broken.write_text("from toil.job import Job\n\ndef f(:\n    pass\n")
    result = cli("run", str(broken))
    assert result.returncode == 2
    assert "broken.py:3: syntax error" in result.stderr
    assert lab.leader().read_text("/var/lib/lab/runs/last.json") == before


def test_toil_options_given_to_lab_run_override_the_labs(cli: Cli, lab: Lab) -> None:
    run = cli(
        "run",
        str(WORKFLOWS / "fanout.py"),
        "--leaves",
        "2",
        "--batchSystem",
        "single_machine",
        "--logLevel",
        "WARNING",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    leaves = result_of(run.stdout)
    assert isinstance(leaves, list)
    assert {leaf["node"] for leaf in leaves} == {"leader"}
