"""The ingest pipeline's threads: the background checks and the prefetch of a file."""

from __future__ import annotations

from pathlib import Path

import lakeforge as lf


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
