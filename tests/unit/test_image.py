"""lab/image.py: the runtime and node images' tags and builds; only images/ and innode/ go in (no Docker)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from lab import docker, image
from lab.config import LabConfig
from lab.errors import LabError

from .fakes import FakeRun

RUNTIME = "toil-lab/runtime:toil-9.6.0-0123456789ab"


def config_at(root: Path, **changes: object) -> LabConfig:
    return dataclasses.replace(LabConfig(), root=root, **changes)  # type: ignore[arg-type]


@pytest.fixture
def fake_root(tmp_path: Path) -> tuple[LabConfig, Path]:
    """A checkout with the images' inputs, host code beside them, and a resolved wheelhouse."""
    (tmp_path / "images" / "node").mkdir(parents=True)
    (tmp_path / "images" / "node" / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (tmp_path / "images" / "node" / "entrypoint.sh").write_text("#!/bin/sh\nexec slurmd -D\n")
    (tmp_path / "innode").mkdir()
    (tmp_path / "innode" / "recorder.py").write_text("pass\n")
    (tmp_path / "lab" / "cli").mkdir(parents=True)
    (tmp_path / "lab" / "cli" / "__init__.py").write_text("# the host's command line\n")
    house = tmp_path / "build" / "wheelhouse" / "toil-9.6.0-x86_64"
    house.mkdir(parents=True)
    (house / "toil-9.6.0-py3-none-any.whl").write_bytes(b"PK" + b"\0" * 100)
    (house / "requirements.txt").write_text("toil==9.6.0\n")
    return config_at(tmp_path), house


def tags(config: LabConfig, house: Path) -> tuple[str, str]:
    """The runtime's and the node image's tags."""
    return image.runtime_build(config, house).tag, image.node_build(config, RUNTIME, house).tag


def test_tag_shapes(fake_root: tuple[LabConfig, Path]) -> None:
    config, house = fake_root
    runtime, node = tags(config, house)
    assert re.fullmatch(r"toil-lab/runtime:toil-9\.6\.0-[0-9a-f]{12}", runtime)
    assert re.fullmatch(r"toil-lab/node:toil-9\.6\.0-0123456789ab-[0-9a-f]{12}", node)
    source = dataclasses.replace(config, toil_source=config.root / "toil")
    assert re.fullmatch(r"toil-lab/runtime:toil-source-[0-9a-f]{12}", image.runtime_build(source, house).tag)


def test_tags_are_stable(fake_root: tuple[LabConfig, Path]) -> None:
    config, house = fake_root
    assert tags(config, house) == tags(config, house)


@pytest.mark.parametrize(
    "host_file", ["lab/cli/__init__.py", "lab/new_module.py", "tests/test_x.py", "README.md", "Makefile"]
)
def test_an_edit_of_host_code_changes_no_image(fake_root: tuple[LabConfig, Path], host_file: str) -> None:
    config, house = fake_root
    before = tags(config, house)
    path = config.root / host_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# edited\n")
    assert tags(config, house) == before


@pytest.mark.parametrize(
    "node_file",
    ["innode/recorder.py", "innode/new_module.py", "images/node/entrypoint.sh", "images/node/x.conf"],
)
def test_an_edit_of_in_node_code_changes_the_node_image_only(
    fake_root: tuple[LabConfig, Path], node_file: str
) -> None:
    config, house = fake_root
    runtime, node = tags(config, house)
    path = config.root / node_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# edited\n")
    assert tags(config, house) == (runtime, tags(config, house)[1])
    assert tags(config, house)[1] != node


def test_tags_ignore_bytecode(fake_root: tuple[LabConfig, Path]) -> None:
    config, house = fake_root
    before = tags(config, house)
    (config.root / "innode" / "__pycache__").mkdir()
    (config.root / "innode" / "__pycache__" / "recorder.cpython-311.pyc").write_bytes(b"\x00\x01")
    assert tags(config, house) == before


def test_the_runtime_follows_the_base_image_the_dockerfile_and_the_wheels(
    fake_root: tuple[LabConfig, Path],
) -> None:
    config, house = fake_root
    runtime, _ = tags(config, house)
    assert (
        image.runtime_build(dataclasses.replace(config, base_image="debian:trixie-slim"), house).tag
        != runtime
    )
    (config.root / "images" / "node" / "Dockerfile").write_text("FROM debian:trixie-slim\n")
    changed = image.runtime_build(config, house).tag
    assert changed != runtime
    (house / "toil-9.6.0-py3-none-any.whl").write_bytes(b"PK" + b"\0" * 101)
    assert image.runtime_build(config, house).tag != changed


def test_the_node_image_goes_over_the_runtime_it_is_given(fake_root: tuple[LabConfig, Path]) -> None:
    config, house = fake_root
    build = image.node_build(config, RUNTIME, house)
    assert build.argv[build.argv.index("--target") + 1] == "node"
    assert f"RUNTIME={RUNTIME}" in build.argv
    other = image.node_build(config, "toil-lab/runtime:toil-9.6.0-fedcba987654-mesos-1", house)
    assert other.tag != build.tag


def test_an_existing_image_is_not_rebuilt(fake_root: tuple[LabConfig, Path], fake_run: FakeRun) -> None:
    config, house = fake_root
    build = image.node_build(config, RUNTIME, house)
    fake_run.on("docker", "image", "inspect", build.tag)
    assert image.ensure(build, config.root, quiet=True, progress=lambda _: None) == "cached"
    assert fake_run.argvs == [["docker", "image", "inspect", build.tag]]


def test_a_quiet_build_writes_its_log_and_reports_its_steps(
    fake_root: tuple[LabConfig, Path], fake_run: FakeRun
) -> None:
    config, house = fake_root
    build = image.node_build(config, RUNTIME, house)
    fake_run.on("docker", "image", "inspect", returncode=1)
    output = "Sending build context to Docker daemon  3.1MB\nStep 7/12 : COPY innode /opt/toil-lab/innode\n"
    fake_run.on("docker", "build", stdout=output)
    seen: list[str] = []
    assert image.ensure(build, config.root, quiet=True, progress=seen.append) == "built"
    assert seen == ["step 7/12: COPY innode /opt/toil-lab/innode"]
    log = build.log_path(config.root).read_text()
    assert log.startswith("$ docker build --force-rm")
    assert "Step 7/12" in log


def test_a_failed_build_shows_its_last_lines_and_where_the_log_is(
    fake_root: tuple[LabConfig, Path], fake_run: FakeRun
) -> None:
    config, house = fake_root
    build = image.node_build(config, RUNTIME, house)
    fake_run.on("docker", "image", "inspect", returncode=1)
    fake_run.on("docker", "build", returncode=1, stdout="Step 3/12 : RUN false\nthe step failed\n")
    with pytest.raises(LabError) as error:
        image.ensure(build, config.root, quiet=True, progress=lambda _: None)
    message = str(error.value)
    assert "Step 3/12 : RUN false\nthe step failed" in message
    assert str(build.log_path(config.root)) in message


@pytest.mark.parametrize(
    ("line", "step"),
    [
        (
            "Step 5/19 : RUN apt-get update  && apt-get install -y slurmd\n",
            "step 5/19: RUN apt-get update && apt-get install -y slurmd",
        ),
        (
            "#9 [node 3/5] COPY innode /opt/toil-lab/innode\n",
            "step node 3/5: COPY innode /opt/toil-lab/innode",
        ),
        (" ---> Running in 1c0e\n", None),
    ],
)
def test_build_step(line: str, step: str | None) -> None:
    assert docker.build_step(line) == step


def test_build_argv_removes_failed_steps_containers(tmp_path: Path) -> None:
    argv = docker.build_argv(
        context=tmp_path,
        dockerfile=tmp_path / "Dockerfile",
        tag="toil-lab/node:t",
        build_args={"RUNTIME": "r"},
        labels={"org.toil-lab.image": "node"},
        target="node",
    )
    assert argv == [
        "docker", "build", "--force-rm", "--file", str(tmp_path / "Dockerfile"),
        "--tag", "toil-lab/node:t", "--target", "node", "--build-arg", "RUNTIME=r",
        "--label", "org.toil-lab.image=node", str(tmp_path),
    ]  # fmt: skip
