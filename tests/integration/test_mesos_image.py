"""Toil's Mesos batch system in the image's Python, checked on every machine.

The Mesos runtime's first stage (images/mesos/Dockerfile, `toil-mesos`) needs no Mesos
package: it is the Toil runtime plus pymesos with http-parser's pure-Python parser.
Mesos itself is tested by tests/integration/test_mesos.py, given MESOS_PACKAGE.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from innode import mesos_daemons
from lab import base_image, docker, image, process, wheelhouse
from lab.backends.mesos import image as mesos_image
from lab.config import LabConfig
from lab.process import Result
from lab.startup import building

pytestmark = pytest.mark.integration

PARSE_CHUNKED = """
import pymesos.process as p, http_parser.http as h
from http_parser.http import HttpParser
assert p.HttpParser is HttpParser, p.HttpParser
print(HttpParser.__module__)
raw = (b"HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\nContent-Type: application/json\\r\\n\\r\\n"
       b"7\\r\\n{\\"a\\": 1\\r\\n1\\r\\n}\\r\\n0\\r\\n\\r\\n")
parser = HttpParser()
assert parser.execute(raw, len(raw)) == len(raw)
print(parser.get_status_code(), parser.get_headers()["content-type"], parser.recv_body().decode())
import toil.batchSystems.mesos.batchSystem as b
print(b.MesosBatchSystem.supportsAutoDeployment())
"""


@pytest.fixture(scope="module")
def config() -> LabConfig:
    return LabConfig.from_env()


@pytest.fixture(scope="module")
def platform(config: LabConfig) -> base_image.Platform:
    """BASE_IMAGE's platform (Debian 12 by default), the base image made if missing."""
    # Under the checkout's build lock, as `lab up` builds: `make test` runs other shards'
    # `lab up` beside these fixtures, into the same folders (wheelhouses) and images.
    with building(config.root):
        base_image.ensure_base_image(config, say)
        return base_image.base_platform(config, say)


@pytest.fixture(scope="module")
def toil_wheels(config: LabConfig, platform: base_image.Platform) -> Path:
    with building(config.root):
        return wheelhouse.ensure_toil(config, docker.engine_info().architecture, say, platform)


@pytest.fixture(scope="module")
def runtime(config: LabConfig, toil_wheels: Path) -> str:
    """The Slurm lab's runtime: the distribution and Toil (built if missing)."""
    return built(config, image.runtime_build(config, toil_wheels))


@pytest.fixture(scope="module")
def node_image(config: LabConfig, runtime: str, toil_wheels: Path) -> str:
    """The node image over it (built if missing)."""
    return built(config, image.node_build(config, runtime, toil_wheels))


@pytest.fixture(scope="module")
def toil_mesos_image(config: LabConfig, platform: base_image.Platform, runtime: str) -> str:
    with building(config.root):
        house = mesos_image.ensure_wheelhouse(config, docker.engine_info().architecture, platform)
    return built(config, mesos_image.toil_mesos_build(config, runtime, house))


def built(config: LabConfig, wanted: image.Build) -> str:
    with building(config.root):
        image.ensure(wanted, config.root, quiet=True, progress=lambda _: None)
    return wanted.tag


def say(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr)


def run_in(tag: str, *argv: str) -> Result:
    return process.run(
        [docker.DOCKER, "run", "--rm", "--entrypoint", argv[0], tag, *argv[1:]], check=False, timeout=120
    )


def test_pymesos_runs_on_the_pure_python_http_parser(toil_mesos_image: str) -> None:
    result = run_in(toil_mesos_image, "python3", "-c", PARSE_CHUNKED)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["http_parser.pyparser", '200 application/json {"a": 1}', "True"]


def test_toils_mesos_executor_starts_with_the_agents_executor_environment(toil_mesos_image: str) -> None:
    """With only what a Mesos agent gives an executor, `_toil_mesos_executor` is found and runs as far as
    asking the agent it was given for its state (there is no agent here: that connection is refused)."""
    env = " ".join(f"{key}={value}" for key, value in mesos_daemons.executor_environment().items())
    shell = f"env -i {env} MESOS_AGENT_ENDPOINT=127.0.0.1:5051 _toil_mesos_executor"
    result = run_in(toil_mesos_image, "timeout", "60", "sh", "-c", shell)
    assert result.returncode not in (0, 124, 127), result.stderr[-3000:]
    assert "_toil_mesos_executor: not found" not in result.stderr
    assert "ModuleNotFoundError" not in result.stderr
    assert "Connection refused" in result.stderr, result.stderr[-3000:]


NO_MESOS_LAB = "toil-lab-test-nomesos"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BATCH_SYSTEM": "mesos", "MESOS_PACKAGE": ""}, "BATCH_SYSTEM=mesos needs a Mesos build"),
        ({"MESOS_PACKAGE": "/nonexistent/aventer-mesos.deb"}, "no such file"),
        ({"MESOS_PACKAGE": __file__}, "neither a .deb nor a tarball"),
    ],
)
def test_a_bad_mesos_package_is_refused_before_anything_starts(env: dict[str, str], message: str) -> None:
    result = process.run(
        [sys.executable, "-m", "lab.cli", "up"], check=False, env={"LAB_NAME": NO_MESOS_LAB, **env}
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "README.md, 'Mesos'" in result.stderr or "Mesos .deb" in result.stderr
    assert docker.container_ids({"org.toil-lab.lab": NO_MESOS_LAB}) == []


def test_a_trees_missing_libraries_are_installed_from_the_distribution(node_image: str) -> None:
    """What install-mesos does for a Mesos install tree, on a real library Mesos links to:
    libsvn_subr (from Debian's libsvn1, unpacked, not installed) needs APR and more; the
    lab finds the packages from the sonames that `ldd` cannot find, and installs them."""
    script = (
        "set -e; apt-get update -qq; cd /tmp; apt-get download -qq libsvn1; dpkg -x libsvn1_*.deb tree; "
        "lib=$(find tree -name 'libsvn_subr-1.so.1*' -type f); "
        'if ldd "$lib" | grep -q "libapr-1.so.0 => not found"; then echo MISSING-BEFORE; fi; '
        'python3 -m innode.sonames install "$lib"; '
        'if ! ldd "$lib" | grep -q "not found"; then echo ALL-FOUND-AFTER; fi'
    )
    result = process.run(
        [docker.DOCKER, "run", "--rm", "--user", "root", "--entrypoint", "bash", node_image, "-c", script],
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert "MISSING-BEFORE" in lines
    assert any(line.startswith("innode.sonames: from ") and "libapr1" in line for line in lines), lines
    assert "ALL-FOUND-AFTER" in lines


def looks_like_mesos_deb(folder: Path) -> Path:
    """A .deb that passes the host's checks but whose daemons cannot run: both are /bin/false."""
    root = folder / "root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: lab-not-mesos\nVersion: 0.0.1\nArchitecture: all\n"
        "Maintainer: toil-lab tests <lab@example.org>\n"
        "Description: names Mesos's daemons, runs nothing (a toil-lab refusal test)\n"
    )
    for path in ("usr/sbin/mesos-master", "usr/sbin/mesos-agent", "usr/libexec/mesos/mesos-containerizer"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy("/bin/false", root / path)
    deb = folder / "lab-not-mesos_0.0.1_all.deb"
    process.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)])
    return deb


def test_a_package_whose_daemons_do_not_run_fails_the_image_build_and_starts_nothing(tmp_path: Path) -> None:
    """install-mesos for real (apt, dpkg -L, the library check), up to the daemons' own --version."""
    deb = looks_like_mesos_deb(tmp_path)
    result = process.run(
        [sys.executable, "-m", "lab.cli", "up"],
        check=False,
        env={"LAB_NAME": NO_MESOS_LAB, "BATCH_SYSTEM": "mesos", "MESOS_PACKAGE": str(deb)},
        timeout=900,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Mesos from lab-not-mesos 0.0.1 (.deb)" in result.stderr
    assert "could not build the Mesos runtime image (lab-not-mesos 0.0.1 (.deb))" in result.stderr
    # The build's last lines, from its log in build/logs/, say why.
    assert "install-mesos: error: /usr/sbin/mesos-master does not run on Debian" in result.stderr
    assert docker.container_ids({"org.toil-lab.lab": NO_MESOS_LAB}) == []
