from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from lakeforge.catalog import Catalog
from lakeforge.errors import CatalogError, NotFoundError


def test_add_user_and_find_them_by_token(catalog: Catalog) -> None:
    # Setup
    added = catalog.add_user("ana", role="admin", token_hash="hash-ana")
    catalog.add_user("bo", role="reader", token_hash="hash-bo")

    # Run
    found = catalog.get_user_by_token_hash("hash-ana")

    # Assert
    assert found == added
    assert (found.name, found.role) == ("ana", "admin")
    assert found.created_at.tzinfo is UTC
    assert [user.name for user in catalog.list_users()] == ["ana", "bo"]
    assert catalog.get_user_by_token_hash("unknown") is None


def test_a_user_may_hold_several_tokens_and_revoking_ends_them_all(catalog: Catalog) -> None:
    # Setup
    catalog.add_user("ana", role="writer", token_hash="t1")
    catalog.add_token("ana", "t2")
    catalog.add_user("bo", role="reader", token_hash="t3")
    assert catalog.get_user_by_token_hash("t2") is not None

    # Run
    revoked = catalog.revoke_user_tokens("ana")

    # Assert
    assert revoked == 2
    assert catalog.get_user_by_token_hash("t1") is None
    assert catalog.get_user_by_token_hash("t2") is None
    assert catalog.get_user_by_token_hash("t3") is not None
    assert catalog.revoke_user_tokens("ana") == 0
    catalog.add_token("ana", "t4")
    user = catalog.get_user_by_token_hash("t4")
    assert user is not None
    assert user.name == "ana"


def test_expired_tokens_are_rejected(catalog: Catalog) -> None:
    # Setup
    now = datetime.now(UTC)
    catalog.add_user("ana", role="reader", token_hash="old", expires_at=now - timedelta(minutes=1))
    catalog.add_token("ana", "fresh", expires_at=now + timedelta(hours=1))
    tokyo = timezone(timedelta(hours=9))
    catalog.add_token("ana", "fresh-tokyo", expires_at=(now + timedelta(hours=1)).astimezone(tokyo))

    # Run / Assert
    assert catalog.get_user_by_token_hash("old") is None
    assert catalog.get_user_by_token_hash("fresh") is not None
    assert catalog.get_user_by_token_hash("fresh-tokyo") is not None


def test_duplicate_users_tokens_and_unknown_users_are_refused(catalog: Catalog) -> None:
    # Setup
    catalog.add_user("ana", role="reader", token_hash="t1")

    # Run / Assert
    with pytest.raises(CatalogError, match="already exists"):
        catalog.add_user("ana", role="admin", token_hash="t2")
    with pytest.raises(CatalogError, match="already exists"):
        catalog.add_token("ana", "t1")
    with pytest.raises(NotFoundError, match="no user `bo`"):
        catalog.add_token("bo", "t9")
    with pytest.raises(NotFoundError, match="no user `bo`"):
        catalog.revoke_user_tokens("bo")
    assert [user.role for user in catalog.list_users()] == ["reader"]
    assert catalog.get_user_by_token_hash("t2") is None


def test_audit_entries_are_listed_newest_first_and_filtered(catalog: Catalog) -> None:
    # Setup
    catalog.append_audit(user="ana", action="query", endpoint="/query", table="orders", rows=5)
    catalog.append_audit(user="bo", action="read", table="customers", status=200)
    catalog.append_audit(
        user="ana", action="ingest", table="customers", status=201, detail={"mode": "append"}
    )
    catalog.append_audit(user=None, action="login_failed", status=401)

    # Run
    everything = catalog.list_audit()
    by_ana = catalog.list_audit(user="ana")
    customers = catalog.list_audit(table="customers")
    limited = catalog.list_audit(limit=2)

    # Assert
    assert [e.action for e in everything] == ["login_failed", "ingest", "read", "query"]
    assert [e.action for e in by_ana] == ["ingest", "query"]
    assert [e.action for e in customers] == ["ingest", "read"]
    assert [e.action for e in limited] == ["login_failed", "ingest"]
    assert everything[1].detail == {"mode": "append"}
    assert (everything[3].endpoint, everything[3].rows, everything[3].status) == ("/query", 5, None)
    assert everything[0].user is None
    assert everything[0].at.tzinfo is UTC


def test_audit_since_filter_uses_utc_instants(catalog: Catalog) -> None:
    # Setup
    catalog.append_audit(user="ana", action="first")
    catalog.append_audit(user="ana", action="second")
    catalog.append_audit(user="ana", action="third")
    second_at = catalog.list_audit()[1].at
    in_new_york = second_at.astimezone(timezone(timedelta(hours=-5)))

    # Run
    since_utc = catalog.list_audit(since=second_at)
    since_local = catalog.list_audit(since=in_new_york)
    since_future = catalog.list_audit(since=datetime.now(UTC) + timedelta(days=1))

    # Assert
    assert [e.action for e in since_utc] == ["third", "second"]
    assert since_local == since_utc
    assert since_future == []


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET action = 'tampered'", "DELETE FROM audit_log"],
    ids=["update", "delete"],
)
def test_raw_sql_cannot_change_the_audit_log(
    catalog: Catalog, catalog_url: str, statement: str
) -> None:
    # Setup
    catalog.append_audit(user="ana", action="query", table="orders")
    engine = create_engine(catalog_url)

    # Run
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()

    # Assert
    assert [entry.action for entry in catalog.list_audit()] == ["query"]
