"""Frame contracts for recommenders: interactions ``user_id, item_id, ts[, weight]``."""

from __future__ import annotations

from typing import Any

import polars as pl

from lakeforge.errors import ContractError

__all__ = ["as_interactions", "as_items", "as_users", "to_polars"]


def to_polars(frame: Any) -> pl.DataFrame:
    """Accept a polars or pandas frame or a pyarrow table; return a polars DataFrame."""
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    module = type(frame).__module__
    if module.startswith("pyarrow"):
        out = pl.from_arrow(frame)
        assert isinstance(out, pl.DataFrame)
        return out
    if module.startswith("pandas"):
        return pl.from_pandas(frame)
    raise ContractError(
        f"expected a polars/pandas frame or a pyarrow table, got {type(frame).__name__}"
    )


def as_interactions(
    frame: Any,
    *,
    user_col: str = "user_id",
    item_col: str = "item_id",
    time_col: str = "ts",
    weight_col: str | None = "weight",
) -> pl.DataFrame:
    """Validate and normalise an interactions frame to ``user_id, item_id, ts, weight``.

    ``ts`` is optional (row order stands in for time) and ``weight`` defaults to 1. Ids are
    cast to strings so saved models and the REST service see one type.
    """
    df = to_polars(frame)
    problems = [
        f"column `{col}` is missing (columns: {', '.join(df.columns)})"
        for col in (user_col, item_col)
        if col not in df.columns
    ]
    if problems:
        raise ContractError(
            "interactions do not match `user_id, item_id, ts[, weight]`", problems=problems
        )
    ts = pl.col(time_col) if time_col in df.columns else pl.int_range(0, pl.len(), dtype=pl.Int64)
    weight = (
        pl.col(weight_col).cast(pl.Float64).fill_null(1.0)
        if weight_col and weight_col in df.columns
        else pl.lit(1.0, dtype=pl.Float64)
    )
    out = df.select(
        pl.col(user_col).cast(pl.String).alias("user_id"),
        pl.col(item_col).cast(pl.String).alias("item_id"),
        ts.alias("ts"),
        weight.alias("weight"),
    ).drop_nulls(["user_id", "item_id"])
    if out["ts"].dtype in (pl.Date, pl.Datetime) or isinstance(out["ts"].dtype, pl.Datetime):
        out = out.with_columns(pl.col("ts").dt.epoch("ms").cast(pl.Int64))
    elif out["ts"].dtype == pl.String:
        out = out.with_columns(pl.col("ts").str.to_datetime().dt.epoch("ms").cast(pl.Int64))
    else:
        out = out.with_columns(pl.col("ts").cast(pl.Int64))
    return out


def as_items(frame: Any, *, item_col: str = "item_id") -> pl.DataFrame:
    """Item metadata with ``item_id`` as a string and whatever else it carries."""
    df = to_polars(frame)
    if item_col not in df.columns:
        fallback = "product_id" if "product_id" in df.columns else None
        if fallback is None:
            raise ContractError(f"items need an `{item_col}` column (columns: {df.columns})")
        item_col = fallback
    return df.with_columns(pl.col(item_col).cast(pl.String).alias("item_id"))


def as_users(frame: Any, *, user_col: str = "user_id") -> pl.DataFrame:
    """User attributes with ``user_id`` as a string and an optional ``segment`` column."""
    df = to_polars(frame)
    if user_col not in df.columns:
        fallback = "customer_id" if "customer_id" in df.columns else None
        if fallback is None:
            raise ContractError(f"users need a `{user_col}` column (columns: {df.columns})")
        user_col = fallback
    return df.with_columns(pl.col(user_col).cast(pl.String).alias("user_id"))
