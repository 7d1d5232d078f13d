"""lab/backends/mesos: the master's view of its agents, pinning, and Toil's options (no Docker)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lab.backends import mesos
from lab.backends.mesos import MesosBackend
from lab.errors import LabError

from .fakes import STATE, FakeLeader


def test_toil_options() -> None:
    options = [("--batchSystem", "mesos"), ("--mesosEndpoint", "leader:5050")]
    assert MesosBackend().toil_options(auto_deploy=True) == options


def test_parse_agents() -> None:
    agents = mesos.parse_agents(STATE)
    assert [a.name for a in agents] == ["worker-1", "worker-2", "worker-3"]
    one, two, three = agents
    assert (two.state, two.ready, two.lost, two.id) == ("active", True, False, "A-S2")
    assert two.raw == "active, cpus 1/2, mem 256/2944M, 1 tasks"
    assert (one.state, one.ready, one.raw.endswith("1 tasks")) == ("deactivated", False, True)
    assert "deactivated" in one.reason
    assert (three.state, three.ready, three.lost) == ("inactive", False, False)  # not yet unreachable
    assert three.reason == "not connected to the master"


def test_a_recreated_workers_new_agent_stands_for_it() -> None:
    old = {"id": "OLD", "hostname": "worker-3", "active": False}
    new = {"id": "NEW", "hostname": "worker-3", "active": True}
    for slaves in ([old, new], [new, old]):
        [agent] = mesos.parse_agents({"slaves": slaves})
        assert (agent.id, agent.ready) == ("NEW", True)


def test_parse_agents_of_an_empty_master() -> None:
    assert mesos.parse_agents({"slaves": [], "frameworks": []}) == []


@pytest.mark.parametrize(
    ("state", "elected"),
    [
        (STATE, True),
        ({**STATE, "elected_time": None}, False),
        ({**STATE, "leader": "master@172.20.0.9:5050"}, False),
    ],
)
def test_is_elected(state: dict[str, Any], elected: bool) -> None:
    assert mesos.is_elected(state) is elected


def test_worker_states_ask_the_master_on_the_leader() -> None:
    leader = FakeLeader(json.dumps(STATE))
    states = MesosBackend().worker_states(leader)  # type: ignore[arg-type]
    assert [a.name for a in states] == ["worker-1", "worker-2", "worker-3"]
    assert leader.calls == [["python3", "-m", "innode.mesos_daemons", "state"]]


def test_queued_jobs_are_the_tasks_staging_starting_or_running() -> None:
    assert MesosBackend().queued_jobs(FakeLeader(json.dumps(STATE))) == 2  # type: ignore[arg-type]


def test_set_active_finds_the_agent_id_and_runs_the_operator_call_on_the_leader() -> None:
    leader = FakeLeader(json.dumps(STATE))
    mesos.set_active(leader, "worker-3", active=False)  # type: ignore[arg-type]
    mesos.set_active(leader, "worker-3", active=True)  # type: ignore[arg-type]
    state = ["python3", "-m", "innode.mesos_daemons", "state"]
    assert leader.calls == [
        state,
        ["python3", "-m", "innode.mesos_daemons", "deactivate", "A-S3"],
        state,
        ["python3", "-m", "innode.mesos_daemons", "activate", "A-S3"],
    ]


def test_set_active_of_an_agent_the_master_does_not_know() -> None:
    with pytest.raises(LabError, match="knows no agent on worker-9"):
        mesos.set_active(FakeLeader(json.dumps(STATE)), "worker-9", active=False)  # type: ignore[arg-type]
