"""MESOS_PACKAGE: both forms detected, and every wrong package refused clearly (no Docker)."""

from __future__ import annotations

import http.server
import io
import os
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.backends.mesos import package as mesos_package
from lab.backends.mesos.package import DEB, TREE
from lab.errors import ConfigError

TREE_FILES = (
    "sbin/mesos-master",
    "sbin/mesos-agent",
    "bin/mesos-execute",
    "lib/libmesos-1.11.0.so",
    "libexec/mesos/mesos-containerizer",
    "libexec/mesos/mesos-executor",
    "share/mesos/webui/index.html",
)


def tar_bytes(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def ar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n"
        out += header.encode() + data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def make_deb(
    path: Path,
    *,
    package: str = "aventer-mesos",
    version: str = "1.11.0-0.9.0.ubuntu2404",
    architecture: str = "amd64",
    files: tuple[str, ...] = ("./usr/sbin/mesos-master", "./usr/sbin/mesos-agent", "./usr/lib/libmesos.so"),
) -> Path:
    control = (
        f"Package: {package}\nVersion: {version}\nArchitecture: {architecture}\n"
        "Depends: libcurl4, libsvn1,\n libapr1\nDescription: Apache Mesos\n"
    )
    path.write_bytes(
        ar_bytes(
            [
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", tar_bytes({"./control": control.encode()})),
                ("data.tar.gz", tar_bytes({name: b"\x7fELF" for name in files})),
            ]
        )
    )
    return path


def make_tree(path: Path, prefix: str = "mesos-1.11.0", files: tuple[str, ...] = TREE_FILES) -> Path:
    base = f"{prefix}/" if prefix else "./"
    path.write_bytes(tar_bytes({base + name: b"\x7fELF" for name in files}))
    return path


def test_a_deb_is_detected_with_its_fields(tmp_path: Path) -> None:
    deb = make_deb(tmp_path / "aventer-mesos_1.11.0_amd64.deb")
    package = mesos_package.resolve(str(deb), tmp_path / "cache", "amd64")
    assert (package.kind, package.name, package.version, package.prefix) == (
        DEB,
        "aventer-mesos",
        "1.11.0-0.9.0.ubuntu2404",
        "",
    )
    assert package.path == deb
    assert len(package.sha256) == 64
    assert package.description == "aventer-mesos 1.11.0-0.9.0.ubuntu2404 (.deb)"


def test_control_fields_are_parsed_with_continuations() -> None:
    fields = mesos_package.parse_control("Package: m\nDepends: a,\n b\nVersion: 1\n")
    assert fields == {"Package": "m", "Depends": "a, b", "Version": "1"}


def test_a_deb_for_another_architecture_is_refused(tmp_path: Path) -> None:
    deb = make_deb(tmp_path / "m.deb", architecture="arm64")
    with pytest.raises(ConfigError, match="built for arm64, and this Docker host runs amd64"):
        mesos_package.resolve(str(deb), tmp_path, "amd64")


def test_a_deb_without_the_daemons_is_not_mesos(tmp_path: Path) -> None:
    deb = make_deb(tmp_path / "libmesos.deb", package="libmesos", files=("./usr/lib/libmesos.so",))
    with pytest.raises(ConfigError, match="holds no mesos-master and mesos-agent"):
        mesos_package.resolve(str(deb), tmp_path, "amd64")


def test_an_ar_archive_that_is_not_a_deb(tmp_path: Path) -> None:
    path = tmp_path / "lib.a"
    path.write_bytes(ar_bytes([("foo.o", b"\x7fELF")]))
    with pytest.raises(ConfigError, match="not a Debian package"):
        mesos_package.resolve(str(path), tmp_path, "amd64")


@pytest.mark.parametrize("prefix", ["mesos-1.11.0", "usr/local", ""])
def test_an_install_tree_is_found_under_its_prefix(tmp_path: Path, prefix: str) -> None:
    tree = make_tree(tmp_path / "mesos-1.11.0-bookworm.tar.gz", prefix)
    package = mesos_package.resolve(str(tree), tmp_path / "cache", "amd64")
    assert (package.kind, package.prefix, package.name) == (TREE, prefix, "mesos-1.11.0-bookworm.tar.gz")


def test_a_tree_with_its_daemons_in_bin(tmp_path: Path) -> None:
    files = ("bin/mesos-master", "bin/mesos-agent", "libexec/mesos/mesos-containerizer")
    tree = make_tree(tmp_path / "t.tar.gz", "opt/mesos", files)
    assert mesos_package.resolve(str(tree), tmp_path, "amd64").prefix == "opt/mesos"


def test_a_tree_without_the_launcher_helper_is_refused(tmp_path: Path) -> None:
    files = tuple(f for f in TREE_FILES if "containerizer" not in f)
    tree = make_tree(tmp_path / "t.tar.gz", "m", files)
    with pytest.raises(ConfigError, match="no m/libexec/mesos/mesos-containerizer"):
        mesos_package.resolve(str(tree), tmp_path, "amd64")


def test_a_tarball_that_is_not_mesos(tmp_path: Path) -> None:
    path = tmp_path / "other.tar.gz"
    path.write_bytes(tar_bytes({"other/bin/thing": b"x"}))
    with pytest.raises(ConfigError, match=r"holds no mesos-master and mesos-agent .*other/bin/thing"):
        mesos_package.resolve(str(path), tmp_path, "amd64")


def test_a_tree_named_for_another_architecture(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "mesos-1.11-aarch64.tar.gz")
    with pytest.raises(ConfigError, match="looks built for aarch64"):
        mesos_package.resolve(str(tree), tmp_path, "amd64")


def test_a_damaged_tarball(tmp_path: Path) -> None:
    good = make_tree(tmp_path / "good.tar.gz")
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ConfigError, match="MESOS_PACKAGE="):
        mesos_package.resolve(str(bad), tmp_path, "amd64")


def test_neither_deb_nor_tarball(tmp_path: Path) -> None:
    path = tmp_path / "mesos.rpm"
    path.write_bytes(b"\xed\xab\xee\xdb" + b"\0" * 200)
    with pytest.raises(ConfigError, match=r"neither a \.deb nor a tarball"):
        mesos_package.resolve(str(path), tmp_path, "amd64")


def test_a_missing_file_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        mesos_package.resolve(str(tmp_path / "nope.deb"), tmp_path, "amd64")
    assert "no such file" in str(error.value)
    assert "README.md, 'Mesos'" in str(error.value)


def test_a_folder_holding_an_install_tree_is_packed(tmp_path: Path) -> None:
    folder = tmp_path / "mesos-install"
    for name in TREE_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"\x7fELF")
    package = mesos_package.resolve(str(folder), tmp_path / "cache", "amd64")
    assert package.kind == TREE
    assert package.prefix == "mesos-install"
    assert package.path.parent == tmp_path / "cache" / "trees"


def test_a_folder_is_packed_to_the_same_bytes_on_every_resolve(tmp_path: Path) -> None:
    folder = tmp_path / "mesos-install"
    for name in TREE_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"\x7fELF")
    (folder / "lib" / "libmesos.so").symlink_to("libmesos-1.12.0.so")
    first = mesos_package.resolve(str(folder), tmp_path / "cache", "amd64")
    first_bytes = first.path.read_bytes()
    first.path.unlink()  # packed again from scratch, a second later by the files' clocks
    for path in folder.rglob("*"):
        os.utime(path, (10**9, 10**9), follow_symlinks=False)
    second = mesos_package.resolve(str(folder), tmp_path / "cache", "amd64")
    assert (second.path, second.sha256) == (first.path, first.sha256)
    assert second.path.read_bytes() == first_bytes
    with tarfile.open(second.path) as packed:
        link = packed.getmember("mesos-install/lib/libmesos.so")
    assert link.issym() and link.linkname == "libmesos-1.12.0.so"
    (folder / "sbin" / "mesos-master").write_bytes(b"\x7fELF, rebuilt")
    third = mesos_package.resolve(str(folder), tmp_path / "cache", "amd64")
    assert third.sha256 != first.sha256


def test_a_folder_without_mesos(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="a folder holds no mesos-master"):
        mesos_package.resolve(str(tmp_path / "empty"), tmp_path / "cache", "amd64")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback, serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_url_is_downloaded_once(tmp_path: Path, server: str) -> None:
    make_deb(tmp_path / "www" / "aventer-mesos.deb")
    url = f"{server}/aventer-mesos.deb"
    package = mesos_package.resolve(url, tmp_path / "cache", "amd64")
    assert package.name == "aventer-mesos"
    assert package.path.name == "aventer-mesos.deb"
    assert package.path.is_relative_to(tmp_path / "cache" / "downloads")
    (tmp_path / "www" / "aventer-mesos.deb").unlink()  # the cached copy is used
    assert mesos_package.resolve(url, tmp_path / "cache", "amd64").sha256 == package.sha256


def test_a_url_that_fails_says_what_to_do(tmp_path: Path, server: str) -> None:
    with pytest.raises(ConfigError, match=r"could not be downloaded .*set MESOS_PACKAGE to the file"):
        mesos_package.resolve(f"{server}/missing.deb", tmp_path / "cache", "amd64")
    assert not list((tmp_path / "cache").rglob("*.deb*"))


def test_tree_prefix() -> None:
    assert mesos_package.tree_prefix(["./sbin/mesos-master", "./sbin/mesos-agent"]) == ""
    assert mesos_package.tree_prefix(["a/b/sbin/mesos-master", "a/b/bin/mesos-agent"]) == "a/b"
    assert mesos_package.tree_prefix(["a/sbin/mesos-master", "b/sbin/mesos-agent"]) is None
    assert mesos_package.tree_prefix([]) is None


def test_dockers_architecture_names_are_debians(tmp_path: Path) -> None:
    assert mesos_package.debian_architecture("x86_64") == "amd64"
    assert mesos_package.debian_architecture("aarch64") == "arm64"
    deb = make_deb(tmp_path / "m.deb", architecture="amd64")
    assert mesos_package.resolve(str(deb), tmp_path, "x86_64").name == "aventer-mesos"


def test_a_package_is_read_once_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deb = tmp_path / "mesos.deb"
    deb.write_bytes(b"first")
    calls: list[Path] = []

    def inspect(path: Path, source: str, architecture: str) -> mesos_package.MesosPackage:
        calls.append(path)
        return mesos_package.MesosPackage(DEB, path, source, "mesos", "1.12.0", "", "ab" * 32)

    monkeypatch.setattr(mesos_package, "inspect", inspect)
    first = mesos_package.resolve(str(deb), tmp_path / "cache", "x86_64")
    again = mesos_package.resolve(str(deb), tmp_path / "cache", "x86_64")
    assert first == again and len(calls) == 1
    deb.write_bytes(b"changed, and longer")
    mesos_package.resolve(str(deb), tmp_path / "cache", "x86_64")
    assert len(calls) == 2
