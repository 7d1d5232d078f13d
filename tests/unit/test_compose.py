"""lab/compose.py: compose argv, worker services, the workers file, CLI detection."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from innode.layout import worker_name
from lab import compose
from lab.compose import V1, V2, Compose
from lab.config import project_root
from lab.errors import CommandFailed, LabError

from .fakes import FakeRun

COMPOSE_YAML = project_root() / "compose.yaml"
VARIABLES = {"LAB_NAME": "toil-lab", "LAB_IMAGE": "toil-lab/node:toil-9.6.0-abc", "LAB_WORKERS": "3"}


def project(command: tuple[str, ...], tmp_path: Path) -> Compose:
    return Compose(
        command=command,
        project="toil-lab",
        project_dir=tmp_path,
        files=(tmp_path / "compose.yaml", tmp_path / ".lab" / "toil-lab" / "workers.yaml"),
        variables=VARIABLES,
    )


def global_args(command: tuple[str, ...], tmp_path: Path) -> list[str]:
    return [
        *command,
        "--project-name",
        "toil-lab",
        "--project-directory",
        str(tmp_path),
        "--file",
        str(tmp_path / "compose.yaml"),
        "--file",
        str(tmp_path / ".lab" / "toil-lab" / "workers.yaml"),
    ]


# --- argv ---------------------------------------------------------------------


def test_argv_v2(tmp_path: Path) -> None:
    assert project(V2, tmp_path).argv("ps", "--all") == [
        "docker",
        "compose",
        "--project-name",
        "toil-lab",
        "--project-directory",
        str(tmp_path),
        "--file",
        str(tmp_path / "compose.yaml"),
        "--file",
        str(tmp_path / ".lab" / "toil-lab" / "workers.yaml"),
        "ps",
        "--all",
    ]


def test_argv_v1(tmp_path: Path) -> None:
    argv = project(V1, tmp_path).argv("config")
    assert argv[0] == "docker-compose"
    assert argv == [*global_args(V1, tmp_path), "config"]


@pytest.mark.parametrize("command", [V2, V1], ids=["v2", "v1"])
def test_up_runs_detached_with_the_lab_variables(
    command: tuple[str, ...], tmp_path: Path, fake_run: FakeRun
) -> None:
    fake_run.on(*command)
    project(command, tmp_path).up()
    [call] = fake_run.calls
    assert call.argv == [*global_args(command, tmp_path), "up", "--detach", "--remove-orphans"]
    assert call.env == VARIABLES
    assert call.kwargs["check"] is True
    assert call.kwargs["capture"] is True


def test_up_names_services_after_the_options(tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(*V2)
    project(V2, tmp_path).up(["leader", "worker-1"])
    assert fake_run.calls[0].argv[-5:] == ["up", "--detach", "--remove-orphans", "leader", "worker-1"]


@pytest.mark.parametrize("command", [V2, V1], ids=["v2", "v1"])
def test_down_keeps_volumes_unless_asked(command: tuple[str, ...], tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(*command)
    lab = project(command, tmp_path)
    lab.down(volumes=False)
    lab.down(volumes=True)
    assert fake_run.argvs == [
        [*global_args(command, tmp_path), "down", "--remove-orphans"],
        [*global_args(command, tmp_path), "down", "--remove-orphans", "--volumes"],
    ]
    assert all(call.env == VARIABLES for call in fake_run.calls)


def test_stop(tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(*V2)
    project(V2, tmp_path).stop()
    assert fake_run.argvs == [[*global_args(V2, tmp_path), "stop"]]


def test_run_passes_capture_and_check(tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(*V2, returncode=1, stderr="no such service")
    result = project(V2, tmp_path).run("logs", "--follow", capture=False, check=False)
    assert result.returncode == 1
    assert fake_run.calls[0].kwargs == {"env": VARIABLES, "capture": False, "check": False}


def test_failed_compose_command_raises_with_its_argv(tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(*V2, returncode=15, stderr="Error response from daemon: conflict")
    with pytest.raises(CommandFailed) as failed:
        project(V2, tmp_path).up()
    assert failed.value.argv == [*global_args(V2, tmp_path), "up", "--detach", "--remove-orphans"]
    assert "conflict" in str(failed.value)


def test_config_parses_compose_output(tmp_path: Path, fake_run: FakeRun) -> None:
    fake_run.on(*V2, stdout="name: toil-lab\nservices:\n  leader:\n    hostname: leader\n")
    assert project(V2, tmp_path).config() == {
        "name": "toil-lab",
        "services": {"leader": {"hostname": "leader"}},
    }
    assert fake_run.argvs == [[*global_args(V2, tmp_path), "config"]]


def test_variables_reach_the_real_subprocess_on_top_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_subprocess_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        seen["argv"] = argv
        seen.update(kwargs)
        return subprocess.CompletedProcess(argv, 0, b"", b"")

    monkeypatch.setenv("HOME_MARKER_FOR_TEST", "kept")
    monkeypatch.setattr(subprocess, "run", fake_subprocess_run)
    project(V1, tmp_path).up()
    assert seen["argv"] == [*global_args(V1, tmp_path), "up", "--detach", "--remove-orphans"]
    assert seen["env"]["LAB_IMAGE"] == "toil-lab/node:toil-9.6.0-abc"
    assert seen["env"]["LAB_WORKERS"] == "3"
    assert seen["env"]["HOME_MARKER_FOR_TEST"] == "kept"
    assert seen["env"]["PATH"] == os.environ["PATH"]
    assert seen["stdout"] == subprocess.PIPE
    assert "shell" not in seen


# --- detect_command ----------------------------------------------------------


def test_detect_prefers_v2(fake_run: FakeRun) -> None:
    fake_run.on("docker", "compose", "version", stdout="Docker Compose version v2.29.7\n")
    assert compose.detect_command() == ("docker", "compose")
    assert fake_run.argvs == [["docker", "compose", "version"]]
    assert fake_run.calls[0].kwargs["check"] is False


def test_detect_falls_back_to_v1_when_the_plugin_is_missing(fake_run: FakeRun) -> None:
    fake_run.on("docker", "compose", returncode=1, stderr="docker: 'compose' is not a docker command.")
    fake_run.on("docker-compose", "version", stdout="docker-compose version 1.29.2, build unknown\n")
    assert compose.detect_command() == ("docker-compose",)
    assert fake_run.argvs == [["docker", "compose", "version"], ["docker-compose", "version"]]


def test_detect_falls_back_to_v1_when_docker_is_not_installed(fake_run: FakeRun) -> None:
    fake_run.on("docker", raises=LabError("'docker' is not installed or not on PATH"))
    fake_run.on("docker-compose", "version")
    assert compose.detect_command() == V1


def test_detect_without_any_compose_says_what_to_do(fake_run: FakeRun) -> None:
    fake_run.on("docker", "compose", returncode=1)
    fake_run.on("docker-compose", raises=LabError("'docker-compose' is not installed or not on PATH"))
    with pytest.raises(LabError) as error:
        compose.detect_command()
    message = str(error.value)
    assert "`docker compose`" in message
    assert "`docker-compose`" in message
    assert "LAB_COMPOSE" in message
    assert "apt-get install docker-compose" in message


# --- the worker template and the workers file ---------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return compose.load_worker_template(COMPOSE_YAML)


def test_template_has_the_merged_node_anchor(template: dict[str, Any]) -> None:
    assert template["image"].startswith("${LAB_IMAGE:?")
    assert template["init"] is True
    assert template["networks"] == ["lab"]
    assert template["stop_grace_period"] == "5s"
    assert template["environment"] == {
        "LAB_NAME": "${LAB_NAME:?}",
        "LAB_BATCH_SYSTEM": "${LAB_BATCH_SYSTEM:?}",
        "LAB_ROLE": "worker",
        "SLURM_CONF": "/var/lib/lab/slurmd/conf-cache/slurm.conf",
        "LAB_WORKER_CPUS": "${LAB_WORKER_CPUS:?}",
        "LAB_WORKER_MEMORY_MB": "${LAB_WORKER_MEMORY_MB:?}",
        "LAB_SLOTS_PER_CPU": "${LAB_SLOTS_PER_CPU:?}",
    }
    assert template["healthcheck"]["test"] == ["CMD", "/usr/local/sbin/lab-health"]
    assert template["volumes"] == ["jobstore:/data", "secrets:/etc/lab-secrets:ro"]
    assert template["depends_on"] == ["leader"]
    assert "<<" not in template
    # Hostname and labels are per worker: render_workers adds them.
    assert "hostname" not in template
    assert "labels" not in template


def seconds(duration: str) -> int:
    """A Compose duration of whole seconds or minutes ("30s", "1m") in seconds."""
    unit = {"s": 1, "m": 60}[duration[-1]]
    return int(duration[:-1]) * unit


def test_the_healthcheck_is_sparse_and_still_turns_unhealthy_within_about_a_minute(
    template: dict[str, Any],
) -> None:
    # Each check is an exec (~0.05 core-s of runc, shim and bash on this machine): at 1 s,
    # make test's 20 containers spent about a core on them.
    check = template["healthcheck"]
    assert seconds(check["interval"]) >= 30
    assert seconds(check["interval"]) * check["retries"] <= 60


def test_template_missing_is_a_lab_error(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  leader: {image: x}\n")
    with pytest.raises(LabError, match="no `x-worker` block"):
        compose.load_worker_template(path)


def test_template_of_a_non_mapping_document_is_a_lab_error(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(LabError, match="x-worker"):
        compose.load_worker_template(path)


def workers_of(document: dict[str, Any]) -> list[str]:
    """The worker services of a generated file (it also gives the leader its labels)."""
    return [name for name in document["services"] if name != "leader"]


def test_render_workers(template: dict[str, Any]) -> None:
    document = compose.render_workers(template, 3)
    assert workers_of(document) == ["worker-1", "worker-2", "worker-3"]
    for index in (1, 2, 3):
        name = f"worker-{index}"
        service = document["services"][name]
        assert service["hostname"] == name
        assert service["labels"] == {
            "org.toil-lab.lab": "${LAB_NAME:?}",
            "org.toil-lab.role": "worker",
            "org.toil-lab.node": name,
            "org.toil-lab.batch-system": "${LAB_BATCH_SYSTEM:?}",
        }
        assert service["volumes"] == [
            "jobstore:/data",
            "secrets:/etc/lab-secrets:ro",
            f"{name}-state:/var/lib/lab",
        ]
        assert service["image"] == template["image"]
        assert service["environment"]["LAB_ROLE"] == "worker"
    assert document["volumes"] == {"worker-1-state": {}, "worker-2-state": {}, "worker-3-state": {}}


def test_render_one_worker(template: dict[str, Any]) -> None:
    document = compose.render_workers(template, 1)
    assert workers_of(document) == ["worker-1"]
    assert document["volumes"] == {"worker-1-state": {}}


def test_render_leaves_the_template_alone_and_shares_nothing(template: dict[str, Any]) -> None:
    before = json.dumps(template, sort_keys=True)
    document = compose.render_workers(template, 2)
    assert json.dumps(template, sort_keys=True) == before
    one, two = document["services"]["worker-1"], document["services"]["worker-2"]
    assert one["environment"] is not two["environment"]
    assert one["networks"] is not template["networks"]


def test_every_named_volume_a_worker_mounts_is_declared(template: dict[str, Any]) -> None:
    declared = set(yaml.safe_load(COMPOSE_YAML.read_text())["volumes"])
    document = compose.render_workers(template, 4)
    declared |= set(document["volumes"])
    for name in workers_of(document):
        for spec in document["services"][name]["volumes"]:
            assert spec.split(":")[0] in declared, spec


def test_write_workers_file_writes_json(tmp_path: Path, template: dict[str, Any]) -> None:
    path = tmp_path / ".lab" / "toil-lab" / "workers.yaml"
    assert compose.write_workers_file(path, template, 2) == path
    text = path.read_text()
    assert text.endswith("}\n")
    assert json.loads(text) == compose.render_workers(template, 2)
    # JSON is YAML: Compose reads the same document.
    assert yaml.safe_load(text) == compose.render_workers(template, 2)


def test_write_workers_file_leaves_identical_content_alone(tmp_path: Path, template: dict[str, Any]) -> None:
    path = tmp_path / "workers.yaml"
    compose.write_workers_file(path, template, 2)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    compose.write_workers_file(path, template, 2)
    assert path.stat().st_mtime_ns == 1_000_000_000
    compose.write_workers_file(path, template, 3)
    assert path.stat().st_mtime_ns != 1_000_000_000
    assert workers_of(json.loads(path.read_text())) == ["worker-1", "worker-2", "worker-3"]


def test_worker_services_are_named_as_the_nodes_call_them() -> None:
    assert workers_of(compose.render_workers({}, 12))[-1] == worker_name(12) == "worker-12"


def test_the_leader_gets_its_labels_from_the_generated_file_alone(template: dict[str, Any]) -> None:
    leader = compose.render_workers(template, 2)["services"]["leader"]
    assert leader == {
        "labels": {
            "org.toil-lab.lab": "${LAB_NAME:?}",
            "org.toil-lab.role": "leader",
            "org.toil-lab.node": "leader",
            "org.toil-lab.batch-system": "${LAB_BATCH_SYSTEM:?}",
        }
    }
    assert "org.toil-lab" not in COMPOSE_YAML.read_text()
