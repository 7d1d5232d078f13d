"""The Mesos build a user names with MESOS_PACKAGE: where it is, what it is, whether it looks right.

No Mesos package can be fetched from a package index (Apache Mesos is retired), so
the lab installs the one the user gives: a `.deb` (such as AVENTER's aventer-mesos,
which Toil's own appliance uses) or a `.tar.gz` of a Mesos install tree (bin/, sbin/,
lib/, libexec/mesos/), as a path, a folder or a URL. Everything here runs on the host,
before any image is built or container started, so that a wrong package is a clear
error at once; whether its binaries run is checked when the Mesos image is built
(images/mesos/install-mesos).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
import tarfile
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lab import fetch, process, tarball
from lab.errors import ConfigError, LabError

DEB = "deb"
TREE = "tree"
# What every Mesos build must hold, by the last parts of the path.
DAEMONS = ("mesos-master", "mesos-agent")
# The posix launcher runs this helper from --launcher_dir (libexec/mesos).
LAUNCHER_HELPER = "mesos-containerizer"
AR_MAGIC = b"!<arch>\n"
# Debian's names for the image's architectures, and the names in tarball file names.
ARCHITECTURE_ALIASES = {"amd64": {"amd64", "x86_64"}, "arm64": {"arm64", "aarch64"}}
HOW_TO_GET = "README.md, 'Mesos', says how to get one (AVENTER's packages, or a build of Apache Mesos)"


@dataclass(frozen=True)
class MesosPackage:
    """A Mesos build, checked: a .deb or an install tree in a tarball."""

    kind: str  # DEB or TREE
    path: Path  # a local file (downloads and folders are turned into one)
    source: str  # MESOS_PACKAGE as the user gave it
    name: str  # the .deb's Package field, or the tarball's file name
    version: str  # the .deb's Version field, or '' for a tree
    prefix: str  # for a tree: the folder in the tarball holding sbin/, lib/ ...; '' for a .deb
    sha256: str

    @property
    def description(self) -> str:
        """How `lab up` names the package."""
        if self.kind == DEB:
            return f"{self.name} {self.version} (.deb)".replace("  ", " ")
        return f"Mesos install tree {self.name}" + (f" (prefix {self.prefix}/)" if self.prefix else "")


def debian_architecture(architecture: str) -> str:
    """Debian's name for an architecture as Docker reports it (x86_64 -> amd64)."""
    for debian, aliases in ARCHITECTURE_ALIASES.items():
        if architecture in aliases:
            return debian
    return architecture


def resolve(source: str, cache: Path, architecture: str) -> MesosPackage:
    """Find, fetch if needed, and check the package MESOS_PACKAGE names.

    What a check found is kept (build/mesos/checked/), keyed by the file's path, size and
    modification time: `lab up` reads a package again only when it changed.
    """
    path = locate(source, cache)
    arch = debian_architecture(architecture)
    facts = path.stat()
    key = f"{path}|{facts.st_size}|{facts.st_mtime_ns}|{arch}"
    memo = cache / "checked" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    try:
        kept = json.loads(memo.read_text())
        return MesosPackage(path=path, source=source, **kept)
    except (OSError, ValueError, TypeError):
        pass
    package = inspect(path, source, arch)
    memo.parent.mkdir(parents=True, exist_ok=True)
    found = {k: v for k, v in dataclasses.asdict(package).items() if k not in ("path", "source")}
    memo.write_text(json.dumps(found) + "\n")
    return package


def locate(source: str, cache: Path) -> Path:
    """A local file for MESOS_PACKAGE: the file itself, a download, or a folder packed up."""
    if urllib.parse.urlparse(source).scheme in ("http", "https", "ftp"):
        return download(source, cache)
    path = Path(source).expanduser()
    if not path.exists():
        raise ConfigError(
            f"MESOS_PACKAGE={source}: no such file. Set it to a Mesos .deb or a .tar.gz of a Mesos "
            f"install tree, as a path or URL; {HOW_TO_GET}."
        )
    if path.is_dir():
        return pack_tree(path.resolve(), cache)
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        raise ConfigError(
            f"MESOS_PACKAGE={source} cannot be read ({error.strerror}): make it readable."
        ) from None
    return path.resolve()


def download(url: str, cache: Path) -> Path:
    """Fetch a package URL once into the cache (build/mesos/downloads)."""
    return fetch.download(
        url,
        cache / "downloads",
        setting="MESOS_PACKAGE",
        advice="fetch it yourself and set MESOS_PACKAGE to the file.",
    )


def pack_tree(folder: Path, cache: Path) -> Path:
    """A folder that holds a Mesos install tree, as a tarball the image build can copy.

    Named by the digest of its files (lab/tarball.py): an unchanged folder is not packed
    again, and its tarball's bytes, so the Mesos runtime's tag, stay the same.
    """
    files = tarball.tree_files(folder)
    prefix = tree_prefix(str(p.relative_to(folder)) for p in files)
    if prefix is None:
        raise ConfigError(_not_mesos(str(folder), "a folder", [str(p.relative_to(folder)) for p in files]))
    name = tarball.files_digest(folder, files)[:16]
    return tarball.pack(folder, files, cache / "trees" / f"{folder.name}-{name}.tar.gz")


def inspect(path: Path, source: str, architecture: str) -> MesosPackage:
    """Check that a local file is a Mesos .deb or a Mesos install-tree tarball."""
    if _head(path) == AR_MAGIC:
        return _inspect_deb(path, source, architecture)
    if tarfile.is_tarfile(path):
        return _inspect_tree(path, source, architecture)
    raise ConfigError(
        f"MESOS_PACKAGE={source} is neither a .deb nor a tarball: give a Mesos .deb (e.g. "
        f"aventer-mesos) or a .tar.gz of a Mesos install tree; {HOW_TO_GET}."
    )


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(len(AR_MAGIC))


def _inspect_deb(path: Path, source: str, architecture: str) -> MesosPackage:
    data = path.read_bytes()  # read once: listed here, hashed below
    members = ar_members(data)
    names = [name for name, _ in members]
    if "debian-binary" not in names or not any(n.startswith("data.tar") for n in names):
        raise ConfigError(
            f"MESOS_PACKAGE={source} is an ar archive but not a Debian package (it holds "
            f"{', '.join(names) or 'nothing'}): give the Mesos .deb itself."
        )
    fields = deb_fields(path, dict(members))
    arch = fields.get("Architecture", "")
    if arch and arch != "all" and arch != architecture:
        raise ConfigError(
            f"MESOS_PACKAGE={source} is built for {arch}, and this Docker host runs {architecture}: "
            f"use a Mesos .deb for {architecture}."
        )
    contents = deb_contents(path, dict(members))
    if contents is not None:
        missing = [daemon for daemon in DAEMONS if not _has_file(contents, daemon)]
        if missing:
            raise ConfigError(_not_mesos(source, f"the package {fields.get('Package', path.name)}", contents))
    return MesosPackage(
        kind=DEB,
        path=path,
        source=source,
        name=fields.get("Package", path.name),
        version=fields.get("Version", ""),
        prefix="",
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _inspect_tree(path: Path, source: str, architecture: str) -> MesosPackage:
    try:
        with tarfile.open(path) as archive:
            members = archive.getnames()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ConfigError(f"MESOS_PACKAGE={source} is a damaged tarball ({error}): fetch it again.") from None
    prefix = tree_prefix(members)
    if prefix is None:
        raise ConfigError(_not_mesos(source, "the tarball", members))
    base = f"{prefix}/" if prefix else ""
    if not any(_strip(m).startswith(f"{base}libexec/mesos/{LAUNCHER_HELPER}") for m in members):
        raise ConfigError(
            f"MESOS_PACKAGE={source} has Mesos's daemons under {base or './'} but no "
            f"{base}libexec/mesos/{LAUNCHER_HELPER}, which the agent's posix launcher runs: give the "
            "whole install tree (`make install DESTDIR=...` of a Mesos build, packed from its prefix)."
        )
    others = {arch for arches in ARCHITECTURE_ALIASES.values() for arch in arches}
    others -= ARCHITECTURE_ALIASES.get(architecture, {architecture})
    named = [arch for arch in sorted(others) if arch in path.name]
    if named:
        raise ConfigError(
            f"MESOS_PACKAGE={source} looks built for {named[0]} (its name says so), and this Docker "
            f"host runs {architecture}: use a Mesos build for {architecture}."
        )
    return MesosPackage(
        kind=TREE,
        path=path,
        source=source,
        name=path.name,
        version="",
        prefix=prefix,
        sha256=file_digest(path),
    )


def _strip(member: str) -> str:
    return member[2:] if member.startswith("./") else member.rstrip("/")


def tree_prefix(members: Iterable[str]) -> str | None:
    """The folder of an install tree that holds sbin/mesos-master and mesos-agent, or None."""
    paths = {_strip(m) for m in members}
    for member in sorted(paths, key=len):
        for directory in ("sbin", "bin"):
            suffix = f"{directory}/mesos-master"
            if member == suffix or member.endswith("/" + suffix):
                prefix = member[: -len(suffix)].rstrip("/")
                base = f"{prefix}/" if prefix else ""
                if any(f"{base}{d}/mesos-agent" in paths for d in ("sbin", "bin")):
                    return prefix
    return None


def _has_file(paths: Iterable[str], name: str) -> bool:
    return any(p.rstrip("/").endswith("/" + name) for p in paths)


def _not_mesos(source: str, what: str, members: Iterable[str]) -> str:
    sample = sorted(_strip(m) for m in members)[:6]
    return (
        f"MESOS_PACKAGE={source}: {what} holds no mesos-master and mesos-agent (it holds "
        f"{', '.join(sample) or 'nothing'}{' ...' if len(sample) == 6 else ''}): is it a Mesos build? "
        f"{HOW_TO_GET}."
    )


def ar_members(data: bytes) -> list[tuple[str, bytes]]:
    """The members of an ar archive (the format of a .deb), in order."""
    if not data.startswith(AR_MAGIC):
        raise ConfigError("not an ar archive")
    members = []
    offset = len(AR_MAGIC)
    while offset + 60 <= len(data):
        header = data[offset : offset + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise ConfigError(f"damaged ar archive: bad header at byte {offset}") from None
        start = offset + 60
        members.append((name, data[start : start + size]))
        offset = start + size + (size % 2)
    return members


def deb_fields(path: Path, members: dict[str, bytes]) -> dict[str, str]:
    """The control fields of a .deb (Package, Version, Architecture, Depends ...)."""
    control = next((name for name in members if name.startswith("control.tar")), None)
    text = None
    if control is not None and not control.endswith(".zst"):
        text = _read_from_tar(members[control], "control")
    if text is None and shutil.which("dpkg-deb"):
        text = process.run(["dpkg-deb", "--field", str(path)], check=False).stdout
    return parse_control(text or "")


def deb_contents(path: Path, members: dict[str, bytes]) -> list[str] | None:
    """The files a .deb installs, or None when they cannot be listed here."""
    data = next((name for name in members if name.startswith("data.tar")), None)
    if data is not None and not data.endswith(".zst"):
        try:
            with tarfile.open(fileobj=io.BytesIO(members[data])) as archive:
                return archive.getnames()
        except (tarfile.TarError, EOFError) as error:
            raise ConfigError(f"{path}: its {data} is damaged ({error}); fetch the package again.") from None
    if shutil.which("dpkg-deb"):
        try:
            listing = process.run(["dpkg-deb", "--contents", str(path)]).stdout
        except LabError:
            return None
        return [line.split()[-1] for line in listing.splitlines() if line.split()]
    return None  # zstd without dpkg-deb: the image build checks it instead


def _read_from_tar(blob: bytes, member: str) -> str | None:
    try:
        with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
            for info in archive.getmembers():
                if _strip(info.name) == member:
                    extracted = archive.extractfile(info)
                    return extracted.read().decode("utf-8", "replace") if extracted else None
    except (tarfile.TarError, EOFError):
        return None
    return None


def parse_control(text: str) -> dict[str, str]:
    """Parse a Debian control paragraph (continuation lines joined)."""
    fields: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and last is not None:
            fields[last] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            last = key.strip()
            fields[last] = value.strip()
    return fields


def file_digest(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
