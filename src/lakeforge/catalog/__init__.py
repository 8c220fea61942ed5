"""The metadata catalog: tables, contracts, runs, Delta versions, lineage, users and audit.

SQLite by default, PostgreSQL when ``LAKEFORGE_CATALOG__URL`` says so; the schema is kept
up to date by Alembic migrations shipped inside the package.

Example:
    >>> from lakeforge.catalog import Catalog
    >>> with Catalog.open("sqlite:///catalog.db") as catalog:  # doctest: +SKIP
    ...     catalog.register_table("orders", layer="bronze", path="/lake/bronze/orders")
"""

from lakeforge.catalog._records import (
    AuditRecord,
    ContractRecord,
    LineageEdge,
    LineageGraph,
    RunRecord,
    TableRecord,
    TableVersionRecord,
    UserRecord,
)
from lakeforge.catalog._store import RUN_STATUSES, Catalog, alembic_config

__all__ = [
    "RUN_STATUSES",
    "AuditRecord",
    "Catalog",
    "ContractRecord",
    "LineageEdge",
    "LineageGraph",
    "RunRecord",
    "TableRecord",
    "TableVersionRecord",
    "UserRecord",
    "alembic_config",
]
