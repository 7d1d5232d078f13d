"""The scenarios' form, catalogue, verdict rules and report, without Docker.

Each scenario's verdict rule is fed the observations of real runs, kept in
tests/unit/data/scenarios/<scenario>/<verdict>[-how].json: the file's name says which verdict
the rule must give. Every scenario has samples of both "reproduces" and "fixed"; a sample's
"recorded" field says how it was made (a run on Toil 9.6.0, a run with an option or a patched
TOIL_SOURCE that removes the bug, or, where no run can give it, a recorded run edited).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lab.backends import NAMES as BATCH_SYSTEMS
from lab.errors import ConfigError
from lab.scenarios import evidence, runner
from lab.scenarios.catalogue import SCENARIOS
from lab.scenarios.catalogue.issue_5452 import gaps
from lab.scenarios.scenario import VERDICTS, Outcome, Played, Scenario, Stage, outcome, play

DATA = Path(__file__).resolve().parent / "data" / "scenarios"
CATALOGUE = Path(__file__).resolve().parents[2] / "lab" / "scenarios" / "catalogue"
SAMPLES = sorted(DATA.glob("*/*.json"))
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def sample_verdict(path: Path) -> str:
    return path.stem.split("-", 1)[0]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_recorded_sample_gets_the_verdict_its_name_says(path: Path) -> None:
    scenario = BY_NAME[path.parent.name]
    data = json.loads(path.read_text())
    assert data["recorded"], f"{path}: say how the sample was recorded"
    judged = scenario.judge(scenario.load(data["observed"]))
    assert judged.verdict == sample_verdict(path), judged.reason
    assert judged.reason
    assert all(e.lines for e in judged.evidence)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_rule_is_fed_both_outcomes(scenario: Scenario[Any]) -> None:
    verdicts = {sample_verdict(path) for path in (DATA / scenario.name).glob("*.json")}
    assert {"reproduces", "fixed"} <= verdicts


def test_the_catalogue_has_eight_scenarios_with_unique_names_and_issues() -> None:
    assert len(SCENARIOS) >= 8
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
    assert len({s.issue.number for s in SCENARIOS}) == len(SCENARIOS)
    systems = {system for s in SCENARIOS for system in s.batch_systems}
    assert systems == {"slurm", "mesos"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_scenario_states_its_issue_systems_and_expectation(scenario: Scenario[Any]) -> None:
    assert scenario.name.startswith(f"{scenario.issue.number}-")
    assert scenario.issue.state in ("open", "closed")
    assert scenario.issue.title and "\n" not in scenario.issue.title
    assert scenario.batch_systems and set(scenario.batch_systems) <= set(BATCH_SYSTEMS)
    assert scenario.expected in VERDICTS and scenario.expected != "inconclusive"
    assert scenario.summary


@pytest.mark.parametrize("path", sorted(CATALOGUE.glob("issue_*.py")), ids=lambda p: p.stem)
def test_each_scenario_file_says_its_issue_and_preparation(path: Path) -> None:
    text = ast.get_docstring(ast.parse(path.read_text())) or ""
    number = path.stem.removeprefix("issue_")
    assert text.startswith(f"Toil #{number}: ")
    assert "Preparation:" in text


def test_every_scenario_file_is_in_the_catalogue() -> None:
    listed = {type(s).__module__.rsplit(".", 1)[-1] for s in SCENARIOS}
    assert listed == {p.stem for p in CATALOGUE.glob("issue_*.py")}


# --- the run of a scenario: undo always, evidence, report ---------------------------------


@dataclass(frozen=True)
class Seen:
    value: int


class Toy(Scenario[Seen]):
    name = "1-toy"
    batch_systems = ("slurm",)
    expected = "reproduces"
    summary = "a toy"
    observed = Seen

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.undone: list[str] = []

    def play(self, stage: Stage) -> Seen:
        stage.undo("first", lambda: self.undone.append("first"))
        stage.undo("second", lambda: self.undone.append("second"))
        stage.undo("broken", self._broken)
        if self.fail:
            raise RuntimeError("the run failed")
        return Seen(3)

    def _broken(self) -> None:
        raise OSError("no such node")

    def judge(self, observed: Seen) -> Outcome:
        return outcome(
            "reproduces" if observed.value == 3 else "fixed", f"value {observed.value}", ("seen", ["3"])
        )


class FakeLab:
    def batch_system(self) -> str:
        return "slurm"


def test_play_undoes_newest_first_reports_a_failed_undo_and_judges() -> None:
    said: list[str] = []
    toy = Toy()
    done = play(toy, Stage(FakeLab(), said.append), "Toil 9.6.0")  # type: ignore[arg-type]
    assert toy.undone == ["second", "first"]
    assert done.undo_failures == ("broken: no such node",)
    assert said == ["could not undo broken: no such node"]
    assert done.outcome.verdict == "reproduces" and done.observed == {"value": 3}
    assert not done.as_expected  # an undo that failed leaves the lab changed


def test_play_undoes_when_the_run_fails() -> None:
    toy = Toy(fail=True)
    with pytest.raises(RuntimeError):
        play(toy, Stage(FakeLab(), lambda _: None), "Toil 9.6.0")  # type: ignore[arg-type]
    assert toy.undone == ["second", "first"]


def test_load_refuses_fields_the_observations_do_not_have() -> None:
    with pytest.raises(ConfigError, match="unknown fields"):
        Toy().load({"value": 1, "other": 2})


def test_report_shows_the_verdict_the_expectation_and_each_evidence_line() -> None:
    scenario = BY_NAME["5177-walltime"]
    done = Played(
        "5177-walltime",
        "slurm",
        "TOIL_SOURCE /src/toil",
        outcome("fixed", "the job's own log says it ran out of time", ("the leaf's log", ["a", "b"])),
        "reproduces",
        41.2,
        {},
    )
    text = runner.report(scenario, done)
    assert "verdict: fixed on slurm with TOIL_SOURCE /src/toil, in 41 s" in text
    assert "(on Toil 9.6.0: reproduces; NOT as recorded for Toil 9.6.0)" in text
    assert "    | a\n    | b" in text
    assert "5177-walltime" in runner.table([done]) and "fixed" in runner.table([done])


def test_the_listing_names_every_scenario_with_its_issue_and_state() -> None:
    text = runner.listing()
    for scenario in SCENARIOS:
        assert f"#{scenario.issue.number} ({scenario.issue.state})" in text
        assert scenario.name in text


# --- choosing what to play ------------------------------------------------------------------


def test_a_scenario_is_found_by_name_or_issue_number() -> None:
    assert runner.find("5177").name == "5177-walltime"
    assert runner.find("5177-walltime").name == "5177-walltime"
    with pytest.raises(ConfigError, match="lab scenario list"):
        runner.find("9999")


def test_the_plan_groups_by_batch_system_and_skips_what_does_not_apply() -> None:
    request = runner.Request(names=("1652", "5177", "1629"), batch_systems=("slurm", "mesos"))
    pairs = [(s.name, system) for s, system in runner.plan(request, {})]
    assert pairs == [
        ("1652-stale-user-module", "slurm"),
        ("5177-walltime", "slurm"),
        ("1652-stale-user-module", "mesos"),
        ("1629-framework-removed", "mesos"),
    ]


def test_the_plan_refuses_an_unknown_batch_system_and_an_empty_choice() -> None:
    with pytest.raises(ConfigError, match="not one of"):
        runner.plan(runner.Request(names=(), batch_systems=("lsf",)), {})
    with pytest.raises(ConfigError, match="applies to"):
        runner.plan(runner.Request(names=("1629",), batch_systems=("slurm",)), {})


# --- the evidence readers -------------------------------------------------------------------

TOIL_OUTPUT = """\
[2026-12-03T15:58:00+0000] [MainThread] [W] [toil.leader] Job failed with exit value 77: 'root' k/i-1 v1
[2026-12-03T15:58:00+0000] [MainThread] [W] [toil.leader] Log from job "kind-root/instance-1" follows:
=========>
\t[2026-12-03T15:57:58+0000] [MainThread] [C] [toil.worker] Worker crashed, traceback:
\tTraceback (most recent call last):
\t  File "worker.py", line 84, in handle_walltime_signal
\t    raise KeyboardInterrupt()
\tKeyboardInterrupt
\tJob failed with exit value 1 (not the leader's own line)
<=========
[2026-12-03T15:58:01+0000] [MainThread] [I] [toil.leader] Exit reason: TIMELIMIT
"""


def test_relayed_logs_and_the_leaders_own_lines_are_told_apart() -> None:
    relayed = evidence.relayed_log(TOIL_OUTPUT, "kind-root")
    assert relayed[0] == "=========>" or relayed[0].startswith("Worker crashed")
    assert "KeyboardInterrupt" in relayed
    assert evidence.relayed_log(TOIL_OUTPUT, "kind-other") == []
    own = evidence.leader_lines(TOIL_OUTPUT, ("Job failed", "Exit reason"))
    assert own == ["Job failed with exit value 77: 'root' k/i-1 v1", "Exit reason: TIMELIMIT"]


def test_a_bare_exception_is_told_from_one_with_a_message() -> None:
    bare = ["Traceback (most recent call last):", '  File "x", line 1', "KeyboardInterrupt"]
    said = ["Traceback (most recent call last):", '  File "x", line 1', "toil.worker.WalltimeExpired: time"]
    assert evidence.ends_in(bare, "KeyboardInterrupt")
    assert not evidence.ends_in(said, "KeyboardInterrupt")


def test_squeue_lines_are_parsed_with_reasons_that_hold_spaces() -> None:
    jobs = evidence.parse_squeue(
        "20|toil_job_3_client|PENDING||Resources\n15|lab-filler|RUNNING|worker-1|None\n"
    )
    assert [j.line for j in jobs] == [
        "20 toil_job_3_client PENDING - (Resources)",
        "15 lab-filler RUNNING worker-1 (None)",
    ]


def test_gaps_are_the_seconds_between_refusals() -> None:
    lines = [
        "refused worker-1 1 10.0",
        "refused worker-1 2 12.5",
        "passed worker-1 3 30.0",
        "refused worker-1 4 20.0",
    ]
    assert gaps(lines) == [2.5, 7.5]


def test_a_run_says_which_scenarios_it_cannot_play_here(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(runner, "available", lambda env: ("slurm",))
    monkeypatch.setattr(runner, "lab_for", lambda *args: (_ for _ in ()).throw(ConfigError("no lab here")))
    with pytest.raises(ConfigError, match="no lab here"):
        runner.run(None, {}, runner.Request(names=("1629", "2373"), batch_systems=()), said.append)  # type: ignore[arg-type]
    assert said == [
        "not played: 1629-framework-removed is for mesos, this run plays on slurm; " + runner.NO_MESOS
    ]
