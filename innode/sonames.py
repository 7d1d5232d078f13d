"""Shared libraries a Mesos build needs, and the distribution packages that provide them.

Runs while the Mesos image is built (`python3 sonames.py install ROOT ...` with this file copied in by
images/mesos/install-mesos): it asks `ldd` what the build's binaries and libraries
cannot find, looks each missing soname up in the distribution's Contents index (the
list of every file of every package, as `apt-file` reads it), installs the packages
that hold them, and fails with the sonames still missing, so that a Mesos build that
cannot run is an error at build time, not a crash at start-up.

Where apt cannot fetch a Contents index (a mirror without one), Debian's library
naming rule (libfoo.so.3 -> libfoo3) and a short table of exceptions stand in.
Standard library only: it runs as a script in the Mesos image's build.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# apt fetches each source's Contents index with `apt-get update` once this target is
# defined (apt-file defines the same one); KeepCompressed keeps it as fetched.
CONTENTS_CONF = Path("/etc/apt/apt.conf.d/50toil-lab-contents")
CONTENTS_TARGET = """\
Acquire::IndexTargets::deb::Contents-deb {
    MetaKey "$(COMPONENT)/Contents-$(ARCHITECTURE)";
    ShortDescription "Contents-$(ARCHITECTURE)";
    Description "$(RELEASE)/$(COMPONENT) $(ARCHITECTURE) Contents (deb)";
    flatMetaKeyFormat "Contents-$(ARCHITECTURE)";
    flatDescription "$(RELEASE) Contents (deb)";
    KeepCompressed "true";
};
"""
APT_HELPER = "/usr/lib/apt/apt-helper"  # `cat-file` reads an index however it is compressed
# Folders the dynamic loader searches by default (with or without the multiarch triplet).
_LOADER_DIR_RE = re.compile(r"^(?:usr/)?lib(?:/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?$")

# The fallback's exceptions to Debian's naming rule (derived_names).
KNOWN: tuple[tuple[str, str], ...] = (
    (r"libapr-1\.so\.0", "libapr1"),
    (r"libaprutil-1\.so\.0", "libaprutil1"),
    (r"libsvn_[a-z_]+-1\.so\.1", "libsvn1"),
    (r"libsasl2\.so\.2", "libsasl2-2"),
    (r"libzookeeper_mt\.so\.2", "libzookeeper-mt2"),
    (r"libcurl\.so\.4", "libcurl4"),
    (r"libcurl-gnutls\.so\.4", "libcurl3-gnutls"),
    (r"libssl\.so\.3|libcrypto\.so\.3", "libssl3"),
    (r"libssl\.so\.1\.1|libcrypto\.so\.1\.1", "libssl1.1"),
    (r"libz\.so\.1", "zlib1g"),
    (r"libre2\.so\.(\d+)", r"libre2-\1"),
    # gRPC's C core, its gpr support library and their unsecure twins are all in libgrpcN.
    (r"lib(?:grpc|gpr|grpc_unsecure)\.so\.(\d+)", r"libgrpc\1"),
    (r"libgrpc\+\+(?:_unsecure)?\.so\.([\d.]+)", r"libgrpc++\1"),
    (r"libglog\.so\.0", "libglog0v5"),
    (r"libgflags\.so\.([\d.]+)", r"libgflags\1"),
    (r"libleveldb\.so\.1d", "libleveldb1d"),
    (r"libcares\.so\.2", "libc-ares2"),
    (r"libhttp_parser\.so\.([\d.]+)", r"libhttp-parser\1"),
    (r"libstdc\+\+\.so\.6", "libstdc++6"),
    (r"libgcc_s\.so\.1", "libgcc-s1"),
    (r"libsystemd\.so\.0", "libsystemd0"),
)


@dataclass(frozen=True)
class Ran:
    """What a finished command returned."""

    returncode: int
    stdout: str
    stderr: str


Run = Callable[[Sequence[str]], Ran]


def run(argv: Sequence[str]) -> Ran:
    """Run a command to completion, its output captured."""
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    return Ran(done.returncode, done.stdout, done.stderr)


# --- the Contents index ------------------------------------------------------------


def parse_contents(lines: Iterable[str], wanted: Iterable[str]) -> dict[str, list[str]]:
    """Each wanted soname -> the packages whose files hold it in a folder the loader searches.

    A Contents line is `PATH  SECTION/PACKAGE[,SECTION/PACKAGE...]`.
    """
    wanted = set(wanted)
    found: dict[str, list[str]] = {}
    for line in lines:
        path, _, owners = line.rstrip("\n").rpartition(" ")
        folder, _, name = path.strip().rpartition("/")
        if name not in wanted or not _LOADER_DIR_RE.match(folder):
            continue
        for owner in owners.split(","):
            package = owner.rpartition("/")[2].strip()
            if package and package not in found.setdefault(name, []):
                found[name].append(package)
    return found


def choose(soname: str, packages: Sequence[str]) -> str:
    """The package to install for a soname: one the naming rule expects, else the shortest name."""
    expected = rule_candidates(soname)
    by_rule = [p for p in expected if p in packages]
    return by_rule[0] if by_rule else sorted(packages, key=lambda p: (len(p), p))[0]


def read_index(path: str) -> Iterator[str]:
    """The lines of an apt index file, however apt compressed it."""
    with subprocess.Popen(
        [APT_HELPER, "cat-file", path], stdout=subprocess.PIPE, text=True, errors="replace"
    ) as reader:
        assert reader.stdout is not None
        yield from reader.stdout


def lookup_contents(
    sonames: Iterable[str], run_command: Run = run, read: Callable[[str], Iterable[str]] = read_index
) -> dict[str, list[str]] | None:
    """Packages holding each soname, from the distribution's Contents index; None if apt has none."""
    wanted = list(sonames)
    CONTENTS_CONF.write_text(CONTENTS_TARGET)
    try:
        if run_command(["apt-get", "update", "-qq"]).returncode != 0:
            return None
        native = run_command(["dpkg", "--print-architecture"]).stdout.strip()
        # Shared libraries are built per architecture: the `all` index holds none.
        listed = run_command(
            ["apt-get", "indextargets", "--format", "$(FILENAME)", "Identifier: Contents-deb",
             f"Architecture: {native}"]
        )  # fmt: skip
        files = [name for name in listed.stdout.split() if os.path.exists(name)]
        if not files:
            return None
        found: dict[str, list[str]] = {}
        for index in files:
            for soname, packages in parse_contents(read(index), wanted).items():
                known = found.setdefault(soname, [])
                known.extend(p for p in packages if p not in known)
        return found
    finally:
        CONTENTS_CONF.unlink(missing_ok=True)


# --- the fallback: Debian's naming rule --------------------------------------------


def derived_names(soname: str) -> list[str]:
    """Package names that Debian's library naming rule gives for a soname."""
    match = re.fullmatch(r"(lib[\w+.-]+?)\.so\.([\w.]+)", soname)
    if not match:
        return []
    name, version = match.groups()
    names = [f"{name}{version}", f"{name}-{version}"] if not name[-1].isdigit() else [f"{name}-{version}"]
    major = version.split(".")[0]
    if major != version:
        names += [f"{name}{major}"] if not name[-1].isdigit() else [f"{name}-{major}"]
    return [n.lower().replace("_", "-") for n in names]


def rule_candidates(soname: str) -> list[str]:
    """Packages that may provide a soname by rule, the likeliest first; with Ubuntu's t64 renames."""
    names: list[str] = []
    for pattern, package in KNOWN:
        if re.fullmatch(pattern, soname):
            names.append(re.sub(pattern, package, soname) if "\\" in package else package)
    names += derived_names(soname)
    # Ubuntu 24.04 renamed libraries for 64-bit time_t (libapr1 -> libapr1t64).
    with_t64 = [variant for name in names for variant in (name, f"{name}t64")]
    return list(dict.fromkeys(with_t64))


def _available(package: str, run_command: Run) -> bool:
    result = run_command(["apt-cache", "show", "--no-all-versions", package])
    return result.returncode == 0 and "Package:" in result.stdout


def lookup_by_rule(sonames: Iterable[str], run_command: Run = run) -> dict[str, list[str]]:
    """Packages that the naming rule gives for each soname and that apt knows."""
    found = {}
    for soname in sonames:
        package = next((p for p in rule_candidates(soname) if _available(p, run_command)), None)
        if package is not None:
            found[soname] = [package]
    return found


# --- what the build needs ------------------------------------------------------------


def parse_ldd(text: str) -> set[str]:
    """The sonames `ldd` reports as 'not found'."""
    return {line.split()[0] for line in text.splitlines() if "=> not found" in line}


def files_to_check(roots: Iterable[Path]) -> list[Path]:
    """Executables and shared libraries under the given folders (not following links)."""
    found = []
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_symlink() or not path.is_file():
                continue
            if ".so" in path.name or os.access(path, os.X_OK):
                found.append(path)
    return found


def missing_sonames(files: Iterable[Path], run_command: Run = run) -> dict[str, list[str]]:
    """Each soname that cannot be found, with the files that need it."""
    missing: dict[str, list[str]] = {}
    for path in files:
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
        for soname in parse_ldd(run_command(["ldd", str(path)]).stdout):
            missing.setdefault(soname, []).append(str(path))
    return missing


def packages_for(sonames: Sequence[str], run_command: Run = run) -> tuple[dict[str, str], str]:
    """The package chosen for each soname it could place, and how they were found."""
    found = lookup_contents(sonames, run_command)
    how = "the distribution's Contents index"
    if found is None:
        found, how = lookup_by_rule(sonames, run_command), "Debian's library naming rule (no Contents index)"
    return {soname: choose(soname, found[soname]) for soname in sonames if found.get(soname)}, how


def report_missing(still: Mapping[str, Sequence[str]], how: str) -> str:
    """The error for sonames no package was found for."""
    lines = [
        f"  {soname} (needed by {', '.join(sorted(needers)[:3])})"
        for soname, needers in sorted(still.items())
    ]
    return (
        f"innode.sonames: error: the Mesos build needs shared libraries that no package of this "
        f"distribution provides (looked up in {how}):\n"
        + "\n".join(lines)
        + "\nName the packages that provide them in MESOS_EXTRA_PACKAGES, or use a Mesos build made "
        "for this distribution (BASE_IMAGE)."
    )


def install(roots: Sequence[Path], run_command: Run = run) -> int:
    """Install what the files under `roots` need; 0 when nothing is missing afterwards."""
    files = files_to_check(roots)
    missing = missing_sonames(files, run_command)
    if not missing:
        print(f"innode.sonames: all {len(files)} binaries and libraries find their libraries")
        return 0
    chosen, how = packages_for(sorted(missing), run_command)
    if chosen:
        packages = sorted(set(chosen.values()))
        print(f"innode.sonames: from {how}: installing {', '.join(packages)} for {', '.join(sorted(chosen))}")
        installed = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *packages])
        if installed.returncode != 0:
            print(f"innode.sonames: error: apt-get could not install {', '.join(packages)}", file=sys.stderr)
            return 1
        run_command(["ldconfig"])
    still = missing_sonames(files, run_command)
    if not still:
        return 0
    print(report_missing(still, how), file=sys.stderr)
    return 1


def main(argv: Sequence[str]) -> int:
    """`python3 sonames.py install ROOT ...`."""
    if len(argv) < 2 or argv[0] != "install":
        print("usage: python3 innode/sonames.py install ROOT ...", file=sys.stderr)
        return 2
    return install([Path(arg) for arg in argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
