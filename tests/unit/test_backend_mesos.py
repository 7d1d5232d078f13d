"""lab/backends/mesos: the master's view of its agents, pinning, and Toil's options (no Docker)."""

from __future__ import annotations

from typing import Any

import pytest

from innode.mesos_daemons import state_argv
from lab.backends import mesos
from lab.backends.mesos import MesosBackend
from lab.errors import LabError

from .fakes import STATE, FakeLeader, http_ok


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
    leader = FakeLeader(http_ok(STATE))
    states = MesosBackend().worker_states(leader)  # type: ignore[arg-type]
    assert [a.name for a in states] == ["worker-1", "worker-2", "worker-3"]
    assert leader.calls == [state_argv()]
    assert leader.calls[0][:3] == ["timeout", "5", "bash"]  # no interpreter starts for a poll


def test_queued_jobs_are_the_tasks_staging_starting_or_running() -> None:
    assert MesosBackend().queued_jobs(FakeLeader(http_ok(STATE))) == 2  # type: ignore[arg-type]


def test_set_active_finds_the_agent_id_and_runs_the_operator_call_on_the_leader() -> None:
    leader = FakeLeader(http_ok(STATE))
    mesos.set_active(leader, "worker-3", active=False)  # type: ignore[arg-type]
    mesos.set_active(leader, "worker-3", active=True)  # type: ignore[arg-type]
    state = state_argv()
    assert leader.calls == [
        state,
        ["python3", "-m", "innode.mesos_daemons", "deactivate", "A-S3"],
        state,
        ["python3", "-m", "innode.mesos_daemons", "activate", "A-S3"],
    ]


def test_master_state_that_cannot_be_had_is_a_lab_error() -> None:
    with pytest.raises(LabError, match="the master does not answer on leader:5050: exit status 124"):
        mesos.master_state(FakeLeader("", 124))  # type: ignore[arg-type]
    with pytest.raises(LabError, match="not 200"):
        mesos.master_state(FakeLeader("HTTP/1.1 307 Temporary Redirect\r\nLocation: //other:5050\r\n\r\n"))  # type: ignore[arg-type]


def test_set_active_of_an_agent_the_master_does_not_know() -> None:
    with pytest.raises(LabError, match="knows no agent on worker-9"):
        mesos.set_active(FakeLeader(http_ok(STATE)), "worker-9", active=False)  # type: ignore[arg-type]
