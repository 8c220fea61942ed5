"""Alembic environment for the Lakeforge catalog.

Lakeforge runs the migrations itself (``Catalog.open``) and hands over its connection in
``config.attributes["connection"]``. To write a new migration, build a Config in code as
``lakeforge.catalog._store.alembic_config()`` does and call ``alembic.command.revision(config,
message, autogenerate=True)`` with ``sqlalchemy.url`` set to a scratch database at head.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from lakeforge.catalog._models import Base

__all__: list[str] = []

VERSION_TABLE = "lakeforge_alembic_version"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url, or pass a connection in config.attributes")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("the Lakeforge catalog migrations run online only")
_run_online()
