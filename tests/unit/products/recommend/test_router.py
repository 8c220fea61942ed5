"""The REST routes: recommend, similar and events (a new event changes the next answer)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import polars as pl

import lakeforge as lf
from lakeforge.products.recommend import _router  # noqa: F401 - registers the routes
from lakeforge.products.recommend._workspace import TrainingFrames, fit_and_save
from lakeforge.serve import create_user
from tests.service_helpers import running_service

from .conftest import item_table, planted_interactions, user_table


def test_recommend_similar_and_events(tmp_path: Path):
    ws = lf.Workspace.init(tmp_path / "shop")
    frames = TrainingFrames(planted_interactions(), item_table(), user_table())
    fit_and_save(ws, ["itemknn"], frames)
    _, reader = create_user(ws.catalog, "viewer1", role="analyst")
    _, writer = create_user(ws.catalog, "engineer1", role="engineer")
    ws.close()
    read = {"Authorization": f"Bearer {reader}"}
    with (
        running_service(tmp_path, {}) as service,
        httpx.Client(base_url=service.base_url, timeout=30) as client,
    ):
        got = client.get("/api/v1/recommend/U001?k=3&explain=true", headers=read)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["count"] == 3 and body["data"][0]["because"]

        alike = client.get("/api/v1/similar/I020?k=4", headers=read)
        assert alike.status_code == 200 and alike.json()["count"] == 4
        assert client.get("/api/v1/similar/NOPE", headers=read).status_code == 404

        cold = client.get("/api/v1/recommend/NEW3?k=3&explain=true", headers=read).json()
        assert cold["data"][0]["reason"] == "popular_segment"
        posted = client.post(
            "/api/v1/events",
            json={"user_id": "NEW3", "item_id": "I020", "ts": 5},
            headers={"Authorization": f"Bearer {writer}"},
        )
        assert posted.status_code == 202, posted.text
        warm = client.get("/api/v1/recommend/NEW3?k=3&explain=true", headers=read).json()
        assert warm["data"][0]["reason"] == "history"
        assert warm["data"][0]["because"] == ["I020"]

        # user control: purchased items allowed on request, categories and caps
        bought = set(planted_interactions().filter(pl.col("user_id") == "U001")["item_id"])
        plain = client.get("/api/v1/recommend/U001?k=20", headers=read).json()["data"]
        again = client.get(
            "/api/v1/recommend/U001?k=20&exclude_purchased=false", headers=read
        ).json()["data"]
        assert not {d["item_id"] for d in plain} & bought
        assert {d["item_id"] for d in again} & bought
        categories = dict(item_table().select("item_id", "category").iter_rows())
        picky = client.get(
            "/api/v1/recommend/U001?k=10&not_interested=cat1&not_interested=cat0", headers=read
        ).json()["data"]
        assert picky and not {categories[d["item_id"]] for d in picky} & {"cat0", "cat1"}
        capped = client.get("/api/v1/recommend/U001?k=6&max_per_category=2", headers=read).json()[
            "data"
        ]
        per_category = Counter(categories[d["item_id"]] for d in capped)
        assert len(capped) == 6 and max(per_category.values()) <= 2
        bad = client.get("/api/v1/recommend/U001?k=0", headers=read)
        assert bad.status_code == 422
        assert client.get("/api/v1/recommend/U001").status_code == 401
        schema = client.get("/openapi.json").json()["paths"]["/api/v1/recommend/{user_id}"]
        names = {p["name"] for p in schema["get"]["parameters"]}
        assert {"user_id", "k", "explain", "exclude_purchased", "not_interested"} <= names


def test_recommend_route_is_guarded_audited_and_measured(tmp_path: Path):
    """Served ahead of FastAPI's routing, the hot route keeps every check of the service."""
    ws = lf.Workspace.init(tmp_path / "shop")
    fit_and_save(ws, ["itemknn"], TrainingFrames(planted_interactions(), item_table()))
    _, reader = create_user(ws.catalog, "analyst1", role="analyst")
    _, viewer = create_user(ws.catalog, "viewer1", role="viewer")
    _, admin = create_user(ws.catalog, "admin1", role="admin")
    ws.close()
    with (
        running_service(tmp_path, {}) as service,
        httpx.Client(base_url=service.base_url, timeout=30) as client,
    ):
        read = {"Authorization": f"Bearer {reader}"}
        assert client.get("/api/v1/recommend/U001?k=2", headers=read).status_code == 200
        # the scheme in any case, as FastAPI's HTTPBearer reads it; the cookie on GET
        lower = {"Authorization": f"bearer {reader}"}
        assert client.get("/api/v1/recommend/U002?k=2", headers=lower).status_code == 200
        cookie = {"Cookie": f"lakeforge_token={reader}"}
        assert client.get("/api/v1/recommend/U003?k=2", headers=cookie).status_code == 200
        basic = {"Authorization": f"Basic {reader}", **cookie}  # not a bearer: the cookie
        assert client.get("/api/v1/recommend/U004?k=2", headers=basic).status_code == 200

        denied = client.get("/api/v1/recommend/U001", headers={"Authorization": f"Bearer {viewer}"})
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "forbidden"
        unknown = client.get("/api/v1/recommend/U001", headers={"Authorization": "Bearer lf_x"})
        assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "unauthenticated"
        for _ in range(2):  # a query string validated once still fails every time
            bad = client.get("/api/v1/recommend/U001?k=0", headers=read)
            assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
        assert client.post("/api/v1/recommend/U001", headers=read).status_code == 405
        assert client.head("/api/v1/recommend/U001", headers=read).status_code == 405

        text = client.get("/metrics").text
        assert 'route="recommend.user",status="200"' in text
        assert 'route="recommend.user",status="403"' in text
        audit = client.get(
            "/api/v1/audit?since=1h&limit=100", headers={"Authorization": f"Bearer {admin}"}
        ).json()["data"]
        mine = [e for e in audit if e["endpoint"].startswith("GET /api/v1/recommend/")]
        assert {(e["action"], e["user"], e["status"]) for e in mine} == {
            ("recommend.user", "analyst1", 200),
            ("recommend.user", "viewer1", 403),
            ("recommend.user", None, 401),
            ("recommend.user", "analyst1", 422),
        }
        assert len(mine) == 8
        schema = client.get("/openapi.json").json()["paths"]["/api/v1/recommend/{user_id}"]
        assert list(schema) == ["get"] and schema["get"]["security"]
