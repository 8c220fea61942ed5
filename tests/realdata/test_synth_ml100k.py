"""A synthetic twin of MovieLens 100K: users -> ratings <- items, a child with two parents.

Acceptance of the multi-table synthesizer: 100% foreign-key integrity, cardinality
similarity of at least 0.9 on both relations, no repeated (user, item) pair, ratings that
follow their user's attributes, and the HTML + JSON report written.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from lakeforge.contracts import Column, Contract, ForeignKey, RangeCheck, UniqueCheck
from lakeforge.synth import cardinality_similarity, foreign_key_integrity
from lakeforge.synth._multitable import Synthesizer
from lakeforge.synth._stream import report_twin

pytestmark = pytest.mark.realdata

GENRES = ["action", "comedy", "drama", "romance", "thriller"]
ALL_GENRES = [
    "unknown", "action", "adventure", "animation", "children", "comedy", "crime",
    "documentary", "drama", "fantasy", "film_noir", "horror", "musical", "mystery",
    "romance", "sci_fi", "thriller", "war", "western",
]  # fmt: skip


def _read(path: Path, names: list[str], delimiter: str) -> pa.Table:
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, encoding="latin-1"),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False),
        convert_options=pacsv.ConvertOptions(column_types={"zip_code": pa.string()}),
    )


def _movielens(folder: Path) -> tuple[dict[str, pa.Table], list[Contract]]:
    users = _read(folder / "u.user", ["user_id", "age", "gender", "occupation", "zip_code"], "|")
    items = _read(
        folder / "u.item", ["item_id", "title", "release_date", "video", "url", *ALL_GENRES], "|"
    ).select(["item_id", "release_date", *GENRES])
    ratings = _read(folder / "u.data", ["user_id", "item_id", "rating", "timestamp"], "\t")
    contracts = [
        Contract(
            table="users",
            columns=[
                Column(name="user_id", type="integer"),
                Column(name="age", type="integer"),
                Column(name="gender"),
                Column(name="occupation"),
                Column(name="zip_code", pii="address"),
            ],
            primary_key=["user_id"],
        ),
        Contract(
            table="items",
            columns=[
                Column(name="item_id", type="integer"),
                Column(name="release_date"),
                *[Column(name=g, type="integer") for g in GENRES],
            ],
            primary_key=["item_id"],
        ),
        Contract(
            table="ratings",
            columns=[
                Column(name="user_id", type="integer"),
                Column(name="item_id", type="integer"),
                Column(name="rating", type="integer"),
                Column(name="timestamp", type="integer"),
            ],
            foreign_keys=[
                ForeignKey(columns=["user_id"], ref_table="users", ref_columns=["user_id"]),
                ForeignKey(columns=["item_id"], ref_table="items", ref_columns=["item_id"]),
            ],
            checks=[
                UniqueCheck(columns=["user_id", "item_id"]),
                RangeCheck(column="rating", min=1, max=5),
            ],
        ),
    ]
    return {"users": users, "items": items, "ratings": ratings}, contracts


def test_ml100k_twin_keeps_integrity_and_cardinality(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "ml-100k"
    if not (folder / "u.data").is_file():
        pytest.skip(f"ml-100k is not in {folder}")
    tables, contracts = _movielens(folder)

    syn = Synthesizer(contracts, method="copula", seed=0).fit(tables)
    twin = syn.sample(seed=1)

    assert syn.plans_["ratings"].driving is not None
    integrity = foreign_key_integrity(twin, contracts)
    assert set(integrity.values()) == {1.0}, integrity
    similarity = cardinality_similarity(tables, twin, contracts)
    assert min(similarity.values()) >= 0.9, similarity
    pairs = twin["ratings"].group_by(["user_id", "item_id"]).aggregate([("rating", "count")])
    assert pc.max(pairs["rating_count"]).as_py() == 1
    real_zips = set(tables["users"]["zip_code"].to_pylist())
    fake_zips = twin["users"]["zip_code"].to_pylist()
    assert sum(z in real_zips for z in fake_zips) / len(fake_zips) < 0.05  # chance hits only
    assert set(twin["ratings"]["rating"].to_pylist()) <= {1, 2, 3, 4, 5}

    report = report_twin(syn, tables, tmp_path / "report", synthetic=twin)
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000
    assert (tmp_path / "report" / "report.json").is_file()
    assert set(report.foreign_key_integrity.values()) == {1.0}
