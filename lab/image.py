"""The node image: its base, the wheelhouse it installs from, and its build."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab import docker, process
from lab.config import IMAGE_PYTHON, IMAGE_REPOSITORY, LabConfig
from lab.errors import ConfigError, LabError

log = logging.getLogger(__name__)

DOCKERFILE = Path("images/node/Dockerfile")
# Everything the node image is built from, besides the wheelhouse (hashed into its tag).
IMAGE_INPUTS = ("images/node", "lab")
# Host-only modules, kept out of the image (.dockerignore) so that changing them
# does not rebuild it.
HOST_ONLY = (
    "lab/bench.py",
    "lab/recovery.py",
    "lab/mesos_image.py",
    "lab/mesos_package.py",
)
BOOTSTRAP_LABEL = "org.toil-lab.bootstrapped"

Say = Callable[[str], None]


@dataclass(frozen=True)
class Platform:
    """What wheels for a base image must fit: its distribution's Python and glibc."""

    distribution: str  # ID in /etc/os-release: debian, ubuntu
    release: str  # VERSION_ID: 12, 24.04
    codename: str  # bookworm, noble: image tags use it too, and debootstrap takes it
    python: str
    glibc: str
    # Why a Slurm lab cannot run on this release ('' when it can, or is not known not to).
    slurm_problem: str = ""


# Debian-family releases the node image can be built on (BASE_IMAGE), with the Python
# and glibc of their own packages. Mesos builds such as AVENTER's are made for Ubuntu.
PLATFORMS = {
    ("debian", "12"): Platform("debian", "12", "bookworm", IMAGE_PYTHON, "2.36"),
    ("debian", "13"): Platform(
        "debian",
        "13",
        "trixie",
        "3.13",
        "2.41",
        slurm_problem="its Slurm 24.11 registers workers but cannot start a job in the lab's unprivileged "
        "containers (tried: `slurmd: fatal: clone: Operation not permitted`)",
    ),
    ("ubuntu", "22.04"): Platform("ubuntu", "22.04", "jammy", "3.10", "2.35"),
    ("ubuntu", "24.04"): Platform("ubuntu", "24.04", "noble", "3.12", "2.39"),
}
DEFAULT_PLATFORM = PLATFORMS[("debian", "12")]
# Debian releases that debootstrap can make here when the base image cannot be pulled
# (Ubuntu's archive is not among this machine's package sources).
DEBIAN_SUITES = tuple(p.codename for p in PLATFORMS.values() if p.distribution == "debian")


def platform_of_name(reference: str) -> Platform | None:
    """The platform an official image name stands for (ubuntu:24.04, debian:bookworm-slim), if known."""
    match = re.match(r"^(?:docker\.io/)?(?:library/)?(debian|ubuntu):([a-z0-9.]+?)(?:-slim)?$", reference)
    if not match:
        return None
    distribution, tag = match.groups()
    return next(
        (p for p in PLATFORMS.values() if p.distribution == distribution and tag in (p.release, p.codename)),
        None,
    )


def parse_os_release(text: str) -> tuple[str, str]:
    """ID and VERSION_ID from an /etc/os-release file."""
    fields = dict(
        (key, value.strip().strip('"'))
        for key, _, value in (line.partition("=") for line in text.splitlines())
        if key
    )
    return fields.get("ID", ""), fields.get("VERSION_ID", "")


def base_platform(config: LabConfig, say: Say) -> Platform:
    """The platform of BASE_IMAGE: from its name when known, else from its /etc/os-release."""
    known = platform_of_name(config.base_image)
    if known is not None:
        return known
    ensure_base_image(config, say)
    argv = [docker.DOCKER, "run", "--rm", "--entrypoint", "cat", config.base_image, "/etc/os-release"]
    release = parse_os_release(process.run(argv, check=False).stdout)
    if release not in PLATFORMS:
        supported = ", ".join(f"{d} {r}" for d, r in PLATFORMS)
        raise ConfigError(
            f"BASE_IMAGE={config.base_image} is {' '.join(release).strip() or 'not a Debian-family image'}; "
            f"the node image can be built on: {supported}."
        )
    return PLATFORMS[release]


def debian_suite(reference: str) -> str | None:
    """The Debian suite a base image name stands for (debian:bookworm-slim -> bookworm)."""
    platform = platform_of_name(reference)
    return platform.codename if platform is not None and platform.distribution == "debian" else None


def ensure_base_image(config: LabConfig, say: Say) -> None:
    """Make sure BASE_IMAGE exists locally: present, pulled, or made with debootstrap."""
    reference = config.base_image
    if docker.image_exists(reference):
        return
    say(f"base image {reference} is not here; trying to pull it")
    if docker.pull(reference):
        return
    suite = debian_suite(reference)
    if suite is None:
        raise LabError(
            f"cannot pull BASE_IMAGE={reference} and cannot make it here (debootstrap makes "
            f"Debian images only: {', '.join(DEBIAN_SUITES)}). Load it "
            "with `docker load`, or choose a Debian base."
        )
    if shutil.which("debootstrap") is None:
        raise LabError(
            f"cannot pull {reference}, and debootstrap is not installed to make it: "
            "install it (`apt-get install debootstrap`) and try again."
        )
    say(f"pull failed; making {reference} locally with debootstrap ({suite}, minbase) and docker import")
    work = Path(tempfile.mkdtemp(prefix="toil-lab-rootfs-", dir=config.root / "build"))
    try:
        rootfs = work / "rootfs"
        process.run(["debootstrap", "--variant=minbase", suite, str(rootfs)])
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (rootfs / leftover).glob("*"):
                if entry.is_file():
                    entry.unlink()
        tarball = work / "rootfs.tar"
        process.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."])
        docker.import_rootfs(tarball, reference, {BOOTSTRAP_LABEL: f"debootstrap-{suite}-minbase"})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"made {reference} with debootstrap")


def platform_args(architecture: str, platform: Platform = DEFAULT_PLATFORM) -> list[str]:
    """pip options that resolve wheels for the image's Python and glibc, not the host's."""
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(architecture, architecture)
    # Every manylinux tag up to the image's glibc fits it (Debian 12: 2.36).
    newest = int(platform.glibc.split(".")[1])
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 4, -1)]
    platforms += [f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}", f"linux_{arch}"]
    args = ["--only-binary=:all:", "--python-version", platform.python, "--implementation", "cp"]
    for tag in platforms:
        args += ["--platform", tag]
    return args


def wheelhouse_name(config: LabConfig, architecture: str, platform: Platform = DEFAULT_PLATFORM) -> str:
    """The folder name of the wheelhouse this configuration installs from."""
    suffix = "" if platform == DEFAULT_PLATFORM else f"-py{platform.python}-glibc{platform.glibc}"
    if config.toil_source is not None:
        digest = hashlib.sha256(str(config.toil_source).encode()).hexdigest()[:10]
        return f"toil-source-{digest}-{architecture}{suffix}"
    return f"toil-{config.toil_version}-{architecture}{suffix}"


def ensure_wheelhouse(
    config: LabConfig, architecture: str, say: Say, platform: Platform = DEFAULT_PLATFORM
) -> Path:
    """Resolve Toil and its dependencies on the host into a wheelhouse (cached)."""
    house = config.wheelhouse_root / wheelhouse_name(config, architecture, platform)
    requirements = house / "requirements.txt"
    if requirements.exists() and config.toil_source is None:
        return house
    house.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    if config.toil_source is not None:
        say(f"building Toil from {config.toil_source} into the wheelhouse")
        for old in house.glob("toil-*.whl"):
            old.unlink()
        process.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(house), str(config.toil_source)])
        built = sorted(house.glob("toil-*.whl"))
        if not built:
            raise LabError(f"building {config.toil_source} made no toil wheel in {house}")
        # The only toil wheel in this wheelhouse; pip finds it there by name.
        requirement = "toil"
        targets = [str(built[-1])]
    else:
        say(f"resolving toil=={config.toil_version} for Python {platform.python} into {house}")
        requirement = f"toil=={config.toil_version}"
        targets = [requirement]
    try:
        process.run(
            [*pip, "download", "--dest", str(house), *platform_args(architecture, platform), *targets]
        )
    except LabError as error:
        raise ConfigError(
            f"could not resolve {requirement} into a wheelhouse for Python {platform.python}: "
            "check TOIL_VERSION, and that PyPI is reachable from this host.\n" + str(error)
        ) from None
    requirements.write_text(requirement + "\n")
    return house


def image_tag_digest(root: Path, inputs: Sequence[str], house: Path, extra: Sequence[str]) -> str:
    """A short digest of the files an image is built from, its wheelhouse and other inputs."""
    digest = hashlib.sha256()
    for item in extra:
        digest.update(item.encode())
    for top in inputs:
        for path in sorted((root / top).rglob("*")):
            relative = str(path.relative_to(root))
            if path.is_file() and "__pycache__" not in path.parts and relative not in HOST_ONLY:
                digest.update(relative.encode())
                digest.update(path.read_bytes())
    for wheel in sorted(house.iterdir()):
        digest.update(wheel.name.encode())
        digest.update(str(wheel.stat().st_size).encode())
    return digest.hexdigest()[:12]


def image_tag(config: LabConfig, house: Path) -> str:
    """A tag that changes whenever anything the image is built from changes."""
    digest = image_tag_digest(config.root, IMAGE_INPUTS, house, [config.base_image])
    version = "source" if config.toil_source is not None else config.toil_version
    return f"{IMAGE_REPOSITORY}:toil-{version}-{digest}"


def ensure_node_image(config: LabConfig, architecture: str, platform: Platform, say: Say) -> str:
    """Build the node image for BASE_IMAGE's platform unless one of the same inputs exists; its tag."""
    house = ensure_wheelhouse(config, architecture, say, platform)
    tag = image_tag(config, house)
    if docker.image_exists(tag):
        return tag
    ensure_base_image(config, say)
    say(f"building {tag}")
    if not (config.root / DOCKERFILE).exists():
        raise ConfigError(f"{config.root / DOCKERFILE} is missing: is this a toil-lab checkout?")
    docker.build(
        context=config.root,
        dockerfile=config.root / DOCKERFILE,
        tag=tag,
        build_args={
            "BASE_IMAGE": config.base_image,
            "WHEELHOUSE": str(house.relative_to(config.root)),
        },
        labels={"org.toil-lab.image": "node"},
    )
    return tag
