"""The FastAPI application: API routers, dashboard, error handlers, middleware, lifespan.

Example:
    >>> from lakeforge.serve import create_app
    >>> app = create_app("./shop")  # doctest: +SKIP
    >>> register_product(app, forecast_router, page=ProductPage("/forecast", "Forecast"))
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from lakeforge._version import __version__
from lakeforge.config import Settings, get_settings
from lakeforge.serve._audit import AuditMiddleware
from lakeforge.serve._errors import install_error_handlers
from lakeforge.serve._logging import AccessLogMiddleware
from lakeforge.serve._metrics import MetricsMiddleware
from lakeforge.serve._products import PRODUCTS, ProductPage
from lakeforge.serve._state import ServiceState
from lakeforge.serve.routers import audit, health, query, tables, users

__all__ = ["API_PREFIX", "PRODUCTS", "ProductPage", "create_app", "register_product"]

API_PREFIX = "/api/v1"
WORKSPACE_ENV = "LAKEFORGE_SERVE_WORKSPACE"
log = logging.getLogger("lakeforge.serve")


def register_product(app: FastAPI, router: APIRouter, *, page: ProductPage | None = None) -> None:
    """Mount a data product's router under ``/api/v1`` (and its page in the navigation).

    The router's own prefix names the product, e.g. ``APIRouter(prefix="/forecast")``;
    its routes use :mod:`lakeforge.serve.deps` for the workspace, the caller and permissions,
    and are audited, measured and error-mapped like every other route.
    """
    app.include_router(router, prefix=API_PREFIX)
    if page is not None:
        state: ServiceState = app.state.lakeforge
        state.products.append(page)


#: Modules whose import adds a product's router to PRODUCTS (one line per product).
PRODUCT_MODULES = (
    "lakeforge.products.forecast._router",
    "lakeforge.products.inventory._router",
    "lakeforge.products.recommend._router",
)


def _import_products() -> None:
    """Import each product's router; a product whose extra is not installed is skipped."""
    import importlib
    import logging

    for name in PRODUCT_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # e.g. lakeforge[recommend] not installed
            logging.getLogger("lakeforge.serve").info("product %s not available: %s", name, exc)


def create_app(workspace_path: str | Path = ".", settings: Settings | None = None) -> FastAPI:
    """Build the service for the workspace at ``workspace_path``.

    Raises:
        WorkspaceError: no workspace there.
    """
    settings = settings or get_settings()
    state = ServiceState(workspace_path, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("serving workspace %s", state.workspace.root)
        try:
            yield
        finally:
            log.info("shutting down: flushing the audit log")
            state.close()

    app = FastAPI(
        title="Lakeforge",
        version=__version__,
        summary="Tables, rows, SQL, quarantine, lineage and audit of a Lakeforge workspace.",
        description=(
            "Authenticate with `Authorization: Bearer <token>` "
            "(`lakeforge users add NAME --role analyst`). Lists are `{data, count, next}`; "
            "errors are `{error: {code, message}}`. PII columns are masked for roles without "
            "PII access."
        ),
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.lakeforge = state
    install_error_handlers(app)
    # Routes are matched in order, each router tried costing a few microseconds: the busiest
    # (table rows, then the products' hot reads such as recommendations) come first.
    app.include_router(tables.router, prefix=API_PREFIX)
    _import_products()
    for router, page in PRODUCTS:
        register_product(app, router, page=page)
    for router in (query.router, audit.router, users.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(health.metrics_router)
    from lakeforge.serve.dashboard import install_dashboard

    install_dashboard(app)
    app.add_middleware(AuditMiddleware, writer_of=lambda: state.audit)
    if settings.serve.access_log:
        app.add_middleware(AccessLogMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn's ``--workers`` mode: the workspace comes from the environment."""
    return create_app(os.environ.get(WORKSPACE_ENV, "."))


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` from the serve settings."""
    from lakeforge.serve._logging import log_config

    serve = settings.serve
    return {
        "host": serve.host,
        "port": serve.port,
        "log_config": log_config(serve.log_level),
        "access_log": False,
        "timeout_graceful_shutdown": serve.graceful_timeout_s,
        "server_header": False,
        "proxy_headers": False,
    }


def serve(workspace_path: str | Path, settings: Settings | None = None) -> None:
    """Run the service with uvicorn until SIGINT / SIGTERM (then drain and flush)."""
    import tempfile

    import uvicorn

    settings = settings or get_settings()
    options = uvicorn_options(settings)
    workers = settings.serve.workers
    if workers <= 1:
        uvicorn.run(create_app(workspace_path, settings), **options)
        return
    os.environ[WORKSPACE_ENV] = str(Path(workspace_path).resolve())
    with tempfile.TemporaryDirectory(prefix="lakeforge-metrics-") as metrics_dir:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", metrics_dir)
        uvicorn.run("lakeforge.serve._app:app_from_env", factory=True, workers=workers, **options)
