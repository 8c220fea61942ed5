"""An ingest killed with SIGKILL half-way leaves the table at its previous version.

A child process ingests a generated 3-million-row CSV in 64 KiB chunks and writes a marker
file from its progress callback after a few batches (so bad rows have already been staged
and the Delta writer is streaming); the test then kills it with SIGKILL. Every wait is
bounded, so the test cannot hang.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

import lakeforge as lf
from lakeforge.contracts import Column, Contract, RangeCheck, ReadOptions

BIG_ROWS = 3_000_000
SMALL_ROWS = 1_000
BAD_EVERY = 10_007  # one row in this many has an amount that is not a number
WAIT_S = 120

CONTRACT = Contract(
    table="events",
    columns=[
        Column(name="event_id", type="integer", nullable=False),
        Column(name="store", nullable=False),
        Column(name="amount", type="float"),
    ],
    primary_key=["event_id"],
    checks=[RangeCheck(column="amount", min=0)],
    read=ReadOptions(format="csv"),
)

# The child: ingest, and after the third batch write the marker, then keep going slowly so
# the kill always lands before the end of the stream.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import lakeforge as lf

    root, source, marker = sys.argv[1:4]
    batches = 0

    def progress(read, quarantined):
        global batches
        batches += 1
        if batches == 3:
            partial = Path(marker + ".tmp")
            partial.write_text(f"{read} {quarantined}")
            partial.rename(marker)
        if batches >= 3:
            time.sleep(0.05)

    with lf.Workspace.open(root) as ws:
        ws.ingest(source, table="events", on_progress=progress)
    print("the ingest finished before it was killed")
    """
)


def _write_events(path: Path, first_id: int, rows: int) -> int:
    """A CSV of ``rows`` events; returns how many have a bad amount."""
    ids = np.arange(first_id, first_id + rows, dtype=np.int64)
    amounts = pc.cast(pa.array((ids % 10_000) / 100), pa.string())
    bad = ids % BAD_EVERY == 0
    table = pa.table(
        {
            "event_id": ids,
            "store": pc.binary_join_element_wise(
                "S_", pc.cast(pa.array(ids % 50), pa.string()), ""
            ),
            "amount": pc.if_else(pa.array(bad), pa.scalar("n/a?"), amounts),
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    return int(bad.sum())


def _wait_for(marker: Path, child: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not marker.exists():
        if child.poll() is not None:
            pytest.fail(f"the child ended (rc {child.returncode}) early:\n{log.read_text()}")
        if time.monotonic() > deadline:
            child.kill()
            child.wait(timeout=30)
            pytest.fail(f"no progress marker after {WAIT_S}s:\n{log.read_text()}")
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_mid_ingest_leaves_the_previous_version(
    workspace: lf.Workspace, tmp_path: Path
) -> None:
    # Setup: version 0 from a small file (with one bad row), and a big file to kill
    small, big = tmp_path / "events_0.csv", tmp_path / "events_1.csv"
    small_bad = _write_events(small, first_id=0, rows=SMALL_ROWS)
    big_bad = _write_events(big, first_id=SMALL_ROWS, rows=BIG_ROWS)
    first = workspace.ingest(small, table="events", contract=CONTRACT)
    assert (first.version, first.rows_quarantined) == (0, small_bad) == (0, 1)
    before = workspace.table("events").read()
    marker, log = tmp_path / "marker", tmp_path / "child.log"
    env = dict(os.environ, LAKEFORGE_INGEST__CHUNK_BYTES="65536")

    # Run: start the child, wait until it is streaming, kill it
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(workspace.root), str(big), str(marker)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            _wait_for(marker, child, log)
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=30)
    read_when_killed, quarantined_when_killed = map(int, marker.read_text().split())

    # Assert: the kill landed mid-way, after bad rows had been seen
    assert 0 < read_when_killed < BIG_ROWS
    assert quarantined_when_killed > 0
    runs = workspace.catalog.list_runs(table="events")
    killed = [r for r in runs if r.status == "running"]
    assert len(killed) == 1 and killed[0].source == str(big.resolve())
    # the table is still at version 0 with the first file's rows
    table = workspace.table("events")
    assert table.version == 0
    assert table.read().sort_by("event_id").equals(before.sort_by("event_id"))
    assert sorted(p.name for p in (table.store.path / "_delta_log").glob("*.json")) == [
        "00000000000000000000.json"
    ]
    # tables() and queries work
    (info,) = workspace.tables()
    assert (info.name, info.version, info.rows) == ("events", 0, SMALL_ROWS - small_bad)
    counted = workspace.query("select count(*) as n from events")
    assert counted.column("n").to_pylist() == [SMALL_ROWS - small_bad]
    # the quarantine shows no row of the killed run
    assert workspace.table("events").quarantine(run_id=killed[0].run_id).num_rows == 0
    shown = workspace.query("select _run_id, count(*) as n from quarantine.events group by 1")
    assert shown.to_pylist() == [{"_run_id": first.run_id, "n": small_bad}]

    # Run: the same ingest again, in this process, to the end
    again = workspace.ingest(big, table="events")

    # Assert: it completes, every row accounted for, one new version
    assert again.status == "succeeded"
    assert again.rows_read == again.rows_written + again.rows_quarantined
    assert (again.rows_read, again.rows_quarantined) == (BIG_ROWS, big_bad)
    assert again.version == 1 and workspace.table("events").version == 1
    assert workspace.table("events").num_rows() == SMALL_ROWS + BIG_ROWS - small_bad - big_bad
    ids = workspace.query("select count(distinct event_id) as n, max(event_id) as top from events")
    assert ids.to_pylist() == [
        {"n": SMALL_ROWS + BIG_ROWS - small_bad - big_bad, "top": SMALL_ROWS + BIG_ROWS - 1}
    ]
    # the killed run is closed as interrupted and its staging folder is gone
    closed = workspace.catalog.get_run(killed[0].run_id)
    assert closed is not None and closed.status == "failed"
    assert "interrupted" in (closed.error or "")
    assert not (workspace.state_dir / "staging" / killed[0].run_id).exists()
    quarantined = workspace.table("events").quarantine()
    assert set(quarantined["_run_id"].to_pylist()) == {first.run_id, again.run_id}
    assert quarantined.num_rows == small_bad + big_bad
    versions = [(h["version"], h["rows_read"]) for h in workspace.table("events").history()]
    assert versions == [(0, SMALL_ROWS), (1, BIG_ROWS)]
