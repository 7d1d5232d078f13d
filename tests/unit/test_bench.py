"""lab/bench/: the parsing, ratio and report code, with no Docker."""

from __future__ import annotations

import argparse
import json

import pytest

from lab.backends.slurm import set_conf_values
from lab.bench import __main__ as cli
from lab.bench import jobs, measure, run, summary
from lab.bench.jobs import JobRun
from lab.bench.measure import WorkerMemory
from lab.bench.startup_ratio import StartUp, noop_override
from lab.bench.summary import BackendBench, BenchResult
from lab.errors import ConfigError


def job_run(batch_system: str, round_: int, wall: float, lab: str = "slurm", cpu: float = 10.0) -> JobRun:
    return JobRun(batch_system, lab, round_, wall, {"leader": cpu}, 65, ["worker-1"], [])


def test_workflow_source_has_the_job_count_and_compiles() -> None:
    source = jobs.workflow_source(64)
    compile(source, "bench_trivial.py", "exec")
    assert "toil.start(Job.wrapJobFn(root, 64))" in source
    assert "@JOBS@" not in source


def test_workflow_source_needs_a_child() -> None:
    with pytest.raises(ConfigError, match="--jobs=0"):
        jobs.workflow_source(0)


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("39.11MiB", 39.11),
        ("2GiB", 2048.0),
        ("512KiB", 0.5),
        ("0B", 0.0),
        ("1.5MB", 1.5e6 / 2**20),
        ("812kB", 812e3 / 2**20),
    ],
)
def test_parse_size_mib(text: str, mib: float) -> None:
    assert measure.parse_size_mib(text) == pytest.approx(mib)


def test_parse_size_rejects_other_text() -> None:
    with pytest.raises(ValueError, match="not a size"):
        measure.parse_size_mib("--")


def test_parse_stats_memory_reads_docker_stats_json_lines() -> None:
    # Recorded from `docker stats --no-stream --format '{{json .}}'` (Docker 20.10).
    text = (
        '{"BlockIO":"0B / 0B","CPUPerc":"1.98%","Container":"2dead06a477d","ID":"2dead06a477d",'
        '"MemPerc":"1.91%","MemUsage":"39.11MiB / 2GiB","Name":"bench-explore_worker-2_1",'
        '"NetIO":"371kB / 258kB","PIDs":"6"}\n'
        '{"BlockIO":"0B / 0B","CPUPerc":"0.32%","Container":"d333dc11e8d2","ID":"d333dc11e8d2",'
        '"MemPerc":"2.03%","MemUsage":"41.49MiB / 2GiB","Name":"bench-explore_worker-1_1",'
        '"NetIO":"415kB / 283kB","PIDs":"12"}\n\n'
    )
    assert measure.parse_stats_memory(text) == {
        "2dead06a477d": pytest.approx(39.11),
        "d333dc11e8d2": pytest.approx(41.49),
    }


def test_parse_cpu_seconds_cgroup_v1_and_v2() -> None:
    assert measure.parse_cpu_seconds("25050481768\n") == pytest.approx(25.050481768)
    v2 = "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"
    assert measure.parse_cpu_seconds(v2) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="no CPU usage"):
        measure.parse_cpu_seconds("cat: no such file\n")


def test_parse_resident_mib_prefers_hierarchical_rss_on_v1_and_anon_on_v2() -> None:
    v1 = "cache 38936576\nrss 7340032\ntotal_cache 38936576\ntotal_rss 7393280\n"
    assert measure.parse_resident_mib(v1) == pytest.approx(7393280 / 2**20)
    v2 = "anon 8388608\nfile 40000000\n"
    assert measure.parse_resident_mib(v2) == pytest.approx(8.0)
    with pytest.raises(ValueError, match="no anon/rss"):
        measure.parse_resident_mib("file 1\n")


def test_set_conf_values_replaces_appends_and_drops_duplicates() -> None:
    conf = "ClusterName=lab\nSchedulerType=sched/builtin\nSchedulerParameters=a\nschedulerparameters=b\n"
    changed = set_conf_values(conf, [("SchedulerParameters", "defer,max_rpc_cnt=8"), ("MessageTimeout", "5")])
    assert changed.splitlines() == [
        "ClusterName=lab",
        "SchedulerType=sched/builtin",
        "SchedulerParameters=defer,max_rpc_cnt=8",
        "MessageTimeout=5",
    ]


def test_set_conf_values_leaves_lines_that_only_start_alike() -> None:
    conf = "SlurmdTimeout=30\nSlurmdTimeoutExtra=1\n"
    assert set_conf_values(conf, [("SlurmdTimeout", "10")]) == "SlurmdTimeout=10\nSlurmdTimeoutExtra=1\n"


def test_parse_setting() -> None:
    assert cli.parse_setting("SchedulerParameters=defer,max_rpc_cnt=8") == (
        "SchedulerParameters",
        "defer,max_rpc_cnt=8",
    )
    for bad in ("defer", "=1", "Bad Key=1"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.parse_setting(bad)


def test_noop_override_replaces_each_entrypoint() -> None:
    override = noop_override(["leader", "worker-1"])
    assert override == {
        "services": {
            "leader": {"entrypoint": ["sleep", "infinity"]},
            "worker-1": {"entrypoint": ["sleep", "infinity"]},
        }
    }


def test_ratio_and_median() -> None:
    assert measure.ratio(30.0, 20.0) == pytest.approx(1.5)
    assert measure.ratio(None, 20.0) is None
    assert measure.ratio(3.0, 0.0) is None
    assert measure.median([3.0, 1.0, 2.0]) == 2.0
    assert measure.median([]) is None


def test_each_batch_systems_ratio_uses_medians_on_its_own_lab() -> None:
    slurm = BackendBench("slurm", 4)
    slurm.runs = [
        job_run("single_machine", 1, 20.0),
        job_run("slurm", 1, 30.0),
        job_run("slurm", 2, 34.0),
        job_run("single_machine", 2, 22.0),
    ]
    mesos = BackendBench("mesos", 1)
    mesos.runs = [job_run("mesos", 1, 40.0, "mesos"), job_run("single_machine", 1, 25.0, "mesos")]
    assert slurm.jobs_ratio == pytest.approx(32.0 / 21.0)
    assert mesos.jobs_ratio == pytest.approx(40.0 / 25.0)
    slurm.memory_idle = [WorkerMemory("worker-1", 12.0, 3.0)]
    slurm.memory_after = [WorkerMemory("worker-1", 40.0, 7.0)]
    assert slurm.worst_worker_mib == 40.0
    result = BenchResult("b", 3, 64, 2, [1.0, 1.0, 1.0], 0, backends=[slurm, mesos])
    data = json.loads(json.dumps(result.to_json()))
    shown = {b["batch_system"]: b for b in data["backends"]}
    assert (shown["slurm"]["median_s"], shown["slurm"]["single_machine_median_s"]) == (32.0, 21.0)
    assert shown["mesos"]["jobs_ratio"] == pytest.approx(1.6)
    assert data["targets"]["jobs_ratio"] == summary.JOBS_RATIO_TARGET


def test_startup_ratio() -> None:
    assert StartUp(4, lab_up_s=12.0, noop_s=3.0).ratio == pytest.approx(4.0)


def test_report_shows_both_batch_systems_beside_single_machine_with_verdicts() -> None:
    slurm = BackendBench("slurm", 4, StartUp(4, 12.0, 3.0))
    slurm.runs = [job_run("single_machine", 1, 20.0), job_run("slurm", 1, 22.0)]
    slurm.memory_idle = [WorkerMemory("worker-1", 12.0, 3.0)]
    mesos = BackendBench("mesos", 1, StartUp(4, 4.0, 3.0))
    mesos.runs = [job_run("single_machine", 1, 20.0, "mesos"), job_run("mesos", 1, 30.0, "mesos")]
    text = summary.format_report(BenchResult("b", 3, 64, 2, [0.5, 0.5, 0.5], 0, backends=[slurm, mesos]))
    assert "   slurm  4 containers" in text and "4.00x   MISSED" in text
    assert "1.33x   ok" in text
    assert "     slurm     mesos  single_machine    ratio" in text
    assert "1.10x   ok" in text  # slurm: 22 / 20
    assert "1.50x   MISSED" in text  # mesos: 30 / 20
    assert "worker-1 12.0 (3.0 resident) MiB" in text


def test_idle_cpu_is_per_minute_of_the_whole_lab_and_shown_per_node() -> None:
    slurm = BackendBench("slurm", 4, idle_cpu_s={"leader": 0.3, "worker-1": 0.15}, idle_seconds=30.0)
    assert slurm.idle_cpu_per_minute == pytest.approx(0.9)
    shown = BenchResult("b", 3, 64, 2, [0.5], 0, backends=[slurm]).to_json()["backends"][0]
    assert shown["idle_cpu_per_minute"] == pytest.approx(0.9)
    unmeasured = BackendBench("mesos", 1)
    assert unmeasured.idle_cpu_per_minute is None
    text = summary.format_report(BenchResult("b", 3, 64, 2, [0.5], 0, backends=[slurm, unmeasured]))
    assert "   slurm: 0.90 CPU-s per minute (leader 0.30, worker-1 0.15 CPU-s in 30 s)" in text
    assert "   mesos:" not in text.split("d) idle lab CPU")[1]


def test_a_batch_system_left_out_says_why() -> None:
    result = BenchResult("b", 3, 64, 2, [0.5, 0.5, 0.5], 0)
    result.backends = [BackendBench("mesos", 1, not_measured="no MESOS_PACKAGE is set or remembered")]
    assert "mesos: not measured: no MESOS_PACKAGE is set or remembered" in summary.format_report(result)


def test_parser_defaults_and_repeatable_options() -> None:
    args = cli.build_parser().parse_args(
        ["--slurm-set", "SchedulerParameters=defer", "--toil-arg=--maxJobs=16", "--toil-arg=--x"]
    )
    assert args.lab == run.DEFAULT_BENCH_LAB
    assert args.workers == 3
    assert args.jobs == 64
    assert args.json == cli.DEFAULT_JSON
    assert args.batch_systems == ("slurm", "mesos")
    assert args.slurm_set == [("SchedulerParameters", "defer")]
    assert args.toil_arg == ["--maxJobs=16", "--x"]
    assert cli.build_parser().parse_args(["--batch-systems", "mesos"]).batch_systems == ("mesos",)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--batch-systems", "pbs"])


def test_bench_config_names_and_sizes_each_lab_whatever_the_environment() -> None:
    options = run.BenchOptions(lab="bench-x", workers=2, slots_per_cpu=6)
    env = {"LAB_NAME": "no-such-lab-here", "WORKERS": "5", "MESOS_PACKAGE": "/m.tar.gz"}
    slurm = run.bench_config(options, "slurm", env)
    assert (slurm.name, slurm.workers, slurm.slots_per_cpu, slurm.batch_system) == ("bench-x", 2, 6, "slurm")
    mesos = run.bench_config(options, "mesos", env)
    assert (mesos.name, mesos.batch_system, mesos.mesos_package) == ("bench-x-mesos", "mesos", "/m.tar.gz")
