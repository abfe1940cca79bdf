"""The project's orchestration settings, read without importing Prefect (about 1.8 s): the
schedule and trigger of `prefect.yaml`, and where the Prefect API is.

`prefect.yaml`'s first deployment is the template: every campaign gets its interval and its
event trigger (`flows.deployments` makes the deployments from it). The Prefect API is
`PREFECT_API_URL` when set, else the local server that `cascade serve` started (its URL is
kept in DATA_DIR/prefect/api-url while it runs). `cascade status` and `cascade signal` read
these on every call; they import Prefect only to speak to a server that is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import yaml

from cascade.settings import Settings

PROJECT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Template:
    interval: timedelta
    expect: frozenset[str]


def template(project_file: Path = PROJECT / "prefect.yaml") -> Template:
    """The schedule and trigger of prefect.yaml's first deployment; CASCADE_TICK_INTERVAL
    (seconds) overrides the interval."""
    spec = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    first = spec["deployments"][0]
    seconds = float(Settings().scheduler.tick_interval or first["schedules"][0]["interval"])
    expect = frozenset(first["triggers"][0]["expect"])
    return Template(timedelta(seconds=seconds), expect)


def url_file(settings: Settings | None = None) -> Path:
    return (settings or Settings()).store.data_dir.resolve() / "prefect" / "api-url"


def api_url() -> str | None:
    """The Prefect API to use, if one is configured or a local `cascade serve` runs."""
    if url := Settings().prefect.api_url:
        return url
    path = url_file()
    if path.exists():
        url = path.read_text(encoding="utf-8").strip()
        if healthy(url):
            return url
    return None


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def production_url() -> bool:
    """Whether the Prefect API is the operator's own server (PREFECT_API_URL), where workers of
    a work pool run the campaigns, rather than a local `cascade serve`'s."""
    return bool(Settings().prefect.api_url) and not url_file().exists()
