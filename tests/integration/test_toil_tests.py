"""`lab toil-tests` end to end: one of Toil's own appliance tests, unmodified, on the Mesos lab.

Toil's testRestart (toil/test/src/autoDeploymentTest.py, as the lab's Toil installs it) runs
with pytest on the host against the lab's leader and first worker, through `lab toil-tests`
as a user runs it (LAB_REUSE=1: on this session's lab). About a minute. The whole families
run with `make toil-tests`, which `make test` leaves out: their failures are findings about
Toil, not about the lab.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cluster import Lab
from lab.toil_tests import installed, leftovers, table
from tests.integration.conftest import Cli

pytestmark = [pytest.mark.integration, pytest.mark.backends("mesos")]

MASTER_ON_LOOPBACK = "import urllib.request as u; print(u.urlopen('http://localhost:5050/version').status)"


def test_what_toils_appliance_tests_expect_holds_on_the_nodes(lab: Lab) -> None:
    leader = lab.leader()
    # The scripts pass --mesosEndpoint=localhost:5050 and run `virtualenv` on the leader.
    assert leader.exec(["python3", "-c", MASTER_ON_LOOPBACK]).stdout.strip() == "200"
    assert leader.exec(["virtualenv", "--version"], user="lab").returncode == 0
    for node in (leader, lab.workers()[-1]):
        # `import toil.test` runs rsync; the Mesos tests run pytest in a worker.
        assert node.exec(["rsync", "--version"]).returncode == 0
        assert node.exec(["python3", "-m", "pytest", "--version"]).returncode == 0


def test_toils_own_restart_test_passes_on_the_lab(cli: Cli, lab: Lab, tmp_path: Path) -> None:
    before = set(lab.leader().exec(["ls", "-A", "/data"]).stdout.split())
    run = cli(
        "toil-tests", "--family", "appliance", "--results", str(tmp_path), "-k", "testRestart",
        env={"LAB_REUSE": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    rows = table.read("appliance", tmp_path / "appliance.xml")
    assert [(r.test, r.result, r.cause) for r in rows] == [("AutoDeploymentTest::testRestart", "passed", "")]
    assert 5 < rows[0].seconds < 300
    row = next(line for line in run.stdout.splitlines() if line.startswith("appliance: "))
    assert row.split()[:3] == ["appliance:", "AutoDeploymentTest::testRestart", "passed"]
    assert "| appliance | AutoDeploymentTest::testRestart | passed |" in (tmp_path / "summary.md").read_text()
    # What ran, where, with what: the appliance's own Python (exactPython), on the lab's leader.
    python = installed.in_node(lab.leader()).python
    logs = sorted((tmp_path / "appliance" / "AutoDeploymentTest_testRestart").iterdir())
    virtualenv = f"$ virtualenv --system-site-packages --never-download --python {python} venv\n"
    assert logs[0].read_text().startswith(virtualenv + "# on leader, exit 0")
    restart = next(path for path in logs if "--restart" in path.name).read_text()
    assert "--mesosEndpoint=localhost:5050" in restart and "# on leader, exit 0" in restart
    # The lab as it was: every agent offers again, and /data holds nothing of the test.
    assert all(state.ready for state in lab.worker_states())
    left = set(lab.leader().exec(["ls", "-A", "/data"]).stdout.split())
    assert not left - before - leftovers.LAB_OWNED, left - before
