"""lab/backends/mesos/build.py: the Mesos recipe, its source, its phases and its output (no Docker)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import subprocess
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lab import remembered
from lab.backends.mesos import build
from lab.base_image import DEFAULT_PLATFORM, PLATFORMS
from lab.config import LabConfig, choose_batch_system, project_root
from lab.errors import ConfigError, LabError
from lab.steps import Steps

from .fakes import FakeRun

CONFIGURE_AC = "AC_PREREQ([2.61])\nAC_INIT([mesos], [1.12.0])\n"


def recipe() -> build.Recipe:
    return build.Recipe("debian:bookworm-slim", DEFAULT_PLATFORM, "amd64")


def config(root: Path, **env: str) -> LabConfig:
    return dataclasses.replace(LabConfig.from_env(env), root=root)


def source_tree(folder: Path, version: str = "1.12.0") -> Path:
    (folder / "3rdparty").mkdir(parents=True)
    (folder / "configure.ac").write_text(CONFIGURE_AC.replace("1.12.0", version))
    (folder / "3rdparty" / "versions.am").write_text("ZOOKEEPER_VERSION = 3.4.8\n")
    return folder


def source_tarball(tmp_path: Path, top: str = "mesos-682f6a7") -> Path:
    tree = source_tree(tmp_path / "tree" / top)
    target = tmp_path / f"{top}-src.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        archive.add(tree, arcname=top)
    return target


# --- The recipe's arguments ------------------------------------------------------


def as_tr_sh(name: str) -> str:
    """Autoconf's AS_TR_SH: '*' and '+' become 'p', anything else not [A-Za-z0-9_] becomes '_'."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name.replace("*", "p").replace("+", "p"))


def test_configure_is_told_no_to_each_cxx11_switch_of_mesos_m4() -> None:
    # m4/ax_cxx_compile_stdcxx.m4 (noext mode) tries these four switches, each cached as
    # ax_cv_cxx_compile_cxx11_<switch> passed through AS_TR_SH, and adds the first that works.
    switches = ["-std=c++11", "-std=c++0x", "+std=c++11", "-h std=c++11"]
    expected = [f"{as_tr_sh('ax_cv_cxx_compile_cxx11_' + switch)}=no" for switch in switches]
    assert [item for item in build.CONFIGURE_ENV if item.startswith("ax_cv_")] == expected
    assert "CXXFLAGS=-O2 -std=c++14" in build.CONFIGURE_ENV


def test_the_recipe_names_configures_optimisation_as_it_sets_cxxflags() -> None:
    # configure.ac adds "-g1 -O2" only when CXXFLAGS is unset: a CXXFLAGS without -O
    # would compile Mesos unoptimised (a 57 MB archive against the prebuilt 22 MB).
    cxxflags = next(item for item in build.CONFIGURE_ENV if item.startswith("CXXFLAGS="))
    assert re.search(r"(^|=| )-O[1-3s]( |$)", cxxflags), cxxflags


def test_configure_uses_the_distributions_copies_of_the_bundles_a_source_may_lack() -> None:
    # The five tarballs missing from AVENTER's source copy: gperftools (used only with
    # --enable-perftools), grpc, libarchive, protobuf, zookeeper; re2 goes with Debian's gRPC.
    for library in ("protobuf", "grpc", "zookeeper", "libarchive", "re2"):
        assert f"--with-{library}=/usr" in build.CONFIGURE_ARGS
    assert "--enable-perftools" not in build.CONFIGURE_ARGS
    assert {"--disable-java", "--disable-python", f"--prefix={build.PREFIX}"} <= set(build.CONFIGURE_ARGS)


def test_the_build_packages_hold_the_dev_packages_of_what_configure_is_pointed_at() -> None:
    for package in ("libprotobuf-dev", "protobuf-compiler", "libgrpc++-dev", "protobuf-compiler-grpc",
                    "libzookeeper-mt-dev", "libarchive-dev", "libre2-dev", "libsvn-dev", "libsasl2-dev",
                    "libcurl4-openssl-dev", "autoconf", "automake", "libtool"):  # fmt: skip
        assert package in build.BUILD_PACKAGES


def test_build_args_are_the_recipe_joined_for_the_dockerfile() -> None:
    args = recipe().build_args("build/mesos/source/ab/mesos-source.tar", "mesos.tar.gz", 2)
    assert args == {
        "BASE_IMAGE": "debian:bookworm-slim",
        "BUILD_PACKAGES": " ".join(build.BUILD_PACKAGES),
        "MESOS_SOURCE_FILE": "build/mesos/source/ab/mesos-source.tar",
        "CONFIGURE_ARGS": " ".join(build.CONFIGURE_ARGS),
        "CONFIGURE_ENV": "\n".join(build.CONFIGURE_ENV),
        "JOBS": "2",
        "PREFIX": "/opt/mesos",
        "ARCHIVE": "mesos.tar.gz",
    }


def test_an_option_with_a_space_is_refused_as_the_dockerfile_would_split_it() -> None:
    broken = dataclasses.replace(recipe(), configure_args=("--with-flags=a b",))
    with pytest.raises(ConfigError, match="holds a space"):
        broken.build_args("s.tar", "m.tar.gz", 2)


@pytest.mark.parametrize("setting", ["CXXFLAGS=-O2\nLDFLAGS=-s", "no-assignment"])
def test_a_configure_variable_is_one_assignment_on_one_line(setting: str) -> None:
    broken = dataclasses.replace(recipe(), configure_env=(setting,))
    with pytest.raises(ConfigError, match="NAME=VALUE on one line"):
        broken.build_args("s.tar", "m.tar.gz", 2)


def test_build_mesos_hands_each_configure_line_to_configure_whole(tmp_path: Path) -> None:
    # build-mesos reads $CONFIGURE_ENV one assignment per line, so a value keeps its spaces.
    source = tmp_path / "src"
    (source / "build").mkdir(parents=True)
    configure = source / "configure"
    configure.write_text('#!/bin/sh\nprintf "%s|" "$CXXFLAGS" "$ax_cv_x" "$@" > ../seen\n')
    configure.chmod(0o755)
    script = (project_root() / "images/mesos-build/build-mesos").read_text()
    script = script.replace("src=/src\n", f"src={source}\n", 1)
    runner = tmp_path / "build-mesos"
    runner.write_text(script)
    env = {"PATH": "/usr/bin:/bin", "CONFIGURE_ENV": "CXXFLAGS=-O2 -std=c++14\nax_cv_x=no"}
    done = subprocess.run(["bash", str(runner), "configure", "--prefix=/opt/mesos"],
                          env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (source / "seen").read_text() == "-O2 -std=c++14|no|--prefix=/opt/mesos|"


def test_every_build_arg_is_declared_by_the_dockerfile() -> None:
    dockerfile = (project_root() / build.DOCKERFILE).read_text()
    declared = set(re.findall(r"^ARG (\w+)", dockerfile, re.MULTILINE))
    assert set(recipe().build_args("s", "a", 1)) <= declared
    stages = re.findall(r"^FROM \S+ AS (\S+)", dockerfile, re.MULTILINE)
    assert stages == [*build.PHASES, build.ARCHIVE_STAGE]


@pytest.mark.parametrize(("until", "target"), [("configure", "configure"), ("install", "archive")])
def test_build_argv_stops_at_the_phase_asked(tmp_path: Path, until: str, target: str) -> None:
    staged = tmp_path / "build" / "mesos" / "source" / "ab" / "mesos-source.tar"
    argv = build.build_argv(config(tmp_path), recipe(), staged, "toil-lab/mesos-build:t", until, 2)
    assert argv[:8] == ["docker", "build", "--force-rm", "--file", str(tmp_path / build.DOCKERFILE),
                        "--tag", "toil-lab/mesos-build:t", "--target"]  # fmt: skip
    assert argv[8] == target
    assert "MESOS_SOURCE_FILE=build/mesos/source/ab/mesos-source.tar" in argv
    assert argv[-1] == str(tmp_path)


def test_a_phase_that_is_not_one_is_refused_before_anything_runs(tmp_path: Path, fake_run: FakeRun) -> None:
    with pytest.raises(ConfigError, match="--until 'link' is not a phase"):
        build.build(config(tmp_path), "x.tar.gz", DEFAULT_PLATFORM, Steps(io.StringIO()), until="link")
    assert fake_run.calls == []


def test_the_recipe_is_for_debian_12_only() -> None:
    with pytest.raises(ConfigError, match="written for Debian 12"):
        build.recipe_for(config(Path("/x"), BASE_IMAGE="ubuntu:24.04"), PLATFORMS[("ubuntu", "24.04")])


# --- The output's name ---------------------------------------------------------


def test_the_digest_names_the_source_and_the_recipe_not_the_jobs(tmp_path: Path) -> None:
    (tmp_path / "images" / "mesos-build").mkdir(parents=True)
    (tmp_path / "images" / "mesos-build" / "Dockerfile").write_text("FROM x\n")
    lab, source = config(tmp_path), build.Source("s", tmp_path / "s.tar", "a" * 64, "1.12.0")
    first = build.output_digest(lab, recipe(), source)
    assert build.output_digest(lab, recipe(), source) == first
    assert build.output_digest(lab, recipe(), dataclasses.replace(source, sha256="b" * 64)) != first
    assert (
        build.output_digest(lab, dataclasses.replace(recipe(), configure_args=("--prefix=/x",)), source)
        != first
    )
    (tmp_path / "images" / "mesos-build" / "Dockerfile").write_text("FROM y\n")
    assert build.output_digest(lab, recipe(), source) != first
    assert "JOBS" not in " ".join(recipe().words())


def test_the_archive_is_named_by_version_release_and_architecture() -> None:
    assert build.archive_name("1.12.0", DEFAULT_PLATFORM, "amd64") == "mesos-1.12.0-bookworm-amd64.tar.gz"


def made(root: Path, digest: str, name: str, mtime: int) -> Path:
    archive = build.built_root(root) / digest / name
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"x")
    (archive.parent / build.MANIFEST).write_text("{}")
    os.utime(archive, (mtime, mtime))
    return archive


def test_newest_is_the_latest_finished_build_for_the_release(tmp_path: Path) -> None:
    assert build.newest(tmp_path) is None
    old = made(tmp_path, "a1", "mesos-1.11.0-bookworm-amd64.tar.gz", 1000)
    new = made(tmp_path, "b2", "mesos-1.12.0-bookworm-amd64.tar.gz", 2000)
    made(tmp_path, "c3", "mesos-1.12.0-noble-amd64.tar.gz", 3000)
    unfinished = build.built_root(tmp_path) / "d4" / "mesos-1.12.0-bookworm-amd64.tar.gz"
    unfinished.parent.mkdir()
    unfinished.write_bytes(b"no manifest: copied out only in part")
    assert build.newest(tmp_path, DEFAULT_PLATFORM) == new
    assert build.newest(tmp_path) == build.built_root(tmp_path) / "c3" / "mesos-1.12.0-noble-amd64.tar.gz"
    assert old != new


def test_a_finished_build_is_not_built_again(
    tmp_path: Path, fake_run: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    tarball = source_tarball(tmp_path)
    fake_run.on("docker", "info", stdout='{"Architecture": "x86_64"}')
    lab = config(tmp_path)
    monkeypatch.setattr(build, "RECIPE_INPUTS", ())
    source = build.resolve_source(str(tarball), tmp_path / "build" / "mesos")
    name = build.output_digest(lab, build.Recipe(lab.base_image, DEFAULT_PLATFORM, "amd64"), source)
    archive = made(tmp_path, name, "mesos-1.12.0-bookworm-amd64.tar.gz", 1000)
    (archive.parent / build.MANIFEST).write_text(json.dumps({"phases": [["compile", 2000.0]]}))
    out = io.StringIO()
    built = build.build(lab, str(tarball), DEFAULT_PLATFORM, Steps(out))
    assert built is not None and built.cached and built.archive == archive
    assert built.phases == [("compile", 2000.0)]
    assert [argv[:2] for argv in fake_run.argvs] == [["docker", "info"]]
    assert (
        f"Mesos build: cached (build/mesos/built/{name}/mesos-1.12.0-bookworm-amd64.tar.gz)" in out.getvalue()
    )


# --- The source ----------------------------------------------------------------


def test_a_tarballs_version_comes_from_its_configure_ac(tmp_path: Path) -> None:
    tarball = source_tarball(tmp_path, "mesos-682f6a743acb9cde4063e8e2d8d200c8531a21b3")
    source = build.resolve_source(str(tarball), tmp_path / "cache")
    assert (source.version, source.path) == ("1.12.0", tarball)


def test_a_tarball_without_configure_ac_is_not_a_mesos_source(tmp_path: Path) -> None:
    target = tmp_path / "other.tar.gz"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "README").write_text("hello")
    with tarfile.open(target, "w:gz") as archive:
        archive.add(tmp_path / "other", arcname="other")
    with pytest.raises(ConfigError, match=r"holds no Mesos configure\.ac at its top"):
        build.resolve_source(str(target), tmp_path / "cache")


def test_a_missing_source_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file or folder\. Give a Mesos source tarball"):
        build.resolve_source(str(tmp_path / "nope.tar.gz"), tmp_path / "cache")


def test_a_folder_is_packed_the_same_way_every_time(tmp_path: Path) -> None:
    tree = source_tree(tmp_path / "mesos")
    first = build.resolve_source(str(tree), tmp_path / "cache")
    first_bytes = first.path.read_bytes()
    first.path.unlink()
    os.utime(tree / "configure.ac", (5, 5))  # a new mtime alone changes nothing
    second = build.resolve_source(str(tree), tmp_path / "cache")
    assert (second.path, second.sha256, second.path.read_bytes()) == (first.path, first.sha256, first_bytes)
    (tree / "configure.ac").write_text(CONFIGURE_AC.replace("1.12.0", "1.12.1"))
    third = build.resolve_source(str(tree), tmp_path / "cache")
    assert (third.version, third.sha256 != first.sha256) == ("1.12.1", True)


def test_a_git_checkout_is_packed_without_its_ignored_files(tmp_path: Path) -> None:
    tree = source_tree(tmp_path / "mesos")
    (tree / ".gitignore").write_text("build/\n")
    (tree / "build").mkdir()
    (tree / "build" / "libmesos.so").write_text("an old build")
    (tree / "new.cpp").write_text("// not committed yet")
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "configure.ac", "3rdparty", ".gitignore"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    source = build.resolve_source(str(tree), tmp_path / "cache")
    with tarfile.open(source.path) as archive:
        names = sorted(archive.getnames())
    assert names == ["mesos/.gitignore", "mesos/3rdparty/versions.am", "mesos/configure.ac", "mesos/new.cpp"]


def test_a_url_that_cannot_be_fetched_says_why_and_to_fetch_it_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(url: str, timeout: float) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(ConfigError) as raised:
        build.resolve_source(build.DEFAULT_SOURCE, tmp_path)
    message = str(raised.value)
    assert message.startswith(f"MESOS_SOURCE={build.DEFAULT_SOURCE} could not be downloaded")
    assert "(Name or service not known)" in message
    assert "fetch a Mesos source tarball yourself" in message
    assert not list(tmp_path.rglob("*.part"))


def test_the_default_source_is_the_commit_toils_appliance_uses() -> None:
    assert build.DEFAULT_SOURCE == (
        "https://github.com/AVENTER-UG/mesos/archive/682f6a743acb9cde4063e8e2d8d200c8531a21b3.tar.gz"
    )


# --- The phases, from the build's output ------------------------------------------

LEGACY = """\
Step 3/20 : RUN echo "toil-lab mesos-build phase: toolchain"  && test -n "$BUILD_PACKAGES"
 ---> Using cache
Step 6/20 : RUN build-mesos unpack /tmp/mesos-source.tar.gz && rm /tmp/mesos-source.tar.gz
 ---> Running in 1a2b
toil-lab mesos-build phase: unpack
Step 8/20 : RUN build-mesos bootstrap
 ---> Running in 3c4d
Removing intermediate container 3c4d
Step 9/20 : FROM bootstrap AS configure
Step 10/20 : ARG CONFIGURE_ARGS
 ---> Using cache
Step 11/20 : RUN build-mesos configure $CONFIGURE_ARGS
checking for g++... g++
Step 13/20 : RUN build-mesos compile "$JOBS"
  CXX      stout/tests/libstout_la-bytes.lo
  CXX      master/libmesos_no_3rdparty_la-master.lo
  CC       src/c/libzk_la-zookeeper.lo
  CXXLD    libmesos.la
[0m[91m  CXX      slave/libmesos_no_3rdparty_la-slave.lo
Step 16/20 : RUN build-mesos install "$PREFIX" "$ARCHIVE"
toil-lab mesos-build phase: install
toil-lab mesos-build phase: strip
toil-lab mesos-build phase: check
toil-lab mesos-build phase: pack
"""

BUILDKIT = """\
#6 [toolchain 2/3] RUN echo "toil-lab mesos-build phase: toolchain"  && test -n
#6 CACHED
#9 [compile 1/1] RUN build-mesos compile "2"
#9 812.3   CXX      master/libmesos_no_3rdparty_la-master.lo
#9 815.0 toil-lab mesos-build phase: compile
"""


@pytest.mark.parametrize(
    ("output", "phases", "compiled", "cached"),
    [
        (
            LEGACY,
            ["toolchain", "unpack", "bootstrap", "configure", "compile", "install", "strip", "check", "pack"],
            4,
            "Mesos build: toolchain: cached",
        ),
        (BUILDKIT, ["toolchain", "compile"], 1, "Mesos build: toolchain: cached"),
    ],
)
def test_the_build_output_becomes_one_step_per_phase(
    output: str, phases: list[str], compiled: int, cached: str
) -> None:
    out = io.StringIO()
    steps = Steps(out, tty=False)
    with contextlib.ExitStack() as stack:
        tracker = build.Phases(steps, stack)
        for line in output.splitlines(keepends=True):
            tracker.line(line)
        tracker.end()
    assert tracker.seen == phases
    assert tracker.compiled == compiled
    assert [title for title, _ in steps.timings] == [f"Mesos build: {p}" for p in phases]
    assert cached in out.getvalue()
    assert f"Mesos build: compile: {compiled} files compiled" in out.getvalue()
    assert "Mesos build: bootstrap: cached" not in out.getvalue()


def test_a_failed_build_names_its_phase_and_log(tmp_path: Path, fake_run: FakeRun) -> None:
    tarball = source_tarball(tmp_path)
    fake_run.on("docker", "info", stdout='{"Architecture": "x86_64"}')
    fake_run.on(
        "docker",
        "build",
        returncode=1,
        stdout="Step 11/20 : RUN build-mesos configure\nconfigure: error: cannot find ZooKeeper\n",
    )
    out = io.StringIO()
    with pytest.raises(LabError) as error:
        build.build(
            config(tmp_path), str(tarball), DEFAULT_PLATFORM, Steps(out, tty=False), until="configure"
        )
    message = str(error.value)
    assert "the Mesos build failed in phase 'configure'" in message
    assert "configure: error: cannot find ZooKeeper" in message
    assert str(tmp_path / "build" / "logs") in message
    assert "✗ Mesos build: configure" in out.getvalue()


# --- The batch system a built Mesos gives -----------------------------------------


def test_auto_picks_the_mesos_built_here(tmp_path: Path) -> None:
    archive = made(tmp_path, "b2", "mesos-1.12.0-bookworm-amd64.tar.gz", 2000)
    filled = remembered.apply(config(tmp_path))
    assert (filled.mesos_package, filled.mesos_built_here) == (str(archive), True)
    chosen, why = choose_batch_system(filled)
    assert chosen == "mesos"
    assert why == f"BATCH_SYSTEM=auto and there is the Mesos that `make mesos` built, {archive}"


def test_a_lab_made_on_slurm_stays_on_slurm_after_a_mesos_build(tmp_path: Path) -> None:
    remembered.save(config(tmp_path), "slurm")
    made(tmp_path, "b2", "mesos-1.12.0-bookworm-amd64.tar.gz", 2000)
    assert remembered.apply(config(tmp_path)).mesos_package is None
    asked = remembered.apply(config(tmp_path, BATCH_SYSTEM="mesos"))
    assert asked.mesos_built_here and choose_batch_system(asked)[0] == "mesos"


def test_a_given_or_remembered_package_wins_over_a_build(tmp_path: Path) -> None:
    made(tmp_path, "b2", "mesos-1.12.0-bookworm-amd64.tar.gz", 2000)
    given = remembered.apply(config(tmp_path, MESOS_PACKAGE="/p/m.deb"))
    assert (given.mesos_package, given.mesos_built_here) == ("/p/m.deb", False)
    remembered.save(config(tmp_path, MESOS_PACKAGE="/m/mesos.tar.gz"), "mesos")
    memory = remembered.apply(config(tmp_path))
    assert (memory.mesos_package, memory.mesos_built_here) == ("/m/mesos.tar.gz", False)
    assert remembered.apply(config(tmp_path, BATCH_SYSTEM="slurm")).mesos_package is None
