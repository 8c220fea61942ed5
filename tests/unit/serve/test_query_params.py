"""Query parameters validated as one model: same values, errors and OpenAPI as declared ones."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request

from lakeforge.serve._models import RowsQuery
from lakeforge.serve._query_params import openapi_parameters, parse_query


def _request(params: list[tuple[str, str]]) -> Request:
    query = urlencode(params).encode()
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query})


def _declared_app() -> FastAPI:
    """The rows route's parameters declared one by one, as FastAPI documents them."""
    app = FastAPI()

    @app.get("/{name}/rows")
    async def rows(
        name: str,
        limit: Annotated[int, Query(ge=1, le=10_000, description="rows per page")] = 100,
        cursor: Annotated[str | None, Query(max_length=2000, description="from `next`")] = None,
        columns: Annotated[
            str | None, Query(max_length=10_000, description="comma-separated columns")
        ] = None,
        filter: Annotated[
            list[str] | None,
            Query(
                max_length=50,
                description="`column:op:value`, op in eq, ne, lt, le, gt, ge, in (a,b), like",
            ),
        ] = None,
        as_of: Annotated[int | None, Query(ge=0, le=2**31, description="table version")] = None,
    ) -> None:
        return None

    return app


def test_openapi_parameters_match_declared_parameters() -> None:
    declared = _declared_app().openapi()["paths"]["/{name}/rows"]["get"]["parameters"]

    assert openapi_parameters(RowsQuery, path=("name",)) == declared


def test_values_are_coerced_and_repeated_parameters_kept() -> None:
    request = _request(
        [("limit", "7"), ("filter", "a:eq:1"), ("filter", "b:in:2,3"), ("other", "x")]
    )

    query = parse_query(request, RowsQuery)

    assert query.limit == 7
    assert query.filter == ["a:eq:1", "b:in:2,3"]
    assert query.cursor is None and query.as_of is None


def test_defaults_without_parameters() -> None:
    assert parse_query(_request([]), RowsQuery) == RowsQuery()


@pytest.mark.parametrize(
    ("params", "loc", "kind"),
    [
        ([("limit", "0")], ("query", "limit"), "greater_than_equal"),
        ([("limit", "x")], ("query", "limit"), "int_parsing"),
        ([("as_of", "")], ("query", "as_of"), "int_parsing"),
        ([("filter", "f")] * 51, ("query", "filter"), "too_long"),
    ],
)
def test_bad_values_raise_request_validation_errors(
    params: list[tuple[str, str]], loc: tuple[str, ...], kind: str
) -> None:
    with pytest.raises(RequestValidationError) as raised:
        parse_query(_request(params), RowsQuery)

    (error,) = raised.value.errors()
    assert error["loc"] == loc and error["type"] == kind
    assert "url" not in error
