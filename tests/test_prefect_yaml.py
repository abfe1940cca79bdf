"""prefect.yaml deploys every example campaign with `prefect deploy --all`: one entry each, the
template's schedule, a trigger on its own campaign's signals, the work pool with heartbeats.
(tests/test_production_e2e.py runs `prefect deploy --all` against a real server.)"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent


def test_every_example_campaign_has_its_own_entry() -> None:
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    campaigns = sorted(
        yaml.safe_load(p.read_text(encoding="utf-8"))["campaign"]["id"] for p in ROOT.glob("campaigns/*.yaml")
    )
    entries = {d["name"]: d for d in project["deployments"]}
    assert sorted(entries) == campaigns
    for cid, entry in entries.items():
        assert entry["parameters"] == {"campaign_id": cid}
        assert entry["schedules"] == project["deployments"][0]["schedules"]
        [trigger] = entry["triggers"]
        assert trigger["match"] == {"prefect.resource.id": f"cascade.campaign.{cid}"}
        assert trigger["expect"] == ["cascade.signal.received"]
        assert entry["work_pool"]["name"] == "cascade"
        assert entry["work_pool"]["job_variables"]["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "30"


def test_the_stores_default_interval_is_the_schedules() -> None:
    """What a command without Prefect (`report`, the watchdog) takes as the tick interval of a
    campaign whose deployment recorded none is the schedule's."""
    from cascade.engine import health

    project = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert project["deployments"][0]["schedules"][0]["interval"] == health.DEFAULT_INTERVAL
