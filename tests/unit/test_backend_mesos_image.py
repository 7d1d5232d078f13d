"""The Mesos image's inputs: its wheelhouse's pure-Python http-parser, build arguments and tag."""

from __future__ import annotations

import base64
import csv
import dataclasses
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from lab.backends.mesos import image as mesos_image
from lab.backends.mesos.package import DEB, TREE, MesosPackage
from lab.config import LabConfig
from lab.errors import ConfigError, LabError


def sdist(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


HTTP_PARSER_SDIST = {
    "http-parser-0.9.0/setup.py": b"raise SystemExit('builds a C extension')\n",
    "http-parser-0.9.0/http_parser/__init__.py": b"version_info = (0, 9, 0)\n",
    "http-parser-0.9.0/http_parser/http.py": b"from http_parser.pyparser import HttpParser\n",
    "http-parser-0.9.0/http_parser/pyparser.py": b"class HttpParser: pass\n",
    "http-parser-0.9.0/http_parser/parser.pyx": b"cdef class HttpParser: pass\n",
    "http-parser-0.9.0/http_parser/parser.c": b"/* generated */\n",
    "http-parser-0.9.0/http_parser/parser.cpython-37m-darwin.so": b"\xcf\xfa\xed\xfe",
}


def test_sdist_project() -> None:
    assert mesos_image.sdist_project("http-parser-0.9.0.tar.gz") == "http_parser"
    assert mesos_image.sdist_project("pymesos-0.3.15.tar.gz") == "pymesos"


def test_the_http_parser_wheel_holds_the_python_parser_only(tmp_path: Path) -> None:
    source = sdist(tmp_path / "http-parser-0.9.0.tar.gz", HTTP_PARSER_SDIST)
    wheel = mesos_image.pure_http_parser_wheel(source, tmp_path)
    assert wheel.name == "http_parser-0.9.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert sorted(n for n in names if n.startswith("http_parser/")) == [
            "http_parser/__init__.py",
            "http_parser/http.py",
            "http_parser/pyparser.py",
        ]
        assert names[-1] == "http_parser-0.9.0.dist-info/RECORD"
        metadata = archive.read("http_parser-0.9.0.dist-info/METADATA").decode()
        assert "Name: http-parser\nVersion: 0.9.0\n" in metadata
        assert "Tag: py3-none-any" in archive.read("http_parser-0.9.0.dist-info/WHEEL").decode()
        # RECORD's hashes are what pip checks on install.
        record = list(csv.reader(io.StringIO(archive.read("http_parser-0.9.0.dist-info/RECORD").decode())))
        for name, digest, size in record[:-1]:
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(data))
        assert record[-1] == ["http_parser-0.9.0.dist-info/RECORD", "", ""]


def test_the_http_parser_wheel_is_reproducible(tmp_path: Path) -> None:
    source = sdist(tmp_path / "http-parser-0.9.0.tar.gz", HTTP_PARSER_SDIST)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = mesos_image.pure_http_parser_wheel(source, tmp_path / "a").read_bytes()
    two = mesos_image.pure_http_parser_wheel(source, tmp_path / "b").read_bytes()
    assert one == two


def test_an_sdist_without_the_python_parser_is_refused(tmp_path: Path) -> None:
    source = sdist(tmp_path / "http-parser-0.9.0.tar.gz", {"http-parser-0.9.0/http_parser/parser.c": b""})
    with pytest.raises(LabError, match=r"no http_parser/pyparser\.py"):
        mesos_image.pure_http_parser_wheel(source, tmp_path)


def package(tmp_path: Path, kind: str = DEB, sha: str = "ab" * 32, prefix: str = "") -> MesosPackage:
    path = tmp_path / ("m.deb" if kind == DEB else "m.tar.gz")
    path.write_bytes(b"package")
    return MesosPackage(kind, path, str(path), "aventer-mesos", "1.11.0", prefix, sha)


def config(tmp_path: Path, **changes: object) -> LabConfig:
    (tmp_path / "images" / "mesos").mkdir(parents=True, exist_ok=True)
    (tmp_path / "images" / "mesos" / "Dockerfile").write_text("FROM x\n")
    return dataclasses.replace(LabConfig(mesos_package="m.deb"), root=tmp_path, **changes)  # type: ignore[arg-type]


def build_args(argv: tuple[str, ...]) -> dict[str, str]:
    pairs = [argv[i + 1] for i, word in enumerate(argv) if word == "--build-arg"]
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_runtime_builds_over_the_toil_runtime_with_the_package(tmp_path: Path) -> None:
    cfg = config(tmp_path, mesos_extra_packages=("libfoo1", "libbar2"))
    tree = package(tmp_path, TREE, prefix="mesos-1.11.0")
    house = tmp_path / "build" / "wheelhouse" / "mesos"
    house.mkdir(parents=True)
    staged = mesos_image.stage_package(tree, cfg)
    build = mesos_image.runtime_build(cfg, tree, "toil-lab/runtime:toil-9.6.0-abc", house, staged)
    assert build_args(build.argv) == {
        "TOIL_RUNTIME": "toil-lab/runtime:toil-9.6.0-abc",
        "MESOS_WHEELHOUSE": "build/wheelhouse/mesos",
        "MESOS_PACKAGE_FILE": f"build/mesos/package/{'ab' * 8}/mesos.tar.gz",
        "MESOS_KIND": "tree",
        "MESOS_TREE_PREFIX": "mesos-1.11.0",
        "MESOS_EXTRA_PACKAGES": "libfoo1 libbar2",
    }
    assert build.argv[build.argv.index("--target") + 1] == "mesos"
    assert staged.read_bytes() == b"package"


def test_the_tag_follows_the_toil_runtime_the_package_and_extra_packages(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    house = tmp_path / "house"
    house.mkdir()
    (house / "pymesos-0.3.15-py3-none-any.whl").write_bytes(b"w")
    deb = package(tmp_path)
    staged = tmp_path / "build" / "staged.deb"

    def tag(pkg: MesosPackage, runtime: str, cfg: LabConfig = cfg) -> str:
        return mesos_image.runtime_build(cfg, pkg, runtime, house, staged).tag

    first = tag(deb, "toil-lab/runtime:toil-9.6.0-abc")
    assert first.startswith("toil-lab/runtime:toil-9.6.0-abc-mesos-")
    assert first == tag(deb, "toil-lab/runtime:toil-9.6.0-abc")
    others = {
        tag(deb, "toil-lab/runtime:toil-9.6.0-def"),
        tag(package(tmp_path, sha="cd" * 32), "toil-lab/runtime:toil-9.6.0-abc"),
        tag(deb, "toil-lab/runtime:toil-9.6.0-abc", config(tmp_path, mesos_extra_packages=("libx1",))),
    }
    assert first not in others
    assert len(others) == 3


def test_the_runtime_needs_the_sonames_script_and_not_the_rest_of_innode(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    (tmp_path / "innode").mkdir()
    (tmp_path / "innode" / "sonames.py").write_text("# v1\n")
    (tmp_path / "innode" / "recorder.py").write_text("# v1\n")
    house = tmp_path / "house"
    house.mkdir()
    deb, staged = package(tmp_path), tmp_path / "staged.deb"

    def tag() -> str:
        return mesos_image.runtime_build(cfg, deb, "toil-lab/runtime:t", house, staged).tag

    before = tag()
    (tmp_path / "innode" / "recorder.py").write_text("# v2\n")
    assert tag() == before, "an edit of other in-node code must not install Mesos again"
    (tmp_path / "innode" / "sonames.py").write_text("# v2\n")
    assert tag() != before


def test_a_mesos_image_without_a_package_is_a_config_error(tmp_path: Path) -> None:
    cfg = dataclasses.replace(config(tmp_path), mesos_package=None)
    with pytest.raises(ConfigError, match="MESOS_PACKAGE"):
        mesos_image.resolve_package(cfg, "x86_64")
