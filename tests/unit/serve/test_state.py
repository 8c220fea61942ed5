"""The service's shared state: one blocking read for concurrent cache misses; the audit writer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lakeforge as lf
from lakeforge.config import Settings
from lakeforge.errors import AuthenticationError
from lakeforge.serve._audit import AuditWriter
from lakeforge.serve._state import ServiceState


@pytest.fixture
def state(tmp_path: Path) -> Iterator[ServiceState]:
    lf.Workspace.init(tmp_path / "shop").close()
    service = ServiceState(tmp_path / "shop", Settings())
    yield service
    service.close()


def test_concurrent_callers_share_one_read(state: ServiceState) -> None:
    calls: list[int] = []

    def read() -> int:
        calls.append(threading.get_ident())
        time.sleep(0.05)
        return 42

    async def many() -> list[int]:
        return await asyncio.gather(*(state.shared(("latest", "t"), read) for _ in range(32)))

    results = asyncio.run(many())

    assert results == [42] * 32
    assert len(calls) == 1


def test_every_waiting_caller_gets_the_error_and_a_later_call_reads_again(
    state: ServiceState,
) -> None:
    calls: list[int] = []

    def fail() -> int:
        calls.append(1)
        time.sleep(0.02)
        raise AuthenticationError("no such token")

    async def many() -> list[int | BaseException]:
        return await asyncio.gather(
            *(state.shared("k", fail) for _ in range(5)), return_exceptions=True
        )

    first = asyncio.run(many())
    second = asyncio.run(many())

    assert all(isinstance(r, AuthenticationError) for r in first + second)
    assert len(calls) == 2


def test_a_check_begun_before_forget_tokens_is_not_reused(
    state: ServiceState, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    release = threading.Event()

    def authenticate(token: str) -> None:
        calls.append(token)
        release.wait(5)
        raise AuthenticationError("revoked")

    monkeypatch.setattr(state, "authenticate", authenticate)

    async def around_a_revocation() -> list[object]:
        before = asyncio.ensure_future(state.caller_for("lf_a"))
        await asyncio.sleep(0.05)
        state.forget_tokens()
        after = asyncio.ensure_future(state.caller_for("lf_a"))
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(before, after, return_exceptions=True)

    results = asyncio.run(around_a_revocation())

    assert calls == ["lf_a", "lf_a"]
    assert all(isinstance(r, AuthenticationError) for r in results)


def test_unknown_token_fails_through_the_shared_read(state: ServiceState) -> None:
    with pytest.raises(AuthenticationError):
        asyncio.run(state.caller_for("lf_unknown"))


def test_flush_does_not_wait_out_the_linger(tmp_path: Path) -> None:
    ws = lf.Workspace.init(tmp_path / "shop")
    writer = AuditWriter(ws.catalog, linger_s=30)
    try:
        writer.submit(
            user="u", action="a", endpoint="GET /x", table="t", rows=1, status=200, detail=None
        )
        start = time.monotonic()

        writer.flush()

        assert time.monotonic() - start < 10
        (entry,) = ws.catalog.list_audit()
        assert (entry.user, entry.action, entry.rows) == ("u", "a", 1)
    finally:
        writer.close()
        ws.close()


def test_close_writes_what_is_queued(tmp_path: Path) -> None:
    ws = lf.Workspace.init(tmp_path / "shop")
    writer = AuditWriter(ws.catalog, linger_s=30)
    for i in range(3):
        writer.submit(
            user="u", action="a", endpoint=None, table=None, rows=i, status=200, detail=None
        )
    start = time.monotonic()

    writer.close()

    assert time.monotonic() - start < 10
    assert sorted(e.rows for e in ws.catalog.list_audit()) == [0, 1, 2]
    ws.close()
