"""Unit-test fixtures: no Docker, no network; the one subprocess entry point is faked."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import process
from lab.backends.mesos import build as mesos_build
from lab.config import project_root

from .fakes import IDS, INSPECT, PS, FakeRun


def makefile_exports() -> tuple[str, ...]:
    """The settings the Makefile passes on to `lab` (its `export NAME ...` line)."""
    makefile = Path(__file__).resolve().parents[2] / "Makefile"
    line = next(line for line in makefile.read_text().splitlines() if line.startswith("export "))
    return tuple(line.split()[1:])


MAKEFILE_EXPORTS = makefile_exports()
# Variables the lab reads; cleared so a developer's shell cannot change a unit test.
LAB_ENV = (
    *MAKEFILE_EXPORTS,
    "LAB_COMPOSE",
    "LAB_WORKERS",
    "LAB_WORKER_CPUS",
    "LAB_WORKER_MEMORY_MB",
    "LAB_SLOTS_PER_CPU",
)


@pytest.fixture(autouse=True)
def clean_lab_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests see none of the lab's variables unless they set them."""
    for name in LAB_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def no_checkout_mesos_builds(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Unit tests never see the Mesos builds `make mesos` left in this checkout (BATCH_SYSTEM=auto
    would pick them); a test's own root (tmp_path) keeps its own."""
    checkout, real = project_root(), mesos_build.built_root
    empty = tmp_path_factory.mktemp("no-mesos-builds")
    monkeypatch.setattr(mesos_build, "built_root", lambda root: empty if root == checkout else real(root))


@pytest.fixture(autouse=True)
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything reaches a real docker or docker-compose."""
    real_run = subprocess.run

    def guarded(argv: Any, *args: Any, **kwargs: Any) -> Any:
        program = os.path.basename(str(argv[0] if isinstance(argv, list | tuple) else argv))
        if program in ("docker", "docker-compose"):
            raise AssertionError(f"a unit test tried to run {argv!r}")
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", guarded)


@pytest.fixture
def docker_with_lab(fake_run: FakeRun) -> FakeRun:
    """A Docker host running the recorded lab: leader, worker-2 (exited), worker-10 (paused)."""
    fake_run.on(*PS, stdout="\n".join(IDS) + "\n")
    fake_run.on("docker", "inspect", stdout=INSPECT)
    return fake_run


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRun]:
    """lab.process.run replaced by a FakeRun (every lab module calls it as process.run)."""
    fake = FakeRun()
    monkeypatch.setattr(process, "run", fake)
    yield fake
