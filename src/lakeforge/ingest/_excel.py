"""Excel workbooks (.xlsx) streamed row by row with openpyxl in read-only mode.

One sheet is read (``options.sheet``, default the first). ``options.skip_rows`` rows are
skipped, then the first non-empty row is the header (with ``options.header``; empty header
cells are named ``column_N`` and repeated names get ``_2``, ``_3``...). Locations are Excel
row numbers, as the user sees them (``location_kind = "row"``, 1-based). Entirely empty rows
are skipped; a row with a value beyond the header's last column is rejected.

Cells arrive typed (numbers, dates, booleans, text). Each batch types each column on its own:
one Arrow type when the column's cells in the batch share one kind (ints with floats are
float64, dates with date-times are timestamps), else text (``2024-01-31 00:00:00``, ``true``,
``12.5``), which validation parses like CSV text. Formula cells give the value Excel last
computed and saved with the file (files written by tools that do not compute formulas have
none: the cell reads as empty).
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._source import RawBatch, RejectedRecord, Source, file_fingerprint, file_sha256
from lakeforge.ingest._values import arrow_column, value_text

__all__ = ["ExcelSource"]

_MAX_RAW = 2000


class ExcelSource(Source):
    """One sheet of an .xlsx workbook.

    Args:
        path: the workbook (.xlsx or .xlsm; the old binary .xls is not supported).
        options: ``sheet`` (default: the first), ``header`` and ``skip_rows``.
        column_names: names for a sheet without a header (default ``column_1``...), or to
            replace the header's names (when there are as many).
        batch_rows: records (rows plus rejects) per batch.

    Example:
        >>> src = ExcelSource(Path("sales.xlsx"), ReadOptions(sheet="2024"))  # doctest: +SKIP
        >>> src.describe_location(12)  # doctest: +SKIP
        "sales.xlsx sheet '2024' row 12"
    """

    kind = "file"
    location_kind = "row"

    def __init__(
        self,
        path: Path | str,
        options: ReadOptions | None = None,
        *,
        column_names: list[str] | None = None,
        batch_rows: int = 50_000,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"file not found: {self.path}", source=str(self.path))
        if self.path.suffix.lower() == ".xls":
            raise SourceError(
                f"{self.path.name}: the old binary .xls format is not supported; open it in "
                "Excel or LibreOffice and save it as .xlsx",
                source=self.uri,
            )
        if batch_rows < 1:
            raise ValueError("batch_rows must be positive")
        self.options = (options or ReadOptions()).model_copy(update={"format": "xlsx"})
        self.batch_rows = batch_rows
        self._given_names = column_names
        self.sheet = ""
        self._names: list[str] = []
        self._first_data_row = 1
        self._read_header()

    # -- Source --------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """The absolute file path."""
        return str(self.path.resolve())

    def columns(self) -> list[str]:
        """Column names from the header row, the given names, or ``column_N``."""
        return list(self._names)

    def fingerprint(self) -> str:
        """XXH3-128 of the file's bytes."""
        return file_fingerprint(self.path)

    def legacy_fingerprint(self) -> str:
        """SHA-256 of the file's bytes (what earlier versions recorded)."""
        return file_sha256(self.path)

    def describe_location(self, location: int) -> str:
        """``sales.xlsx sheet 'Q1' row 4,031``."""
        return f"{self.path.name} sheet {self.sheet!r} row {location:,}"

    def batches(self) -> Iterator[RawBatch]:
        """Rows below the header, ``batch_rows`` records at a time."""
        width = len(self._names)
        rows: list[Sequence[Any]] = []
        locations: list[int] = []
        rejects: list[RejectedRecord] = []
        with self._sheet_rows() as sheet_rows:
            for number, row in sheet_rows:
                if number < self._first_data_row or _is_empty(row):
                    continue
                if len(row) > width and not _is_empty(row[width:]):
                    rejects.append(self._ragged(number, row, width))
                else:
                    rows.append(row)
                    locations.append(number)
                if len(rows) + len(rejects) >= self.batch_rows:
                    yield self._batch(rows, locations, rejects)
                    rows, locations, rejects = [], [], []
        if rows or rejects:
            yield self._batch(rows, locations, rejects)

    # -- reading -----------------------------------------------------------------------------
    @contextmanager
    def _sheet_rows(self) -> Iterator[Iterator[tuple[int, Sequence[Any]]]]:
        """(Excel row number, cell values) for every row of the sheet; closes the workbook."""
        try:
            with warnings.catch_warnings():
                # styles or extensions openpyxl cannot keep do not matter for reading values
                warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
                workbook = openpyxl.load_workbook(
                    self.path, read_only=True, data_only=True, keep_links=False
                )
        except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            raise SourceError(
                f"{self.path.name} cannot be opened as an .xlsx workbook ({exc}); check the "
                "file, or pass --format for another format",
                source=self.uri,
            ) from None
        try:
            sheet = self._pick_sheet(workbook)
            sheet.reset_dimensions()  # some writers store wrong sizes; read every row
            yield enumerate(sheet.iter_rows(values_only=True), start=1)
        finally:
            workbook.close()

    def _pick_sheet(self, workbook: Any) -> Any:
        names = [ws.title for ws in workbook.worksheets]
        if not names:
            raise SourceError(f"{self.path.name} has no worksheets", source=self.uri)
        wanted = self.options.sheet
        if wanted is None:
            chosen = names[0]
        elif wanted in names:
            chosen = wanted
        else:
            folded = {n.casefold(): n for n in names}
            if wanted.casefold() not in folded:
                raise SourceError(
                    f"{self.path.name} has no sheet {wanted!r}; its sheets are "
                    f"{', '.join(repr(n) for n in names)}",
                    source=self.uri,
                )
            chosen = folded[wanted.casefold()]
        self.sheet = chosen
        return workbook[chosen]

    def _read_header(self) -> None:
        opts = self.options
        first: tuple[int, Sequence[Any]] | None = None
        with self._sheet_rows() as sheet_rows:
            for number, row in sheet_rows:
                if number > opts.skip_rows and not _is_empty(row):
                    first = (number, row)
                    break
        if opts.header:
            if first is None:
                raise SourceError(
                    f"{self.path.name} sheet {self.sheet!r} has no header row (it is empty"
                    f"{' after skip_rows' if opts.skip_rows else ''})",
                    source=self.uri,
                )
            number, row = first
            self._names = _header_names(row)
            self._first_data_row = number + 1
            if self._given_names and len(self._given_names) == len(self._names):
                self._names = list(self._given_names)
        else:
            width = len(_trim(first[1])) if first is not None else 0
            self._names = self._given_names or [f"column_{i + 1}" for i in range(width)]
            self._first_data_row = opts.skip_rows + 1

    # -- batches ---------------------------------------------------------------------------
    def _ragged(self, number: int, row: Sequence[Any], width: int) -> RejectedRecord:
        cells = _trim(row)
        raw = "\t".join(value_text(v) or "" for v in cells)
        return RejectedRecord(
            location=number,
            reason=(
                f"row has values up to column {get_column_letter(len(cells))}, beyond the "
                f"{width} header columns (last: {get_column_letter(width) if width else '-'})"
            ),
            raw=raw[:_MAX_RAW],
        )

    def _batch(
        self, rows: list[Sequence[Any]], locations: list[int], rejects: list[RejectedRecord]
    ) -> RawBatch:
        width = len(self._names)
        padded = [
            tuple(row[:width]) if len(row) >= width else (*row, *([None] * (width - len(row))))
            for row in rows
        ]
        if not width:  # no columns at all: rows without values
            table = pa.table({"_": pa.nulls(len(rows))}).select([])
        else:
            columns = list(zip(*padded, strict=True)) if padded else [()] * width
            table = pa.table([arrow_column(list(c)) for c in columns], names=self._names)
        return RawBatch(table, pa.array(locations, pa.int64()), None, rejects)


def _is_empty(cells: Sequence[Any]) -> bool:
    return all(v is None or v == "" for v in cells)


def _trim(cells: Sequence[Any]) -> Sequence[Any]:
    """The cells up to the last non-empty one."""
    end = len(cells)
    while end and (cells[end - 1] is None or cells[end - 1] == ""):
        end -= 1
    return cells[:end]


def _header_names(row: Sequence[Any]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(_trim(row)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = (value_text(value) or "").strip()
        name = text or f"column_{index + 1}"
        unique, suffix = name, 2
        while unique in seen:
            unique, suffix = f"{name}_{suffix}", suffix + 1
        seen.add(unique)
        names.append(unique)
    return names
