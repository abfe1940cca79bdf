"""A simulation's temporary store: never left behind, whatever stops the simulation, and named
for what it is when its disk fills (it is not the operator's store)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pendulum
import pytest
from typer.testing import CliRunner

import cascade.engine.simulate
from cascade.cli import app
from cascade.compile.files import load_plan
from cascade.engine.signal_files import load_signals
from cascade.engine.simulate import simulate

ROOT = Path(__file__).parent.parent
CAMPAIGN = ROOT / "campaigns" / "ha-tinh-xix-2020.yaml"
SIGNALS = ROOT / "tests" / "scenarios" / "ha-tinh-xix-2020.signals.yaml"

# The real command, on a disk that fills up once a simulation's store reaches 300 pages (1.2 MB):
# SQLite's own "database or disk is full", the error a full disk gives.
SMALL_DISK = """
import sys
from sqlalchemy import event
from sqlalchemy.engine import Engine

@event.listens_for(Engine, "connect")
def small_disk(dbapi, record):
    if "cascade-sim-" in dbapi.execute("PRAGMA database_list").fetchone()[2]:
        dbapi.execute("PRAGMA max_page_count = 300")

from cascade.cli import main
sys.argv = ["cascade", *sys.argv[1:]]
main()
"""


def _run(args: list[str], tmp_path: Path, code: str = SMALL_DISK) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path / "tmp"),
        "CASCADE_DATA_DIR": str(tmp_path / "data"),
        "CASCADE_LANG": "en",
    }
    env.pop("CASCADE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True, text=True
    )


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder temporary files go to (TMPDIR), empty."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CASCADE_DATABASE_URL", raising=False)
    return folder


def test_a_full_disk_names_the_simulations_store_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    result = _run(["simulate", str(CAMPAIGN), "--signals", str(SIGNALS)], tmp_path)
    assert result.returncode == 1, result.stderr
    said = " ".join(result.stderr.split())
    assert "the disk of the simulation's temporary store" in said, said
    assert str(tmp_path / "tmp") in said and "TMPDIR" in said
    assert "cascade.db" not in said  # not the operator's store, which is neither full nor touched
    assert "Traceback" not in result.stderr
    assert list((tmp_path / "tmp").iterdir()) == []  # the full disk is given its space back
    assert not (tmp_path / "data" / "cascade.db").exists()


def test_a_simulation_with_room_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    roomy = SMALL_DISK.replace("300", "100000")
    result = _run(["simulate", str(CAMPAIGN), "--signals", str(SIGNALS)], tmp_path, code=roomy)
    assert result.returncode == 0, result.stderr
    assert "simulated to" in result.stdout
    assert list((tmp_path / "tmp").iterdir()) == []


def test_refused_signals_leave_no_store_behind(temporary: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('signals:\n  - {unit: khong-co, task: hn-tinh, at: "2020-12-01"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(CAMPAIGN), "--signals", str(bad)])
    assert result.exit_code == 1 and "no unit `khong-co`" in result.stderr
    assert list(temporary.iterdir()) == []


def test_an_unwritable_event_log_is_refused_before_simulating(
    temporary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_reached(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before finding it could not write the log")

    monkeypatch.setattr(cascade.engine.simulate, "simulate", not_reached)
    missing = tmp_path / "no-such-folder" / "events.jsonl"
    result = CliRunner().invoke(app, ["simulate", str(CAMPAIGN), "--out", str(missing)])
    assert result.exit_code == 1, result.output
    assert f"{missing}: error: cannot write: its folder does not exist" in " ".join(result.stderr.split())
    assert list(temporary.iterdir()) == [] and not missing.parent.exists()


def test_a_log_that_fails_after_simulating_leaves_no_store_behind(
    temporary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cascade.views.eventlog

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cascade.views.eventlog, "write_log", full)
    log = tmp_path / "events.jsonl"
    result = CliRunner().invoke(app, ["simulate", str(CAMPAIGN), "--out", str(log)])
    assert result.exit_code == 1, result.output
    assert "cannot write: the disk is full" in result.stderr
    assert list(temporary.iterdir()) == [] and list(tmp_path.glob("*events*")) == []


def test_an_interrupted_simulation_deletes_its_store(temporary: Path) -> None:
    plan = load_plan(CAMPAIGN)
    batch = load_signals(SIGNALS, plan.campaign.timezone)
    ticks: list[pendulum.DateTime] = []

    def interrupt(now: pendulum.DateTime) -> None:
        ticks.append(now)
        assert list(temporary.iterdir())  # the store is there while it runs
        if len(ticks) == 5:
            raise KeyboardInterrupt  # Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        simulate(plan, "source", batch, plan.campaign.summary_at, on_tick=interrupt)
    assert len(ticks) == 5 and list(temporary.iterdir()) == []


def test_the_clock_starts_at_the_campaigns_issue(temporary: Path) -> None:
    """The first tick (a fresh deploy's look at every held instance) is at the issue, not at
    1970: the progress bar and the ticks' log start where the campaign does."""
    plan = load_plan(CAMPAIGN)
    ticks: list[pendulum.DateTime] = []
    result = simulate(plan, "source", [], plan.campaign.issued_at.add(days=3), on_tick=ticks.append)
    result.discard()
    assert ticks and ticks[0] == plan.campaign.issued_at
    assert ticks == sorted(ticks)
