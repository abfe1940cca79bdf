"""Shared fixtures: a small hierarchy and a helper that compiles inline YAML, no files.

The suite speaks English to the operator (CASCADE_LANG=en, set before Cascade is imported):
its assertions read the messages as the code writes them. Vietnamese, the default, is held
by tests/test_i18n.py (every message translated) and its snapshots of the commands' output.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

os.environ["CASCADE_LANG"] = "en"

import pytest
from hypothesis import settings
from sqlalchemy import Engine

from cascade import i18n
from cascade.compile.build import compile_plan
from cascade.compile.reading import read_yaml
from cascade.compile.units import read_units
from cascade.plan.hierarchy import Hierarchy
from cascade.plan.model import Plan
from tests.servers import smtp, smtp_auth, zalo  # noqa: F401  (fixtures: real servers on loopback)

i18n.use("en")

# HYPOTHESIS_PROFILE=thorough runs ten times the examples (used before a release).
settings.register_profile("thorough", max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SMALL_UNITS = """\
levels: [province, district, grassroots]
units:
  - id: tu-a
    name: Tỉnh ủy A
    level: province
    contacts:
      - {role: head, email: vp@example.vn, zalo: "84912000001"}
      - {role: propaganda, email: btg@example.vn}
    children:
      - id: hu-b
        name: Huyện ủy B
        level: district
        tags: [district-committee]
        contacts: [{role: head, email: hu.b@example.vn, phone: "0912000002"}]
        children:
          - {id: x-c, name: Đảng ủy xã C, level: grassroots, contacts: [{role: head, email: x.c@example.vn}]}
          - {id: x-d, name: Đảng ủy xã D, level: grassroots, contacts: [{role: head, email: x.d@example.vn}]}
      - id: hu-e
        name: Huyện ủy E
        level: district
        tags: [district-committee]
        contacts: [{role: head, email: hu.e@example.vn}]
        children:
          - {id: x-f, name: Đảng ủy xã F, level: grassroots, contacts: [{role: head, email: x.f@example.vn}]}
      - id: mttq
        name: Ủy ban MTTQ tỉnh
        level: district
        tags: [mass-org]
        contacts: [{role: head, email: mttq@example.vn}]
"""

# the same units with Đảng ủy xã D moved from Huyện ủy B to Huyện ủy E (a merger)
_X_D = next(line + "\n" for line in SMALL_UNITS.splitlines() if "id: x-d," in line)
_X_F = next(line + "\n" for line in SMALL_UNITS.splitlines() if "id: x-f," in line)
MOVED_UNITS = SMALL_UNITS.replace(_X_D, "").replace(_X_F, _X_F + _X_D)

HEADER = """\
campaign:
  id: test-campaign
  title: Chiến dịch thử
  issued_on: 10/11/2020
  units: units.yaml
  summary_date: 20/01/2021
"""


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def hierarchy(units_yaml: str = SMALL_UNITS) -> Hierarchy:
    return read_units(units_yaml, "units.yaml")


def compile_text(body: str, units_yaml: str = SMALL_UNITS, header: str = HEADER) -> Plan:
    """Compile `header` + `body` (dedented YAML) over the units; the file is `campaign.yaml`."""
    doc = read_yaml(header + dedent(body), "campaign.yaml")
    return compile_plan(doc, hierarchy(units_yaml))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of its own for the commands: their SQLite store, no Prefect server."""
    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CASCADE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)  # no Prefect server for these
    return tmp_path / "data"


@pytest.fixture
def small_units() -> Hierarchy:
    return hierarchy()


# ---- stores ---------------------------------------------------------------------------------
# Engine tests run on SQLite, and on PostgreSQL when CASCADE_TEST_POSTGRES_URL names a
# server (.ci/run starts one and sets CASCADE_REQUIRE_POSTGRES=1, so it cannot be skipped).

STORES = ["sqlite", "postgresql"]


def postgres_url() -> str:
    """The test PostgreSQL's URL; skips the test when there is none (fails when one is required)."""
    url = os.environ.get("CASCADE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CASCADE_REQUIRE_POSTGRES"):
            pytest.fail("CASCADE_REQUIRE_POSTGRES is set but CASCADE_TEST_POSTGRES_URL is not")
        pytest.skip("no PostgreSQL: set CASCADE_TEST_POSTGRES_URL (./test.sh starts one)")
    return url


def _fresh_postgres():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text

    from cascade.engine.store import open_store

    url = postgres_url()
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    admin.dispose()
    return open_store(url)


@pytest.fixture(params=STORES)
def store_engine(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    from cascade.engine.store import open_store

    if request.param == "sqlite":
        engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        engine = _fresh_postgres()
    yield engine
    engine.dispose()


@pytest.fixture
def any_store(store_engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`data_dir`, with the commands on the store under test (SQLite, then PostgreSQL)."""
    monkeypatch.setenv("CASCADE_DATABASE_URL", store_engine.url.render_as_string(hide_password=False))
    return data_dir


@pytest.fixture
def postgres_engine():  # type: ignore[no-untyped-def]
    """A fresh store on the test PostgreSQL, for what only PostgreSQL has (row locks, its limits)."""
    engine = _fresh_postgres()
    yield engine
    engine.dispose()
