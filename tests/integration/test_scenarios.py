"""Scenarios of Toil issues on the test labs, through `lab scenario`, with the verdicts recorded
for Toil 9.6.0.

`make test` plays the quick ones (MAKE_TEST: under a minute each), on each batch system they
apply to. The other three wait on timers that are the point of their bug and cannot be
shortened without changing it: 4853 freezes slurmctld past Toil's old retry window (60 s),
2663 waits for Toil's own default --deadlockWait (60 s, checked every 30 s), 1629 watches a
leader for 90 s after its framework is gone. `make scenarios` plays every one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.cluster import Lab
from lab.scenarios.catalogue import SCENARIOS
from lab.scenarios.scenario import WRITTEN_AGAINST
from tests.integration.conftest import Cli

pytestmark = pytest.mark.integration

MAKE_TEST = (
    "2373-workdir-on-workers",
    "1652-stale-user-module",
    "5177-walltime",
    "5082-toil-kill",
    "5452-retry-backoff",
)


def test_the_quick_scenarios_give_the_verdicts_recorded_for_this_toil(
    cli: Cli, lab: Lab, tmp_path: Path
) -> None:
    system = lab.batch_system()
    chosen = [s for s in SCENARIOS if s.name in MAKE_TEST and system in s.batch_systems]
    assert chosen
    before = {node.name: node.container_id for node in lab.nodes()}
    run = cli("scenario", *(s.name for s in chosen), "--batch-systems", system, "--results", str(tmp_path))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-3000:]
    for scenario in chosen:
        played = json.loads((tmp_path / f"{scenario.name}-{system}.json").read_text())
        assert played["outcome"]["verdict"] == scenario.expected, played["outcome"]
        assert played["undo_failures"] == []
        # The verdict stands on evidence the run printed.
        assert f"verdict: {scenario.expected} on {system}" in run.stdout
        assert f"(on Toil {WRITTEN_AGAINST}: {scenario.expected}; as expected)" in run.stdout
        # The rule gives the same verdict again from the observations kept.
        again = scenario.judge(scenario.load(played["observed"]))
        assert again.verdict == scenario.expected
    # It played on this lab, which is as it was: the same containers, every worker ready, and
    # none of the scenarios' changes left on a node.
    assert {node.name: node.container_id for node in lab.nodes()} == before
    assert all(state.ready for state in lab.worker_states())
    for node in lab.workers():
        site = "$(python3 -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))')"
        listing = (
            f"ls /usr/local/sbin/_toil_worker /scratch {site}/versioned.py {site}/__pycache__/versioned.*"
        )
        left = node.exec(["sh", "-c", f"{listing} 2>/dev/null; true"]).stdout
        assert left.strip() == "", f"{node.name}: {left}"
    leftovers = lab.leader().exec(["sh", "-c", "ls /scratch 2>/dev/null; true"]).stdout
    assert leftovers.strip() == ""
