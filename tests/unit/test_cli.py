"""lab/cli/: argument parsing and each verb's handler, with a fake Lab (nothing touches Docker)."""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import json
from pathlib import Path
from typing import Any, cast

import pytest

from lab import backends, cli, placement, startup, workflow
from lab.backends import Backend
from lab.cli import access, verb
from lab.config import LabConfig
from lab.errors import NotReady
from lab.process import Result
from lab.startup import UpPlan

from .fakes import IDS, PS, FakeRun

T0 = 1_700_000_000.0


class FakeNode:
    answer = Result((), 0, "", "")  # what every exec returns

    def __init__(self, name: str, role: str = "worker", state: str = "running") -> None:
        self.name, self.role, self.state = name, role, state
        self.container_name = f"toil-lab-{name}-1"
        self.health = "healthy"
        self.execs: list[tuple[list[str], dict[str, Any]]] = []

    @property
    def running(self) -> bool:
        return self.state == "running"

    def exec(self, argv: list[str], **kwargs: Any) -> Result:
        self.execs.append((list(argv), kwargs))
        return self.answer


class FakeLab:
    """Records what the CLI asked of the lab."""

    def __init__(self, config: LabConfig, verbose: bool = False) -> None:
        self.config = config
        self.actions: list[str] = []
        self.by_name = {"leader": FakeNode("leader", "leader"), "worker-2": FakeNode("worker-2")}

    def up(self) -> UpPlan:
        self.actions.append("up")
        return UpPlan(
            workers=self.config.workers or 3,
            cpus=4,
            image="toil-lab/node:test",
            batch_system="slurm",
            why="BATCH_SYSTEM=auto and no MESOS_PACKAGE is set",
        )

    def down(self) -> None:
        self.actions.append("down")

    def clean(self) -> None:
        self.actions.append("clean")

    def node(self, name: str) -> FakeNode:
        return self.by_name[name]

    def nodes(self) -> list[FakeNode]:
        return list(self.by_name.values())

    def leader(self) -> FakeNode:
        return self.by_name["leader"]

    def backend(self) -> Backend:
        return backends.get("slurm")


@pytest.fixture
def labs(monkeypatch: pytest.MonkeyPatch) -> list[FakeLab]:
    """Every Lab the CLI makes, in order; each is a FakeLab."""
    made: list[FakeLab] = []

    def make(config: LabConfig, verbose: bool = False) -> FakeLab:
        made.append(FakeLab(config))
        return made[-1]

    monkeypatch.setattr(verb, "Lab", make)
    monkeypatch.setattr(startup, "up", lambda lab, steps=None: lab.up())
    return made


# --- parsing -----------------------------------------------------------------------------


def test_parse_exec() -> None:
    args = cli.build_parser().parse_args(["exec", "worker-2", "--", "ls", "-l"])
    assert (args.verb.name, args.node, args.user) == ("exec", "worker-2", None)
    assert [a for a in args.argv if a != "--"] == ["ls", "-l"]


def test_parse_run_keeps_toil_arguments() -> None:
    args = cli.build_parser().parse_args(["run", "wf.py", "--restart", "--logLevel", "DEBUG"])
    assert args.workflow == Path("wf.py")
    assert args.toil_args == ["--restart", "--logLevel", "DEBUG"]


def test_parse_run_shared() -> None:
    args = cli.build_parser().parse_args(["run", "--shared", "wf.py", "--logLevel", "DEBUG"])
    assert (args.shared, args.workflow, args.toil_args) == (True, Path("wf.py"), ["--logLevel", "DEBUG"])
    assert cli.build_parser().parse_args(["run", "wf.py"]).shared is False


def test_parse_shell_defaults_to_the_leader() -> None:
    args = cli.build_parser().parse_args(["shell"])
    assert (args.node, args.root) == ("leader", False)


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["launch"])
    assert exit_.value.code == 2
    assert "invalid choice: 'launch'" in capsys.readouterr().err


# --- dispatch ------------------------------------------------------------------------------


def test_clean_without_yes_deletes_nothing(labs: list[FakeLab], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["clean"]) == 2
    assert all(lab.actions == [] for lab in labs)
    err = capsys.readouterr().err
    assert "clean deletes every volume of the lab" in err
    assert "lab clean --yes" in err


def test_clean_with_yes(labs: list[FakeLab]) -> None:
    assert cli.main(["clean", "--yes"]) == 0
    assert [lab.actions for lab in labs] == [["clean"]]


def test_down(labs: list[FakeLab]) -> None:
    assert cli.main(["down"]) == 0
    assert [lab.actions for lab in labs] == [["down"]]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "abc",
            "lab: error: WORKERS='abc' is not a number: give the worker count as a whole number from 1 to 64",
        ),
        ("0", "lab: error: WORKERS=0 is out of range: a lab has 1 to 64 workers."),
    ],
)
def test_up_with_bad_workers(
    labs: list[FakeLab], capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    assert cli.main(["up", "--workers", value]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(message)
    assert out == ""
    assert labs == []


def test_up_with_bad_batch_system(labs: list[FakeLab], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["up", "--batch-system", "lsf"]) == 2
    assert "choose one of: auto, slurm, mesos" in capsys.readouterr().err
    assert labs == []


def test_up(labs: list[FakeLab], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["up", "--workers", "5"]) == 0
    [lab] = labs
    assert lab.actions == ["up"]
    assert lab.config.workers == 5
    assert "leader + 5 workers ready" in capsys.readouterr().out


def test_bad_environment_is_reported_before_anything_starts(
    labs: list[FakeLab], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKER_MEMORY", "lots")
    assert cli.main(["down"]) == 2
    assert "WORKER_MEMORY='lots' is not a memory size" in capsys.readouterr().err
    assert labs == []


def test_not_ready_exits_3(
    labs: list[FakeLab], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def never(self: FakeLab) -> UpPlan:
        raise NotReady("timed out after 180s waiting for 3 workers")

    monkeypatch.setattr(FakeLab, "up", never)
    assert cli.main(["up"]) == 3
    assert capsys.readouterr().err.startswith("lab: not ready: timed out after 180s")


def test_exec_runs_the_command_on_the_node(labs: list[FakeLab], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeNode, "answer", Result((), 7, "", ""))
    assert cli.main(["exec", "worker-2", "--", "ls", "-l"]) == 7
    [lab] = labs
    assert lab.by_name["worker-2"].execs == [(["ls", "-l"], {"user": None, "check": False, "capture": False})]
    assert lab.by_name["leader"].execs == []


def test_exec_as_a_user_given_after_the_node(labs: list[FakeLab]) -> None:
    """`lab exec NODE --user lab -- CMD`: --user is lab's option, not part of the command."""
    assert cli.main(["exec", "worker-2", "--user", "lab", "--", "id", "-u"]) == 0
    [lab] = labs
    assert lab.by_name["worker-2"].execs == [
        (["id", "-u"], {"user": "lab", "check": False, "capture": False})
    ]


def test_exec_as_a_user_given_before_the_node(labs: list[FakeLab]) -> None:
    assert cli.main(["exec", "--user", "lab", "worker-2", "--", "id"]) == 0
    [lab] = labs
    assert lab.by_name["worker-2"].execs == [(["id"], {"user": "lab", "check": False, "capture": False})]


def test_exec_keeps_a_double_dash_inside_the_command(labs: list[FakeLab]) -> None:
    assert cli.main(["exec", "worker-2", "--", "git", "diff", "--", "README"]) == 0
    [lab] = labs
    assert lab.by_name["worker-2"].execs[0][0] == ["git", "diff", "--", "README"]


@pytest.mark.parametrize(
    ("words", "command", "user"),
    [
        (["--", "ls", "-l"], ["ls", "-l"], None),
        (["--user", "lab", "--", "id"], ["id"], "lab"),
        (["--user=lab", "--", "id"], ["id"], "lab"),
        (["ls", "-l"], ["ls", "-l"], None),
        (["git", "diff", "--", "README"], ["git", "diff", "--", "README"], None),
        (["--", "git", "diff", "--", "README"], ["git", "diff", "--", "README"], None),
    ],
)
def test_exec_command_splits_options_from_the_command(
    words: list[str], command: list[str], user: str | None
) -> None:
    assert access.exec_command(words, None) == (command, user)


def test_exec_command_keeps_a_user_given_before_the_node() -> None:
    assert access.exec_command(["--", "id"], "root") == (["id"], "root")
    assert access.exec_command(["--user", "lab", "--", "id"], "root") == (["id"], "lab")


def test_exec_command_rejects_an_unknown_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as error:
        access.exec_command(["--root", "--", "id"], None)
    assert error.value.code == 2
    assert "unrecognized arguments: --root" in capsys.readouterr().err


def test_exec_without_a_command(labs: list[FakeLab], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["exec", "worker-2", "--"]) == 2
    assert "give the command to run after --" in capsys.readouterr().err
    assert labs == []  # refused before the lab was asked anything


@pytest.mark.parametrize(("shared", "words"), [(True, ["--shared"]), (False, [])])
def test_run_passes_shared_to_the_workflow(
    labs: list[FakeLab],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    shared: bool,
    words: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.py").write_text("print('a workflow')\n")
    record = workflow.RunRecord("wf.py", "wf", "/data/jobstores/wf-1", [], T0, 5)
    runs: list[tuple[Any, Path, list[str], bool]] = []

    def run_workflow(leader: Any, path: Path, toil_args: list[str], *, shared: bool) -> tuple[Any, int]:
        runs.append((leader, path, list(toil_args), shared))
        return record, 5

    monkeypatch.setattr(workflow, "run_workflow", run_workflow)
    monkeypatch.setattr(placement, "collect", lambda nodes: [])
    assert cli.main(["run", *words, "wf.py", "--logLevel", "DEBUG"]) == 5
    [lab] = labs
    assert runs == [(lab.leader(), Path("wf.py"), ["--logLevel", "DEBUG"], shared)]
    err = capsys.readouterr().err
    assert "where each job ran (job store /data/jobstores/wf-1)" in err
    assert "no jobs recorded for this run" in err


def test_a_missing_workflow_is_refused_before_the_lab_is_asked(
    labs: list[FakeLab], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["run", str(tmp_path / "missing.py")]) == 2
    assert f"workflow file {tmp_path / 'missing.py'} does not exist" in capsys.readouterr().err
    assert labs == []


def test_every_verb_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    for one in cli.VERBS:
        with pytest.raises(SystemExit) as exit_:
            cli.main([one.name, "--help"])
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        assert f"usage: lab {one.name}" in out
        assert f"example: {one.example}" in out
        assert one.example.startswith(f"lab {one.name}")


def test_placement_json(
    labs: list[FakeLab], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    record = workflow.RunRecord("fanout.py", "fanout", "/data/jobstores/fanout-1", [], T0, 0)
    found = placement.parse_records(
        [
            json.dumps(
                {
                    "event": "start",
                    "pid": 5,
                    "process_started": T0,
                    "sequence": 0,
                    "time": T0,
                    "node": "worker-2",
                    "job_store": "file:/data/jobstores/fanout-1",
                }
            ),
            json.dumps(
                {
                    "event": "start",
                    "pid": 6,
                    "process_started": T0,
                    "sequence": 0,
                    "time": T0,
                    "node": "worker-2",
                    "job_store": "/data/jobstores/other",
                }
            ),
        ]
    )
    monkeypatch.setattr(workflow, "require_last_run", lambda leader: record)
    monkeypatch.setattr(placement, "collect", lambda nodes: found)
    assert cli.main(["placement", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["job_store"] == "/data/jobstores/fanout-1"
    assert shown["exit_code"] == 0
    assert [job["pid"] for job in shown["jobs"]] == [5]


# --- toil-tests: arguments the verb does not know go to pytest ------------------------------


@pytest.fixture
def toil_runs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What `lab toil-tests` asked the runner to run (nothing runs)."""
    from lab.toil_tests import runner

    asked: list[Any] = []
    config = LabConfig(name="toil-lab-toiltests", batch_system="mesos", mesos_package="/m.tar.gz")
    monkeypatch.setattr(runner, "batch_system_of", lambda family, users, env: "mesos")
    monkeypatch.setattr(runner, "tests_config", lambda users, env, batch_system: (config, False))
    monkeypatch.setattr(runner, "run", lambda config, reuse, request: asked.append(request) or 1)
    return asked


def test_toil_tests_passes_what_it_does_not_know_to_pytest_in_order(toil_runs: list[Any]) -> None:
    from lab.toil_tests.families import APPLIANCE

    code = cli.main(["toil-tests", "-k", "testRestart or testSplit", "--family", "appliance", "-x", "--lf"])
    assert code == 1  # the runner's: a Toil test failed
    (request,) = toil_runs
    assert request.families == (APPLIANCE,)
    assert request.pytest_args == ("-k", "testRestart or testSplit", "-x", "--lf")
    assert request.results.parts[-2:] == ("test-results", "toil-tests")
    assert (request.worker, request.mesos_node, request.keep) == (None, None, False)


def test_toil_tests_after_a_double_dash_everything_goes_to_pytest(toil_runs: list[Any]) -> None:
    cli.main(["toil-tests", "--keep", "--", "--family", "x"])
    assert toil_runs[0].pytest_args == ("--family", "x")
    assert toil_runs[0].keep is True
    assert len(toil_runs[0].families) == 2


def test_other_verbs_still_refuse_unknown_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["status", "-k", "x"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: -k x" in capsys.readouterr().err


def test_toil_tests_usage_names_the_pytest_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["toil-tests", "--help"])
    assert "[--keep] [PYTEST ARGS ...]" in capsys.readouterr().out


# --- views of a lab that has no containers -------------------------------------------------


@pytest.fixture
def no_lab(fake_run: FakeRun) -> FakeRun:
    """A Docker host with no container of the lab."""
    fake_run.on("docker", "ps", stdout="")
    return fake_run


def no_lab_context(tmp_path: Path, batch_system: str) -> verb.Context:
    """BATCH_SYSTEM as given, and no Mesos build anywhere (a checkout of its own)."""
    config = LabConfig.from_env({"BATCH_SYSTEM": batch_system})
    return verb.Context(dataclasses.replace(config, root=tmp_path))


@pytest.mark.parametrize("batch_system", ["auto", "slurm", "mesos"])
def test_status_of_no_lab_says_so_whatever_the_batch_system(
    no_lab: FakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str], batch_system: str
) -> None:
    assert cli.main(["status"], no_lab_context(tmp_path, batch_system)) == 0
    out, err = capsys.readouterr()
    assert out == "lab 'toil-lab' has no containers (`make lab-up` starts it)\n"
    assert err == ""


@pytest.mark.parametrize("batch_system", ["auto", "mesos"])
def test_status_json_of_no_lab(
    no_lab: FakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str], batch_system: str
) -> None:
    assert cli.main(["status", "--json"], no_lab_context(tmp_path, batch_system)) == 0
    assert json.loads(capsys.readouterr().out) == {
        "lab": "toil-lab",
        "batch_system": None,
        "scheduler_unavailable": None,
        "nodes": [],
    }


def test_export_logs_of_no_lab_on_mesos(
    no_lab: FakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "logs"
    assert cli.main(["export-logs", str(folder)], no_lab_context(tmp_path, "mesos")) == 0
    assert json.loads((folder / "ps.json").read_text()) == []
    assert capsys.readouterr().err == ""
    assert [argv[:2] for argv in no_lab.argvs] == [["docker", "ps"]]


def test_status_lists_the_labs_containers_once(
    docker_with_lab: FakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docker_with_lab.on("docker", "exec", stdout="")  # the scheduler's view (empty: no workers seen)
    docker_with_lab.on("docker", "network", "ls", stdout="toil-lab_lab\n")
    assert cli.main(["status"], no_lab_context(tmp_path, "auto")) == 0
    assert "lab 'toil-lab' (batch system: slurm)" in capsys.readouterr().out
    # Listed once: one `docker ps`, one `docker inspect` of them all (the fault check then
    # inspects each running node's networks as they are now).
    assert [argv for argv in docker_with_lab.argvs if argv[:2] == ["docker", "ps"]] == [PS]
    assert [argv for argv in docker_with_lab.argvs if argv == ["docker", "inspect", *IDS]] == [
        ["docker", "inspect", *IDS]
    ]


def test_sigterm_ends_a_command_through_its_clean_ups() -> None:
    """A SIGTERM (pkill, CI's timeout) raises inside the command, so its finally blocks run."""
    import os
    import signal

    cleaned: list[str] = []

    class Terminating:
        verbose = False

        def lab(self) -> Any:
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                return None
            finally:
                cleaned.append("done")

    before = signal.getsignal(signal.SIGTERM)
    code = cli.main(["status"], context=cast(Any, Terminating()))
    assert (code, cleaned) == (143, ["done"])
    assert signal.getsignal(signal.SIGTERM) is before


# --- build-mesos beside a `lab up` -----------------------------------------------------------


def lock_is_held(root: Path) -> bool:
    """Whether some descriptor holds the checkout's build lock (tried without waiting)."""
    (root / "build").mkdir(exist_ok=True)
    with (root / "build" / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_build_mesos_makes_the_base_image_under_the_build_lock_and_builds_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make test` starts `lab build-mesos` beside other shards' `lab up`, which may be making the
    same base image; a 40-minute Mesos build must not keep a user's `lab up` waiting."""
    from lab import base_image
    from lab.backends.mesos import build
    from lab.cli import mesos_build

    seen: dict[str, bool] = {}

    def ensure(config: LabConfig, say: Any) -> str:
        seen["base image"] = lock_is_held(tmp_path)
        return "present"

    def building_mesos(*args: Any, **kwargs: Any) -> None:
        seen["build"] = lock_is_held(tmp_path)

    monkeypatch.setattr(base_image, "ensure_base_image", ensure)
    monkeypatch.setattr(
        base_image, "base_platform", lambda config, say: base_image.PLATFORMS[("debian", "12")]
    )
    monkeypatch.setattr(build, "build", building_mesos)
    namespace = argparse.Namespace(source="x.tar.gz", until="configure", jobs=None)
    assert mesos_build.build_mesos(namespace, no_lab_context(tmp_path, "mesos")) == 0
    assert seen == {"base image": True, "build": False}
