"""Fixtures that run every catalog test on SQLite and on PostgreSQL.

PostgreSQL is expected on 127.0.0.1:5432 (user ``postgres``, trust auth, a database ``test``
to connect to); ``LAKEFORGE_TEST_PG_URL`` points elsewhere. Each test gets a fresh database.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from lakeforge.catalog import Catalog

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _conninfo(url: str) -> str:
    """A libpq URL (what psycopg.connect takes) from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_reachable(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(_conninfo(url), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _start_local_pg() -> None:
    try:
        versions = sorted(os.listdir("/etc/postgresql"))
        for version in versions:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                check=False,
                capture_output=True,
                timeout=60,
            )
    except (OSError, subprocess.SubprocessError):
        pass


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The URL of a reachable PostgreSQL database to run CREATE/DROP DATABASE from."""
    pytest.importorskip("psycopg")
    url = os.environ.get("LAKEFORGE_TEST_PG_URL", DEFAULT_PG_URL)
    if _pg_reachable(url):
        return url
    if os.environ.get("CI"):
        _start_local_pg()
        for _ in range(10):
            if _pg_reachable(url):
                return url
            time.sleep(1)
    tried = make_url(url).render_as_string(hide_password=True)
    pytest.skip(
        f"PostgreSQL not reachable on 127.0.0.1:5432 (tried {tried}; set LAKEFORGE_TEST_PG_URL "
        f"to a server URL such as {DEFAULT_PG_URL})"
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def catalog_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL to an empty database: a temp SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return

    import psycopg
    from psycopg import sql

    admin_url = request.getfixturevalue("pg_admin_url")
    name = f"lf_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(admin_url), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """An open, migrated catalog on an empty database."""
    opened = Catalog.open(catalog_url)
    try:
        yield opened
    finally:
        opened.close()
