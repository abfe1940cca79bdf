"""The settings tree: every variable the README names lands in its group, secrets stay masked."""

from __future__ import annotations

import json
import os

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from cascade.cli import app
from cascade.settings import Settings

runner = CliRunner()

SET = {
    "CASCADE_DATA_DIR": ("store", "data_dir", "/srv/cascade"),
    "CASCADE_DATABASE_URL": ("store", "database_url", "postgresql+psycopg://u:hunter2@db/cascade"),
    "CASCADE_LOCK_WAIT": ("store", "lock_wait", 30.0),
    "CASCADE_TICK_INTERVAL": ("scheduler", "tick_interval", 60.0),
    "CASCADE_CLOCK_SHIFT": ("scheduler", "clock_shift", 3600.0),
    "PREFECT_API_URL": ("prefect", "api_url", "http://prefect.tinhuy.vn/api"),
    "CASCADE_WORK_POOL": ("prefect", "work_pool", "tinh-uy"),
    "CASCADE_WEB_URL": ("web", "url", "https://cascade.tinhuy.vn"),
    "CASCADE_WEB_TOKEN": ("web", "token", "operator-token-1"),
    "CASCADE_WEB_SECRET": ("web", "secret", "s" * 40),
    "CASCADE_WEB_RATE_FORM": ("web", "rate_form", "10/60"),
    "CASCADE_WEB_RATE_API": ("web", "rate_api", "50/1"),
    "CASCADE_WEB_MAX_BODY": ("web", "max_body", 1000),
    "CASCADE_SMTP_URL": ("smtp", "url", "mailtos://u:mailpass@smtp.example.vn"),
    "CASCADE_SMTP_SECRET": ("smtp", "secret", "smtp-block"),
    "CASCADE_ZALO_TOKEN": ("zalo", "token", "zalo-access"),
    "CASCADE_ZALO_APP_ID": ("zalo", "app_id", "123"),
    "CASCADE_ZALO_SECRET_KEY": ("zalo", "secret_key", "zalo-key"),
    "CASCADE_ZALO_REFRESH_TOKEN": ("zalo", "refresh_token", "zalo-refresh"),
    "CASCADE_ZALO_OAUTH_URL": ("zalo", "oauth_url", "http://127.0.0.1:1/oauth"),
    "CASCADE_ZALO_API": ("zalo", "api", "http://127.0.0.1:1/oa"),
    "CASCADE_ZNS_API": ("zalo", "zns_api", "http://127.0.0.1:1/zns"),
    "CASCADE_ZNS_TEMPLATE": ("zalo", "zns_template", "42"),
    "CASCADE_NOTIFY": ("dispatch", "mode", "log"),
    "CASCADE_DISPATCH_ATTEMPTS": ("dispatch", "attempts", 5),
    "CASCADE_DISPATCH_BACKOFF": ("dispatch", "backoff", 0.5),
    "CASCADE_DISPATCH_BREAKER": ("dispatch", "breaker", 2),
    "CASCADE_DISPATCH_CONCURRENCY": ("dispatch", "concurrency", 3),
    "CASCADE_DISPATCH_LEASE": ("dispatch", "lease", 60.0),
    "CASCADE_LANG": ("ui", "lang", "en"),
}
SECRETS = ("hunter2", "operator-token-1", "s" * 40, "mailpass", "zalo-access", "zalo-key", "zalo-refresh")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (_, _, value) in SET.items():
        monkeypatch.setenv(name, str(value))


def test_every_variable_lands_in_its_group(environment: None) -> None:
    settings = Settings()
    for name, (group, field, value) in SET.items():
        got = getattr(getattr(settings, group), field)
        if isinstance(got, SecretStr):
            got = got.get_secret_value()
        assert str(got) == str(value), name


def test_the_table_names_each_variable_once_and_describes_every_setting(environment: None) -> None:
    rows = Settings().rows()
    variables = [variable for _, _, variable, _, _ in rows]
    assert sorted(variables) == sorted(SET)  # every setting has its variable, and the README's are all here
    assert [f"{g}.{f}" for g, f, _, _, d in rows if not d] == []


def test_cascade_settings_prints_the_tree_with_secrets_masked(environment: None) -> None:
    shown = runner.invoke(app, ["settings"])
    assert shown.exit_code == 0, shown.output
    tree = json.loads(shown.output)
    assert tree["web"]["url"] == "https://cascade.tinhuy.vn"
    assert tree["dispatch"]["attempts"] == 5
    assert tree["web"]["token"] == "**********"
    explained = runner.invoke(app, ["settings", "--explain"], env={"COLUMNS": "300"})
    assert explained.exit_code == 0, explained.output
    assert "CASCADE_WEB_TOKEN" in explained.output
    for secret in SECRETS:
        assert secret not in shown.output
        assert secret not in explained.output


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("CASCADE_DISPATCH_ATTEMPTS", "three", "valid integer"),
        ("CASCADE_NOTIFY", "loud", "'send' or 'log'"),
        ("CASCADE_WEB_MAX_BODY", "4MB", "valid integer"),
    ],
)
def test_a_bad_value_is_one_line_naming_its_variable(variable: str, value: str, said: str) -> None:
    from tests.test_hardening import run_main

    result = run_main(["settings"], {variable: value})
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"setting error: {variable}: ")
    assert said in line


@pytest.mark.parametrize(
    "environ",
    [{}, {"CASCADE_LANG": "en"}, {"CASCADE_LANG": "vi"}, {"cascade_lang": "en"}, {"CASCADE_LANG": "fr"}],
)
def test_the_operators_language_reads_as_the_settings_read_it(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line reads CASCADE_LANG before loading the settings (they cost every command
    40 ms of imports): it must read what `ui.lang` reads, the default where that is unreadable."""
    from pydantic import ValidationError

    from cascade.i18n import operator_language
    from cascade.settings import UiSettings

    for name in [n for n in os.environ if n.upper() == "CASCADE_LANG"]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    try:
        expected = UiSettings().lang
    except ValidationError:
        expected = "vi"
    assert operator_language() == expected
