"""Runtime configuration, read from ``COMPENDIUM_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting is documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="COMPENDIUM_", extra="ignore")

    database_url: str = "sqlite:///./compendium.db"
    # Browser origins allowed to call the API (CORS); empty: same origin only.
    cors_origins: list[str] = []
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Largest `first` a connection accepts; past it the query is refused.
    max_page_size: int = 100
    # How long a published review stays current before it is due for re-review.
    review_interval_days: int = 365


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
