"""A lab's CWL layer: toil[cwl] and a JavaScript engine over the lab's runtime (CWL=1).

images/cwl/Dockerfile goes over the runtime (Slurm's, or Mesos's), and the node image's
last stage over it, on every node: Toil runs each CWL step's tool through cwltool in a
Toil worker on a worker node, and CWL's JavaScript expressions need `node` there.
Its wheelhouse is resolved on the host like Toil's: `toil[cwl]` at the lab's Toil
(the release, or the wheel built from TOIL_SOURCE), whose extra pins cwltool, and
cwltest (the conformance suite's runner; Toil's CWL tests import it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab import docker, wheelhouse
from lab.base_image import Platform
from lab.config import CWLTEST_VERSION, LabConfig
from lab.errors import LabError
from lab.image import RUNTIME_REPOSITORY, Build, digest, tag_part
from lab.labels import LABEL_IMAGE

DOCKERFILE = Path("images/cwl/Dockerfile")
IMAGE_INPUTS = ("images/cwl",)
STAGE = "cwl"
EXTRA = "cwl"  # Toil's extra that carries its CWL runner
# The distribution's packages of the layer: Node.js runs CWL's JavaScript expressions;
# `python` is what CWL tools (the conformance suite's among them) call, and a container
# image would give them: without a container engine, Debian's python-is-python3 does.
PACKAGES = ("nodejs", "python-is-python3")


CWLTEST = f"cwltest=={CWLTEST_VERSION}"


def requirement(config: LabConfig, toil_house: Path) -> tuple[str, str]:
    """What the layer installs (a requirement line), and what pip resolves it from on the host."""
    if config.toil_source is None:
        line = f"toil[{EXTRA}]=={config.toil_version}"
        return line, line
    built = sorted(toil_house.glob("toil-*.whl"))
    if not built:
        raise LabError(f"no Toil wheel in {toil_house} to add CWL to: `lab up` builds it first")
    version = built[-1].name.split("-")[1]
    return f"toil[{EXTRA}]=={version}", f"{built[-1]}[{EXTRA}]"


def requirements(config: LabConfig, toil_house: Path) -> tuple[list[str], list[str]]:
    """The layer's requirement lines, and what pip resolves on the host for them."""
    line, target = requirement(config, toil_house)
    return [line, CWLTEST], [target, CWLTEST]


def ensure_wheelhouse(
    config: LabConfig, architecture: str, toil_house: Path, platform: Platform, say: Callable[[str], None]
) -> Path:
    """toil[cwl]'s and cwltest's wheels for the image's Python (cached like Toil's)."""
    lines, targets = requirements(config, toil_house)
    house = config.wheelhouse_root / f"{toil_house.name}-{EXTRA}"
    asked = " and ".join(lines)

    def resolve(folder: Path) -> None:
        say(f"resolving {asked} for Python {platform.python} into {folder}")
        wheelhouse.download(folder, targets, architecture, platform, asked)

    return wheelhouse.cached(house, "\n".join(lines), resolve, fresh=config.toil_source is not None)


def layer_build(config: LabConfig, runtime: str, house: Path) -> Build:
    """The CWL layer over a runtime image."""
    tag = f"{RUNTIME_REPOSITORY}:{tag_part(runtime)}-{EXTRA}-" + digest(
        config.root, IMAGE_INPUTS, [runtime, STAGE, " ".join(PACKAGES)], [house]
    )
    argv = docker.build_argv(
        context=config.root,
        dockerfile=config.root / DOCKERFILE,
        tag=tag,
        build_args={
            "RUNTIME": runtime,
            "CWL_WHEELHOUSE": str(house.relative_to(config.root)),
            "CWL_PACKAGES": " ".join(PACKAGES),
        },
        labels={LABEL_IMAGE: "cwl-runtime"},
        target=STAGE,
    )
    return Build("CWL layer (toil[cwl], cwltest, Node.js)", tag, tuple(argv))
