"""A handful of the CWL v1.2 conformance suite on the Slurm test lab: `lab cwl-conformance -s ...`.

The whole suite is `make cwl-conformance` (its failures are findings, not the lab's); these
tests must pass, on single_machine and on Slurm: an input File that only the leader has
(imported into the job store, staged on a worker), a scatter with JavaScript, a nested
workflow, an InitialWorkDirRequirement with secondary files, a step's valueFrom; and one
tagged `docker`, which is set aside as needing a container engine, never run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from lab.cluster import Lab
from lab.cwl import results
from tests.integration.conftest import Cli

pytestmark = [pytest.mark.integration, pytest.mark.backends("slurm")]

RUN = (
    "cl_basic_generation",
    "wf_wc_scatter",
    "nested_workflow",
    "initial_workdir_secondary_files_expr",
    "valuefrom_wf_step",
)
SET_ASIDE = "stdout_redirect_docker"


def test_a_handful_of_conformance_tests_pass_on_slurm_and_on_the_baseline(
    cli: Cli, lab: Lab, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    names = ",".join((*RUN, SET_ASIDE))
    run = cli(
        "cwl-conformance", "--batch-systems", "slurm", "-s", names, "-j", "3", "--results", str(out),
        env={"LAB_REUSE": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"({len(RUN)} tests run, 1 need a container engine and were not)" in run.stdout
    for batch_system in (results.BASELINE, "slurm"):
        junit = out / f"{batch_system}.xml"
        cases = list(ElementTree.parse(junit).iter("testcase"))
        # cwltest's own record of each test: its id, and neither a failure nor a skip.
        assert sorted(case.get("file") for case in cases) == sorted(RUN), batch_system
        for case in cases:
            assert case.find("failure") is None and case.find("skipped") is None, ElementTree.tostring(case)
        rows = results.read(batch_system, junit)
        assert {row.result for row in rows} == {results.PASSED}
    summary = (out / "summary.md").read_text()
    assert f"| slurm | {lab.config.name} | {len(RUN)} | 0 | 0 | 1 |" in summary
    assert "## Findings: passed on single_machine, failed on a batch system (0)" in summary
    # The run's folder on the shared volume is gone; the lab stays up and usable.
    assert lab.leader().exec(["test", "-e", "/data/cwl-conformance/slurm"], check=False).returncode != 0
    assert lab.is_up()
