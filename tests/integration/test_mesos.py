"""The Mesos lab itself: a real master on the leader and an agent per worker (given MESOS_PACKAGE).

Nothing here fakes Mesos: these tests talk to the mesos-master and mesos-agents that
`lab up` started from the user's Mesos build. Without MESOS_PACKAGE they are skipped,
saying what to set. The workflow and auto-deployment tests also run on this lab.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from innode import mesos_daemons
from innode.layout import RESERVED_MEMORY_MB
from lab.backends import mesos
from lab.cluster import Lab
from lab.labels import LABEL_BATCH_SYSTEM
from tests.integration.conftest import SPREAD_SECONDS, WORKFLOWS, Cli

pytestmark = [pytest.mark.integration, pytest.mark.backends("mesos")]


def agents_by_name(lab: Lab) -> dict[str, dict[str, object]]:
    state = mesos.master_state(lab.leader())
    return {str(agent["hostname"]): agent for agent in state["slaves"]}


def test_the_master_is_elected_and_every_agent_is_registered(lab: Lab) -> None:
    state = mesos.master_state(lab.leader())
    assert mesos.is_elected(state)
    assert state["flags"]["registry"] == "in_memory"
    agents = agents_by_name(lab)
    workers = lab.workers()
    assert sorted(agents) == sorted(w.name for w in workers)
    for worker in workers:
        agent = agents[worker.name]
        assert agent["active"] is True
        assert agent["attributes"] == {"preemptible": "False"}
        # The agent offers its container's real CPUs, and its memory less the OS's share.
        cpus = int(worker.exec(["nproc"]).stdout)
        resources = agent["resources"]
        assert isinstance(resources, dict)
        assert resources["cpus"] == cpus
        assert resources["mem"] == lab.config.worker_memory_mb - RESERVED_MEMORY_MB
        # It advertises its own container's address, not the Docker host's.
        address = worker.exec(["python3", "-m", "innode.mesos_daemons", "own-ip"]).stdout.strip()
        assert str(agent["pid"]).endswith(f"@{address}:{mesos_daemons.AGENT_PORT}")
        assert worker.inspect()["Config"]["Labels"][LABEL_BATCH_SYSTEM] == "mesos"


def test_status_shows_the_masters_view(cli: Cli, lab: Lab) -> None:
    result = cli("status")
    assert result.returncode == 0, result.stderr
    assert "(batch system: mesos)" in result.stdout
    assert "mesos-master" in result.stdout
    for worker in lab.workers():
        line = next(line for line in result.stdout.splitlines() if line.startswith(worker.name + " "))
        assert "active, cpus" in line, line


def test_each_agent_keeps_its_own_executors(cli: Cli, lab: Lab, tmp_path: Path) -> None:
    """Each worker's volume holds the sandboxes of its own agents only (a recreated worker's
    earlier agents included), and the agent of every worker that ran a leaf has one there."""
    seconds = SPREAD_SECONDS["mesos"]
    run = cli(
        "run", str(WORKFLOWS / "fanout.py"), "--leaves", "6", "--seconds", seconds, "--logLevel", "WARNING"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    leaves = json.loads(next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))[7:])
    used = {leaf["node"] for leaf in leaves}  # what the leaves saw of themselves
    assert len(used) >= 2, f"the leaves ran on {used} only"
    agents = agents_by_name(lab)
    listings = {
        worker.name: set(worker.exec(["ls", mesos_daemons.SANDBOXES_DIR], check=False).stdout.split())
        for worker in lab.workers()
    }
    for name in used:
        assert agents[name]["id"] in listings[name], (name, agents[name]["id"], listings[name])
    names = sorted(listings)
    for i, one in enumerate(names):
        for other in names[i + 1 :]:
            assert not listings[one] & listings[other], (one, other, listings[one] & listings[other])

    exported = cli("export-logs", str(tmp_path / "logs"))
    assert exported.returncode == 0, exported.stderr
    state = json.loads((tmp_path / "logs" / "mesos-master-state.json").read_text())
    assert {agent["hostname"] for agent in state["slaves"]} == {w.name for w in lab.workers()}
    sandboxes = list((tmp_path / "logs" / "sandboxes").rglob("stderr"))
    assert {path.relative_to(tmp_path / "logs" / "sandboxes").parts[0] for path in sandboxes} >= used


def test_a_pinned_run_stops_offers_from_the_other_agents_and_restores_them(lab: Lab) -> None:
    with lab.pinned("worker-2") as options:
        assert options == []
        states = {s.name: s for s in lab.worker_states()}
        assert states["worker-2"].ready
        assert all(s.state == "deactivated" for name, s in states.items() if name != "worker-2")
    assert all(s.ready for s in lab.worker_states())
