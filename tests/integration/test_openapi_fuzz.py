"""Property-based fuzzing of every API operation from the OpenAPI schema (schemathesis).

Asserts no 5xx and that every response conforms to the schema it documents. Schemathesis'
own pytest plugin does not run under this pytest, so each operation's hypothesis strategy is
driven directly; examples per operation are bounded (``LAKEFORGE_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
import time

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.service_helpers import RunningService  # noqa: E402

# No 5xx, documented status codes and content types, bodies that match their schemas.
# (Not ``positive_data_acceptance``: a schema-valid cursor or filter can still be refused
# with a documented 400, which is the point.)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
MAX_EXAMPLES = int(os.environ.get("LAKEFORGE_FUZZ_EXAMPLES", "30"))


def _fuzzer(operation, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """A hypothesis test calling ``operation`` with generated cases."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

    return check


def test_api_never_5xx_and_matches_schema(service: RunningService) -> None:
    schema = schemathesis.openapi.from_url(f"{service.base_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    start = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        role = "engineer" if operation.path.endswith("/ingest") else "admin"
        headers = {"Authorization": f"Bearer {service.tokens[role]}"}

        check = _fuzzer(operation, headers)
        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
    assert time.monotonic() - start < 120
