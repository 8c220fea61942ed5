from __future__ import annotations

import json
from itertools import pairwise

import pytest

from lakeforge.catalog import Catalog
from lakeforge.errors import CatalogError

CHAIN = ["file:/in/orders.csv", "table:bronze_orders", "table:silver_orders", "table:gold_sales"]


@pytest.fixture
def chain(catalog: Catalog) -> Catalog:
    """file -> bronze -> silver -> gold: a three-hop chain."""
    for source, target in pairwise(CHAIN):
        catalog.add_lineage(source, target, kind="ingest" if source.startswith("file:") else "sql")
    return catalog


def test_upstream_follows_the_chain_back_to_the_file(chain: Catalog) -> None:
    # Run
    graph = chain.lineage("table:gold_sales", direction="upstream")

    # Assert
    assert graph.nodes == list(reversed(CHAIN))
    assert {(e.source, e.target) for e in graph.edges} == set(pairwise(CHAIN))


def test_downstream_follows_the_chain_forward(chain: Catalog) -> None:
    # Run
    graph = chain.lineage("file:/in/orders.csv", direction="downstream")

    # Assert
    assert graph.nodes == CHAIN
    assert len(graph.edges) == 3


def test_both_directions_from_the_middle(chain: Catalog) -> None:
    # Run
    graph = chain.lineage("table:bronze_orders", direction="both")

    # Assert
    assert graph.nodes[0] == "table:bronze_orders"
    assert set(graph.nodes) == set(CHAIN)
    assert len(graph.edges) == 3


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (0, ["table:gold_sales"]),
        (1, ["table:gold_sales", "table:silver_orders"]),
        (2, ["table:gold_sales", "table:silver_orders", "table:bronze_orders"]),
        (3, list(reversed(CHAIN))),
    ],
)
def test_depth_limits_the_hops(chain: Catalog, depth: int, expected: list[str]) -> None:
    # Run
    graph = chain.lineage("table:gold_sales", direction="upstream", depth=depth)

    # Assert
    assert graph.nodes == expected
    assert len(graph.edges) == depth


def test_both_does_not_pull_in_siblings(catalog: Catalog) -> None:
    # Setup: t feeds u; file:y also feeds u but is not related to t
    catalog.add_lineage("file:/x.csv", "table:t", kind="ingest")
    catalog.add_lineage("table:t", "table:u", kind="sql")
    catalog.add_lineage("file:/y.csv", "table:u", kind="ingest")

    # Run
    graph = catalog.lineage("table:t")

    # Assert
    assert graph.nodes == ["table:t", "file:/x.csv", "table:u"]


def test_add_lineage_is_idempotent_and_the_graph_is_json_ready(catalog: Catalog) -> None:
    # Setup
    run_id = catalog.start_run("ingest", table="t")

    # Run
    catalog.add_lineage("file:/x.csv", "table:t", kind="ingest", run_id=run_id)
    catalog.add_lineage("file:/x.csv", "table:t", kind="ingest", run_id=run_id)
    graph = catalog.lineage("table:t")

    # Assert
    assert len(graph.edges) == 1
    assert graph.edges[0].run_id == run_id
    as_dict = json.loads(json.dumps(graph.to_dict()))
    assert as_dict["nodes"] == ["table:t", "file:/x.csv"]
    assert as_dict["edges"][0]["kind"] == "ingest"


def test_cycles_terminate(catalog: Catalog) -> None:
    # Setup
    catalog.add_lineage("table:a", "table:b", kind="sql")
    catalog.add_lineage("table:b", "table:a", kind="sql")

    # Run
    graph = catalog.lineage("table:a", depth=50)

    # Assert
    assert sorted(graph.nodes) == ["table:a", "table:b"]
    assert len(graph.edges) == 2


def test_unknown_node_and_bad_direction(catalog: Catalog) -> None:
    # Run / Assert
    assert catalog.lineage("table:nothing").nodes == ["table:nothing"]
    with pytest.raises(CatalogError, match="direction 'sideways'"):
        catalog.lineage("table:t", direction="sideways")


def test_cursors_are_kept_per_table_and_source(catalog: Catalog) -> None:
    # Setup
    catalog.set_cursor("orders", "sql:postgresql://u@h/db#abc", "2024-01-01")
    catalog.set_cursor("orders", "sql:postgresql://u@h/db#def", "7")

    # Run
    catalog.set_cursor("orders", "sql:postgresql://u@h/db#abc", "2024-02-01")

    # Assert
    assert catalog.get_cursor("orders", "sql:postgresql://u@h/db#abc") == "2024-02-01"
    assert catalog.get_cursor("orders", "sql:postgresql://u@h/db#def") == "7"
    assert catalog.get_cursor("customers", "sql:postgresql://u@h/db#abc") is None
