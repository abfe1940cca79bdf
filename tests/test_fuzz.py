"""Fuzzing the inputs strangers and spreadsheets give Cascade (issue 16): the signed form and
the signal API with values of every kind, the signals importers with any text. Nothing may
answer 5xx or escape as a traceback: each input is stored or refused with its reasons."""

from __future__ import annotations

import contextlib
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from cascade.engine.deploy import deploy
from cascade.engine.signal_files import read_signals
from cascade.engine.signals import SignalRefused
from cascade.engine.store import open_store
from cascade.engine.tick import tick
from cascade.errors import CampaignInvalid
from tests.conftest import compile_text
from tests.test_summary import TASKS, at
from tests.test_web import NOW, api, client_for, csrf, link

CASES: dict[str, int] = {}  # cases run per target, printed for the closing note

# what a user, a spreadsheet or an attacker types into a figure
values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.digits + ".,-+eE", max_size=40),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        ["", " ", "nan", "inf", "1e400", "٣", "１２", "0x10", "1_000", "\x00", "=1+1", "9" * 5000]
    ),
)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = open_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'store.db'}")
    deploy(engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    tick(engine, "test-campaign", NOW)
    return engine


def test_the_form_refuses_or_records_whatever_is_typed(campaign: Engine) -> None:
    with client_for(campaign, form_rate="100000/1") as client:
        page = client.get(link("x-d"))
        token = csrf(page.text)

        @given(
            attendees=values, members=values, extra=st.dictionaries(st.text(max_size=10), values, max_size=3)
        )
        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def post(attendees: str, members: str, extra: dict[str, str]) -> None:
            data = {**extra, "csrf": token, "attendees": attendees, "members": members}
            answer = client.post(link("x-d"), data=data)
            assert answer.status_code in (200, 403, 422), (data, answer.status_code, answer.text[-300:])
            CASES["form"] = CASES.get("form", 0) + 1

        post()
    assert CASES["form"] >= 300


def test_the_api_refuses_or_records_whatever_is_sent(campaign: Engine) -> None:
    fields = st.dictionaries(
        st.text(max_size=12),
        st.one_of(
            values,
            st.integers(min_value=-(10**40), max_value=10**40),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.none(),
        ),
        max_size=4,
    )
    units, tasks = (
        st.sampled_from(["x-c", "x-d", "hu-b", "nope", ""]),
        st.sampled_from(["hn-co-so", "bc", "x"]),
    )
    instants = st.one_of(values, st.sampled_from(["18/11/1900 10:00", "2099-01-01", "2020-12-01 08:00"]))
    signal = st.fixed_dictionaries(
        {"unit": units, "task": tasks}, optional={"at": instants, "fields": fields}
    )
    with client_for(campaign, api_rate="100000/1") as client:

        @given(st.lists(signal, min_size=1, max_size=5))
        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def post(batch: list[dict[str, Any]]) -> None:
            answer = api(client, "POST", "/api/campaigns/test-campaign/signals", json={"signals": batch})
            assert answer.status_code in (201, 422), (batch, answer.status_code, answer.text[-300:])
            CASES["api"] = CASES.get("api", 0) + 1

        post()
        # JSON's own extensions that Python's parser takes: NaN, Infinity, in a figure or a unit
        for raw in (
            b'{"signals": [{"unit": "x-c", "task": "hn-co-so", "fields": {"attendees": NaN, "members": 5}}]}',
            b'{"signals": [{"unit": "x-c", "task": "hn-co-so", "fields": {"attendees": Infinity}}]}',
            b'{"signals": [{"unit": NaN, "task": "hn-co-so"}]}',
            b'{"signals": [{"unit": "x-c", "task": "hn-co-so", "fields": {"a": [NaN]}}]}',
        ):
            answer = api(client, "POST", "/api/campaigns/test-campaign/signals", content=raw)
            assert answer.status_code == 422, (raw, answer.status_code, answer.text[-300:])
    assert CASES["api"] >= 300


@pytest.mark.parametrize("suffix", [".csv", ".yaml"])
def test_the_importers_read_or_refuse_any_text(suffix: str) -> None:
    rows = st.lists(st.lists(values, min_size=0, max_size=6), max_size=6)

    @given(
        text=st.one_of(
            st.text(max_size=300),
            rows.map(lambda r: "at,unit,task,attendees\n" + "\n".join(",".join(x) for x in r)),
        )
    )
    @settings(max_examples=400, deadline=None, database=None)
    def read(text: str) -> None:
        with contextlib.suppress(CampaignInvalid, SignalRefused):  # refused, with its problems
            read_signals(text, f"signals{suffix}", "Asia/Ho_Chi_Minh")
        CASES[suffix] = CASES.get(suffix, 0) + 1

    read()
    assert CASES[suffix] >= 400


def test_zz_print_the_cases_run() -> None:
    print(f"\nfuzz cases run: {CASES}")
    assert Path(__file__).exists()
