"""Down keeps the job store; a changed worker count rescales the running lab."""

from __future__ import annotations

import pytest

from innode.layout import worker_names
from lab.cluster import Lab
from tests.integration.conftest import Cli

pytestmark = pytest.mark.integration


def test_down_then_up_keeps_the_job_store(cli: Cli, lab: Lab) -> None:
    workers = len(lab.workers())
    lab.leader.write_text("/data/jobstores/kept/marker", "still here\n")
    assert cli("down").returncode == 0
    assert lab.nodes() == []
    up = cli("up", "--workers", str(workers))
    assert up.returncode == 0, up.stderr
    assert lab.leader.read_text("/data/jobstores/kept/marker") == "still here\n"
    lab.leader.exec(["rm", "-rf", "/data/jobstores/kept"])


def test_a_changed_worker_count_scales_the_lab(cli: Cli, lab: Lab) -> None:
    workers = len(lab.workers())
    try:
        up = cli("up", "--workers", str(workers + 1))
        assert up.returncode == 0, up.stderr
        assert f"✓ {workers + 1} workers ready on {lab.backend.scheduler}" in up.stderr
        assert [w.name for w in lab.workers()] == worker_names(workers + 1)
        assert [s.name for s in lab.worker_states() if s.ready] == worker_names(workers + 1)
    finally:
        down = cli("up", "--workers", str(workers))
        assert down.returncode == 0, down.stderr
    assert [w.name for w in lab.workers()] == worker_names(workers)
    # A removed Mesos agent may stay listed (inactive) until the master gives up on it.
    states = [s for s in lab.worker_states() if s.ready or lab.batch_system == "slurm"]
    assert [s.name for s in states] == worker_names(workers)
    assert all(s.ready for s in states)


def test_an_edit_of_host_code_leaves_a_running_lab_alone(cli: Cli, lab: Lab) -> None:
    """Host code (lab/) is in no image: a new host module changes no image tag, so `lab up`
    builds nothing, recreates no container, and says the lab is already up."""
    before = {n.name: n.container_id for n in lab.nodes()}
    module = lab.config.root / "lab" / "_host_edit_probe.py"
    module.write_text('"""Written by test_an_edit_of_host_code_leaves_a_running_lab_alone."""\n')
    try:
        up = cli("up")
    finally:
        module.unlink()
    assert up.returncode == 0, up.stderr
    assert "already up" in up.stdout
    assert ": built " not in up.stderr
    assert {n.name: n.container_id for n in lab.nodes()} == before
