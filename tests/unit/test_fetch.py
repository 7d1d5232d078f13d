"""lab/fetch.py: a URL's file fetched once into a cache; an interrupted fetch leaves no file behind."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lab import fetch
from lab.errors import ConfigError

URL = "https://example.org/archive/0d538a0d.tar.gz"


def test_a_url_is_kept_under_its_digest_by_its_file_name(tmp_path: Path) -> None:
    where = fetch.cached(URL, tmp_path)
    assert where.name == "0d538a0d.tar.gz"
    assert where.parent.parent == tmp_path
    assert fetch.cached(URL + "?x", tmp_path).parent != where.parent


def test_a_second_download_is_the_cached_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def serve(url: str, timeout: float) -> io.BytesIO:
        calls.append(url)
        return io.BytesIO(b"bytes")

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    first = fetch.download(URL, tmp_path, setting="CWL_SPEC", advice="x")
    second = fetch.download(URL, tmp_path, setting="CWL_SPEC", advice="x")
    assert first == second
    assert first.read_bytes() == b"bytes"
    assert calls == [URL]


def test_a_failed_download_names_the_setting_the_reason_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(url: str, timeout: float) -> None:
        raise urllib.error.URLError("timed out")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(ConfigError) as raised:
        fetch.download(URL, tmp_path, setting="CWL_SPEC", advice="set CWL_SPEC to a copy.")
    assert str(raised.value) == f"CWL_SPEC={URL} could not be downloaded (timed out): set CWL_SPEC to a copy."
    assert not fetch.cached(URL, tmp_path).exists()
    assert not list(tmp_path.rglob("*.part"))
