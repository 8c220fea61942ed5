"""Delta Lake tables through ``deltalake``: atomic writes, versions, time travel, history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError as DeltaTableNotFound

from lakeforge.errors import TableNotFoundError

__all__ = ["DeltaStore", "WriteMode"]

# No pre-buffering: its read cache can outlive a scan (DuckDB stops reading early).
_PARQUET = pads.ParquetFileFormat(
    default_fragment_scan_options=pads.ParquetFragmentScanOptions(pre_buffer=False)
)

WriteMode = Literal["append", "overwrite", "merge"]


class DeltaStore:
    """One Delta table on disk. Every write is one atomic Delta commit.

    Example:
        >>> store = DeltaStore(Path("lake/silver/orders"), name="orders")  # doctest: +SKIP
        >>> store.write(batches, schema=schema, mode="append", metadata={"run": "..."})
    """

    def __init__(self, path: Path, *, name: str) -> None:
        self.path = path
        self.name = name

    @property
    def uri(self) -> str:
        """The table's directory as a string."""
        return str(self.path)

    def exists(self) -> bool:
        """Whether a Delta log exists here."""
        return (self.path / "_delta_log").is_dir()

    def delta(self, version: int | None = None, *, as_of: dt.datetime | None = None) -> DeltaTable:
        """The ``DeltaTable`` at its current version, a version number or a point in time."""
        try:
            table = DeltaTable(self.uri, version=version)
        except DeltaTableNotFound:
            raise TableNotFoundError(
                f"table `{self.name}` has no data yet", table=self.name
            ) from None
        except Exception as exc:  # deltalake raises a generic error for a missing version
            if version is not None:
                raise TableNotFoundError(
                    f"table `{self.name}` has no version {version} "
                    f"(see `lakeforge show {self.name}` for its history)",
                    table=self.name,
                ) from exc
            raise
        if as_of is not None:
            table.load_as_version(as_of)
        return table

    def version(self) -> int | None:
        """The latest version, or None before the first write."""
        return self.delta().version() if self.exists() else None

    def dataset(
        self, version: int | None = None, *, as_of: dt.datetime | None = None
    ) -> pads.Dataset:
        """A lazy Arrow dataset of one snapshot (DuckDB scans it with pushdown).

        Plain local tables (no partitions, deletion vectors or column mapping: what Lakeforge
        writes) are read straight from the snapshot's Parquet files with pyarrow's native
        filesystem. deltalake's own dataset reads through a Python filesystem whose buffers
        can be released on an Arrow IO thread after the interpreter has finalised, aborting
        the process at exit; it is kept only for tables that need it.
        """
        table = self.delta(version, as_of=as_of)
        plain = (
            table.protocol().min_reader_version <= 1
            and not table.metadata().partition_columns
            and "://" not in self.uri
        )
        if not plain:
            return table.to_pyarrow_dataset()
        schema = pa.schema(table.schema().to_arrow())
        files = table.file_uris()
        if not files:
            return pads.dataset(schema.empty_table())
        return pads.dataset(files, schema=schema, format=_PARQUET)

    def read(
        self,
        version: int | None = None,
        *,
        columns: Sequence[str] | None = None,
        filter: pads.Expression | None = None,
    ) -> pa.Table:
        """Read the table (optionally some columns, a filter, an older version)."""
        return self.dataset(version).to_table(
            columns=list(columns) if columns else None, filter=filter
        )

    def history(self) -> list[dict[str, Any]]:
        """Commits, oldest first, with Delta's operation metrics and Lakeforge's metadata."""
        if not self.exists():
            return []
        return sorted(self.delta().history(), key=lambda h: int(h.get("version", 0)))

    def num_rows(self, version: int | None = None) -> int:
        """Row count from the Delta log's file statistics (no data read)."""
        if not self.exists():
            return 0
        actions = pa.table(self.delta(version).get_add_actions(flatten=True))
        column = actions.column("num_records") if "num_records" in actions.column_names else None
        if column is None:
            return int(self.read(version).num_rows)
        return int(pa.compute.sum(column).as_py() or 0)

    def write(
        self,
        batches: Iterable[pa.RecordBatch] | pa.Table,
        *,
        schema: pa.Schema,
        mode: WriteMode,
        key: Sequence[str] = (),
        metadata: dict[str, str] | None = None,
        description: str | None = None,
        schema_mode: Literal["merge", "overwrite"] | None = None,
    ) -> int:
        """Write in one atomic commit and return the new version.

        ``append`` adds rows; ``overwrite`` replaces the table (and its schema); ``merge``
        upserts by ``key``. Batches are streamed: nothing is committed until the iterator is
        exhausted, so an exception or a kill mid-way leaves the table as it was.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        reader = _reader(batches, schema)
        commit = CommitProperties(custom_metadata=metadata or {})
        if mode == "merge" and self.exists():
            if not key:
                raise ValueError("merge needs a key")
            predicate = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)
            (
                self.delta()
                .merge(
                    reader,
                    predicate=predicate,
                    source_alias="s",
                    target_alias="t",
                    commit_properties=commit,
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        else:
            write_mode: Literal["append", "overwrite"] = (
                "overwrite" if mode == "overwrite" else "append"
            )
            write_deltalake(
                self.uri,
                reader,
                mode=write_mode,
                schema_mode="overwrite" if write_mode == "overwrite" else schema_mode,
                name=self.name,
                description=description,
                commit_properties=commit,
            )
        version = self.version()
        assert version is not None
        return version

    def delete(self, predicate: str, *, metadata: dict[str, str] | None = None) -> int:
        """Delete matching rows in one commit (used by erasure and quarantine clean-up)."""
        self.delta().delete(
            predicate, commit_properties=CommitProperties(custom_metadata=metadata or {})
        )
        version = self.version()
        assert version is not None
        return version


def _reader(
    batches: Iterable[pa.RecordBatch] | pa.Table, schema: pa.Schema
) -> pa.RecordBatchReader:
    if isinstance(batches, pa.Table):
        return pa.RecordBatchReader.from_batches(schema, batches.cast(schema).to_batches())

    def conformed() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield batch if batch.schema == schema else batch.cast(schema)

    return pa.RecordBatchReader.from_batches(schema, conformed())
