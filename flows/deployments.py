"""Each deployed campaign is one Prefect deployment of the campaign flow.

Its schedule and trigger come from `prefect.yaml` (the project's first deployment is
the template: every campaign gets the same interval and the same event trigger, matched
to its own campaign resource), so `prefect deploy` and `cascade deploy` agree.

Where the Prefect API is: `PREFECT_API_URL` when set, else the local server that
`cascade serve` started (its URL is kept in DATA_DIR/prefect/api-url while it runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import yaml
from prefect import get_client
from prefect.deployments.runner import RunnerDeployment
from prefect.events import emit_event
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from prefect.events.worker import EventsWorker
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.types.entrypoint import EntrypointType

from cascade.settings import Settings
from flows.campaign import campaign_flow, campaign_resource

PROJECT = Path(__file__).resolve().parent.parent
SIGNAL_EVENT = "cascade.signal.received"


@dataclass(frozen=True)
class Template:
    interval: timedelta
    expect: frozenset[str]


def template(project_file: Path = PROJECT / "prefect.yaml") -> Template:
    """The schedule and trigger of prefect.yaml's first deployment; CASCADE_TICK_INTERVAL
    (seconds) overrides the interval."""
    spec = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    first = spec["deployments"][0]
    seconds = float(os.environ.get("CASCADE_TICK_INTERVAL") or first["schedules"][0]["interval"])
    expect = frozenset(first["triggers"][0]["expect"])
    return Template(timedelta(seconds=seconds), expect)


def campaign_deployment(campaign_id: str, shape: Template | None = None) -> RunnerDeployment:
    """The deployment of `campaign_id`: named after it, ticking on the template's interval and
    whenever a `cascade.signal.received` event names the campaign."""
    shape = shape or template()
    trigger = DeploymentEventTrigger(
        name=f"{campaign_id}: a signal arrived",
        expect=set(shape.expect),
        match={"prefect.resource.id": f"cascade.campaign.{campaign_id}"},
        posture="Reactive",
        threshold=1,
        within=timedelta(0),
    )
    deployment = campaign_flow.to_deployment(
        name=campaign_id,
        parameters={"campaign_id": campaign_id},
        interval=shape.interval,
        triggers=[trigger],
        description=f"Ticks of campaign {campaign_id}",
        tags=["cascade"],
        entrypoint_type=EntrypointType.MODULE_PATH,  # flows is installed: runs import it from anywhere
    )
    assert isinstance(deployment, RunnerDeployment)  # called synchronously
    return deployment


def url_file(settings: Settings | None = None) -> Path:
    return (settings or Settings()).data_dir.resolve() / "prefect" / "api-url"


def api_url() -> str | None:
    """The Prefect API to use, if one is configured or a local `cascade serve` runs."""
    if url := os.environ.get("PREFECT_API_URL"):
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


def register(campaign_id: str, url: str) -> None:
    """Create or update the campaign's deployment on the Prefect server at `url`."""
    with temporary_settings(updates={PREFECT_API_URL: url}):
        campaign_deployment(campaign_id).apply()


def pause(campaign_id: str, url: str) -> bool:
    """Pause the campaign's deployment (its runs and history stay); False if it has none."""
    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(f"{campaign_flow.name}/{campaign_id}")
        except ObjectNotFound:
            return False
        client.pause_deployment(deployment.id)
        return True


def announce_signal(campaign_id: str, stored: int, url: str) -> None:
    """Emit `cascade.signal.received` for the campaign, so its deployment ticks now."""
    with temporary_settings(updates={PREFECT_API_URL: url}):
        emit_event(
            event=SIGNAL_EVENT,
            resource=campaign_resource(campaign_id),
            payload={"stored": stored},
        )
        EventsWorker.drain_all()
