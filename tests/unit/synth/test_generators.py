"""Behaviour of the copula and autoregressive generators (and their column codecs)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakeforge.synth import AutoregressiveSynthesizer, CopulaSynthesizer, TableSynthesizer
from lakeforge.synth._encoding import RARE_VALUE, CategoricalCodec, NumericCodec, fit_codec

from .test_generators_contract import mixed_table

pytest.importorskip("lightgbm")
pytest.importorskip("scipy")


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return mixed_table(1500, seed=1)


@pytest.fixture(scope="module")
def ar(table: pa.Table) -> AutoregressiveSynthesizer:
    return AutoregressiveSynthesizer(seed=0, num_rounds=60, threads=1).fit(table)


@pytest.fixture(scope="module")
def copula(table: pa.Table) -> CopulaSynthesizer:
    return CopulaSynthesizer(seed=0).fit(table)


# -- codecs -------------------------------------------------------------------------------
def test_numeric_codec_keeps_point_masses_exact_and_round_trips_values() -> None:
    rng = np.random.default_rng(0)
    values = np.where(rng.random(5000) < 0.8, 0, rng.integers(100, 10_000, 5000))
    codec = fit_codec(
        pa.array(values), "numeric", n_bins=16, min_count=5, max_tokens=64, atom_share=0.01
    )
    assert isinstance(codec, NumericCodec)
    assert 0.0 in codec.atoms_.tolist()
    tokens, position = codec.encode(pa.array(values))
    back, _ = codec.decode(tokens, position, rng)
    assert back.to_pylist() == values.tolist()
    drawn, _ = codec.decode(tokens, None, rng)
    drawn_np = drawn.to_numpy()
    assert np.mean(drawn_np == 0) == pytest.approx(0.8, abs=0.02)
    assert drawn_np.min() >= values.min() and drawn_np.max() <= values.max()


def test_categorical_codec_pools_a_long_tail_without_a_token_per_value() -> None:
    rng = np.random.default_rng(0)
    values = [f"v{i}" for i in rng.zipf(1.3, 20_000) % 3000]
    codec = fit_codec(
        pa.array(values), "categorical", n_bins=16, min_count=5, max_tokens=50, atom_share=0.01
    )
    assert isinstance(codec, CategoricalCodec)
    assert codec.n_tokens <= 50
    tokens, _ = codec.encode(pa.array(values))
    out, _ = codec.decode(tokens, None, rng)
    counts = pc.value_counts(pa.array(values)).to_pylist()
    rare = {c["values"] for c in counts if c["counts"] < 5}
    seen = set(out.to_pylist())
    assert not (seen & rare)
    assert RARE_VALUE in seen
    assert len(seen) > 50  # the pool decodes to many distinct (frequent enough) values


# -- both generators ----------------------------------------------------------------------
@pytest.mark.parametrize("which", ["ar", "copula"])
def test_rare_categories_never_appear_verbatim(
    which: str, ar: TableSynthesizer, copula: TableSynthesizer
) -> None:
    model = {"ar": ar, "copula": copula}[which]
    out = model.sample(5000, seed=0)
    assert "Atlantis" not in set(out.column("city").to_pylist())


@pytest.mark.parametrize("which", ["ar", "copula"])
def test_bounds_rounding_and_missing_share_are_kept(
    which: str, table: pa.Table, ar: TableSynthesizer, copula: TableSynthesizer
) -> None:
    model = {"ar": ar, "copula": copula}[which]
    out = model.sample(4000, seed=0)
    age = out.column("age").to_numpy()
    assert age.min() >= 18 and age.max() <= 79
    amount = out.column("amount").to_numpy()
    assert np.allclose(amount, np.round(amount, 2))
    assert amount.min() >= pc.min(table.column("amount")).as_py()
    day = out.column("day")
    assert pc.min(day).as_py() >= pc.min(table.column("day")).as_py()
    assert pc.max(day).as_py() <= pc.max(table.column("day")).as_py()
    share_real = table.column("score").null_count / table.num_rows
    share_syn = out.column("score").null_count / out.num_rows
    assert share_syn == pytest.approx(share_real, abs=0.03)


@pytest.mark.parametrize("which", ["ar", "copula"])
def test_a_known_dependency_is_learned(
    which: str, ar: TableSynthesizer, copula: TableSynthesizer
) -> None:
    model = {"ar": ar, "copula": copula}[which]
    out = model.sample(4000, seed=0).to_pandas()
    means = out.groupby("segment")["amount"].median()
    assert means["vip"] > means["business"] > means["retail"]


def test_independent_baseline_does_not_learn_the_dependency(table: pa.Table) -> None:
    from lakeforge.synth import IndependentSynthesizer

    out = IndependentSynthesizer(seed=0).fit(table).sample(4000).to_pandas()
    means = out.groupby("segment")["amount"].median()
    assert means["vip"] < 2 * means["retail"]


def test_autoregressive_conditions_on_a_late_column_shift_the_earlier_ones(
    ar: AutoregressiveSynthesizer,
) -> None:
    # flag comes after segment in the order: the particles must pull segment towards vip
    plain = ar.sample(3000, seed=0).to_pandas()
    fraud = ar.sample(3000, seed=0, conditions={"flag": True}).to_pandas()
    assert fraud["flag"].all()
    assert (fraud["segment"] == "vip").mean() > 2 * (plain["segment"] == "vip").mean()


def test_copula_conditions_shift_the_dependent_columns(copula: CopulaSynthesizer) -> None:
    plain = copula.sample(3000, seed=0).to_pandas()
    vip = copula.sample(3000, seed=0, conditions={"segment": "vip"}).to_pandas()
    assert vip["amount"].median() > plain["amount"].median()


def test_an_exact_numeric_condition_is_reproduced(ar: AutoregressiveSynthesizer) -> None:
    out = ar.sample(200, seed=0, conditions={"age": 30, "segment": "retail"})
    assert set(out.column("age").to_pylist()) == {30}


@pytest.mark.parametrize("which", ["ar", "copula"])
def test_child_rows_follow_their_context(which: str, table: pa.Table) -> None:
    model = (
        AutoregressiveSynthesizer(seed=0, num_rounds=40, threads=1)
        if which == "ar"
        else CopulaSynthesizer(seed=0)
    ).fit(table, context_columns=["segment"])
    context = pa.table({"segment": ["vip"] * 500 + ["retail"] * 500})
    out = model.sample(context=context, seed=0).to_pandas()
    assert out["amount"][:500].median() > 3 * out["amount"][500:].median()


def test_no_exact_copies_of_rows_with_a_continuous_column(
    table: pa.Table, ar: AutoregressiveSynthesizer
) -> None:
    out = ar.sample(table.num_rows, seed=0)
    real = set(zip(*(table.column(c).to_pylist() for c in ("amount", "ts")), strict=True))
    syn = list(zip(*(out.column(c).to_pylist() for c in ("amount", "ts")), strict=True))
    assert np.mean([row in real for row in syn]) < 0.01


def test_a_deterministic_column_is_learned_as_a_lookup() -> None:
    rng = np.random.default_rng(0)
    edu = rng.choice(["hs", "ba", "ms", "phd"], 2000)
    num = np.select([edu == "hs", edu == "ba", edu == "ms"], [9, 13, 14], 16)
    data = pa.table({"education": edu, "education_num": num})
    model = AutoregressiveSynthesizer(seed=0, threads=1).fit(data)
    assert model.models_["education_num"].lookup is not None
    out = model.sample(2000).to_pandas()
    pairs = set(zip(out["education"], out["education_num"], strict=True))
    assert pairs == {("hs", 9), ("ba", 13), ("ms", 14), ("phd", 16)}
