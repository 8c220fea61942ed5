"""The dataset contract: columns, keys, foreign keys, checks, PII tags and read options.

One versioned object shared by ingestion, governance and the synthesizers. It round-trips
through YAML::

    contract = Contract.from_yaml(Path("orders.yaml").read_text())
    Path("orders.yaml").write_text(contract.to_yaml())
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lakeforge.errors import ContractError

__all__ = [
    "AllowedValuesCheck",
    "Check",
    "Column",
    "ColumnType",
    "Contract",
    "ExpressionCheck",
    "ForeignKey",
    "FreshnessCheck",
    "PiiTag",
    "RangeCheck",
    "ReadOptions",
    "RegexCheck",
    "UniqueCheck",
]

ColumnType = Literal["string", "integer", "float", "decimal", "boolean", "date", "timestamp"]
PiiTag = Literal[
    "email",
    "phone",
    "person_name",
    "address",
    "card_number",
    "free_text",
    "birth_date",
    "ip_address",
    "national_id",
    "other",
]
Severity = Literal["error", "warn"]

_PROBLEM_SEPARATOR = "\n"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Column(_Strict):
    """One column: its logical type, nullability, parse format and PII tag."""

    name: str
    type: ColumnType = "string"
    nullable: bool = True
    description: str | None = None
    pii: PiiTag | None = None
    format: str | None = Field(
        default=None, description="strptime format for date/timestamp columns"
    )
    decimal_comma: bool = False
    scale: int = Field(default=6, ge=0, le=38, description="digits after the point (decimal)")
    timezone: bool = Field(
        default=False, description="timestamp column holds instants (stored as UTC)"
    )
    source_name: str | None = Field(
        default=None, description="the column's name in the source, when it differs"
    )


class _CheckBase(_Strict):
    name: str | None = None
    severity: Severity = "error"

    def label(self) -> str:
        """A short stable name for results and quarantine reasons."""
        return self.name or self.default_label()

    def default_label(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


class RangeCheck(_CheckBase):
    """``min <= column <= max`` (either bound optional; exclusive bounds optional)."""

    type: Literal["range"] = "range"
    column: str
    min: int | float | str | None = None
    max: int | float | str | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True

    def default_label(self) -> str:
        return f"range({self.column})"


class AllowedValuesCheck(_CheckBase):
    """The column's value is one of a fixed set."""

    type: Literal["allowed_values"] = "allowed_values"
    column: str
    values: list[Any]

    def default_label(self) -> str:
        return f"allowed_values({self.column})"


class RegexCheck(_CheckBase):
    """The whole value matches a regular expression."""

    type: Literal["regex"] = "regex"
    column: str
    pattern: str

    def default_label(self) -> str:
        return f"regex({self.column})"


class UniqueCheck(_CheckBase):
    """One or more columns are unique together, across the table as it will be after a write."""

    type: Literal["unique"] = "unique"
    columns: list[str]

    def default_label(self) -> str:
        return f"unique({', '.join(self.columns)})"


class ExpressionCheck(_CheckBase):
    """A row-level SQL boolean expression (DuckDB dialect), e.g. ``ship_date >= order_date``."""

    type: Literal["expression"] = "expression"
    sql: str

    def default_label(self) -> str:
        return f"expression({self.sql})"


class FreshnessCheck(_CheckBase):
    """The newest value of a date/timestamp column is at most ``max_age`` old (e.g. ``2d``)."""

    type: Literal["freshness"] = "freshness"
    column: str
    max_age: str
    severity: Severity = "warn"

    def default_label(self) -> str:
        return f"freshness({self.column})"

    def max_age_seconds(self) -> float:
        """``max_age`` in seconds; accepts s, m, h, d, w suffixes."""
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", self.max_age)
        if not match:
            raise ContractError(
                f"freshness max_age {self.max_age!r} is not like '36h' or '2d'",
                column=self.column,
            )
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
        return float(match.group(1)) * unit


Check = Annotated[
    RangeCheck | AllowedValuesCheck | RegexCheck | UniqueCheck | ExpressionCheck | FreshnessCheck,
    Field(discriminator="type"),
]


class ForeignKey(_Strict):
    """Columns of this table that must exist as a key of a parent table."""

    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    severity: Severity = "error"

    def label(self) -> str:
        """A short stable name for results and quarantine reasons."""
        cols = ", ".join(self.columns)
        return f"foreign_key({cols} -> {self.ref_table}.{', '.join(self.ref_columns)})"


class ReadOptions(_Strict):
    """How to read the source file; ``contract infer`` fills these in."""

    format: Literal["csv", "json", "ndjson", "parquet", "xlsx"] | None = None
    delimiter: str = ","
    header: bool = True
    encoding: str = "utf-8"
    quote_char: str | None = '"'
    null_values: list[str] = Field(default_factory=lambda: [""])
    skip_rows: int = 0
    sheet: str | None = None
    trim: bool = False


class Contract(_Strict):
    """A table's contract: the schema, keys, checks and PII tags every write is held to."""

    table: str
    version: int = 1
    description: str | None = None
    layer: Literal["bronze", "silver", "gold"] = "silver"
    columns: list[Column]
    primary_key: list[str] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    read: ReadOptions = Field(default_factory=ReadOptions)
    allow_extra_columns: bool = False

    @model_validator(mode="after")
    def _validate_references(self) -> Contract:
        problems = self.problems()
        if problems:
            raise ValueError(_PROBLEM_SEPARATOR.join(problems))
        return self

    def problems(self) -> list[str]:
        """Every inconsistency in the contract (unknown columns, duplicates, bad regex...)."""
        problems: list[str] = []
        names = [c.name for c in self.columns]
        known = set(names)
        if not self.columns:
            problems.append("a contract needs at least one column")
        for dup in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"column `{dup}` is declared more than once")
        for name in names:
            if not _NAME.match(name):
                problems.append(
                    f"column name `{name}` is not a plain identifier; rename it and keep the "
                    "original in `source_name`"
                )
        for col in self.primary_key:
            if col not in known:
                problems.append(f"primary key column `{col}` is not a column")
        for fk in self.foreign_keys:
            problems.extend(
                f"foreign key column `{c}` is not a column" for c in fk.columns if c not in known
            )
            if len(fk.columns) != len(fk.ref_columns):
                problems.append(f"{fk.label()}: column counts differ")
        for check in self.checks:
            cols: list[str] = []
            if isinstance(check, UniqueCheck):
                cols = check.columns
            elif not isinstance(check, ExpressionCheck):
                cols = [check.column]
            problems.extend(
                f"check {check.label()}: `{c}` is not a column" for c in cols if c not in known
            )
            if isinstance(check, RegexCheck):
                try:
                    re.compile(check.pattern)
                except re.error as exc:
                    problems.append(f"check {check.label()}: invalid regex: {exc}")
        return problems

    # -- convenience -----------------------------------------------------------------
    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise ContractError(f"contract `{self.table}` has no column `{name}`", column=name)

    @property
    def column_names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    @property
    def pii_columns(self) -> dict[str, str]:
        """Column name -> PII tag for every tagged column."""
        return {c.name: c.pii for c in self.columns if c.pii}

    def unique_keys(self) -> list[list[str]]:
        """Every column set that must be unique: the primary key and unique checks."""
        keys: list[list[str]] = []
        if self.primary_key:
            keys.append(list(self.primary_key))
        for check in self.checks:
            if (
                isinstance(check, UniqueCheck)
                and check.severity == "error"
                and check.columns not in keys
            ):
                keys.append(list(check.columns))
        return keys

    def fingerprint(self) -> str:
        """A content hash of the contract, ignoring its version number."""
        body = self.model_dump(mode="json", exclude={"version"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    # -- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain dict without defaults, as written to YAML.

        Only defaults are left out, not every None: ``read.quote_char: null`` (no quoting)
        differs from the default ``"`` and must survive the round trip.
        """
        return (
            self.model_dump(mode="json", exclude_defaults=True)
            | {
                "table": self.table,
                "columns": [c.model_dump(mode="json", exclude_defaults=True) for c in self.columns],
            }
            | (
                {
                    "checks": [
                        {"type": ch.type} | ch.model_dump(mode="json", exclude_defaults=True)
                        for ch in self.checks
                    ]
                }
                if self.checks
                else {}
            )
        )

    def to_yaml(self) -> str:
        """YAML text that :meth:`from_yaml` reads back to an equal contract."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def to_json(self) -> str:
        """JSON text of the full contract."""
        return self.model_dump_json(indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> Contract:
        """Validate a dict; every problem is reported at once in a :class:`ContractError`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems: list[str] = []
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                message = str(err["msg"]).removeprefix("Value error, ")
                parts = message.split(_PROBLEM_SEPARATOR) if not where else [message]
                problems.extend(f"{where}: {part}" if where else part for part in parts)
            raise ContractError(
                f"invalid contract{f' in {source}' if source else ''}; fix these and retry",
                problems=problems,
                source=source,
            ) from None

    @classmethod
    def from_yaml(cls, text: str, *, source: str | None = None) -> Contract:
        """Parse YAML (or JSON) text into a validated contract."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ContractError(f"contract is not valid YAML: {exc}", source=source) from None
        if not isinstance(data, dict):
            raise ContractError(
                "a contract must be a mapping with `table` and `columns`", source=source
            )
        return cls.from_dict(data, source=source)

    def with_columns(self, columns: Iterable[Column]) -> Contract:
        """A copy with the columns replaced."""
        return self.model_copy(update={"columns": list(columns)})
