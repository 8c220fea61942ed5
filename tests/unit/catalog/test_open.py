from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lakeforge.catalog import Catalog
from lakeforge.catalog._models import Base
from lakeforge.errors import CatalogError


def test_open_twice_keeps_data_and_schema_version(catalog_url: str) -> None:
    # Setup
    with Catalog.open(catalog_url) as first:
        first.register_table("orders", layer="bronze", path="/lake/bronze/orders")

    # Run
    with Catalog.open(catalog_url) as second:
        tables = second.list_tables()
        with second.engine.connect() as conn:
            revisions = conn.execute(
                text("SELECT version_num FROM lakeforge_alembic_version")
            ).all()

    # Assert
    assert [table.name for table in tables] == ["orders"]
    assert revisions == [("0001",)]


def test_models_match_migrations(catalog: Catalog) -> None:
    # Setup
    engine = catalog.engine

    # Run
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": "lakeforge_alembic_version"}
        )
        diff = compare_metadata(context, Base.metadata)

    # Assert
    assert diff == []


def test_concurrent_opens_of_a_new_catalog_all_succeed(catalog_url: str) -> None:
    # Setup
    def open_and_register(index: int) -> str:
        with Catalog.open(catalog_url) as opened:
            return opened.register_table(f"t{index}", layer="bronze", path=f"/lake/t{index}").name

    # Run
    with ThreadPoolExecutor(max_workers=4) as pool:
        names = list(pool.map(open_and_register, range(4)))

    # Assert
    with Catalog.open(catalog_url) as catalog:
        assert sorted(t.name for t in catalog.list_tables()) == sorted(names)


def test_unreachable_catalog_raises_catalog_error_with_a_hint(backend: str, tmp_path: Path) -> None:
    # Setup: a directory is no SQLite file; nothing listens on port 1
    url = (
        f"sqlite:///{tmp_path}"
        if backend == "sqlite"
        else "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/nowhere?connect_timeout=2"
    )

    # Run
    with pytest.raises(CatalogError) as caught:
        Catalog.open(url)

    # Assert
    message = str(caught.value)
    assert message.startswith("cannot reach the catalog at ")
    assert "check LAKEFORGE_CATALOG__URL" in message
    assert "hunter2" not in message


def test_repr_hides_the_password(catalog_url: str, backend: str) -> None:
    # Setup: trust auth ignores the password, so the catalog still opens
    url = (
        catalog_url
        if backend == "sqlite"
        else make_url(catalog_url).set(password="hunter2").render_as_string(hide_password=False)
    )

    # Run
    with Catalog.open(url) as catalog:
        shown = repr(catalog)

    # Assert
    assert "hunter2" not in shown
    assert shown.startswith(f"Catalog('{backend}")
    assert catalog.url == url


def test_closed_catalog_refuses_calls(catalog: Catalog) -> None:
    # Setup
    catalog.close()

    # Run / Assert
    with pytest.raises(CatalogError, match="closed"):
        catalog.list_tables()


def test_bare_postgresql_scheme_uses_psycopg(catalog_url: str, backend: str) -> None:
    # Setup
    url = catalog_url.replace("postgresql+psycopg://", "postgresql://")

    # Run
    with Catalog.open(url) as catalog:
        driver = catalog.engine.dialect.driver

    # Assert
    assert driver == ("psycopg" if backend == "postgresql" else "pysqlite")


def test_unsupported_or_malformed_url_is_refused() -> None:
    # Run / Assert (no database is touched, so this runs once)
    with pytest.raises(CatalogError, match="SQLite or PostgreSQL"):
        Catalog.open("mysql://root@localhost/db")
    with pytest.raises(CatalogError, match="not a database URL"):
        Catalog.open("no url at all")


def test_raw_engine_sees_the_audit_triggers(catalog_url: str, backend: str) -> None:
    # Setup
    engine = create_engine(catalog_url)

    # Run
    with Catalog.open(catalog_url), engine.connect() as conn:
        if backend == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        else:
            query = (
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid = 'audit_log'::regclass ORDER BY tgname"
            )
        triggers = [row[0] for row in conn.execute(text(query))]
    engine.dispose()

    # Assert
    assert len(triggers) >= 2
    assert all(name.startswith("audit_log_") for name in triggers)
