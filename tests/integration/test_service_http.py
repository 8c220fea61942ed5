"""The REST service over real HTTP: httpx against uvicorn on 127.0.0.1."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
import sqlalchemy as sa

from tests.service_helpers import CUSTOMERS, ORDERS, RunningService


@pytest.fixture
def client(service: RunningService) -> httpx.Client:
    with httpx.Client(base_url=service.base_url, timeout=30) as c:
        yield c


def get(
    client: httpx.Client, service: RunningService, role: str, path: str, **kw
) -> httpx.Response:
    return client.get(path, headers=service.headers(role), **kw)  # type: ignore[arg-type]


def sql(client: httpx.Client, service: RunningService, role: str, text: str) -> httpx.Response:
    return client.post("/api/v1/query", headers=service.headers(role), json={"sql": text})


# -- health, auth ---------------------------------------------------------------------------------
def test_health_and_readiness_need_no_token(client: httpx.Client) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    ready = client.get("/api/v1/ready").json()
    assert ready == {"status": "ready", "tables": 2}


def test_no_token_is_401_with_json_error(client: httpx.Client) -> None:
    response = client.get("/api/v1/tables")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(client: httpx.Client) -> None:
    response = client.get("/api/v1/tables", headers={"Authorization": "Bearer lf_nope"})
    assert response.status_code == 401


def test_cookie_is_accepted_on_get_but_not_on_post(service: RunningService) -> None:
    cookies = {"lakeforge_token": service.tokens["analyst"]}
    with httpx.Client(base_url=service.base_url, cookies=cookies) as with_cookie:
        assert with_cookie.get("/api/v1/tables").status_code == 200
        response = with_cookie.post("/api/v1/query", json={"sql": "select 1"})
        assert response.status_code == 401


MATRIX = [
    # (method, path, body, {role: status})
    ("GET", "/api/v1/tables", None, {"admin": 200, "engineer": 200, "analyst": 200, "viewer": 200}),
    ("GET", "/api/v1/tables/orders/history", None, {"viewer": 200}),
    ("GET", "/api/v1/tables/orders/rows", None, {"analyst": 200, "viewer": 403}),
    ("GET", "/api/v1/tables/orders/export", None, {"analyst": 200, "viewer": 403}),
    ("POST", "/api/v1/query", {"sql": "select 1 as x"}, {"analyst": 200, "viewer": 403}),
    ("GET", "/api/v1/tables/customers/quarantine", None, {"engineer": 200, "viewer": 403}),
    ("GET", "/api/v1/audit", None, {"admin": 200, "engineer": 403, "analyst": 403}),
    ("GET", "/api/v1/users", None, {"admin": 200, "engineer": 403, "viewer": 403}),
    ("POST", "/api/v1/tables/orders/ingest", b"", {"analyst": 403, "viewer": 403}),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX)
def test_permission_matrix(
    client: httpx.Client,
    service: RunningService,
    method: str,
    path: str,
    body: object,
    expected: dict[str, int],
) -> None:
    for role, status in expected.items():
        kwargs: dict[str, object] = {"headers": service.headers(role)}
        if isinstance(body, dict):
            kwargs["json"] = body
        elif isinstance(body, bytes):
            kwargs["content"] = body
        response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == status, (role, response.text)
        if status == 403:
            assert response.json()["error"]["code"] == "forbidden"


def test_me_reports_role_and_permissions(client: httpx.Client, service: RunningService) -> None:
    me = get(client, service, "analyst", "/api/v1/me").json()
    assert me["role"] == "analyst"
    assert "see_pii" not in me["permissions"]
    assert "query_sql" in me["permissions"]


# -- masking --------------------------------------------------------------------------------------
def test_rows_are_masked_for_analyst(client: httpx.Client, service: RunningService) -> None:
    page = get(client, service, "analyst", "/api/v1/tables/customers/rows?limit=3").json()
    first = page["data"][0]
    assert first["email"] == "p***@example.com"
    assert first["phone"] == "***01"
    assert first["full_name"] == "A. S."
    assert first["city"] == "Leeds"
    assert sorted(page["masked"]) == ["email", "full_name", "phone"]


@pytest.mark.parametrize("role", ["admin", "engineer"])
def test_rows_are_visible_with_pii_access(
    client: httpx.Client, service: RunningService, role: str
) -> None:
    page = get(client, service, role, "/api/v1/tables/customers/rows?limit=1").json()
    assert page["data"][0]["email"] == "person1@example.com"
    assert page["masked"] == []


@pytest.mark.parametrize(
    "query",
    [
        "select * from customers",
        "select email as e, full_name from customers",
        "select lower(email) || '' as e, substr(phone, 1, 50) as p from customers",
        "select c.email from orders o join customers c using (customer_id)",
        "select string_agg(email, ',') as e from customers",
        "with x as (select * from customers) select email from x",
        "select (select max(email) from customers) as e",
    ],
)
def test_sql_results_are_masked_for_analyst(
    client: httpx.Client, service: RunningService, query: str
) -> None:
    result = sql(client, service, "analyst", query)
    assert result.status_code == 200, result.text
    text = result.text
    assert "person1@" not in text and "person2@" not in text
    assert "900001" not in text and "Alice1" not in text
    assert result.json()["masked"] is True


def test_sql_results_are_visible_for_engineer(
    client: httpx.Client, service: RunningService
) -> None:
    result = sql(client, service, "engineer", "select email from customers order by 1 limit 1")
    assert result.json()["data"][0]["email"].endswith("@example.com")
    assert "***" not in result.json()["data"][0]["email"]


def test_export_is_masked_for_analyst(client: httpx.Client, service: RunningService) -> None:
    response = get(client, service, "analyst", "/api/v1/tables/customers/export?format=csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == CUSTOMERS
    assert all(r["email"].startswith("p***@") for r in rows)
    raw = get(client, service, "admin", "/api/v1/tables/customers/export?format=ndjson")
    assert "person1@example.com" in raw.text


def test_quarantine_is_masked_for_analyst(client: httpx.Client, service: RunningService) -> None:
    page = get(client, service, "analyst", "/api/v1/tables/customers/quarantine").json()
    assert page["count"] == 1
    row = page["data"][0]
    assert row["email"] == "b***@example.com"
    assert any("oops" in r for r in row["_reasons"])
    engineer = get(client, service, "engineer", "/api/v1/tables/customers/quarantine").json()
    assert engineer["data"][0]["email"] == "bad@example.com"


# -- rows: paging, filters, as_of ---------------------------------------------------------------
def test_cursor_paging_walks_every_row_once_in_key_order(
    client: httpx.Client, service: RunningService
) -> None:
    seen: list[int] = []
    url: str | None = "/api/v1/tables/orders/rows?limit=500&columns=order_id"
    while url:
        page = get(client, service, "analyst", url).json()
        assert page["count"] == ORDERS + 10
        assert page["columns"] == ["order_id"]
        seen += [r["order_id"] for r in page["data"]]
        url = page["next"]
    assert seen == list(range(1, ORDERS + 11))


def test_filters_and_as_of(client: httpx.Client, service: RunningService) -> None:
    page = get(
        client,
        service,
        "analyst",
        "/api/v1/tables/orders/rows",
        params=[("filter", "status:eq:shipped"), ("filter", "amount:ge:100"), ("limit", 5)],
    ).json()
    assert all(r["status"] == "shipped" and r["amount"] >= 100 for r in page["data"])
    assert page["count"] == sum(1 for i in range(1, ORDERS + 1) if i % 3 == 0 and i * 1.25 >= 100)
    listed = get(client, service, "analyst", "/api/v1/tables/orders/rows?filter=order_id:in:3,5,7")
    assert [r["order_id"] for r in listed.json()["data"]] == [3, 5, 7]
    old = get(client, service, "analyst", "/api/v1/tables/orders/rows?as_of=0&limit=1").json()
    assert old["count"] == ORDERS and old["version"] == 0
    liked = get(client, service, "analyst", "/api/v1/tables/orders/rows?filter=status:like:ship%")
    assert liked.json()["count"] == ORDERS // 3


def test_plain_pages_match_pages_encoded_per_request(
    client: httpx.Client, service: RunningService
) -> None:
    # Unfiltered pages come from rows encoded once per snapshot; filtered ones are encoded
    # per request. A filter that keeps every row must give the very same rows.
    for query in ("limit=7", "limit=50&cursor=", "limit=40"):
        plain = get(client, service, "analyst", f"/api/v1/tables/customers/rows?{query}")
        filtered = get(
            client,
            service,
            "analyst",
            f"/api/v1/tables/customers/rows?{query}&filter=customer_id:ge:0",
        )
        assert plain.status_code == filtered.status_code == 200
        assert plain.json()["data"] == filtered.json()["data"]
        assert plain.json()["masked"] == ["email", "phone", "full_name"]
    second = get(client, service, "analyst", "/api/v1/tables/orders/rows?limit=3").json()
    following = get(client, service, "analyst", second["next"]).json()
    assert [r["order_id"] for r in following["data"]] == [4, 5, 6]


def test_rows_route_documents_the_same_security_and_parameters(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    rows = paths["/api/v1/tables/{name}/rows"]["get"]
    export = paths["/api/v1/tables/{name}/export"]["get"]
    assert rows["security"] == export["security"]
    assert [p["name"] for p in rows["parameters"]] == [
        "name",
        "limit",
        "cursor",
        "columns",
        "filter",
        "as_of",
    ]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("filter=nope:eq:1", "query_error"),
        ("filter=amount:eq:abc", "query_error"),
        ("filter=amount:between:1", "query_error"),
        ("columns=order_id,nope", "query_error"),
        ("cursor=garbage", "query_error"),
        ("limit=5000", "query_error"),
        ("limit=0", "invalid_request"),
        ("as_of=99", "table_not_found"),
    ],
)
def test_bad_row_requests_are_4xx(
    client: httpx.Client, service: RunningService, query: str, code: str
) -> None:
    response = get(client, service, "analyst", f"/api/v1/tables/orders/rows?{query}")
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"] == code


def test_unknown_table_is_404(client: httpx.Client, service: RunningService) -> None:
    response = get(client, service, "analyst", "/api/v1/tables/nope/rows")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "table_not_found"


# -- metadata -------------------------------------------------------------------------------------
def test_tables_detail_history_quality_lineage(
    client: httpx.Client, service: RunningService
) -> None:
    tables = get(client, service, "viewer", "/api/v1/tables").json()
    assert {t["name"] for t in tables["data"]} == {"customers", "orders"}
    assert tables["count"] == 2 and tables["next"] is None
    detail = get(client, service, "viewer", "/api/v1/tables/customers").json()
    email = next(c for c in detail["columns"] if c["name"] == "email")
    assert email["pii"] == "email" and email["masked"] is True
    history = get(client, service, "viewer", "/api/v1/tables/orders/history").json()
    assert [v["version"] for v in history["data"]] == [0, 1]
    quality = get(client, service, "viewer", "/api/v1/tables/customers/quality").json()
    assert quality["status"] == "failed" and quality["failed_by_version"]
    lineage = get(client, service, "viewer", "/api/v1/tables/orders/lineage").json()
    assert {"source": "table:customers", "target": "table:orders"}.items() <= {
        k: v for e in lineage["edges"] for k, v in e.items() if k in ("source", "target")
    }.items() or any(e["source"] == "table:customers" for e in lineage["edges"])


def test_validation_errors_keep_the_error_shape(
    client: httpx.Client, service: RunningService
) -> None:
    response = client.post("/api/v1/query", headers=service.headers("analyst"), json={"q": 1})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["detail"]


def test_sql_row_limit_and_timeout(client: httpx.Client, service: RunningService) -> None:
    response = client.post(
        "/api/v1/query",
        headers=service.headers("analyst"),
        json={"sql": "select * from range(100000)", "limit": 10},
    )
    assert response.json()["count"] == 10 and response.json()["truncated"] is True


# -- users, ingest, audit, metrics -------------------------------------------------------------
def test_admin_adds_and_revokes_a_user(client: httpx.Client, service: RunningService) -> None:
    created = client.post(
        "/api/v1/users",
        headers=service.headers("admin"),
        json={"name": "newbie", "role": "viewer", "expires_in": "1d"},
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("lf_") and created.json()["expires_at"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=auth).json()["role"] == "viewer"
    revoked = client.delete("/api/v1/users/newbie/tokens", headers=service.headers("admin"))
    assert revoked.json() == {"revoked": 1}
    assert client.get("/api/v1/me", headers=auth).status_code == 401


def test_engineer_ingests_through_the_api(client: httpx.Client, service: RunningService) -> None:
    body = "order_id,customer_id,amount,status\n5001,1,9.5,paid\nbad,1,1,paid\n"
    response = client.post(
        "/api/v1/tables/orders/ingest",
        headers={**service.headers("engineer"), "content-type": "text/csv"},
        content=body,
    )
    assert response.status_code == 200, response.text
    assert response.json()["rows_written"] == 1 and response.json()["rows_quarantined"] == 1
    latest = get(client, service, "analyst", "/api/v1/tables/orders/rows?filter=order_id:eq:5001")
    assert latest.json()["count"] == 1
    metrics = client.get("/metrics").text
    assert 'lakeforge_ingests_total{status="succeeded",table="orders"} 1.0' in metrics


def test_metrics_count_requests_and_latency(client: httpx.Client, service: RunningService) -> None:
    get(client, service, "analyst", "/api/v1/tables")
    text = client.get("/metrics").text
    assert 'lakeforge_http_requests_total{method="GET",route="tables.list",status="200"}' in text
    assert "lakeforge_http_request_duration_seconds_bucket" in text


def test_every_call_is_in_the_audit_log(client: httpx.Client, service: RunningService) -> None:
    calls = [
        ("analyst", "GET", "/api/v1/tables/customers/rows?limit=7", 200, 7),
        ("viewer", "GET", "/api/v1/tables/customers/rows", 403, None),
        ("engineer", "GET", "/api/v1/tables/orders/history", 200, None),
        (None, "GET", "/api/v1/tables", 401, None),
    ]
    for role, method, path, status, _ in calls:
        headers = service.headers(role) if role else {}
        assert client.request(method, path, headers=headers).status_code == status
    sql(client, service, "analyst", "select count(*) from orders")
    entries = get(client, service, "admin", "/api/v1/audit?since=1h&limit=200").json()["data"]
    for role, method, path, status, rows in calls:
        match = [
            e
            for e in entries
            if e["endpoint"] == f"{method} {path.split('?')[0]}" and e["status"] == status
        ]
        assert match, (path, status)
        assert match[0]["user"] == (f"{role}1" if role else None)
        if rows is not None:
            assert match[0]["rows"] == rows and match[0]["table"] == "customers"
    query = [e for e in entries if e["action"] == "query" and e["user"] == "analyst1"]
    assert query[0]["detail"]["sql"] == "select count(*) from orders"


def test_audit_log_is_append_only(service: RunningService, client: httpx.Client) -> None:
    import lakeforge as lf

    assert get(client, service, "analyst", "/api/v1/tables").status_code == 200
    service.app.state.lakeforge.audit.flush()  # type: ignore[attr-defined]
    with lf.Workspace.open(service.workspace) as ws:
        assert ws.catalog.list_audit(limit=1)
        with pytest.raises(lf.errors.CatalogError), ws.catalog.engine.begin() as conn:
            try:
                conn.execute(sa.text("UPDATE audit_log SET user_name = 'x'"))
            except sa.exc.DBAPIError as exc:
                raise lf.errors.CatalogError(str(exc)) from exc
        with pytest.raises(sa.exc.DBAPIError), ws.catalog.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_log"))
