"""The ingest pipeline's threads: the background checks and the prefetch of a file."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import lakeforge as lf
from lakeforge.ingest._pipeline import _in_background


def _batches(n: int, fail_at: int | None = None) -> Iterator[pa.RecordBatch]:
    for i in range(n):
        if i == fail_at:
            raise ValueError(f"batch {i} failed")
        yield pa.record_batch({"i": [i]})


def test_background_batches_arrive_in_order() -> None:
    out = [b.column(0)[0].as_py() for b in _in_background(_batches(20), depth=2)]
    assert out == list(range(20))


def test_background_error_is_raised_in_the_consumer() -> None:
    seen = []
    with pytest.raises(ValueError, match="batch 3 failed"):
        for batch in _in_background(_batches(10, fail_at=3)):
            seen.append(batch.column(0)[0].as_py())
    assert seen == [0, 1, 2]


def test_closing_early_stops_the_producer() -> None:
    before = threading.active_count()
    feed = _in_background(_batches(1_000), depth=1)
    next(feed)
    feed.close()  # joins the producer, which was blocked on the full queue
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_threaded_and_single_threaded_ingests_agree(tmp_path: Path) -> None:
    lines = ["k,v"] + [f"k{i % 700},{i}" for i in range(3_000)] + ["bad,row,extra", "k1,x"]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    contract = lf.Contract(
        table="t",
        columns=[lf.Column(name="k", nullable=False), lf.Column(name="v", type="integer")],
        checks=[lf.UniqueCheck(columns=["k"])],
    )
    results = []
    for threads in (1, 2):
        ws = lf.Workspace.init(tmp_path / f"ws{threads}")
        ws.settings.ingest.threads = threads
        ws.settings.ingest.chunk_bytes = 4096  # many chunks: the prefetch queue fills up
        result = ws.ingest(path, table="t", contract=contract, max_reject_rate=1.0)
        quarantine = ws.quarantine_store("t").read().sort_by("_location")
        results.append(
            (
                result.rows_read,
                result.rows_written,
                result.rows_quarantined,
                quarantine["_location"].to_pylist(),
                quarantine["_reasons"].to_pylist(),
                ws.store("t").read().sort_by("v")["v"].to_pylist(),
            )
        )
        ws.close()
    assert results[0] == results[1]
    read, written, quarantined, locations, _, _ = results[1]
    assert (read, written, quarantined) == (3_002, 700, 2_302)
    assert locations[-2:] == [3_002, 3_003]
