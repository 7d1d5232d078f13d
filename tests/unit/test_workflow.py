"""lab/workflow.py: checking a workflow file, and the Toil command that runs it."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from lab import workflow
from lab.errors import ConfigError, LabError
from lab.node import Node
from lab.process import Result

from .fakes import FakeRun

RESOURCE_DEFAULTS = [
    "--defaultMemory",
    "256M",
    "--defaultDisk",
    "256M",
    "--workDir",
    "/var/lib/lab/toil-work",
]
AUTO_DEPLOY = ["--batchSystem", "slurm_autodeploy", *RESOURCE_DEFAULTS]
PLAIN = ["--batchSystem", "slurm", *RESOURCE_DEFAULTS]


def write(tmp_path: Path, name: str, text: str = "print('hi')\n") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- check_workflow ----------------------------------------------------------------


def test_check_workflow_returns_the_module(tmp_path: Path) -> None:
    assert workflow.check_workflow(write(tmp_path, "my_flow.py")) == "my_flow"


def test_check_workflow_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"workflow file .*/nope\.py does not exist"):
        workflow.check_workflow(tmp_path / "nope.py")


def test_check_workflow_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        workflow.check_workflow(tmp_path)


@pytest.mark.parametrize("name", ["my-flow.py", "2flow.py", "flow.txt", "flow", "my flow.py"])
def test_check_workflow_bad_module_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as error:
        workflow.check_workflow(write(tmp_path, name))
    assert str(error.value) == (
        f"{tmp_path / name} cannot be run as a module: name it like my_workflow.py "
        "(letters, digits and '_', ending in .py)"
    )


def test_check_workflow_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "import sys\n\ndef main(:\n    pass\n")
    with pytest.raises(ConfigError) as error:
        workflow.check_workflow(path)
    message = str(error.value)
    assert message.startswith(f"{path}:3: syntax error: ")
    assert message.endswith("; fix it and run again (nothing was started)")


def test_check_workflow_does_not_run_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write(tmp_path, "side_effect.py", f"open({str(marker)!r}, 'w').close()\n")
    assert workflow.check_workflow(path) == "side_effect"
    assert not marker.exists()


# --- options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "name"),
    [
        ("--defaultMemory=1G", "--defaultMemory"),
        ("--defaultMemory", "--defaultMemory"),
        ("--x=a=b", "--x"),
        ("1G", None),
        ("-v", None),
        ("/data/jobstores/x", None),
    ],
)
def test_option_name(argument: str, name: str | None) -> None:
    assert workflow.option_name(argument) == name


def test_merge_options_keeps_defaults_the_user_did_not_give() -> None:
    merged = workflow.merge_options([("--a", "1"), ("--flag", None), ("--b", "2")], ["--logLevel", "DEBUG"])
    assert merged == ["--a", "1", "--flag", "--b", "2", "--logLevel", "DEBUG"]


@pytest.mark.parametrize("user", [["--defaultMemory=1G"], ["--defaultMemory", "1G"]])
def test_user_memory_overrides_the_lab_default(user: list[str]) -> None:
    merged = workflow.merge_options(workflow.DEFAULT_OPTIONS, user)
    assert merged == ["--defaultDisk", "256M", "--workDir", "/var/lib/lab/toil-work", *user]
    assert "256M" not in merged[merged.index(user[0]) :]


def test_user_batch_system_overrides_the_backends() -> None:
    argv = workflow.toil_argv(
        "python3", "fanout", "/data/jobstores/j", ["--batchSystem", "single_machine"], auto_deploy=True
    )
    assert argv.count("--batchSystem") == 1
    assert argv[-2:] == ["--batchSystem", "single_machine"]
    assert "slurm_autodeploy" not in argv


def test_toil_argv_auto_deploys_by_default_shape() -> None:
    argv = workflow.toil_argv(
        "python3",
        "fanout",
        "/data/jobstores/fanout-1",
        ["--logLevel", "DEBUG", "--retryCount=2"],
        auto_deploy=True,
    )
    assert argv == [
        "python3",
        "-m",
        "fanout",
        "/data/jobstores/fanout-1",
        *AUTO_DEPLOY,
        "--logLevel",
        "DEBUG",
        "--retryCount=2",
    ]


def test_toil_argv_on_plain_slurm_with_another_python() -> None:
    argv = workflow.toil_argv("/home/lab/venvs/v/bin/python", "w", "/data/jobstores/w", [], auto_deploy=False)
    assert argv == ["/home/lab/venvs/v/bin/python", "-m", "w", "/data/jobstores/w", *PLAIN]


@pytest.mark.parametrize("batch_system", ["slurm", "mesos"])
def test_toils_own_parser_accepts_the_labs_options(batch_system: str) -> None:
    """Toil 9.6 refuses some values (--defaultCores below 1): every option the lab adds must parse."""
    from toil.job import Job

    argv = workflow.toil_argv(
        "python3", "w", "/data/jobstores/w", [], auto_deploy=False, batch_system=batch_system
    )
    options, unknown = Job.Runner.getDefaultArgumentParser().parse_known_args(argv[3:])
    assert options.batchSystem == batch_system
    assert options.defaultCores == 1
    # Toil adds the Mesos batch system's own options only where pymesos imports (the
    # Mesos image, not necessarily this virtualenv).
    mesos_only = batch_system == "mesos" and not _toil_has_mesos()
    assert unknown == (["--mesosEndpoint", "leader:5050"] if mesos_only else [])


def _toil_has_mesos() -> bool:
    try:
        import toil.batchSystems.mesos.batchSystem  # noqa: F401
    except ImportError:
        return False
    return True


def test_new_job_store_is_on_the_shared_volume() -> None:
    assert re.fullmatch(r"/data/jobstores/fanout-\d{8}-\d{6}-\d{6}", workflow.new_job_store("fanout"))


# --- running, with a leader that keeps files in a dict ------------------------------------


class FakeLeader:
    def __init__(
        self, files: dict[str, str] | None = None, exit_code: int = 0, batch_system: str = "slurm"
    ) -> None:
        self.batch_system = batch_system
        self.files = dict(files or {})
        self.exit_code = exit_code
        self.execs: list[tuple[list[str], dict[str, Any]]] = []
        self.state, self.running = "running", True

    def read_text(self, path: str) -> str | None:
        return self.files.get(path)

    def write_text(self, path: str, text: str, *, user: str = "lab") -> None:
        self.files[path] = text

    def exec(self, argv: Sequence[str], **kwargs: Any) -> Result:
        self.execs.append((list(argv), kwargs))
        if "sysconfig" in argv[-1]:  # a virtualenv's Python, asked where its packages go
            return Result(
                tuple(argv), 0, argv[0].removesuffix("/bin/python") + "/lib/python3.12/site-packages\n", ""
            )
        code = self.exit_code if "-m" in argv[1:2] and argv[2:3] != ["venv"] else 0
        return Result(tuple(argv), code, "out", "")


def as_node(leader: FakeLeader) -> Node:
    """The fake, typed as the handle it stands in for."""
    return cast(Node, leader)


def test_run_workflow_privately_auto_deploys(tmp_path: Path) -> None:
    path = write(tmp_path, "fanout.py", "print('fan')\n")
    leader = FakeLeader(exit_code=3)
    record, code = workflow.run_workflow(as_node(leader), path, ["--logLevel", "INFO"])
    assert code == 3
    assert (record.exit_code, record.module, record.workflow) == (3, "fanout", str(path))
    assert record.job_store.startswith("/data/jobstores/fanout-")
    # Its own folder in the leader's private area: Toil ships the script's whole folder.
    assert leader.files["/home/lab/workflows/fanout/fanout.py"] == "print('fan')\n"
    assert not any(name.startswith("/data/workflows") for name in leader.files)
    assert json.loads(leader.files[workflow.LAST_RUN])["exit_code"] == 3
    mkdir, run = leader.execs
    assert mkdir[0] == ["mkdir", "-p", "/data/jobstores"]
    assert run[0] == ["python3", "-m", "fanout", record.job_store, *AUTO_DEPLOY, "--logLevel", "INFO"]
    assert run[1] == {
        "user": "lab",
        "workdir": "/home/lab/workflows/fanout",
        "env": {"PYTHONUNBUFFERED": "1"},
        "check": False,
        "capture": False,
    }


def test_run_workflow_shared_uses_the_shared_volume_and_plain_slurm(tmp_path: Path) -> None:
    leader = FakeLeader()
    record, code = workflow.run_workflow(as_node(leader), write(tmp_path, "fanout.py"), [], shared=True)
    assert code == 0
    assert "/data/workflows/fanout.py" in leader.files
    argv, options = leader.execs[-1]
    assert argv == ["python3", "-m", "fanout", record.job_store, *PLAIN]
    assert options["workdir"] == "/data/workflows"


def test_restart_reuses_the_last_job_store(tmp_path: Path) -> None:
    previous = workflow.RunRecord("fanout.py", "fanout", "/data/jobstores/fanout-old", [], 1.0, 1)
    leader = FakeLeader({workflow.LAST_RUN: json.dumps(previous.__dict__)})
    record, _ = workflow.run_workflow(as_node(leader), write(tmp_path, "fanout.py"), ["--restart"])
    assert record.job_store == "/data/jobstores/fanout-old"
    assert leader.execs[-1][0][3:6] == ["/data/jobstores/fanout-old", "--batchSystem", "slurm_autodeploy"]
    assert leader.execs[-1][0][-1] == "--restart"


def test_restart_without_a_previous_run(tmp_path: Path) -> None:
    leader = FakeLeader()
    with pytest.raises(ConfigError, match="no previous run to restart"):
        workflow.run_workflow(as_node(leader), write(tmp_path, "fanout.py"), ["--restart"])
    assert leader.execs == []


def test_a_bad_workflow_starts_nothing(tmp_path: Path) -> None:
    leader = FakeLeader()
    with pytest.raises(ConfigError):
        workflow.run_workflow(as_node(leader), write(tmp_path, "bad.py", "def (:\n"), [])
    assert (leader.execs, leader.files) == ([], {})


def test_run_module_captures_and_adds_env() -> None:
    leader = FakeLeader()
    record, result = workflow.run_module(
        as_node(leader),
        "pkg_flow",
        [],
        workdir="/home/lab",
        capture=True,
        env={"EXTRA": "1"},
        label="v:pkg_flow",
    )
    assert result.stdout == "out"
    assert record.workflow == "v:pkg_flow"
    options = leader.execs[-1][1]
    assert options["capture"] is True
    assert options["env"] == {"PYTHONUNBUFFERED": "1", "EXTRA": "1"}


def test_require_last_run() -> None:
    with pytest.raises(LabError, match="no workflow has run on this lab yet"):
        workflow.require_last_run(as_node(FakeLeader()))


def test_last_run_round_trips() -> None:
    leader = FakeLeader()
    record = workflow.RunRecord("wf.py", "wf", "/data/jobstores/wf-1", ["python3", "-m", "wf"], 2.5, 0)
    workflow.save_run(as_node(leader), record)
    assert workflow.last_run(as_node(leader)) == record


def leader_node(state: str = "running") -> Node:
    return Node(
        name="leader",
        role="leader",
        container_id="c" * 64,
        container_name="toil-lab-leader-1",
        state=state,
        health="",
    )


def test_a_stopped_leader_is_not_a_lab_without_runs(fake_run: FakeRun) -> None:
    fake_run.on(
        "docker",
        "exec",
        returncode=1,
        stderr=f"Error response from daemon: container {'c' * 64} is not running",
    )
    with pytest.raises(LabError) as error:
        workflow.require_last_run(leader_node("exited"))
    message = str(error.value)
    assert "no workflow has run" not in message
    assert "the leader is exited" in message
    assert "lab heal leader" in message


def test_a_record_that_cannot_be_read_is_an_error_not_no_run(fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec", returncode=1, stderr="cat: /var/lib/lab/runs/last.json: Permission denied")
    with pytest.raises(LabError) as error:
        workflow.last_run(leader_node())
    message = str(error.value)
    assert "could not read the record of the last run" in message
    assert "Permission denied" in message


def test_no_record_is_no_run(fake_run: FakeRun) -> None:
    fake_run.on("docker", "exec", returncode=3)  # read_text's "does not exist"
    assert workflow.last_run(leader_node()) is None
    with pytest.raises(LabError, match="no workflow has run on this lab yet"):
        workflow.require_last_run(leader_node())


# --- virtualenvs on the leader ---------------------------------------------------------------


def test_virtualenv_paths() -> None:
    venv = workflow.Virtualenv(as_node(FakeLeader()), "tools")
    assert venv.path == "/home/lab/venvs/tools"
    assert venv.python == "/home/lab/venvs/tools/bin/python"
    # The base image decides the Python version; the virtualenv's Python is asked.
    assert venv.site_packages == "/home/lab/venvs/tools/lib/python3.12/site-packages"


def test_virtualenv_create_sees_the_images_toil() -> None:
    leader = FakeLeader()
    workflow.Virtualenv(as_node(leader), "tools").create()
    assert [argv for argv, _ in leader.execs] == [
        ["rm", "-rf", "/home/lab/venvs/tools"],
        ["python3", "-m", "venv", "--system-site-packages", "--without-pip", "/home/lab/venvs/tools"],
    ]
    assert all(options["user"] == "lab" for _, options in leader.execs)


def test_virtualenv_install_module_makes_its_packages() -> None:
    leader = FakeLeader()
    venv = workflow.Virtualenv(as_node(leader), "tools")
    path = venv.install_module("labpkg.flows.fanout", "X = 1\n")
    site = "/home/lab/venvs/tools/lib/python3.12/site-packages"
    assert path == f"{site}/labpkg/flows/fanout.py"
    assert leader.files == {
        f"{site}/labpkg/__init__.py": "",
        f"{site}/labpkg/flows/__init__.py": "",
        f"{site}/labpkg/flows/fanout.py": "X = 1\n",
    }


@pytest.mark.parametrize("dotted", ["my-pkg.mod", "pkg..mod", "", "pkg/mod"])
def test_virtualenv_install_module_rejects_bad_names(dotted: str) -> None:
    leader = FakeLeader()
    with pytest.raises(ConfigError, match="is not a dotted module name"):
        workflow.Virtualenv(as_node(leader), "tools").install_module(dotted, "")
    assert leader.files == {}


def test_virtualenv_run_uses_its_python() -> None:
    leader = FakeLeader()
    record, _ = workflow.Virtualenv(as_node(leader), "tools").run("labpkg.flows.fanout", ["--x"])
    argv, options = leader.execs[-1]
    assert argv[:3] == ["/home/lab/venvs/tools/bin/python", "-m", "labpkg.flows.fanout"]
    assert argv[4:6] == ["--batchSystem", "slurm_autodeploy"]
    assert (options["workdir"], options["capture"]) == ("/home/lab", True)
    assert record.workflow == "tools:labpkg.flows.fanout"


def test_a_background_run_gives_its_result_record_and_times(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    release = threading.Event()
    seen: dict[str, Any] = {}
    record = workflow.RunRecord("leaves", "leaves", "/data/jobstores/x", ["python3"], 0.0)
    done = Result(("python3",), 0, "ok", "")

    def run_module(
        leader: Node, module: str, args: list[str], **kwargs: Any
    ) -> tuple[workflow.RunRecord, Result]:
        seen.update(module=module, args=args, kwargs=kwargs)
        release.wait(10)
        return record, done

    monkeypatch.setattr(workflow, "run_module", run_module)
    running = workflow.run_in_background(cast(Node, None), "leaves", ["--leaves", "3"], workdir="/home/lab/w")
    assert running.ended_within(0.05) is None
    assert (running.finished_at, running.result, running.record) == (0.0, None, None)
    with pytest.raises(LabError, match=r"did not finish within 0\.01s"):
        running.wait(0.01)
    release.set()
    assert running.wait(10) is done
    assert running.record is record and running.finished_at >= running.started_at > 0
    assert seen == {
        "module": "leaves",
        "args": ["--leaves", "3"],
        "kwargs": {"workdir": "/home/lab/w", "capture": True},
    }


def test_a_background_run_that_raised_raises_when_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_module(*args: Any, **kwargs: Any) -> tuple[workflow.RunRecord, Result]:
        raise LabError("docker exec failed")

    monkeypatch.setattr(workflow, "run_module", run_module)
    running = workflow.run_in_background(cast(Node, None), "leaves", [], workdir="/w")
    with pytest.raises(LabError, match="docker exec failed"):
        running.wait(10)
    assert running.finished_at > 0
