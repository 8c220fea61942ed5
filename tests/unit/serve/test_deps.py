"""deps: the hot routes' token reading agrees with FastAPI's security schemes."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from lakeforge.serve import deps

HEADERS = [
    {},
    {"authorization": "Bearer lf_abc"},
    {"authorization": "bearer lf_abc"},
    {"authorization": "BEARER   lf_abc  "},
    {"authorization": "Bearer "},
    {"authorization": "Bearer"},
    {"authorization": "Basic dXNlcjpwdw=="},
    {"authorization": ""},
    {"cookie": "lakeforge_token=lf_cookie"},
    {"cookie": "lakeforge_token="},
    {"cookie": "other=1"},
    {"authorization": "Bearer lf_abc", "cookie": "lakeforge_token=lf_cookie"},
    {"authorization": "Basic x", "cookie": "lakeforge_token=lf_cookie"},
]


def request(method: str, headers: dict[str, str]) -> Request:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": method, "path": "/", "headers": raw})


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
@pytest.mark.parametrize("headers", HEADERS)
def test_request_token_reads_what_the_security_schemes_read(
    method: str, headers: dict[str, str]
) -> None:
    async def through_schemes() -> str | None:
        req = request(method, headers)
        return deps._token(req, await deps._bearer(req), await deps._cookie(req))

    assert deps._request_token(request(method, headers)) == asyncio.run(through_schemes())
