"""lab/leaves.py and lab/bench/recovery.py: reading the leaves' own logs, and the recovery table."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lab.attempts import Attempt
from lab.bench.recovery import Recovery, format_report
from lab.leaves import LEAVES, LeavesRun, race, restart
from lab.node import Node
from lab.process import Result

from .fakes import FakeRun

LEADER_ID = "a" * 64
RECORD_DIR = "/data/x"
LEAF_LOGS = (
    "== /data/x/leaf-0.log\n"
    "start worker-1 10 100.0\n"
    "done worker-1 10 112.0\n"
    "== /data/x/leaf-1.log\n"
    "start worker-2 11 100.5\n"
    "start worker-3 20 140.0\n"
    "done worker-3 20 152.0\n"
)


class FakeLab:
    """Just what LeavesRun.attempts asks of a Lab: its leader."""

    def __init__(self) -> None:
        self.config = SimpleNamespace(name="t")

    def leader(self) -> Node:
        return Node(
            name="leader",
            role="leader",
            container_id=LEADER_ID,
            container_name="t-leader-1",
            state="running",
            health="",
        )


def leaves_run(fake_run: FakeRun, output: str = LEAF_LOGS) -> LeavesRun:
    fake_run.on("docker", "exec", LEADER_ID, "sh", "-c", stdout=output)
    the_lab: Any = FakeLab()
    return LeavesRun(the_lab, record_dir=RECORD_DIR)


def test_attempts_parses_each_leafs_log(fake_run: FakeRun) -> None:
    run = leaves_run(fake_run)
    assert run.logs() == {
        0: ["start worker-1 10 100.0", "done worker-1 10 112.0"],
        1: ["start worker-2 11 100.5", "start worker-3 20 140.0", "done worker-3 20 152.0"],
    }
    (argv,) = fake_run.argvs
    assert argv[:5] == ["docker", "exec", LEADER_ID, "sh", "-c"]
    assert f"{RECORD_DIR}/leaf-*.log" in argv[5]


def test_attempts_with_no_logs_yet_is_empty(fake_run: FakeRun) -> None:
    assert leaves_run(fake_run, output="").logs() == {}


def test_attempts_keeps_a_leaf_that_has_not_logged_yet(fake_run: FakeRun) -> None:
    run = leaves_run(fake_run, output="== /data/x/leaf-12.log\n\n")
    assert run.logs() == {12: []}


def test_attempts_pairs_each_leafs_lines(fake_run: FakeRun) -> None:
    assert leaves_run(fake_run).attempts() == [
        Attempt(0, "worker-1", 10, 100.0, 112.0),
        Attempt(1, "worker-2", 11, 100.5, None),
        Attempt(1, "worker-3", 20, 140.0, 152.0),
    ]


def test_file_store_outputs_read_from_the_gathering_jobs_record(fake_run: FakeRun) -> None:
    run = leaves_run(fake_run, output='[{"leaf": 1}, {"leaf": 0}]')
    assert run.file_store_outputs() == [0, 1]
    assert fake_run.argvs[0][-1] == f"{RECORD_DIR}/outputs.json"


def test_no_outputs_record_is_no_outputs(fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec", LEADER_ID, returncode=3)  # read_text's "does not exist"
    the_lab: Any = FakeLab()
    assert LeavesRun(the_lab, record_dir=RECORD_DIR).file_store_outputs() == []


def recovery(batch_system: str, kind: str, **changes: Any) -> Recovery:
    values: dict[str, Any] = {
        "batch_system": batch_system,
        "kind": kind,
        "victim": "worker-2",
        "attempts": 6,
        "finishes": 6,
        "doubled": (),
        "why_doubled": (),
        "rerun_after": None,
        "finished_after": 20.0,
        "total": 41.0,
        "baseline": 25.0,
        "file_store_outputs": True,
        "problems": (),
    }
    values.update(changes)
    return Recovery(**values)


def test_the_table_says_per_batch_system_what_the_leaves_logs_show() -> None:
    report = format_report(
        [
            recovery("slurm", "kill", attempts=7, rerun_after=30.04, finished_after=45.0),
            recovery("slurm", "pause", attempts=7, finishes=7, doubled=(2,), why_doubled=("leaf 2: woke",)),
            recovery("mesos", "restart-scheduler", baseline=31.0, problems=("leaf 0 should have run once",)),
        ]
    )
    lines = report.splitlines()
    assert (
        lines[0]
        == f"Recovery per fault kind ({LEAVES} leaves; LEAF: how long each lasts), from the leaves' own logs"
    )
    assert "slurm (the same workflow without a fault: 25.0 s)" in lines
    assert "mesos (the same workflow without a fault: 31.0 s)" in lines
    kill = next(line for line in lines if line.startswith("kill "))
    assert kill.split() == [
        "kill",
        "12.0",
        "s",
        "30.0",
        "s",
        "45.0",
        "s",
        "7",
        "6",
        "none",
        "one",
        "per",
        "leaf",
        "met",
    ]
    pause = next(line for line in lines if line.startswith("pause "))
    assert "leaf 2" in pause and pause.endswith("met")
    assert "  leaf 2: woke" in lines
    restart = next(line for line in lines if line.startswith("restart-scheduler "))
    assert restart.endswith("NOT MET")
    assert restart.split()[1:3] == ["20.0", "s"], "Mesos's cut-off faults use longer leaves"
    assert "  restart-scheduler: leaf 0 should have run once" in lines


def test_a_recovery_is_met_only_with_whole_outputs_and_no_problem() -> None:
    assert recovery("slurm", "kill").met
    assert not recovery("slurm", "kill", file_store_outputs=False).met
    assert not recovery("slurm", "kill", problems=("x",)).met


def test_the_table_names_runs_that_a_race_on_toils_side_ended() -> None:
    lines = format_report(
        [recovery("mesos", "restart-scheduler", races=("master-404", "load_job")), recovery("mesos", "kill")]
    ).splitlines()
    named = [line for line in lines if "race" in line]
    assert named == [
        "  restart-scheduler: a race on Toil's side ended 2 run(s) (master-404, load_job; docs/faults.md), "
        "each followed by --restart; the time is the last one's"
    ]


def test_no_faults_measured() -> None:
    assert format_report([]) == "no faults measured"


RACES = Path(__file__).parent / "data" / "toil-races"
# Toil 9.6.0's own outputs, from runs of `make test` that these races ended.
RACE = (RACES / "load-job-new-file.txt").read_text()
MASTER_404 = (RACES / "pymesos-master-404.txt").read_text()


def test_each_race_is_told_from_toils_own_traceback() -> None:
    assert race(RACE) == "load_job"
    assert race("some leader lines\n" + RACE + "\n\n") == "load_job"
    assert race(MASTER_404) == "master-404"


def test_other_endings_are_no_race() -> None:
    # Another exception from the same frame, another file, a traceback that went on, another code.
    assert race(RACE.replace("FileNotFoundError", "PermissionError")) is None
    assert race(RACE.replace("/job.new'", "/job'")) is None
    assert race(RACE.replace("in load_job", "in update_job")) is None
    assert race(RACE + "\nDuring handling of the above exception ...\nKeyError: 'x'\n") is None
    assert race(MASTER_404.replace("HTTP 404", "HTTP 500")) is None
    assert race(MASTER_404.replace("pymesos/process.py", "pymesos/scheduler.py")) is None
    assert race("") is None


class Restarted:
    """A --restart run that has ended with this exit code and output."""

    def __init__(self, returncode: int, output: str) -> None:
        self.result = Result(("toil",), returncode, output, "")

    def wait(self) -> Result:
        return self.result


def restarts(*runs: Restarted) -> tuple[Any, list[Restarted]]:
    started: list[Restarted] = []
    queue = list(runs)

    def start() -> Any:
        started.append(queue.pop(0))
        return started[-1]

    return start, started


def test_a_restart_the_race_ended_is_followed_by_one_more() -> None:
    raced, done = Restarted(1, RACE), Restarted(0, "")
    start, started = restarts(raced, done)
    last, ended = restart(start)
    assert (last, ended, started) == (done, (raced,), [raced, done])


def test_a_restart_that_succeeds_or_fails_otherwise_is_the_last() -> None:
    for first in (Restarted(0, ""), Restarted(1, "Traceback ...\nKeyError: 'x'\n")):
        start, started = restarts(first, Restarted(0, ""))
        assert restart(start) == (first, ())
        assert started == [first]


def test_restarts_stop_after_the_tries_even_if_the_race_ends_each() -> None:
    runs = [Restarted(1, RACE) for _ in range(3)]
    start, started = restarts(*runs)
    last, ended = restart(start, tries=2)
    assert (last, ended, started) == (runs[1], (runs[0],), runs[:2])
