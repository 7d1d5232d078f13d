"""Integration fixtures: thin wrappers over lab's context managers."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import backends, process, settings
from lab.cluster import Lab
from lab.config import LabConfig
from lab.diagnostics import export_logs
from lab.process import Result
from lab.startup import Policy, running_lab
from tests.labs import TEST_LAB_NAME, lab_name

RESULTS = Path(__file__).resolve().parents[2] / "test-results"
WORKFLOWS = Path(__file__).resolve().parent / "workflows"
# Every test that uses the `lab` fixture runs on each of these batch systems, unless
# it is marked @pytest.mark.backends("slurm").
BACKENDS = backends.NAMES
NO_MESOS = "on Mesos: set MESOS_PACKAGE to a Mesos .deb or install-tree .tar.gz (README.md, 'Mesos')"
# REQUIRE_MESOS=1 (CI, where a Mesos build is at hand): no Mesos build is a failure, not a skip.
REQUIRE_MESOS = os.environ.get("REQUIRE_MESOS") == "1"
# How long a fan-out's leaves last when a test needs them spread over the workers. Toil's
# Mesos scheduler declines the offers it cannot use without a refuse filter, so the master
# withholds those agents for Mesos's default 5 s: shorter leaves may all run on the agents
# whose jobs just finished (README.md, 'Mesos'). Slurm places each job as it comes.
SPREAD_SECONDS = {"slurm": "0.5", "mesos": "6"}


def reusing(batch_system: str) -> bool:
    """LAB_REUSE=1 and the running LAB_NAME lab runs this batch system."""
    if os.environ.get("LAB_REUSE") != "1":
        return False
    return Lab(LabConfig.from_env()).running_batch_system() == batch_system


def test_config(batch_system: str = "slurm") -> LabConfig:
    """The test lab of a batch system: its own name, unless LAB_REUSE=1 and the running LAB_NAME
    lab runs that batch system. Without MESOS_PACKAGE, the Mesos build that the LAB_NAME lab
    (or the test lab itself) remembers from its last `lab up`, or `make mesos` built, is used."""
    name = None
    if not reusing(batch_system):
        name = lab_name(os.environ.get("TEST_LAB_NAME", TEST_LAB_NAME), batch_system)
    # Test labs carry CWL's layer (tests/integration/test_cwl.py).
    return dataclasses.replace(settings.lab_config(name=name, batch_system=batch_system), cwl=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each lab test on every batch system it is for; Mesos tests are marked `mesos`
    (`make test` runs them in a pytest of their own, beside the rest)."""
    if "lab" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker is not None else BACKENDS
    params = [
        pytest.param(name, id=name, marks=[pytest.mark.mesos] if name == "mesos" else []) for name in names
    ]
    metafunc.parametrize("lab", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A lab of the test's batch system, up for the whole session (one lab at a time)."""
    batch_system: str = getattr(request, "param", "slurm")
    config = test_config(batch_system)
    if batch_system == "mesos" and config.mesos_package is None:
        if REQUIRE_MESOS:
            pytest.fail(f"REQUIRE_MESOS=1, and no Mesos build is given: {NO_MESOS}")
        pytest.skip(NO_MESOS)
    with running_lab(
        config,
        Policy(reuse=reusing(batch_system)),
        on_failure=lambda failed: export_logs(failed, RESULTS / "diagnostics" / f"lab-up-{batch_system}"),
    ) as running:
        yield running


@pytest.fixture
def cli(lab: Lab) -> Cli:
    """Runs the `lab` command line against the test lab, as a user would."""
    return Cli(lab.config.name, lab.batch_system())


class Cli:
    """`lab ...` in a subprocess, with LAB_NAME and BATCH_SYSTEM set to the test lab's."""

    def __init__(self, name: str, batch_system: str = "slurm") -> None:
        self.name = name
        self.batch_system = batch_system

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return process.run(
            [sys.executable, "-m", "lab.cli", *args],
            check=False,
            env={"LAB_NAME": self.name, "BATCH_SYSTEM": self.batch_system, **(env or {})},
        )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[object]:
    report = yield
    setattr(item, f"report_{report.when}", report)  # type: ignore[attr-defined]
    return report


@pytest.fixture(autouse=True)
def diagnostics_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """When an integration test fails, leave the lab's logs in test-results/diagnostics."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and "lab" in request.fixturenames:
        running: Lab = request.getfixturevalue("lab")
        folder = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.nodeid)
        export_logs(running, RESULTS / "diagnostics" / folder)
