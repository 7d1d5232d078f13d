"""Toil's tests that need a real Slurm (`needs_slurm`), on the leader of a Slurm lab.

Toil's own CI checks Slurm with mocked `sacct`/`scontrol` output; these tests submit real
jobs with `sbatch` and watch them with `squeue`, `sacct` and `scontrol`. They run from the
leader's installed Toil (in_node.py) as the lab user, against the lab's slurmctld, so their
jobs run on the workers. Their temporary folders (Toil's TOIL_TEST_TEMP, TMPDIR, pytest's
--basetemp) are on the shared volume, where a job on a worker finds the files its test
made on the leader, as on a cluster with a shared file system. `test_slurm_node_memory`
(toil/test/cwl/cwlTest.py) needs cwltool: on a lab without CWL's layer it is left out,
and the run says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from innode.layout import DATA_DIR, LAB_USER, LEADER
from lab.cluster import Lab
from lab.cwl import run as cwl_run
from lab.errors import LabError
from lab.steps import Say
from lab.toil_tests import in_node
from lab.toil_tests.families import CWL_TESTS, SLURM, Outcome

# The family's own folder on the shared volume, emptied before each run.
SHARED_TMP = f"{DATA_DIR}/toil-tests/slurm"


def run(lab: Lab, extra: Sequence[str], results: Path, say: Say) -> Outcome:
    """Run the Slurm family on the lab's leader; its outcome (junit XML copied to `results`)."""
    if lab.batch_system() != "slurm":
        raise LabError(
            f"Toil's Slurm tests need a Slurm lab; lab {lab.config.name!r} runs {lab.batch_system()}"
        )
    leader = lab.leader()
    if not leader.running:
        raise LabError(f"the {LEADER} of lab {lab.config.name!r} is {leader.state} (`lab heal {LEADER}`)")
    files = list(SLURM.files)
    if not cwl_run.has_runner(leader):
        files.remove(CWL_TESTS)
        say(
            f"this lab has no CWL layer: {CWL_TESTS} (test_slurm_node_memory) is left out "
            "(`CWL=1 lab up` adds it)"
        )
    temp = f"{SHARED_TMP}/tmp"
    leader.exec(["sh", "-c", 'rm -rf "$1" && mkdir -p "$1/tmp"', "shared", SHARED_TMP], user=LAB_USER)
    env = {"TOIL_TEST_TEMP": temp, "TMPDIR": temp}
    args = [f"--basetemp={SHARED_TMP}/pytest", *extra]
    return in_node.run(leader, SLURM, args, results, say, env=env, files=files)
