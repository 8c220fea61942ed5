"""The FastAPI application: API routers, dashboard, error handlers, middleware, lifespan.

Example:
    >>> from lakeforge.serve import create_app
    >>> app = create_app("./shop")  # doctest: +SKIP
    >>> register_product(app, forecast_router, page=ProductPage("/forecast", "Forecast"))
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match, Route
from starlette.types import Scope

from lakeforge._version import __version__
from lakeforge.config import Settings, get_settings
from lakeforge.serve._audit import AuditMiddleware
from lakeforge.serve._errors import install_error_handlers
from lakeforge.serve._logging import AccessLogMiddleware
from lakeforge.serve._metrics import MetricsMiddleware
from lakeforge.serve._products import PRODUCTS, ProductPage
from lakeforge.serve._state import ServiceState
from lakeforge.serve.deps import DIRECT_MARK
from lakeforge.serve.routers import audit, health, query, tables, users

__all__ = [
    "API_PREFIX",
    "PRODUCTS",
    "DirectRoute",
    "ProductPage",
    "create_app",
    "register_product",
]

API_PREFIX = "/api/v1"
WORKSPACE_ENV = "LAKEFORGE_SERVE_WORKSPACE"
SETTINGS_ENV = "LAKEFORGE_SERVE_SETTINGS"  # the parent's settings, as JSON, for each worker
log = logging.getLogger("lakeforge.serve")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_WORKER_GRACE_S = 30.0  # a worker exiting sooner than this after its start stops the service


class DirectRoute(Route):
    """An API route's endpoint served by Starlette's routing, ahead of FastAPI's.

    For hot routes marked :func:`lakeforge.serve.deps.served_directly`: their endpoint takes
    the request and returns a response, so FastAPI adds nothing to a call but its routing
    (in FastAPI 0.16x about 13 route matches and a dependency solve per request: 0.06 ms of
    CPU, a quarter of what computing a top-10 costs). The :class:`APIRoute` stays where it
    was, for the OpenAPI schema; this copy answers first, with the same path, methods (no
    implicit HEAD) and name (``scope["route"]``, which the audit log and the metrics read).
    Its errors go to the app's exception handlers like any route's.
    """

    def __init__(self, path: str, route: APIRoute) -> None:
        super().__init__(
            path,
            route.endpoint,
            methods=list(route.methods or ()),
            name=route.name,
            include_in_schema=False,
        )
        self.methods = set(route.methods or ())

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Starlette's match, recording this route in the scope as FastAPI's routes do."""
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def _serve_directly(app: FastAPI, router: APIRouter, prefix: str) -> None:
    """Put a :class:`DirectRoute` first for each of the router's marked routes.

    Raises:
        TypeError: a marked route has dependencies (its router's or the app's): a direct
            route would skip them.
    """
    for route in router.routes:
        if isinstance(route, APIRoute) and getattr(route.endpoint, DIRECT_MARK, False):
            if route.dependant.dependencies or app.router.dependencies:
                raise TypeError(
                    f"route {route.name} has dependencies, which serving it directly would skip"
                )
            app.router.routes.insert(0, DirectRoute(prefix + route.path, route))


def register_product(app: FastAPI, router: APIRouter, *, page: ProductPage | None = None) -> None:
    """Mount a data product's router under ``/api/v1`` (and its page in the navigation).

    The router's own prefix names the product, e.g. ``APIRouter(prefix="/forecast")``;
    its routes use :mod:`lakeforge.serve.deps` for the workspace, the caller and permissions,
    and are audited, measured and error-mapped like every other route. Routes whose endpoint
    is marked :func:`~lakeforge.serve.deps.served_directly` are answered by a
    :class:`DirectRoute`.
    """
    app.include_router(router, prefix=API_PREFIX)
    _serve_directly(app, router, API_PREFIX)
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
    """Factory for uvicorn's ``--workers`` mode: workspace and settings from the environment.

    Each worker builds its own app (and loads products' models on first use); the settings
    are the ones :func:`serve` was given, not only those the environment alone would give.
    """
    raw = os.environ.get(SETTINGS_ENV)
    settings = Settings.model_validate_json(raw) if raw else None
    return create_app(os.environ.get(WORKSPACE_ENV, "."), settings)


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
    """Run the service with uvicorn until SIGINT / SIGTERM (then drain and flush).

    With ``serve.workers`` > 1, each worker process builds its own app (products load their
    models in each) and listens on its own socket (see :func:`run_workers`).
    """
    import tempfile

    import uvicorn

    settings = settings or get_settings()
    options = uvicorn_options(settings)
    workers = settings.serve.workers
    if workers <= 1:
        uvicorn.run(create_app(workspace_path, settings), **options)
        return
    os.environ[WORKSPACE_ENV] = str(Path(workspace_path).resolve())
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    with tempfile.TemporaryDirectory(prefix="lakeforge-metrics-") as metrics_dir:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", metrics_dir)
        run_workers("lakeforge.serve._app:app_from_env", workers, options)


def _listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets bound to one address with SO_REUSEPORT, or one without it.

    The kernel spreads new connections across the sockets of a SO_REUSEPORT group (only
    processes of the same user may join one). Where the platform lacks the option, one
    plain socket comes back.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reuse_port = getattr(socket, "SO_REUSEPORT", None)
    sockets: list[socket.socket] = []
    for _ in range(count if reuse_port is not None else 1):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port is not None:
            sock.setsockopt(socket.SOL_SOCKET, reuse_port, 1)
        sock.bind((host, port))
        port = sock.getsockname()[1]  # port 0: the others join the one the first got
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


def _worker(config: Any, sock: socket.socket) -> None:
    """One worker process: uvicorn serving ``config``'s app on its own listening socket."""
    import uvicorn

    config.configure_logging()
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(app: str, workers: int, options: dict[str, Any]) -> None:
    """Serve the app factory ``app`` ("module:function") from ``workers`` processes.

    uvicorn's own ``workers=`` shares one listening socket, and the first worker to wake
    takes every pending connection: 32 keep-alive clients arriving together all land on
    one worker while the others idle. Here each worker has its own SO_REUSEPORT socket on
    the same address, so the kernel spreads new connections evenly. SIGINT or SIGTERM stops
    the workers gracefully (each drains, then flushes its audit log); a worker that dies
    after startup is replaced, one that dies within its first 30 s stops the service.
    """
    import multiprocessing
    import threading

    import uvicorn

    config = uvicorn.Config(app, factory=True, **options)
    sockets = _listening_sockets(config.host, config.port, workers)
    if len(sockets) < workers:  # no SO_REUSEPORT: uvicorn's supervisor, one shared socket
        uvicorn.run(app, factory=True, workers=workers, **options)
        return
    spawn = multiprocessing.get_context("spawn")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}

    def start(sock: socket.socket) -> tuple[Any, float]:
        process = spawn.Process(target=_worker, args=(config, sock), name="lakeforge-worker")
        process.start()
        return process, time.monotonic()

    log.info("serving http://%s:%d with %d workers", config.host, config.port, workers)
    running = [start(sock) for sock in sockets]
    failed = False
    try:
        while not stop.wait(0.5):
            for number, (process, started) in enumerate(running):
                if process.is_alive():
                    continue
                if time.monotonic() - started < _WORKER_GRACE_S:
                    log.error("worker %d exited while starting (%s)", number, process.exitcode)
                    failed = True
                    stop.set()
                    break
                log.warning("worker %d exited (%s); starting another", number, process.exitcode)
                running[number] = start(sockets[number])
    finally:
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn drains, then the lifespan shutdown
        for process, _ in running:
            process.join(timeout=float(options.get("timeout_graceful_shutdown") or 0) + 20)
            if process.is_alive():
                process.kill()
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise SystemExit(3)
