"""Ingestion: connectors and the validated, atomic ingest pipeline.

Files and databases today; HTTP pulls and event streams implement the same ``Source``.
"""

from lakeforge.ingest._csv import CsvSource
from lakeforge.ingest._excel import ExcelSource
from lakeforge.ingest._json import JsonSource
from lakeforge.ingest._open import SUPPORTED_FORMATS, detect_format, is_database_url, open_source
from lakeforge.ingest._parquet import ParquetSource
from lakeforge.ingest._pipeline import IngestResult, run_ingest
from lakeforge.ingest._source import RawBatch, RejectedRecord, Source
from lakeforge.ingest._sql import SqlSource

__all__ = [
    "SUPPORTED_FORMATS",
    "CsvSource",
    "ExcelSource",
    "IngestResult",
    "JsonSource",
    "ParquetSource",
    "RawBatch",
    "RejectedRecord",
    "Source",
    "SqlSource",
    "detect_format",
    "is_database_url",
    "open_source",
    "run_ingest",
]
