"""Several callers' signal batches in one transaction: each checked and stored (or refused)
on its own, as `record` would; the web's writer thread feeding it from many threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select

from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.signals import Batch, Signal, SignalRefused, record, record_many
from cascade.web.writer import SignalWriter
from tests.conftest import compile_text
from tests.test_summary import TASKS, at

NOW = at("2020-12-05 09:00")


@pytest.fixture
def campaign(store_engine: Engine) -> Engine:
    deploy(store_engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    return store_engine


def signals(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(store.signals)).scalar_one())


def test_each_batch_is_stored_or_refused_on_its_own(campaign: Engine) -> None:
    good = Signal("hu-b", "hn-huyen", at("2020-11-25 10:00"))
    answers = record_many(
        campaign,
        [
            Batch("test-campaign", [good], "api", NOW),
            Batch(
                "test-campaign",
                [Signal("hu-e", "hn-huyen", NOW), Signal("hu-zz", "hn-huyen", NOW)],
                "api",
                NOW,
            ),
            Batch("test-campaign", [good], "web", NOW),  # the same signal again: stored once
            Batch("no-such", [good], "api", NOW),
        ],
    )
    assert answers[0] == (1, 0)
    assert isinstance(answers[1], SignalRefused) and "no unit `hu-zz`" in str(answers[1])
    assert answers[2] == (0, 1)
    assert isinstance(answers[3], SignalRefused) and "no deployed campaign `no-such`" in str(answers[3])
    assert signals(campaign) == 1  # hu-e's signal went with its refused batch
    assert record(campaign, "test-campaign", [good], "cli", NOW) == (0, 1)  # as record sees it


def test_the_writer_serves_many_threads_at_once(campaign: Engine) -> None:
    writer = SignalWriter(campaign)
    units = ["tu-a", "hu-b", "hu-e", "x-c", "x-d", "x-f"]
    tasks = {"tu-a": "hn-tinh", "hu-b": "hn-huyen", "hu-e": "hn-huyen"}

    def post(n: int) -> tuple[int, int]:
        unit = units[n % len(units)]
        task = tasks.get(unit, "bc")
        return writer.record(Batch("test-campaign", [Signal(unit, task, NOW.add(seconds=n))], "api", NOW))

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(post, range(300)))
    assert answers == [(1, 0)] * 300
    assert signals(campaign) == 300
    with pytest.raises(SignalRefused, match="no unit `nope`"):
        writer.record(Batch("test-campaign", [Signal("nope", "bc", NOW)], "api", NOW))
