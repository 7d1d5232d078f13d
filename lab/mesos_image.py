"""The Mesos variant of the node image: Toil's Mesos dependencies and the user's Mesos build.

A layer over the common node image (images/mesos/Dockerfile), built only for Mesos
labs. Its wheelhouse is resolved on the host, like the node image's: pymesos (an
sdist on PyPI, built here into a wheel), an http-parser wheel that holds only the
pure-Python parser (its C extension does not build on Python 3.11), and their
dependencies as wheels for the image's Python.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from lab import docker, process
from lab.config import LabConfig
from lab.errors import ConfigError, LabError
from lab.image import DEFAULT_PLATFORM, Platform, image_tag_digest, platform_args
from lab.mesos_package import DEB, MesosPackage, resolve

DOCKERFILE = Path("images/mesos/Dockerfile")
IMAGE_INPUTS = ("images/mesos",)
TOIL_MESOS_STAGE = "toil-mesos"  # the Dockerfile's stage without Mesos itself
PYMESOS_VERSION = "0.3.15"
HTTP_PARSER_VERSION = "0.9.0"
# Fixed times make a rebuilt wheel byte-identical, so the image tag stays the same.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

Say = Callable[[str], None]


def mesos_cache(config: LabConfig) -> Path:
    """Where downloaded packages, packed trees and staged packages are kept."""
    return config.root / "build" / "mesos"


def wheelhouse(config: LabConfig, architecture: str, platform: Platform = DEFAULT_PLATFORM) -> Path:
    """The Mesos wheelhouse's folder (for this Python and architecture)."""
    return config.wheelhouse_root / f"mesos-pymesos-{PYMESOS_VERSION}-py{platform.python}-{architecture}"


def ensure_wheelhouse(
    config: LabConfig, architecture: str, say: Say, platform: Platform = DEFAULT_PLATFORM
) -> Path:
    """pymesos, a pure-Python http-parser and their dependencies, as wheels (cached)."""
    house = wheelhouse(config, architecture, platform)
    requirements = house / "requirements.txt"
    if requirements.exists():
        return house
    say(f"resolving pymesos=={PYMESOS_VERSION} and a pure-Python http-parser into {house}")
    house.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    with tempfile.TemporaryDirectory(prefix="toil-lab-sdists-") as scratch:
        try:
            process.run(
                [
                    *pip, "download", "--no-deps", "--no-binary", ":all:", "--dest", scratch,
                    f"http-parser=={HTTP_PARSER_VERSION}", f"pymesos=={PYMESOS_VERSION}",
                ]
            )  # fmt: skip
            sdists = {sdist_project(path.name): path for path in Path(scratch).iterdir()}
            process.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(house), str(sdists["pymesos"])])
            pure_http_parser_wheel(sdists["http_parser"], house)
            # pymesos's own dependencies (six, addict, kazoo) for the image's Python.
            download = [*pip, "download", "--dest", str(house), "--find-links", str(house)]
            process.run([*download, *platform_args(architecture, platform), f"pymesos=={PYMESOS_VERSION}"])
        except (LabError, KeyError) as error:
            shutil.rmtree(house, ignore_errors=True)
            raise ConfigError(
                f"could not resolve pymesos=={PYMESOS_VERSION} into a wheelhouse for Python "
                f"{platform.python}: check that PyPI is reachable from this host.\n{error}"
            ) from None
    requirements.write_text(f"pymesos=={PYMESOS_VERSION}\n")
    return house


def sdist_project(filename: str) -> str:
    """The project of an sdist's file name, normalised: http-parser-0.9.0.tar.gz -> http_parser."""
    return (
        re.sub(r"-[0-9][^-]*$", "", filename.removesuffix(".tar.gz").removesuffix(".zip"))
        .replace("-", "_")
        .lower()
    )


def pure_http_parser_wheel(sdist: Path, house: Path) -> Path:
    """A py3-none-any wheel of http-parser's Python files only (no C extension)."""
    version = HTTP_PARSER_VERSION
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if len(parts) == 3 and parts[1] == "http_parser" and parts[2].endswith(".py") and member.isfile():
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files[f"http_parser/{parts[2]}"] = extracted.read()
    if "http_parser/pyparser.py" not in files:
        raise LabError(f"{sdist} has no http_parser/pyparser.py: not the http-parser {version} sdist?")
    dist_info = f"http_parser-{version}.dist-info"
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: http-parser\nVersion: {version}\n"
        "Summary: http request/response parser; its pure-Python parser only (wheel made by toil-lab)\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: toil-lab\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [f"{name},sha256={_urlsafe_digest(data)},{len(data)}" for name, data in sorted(files.items())]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    target = house / f"http_parser-{version}-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in sorted(files.items(), key=lambda item: item[0].endswith("RECORD")):
            wheel.writestr(zipfile.ZipInfo(name, ZIP_TIME), data)
    target.write_bytes(buffer.getvalue())
    return target


def _urlsafe_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def stage_package(package: MesosPackage, config: LabConfig) -> Path:
    """Put the package inside the build context (build/mesos/package/<digest>/), by link or copy."""
    folder = mesos_cache(config) / "package" / package.sha256[:16]
    suffix = ".deb" if package.kind == DEB else ".tar.gz"
    target = folder / f"mesos{suffix}"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            target.hardlink_to(package.path)
        except OSError:
            shutil.copyfile(package.path, target)
    return target


def build_args(
    package: MesosPackage, config: LabConfig, node_image: str, house: Path, staged: Path
) -> dict[str, str]:
    """The Mesos Dockerfile's build arguments."""
    return {
        "NODE_IMAGE": node_image,
        "MESOS_WHEELHOUSE": str(house.relative_to(config.root)),
        "MESOS_PACKAGE_FILE": str(staged.relative_to(config.root)),
        "MESOS_KIND": package.kind,
        "MESOS_TREE_PREFIX": package.prefix,
        "MESOS_EXTRA_PACKAGES": " ".join(config.mesos_extra_packages),
    }


def image_tag(package: MesosPackage, config: LabConfig, node_image: str, house: Path) -> str:
    """A tag that changes with the node image, the package, the wheelhouse or images/mesos."""
    extra = [node_image, package.sha256, package.prefix, " ".join(config.mesos_extra_packages)]
    digest = image_tag_digest(config.root, IMAGE_INPUTS, house, extra)
    node_part = node_image.rsplit(":", 1)[-1]
    return f"{node_image.rsplit(':', 1)[0]}:{node_part}-mesos-{digest}"


def resolve_package(config: LabConfig, architecture: str) -> MesosPackage:
    """The checked MESOS_PACKAGE: done before any image is built or container started."""
    if config.mesos_package is None:
        raise ConfigError("a Mesos lab needs MESOS_PACKAGE (README.md, 'Mesos')")
    return resolve(config.mesos_package, mesos_cache(config), architecture)


def ensure_toil_mesos_image(
    config: LabConfig, node_image: str, architecture: str, platform: Platform, say: Say
) -> str:
    """The Dockerfile's first stage alone: the node image with Toil's Mesos dependencies.

    It needs no Mesos package, so it is built and checked on every machine (the
    integration tests do), and the Mesos image's build reuses its layers.
    """
    house = ensure_wheelhouse(config, architecture, say, platform)
    digest = image_tag_digest(config.root, IMAGE_INPUTS, house, [node_image, TOIL_MESOS_STAGE])
    tag = f"{node_image.rsplit(':', 1)[0]}:{node_image.rsplit(':', 1)[-1]}-pymesos-{digest}"
    if docker.image_exists(tag):
        return tag
    say(f"building {tag} (Toil's Mesos dependencies over {node_image})")
    docker.build(
        context=config.root,
        dockerfile=config.root / DOCKERFILE,
        tag=tag,
        build_args={"NODE_IMAGE": node_image, "MESOS_WHEELHOUSE": str(house.relative_to(config.root))},
        labels={"org.toil-lab.image": "toil-mesos"},
        target=TOIL_MESOS_STAGE,
    )
    return tag


def ensure_mesos_image(
    config: LabConfig, package: MesosPackage, node_image: str, architecture: str, platform: Platform, say: Say
) -> str:
    """Build the Mesos image over the node image unless one of the same inputs exists."""
    say(f"Mesos from {package.description}")
    house = ensure_wheelhouse(config, architecture, say, platform)
    tag = image_tag(package, config, node_image, house)
    if docker.image_exists(tag):
        return tag
    staged = stage_package(package, config)
    say(f"building {tag} (Mesos over {node_image})")
    try:
        docker.build(
            context=config.root,
            dockerfile=config.root / DOCKERFILE,
            tag=tag,
            build_args=build_args(package, config, node_image, house, staged),
            labels={"org.toil-lab.image": "mesos", "org.toil-lab.mesos-package": package.description},
        )
    except LabError as error:
        raise LabError(
            f"the Mesos image could not be built from MESOS_PACKAGE={config.mesos_package}: the build's "
            f"output above says why (lines starting 'install-mesos: error' or 'lab.sonames: error').\n{error}"
        ) from None
    return tag
