"""Each deployed campaign is one Prefect deployment of the campaign flow.

Its schedule and trigger come from `prefect.yaml` (the project's first deployment is
the template: every campaign gets the same interval and the same event trigger, matched
to its own campaign resource), so `prefect deploy` and `cascade deploy` agree. Reading
them, and finding the Prefect API, needs no Prefect: `flows.project`.
"""

from __future__ import annotations

from datetime import timedelta

from prefect import get_client
from prefect.deployments.runner import RunnerDeployment
from prefect.events import emit_event
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from prefect.events.worker import EventsWorker
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.types.entrypoint import EntrypointType

from flows.campaign import campaign_flow, campaign_resource
from flows.project import Template, api_url, template

SIGNAL_EVENT = "cascade.signal.received"

# Flow runs send a heartbeat every 30 s (Prefect's minimum); the automation below marks a run
# whose heartbeats stop (its process or host died mid-tick) Crashed instead of Running for good.
HEARTBEAT_SECONDS = 30
HEARTBEAT_ENV = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)}
CRASH_AUTOMATION = "cascade: mark runs that stopped sending heartbeats Crashed"


def campaign_deployment(
    campaign_id: str, shape: Template | None = None, work_pool: str | None = None
) -> RunnerDeployment:
    """The deployment of `campaign_id`: named after it, ticking on the template's interval and
    whenever a `cascade.signal.received` event names the campaign. With `work_pool` (production:
    workers run it) its runs go to that pool; without, to `cascade serve`'s own runner."""
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
        work_pool_name=work_pool,
        job_variables={"env": HEARTBEAT_ENV} if work_pool else None,
    )
    assert isinstance(deployment, RunnerDeployment)  # called synchronously
    return deployment


def register(campaign_id: str, url: str, work_pool: str | None = None) -> timedelta:
    """Create or update the campaign's deployment on the Prefect server at `url` (on `work_pool`,
    created as a process pool if missing), and the automation that marks dead runs Crashed.
    Returns the tick interval."""
    shape = template()
    with temporary_settings(updates={PREFECT_API_URL: url}):
        if work_pool:
            ensure_work_pool(work_pool)
        campaign_deployment(campaign_id, shape, work_pool).apply(work_pool_name=work_pool)
        ensure_crash_automation()
    return shape.interval


def ensure_work_pool(name: str) -> None:
    """A process work pool named `name` (where `prefect worker start --pool NAME` takes runs)."""
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def ensure_crash_automation() -> None:
    """The automation that marks a campaign's flow run Crashed when, once Running, it sends no
    heartbeat for three periods and has not finished (Prefect's zombie-run recipe, armed by the
    Running state too). Made once per server."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(CRASH_AUTOMATION):
            return
    Automation(
        name=CRASH_AUTOMATION,
        description="A run that stops sending heartbeats died with its process or host: Crashed, not Running",
        trigger=EventTrigger(
            # armed when a run starts (the server's own event) as well as by each heartbeat: a run
            # killed before its first heartbeat reached the server is caught too
            after={"prefect.flow-run.Running", "prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            # only the campaigns' runs (their deployments' tag): other flows may send no heartbeat
            match_related=ResourceSpecification(
                {"prefect.resource.role": "tag", "prefect.resource.id": "prefect.tag.cascade"}
            ),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=3 * HEARTBEAT_SECONDS),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {3 * HEARTBEAT_SECONDS} s: its process or host died",
            )
        ],
    ).create()


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


def announce(campaign_id: str, stored: int) -> None:
    """Tell the Prefect API (when one is known) that `campaign_id` has `stored` new signals."""
    if url := api_url():
        announce_signal(campaign_id, stored, url)
