"""Every setting of Cascade, read from the environment here and nowhere else.

One tree, one group per part that uses it: `store`, `scheduler`, `prefect`, `web`, `smtp`,
`zalo`, `dispatch`, `ui`. Each group reads its own variables when it is made (the names are
those the README lists: `CASCADE_WEB_TOKEN` is `web.token`), so `Settings()` is the
environment as it stands now; a part takes its group as an argument, and its defaults are
the ones below. Secrets are `SecretStr`: `cascade settings` prints the tree with them
masked, and they never reach a log by accident.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import pendulum
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from cascade.i18n import N_


def _group(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore")


class StoreSettings(BaseSettings):
    """Where the campaigns' state is kept."""

    model_config = _group("CASCADE_")

    data_dir: Path = Field(
        Path("data"),
        description=N_("where Cascade keeps its SQLite store, web secret and local Prefect home"),
    )
    database_url: SecretStr | None = Field(
        None,
        description=N_(
            "SQLAlchemy URL of the store, e.g. postgresql+psycopg://u:p@host/cascade; "
            "default: SQLite at DATA_DIR/cascade.db"
        ),
    )
    lock_wait: float = Field(
        120.0,
        description=N_(
            "seconds a tick waits for another tick of the same campaign to finish before it "
            "gives up (the other tick does the work; the next run catches up)"
        ),
    )

    def url(self, make_folder: bool = True) -> str:
        """The store's SQLAlchemy URL. The default SQLite file's folder is made (owner only)
        unless `make_folder` is False: a read-only command, or a message naming the store."""
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        if make_folder:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # contacts, secrets: owner only
        return f"sqlite:///{self.data_dir / 'cascade.db'}"


class SchedulerSettings(BaseSettings):
    """When scheduled ticks run, and the clock they read."""

    model_config = _group("CASCADE_")

    tick_interval: float | None = Field(
        None,
        description=N_("seconds between a campaign's scheduled ticks; default: the interval in prefect.yaml"),
    )
    clock_shift: float = Field(
        0.0,
        description=N_(
            "seconds added to the wall clock by scheduled ticks: a drill of a campaign as of "
            "another moment, or an end-to-end test that needs a deadline to pass within seconds; 0 in "
            "production (serve says so when it is not)"
        ),
    )

    def now(self) -> pendulum.DateTime:
        """The instant commands and scheduled ticks act at: the wall clock, shifted by
        `clock_shift` seconds in a drill (0 in production)."""
        return pendulum.now("UTC").add(seconds=self.clock_shift)


class PrefectSettings(BaseSettings):
    """The Prefect server the campaigns are deployed to."""

    model_config = _group("CASCADE_")

    api_url: str | None = Field(
        None,
        validation_alias="PREFECT_API_URL",
        description=N_(
            "PREFECT_API_URL: the operator's own Prefect server (production); unset, "
            "`cascade serve` starts a local one"
        ),
    )
    work_pool: str = Field(
        "cascade",
        description=N_(
            "the Prefect work pool `cascade deploy` puts campaigns on when PREFECT_API_URL names "
            "the operator's own server (production: `prefect worker start --pool cascade`)"
        ),
    )


class WebSettings(BaseSettings):
    """The web application: forms for officials, the operator's board, the JSON API."""

    model_config = _group("CASCADE_WEB_")

    url: str = Field(
        "",
        description=N_(
            "the address officials open, e.g. https://cascade.tinhuy.vn; unset, notices carry no links"
        ),
    )
    token: SecretStr = Field(SecretStr(""), description=N_("the operator's token for the board and the API"))
    secret: SecretStr | None = Field(
        None, description=N_("the secret that signs links and forms; default: DATA_DIR/web-secret, made once")
    )
    rate_form: str = Field("30/60", description=N_("form submissions per client address: N/seconds"))
    rate_api: str = Field("2000/1", description=N_("API signal posts per token: N/seconds"))
    max_body: int = Field(
        4 * 1024 * 1024, description=N_("bytes a request body may hold; more is refused (413)")
    )

    @property
    def https(self) -> bool:
        return self.url.lower().startswith("https://")


class SmtpSettings(BaseSettings):
    """The mail server notices go out through."""

    model_config = _group("CASCADE_SMTP_")

    url: SecretStr | None = Field(
        None,
        description=N_(
            "the SMTP server as an Apprise URL, e.g. mailtos://user:password@smtp.example.vn"
            "?from=cascade@example.vn (kept in the environment, never in campaign files)"
        ),
    )
    secret: str | None = Field(
        None, description=N_("the name of a Prefect Secret block holding the SMTP URL (production workers)")
    )


class ZaloSettings(BaseSettings):
    """The Zalo Official Account notices go out through."""

    model_config = _group("CASCADE_ZALO_")

    token: SecretStr | None = Field(
        None, description=N_("a fixed OA access token, when Cascade does not refresh it")
    )
    app_id: str | None = Field(
        None, description=N_("the Zalo app: with secret_key, Cascade refreshes the OA token")
    )
    secret_key: SecretStr | None = Field(None, description=N_("the Zalo app's secret key"))
    refresh_token: SecretStr | None = Field(
        None, description=N_("the first refresh token, for `cascade zalo-token`")
    )
    oauth_url: str = Field(
        "https://oauth.zaloapp.com/v4/oa/access_token", description=N_("Zalo's token endpoint")
    )
    api: str | None = Field(None, description=N_("the OA message API's address; default: Zalo's"))
    zns_api: str | None = Field(
        None,
        validation_alias="CASCADE_ZNS_API",
        description=N_("CASCADE_ZNS_API: the ZNS template API's address; default: Zalo's"),
    )
    zns_template: str | None = Field(
        None,
        validation_alias="CASCADE_ZNS_TEMPLATE",
        description=N_("CASCADE_ZNS_TEMPLATE: the approved ZNS template for notices by phone number"),
    )


class UiSettings(BaseSettings):
    """How Cascade speaks to its operator."""

    model_config = _group("CASCADE_")

    lang: Literal["vi", "en"] = Field(
        "vi",
        description=N_(
            "the operator's language: `vi` (Vietnamese) or `en` (English); officials read Vietnamese"
        ),
    )


class DispatchSettings(BaseSettings):
    """How notices leave the outbox."""

    model_config = _group("CASCADE_DISPATCH_")

    mode: Literal["send", "log"] = Field(
        "send",
        validation_alias="CASCADE_NOTIFY",
        description=N_("CASCADE_NOTIFY: `send` through the channels, or `log` them (drills, tests)"),
    )
    attempts: int = Field(3, description=N_("sends per channel and digest while the failure is transient"))
    backoff: float = Field(2.0, description=N_("seconds before the second attempt, doubling after each"))
    breaker: int = Field(5, description=N_("transient failures in a row that take a channel out of a run"))
    concurrency: int = Field(8, description=N_("sends in flight"))
    lease: float = Field(
        300.0, description=N_("seconds a claim holds without renewal (then: a crashed dispatcher's)")
    )


class Settings(BaseModel):
    """The whole tree; `Settings()` reads the environment as it is now."""

    store: StoreSettings = Field(default_factory=StoreSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    prefect: PrefectSettings = Field(default_factory=PrefectSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    zalo: ZaloSettings = Field(default_factory=ZaloSettings)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    ui: UiSettings = Field(default_factory=UiSettings)

    def shown(self) -> dict[str, Any]:
        """The tree as `cascade settings` prints it: secrets masked, paths as text."""
        return self.model_dump(mode="json")

    def rows(self) -> list[tuple[str, str, str, Any, str]]:
        """(group, field, environment variable, value shown, description) for every setting."""
        shown = self.shown()
        out = []
        for group, info in type(self).model_fields.items():
            model = info.default_factory
            assert isinstance(model, type) and issubclass(model, BaseSettings)
            for name, field in model.model_fields.items():
                out.append((group, name, variable(model, name), shown[group][name], field.description or ""))
        return out


GROUPS: tuple[type[BaseSettings], ...] = (
    StoreSettings,
    SchedulerSettings,
    PrefectSettings,
    WebSettings,
    SmtpSettings,
    ZaloSettings,
    DispatchSettings,
    UiSettings,
)


def variable(model: type[BaseSettings], name: str) -> str:
    """The environment variable of `model`'s field `name` (an alias is the variable itself)."""
    field = model.model_fields.get(name)
    if field is None:  # pydantic reports an aliased field by its alias
        return name.upper()
    return str(field.validation_alias or str(model.model_config.get("env_prefix", "")) + name).upper()


def unreadable(error: ValidationError) -> list[tuple[str, str]]:
    """(variable, what is wrong) for each setting `error` (from `Settings()`) refused."""
    model = next((g for g in GROUPS if g.__name__ == error.title), None)
    out = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else ""
        out.append((variable(model, name) if model and name else "a setting", problem["msg"]))
    return out


def environment(**extra: str) -> dict[str, str]:
    """This process's environment with `extra` over it: for a process Cascade starts."""
    return {**os.environ, **extra}


def export(**values: str) -> None:
    """Hand settings on to the processes this one starts (the flow runs of `cascade serve`)."""
    os.environ.update(values)


def export_default(name: str, value: str) -> None:
    os.environ.setdefault(name, value)
