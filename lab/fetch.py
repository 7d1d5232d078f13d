"""Files the lab downloads once: a URL's file, kept in a cache folder under a digest of the URL.

A Mesos package or source given as a URL (MESOS_PACKAGE, MESOS_SOURCE) and the CWL
conformance suite (CWL_SPEC, or its pinned commit from GitHub) come this way. A partial
download never takes the final name, so an interrupted one is fetched again next time.
"""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from lab.errors import ConfigError

TIMEOUT = 60.0


def cached(url: str, cache: Path) -> Path:
    """Where a URL's file is kept: cache/<digest of the URL>/<the URL's file name>."""
    name = Path(urllib.parse.urlparse(url).path).name or "download"
    return cache / hashlib.sha256(url.encode()).hexdigest()[:12] / name


def download(url: str, cache: Path, *, setting: str, advice: str) -> Path:
    """The URL's file, fetched unless the cache holds it; a failure names the setting and what to do."""
    target = cached(url, cache)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", None) or error
        raise ConfigError(f"{setting}={url} could not be downloaded ({reason}): {advice}") from None
    partial.rename(target)
    return target
