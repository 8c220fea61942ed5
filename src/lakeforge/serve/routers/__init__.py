"""The API's routers, one per resource, all under ``/api/v1``."""

from lakeforge.serve.routers import audit, health, query, tables, users

__all__ = ["audit", "health", "query", "tables", "users"]
