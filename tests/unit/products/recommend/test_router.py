"""The REST routes: recommend, similar and events (a new event changes the next answer)."""

from __future__ import annotations

from pathlib import Path

import httpx

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
