"""lab/cwl/: CWL runs on the lab and the nodes' CWL layer (no Docker)."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from lab import remembered, tarball
from lab.config import CWLTEST_VERSION, LabConfig, parse_switch
from lab.cwl import image as cwl_image
from lab.cwl import run as cwl_run
from lab.errors import ConfigError
from lab.node import Node
from lab.process import Result


def workflow_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "wf"
    (folder / "tools").mkdir(parents=True)
    (folder / "main.cwl").write_text("cwlVersion: v1.2\n")
    (folder / "tools" / "step.cwl").write_text("cwlVersion: v1.2\n")
    (folder / "job.yml").write_text("x: 1\n")
    return folder


def test_a_cwl_run_is_its_document_then_a_job_file_then_toils_options(tmp_path: Path) -> None:
    folder = workflow_folder(tmp_path)
    run = cwl_run.CwlRun.parse(folder / "main.cwl", [str(folder / "job.yml"), "--logLevel", "INFO"])
    assert (run.job, run.toil_args, run.name) == (folder / "job.yml", ("--logLevel", "INFO"), "main")
    alone = cwl_run.CwlRun.parse(folder / "main.cwl", ["--retryCount", "2"])
    assert (alone.job, alone.toil_args) == (None, ("--retryCount", "2"))


@pytest.mark.parametrize(
    ("rest", "message"),
    [
        (["missing.yml"], "job file missing.yml does not exist"),
        (["inputs.txt"], "a CWL job file ends in .yml, .yaml, .json"),
        (["--logLevel", "INFO", "job.yml"], "give the CWL document and its job file first"),
    ],
)
def test_a_cwl_run_asked_wrongly_is_refused_with_what_to_write(
    tmp_path: Path, rest: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = workflow_folder(tmp_path)
    monkeypatch.chdir(folder)
    with pytest.raises(ConfigError, match=message):
        cwl_run.CwlRun.parse(folder / "main.cwl", rest)


def test_a_missing_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        cwl_run.CwlRun.parse(tmp_path / "none.cwl", [])


def test_the_documents_folder_goes_to_the_leader_and_a_job_file_elsewhere_goes_beside_it(
    tmp_path: Path,
) -> None:
    folder = workflow_folder(tmp_path)
    inside = cwl_run.CwlRun.parse(folder / "main.cwl", [str(folder / "job.yml")])
    assert cwl_run.folders(inside) == [folder.resolve()]
    assert cwl_run.staged_paths(inside, "/s") == (
        "/s/workflow/main.cwl",
        "/s/workflow/job.yml",
        "/s/workflow",
    )
    elsewhere = tmp_path / "jobs" / "j.yml"
    elsewhere.parent.mkdir()
    elsewhere.write_text("x: 2\n")
    outside = cwl_run.CwlRun.parse(folder / "main.cwl", [str(elsewhere)])
    assert cwl_run.folders(outside) == [folder.resolve(), elsewhere.parent.resolve()]
    assert cwl_run.staged_paths(outside, "/s")[1] == "/s/job/j.yml"


def test_a_folder_too_big_to_copy_is_refused_when_the_run_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = workflow_folder(tmp_path)
    monkeypatch.setattr(cwl_run, "MOST_STAGED_BYTES", 10)
    with pytest.raises(ConfigError, match="a folder of their own"):
        cwl_run.CwlRun.parse(folder / "main.cwl", [])  # checked when asked, before the lab is used


@pytest.mark.parametrize(("batch_system", "expected"), [("slurm", "slurm"), ("mesos", "mesos")])
def test_the_runner_gets_toils_options_before_the_document(
    tmp_path: Path, batch_system: str, expected: str
) -> None:
    folder = workflow_folder(tmp_path)
    run = cwl_run.CwlRun.parse(folder / "main.cwl", [str(folder / "job.yml"), "--defaultMemory", "1G"])
    argv = cwl_run.runner_argv(
        run, "/s/main.cwl", "/s/job.yml", "/data/jobstores/j", "/data/outputs/j", batch_system
    )
    assert argv[0] == "toil-cwl-runner"
    assert argv[-2:] == ["/s/main.cwl", "/s/job.yml"]
    options = argv[1:-2]
    assert options[options.index("--batchSystem") + 1] == expected  # plain: no user code to ship
    assert options[options.index("--jobStore") + 1] == "/data/jobstores/j"
    assert options[options.index("--outdir") + 1] == "/data/outputs/j"
    assert "--no-container" in options
    assert options.count("--defaultMemory") == 1 and options[-2:] == ["--defaultMemory", "1G"]


def test_toils_cwl_parser_takes_the_runners_options(tmp_path: Path) -> None:
    """Every option the lab gives toil-cwl-runner is one Toil 9.6's CWL runner parses."""
    pytest.importorskip(
        "cwltool", reason="cwltool is in the nodes' CWL layer; this virtualenv has Toil without it"
    )
    from toil.cwl.cwltoil import get_options  # type: ignore[import-untyped,unused-ignore]

    folder = workflow_folder(tmp_path)
    run = cwl_run.CwlRun.parse(folder / "main.cwl", [])
    argv = cwl_run.runner_argv(run, "/s/main.cwl", None, "/data/jobstores/j", "/data/outputs/j", "slurm")
    options = get_options(argv[1:])
    assert (options.batchSystem, options.no_container, options.symlinkImports) == ("slurm", True, False)


class FakeLeader:
    """A leader with or without the CWL layer; records what it is asked."""

    def __init__(self, has_runner: bool, exit_code: int = 0) -> None:
        self.batch_system = "slurm"
        self.has_runner, self.exit_code = has_runner, exit_code
        self.files: dict[str, str] = {}
        self.copied: dict[str, list[str]] = {}
        self.execs: list[list[str]] = []

    def exec(self, argv: Sequence[str], **kwargs: Any) -> Result:
        self.execs.append(list(argv))
        if argv[:2] == ["sh", "-c"] and "command -v" in argv[2]:
            return Result(tuple(argv), 0 if self.has_runner else 1, "", "")
        code = self.exit_code if argv[0] == cwl_run.RUNNER else 0
        return Result(tuple(argv), code, "", "")

    def write_text(self, path: str, text: str, *, user: str = "lab") -> None:
        self.files[path] = text

    def copy_in(self, folder: Path, target: str, *, user: str = "lab") -> None:
        self.copied[target] = [str(p.relative_to(folder)) for p in tarball.tree_files(folder)]


def test_a_lab_without_the_cwl_layer_says_to_bring_it_up_with_cwl_and_runs_nothing(tmp_path: Path) -> None:
    leader = FakeLeader(has_runner=False)
    run = cwl_run.CwlRun.parse(workflow_folder(tmp_path) / "main.cwl", [])
    with pytest.raises(ConfigError, match=r"CWL=1 make lab-up.*volumes and job stores are kept"):
        cwl_run.run_cwl(cast(Node, leader), run)
    assert len(leader.execs) == 1 and not leader.copied and not leader.files


def test_a_cwl_run_is_recorded_as_the_last_run_with_its_exit_code(tmp_path: Path) -> None:
    folder = workflow_folder(tmp_path)
    leader = FakeLeader(has_runner=True, exit_code=1)
    record, code, outdir = cwl_run.run_cwl(cast(Node, leader), cwl_run.CwlRun.parse(folder / "main.cwl", []))
    assert code == 1 and record.exit_code == 1
    assert record.job_store.startswith("/data/jobstores/main-")
    assert outdir == "/data/outputs/" + record.job_store.rsplit("/", 1)[-1]
    ((target, files),) = leader.copied.items()
    assert target.startswith("/home/lab/cwl/main-") and target.endswith("/workflow")
    assert sorted(files) == ["job.yml", "main.cwl", "tools/step.cwl"]
    saved = json.loads(leader.files["/var/lib/lab/runs/last.json"])
    assert (saved["job_store"], saved["exit_code"]) == (record.job_store, 1)
    assert leader.execs[-1][0] == "toil-cwl-runner"


def test_a_folder_goes_into_a_node_as_a_tarball_of_its_files(tmp_path: Path) -> None:
    folder = workflow_folder(tmp_path)
    (folder / "data.bin").write_bytes(bytes(range(256)))
    data = tarball.in_memory(folder, tarball.tree_files(folder))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert sorted(archive.getnames()) == ["data.bin", "job.yml", "main.cwl", "tools/step.cwl"]
        member = archive.extractfile("data.bin")
        assert member is not None and member.read() == bytes(range(256))


# --- the setting and the image layer ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"), [("", None), ("1", True), ("yes", True), ("0", False), ("off", False)]
)
def test_cwl_is_an_on_off_setting(text: str, value: bool | None) -> None:
    assert parse_switch(text, "CWL") is value
    assert LabConfig.from_env({"CWL": text}).cwl is value


def test_a_cwl_setting_that_is_neither_is_refused() -> None:
    with pytest.raises(ConfigError, match="CWL='maybe' is neither on nor off: write CWL=1 or CWL=0"):
        LabConfig.from_env({"CWL": "maybe"})


def test_a_lab_keeps_its_cwl_layer_until_told_otherwise(tmp_path: Path) -> None:
    def config(**env: str) -> LabConfig:
        return dataclasses.replace(LabConfig.from_env({"BATCH_SYSTEM": "slurm", **env}), root=tmp_path)

    remembered.save(dataclasses.replace(config(), cwl=True), "slurm")
    assert remembered.apply(config()).cwl is True
    assert remembered.apply(config(CWL="0")).cwl is False
    # Another lab's memory lends its Mesos build, not its CWL layer.
    assert remembered.apply(config(LAB_NAME="other"), "toil-lab").cwl is None


def test_the_layer_installs_toils_cwl_extra_at_the_labs_toil(tmp_path: Path) -> None:
    config = dataclasses.replace(LabConfig.from_env({"TOIL_VERSION": "9.6.0"}), root=tmp_path)
    assert cwl_image.requirement(config, tmp_path) == ("toil[cwl]==9.6.0", "toil[cwl]==9.6.0")
    lines, _ = cwl_image.requirements(config, tmp_path)
    assert lines == ["toil[cwl]==9.6.0", f"cwltest=={CWLTEST_VERSION}"]
    source = tmp_path / "toil"
    source.mkdir()
    (source / "setup.py").write_text("")
    built = tmp_path / "house"
    built.mkdir()
    (built / "toil-9.7.0a1-py3-none-any.whl").write_text("")
    from_source = LabConfig.from_env({"TOIL_SOURCE": str(source)})
    line, target = cwl_image.requirement(from_source, built)
    assert (line, target) == ("toil[cwl]==9.7.0a1", f"{built / 'toil-9.7.0a1-py3-none-any.whl'}[cwl]")


def test_the_layer_goes_over_the_runtime_it_is_given(tmp_path: Path) -> None:
    config = dataclasses.replace(LabConfig.from_env({}), root=tmp_path)
    (tmp_path / "images" / "cwl").mkdir(parents=True)
    (tmp_path / "images" / "cwl" / "Dockerfile").write_text("FROM x\n")
    house = tmp_path / "build" / "wheelhouse" / "toil-cwl"
    house.mkdir(parents=True)
    build = cwl_image.layer_build(config, "toil-lab/runtime:toil-9.6.0-abc-mesos-def", house)
    assert build.tag.startswith("toil-lab/runtime:toil-9.6.0-abc-mesos-def-cwl-")
    args = build.argv
    assert "RUNTIME=toil-lab/runtime:toil-9.6.0-abc-mesos-def" in args
    assert (
        "CWL_WHEELHOUSE=build/wheelhouse/toil-cwl" in args and "CWL_PACKAGES=nodejs python-is-python3" in args
    )


def test_every_build_arg_of_the_layer_is_declared_by_its_dockerfile(tmp_path: Path) -> None:
    import re

    from lab.config import project_root

    dockerfile = (project_root() / cwl_image.DOCKERFILE).read_text()
    declared = set(re.findall(r"^ARG (\w+)", dockerfile, re.MULTILINE))
    house = tmp_path / "build" / "wheelhouse" / "toil-9.6.0-cwl"
    house.mkdir(parents=True)
    config = dataclasses.replace(LabConfig.from_env({}), root=tmp_path)
    args = cwl_image.layer_build(config, "r:t", house).argv
    given = {arg.split("=", 1)[0] for prev, arg in itertools.pairwise(args) if prev == "--build-arg"}
    assert given <= declared
    assert f"AS {cwl_image.STAGE}" in dockerfile
