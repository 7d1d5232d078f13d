"""Shared libraries a Mesos build needs, and the distribution packages that provide them.

Runs while the Mesos image is built (`python3 -m lab.sonames install ROOT ...`, from
images/mesos/install-mesos): it asks `ldd` what the build's binaries and libraries
cannot find, installs the packages that provide those libraries, and fails with
the sonames still missing, so that a Mesos build that cannot run is an error at
build time, not a crash at start-up. Standard library only (it runs in the image).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from lab import process

# Sonames whose Debian/Ubuntu package names cannot be derived by rule. The rule
# (derived_names) covers most others: libfoo.so.3 -> libfoo3, libfoo-1.2.so.0 -> libfoo-1.2-0.
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
    (r"libgrpc\+\+\.so\.([\d.]+)", r"libgrpc++\1"),
    (r"libglog\.so\.0", "libglog0v5"),
    (r"libgflags\.so\.([\d.]+)", r"libgflags\1"),
    (r"libleveldb\.so\.1d", "libleveldb1d"),
    (r"libcares\.so\.2", "libc-ares2"),
    (r"libhttp_parser\.so\.([\d.]+)", r"libhttp-parser\1"),
    (r"libstdc\+\+\.so\.6", "libstdc++6"),
    (r"libgcc_s\.so\.1", "libgcc-s1"),
    (r"libsystemd\.so\.0", "libsystemd0"),
)
# Folders of an install tree whose files are checked.
TREE_DIRS = ("bin", "sbin", "lib", "libexec/mesos")

Run = Callable[[Sequence[str]], process.Result]


def _ldd(argv: Sequence[str]) -> process.Result:
    return process.run(argv, check=False)


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


def candidates(soname: str) -> list[str]:
    """Packages that may provide a soname, the likeliest first; with Ubuntu's t64 renames."""
    names: list[str] = []
    for pattern, package in KNOWN:
        if re.fullmatch(pattern, soname):
            names.append(re.sub(pattern, package, soname) if "\\" in package else package)
    names += derived_names(soname)
    # Ubuntu 24.04 renamed libraries for 64-bit time_t (libapr1 -> libapr1t64).
    with_t64 = [variant for name in names for variant in (name, f"{name}t64")]
    return list(dict.fromkeys(with_t64))


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


def missing_sonames(files: Iterable[Path], run: Run = _ldd) -> dict[str, list[str]]:
    """Each soname that cannot be found, with the files that need it."""
    missing: dict[str, list[str]] = {}
    for path in files:
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
        result = run(["ldd", str(path)])
        for soname in parse_ldd(result.stdout):
            missing.setdefault(soname, []).append(str(path))
    return missing


def _available(package: str) -> bool:
    result = process.run(["apt-cache", "show", "--no-all-versions", package], check=False)
    return result.returncode == 0 and "Package:" in result.stdout


def install(roots: Sequence[Path]) -> int:
    """Install what the files under `roots` need; 0 when nothing is missing afterwards."""
    files = files_to_check(roots)
    missing = missing_sonames(files, _ldd)
    if not missing:
        print(f"lab.sonames: all {len(files)} binaries and libraries find their libraries")
        return 0
    chosen: dict[str, str] = {}
    for soname in sorted(missing):
        package = next((p for p in candidates(soname) if _available(p)), None)
        if package is not None:
            chosen[soname] = package
    if chosen:
        packages = sorted(set(chosen.values()))
        print(f"lab.sonames: installing {', '.join(packages)} for {', '.join(sorted(chosen))}")
        process.run(["apt-get", "install", "-y", "--no-install-recommends", *packages], capture=False)
        process.run(["ldconfig"])
    still = missing_sonames(files, _ldd)
    if not still:
        return 0
    lines = [
        f"  {soname} (needed by {', '.join(sorted(needers)[:3])})"
        for soname, needers in sorted(still.items())
    ]
    print(
        "lab.sonames: error: the Mesos build needs shared libraries that no package of this "
        "distribution provides under a name the lab knows:\n"
        + "\n".join(lines)
        + "\nName the packages that provide them in MESOS_EXTRA_PACKAGES (find them with "
        "`apt-file search SONAME`), or use a Mesos build made for this distribution (BASE_IMAGE).",
        file=sys.stderr,
    )
    return 1


def main(argv: Sequence[str]) -> int:
    """`python3 -m lab.sonames install ROOT ...`."""
    if len(argv) < 2 or argv[0] != "install":
        print("usage: python3 -m lab.sonames install ROOT ...", file=sys.stderr)
        return 2
    return install([Path(arg) for arg in argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
