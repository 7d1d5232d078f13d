"""The lab's images: a runtime (the distribution and Toil; on a Mesos lab also Mesos) and the node image.

images/node/Dockerfile builds both: its `toil` stage is the runtime of a Slurm lab (a
Mesos lab's runtime is images/mesos over it), and its `node` stage adds the lab's
in-node code (innode/) and entrypoint to a runtime. Each tag is a digest of what the
image is built from, so `lab up` builds only what changed, and an edit of in-node
code rebuilds the node image's last layers only. Nothing of the host-side `lab`
package goes into an image (.dockerignore lets only images/, innode/ and the staged
wheelhouses and Mesos package in).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab import docker
from lab.config import LabConfig
from lab.errors import ConfigError
from lab.labels import LABEL_IMAGE

NODE_DOCKERFILE = Path("images/node/Dockerfile")
RUNTIME_REPOSITORY = "toil-lab/runtime"
NODE_REPOSITORY = "toil-lab/node"
RUNTIME_STAGE = "toil"
NODE_STAGE = "node"
# What the node stage adds to a runtime: images/node's files and the in-node code.
NODE_INPUTS = ("images/node", "innode")


def digest(
    root: Path, inputs: Sequence[str], extra: Sequence[str] = (), wheelhouses: Sequence[Path] = ()
) -> str:
    """A short digest of the files under `inputs` (relative to root), other inputs, and wheelhouses."""
    hasher = hashlib.sha256()
    for item in extra:
        hasher.update(item.encode())
    for top in inputs:
        base = root / top
        for path in sorted(base.rglob("*")) if base.is_dir() else [base]:
            if path.is_file() and "__pycache__" not in path.parts:
                hasher.update(str(path.relative_to(root)).encode())
                hasher.update(path.read_bytes())
    for house in wheelhouses:
        for wheel in sorted(house.iterdir()):
            hasher.update(wheel.name.encode())
            hasher.update(str(wheel.stat().st_size).encode())
    return hasher.hexdigest()[:12]


def tag_part(reference: str) -> str:
    """The tag of an image reference (toil-lab/runtime:toil-9.6.0-abc -> toil-9.6.0-abc)."""
    return reference.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class Build:
    """One image the lab builds: what it is, its tag, and the `docker build` that makes it."""

    what: str  # e.g. "runtime image": how `lab up` names the step
    tag: str
    argv: tuple[str, ...]

    def log_path(self, root: Path) -> Path:
        """Where its build output is written (build/logs/)."""
        return root / "build" / "logs" / (self.tag.replace("/", "_").replace(":", "_") + ".log")


def runtime_build(config: LabConfig, house: Path) -> Build:
    """The `toil` stage of images/node: the base image and Toil from the wheelhouse."""
    version = "source" if config.toil_source is not None else config.toil_version
    tag = f"{RUNTIME_REPOSITORY}:toil-{version}-" + digest(
        config.root, [str(NODE_DOCKERFILE)], [config.base_image, RUNTIME_STAGE], [house]
    )
    argv = docker.build_argv(
        context=config.root,
        dockerfile=config.root / NODE_DOCKERFILE,
        tag=tag,
        build_args={"BASE_IMAGE": config.base_image, "WHEELHOUSE": str(house.relative_to(config.root))},
        labels={LABEL_IMAGE: "runtime"},
        target=RUNTIME_STAGE,
    )
    return Build("runtime image (OS packages, Toil)", tag, tuple(argv))


def node_build(config: LabConfig, runtime: str, house: Path) -> Build:
    """The `node` stage of images/node over a runtime: the in-node code and entrypoint."""
    tag = f"{NODE_REPOSITORY}:{tag_part(runtime)}-" + digest(config.root, NODE_INPUTS, [runtime, NODE_STAGE])
    argv = docker.build_argv(
        context=config.root,
        dockerfile=config.root / NODE_DOCKERFILE,
        tag=tag,
        build_args={
            "BASE_IMAGE": config.base_image,
            "WHEELHOUSE": str(house.relative_to(config.root)),
            "RUNTIME": runtime,
        },
        labels={LABEL_IMAGE: "node"},
        target=NODE_STAGE,
    )
    return Build("node image (in-node code)", tag, tuple(argv))


def ensure(build: Build, root: Path, *, quiet: bool, progress: Callable[[str], None]) -> str:
    """Build the image unless one of its tag exists; 'cached' or 'built'.

    Quiet, the build's output goes to build/logs/ and its steps to `progress`; else to
    the terminal (`lab up --verbose`).
    """
    if docker.image_exists(build.tag):
        return "cached"
    if not (root / NODE_DOCKERFILE).exists():
        raise ConfigError(f"{root / NODE_DOCKERFILE} is missing: is this a toil-lab checkout?")

    def on_line(line: str) -> None:
        step = docker.build_step(line)
        if step is not None:
            progress(step)

    docker.build(build.argv, build.log_path(root) if quiet else None, on_line)
    return "built"


def stage(path: Path, target: Path) -> Path:
    """Put a file inside the build context at `target` (a hard link, else a copy), unless it is there."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.hardlink_to(path)
        except OSError:
            shutil.copyfile(path, target)
    return target
