"""create_app and serve: direct routes, and worker processes getting the parent's settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response

import lakeforge as lf
from lakeforge.config import Settings
from lakeforge.serve import _app
from lakeforge.serve.deps import served_directly
from tests.service_helpers import free_port


def pid_app() -> FastAPI:
    """A factory for the worker test: each worker says which process it is."""
    app = FastAPI()

    @app.get("/pid")
    async def pid() -> dict[str, int]:
        return {"pid": os.getpid()}

    return app


def test_served_directly_takes_only_endpoints_of_the_request() -> None:
    async def two(request: Request, k: int) -> Response:
        return Response()

    with pytest.raises(TypeError, match="only the request"):
        served_directly(two)


def test_a_marked_route_answers_first_and_stays_documented() -> None:
    router = APIRouter()

    @router.get("/hot/{key}", name="hot.read")
    @served_directly
    async def hot(request: Request) -> Response:
        return Response(request.path_params["key"])

    @router.get("/cold", name="cold.read")
    async def cold() -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    _app._serve_directly(app, router, "/api/v1")
    first = app.router.routes[0]
    assert isinstance(first, _app.DirectRoute)
    assert (first.path, first.name, first.methods) == ("/api/v1/hot/{key}", "hot.read", {"GET"})
    assert sum(isinstance(r, _app.DirectRoute) for r in app.router.routes) == 1
    assert "/api/v1/hot/{key}" in app.openapi()["paths"]


def test_a_marked_route_with_dependencies_is_refused() -> None:
    def guard() -> None:
        return None

    router = APIRouter(dependencies=[Depends(guard)])

    @router.get("/hot", name="hot.read")
    @served_directly
    async def hot(request: Request) -> Response:
        return Response()

    app = FastAPI()
    app.include_router(router)
    with pytest.raises(TypeError, match="dependencies"):
        _app._serve_directly(app, router, "")


def test_workers_get_the_settings_serve_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lf.Workspace.init(tmp_path / "shop").close()
    given = Settings(serve={"access_log": False, "auth_cache_s": 0, "workers": 2})  # type: ignore[arg-type]
    monkeypatch.setenv(_app.WORKSPACE_ENV, str(tmp_path / "shop"))
    monkeypatch.setenv(_app.SETTINGS_ENV, given.model_dump_json())
    app = _app.app_from_env()
    try:
        settings = app.state.lakeforge.settings
        assert settings.serve.auth_cache_s == 0 and not settings.serve.access_log
        assert json.loads(settings.model_dump_json()) == json.loads(given.model_dump_json())
    finally:
        app.state.lakeforge.close()


def test_workers_each_get_connections_and_stop_on_sigterm() -> None:
    port = free_port()
    options = _app.uvicorn_options(Settings(serve={"port": port, "log_level": "warning"}))  # type: ignore[arg-type]
    code = (
        "import json, sys; from lakeforge.serve._app import run_workers; "
        "run_workers('tests.unit.serve.test_app:pid_app', 2, json.loads(sys.argv[1]))"
    )
    parent = subprocess.Popen([sys.executable, "-c", code, json.dumps(options)])
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 120
        while len(pids) < 2 and time.monotonic() < deadline:
            try:  # a new connection each time: the kernel picks a worker's socket per connection
                pids.add(httpx.get(f"http://127.0.0.1:{port}/pid", timeout=5).json()["pid"])
            except httpx.HTTPError:
                time.sleep(0.2)
        assert len(pids) == 2 and parent.pid not in pids
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 0
    finally:
        if parent.poll() is None:
            parent.kill()
