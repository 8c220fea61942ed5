"""Pick the connector for a path or database URL: the one entry point the CLI and API use."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

from sqlalchemy.exc import NoSuchModuleError

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._csv import CsvSource
from lakeforge.ingest._excel import ExcelSource
from lakeforge.ingest._json import JsonSource
from lakeforge.ingest._parquet import PARQUET_SUFFIXES, ParquetSource
from lakeforge.ingest._source import Source
from lakeforge.ingest._sql import SqlSource, parse_database_url

__all__ = ["SUPPORTED_FORMATS", "detect_format", "is_database_url", "open_source"]

#: Each file format and the extensions that select it (``--format`` overrides).
SUPPORTED_FORMATS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "csv": (".csv", ".tsv", ".txt", ".data", ".test", ".psv"),
        "json": (".json",),
        "ndjson": (".ndjson", ".jsonl"),
        "parquet": PARQUET_SUFFIXES,
        "xlsx": (".xlsx", ".xlsm"),
    }
)

#: Delimiters implied by an extension when the read options do not set one.
_SUFFIX_DELIMITERS = {".tsv": "\t", ".psv": "|"}
_REMOTE_SCHEMES = {"http", "https", "ftp", "s3", "gs", "gcs", "az", "abfs", "abfss"}


def is_database_url(source: str | Path) -> bool:
    """Whether ``source`` is a URL SQLAlchemy can connect to (``postgresql://``, ``sqlite://``)."""
    if isinstance(source, Path) or "://" not in source:
        return False
    scheme = source.split("://", 1)[0].lower()
    if scheme == "file" or scheme in _REMOTE_SCHEMES:
        return False
    try:
        parse_database_url(source).get_dialect()
    except (SourceError, NoSuchModuleError, ImportError):
        return False
    return True


def detect_format(path: Path) -> str | None:
    """The format a path's extension implies (a directory of Parquet is ``parquet``), or None."""
    if path.is_dir():
        return "parquet" if any(_has_suffix(f, PARQUET_SUFFIXES) for f in path.rglob("*")) else None
    suffix = path.suffix.lower()
    for name, suffixes in SUPPORTED_FORMATS.items():
        if suffix in suffixes:
            return name
    return None


def open_source(
    source: str | Path,
    *,
    options: ReadOptions | None = None,
    sql: str | None = None,
    incremental_by: str | None = None,
    since: str | None = None,
    column_names: list[str] | None = None,
    chunk_bytes: int | None = None,
) -> Source:
    """Open a file, a directory of Parquet files, or a database query as a :class:`Source`.

    Args:
        source: a path, or a database URL (``postgresql://user@host/db``, ``sqlite:///x.db``).
        options: how to read a file; ``options.format`` overrides the extension.
        sql: the query to run, required for (and only for) a database URL.
        incremental_by: a cursor column for incremental database pulls.
        since: the cursor value of the previous pull.
        column_names: names for a CSV or sheet without a header row.
        chunk_bytes: bytes read at a time from a CSV or JSON file.

    Returns:
        The source; use it as a context manager so connections and files are closed.

    Raises:
        SourceError: a missing file, an unknown format, or a URL without a query.

    Example:
        >>> with open_source("orders.tsv") as src:  # doctest: +SKIP
        ...     src.columns()
        ['order_id', 'customer_id', 'amount']
    """
    text = str(source)
    if isinstance(source, str) and is_database_url(source):
        if not sql or not sql.strip():
            raise SourceError(
                f"{text.split('://', 1)[0]}:// is a database: pass the query to read, e.g. "
                "--sql 'select * from orders'",
                source=text.split("@")[-1],
            )
        return SqlSource(source, sql, incremental_by=incremental_by, since=since)
    if "://" in text and not text.lower().startswith("file://"):
        scheme = text.split("://", 1)[0]
        raise SourceError(
            f"{scheme}:// sources are not read directly: download the file first, or give a "
            "database URL SQLAlchemy knows (postgresql://, sqlite:///, mysql+pymysql://)",
            source=scheme,
        )
    path = Path(text[len("file://") :]) if text.lower().startswith("file://") else Path(source)
    if sql is not None:
        raise SourceError(
            f"--sql is for database URLs, and {path} is a file; drop the query or give a URL",
            source=str(path),
        )
    if incremental_by is not None:
        raise SourceError(
            "incremental pulls (incremental_by) need a database source; for files, ingest "
            "each new file (re-ingesting the same file is skipped)",
            source=str(path),
        )
    if not path.exists():
        raise SourceError(f"file not found: {path}", source=str(path))
    fmt = options.format if options is not None and options.format else detect_format(path)
    if fmt is None:
        raise SourceError(_unknown_format(path), source=str(path))
    chunk = {"chunk_bytes": chunk_bytes} if chunk_bytes else {}
    if fmt == "csv":
        return CsvSource(path, _csv_options(path, options), column_names=column_names, **chunk)
    if fmt in ("json", "ndjson"):
        json_options = (options or ReadOptions()).model_copy(update={"format": fmt})
        return JsonSource(path, json_options, **chunk)
    if fmt == "parquet":
        return ParquetSource(path)
    return ExcelSource(path, options, column_names=column_names)


def _csv_options(path: Path, options: ReadOptions | None) -> ReadOptions:
    """The options with ``format: csv``, and the extension's delimiter unless one was set."""
    options = options or ReadOptions()
    update: dict[str, str] = {"format": "csv"}
    implied = _SUFFIX_DELIMITERS.get(path.suffix.lower())
    if implied and "delimiter" not in options.model_fields_set:
        update["delimiter"] = implied
    return options.model_copy(update=update)


def _has_suffix(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.suffix.lower() in suffixes and path.is_file()


def _unknown_format(path: Path) -> str:
    if path.is_dir():
        return (
            f"{path} is a directory without Parquet files; only a directory of Parquet files "
            "is read as one source"
        )
    listed = "; ".join(f"{name} ({', '.join(ext)})" for name, ext in SUPPORTED_FORMATS.items())
    hint = " (old .xls: save it as .xlsx)" if path.suffix.lower() == ".xls" else ""
    return (
        f"cannot tell the format of {path.name} from its extension{hint}; supported: {listed}. "
        "Pass --format csv|json|ndjson|parquet|xlsx (ReadOptions(format=...)) to choose one"
    )
