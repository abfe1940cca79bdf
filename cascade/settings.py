"""Settings, read once from the environment (prefix `CASCADE_`), with defaults for localhost."""

from __future__ import annotations

from pathlib import Path

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

    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'cascade.db'}"
