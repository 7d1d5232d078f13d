"""A Mesos lab's runtime image: Toil's Mesos dependencies and the user's Mesos build.

images/mesos/Dockerfile goes over the Slurm lab's runtime (the `toil` stage of
images/node), and the node image's last stage goes over it: an edit of in-node code
never installs Mesos again. Built only for Mesos labs. Its wheelhouse is resolved on
the host, like Toil's: pymesos (an sdist on PyPI, built here into a wheel), an
http-parser wheel that holds only the pure-Python parser (its C extension does not
build on Python 3.11), and their dependencies as wheels for the image's Python.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import tempfile
import zipfile
from pathlib import Path

from lab import docker, process, wheelhouse
from lab.backends.mesos.package import DEB, MesosPackage, resolve
from lab.base_image import DEFAULT_PLATFORM, Platform
from lab.config import HTTP_PARSER_VERSION, PYMESOS_VERSION, LabConfig
from lab.errors import ConfigError, LabError
from lab.image import RUNTIME_REPOSITORY, Build, digest, stage, tag_part
from lab.labels import LABEL_IMAGE, LABEL_MESOS_PACKAGE

DOCKERFILE = Path("images/mesos/Dockerfile")
# What the Mesos runtime is built from, besides its wheelhouse and the package.
IMAGE_INPUTS = ("images/mesos", "innode/sonames.py")
TOIL_MESOS_STAGE = "toil-mesos"  # the Dockerfile's stage without Mesos itself
# Fixed times make a rebuilt wheel byte-identical, so the image tag stays the same.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def mesos_cache(config: LabConfig) -> Path:
    """Where downloaded packages, packed trees and staged packages are kept."""
    return config.root / "build" / "mesos"


def wheelhouse_path(config: LabConfig, architecture: str, platform: Platform = DEFAULT_PLATFORM) -> Path:
    """The Mesos wheelhouse's folder (for this Python and architecture)."""
    return config.wheelhouse_root / f"mesos-pymesos-{PYMESOS_VERSION}-py{platform.python}-{architecture}"


def ensure_wheelhouse(config: LabConfig, architecture: str, platform: Platform = DEFAULT_PLATFORM) -> Path:
    """pymesos, a pure-Python http-parser and their dependencies, as wheels (cached)."""
    requirement = f"pymesos=={PYMESOS_VERSION}"

    def resolve_wheels(house: Path) -> None:
        pip = list(wheelhouse.PIP)
        with tempfile.TemporaryDirectory(prefix="toil-lab-sdists-") as scratch:
            try:
                process.run(
                    [
                        *pip, "download", "--no-deps", "--no-binary", ":all:", "--dest", scratch,
                        f"http-parser=={HTTP_PARSER_VERSION}", requirement,
                    ]
                )  # fmt: skip
                sdists = {sdist_project(path.name): path for path in Path(scratch).iterdir()}
                process.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(house), str(sdists["pymesos"])])
                pure_http_parser_wheel(sdists["http_parser"], house)
                # pymesos's own dependencies (six, addict, kazoo) for the image's Python.
                download = [*pip, "download", "--dest", str(house), "--find-links", str(house)]
                process.run([*download, *wheelhouse.platform_args(architecture, platform), requirement])
            except (LabError, KeyError) as error:
                raise ConfigError(
                    f"could not resolve {requirement} into a wheelhouse for Python "
                    f"{platform.python}: check that PyPI is reachable from this host.\n{error}"
                ) from None

    return wheelhouse.cached(wheelhouse_path(config, architecture, platform), requirement, resolve_wheels)


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
    suffix = ".deb" if package.kind == DEB else ".tar.gz"
    return stage(package.path, mesos_cache(config) / "package" / package.sha256[:16] / f"mesos{suffix}")


def resolve_package(config: LabConfig, architecture: str) -> MesosPackage:
    """The checked MESOS_PACKAGE: done before any image is built or container started."""
    if config.mesos_package is None:
        raise ConfigError("a Mesos lab needs MESOS_PACKAGE (README.md, 'Mesos')")
    return resolve(config.mesos_package, mesos_cache(config), architecture)


def _build(
    config: LabConfig, tag: str, build_args: dict[str, str], labels: dict[str, str], target: str
) -> tuple[str, ...]:
    return tuple(
        docker.build_argv(
            context=config.root,
            dockerfile=config.root / DOCKERFILE,
            tag=tag,
            build_args=build_args,
            labels=labels,
            target=target,
        )
    )


def toil_mesos_build(config: LabConfig, toil_runtime: str, house: Path) -> Build:
    """The Dockerfile's first stage alone: Toil's Mesos dependencies over the runtime, no Mesos.

    It needs no Mesos package, so it is built and checked on every machine (the
    integration tests do), and the Mesos runtime's build reuses its layers.
    """
    tag = f"{RUNTIME_REPOSITORY}:{tag_part(toil_runtime)}-pymesos-" + digest(
        config.root, IMAGE_INPUTS, [toil_runtime, TOIL_MESOS_STAGE], [house]
    )
    args = {"TOIL_RUNTIME": toil_runtime, "MESOS_WHEELHOUSE": str(house.relative_to(config.root))}
    return Build(
        "Toil's Mesos dependencies",
        tag,
        _build(config, tag, args, {LABEL_IMAGE: "toil-mesos"}, TOIL_MESOS_STAGE),
    )


def runtime_build(
    config: LabConfig, package: MesosPackage, toil_runtime: str, house: Path, staged: Path
) -> Build:
    """The Mesos runtime: Toil's Mesos dependencies and the Mesos build, over the Toil runtime."""
    extra = [toil_runtime, package.sha256, package.prefix, " ".join(config.mesos_extra_packages)]
    tag = f"{RUNTIME_REPOSITORY}:{tag_part(toil_runtime)}-mesos-" + digest(
        config.root, IMAGE_INPUTS, extra, [house]
    )
    args = {
        "TOIL_RUNTIME": toil_runtime,
        "MESOS_WHEELHOUSE": str(house.relative_to(config.root)),
        "MESOS_PACKAGE_FILE": str(staged.relative_to(config.root)),
        "MESOS_KIND": package.kind,
        "MESOS_TREE_PREFIX": package.prefix,
        "MESOS_EXTRA_PACKAGES": " ".join(config.mesos_extra_packages),
    }
    labels = {LABEL_IMAGE: "mesos-runtime", LABEL_MESOS_PACKAGE: package.description}
    return Build(
        f"Mesos runtime image ({package.description})", tag, _build(config, tag, args, labels, "mesos")
    )
