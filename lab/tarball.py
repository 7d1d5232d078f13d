"""Folders packed as tarballs whose bytes depend on the files alone, so their digests are stable.

A Mesos install tree given as a folder (MESOS_PACKAGE) and a Mesos source folder
(`lab build-mesos`) are packed this way: the same files give the same tarball, named
by their digest, and a second pack of an unchanged folder finds it made. Image tags
hashed from these tarballs then stay the same. A folder copied into a node
(Node.copy_in) goes as such a tarball in memory, its files at the top.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Sequence
from pathlib import Path


def files_digest(folder: Path, files: Sequence[Path]) -> str:
    """A digest of the files' names (relative to folder), modes, link targets and contents."""
    hasher = hashlib.sha256()
    for path in files:
        hasher.update(str(path.relative_to(folder)).encode() + b"\0")
        facts = path.lstat()
        hasher.update(f"{facts.st_mode:o}".encode() + b"\0")
        hasher.update(str(path.readlink()).encode() if path.is_symlink() else path.read_bytes())
        hasher.update(b"\0")
    return hasher.hexdigest()


def pack(folder: Path, files: Sequence[Path], target: Path) -> Path:
    """Write `files` (under `folder`, kept under its name) to target (.tar or .tar.gz), unless it exists.

    Times, owners and gzip's header are fixed, and files go in sorted order.
    """
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as raw:
        zipped = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if target.name.endswith(".gz") else None
        with tarfile.open(fileobj=zipped or raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for path in sorted(files):
                info = archive.gettarinfo(str(path), arcname=f"{folder.name}/{path.relative_to(folder)}")
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if info.isreg():
                    with path.open("rb") as handle:
                        archive.addfile(info, handle)
                else:
                    archive.addfile(info)
        if zipped is not None:
            zipped.close()
    partial.rename(target)
    return target


def in_memory(folder: Path, files: Sequence[Path]) -> bytes:
    """An uncompressed tarball of `files`, named relative to `folder` (no top folder)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(files):
            info = archive.gettarinfo(str(path), arcname=str(path.relative_to(folder)))
            info.uid, info.gid, info.uname, info.gname = 0, 0, "", ""
            if info.isreg():
                with path.open("rb") as handle:
                    archive.addfile(info, handle)
            else:
                archive.addfile(info)
    return buffer.getvalue()


def tree_files(folder: Path) -> list[Path]:
    """Every file and symbolic link under a folder (folders themselves are implied by their files)."""
    return sorted(p for p in folder.rglob("*") if p.is_symlink() or p.is_file())
