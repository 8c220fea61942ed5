"""The estimator contract, checked for every registered single-table generator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakeforge.errors import ContractError, NotFittedError
from lakeforge.synth import DEFAULT_METHOD, SYNTHESIZERS, TableSynthesizer

pytest.importorskip("lightgbm")
pytest.importorskip("scipy")


def mixed_table(n: int = 600, seed: int = 0) -> pa.Table:
    """Every column kind, nulls, a rare category and a known dependency (y on segment)."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["retail", "business", "vip"], size=n, p=[0.6, 0.3, 0.1])
    base = {"retail": 20.0, "business": 60.0, "vip": 150.0}
    amount = np.array([base[s] for s in segment]) * rng.lognormal(0.0, 0.3, n)
    age = rng.integers(18, 80, n)
    flag = rng.random(n) < np.where(segment == "vip", 0.7, 0.1)
    city = np.array([f"city_{i}" for i in rng.integers(0, 40, n)], dtype=object)
    city[:2] = "Atlantis"  # seen twice: below k = 5, must never appear verbatim
    start = dt.date(2024, 1, 1)
    day = [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, n)]
    ts = pa.array(
        (np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 86_400 * 30, n)).astype(
            "datetime64[us]"
        )
    )
    score = np.round(rng.normal(0.0, 1.0, n) + np.where(flag, 3.0, 0.0), 2)
    score_mask = rng.random(n) < 0.1
    return pa.table(
        {
            "segment": pa.array(segment),
            "amount": pa.array(np.round(amount, 2)),
            "age": pa.array(age, type=pa.int32()),
            "flag": pa.array(flag),
            "city": pa.array(city.tolist()),
            "day": pa.array(day, type=pa.date32()),
            "ts": ts,
            "score": pa.array(score, mask=score_mask),
        }
    )


def small(cls: type[TableSynthesizer], **extra: object) -> TableSynthesizer:
    """A quick configuration of each generator (few rounds, one thread)."""
    params: dict[str, object] = {"seed": 0}
    if cls.method == "autoregressive":
        params.update(num_rounds=30, threads=1)
    if cls.method == "auto":
        params.update(params={"autoregressive": {"num_rounds": 30, "threads": 1}})
    params.update(extra)
    return cls(**params)


def _available(method: str) -> bool:
    if method != "dp":
        return True
    try:
        import opendp  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


METHODS = [
    pytest.param(m, marks=pytest.mark.skipif(not _available(m), reason="needs opendp"))
    for m in sorted(SYNTHESIZERS)
]


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return mixed_table()


@pytest.fixture(scope="module")
def fitted(table: pa.Table) -> dict[str, TableSynthesizer]:
    return {m: small(SYNTHESIZERS[m]).fit(table) for m in sorted(SYNTHESIZERS) if _available(m)}


def test_the_default_method_is_registered() -> None:
    assert DEFAULT_METHOD in SYNTHESIZERS
    assert {"auto", "autoregressive", "copula", "dp", "independent"} <= set(SYNTHESIZERS)


@pytest.mark.parametrize("method", METHODS)
def test_fit_returns_self_and_sets_learned_state(method: str, table: pa.Table) -> None:
    model = small(SYNTHESIZERS[method])
    assert model.fit(table) is model
    assert model.columns_ == table.column_names
    assert model.n_rows_ == table.num_rows


@pytest.mark.parametrize("method", METHODS)
def test_sample_before_fit_raises_not_fitted(method: str, tmp_path: Path) -> None:
    model = small(SYNTHESIZERS[method])
    with pytest.raises(NotFittedError):
        model.sample(5)
    with pytest.raises(NotFittedError):
        model.save(tmp_path / "m")


@pytest.mark.parametrize("method", METHODS)
def test_sample_keeps_the_schema_and_row_count(
    method: str, table: pa.Table, fitted: dict[str, TableSynthesizer]
) -> None:
    out = fitted[method].sample(250, seed=1)
    assert out.num_rows == 250
    assert out.schema == table.schema
    assert fitted[method].sample(seed=1).num_rows == table.num_rows
    assert fitted[method].sample(0).num_rows == 0


@pytest.mark.parametrize("method", METHODS)
def test_seeded_sampling_is_deterministic(
    method: str, table: pa.Table, fitted: dict[str, TableSynthesizer]
) -> None:
    model = fitted[method]
    assert model.sample(200, seed=7).equals(model.sample(200, seed=7))
    assert not model.sample(200, seed=7).equals(model.sample(200, seed=8))
    if method != "dp":  # DP noise comes from a secure, unseeded generator by design
        again = small(SYNTHESIZERS[method]).fit(table)
        assert again.sample(200, seed=7).equals(model.sample(200, seed=7))


@pytest.mark.parametrize("method", METHODS)
def test_save_load_round_trip_gives_identical_samples(
    method: str, fitted: dict[str, TableSynthesizer], tmp_path: Path
) -> None:
    model = fitted[method]
    model.save(tmp_path / "m")
    loaded = TableSynthesizer.load(tmp_path / "m")
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.sample(300, seed=3).equals(model.sample(300, seed=3))
    cond = {"segment": "vip"}
    assert loaded.sample(50, seed=3, conditions=cond).equals(
        model.sample(50, seed=3, conditions=cond)
    )


@pytest.mark.parametrize("method", METHODS)
def test_conditions_are_met_by_every_row(method: str, fitted: dict[str, TableSynthesizer]) -> None:
    out = fitted[method].sample(300, seed=2, conditions={"flag": True, "segment": "vip"})
    assert out.num_rows == 300
    assert pc.all(out.column("flag")).as_py() is True
    assert set(out.column("segment").to_pylist()) == {"vip"}


@pytest.mark.parametrize("method", METHODS)
def test_conditions_on_unknown_columns_or_values_are_refused(
    method: str, fitted: dict[str, TableSynthesizer]
) -> None:
    with pytest.raises(ContractError):
        fitted[method].sample(10, conditions={"nope": 1})
    if method != "independent":
        with pytest.raises(ContractError):
            fitted[method].sample(10, conditions={"segment": "never-seen"})


@pytest.mark.parametrize("method", METHODS)
def test_context_gives_one_row_per_context_row(method: str, table: pa.Table) -> None:
    model = small(SYNTHESIZERS[method]).fit(table, context_columns=["segment"])
    assert model.columns_ == [c for c in table.column_names if c != "segment"]
    context = pa.table({"segment": ["vip"] * 40 + ["retail"] * 60})
    out = model.sample(context=context, seed=0)
    assert out.num_rows == 100
    assert "segment" not in out.column_names
    with pytest.raises(ContractError):
        model.sample(10)


@pytest.mark.parametrize("method", METHODS)
def test_get_params_returns_the_constructor_arguments(method: str) -> None:
    model = small(SYNTHESIZERS[method], seed=11)
    params = model.get_params()
    assert params["seed"] == 11
    assert type(model)(**params).get_params() == params
