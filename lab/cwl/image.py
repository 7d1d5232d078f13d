"""A lab's CWL layer: toil[cwl] and a JavaScript engine over the lab's runtime (CWL=1).

images/cwl/Dockerfile goes over the runtime (Slurm's, or Mesos's), and the node image's
last stage over it, on every node: Toil runs each CWL step's tool through cwltool in a
Toil worker on a worker node, and CWL's JavaScript expressions need `node` there.
Its wheelhouse is resolved on the host like Toil's: `toil[cwl]` at the lab's Toil
(the release, or the wheel built from TOIL_SOURCE), whose extra pins cwltool.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab import docker, process, wheelhouse
from lab.base_image import Platform
from lab.config import LabConfig
from lab.errors import ConfigError, LabError
from lab.image import RUNTIME_REPOSITORY, Build, digest, tag_part
from lab.labels import LABEL_IMAGE

DOCKERFILE = Path("images/cwl/Dockerfile")
IMAGE_INPUTS = ("images/cwl",)
STAGE = "cwl"
EXTRA = "cwl"  # Toil's extra that carries its CWL runner
# The distribution's packages of the layer: Node.js runs CWL's JavaScript expressions.
PACKAGES = ("nodejs",)


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


def ensure_wheelhouse(
    config: LabConfig, architecture: str, toil_house: Path, platform: Platform, say: Callable[[str], None]
) -> Path:
    """toil[cwl]'s wheels for the image's Python (cached like Toil's)."""
    line, target = requirement(config, toil_house)
    house = config.wheelhouse_root / f"{toil_house.name}-{EXTRA}"

    def resolve(folder: Path) -> None:
        say(f"resolving {line} for Python {platform.python} into {folder}")
        try:
            process.run(
                [
                    *wheelhouse.PIP,
                    "download",
                    "--dest",
                    str(folder),
                    *wheelhouse.platform_args(architecture, platform),
                    target,
                ]
            )
        except LabError as error:
            raise ConfigError(
                f"could not resolve {line} into a wheelhouse for Python {platform.python}: "
                "check that PyPI is reachable from this host.\n" + str(error)
            ) from None

    return wheelhouse.cached(house, line, resolve, fresh=config.toil_source is not None)


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
    return Build("CWL layer (toil[cwl], Node.js)", tag, tuple(argv))
