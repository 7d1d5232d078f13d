"""Down keeps the job store; a changed worker count rescales the running lab."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from innode.layout import worker_names
from lab import process
from lab.cluster import Lab
from lab.process import Result
from tests.integration.conftest import Cli

pytestmark = pytest.mark.integration


def test_down_then_up_keeps_the_job_store(cli: Cli, lab: Lab) -> None:
    workers = len(lab.workers())
    lab.leader().write_text("/data/jobstores/kept/marker", "still here\n")
    assert cli("down").returncode == 0
    assert lab.nodes() == []
    up = cli("up", "--workers", str(workers))
    assert up.returncode == 0, up.stderr
    assert lab.leader().read_text("/data/jobstores/kept/marker") == "still here\n"
    lab.leader().exec(["rm", "-rf", "/data/jobstores/kept"])


def test_a_changed_worker_count_scales_the_lab(cli: Cli, lab: Lab) -> None:
    workers = len(lab.workers())
    try:
        up = cli("up", "--workers", str(workers + 1))
        assert up.returncode == 0, up.stderr
        assert f"✓ {workers + 1} workers ready on {lab.backend().scheduler}" in up.stderr
        assert [w.name for w in lab.workers()] == worker_names(workers + 1)
        assert [s.name for s in lab.worker_states() if s.ready] == worker_names(workers + 1)
    finally:
        down = cli("up", "--workers", str(workers))
        assert down.returncode == 0, down.stderr
    assert [w.name for w in lab.workers()] == worker_names(workers)
    # A removed Mesos agent may stay listed (inactive) until the master gives up on it.
    states = [s for s in lab.worker_states() if s.ready or lab.batch_system() == "slurm"]
    assert [s.name for s in states] == worker_names(workers)
    assert all(s.ready for s in states)


def checkout_with_its_own_host_code(root: Path, into: Path) -> Path:
    """A checkout `lab` runs from whose lab/ is a copy of root's, to edit without touching root's
    (`make test` runs another pytest beside this one, which imports and hashes root's files).

    Everything else is root's own, linked: images/ and innode/ (the same bytes, so the same
    image tags), build/ (the wheelhouses the tags are made from, and the lock that keeps one
    build at a time) and .lab/ (the lab's generated workers file and what it remembers).
    """
    into.mkdir()
    shutil.copytree(root / "lab", into / "lab", ignore=shutil.ignore_patterns("__pycache__"))
    for entry in root.iterdir():
        if entry.name != "lab":
            (into / entry.name).symlink_to(entry)
    return into


def test_an_edit_of_host_code_leaves_a_running_lab_alone(cli: Cli, lab: Lab, tmp_path: Path) -> None:
    """Host code (lab/) is in no image: a new host module changes no image tag, so `lab up`
    builds nothing, recreates no container, and says the lab is already up."""
    before = {n.name: n.container_id for n in lab.nodes()}
    checkout = checkout_with_its_own_host_code(lab.config.root, tmp_path / "checkout")
    module = checkout / "lab" / "_host_edit_probe.py"
    module.write_text('"""Written by test_an_edit_of_host_code_leaves_a_running_lab_alone."""\n')

    def lab_in_checkout(*argv: str) -> Result:
        # As `cli` runs `lab`, but with the copy's host code: from the copy, and first on the path.
        env = {"LAB_NAME": cli.name, "BATCH_SYSTEM": cli.batch_system, "PYTHONPATH": str(checkout)}
        return process.run([sys.executable, *argv], check=False, cwd=checkout, env=env)

    # The `lab` that runs is the edited one, and it takes the copy for its checkout.
    where = lab_in_checkout("-c", "import lab._host_edit_probe, lab.config; print(lab.config.project_root())")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == checkout.resolve()
    up = lab_in_checkout("-m", "lab.cli", "up")
    assert up.returncode == 0, up.stderr
    assert "already up" in up.stdout
    assert ": built " not in up.stderr
    assert {n.name: n.container_id for n in lab.nodes()} == before
