"""Streaming table files: one file per table, written chunk by chunk on a background thread.

Parquet files get one row group per chunk (or more, for chunks over a million rows); CSV files
get a header line and then every chunk's rows. The worker thread encodes and compresses while
the main thread simulates the next chunk (Arrow releases the GIL), and a bounded queue keeps
at most a few chunks in memory. Writes happen in submission order, so files are
byte-identical from run to run.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from types import TracebackType
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["BackgroundWriter", "FileFormat", "TableSink"]

FileFormat = Literal["parquet", "csv"]


class TableSink:
    """One table streamed into one file; ``rows`` counts the data rows written so far."""

    def __init__(self, path: Path, file_format: FileFormat) -> None:
        self.path = path
        self.file_format: FileFormat = file_format
        self.rows = 0
        self._writer: pq.ParquetWriter | pacsv.CSVWriter | None = None

    def write(self, table: pa.Table) -> None:
        """Append rows (the first call fixes the file's schema)."""
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.file_format == "parquet":
                # without the Arrow schema, dictionary-encoded keys read back as plain strings
                self._writer = pq.ParquetWriter(
                    self.path, table.schema, compression="zstd", store_schema=False
                )
            else:
                self._writer = pacsv.CSVWriter(
                    self.path, table.schema, write_options=pacsv.WriteOptions(include_header=True)
                )
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        """Finish the file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class BackgroundWriter:
    """Runs :meth:`TableSink.write` calls on one worker thread, in order.

    Example:
        >>> with BackgroundWriter() as writer:  # doctest: +SKIP
        ...     writer.submit(sink, chunk)
    """

    def __init__(self, max_pending: int = 4) -> None:
        self._queue: queue.Queue[tuple[TableSink, pa.Table] | None] = queue.Queue(max_pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lakeforge-sim-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:  # no more writes
                return
            if self._error is not None:
                continue
            sink, table = item
            try:
                sink.write(table)
            except BaseException as exc:  # re-raised on the caller's thread
                self._error = exc

    def submit(self, sink: TableSink, table: pa.Table) -> None:
        """Queue a write; blocks while the queue is full (memory stays flat)."""
        self._raise_if_failed()
        self._queue.put((sink, table))

    def flush(self) -> None:
        """Wait for every queued write, then re-raise a write error if one happened."""
        self._queue.put(None)
        self._thread.join()
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if exc is None:
            self._raise_if_failed()
