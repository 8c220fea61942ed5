"""Parquet files, or a directory of them (Hive partitions included), streamed in batches.

Types arrive as Parquet stores them, with two changes so that every column is one a contract
can describe: dictionary-encoded columns are decoded, and nested columns (structs, lists,
maps) become JSON text. A directory is read file by file in sorted path order, under one
schema unified over all files (a column missing from a file is null there; ``year=2024``
directories add a ``year`` column). Locations are 0-based row offsets over the whole source
(``location_kind = "row"``); :meth:`ParquetSource.describe_location` names the file too.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import xxhash

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._source import (
    FINGERPRINT_PREFIX,
    RawBatch,
    Source,
    file_fingerprint,
    file_sha256,
)

__all__ = ["PARQUET_SUFFIXES", "ParquetSource"]

#: File name endings read as Parquet (also inside a directory).
PARQUET_SUFFIXES = (".parquet", ".pq")


class ParquetSource(Source):
    """A Parquet file, or a directory of Parquet files read as one source.

    Args:
        path: a ``.parquet`` file, or a directory holding them (searched recursively; files
            and directories starting with ``_`` or ``.`` are ignored).
        batch_rows: rows per batch.

    Example:
        >>> src = ParquetSource(Path("sales/"))  # doctest: +SKIP
        >>> sum(b.data.num_rows for b in src.batches())  # doctest: +SKIP
        120000
    """

    kind = "file"
    location_kind = "row"

    def __init__(self, path: Path | str, *, batch_rows: int = 65_536) -> None:
        self.path = Path(path)
        if batch_rows < 1:
            raise ValueError("batch_rows must be positive")
        self.batch_rows = batch_rows
        #: Parquet strings are data: an empty string stays an empty string, not a null.
        self.options = ReadOptions(format="parquet", null_values=[])
        if self.path.is_dir():
            if (self.path / "_delta_log").is_dir():
                raise SourceError(
                    f"{self.path} is a Delta table, not a directory of Parquet files; read "
                    "it with a query (e.g. DuckDB delta_scan) and ingest the result",
                    source=self.uri,
                )
            self.files = _parquet_files(self.path)
            if not self.files:
                raise SourceError(
                    f"no Parquet files ({', '.join(PARQUET_SUFFIXES)}) under {self.path}",
                    source=self.uri,
                )
        elif self.path.is_file():
            self.files = [self.path]
        else:
            raise SourceError(f"file not found: {self.path}", source=str(self.path))
        self._schema = self._read_schema()
        self._offsets: list[int] | None = None

    # -- Source --------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """The absolute path of the file or directory."""
        return str(self.path.resolve())

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the batches (after decoding dictionaries and nesting)."""
        return pa.schema([_plain_field(f) for f in self._schema])

    def columns(self) -> list[str]:
        """Column names from the Parquet schema (plus Hive partition columns)."""
        return list(self._schema.names)

    def fingerprint(self) -> str:
        """XXH3-128 of the file's bytes; for a directory, of each file's path and hash in order."""
        if self.path.is_file():
            return file_fingerprint(self.path)
        digest = xxhash.xxh3_128()
        for file in self.files:
            digest.update(file.relative_to(self.path).as_posix().encode() + b"\0")
            digest.update(file_fingerprint(file).encode())
        return FINGERPRINT_PREFIX + digest.hexdigest()

    def legacy_fingerprint(self) -> str:
        """The SHA-256 form earlier versions recorded (file bytes; per file for a directory)."""
        if self.path.is_file():
            return file_sha256(self.path)
        digest = hashlib.sha256()
        for file in self.files:
            digest.update(file.relative_to(self.path).as_posix().encode() + b"\0")
            digest.update(bytes.fromhex(file_sha256(file)))
        return digest.hexdigest()

    def describe_location(self, location: int) -> str:
        """``sales.parquet row 1,024``; in a directory, the file and its own row too."""
        if len(self.files) == 1:
            return f"{self.files[0].name} row {location:,}"
        offsets = self._file_offsets()
        index = max(0, bisect.bisect_right(offsets, location) - 1)
        file = self.files[min(index, len(self.files) - 1)]
        inner = location - offsets[index]
        name = file.relative_to(self.path).as_posix()
        return f"{name} row {inner:,} (row {location:,} of {self.path.name})"

    def batches(self) -> Iterator[RawBatch]:
        """Record batches in file order, each with its 0-based row offsets."""
        offset = 0
        for batch in self._record_batches():
            table = _plain_table(pa.Table.from_batches([batch]))
            n = table.num_rows
            locations = pa.array(range(offset, offset + n), pa.int64())
            offset += n
            yield RawBatch(table, locations)

    # -- reading ---------------------------------------------------------------------------
    def _read_schema(self) -> pa.Schema:
        try:
            if self.path.is_file():
                return pq.read_schema(self.path)
            dataset = self._dataset(None)
            schemas = [dataset.schema, *(pq.read_schema(f) for f in self.files)]
            return pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(
                f"{self.path.name} cannot be read as Parquet: {exc}; check that it is a "
                "complete Parquet file (or pass --format for another format)",
                source=self.uri,
            ) from None

    def _dataset(self, schema: pa.Schema | None) -> ds.Dataset:
        return ds.dataset(
            [str(f) for f in self.files],
            format="parquet",
            partitioning=ds.HivePartitioning.discover(),
            partition_base_dir=str(self.path),
            schema=schema,
        )

    def _record_batches(self) -> Iterator[pa.RecordBatch]:
        try:
            if self.path.is_file():
                with pq.ParquetFile(self.path) as parquet:
                    yield from parquet.iter_batches(batch_size=self.batch_rows)
                return
            dataset = self._dataset(self._schema)
            fragments = sorted(dataset.get_fragments(), key=lambda f: str(f.path))
            for fragment in fragments:
                for batch in fragment.to_batches(schema=self._schema, batch_size=self.batch_rows):
                    if batch.num_rows:
                        yield batch
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(
                f"{self.path.name}: reading Parquet failed: {exc}", source=self.uri
            ) from None

    def _file_offsets(self) -> list[int]:
        """The first row offset of each file (from the footers; no data is read)."""
        if self._offsets is None:
            offsets, total = [], 0
            for file in self.files:
                offsets.append(total)
                total += pq.read_metadata(file).num_rows
            self._offsets = offsets
        return self._offsets


def _parquet_files(root: Path) -> list[Path]:
    """Parquet files under ``root`` in sorted order, skipping ``_``/``.`` names (metadata)."""
    found = []
    for file in root.rglob("*"):
        parts = file.relative_to(root).parts
        if any(p.startswith(("_", ".")) for p in parts):
            continue
        if file.is_file() and file.suffix.lower() in PARQUET_SUFFIXES:
            found.append(file)
    return sorted(found)


def _is_nested(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_struct(kind)
        or pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
        or pa.types.is_map(kind)
    )


def _plain_field(field: pa.Field) -> pa.Field:
    kind = field.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if _is_nested(kind):
        kind = pa.string()
    return pa.field(field.name, kind, nullable=True)


def _plain_table(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded; nested columns as JSON text."""
    columns = []
    changed = False
    for column in table.columns:
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind, changed = kind.value_type, True
        if _is_nested(kind):
            is_map = pa.types.is_map(kind)
            column = pa.array([_json_text(v, is_map) for v in column.to_pylist()], pa.string())
            changed = True
        columns.append(column)
    return pa.table(columns, names=table.column_names) if changed else table


def _json_text(value: Any, is_map: bool) -> str | None:
    if value is None:
        return None
    if is_map:  # read as (key, value) pairs
        value = {str(k): v for k, v in value}
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
