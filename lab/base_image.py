"""BASE_IMAGE: the distribution the node image is built on, and making it where it cannot be pulled."""

from __future__ import annotations

import contextlib
import fcntl
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lab import docker, process
from lab.config import IMAGE_PYTHON, LabConfig
from lab.errors import ConfigError, LabError
from lab.labels import LABEL_BOOTSTRAPPED
from lab.steps import Say


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


def ensure_base_image(config: LabConfig, say: Say) -> str:
    """Make sure BASE_IMAGE exists locally: present, pulled, or made with debootstrap; how."""
    reference = config.base_image
    if docker.image_exists(reference):
        return "present"
    say(f"base image {reference} is not here; trying to pull it")
    if docker.pull(reference):
        return "pulled"
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
    scratch = config.root / "build"
    scratch.mkdir(parents=True, exist_ok=True)
    with _debootstrapping(scratch, say):
        if docker.image_exists(reference):  # made by another `lab` while this one waited
            return "present"
        _bootstrap(suite, reference, scratch)
    return f"made with debootstrap ({suite})"


ROOTFS_PREFIX = "toil-lab-rootfs-"


@contextlib.contextmanager
def _debootstrapping(scratch: Path, say: Say) -> Iterator[None]:
    """One debootstrap at a time in a checkout; a folder an interrupted one left is removed first."""
    with (scratch / ".debootstrap.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in sorted(scratch.glob(ROOTFS_PREFIX + "*")):
            say(f"removing {stale}, left by an interrupted debootstrap")
            remove_rootfs(stale)
        yield


def mounts_under(folder: Path, mounts_file: Path = Path("/proc/self/mounts")) -> list[str]:
    """The mount points at or under a folder, deepest first (debootstrap mounts /proc in its target)."""
    top = str(folder)
    points = [line.split()[1].replace("\\040", " ") for line in mounts_file.read_text().splitlines() if line]
    return sorted((p for p in points if p == top or p.startswith(top + "/")), key=len, reverse=True)


def remove_rootfs(work: Path) -> None:
    """Unmount what debootstrap mounted under `work`, then remove it; an error if a mount stays."""
    for point in mounts_under(work):
        process.run(["umount", point], check=False)
    left = mounts_under(work)
    if left:
        raise LabError(
            f"{work} still has mounts debootstrap made ({', '.join(left)}): unmount them "
            f"(`umount {left[0]}`) and remove it; nothing under it was deleted"
        )
    shutil.rmtree(work, ignore_errors=True)


def _bootstrap(suite: str, reference: str, scratch: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix=ROOTFS_PREFIX, dir=scratch))
    try:
        rootfs = work / "rootfs"
        process.run(["debootstrap", "--variant=minbase", suite, str(rootfs)])
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (rootfs / leftover).glob("*"):
                if entry.is_file():
                    entry.unlink()
        tarball = work / "rootfs.tar"
        process.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."])
        docker.import_rootfs(tarball, reference, {LABEL_BOOTSTRAPPED: f"debootstrap-{suite}-minbase"})
    finally:
        remove_rootfs(work)
