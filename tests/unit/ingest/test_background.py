from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakeforge.ingest._background import in_background
from lakeforge.ingest._csv import CsvSource


def _alive(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


def test_items_arrive_in_order() -> None:
    assert list(in_background(iter(range(1_000)), depth=3)) == list(range(1_000))


def test_an_error_is_raised_where_the_items_are_read() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("bad block")

    got: list[int] = []
    with pytest.raises(ValueError, match="bad block"):
        for item in in_background(items(), name="lf-test-error"):
            got.append(item)
    assert got == [1]
    assert not _alive("lf-test-error")


def test_closing_early_stops_the_thread_and_closes_the_source() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(10**9)
        finally:
            closed.set()

    reader = in_background(items(), depth=2, name="lf-test-close")
    assert next(reader) == 0
    reader.close()
    assert closed.is_set()
    assert not _alive("lf-test-close")


def test_a_csv_read_left_early_leaves_no_reader_thread(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("a,b\n" + "".join(f"{i},x\n" for i in range(5_000)))
    tasks = CsvSource(path, chunk_bytes=256).tasks()
    first = next(tasks)()
    assert first.data.num_rows > 0
    tasks.close()
    assert not _alive("lakeforge-chunks")


def test_a_failed_ingest_leaves_no_reader_thread(tmp_path: Path) -> None:
    import lakeforge as lf
    from lakeforge.errors import SourceError

    path = tmp_path / "open.csv"
    path.write_text("a,b\n" + "".join(f"{i},x\n" for i in range(5_000)) + '9,"never closed\n')
    ws = lf.Workspace.init(tmp_path / "ws")
    ws.settings.ingest.chunk_bytes = 512
    contract = lf.Contract(
        table="t",
        columns=[lf.Column(name="a", type="integer"), lf.Column(name="b")],
        read=lf.ReadOptions(format="csv", quote_char='"'),
    )
    with pytest.raises(SourceError, match="never closes"):
        ws.ingest(path, table="t", contract=contract)
    assert not _alive("lakeforge-chunks")
    assert not ws.store("t").exists()
    ws.close()
