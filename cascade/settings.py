"""Settings, read once from the environment (prefix `CASCADE_`), with defaults for localhost."""

from __future__ import annotations

from pathlib import Path

import pendulum
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASCADE_")

    data_dir: Path = Field(
        Path("data"), description="where Cascade keeps its SQLite store and local Prefect home"
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the store, e.g. postgresql+psycopg://u:p@host/cascade; "
        "default: SQLite at DATA_DIR/cascade.db",
    )

    smtp_url: str | None = Field(
        None,
        description="the SMTP server as an Apprise URL, e.g. mailtos://user:password@smtp.example.vn"
        "?from=cascade@example.vn (kept in the environment, never in campaign files)",
    )

    clock_shift: float = Field(
        0.0,
        description="seconds added to the wall clock by scheduled ticks: a drill of a campaign as of "
        "another moment, or an end-to-end test that needs a deadline to pass within seconds; 0 in "
        "production (serve says so when it is not)",
    )
    lock_wait: float = Field(
        120.0,
        description="seconds a tick waits for another tick of the same campaign to finish before it "
        "gives up (the other tick does the work; the next run catches up)",
    )

    work_pool: str = Field(
        "cascade",
        description="the Prefect work pool `cascade deploy` puts campaigns on when PREFECT_API_URL names "
        "the operator's own server (production: `prefect worker start --pool cascade`)",
    )

    def now(self) -> pendulum.DateTime:
        """The instant commands and scheduled ticks act at: the wall clock, shifted by
        `clock_shift` seconds in a drill (0 in production)."""
        return pendulum.now("UTC").add(seconds=self.clock_shift)

    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # contacts, secrets: owner only
        return f"sqlite:///{self.data_dir / 'cascade.db'}"
