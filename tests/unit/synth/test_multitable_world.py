"""Acceptance on the simulated retail world: 12 related tables, depth 3, one twin.

Every foreign key resolves, every relation's children-per-parent distribution keeps a
cardinality similarity of at least 0.9, the twin passes its own contracts, and the report
is written.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeforge.synth import cardinality_similarity, foreign_key_integrity
from lakeforge.synth._multitable import Synthesizer
from lakeforge.synth._stream import report_twin, sample_into
from lakeforge.synth.simulator import TABLE_ORDER, RetailConfig, build_contracts, simulate_retail

pytestmark = pytest.mark.slow

CONFIG = RetailConfig(stores=3, products=40, customers=500, days=90, seed=11)


def _depth(syn: Synthesizer, table: str) -> int:
    driving = syn.plans_[table].driving
    return 0 if driving is None else 1 + _depth(syn, driving.parent)


def test_world_twin_keeps_integrity_and_cardinality(tmp_path: Path) -> None:
    result = simulate_retail(tmp_path / "world", CONFIG, progress=False)
    tables: dict[str, pa.Table] = {n: pq.read_table(p) for n, p in result.tables.items()}
    contracts = build_contracts(dict.fromkeys(TABLE_ORDER, "parquet"))

    syn = Synthesizer(contracts, method="copula", seed=1).fit(tables)
    twin = syn.sample(seed=2)

    assert len(twin) == 12
    assert max(_depth(syn, name) for name in TABLE_ORDER) >= 3
    integrity = foreign_key_integrity(twin, list(contracts.values()))
    assert len(integrity) == 19 and set(integrity.values()) == {1.0}, integrity
    similarity = cardinality_similarity(tables, twin, list(contracts.values()))
    assert min(similarity.values()) >= 0.9, similarity

    summary = sample_into(syn, tmp_path / "twin", seed=2, origin=tmp_path / "world")
    assert {t["rows_quarantined"] for t in summary["tables"].values()} == {0}

    commerce = ["stores", "products", "customers", "orders", "order_items", "payments", "reviews"]
    sub = Synthesizer([contracts[n] for n in commerce], method="copula", seed=1)
    sub.fit({n: tables[n] for n in commerce})
    report = report_twin(sub, {n: tables[n] for n in commerce}, tmp_path / "report", seed=3)
    assert (tmp_path / "report" / "report.html").is_file()
    assert set(report.foreign_key_integrity.values()) == {1.0}
    assert min(report.cardinality.values()) >= 0.9
