"""Settings, read from the environment (``LAKEFORGE_*``, nested with ``__``).

Example: ``LAKEFORGE_CATALOG__URL=postgresql+psycopg://user@127.0.0.1/shop`` points the
catalog at PostgreSQL; ``LAKEFORGE_DATA`` says where the shared real datasets live.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "CatalogSettings",
    "IngestSettings",
    "QuerySettings",
    "ServeSettings",
    "Settings",
    "get_settings",
]


class CatalogSettings(BaseModel):
    """Where the metadata catalog lives; None means SQLite inside the workspace."""

    url: str | None = None
    echo: bool = False


class IngestSettings(BaseModel):
    """Defaults for ingestion."""

    chunk_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    sql_batch_rows: int = Field(default=50_000, ge=1)
    max_reject_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    threads: int = Field(default=0, ge=0, description="0 = one per core")


class QuerySettings(BaseModel):
    """Limits for user queries."""

    memory_limit: str = "4GB"
    threads: int = Field(default=0, ge=0)


class ServeSettings(BaseModel):
    """The REST service and dashboard (``lakeforge serve``); ``LAKEFORGE_SERVE__*``."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: str = "info"
    access_log: bool = Field(default=True, description="one JSON log line per request")
    query_timeout_s: float = Field(default=10.0, gt=0, description="SQL endpoint time limit")
    query_max_rows: int = Field(default=10_000, ge=1, description="SQL endpoint row limit")
    page_max_rows: int = Field(default=1000, ge=1, description="largest `limit` for row pages")
    auth_cache_s: float = Field(
        default=2.0, ge=0, description="how long a checked token is trusted before a new lookup"
    )
    snapshot_ttl_s: float = Field(
        default=1.0, ge=0, description="how often the latest version of a table is re-checked"
    )
    cache_mb: int = Field(default=1024, ge=0, description="memory for cached table snapshots")
    graceful_timeout_s: float = Field(default=10.0, ge=0, description="drain time on shutdown")
    cookie_secure: bool = Field(default=False, description="mark the sign-in cookie Secure")


class Settings(BaseSettings):
    """All Lakeforge settings; nested sections map to ``LAKEFORGE_<SECTION>__<KEY>``."""

    model_config = SettingsConfigDict(
        env_prefix="LAKEFORGE_", env_nested_delimiter="__", extra="ignore"
    )

    env: str = "development"
    user: str | None = None
    data: Path = Path("../shared/data")
    catalog: CatalogSettings = CatalogSettings()
    ingest: IngestSettings = IngestSettings()
    query: QuerySettings = QuerySettings()
    serve: ServeSettings = ServeSettings()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; call ``get_settings.cache_clear()`` in tests."""
    return Settings()
