"""schemathesis against the API's own OpenAPI document: generated requests (valid and not)
to every operation, with the operator's token; none may get a 5xx or break the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cascade.engine.deploy import deploy
from cascade.engine.store import open_store
from cascade.engine.tick import tick
from cascade.web.app import WebConfig, create_app
from tests.conftest import compile_text
from tests.test_summary import TASKS
from tests.test_web import NOW, SECRET, TOKEN, at


@pytest.fixture
def api_schema(tmp_path: Path) -> schemathesis.BaseSchema:
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    deploy(engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    tick(engine, "test-campaign", NOW)
    config = WebConfig(secret=SECRET, operator_token=TOKEN, api_rate="100000/1")
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(engine, config, clock=lambda: NOW))


def test_no_generated_request_gets_a_server_error(api_schema: schemathesis.BaseSchema) -> None:
    # (schemathesis's own pytest integration does not load under pytest 9: each operation's
    # cases are drawn here with Hypothesis directly)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 6
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: schemathesis.Case) -> None:
            if case.path_parameters and "campaign" in case.path_parameters:
                # the campaign that exists, so the generated bodies and queries reach the handlers
                case.path_parameters["campaign"] = "test-campaign"
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            case.validate_response(response, checks=[not_a_server_error])
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            calls.append(response.status_code)

        call()
    assert len(calls) >= 6 * 20
    assert {200, 422} <= set(calls)  # answers and refusals (random unit ids rarely exist: no 201)
