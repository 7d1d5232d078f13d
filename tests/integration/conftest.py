"""Integration fixtures: thin wrappers over lab's context managers."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import process
from lab.cluster import Lab, running_lab
from lab.config import LabConfig
from lab.diagnostics import export_logs
from lab.process import Result

RESULTS = Path(__file__).resolve().parents[2] / "test-results"
WORKFLOWS = Path(__file__).resolve().parent / "workflows"
TEST_LAB_NAME = "toil-lab-test"


def test_config() -> LabConfig:
    """The test lab: its own name, unless LAB_REUSE=1 asks for the running LAB_NAME."""
    env = dict(os.environ)
    if env.get("LAB_REUSE") != "1":
        env["LAB_NAME"] = env.get("TEST_LAB_NAME", TEST_LAB_NAME)
    return LabConfig.from_env(env)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """A lab that is up for the whole session."""
    config = test_config()
    with running_lab(
        config,
        reuse=os.environ.get("LAB_REUSE") == "1",
        on_failure=lambda failed: export_logs(failed, RESULTS / "diagnostics" / "lab-up"),
    ) as running:
        yield running


@pytest.fixture
def cli(lab: Lab) -> Cli:
    """Runs the `lab` command line against the test lab, as a user would."""
    return Cli(lab.config.name)


class Cli:
    """`lab ...` in a subprocess, with LAB_NAME set to the test lab."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return process.run(
            [sys.executable, "-m", "lab.cli", *args],
            check=False,
            env={"LAB_NAME": self.name, **(env or {})},
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
