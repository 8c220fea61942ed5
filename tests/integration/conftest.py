from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service_helpers import RunningService, build_workspace, running_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    root = tmp_path_factory.mktemp("service")
    tokens = build_workspace(root)
    with running_service(root, tokens) as running:
        yield running
