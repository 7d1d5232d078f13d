"""`lab toil-tests --family slurm` end to end: one of Toil's own Slurm tests, unmodified, on the Slurm lab.

Toil's SlurmBatchSystemTest::test_run_jobs (toil/test/batchSystems/batchSystemTest.py, as the
leader's Toil installs it) submits real jobs with sbatch to the lab's slurmctld. About 30 s.
The whole family runs with `lab toil-tests --family slurm`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.cluster import Lab
from lab.toil_tests import slurm_family, table
from tests.integration.conftest import Cli

pytestmark = [pytest.mark.integration, pytest.mark.backends("slurm")]


def test_toils_own_slurm_test_runs_its_jobs_on_the_workers(cli: Cli, lab: Lab, tmp_path: Path) -> None:
    run = cli(
        "toil-tests", "--family", "slurm", "--results", str(tmp_path), "-k", "test_run_jobs",
        env={"LAB_REUSE": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    rows = table.read("slurm", tmp_path / "slurm.xml")
    assert [(r.test, r.result) for r in rows] == [("SlurmBatchSystemTest::test_run_jobs", "passed")]
    # What slurmctld says of the test's jobs (kept for MinJobAge after they end): each ran
    # on a worker, its output in the family's folder on the shared volume.
    jobs = lab.leader().exec(["scontrol", "show", "job", "--oneliner"]).stdout.splitlines()
    ours = [job for job in jobs if f"StdOut={slurm_family.SHARED_TMP}/" in job]
    assert ours, jobs[-5:]
    hosts = {re.search(r"\bBatchHost=(\S+)", job).group(1) for job in ours}  # type: ignore[union-attr]
    assert hosts and all(host.startswith("worker-") for host in hosts), hosts
