"""The Mesos recipe's early phases on a real Mesos source, in `make test` (the whole build is `make mesos`).

`lab build-mesos --until configure` runs the recipe's toolchain, unpack, bootstrap and
configure on MESOS_SOURCE (CI: the shared copy of AVENTER-UG/mesos 682f6a7; a user:
GitHub's archive of that commit), then the configured tree is read in the image: a
recipe that configure would turn down, or that would compile with the wrong C++
standard or Mesos's bundled libraries, fails here in minutes, not after a 40-minute
compile.
"""

from __future__ import annotations

import os
import re
import sys

import pytest

from lab import process
from lab.backends.mesos import build
from lab.config import LabConfig

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def configured() -> tuple[str, process.Result]:
    """`lab build-mesos --until configure` as a user runs it; the configure stage's tag and the run."""
    source = os.environ.get("MESOS_SOURCE") or build.DEFAULT_SOURCE
    result = process.run(
        [sys.executable, "-m", "lab.cli", "build-mesos", "--until", "configure", source], check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tags = process.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", build.REPOSITORY]
    ).stdout.split()
    config = LabConfig.from_env()
    resolved = build.resolve_source(source, config.root / "build" / "mesos")
    wanted = [
        tag for tag in tags if tag.endswith("-configure") and tag.split(":")[1].startswith(resolved.version)
    ]
    assert wanted, f"no configure-stage image among {tags}"
    return wanted[0], result


def in_image(tag: str, script: str) -> str:
    return process.run(["docker", "run", "--rm", "--entrypoint", "bash", tag, "-c", script]).stdout


def test_each_phase_up_to_configure_is_a_step_with_its_time(configured: tuple[str, process.Result]) -> None:
    _, result = configured
    for phase in build.PHASES[: build.PHASES.index("configure") + 1]:
        assert f"✓ Mesos build: {phase}" in result.stderr, result.stderr
    assert "Mesos build: compile" not in result.stderr
    assert "the Mesos recipe went through configure" in result.stdout


def test_configure_took_the_recipes_options(configured: tuple[str, process.Result]) -> None:
    tag, _ = configured
    options = in_image(tag, "/src/build/config.status --config")
    for option in build.CONFIGURE_ARGS:
        assert option in options


def test_the_configured_build_compiles_as_cxx14_against_the_distributions_libraries(
    configured: tuple[str, process.Result],
) -> None:
    tag, _ = configured
    makefile = in_image(tag, "grep -E '^(CXXFLAGS|PROTOC|GRPC_CXX_PLUGIN) =' /src/build/src/Makefile")
    cxxflags = next(line for line in makefile.splitlines() if line.startswith("CXXFLAGS ="))
    assert "-std=c++14" in cxxflags and "-std=c++11" not in cxxflags, cxxflags
    assert " -O2" in cxxflags, cxxflags
    assert "PROTOC = /usr/bin/protoc" in makefile, makefile
    assert "GRPC_CXX_PLUGIN = /usr/bin/grpc_cpp_plugin" in makefile, makefile
    # Automake's conditionals: a bundle in use has its _TRUE substitution empty.
    status = in_image(tag, "grep -E '^S\\[\"WITH_BUNDLED_[A-Z0-9]+_TRUE\"\\]' /src/build/config.status")
    bundled = dict(re.findall(r'S\["WITH_BUNDLED_([A-Z0-9]+)_TRUE"\]="([^"]*)"', status))
    for library in ("PROTOBUF", "GRPC", "ZOOKEEPER", "LIBARCHIVE", "RE2"):
        assert bundled.get(library) == "#", f"{library} is bundled, not the distribution's: {bundled}"
    found = in_image(tag, "grep -E '^ac_cv_lib_zookeeper_mt_zookeeper_init=' /src/build/config.log")
    assert found.strip() == "ac_cv_lib_zookeeper_mt_zookeeper_init=yes", found


def test_a_second_run_is_all_cached(configured: tuple[str, process.Result]) -> None:
    source = os.environ.get("MESOS_SOURCE") or build.DEFAULT_SOURCE
    again = process.run([sys.executable, "-m", "lab.cli", "build-mesos", "--until", "configure", source])
    for phase in ("toolchain", "unpack", "bootstrap", "configure"):
        assert f"✓ Mesos build: {phase}: cached" in again.stderr, again.stderr
