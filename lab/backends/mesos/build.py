"""Building Apache Mesos from source: the recipe, its source, its phases, and the archive it makes.

No package index carries Mesos, so `lab build-mesos` (`make mesos`) builds it, as kind
builds a node image: images/mesos-build/Dockerfile over the lab's BASE_IMAGE, with the
distribution's compilers, and the distribution's own protobuf, gRPC, ZooKeeper,
libarchive and re2 in place of the copies Mesos bundles (a source may lack those). The
result is an install tree archive of the form MESOS_PACKAGE takes, in
build/mesos/built/<digest>/; its digest names the source and the recipe, so a second
build of the same inputs does nothing. `BATCH_SYSTEM=auto` then picks it up
(lab/remembered.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tarfile
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab import docker, fetch, process, tarball
from lab.backends.mesos.package import debian_architecture, file_digest
from lab.base_image import Platform
from lab.config import LabConfig
from lab.errors import ConfigError, LabError
from lab.image import digest, stage
from lab.labels import LABEL_IMAGE
from lab.steps import Step, Steps

DOCKERFILE = Path("images/mesos-build/Dockerfile")
RECIPE_INPUTS = ("images/mesos-build",)
REPOSITORY = "toil-lab/mesos-build"
# The source a user gets without MESOS_SOURCE: the AVENTER-UG/mesos commit (Mesos 1.12.0)
# whose packages Toil's own appliance installs, as GitHub's archive of it.
DEFAULT_COMMIT = "682f6a743acb9cde4063e8e2d8d200c8531a21b3"
DEFAULT_SOURCE = f"https://github.com/AVENTER-UG/mesos/archive/{DEFAULT_COMMIT}.tar.gz"
PREFIX = "/opt/mesos"

# The Dockerfile's stages, in order; each is a phase of its own (`install` also strips,
# checks and packs). `--until` stops after one of them.
PHASES = ("toolchain", "unpack", "bootstrap", "configure", "compile", "install")
ARCHIVE_STAGE = "archive"

# Debian 12's packages the build needs: compilers and autotools, and the -dev packages
# of what Mesos links (configure runs a SASL CRAM-MD5 program: libsasl2-modules). Their
# runtime libraries are what the archive needs on a node
# (images/mesos/install-mesos finds them from the binaries).
BUILD_PACKAGES = (
    "build-essential", "autoconf", "automake", "libtool", "pkg-config", "patch", "file",
    "ca-certificates", "python3",
    "zlib1g-dev", "libcurl4-openssl-dev", "libsasl2-dev", "libsasl2-modules", "libsvn-dev", "libapr1-dev",
    "libssl-dev",
    "libprotobuf-dev", "protobuf-compiler",
    "libgrpc++-dev", "protobuf-compiler-grpc",
    "libzookeeper-mt-dev", "libarchive-dev", "libre2-dev",
)  # fmt: skip

# configure's options: the distribution's libraries for the five Mesos bundles that a
# source may lack; Java and Python bindings off (Toil talks to Mesos over HTTP).
CONFIGURE_ARGS = (
    f"--prefix={PREFIX}",
    "--disable-java",
    "--disable-python",
    "--disable-werror",
    "--disable-maintainer-mode",
    "--with-protobuf=/usr",
    "--with-grpc=/usr",
    "--with-zookeeper=/usr",
    "--with-libarchive=/usr",
    "--with-re2=/usr",
)
# Debian 12's protobuf 3.21 and gRPC 1.51 need C++14. Mesos's configure asks for C++11
# and, when the compiler takes a -std=c++11 switch, adds it after CXXFLAGS; its four
# cached answers for those switches are set to "no" so that -std=c++14 stays.
CXX_STANDARD = "-std=c++14"
# configure adds its -O2 only when CXXFLAGS is unset (configure.ac: "-g1 -O2"), so a
# recipe that sets CXXFLAGS names the optimisation itself; -g1 is left out, as the
# install is stripped.
CXX_OPTIMIZATION = "-O2"
CONFIGURE_ENV = (
    f"CXXFLAGS={CXX_OPTIMIZATION} {CXX_STANDARD}",
    "ax_cv_cxx_compile_cxx11__std_cpp11=no",
    "ax_cv_cxx_compile_cxx11__std_cpp0x=no",
    "ax_cv_cxx_compile_cxx11_pstd_cpp11=no",
    "ax_cv_cxx_compile_cxx11__h_std_cpp11=no",
)

# Lines of the build's output: a phase's stage starting (legacy builder, BuildKit), a
# phase inside a stage (build-mesos says so), a cached stage, a compiled file.
_PHASE = re.compile(r"(?:\bbuild-mesos|mesos-build phase:) ([a-z]+)")
_STEP = re.compile(r"^(?:Step \d+/\d+ : |#\d+ \[[^\]]+\] )(.*)")
_CACHED = re.compile(r"^(?: ---> Using cache|#\d+ CACHED)")
_COMPILED = re.compile(r"(?:^|\s)(?:CXX|CC)\s+\S+\.l?o\b")
# The builder's own lines about layers and containers, not the phase's.
_DOCKER_CHATTER = re.compile(r"^(?: ---> |Removing intermediate container|#\d+ (?:CACHED|DONE|sha256:))")
# The legacy builder colours a RUN's stderr.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Recipe:
    """What a Mesos build is made with, besides its source: every argument of the Dockerfile."""

    base_image: str
    platform: Platform
    architecture: str  # Debian's name: amd64
    packages: tuple[str, ...] = BUILD_PACKAGES
    configure_args: tuple[str, ...] = CONFIGURE_ARGS
    configure_env: tuple[str, ...] = CONFIGURE_ENV
    prefix: str = PREFIX

    def build_args(self, staged_source: str, archive: str, jobs: int) -> dict[str, str]:
        """The Dockerfile's build arguments.

        Packages and configure's options are split on spaces by the Dockerfile, so none
        may hold one; configure's environment is one assignment per line (CXXFLAGS holds
        spaces), so none may hold a line break.
        """
        for item in (*self.packages, *self.configure_args):
            if not item or any(c.isspace() for c in item):
                raise ConfigError(
                    f"a Mesos build argument holds a space, which the Dockerfile splits: {item!r}"
                )
        for item in self.configure_env:
            if "=" not in item or "\n" in item or "\r" in item:
                raise ConfigError(f"a Mesos configure variable must be NAME=VALUE on one line: {item!r}")
        return {
            "BASE_IMAGE": self.base_image,
            "BUILD_PACKAGES": " ".join(self.packages),
            "MESOS_SOURCE_FILE": staged_source,
            "CONFIGURE_ARGS": " ".join(self.configure_args),
            "CONFIGURE_ENV": "\n".join(self.configure_env),
            "JOBS": str(jobs),
            "PREFIX": self.prefix,
            "ARCHIVE": archive,
        }

    def words(self) -> list[str]:
        """What of the recipe names its output (the number of jobs does not)."""
        return [
            self.base_image,
            self.architecture,
            self.prefix,
            *self.packages,
            *self.configure_args,
            *self.configure_env,
        ]


@dataclass(frozen=True)
class Source:
    """A Mesos source tree, as one tarball the build copies in."""

    given: str  # MESOS_SOURCE (or the argument) as the user gave it
    path: Path
    sha256: str
    version: str  # configure.ac's AC_INIT version: 1.12.0


@dataclass
class Built:
    """What `lab build-mesos` made, or found made."""

    archive: Path
    source: str
    version: str
    digest: str
    cached: bool
    phases: list[tuple[str, float]] = field(default_factory=list)
    compiled: int = 0

    @property
    def size(self) -> int:
        """The archive's size in bytes."""
        return self.archive.stat().st_size


def built_root(root: Path) -> Path:
    """Where finished Mesos builds are kept, one folder per digest."""
    return root / "build" / "mesos" / "built"


def archive_name(version: str, platform: Platform, architecture: str) -> str:
    """mesos-1.12.0-bookworm-amd64.tar.gz: what it is, for which release and architecture."""
    return f"mesos-{version}-{platform.codename}-{architecture}.tar.gz"


def newest(root: Path, platform: Platform | None = None) -> Path | None:
    """The newest Mesos build in build/mesos/built/ (for this platform's release when given)."""
    pattern = f"*/mesos-*-{platform.codename}-*.tar.gz" if platform is not None else "*/mesos-*.tar.gz"
    found = [path for path in built_root(root).glob(pattern) if (path.parent / MANIFEST).exists()]
    return max(found, key=lambda path: path.stat().st_mtime, default=None)


MANIFEST = "build.json"


# --- The source ----------------------------------------------------------------


def resolve_source(given: str, cache: Path) -> Source:
    """A tarball of the Mesos source MESOS_SOURCE names: a .tar.gz, a folder, a git checkout, a URL."""
    if urllib.parse.urlparse(given).scheme in ("http", "https", "ftp"):
        advice = (
            "fetch a Mesos source tarball yourself and set MESOS_SOURCE to the file (or to an unpacked "
            "source folder)."
        )
        path = fetch.download(given, cache / "sources", setting="MESOS_SOURCE", advice=advice)
    else:
        local = Path(given).expanduser()
        if not local.exists():
            raise ConfigError(
                f"MESOS_SOURCE={given}: no such file or folder. Give a Mesos source tarball, a source "
                f"folder or git checkout, or a URL (the default is {DEFAULT_SOURCE})."
            )
        path = pack_folder(local.resolve(), cache / "sources") if local.is_dir() else local.resolve()
    version = source_version(path, given)
    return Source(given=given, path=path, sha256=file_digest(path), version=version)


def source_version(path: Path, given: str) -> str:
    """The version in the source's configure.ac (AC_INIT([mesos], [1.12.0])); a clear error if none."""
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                parts = member.name.strip("./").split("/")
                if member.isfile() and parts[-1] == "configure.ac" and len(parts) <= 2:
                    text = archive.extractfile(member)
                    content = text.read().decode("utf-8", "replace") if text else ""
                    match = re.search(r"AC_INIT\(\[mesos\],\s*\[([^\]]+)\]", content)
                    if match:
                        return match.group(1)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ConfigError(f"MESOS_SOURCE={given} is not a readable tarball ({error}).") from None
    raise ConfigError(
        f"MESOS_SOURCE={given} holds no Mesos configure.ac at its top (AC_INIT([mesos], ...)): "
        "give the source of Apache Mesos 1.x (a git checkout or a release's source tarball)."
    )


def folder_files(folder: Path) -> list[Path]:
    """The files of a source folder: a git checkout's tracked and untracked ones (not ignored), else all."""
    if (folder / ".git").exists() and shutil.which("git"):
        listing = process.run(
            ["git", "-C", str(folder), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        ).stdout
        named = (folder / name for name in listing.split("\0") if name)
        return sorted(path for path in named if path.is_symlink() or path.is_file())
    return [path for path in tarball.tree_files(folder) if ".git" not in path.relative_to(folder).parts]


def pack_folder(folder: Path, cache: Path) -> Path:
    """A source folder as a tarball named by, and made of, its files alone (lab/tarball.py)."""
    if not (folder / "configure.ac").is_file():
        raise ConfigError(
            f"MESOS_SOURCE={folder} has no configure.ac at its top: give the top of a Mesos source tree."
        )
    files = folder_files(folder)
    name = tarball.files_digest(folder, files)[:16]
    return tarball.pack(folder, files, cache / f"{folder.name}-{name}.tar")


# --- The build -----------------------------------------------------------------


def output_digest(config: LabConfig, recipe: Recipe, source: Source) -> str:
    """The digest that names a build's output: its source, its recipe's files and arguments."""
    return digest(config.root, RECIPE_INPUTS, [source.sha256, *recipe.words()])


def stage_source(source: Source, config: LabConfig) -> Path:
    """Put the source inside the build context (build/mesos/source/<sha>/), by link or copy."""
    return stage(
        source.path, config.root / "build" / "mesos" / "source" / source.sha256[:16] / "mesos-source.tar"
    )


def build_argv(config: LabConfig, recipe: Recipe, staged: Path, tag: str, until: str, jobs: int) -> list[str]:
    """The `docker build` of the recipe up to a phase (the archive, for a whole build)."""
    target = ARCHIVE_STAGE if until == PHASES[-1] else until
    archive = "mesos.tar.gz"
    return docker.build_argv(
        context=config.root,
        dockerfile=config.root / DOCKERFILE,
        tag=tag,
        build_args=recipe.build_args(str(staged.relative_to(config.root)), archive, jobs),
        labels={LABEL_IMAGE: f"mesos-build-{until}"},
        target=target,
    )


class Phases:
    """Turns the build's output into one step per phase, with a count of compiled files."""

    def __init__(self, steps: Steps, stack: contextlib.ExitStack) -> None:
        self.steps = steps
        self.stack = stack
        self.current: Step | None = None
        self.name = ""
        self.compiled = 0
        self.seen: list[str] = []
        self._own_step = False  # the last build step was the running phase's own RUN

    def line(self, text: str) -> None:
        """One line of `docker build` output."""
        text = _ANSI.sub("", text)
        step = _STEP.match(text)
        if step is not None:
            phase = _PHASE.search(step.group(1))
            self._own_step = phase is not None
            if phase is not None and phase.group(1) != self.name:
                self.begin(phase.group(1))
            return
        inner = _PHASE.search(text) if "mesos-build phase:" in text else None
        if inner is not None and inner.group(1) != self.name:
            self.begin(inner.group(1))
        elif self.current is None or _DOCKER_CHATTER.match(text):
            if _CACHED.match(text) and self._own_step and self.current is not None:
                self.current.outcome = "cached"
        elif self.name == "compile":
            if _COMPILED.search(text):
                self.compiled += 1
                self.current.progress(f"{self.compiled} files compiled")
        elif text.strip():
            self.current.progress(" ".join(text.split())[:80])

    def begin(self, name: str) -> None:
        """End the running phase (✓) and start the next."""
        self.end()
        self.name = name
        self.seen.append(name)
        self.current = self.stack.enter_context(self.steps.step(f"Mesos build: {name}"))

    def end(self) -> None:
        """End the running phase, if any."""
        if self.current is not None and self.name == "compile" and self.compiled:
            self.current.outcome = self.current.outcome or f"{self.compiled} files compiled"
        self.stack.close()
        self.current = None


def recipe_for(config: LabConfig, platform: Platform) -> Recipe:
    """The recipe on this lab's BASE_IMAGE and the Docker host's architecture."""
    if platform.distribution != "debian" or platform.release != "12":
        raise ConfigError(
            f"the Mesos recipe is written for Debian 12 (its protobuf, gRPC and ZooKeeper packages); "
            f"BASE_IMAGE={config.base_image} is {platform.distribution} {platform.release}. "
            "Build on BASE_IMAGE=debian:bookworm-slim."
        )
    return Recipe(config.base_image, platform, debian_architecture(docker.engine_info().architecture))


def build(
    config: LabConfig,
    given: str,
    platform: Platform,
    steps: Steps,
    *,
    until: str = PHASES[-1],
    jobs: int | None = None,
    verbose: bool = False,
) -> Built | None:
    """Build Mesos from `given` up to phase `until`; the archive when the build went to the end."""
    if until not in PHASES:
        raise ConfigError(f"--until {until!r} is not a phase of the Mesos build: one of {', '.join(PHASES)}")
    jobs = jobs or os.cpu_count() or 2
    with steps.step("Mesos source") as step:
        source = resolve_source(given, config.root / "build" / "mesos")
        step.outcome = f"Mesos {source.version}, {source.path.name}"
    recipe = recipe_for(config, platform)
    name = output_digest(config, recipe, source)
    archive = built_root(config.root) / name / archive_name(source.version, platform, recipe.architecture)
    if until == PHASES[-1] and archive.exists() and (archive.parent / MANIFEST).exists():
        kept = json.loads((archive.parent / MANIFEST).read_text())
        with steps.step("Mesos build") as step:
            step.outcome = f"cached ({archive.relative_to(config.root)})"
        return Built(archive, given, source.version, name, True, [tuple(p) for p in kept.get("phases", [])])
    staged = stage_source(source, config)
    tag = f"{REPOSITORY}:{source.version}-{name}-{until}"
    argv = build_argv(config, recipe, staged, tag, until, jobs)
    log = config.root / "build" / "logs" / f"mesos-build-{name}.log"
    started = len(steps.timings)
    phases = _run(argv, log, steps, verbose)
    timings = [(title.removeprefix("Mesos build: "), took) for title, took in steps.timings[started:]]
    if until != PHASES[-1]:
        return None
    with steps.step("Mesos archive") as step:
        _copy_out(tag, archive)
        step.outcome = f"{archive.relative_to(config.root)}, {archive.stat().st_size / 1e6:.1f} MB"
    built = Built(archive, given, source.version, name, False, timings, phases.compiled)
    manifest = {k: v for k, v in asdict(built).items() if k not in ("archive", "cached")}
    manifest["archive"] = archive.name
    manifest["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (archive.parent / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return built


def _run(argv: Sequence[str], log: Path, steps: Steps, verbose: bool) -> Phases:
    """The build through docker.build (its log, and a failure's last lines), one step per phase."""
    with contextlib.ExitStack() as stack:
        phases = Phases(steps, stack)
        try:
            docker.build(argv, None if verbose else log, phases.line)
        except LabError as error:
            raise LabError(f"the Mesos build failed in phase {phases.name or PHASES[0]!r}: {error}") from None
        phases.end()
    return phases


def _copy_out(tag: str, archive: Path) -> None:
    """Copy the archive out of the recipe's last stage (a container made and removed here)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    container = process.run([docker.DOCKER, "create", tag]).stdout.strip()
    try:
        partial = archive.with_name(archive.name + ".part")
        docker.copy_from(container, "/out/mesos.tar.gz", partial)
        partial.rename(archive)
    finally:
        process.run([docker.DOCKER, "rm", "--force", container], check=False)
