"""Behaviour of the copula and autoregressive generators (and their column codecs)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakeforge.synth import (
    AutoregressiveSynthesizer,
    AutoSynthesizer,
    CopulaSynthesizer,
    TableSynthesizer,
    quick_fidelity,
)
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
    plain = ar.sample(1500, seed=0).to_pandas()
    fraud = ar.sample(1500, seed=0, conditions={"flag": True}).to_pandas()
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


def test_auto_picks_the_model_that_scores_better_and_falls_back_on_size(table: pa.Table) -> None:
    quick = {"autoregressive": {"num_rounds": 40, "threads": 1}}
    auto = AutoSynthesizer(seed=0, params=quick).fit(table)
    assert set(auto.scores_) == {"autoregressive", "copula"}
    assert auto.chosen_ == max(auto.scores_, key=lambda m: auto.scores_[m])
    big = AutoSynthesizer(seed=0, max_cells=10, params=quick).fit(table)
    assert big.chosen_ == "copula" and big.scores_ == {}


def test_quick_fidelity_ranks_a_copy_above_a_shuffle(table: pa.Table) -> None:
    from lakeforge.synth import infer_kinds

    kinds = infer_kinds(table)
    rng = np.random.default_rng(0)
    shuffled = pa.table(
        {
            c: table.column(c).take(pa.array(rng.permutation(table.num_rows)))
            for c in table.column_names
        }
    )
    assert quick_fidelity(table, table, kinds) == pytest.approx(1.0)
    assert quick_fidelity(table, shuffled, kinds) < 0.97


def test_dp_states_its_guarantee_and_keeps_marginals_at_a_large_epsilon(table: pa.Table) -> None:
    pytest.importorskip("opendp")
    from lakeforge.synth import DPSynthesizer

    model = DPSynthesizer(epsilon=50.0).fit(table)
    assert "NOT for the domain" in model.guarantee_
    out = model.sample(4000, seed=0).to_pandas()
    real = table.to_pandas()
    share = (out["segment"] == "retail").mean()
    assert share == pytest.approx((real["segment"] == "retail").mean(), abs=0.05)
    assert "Atlantis" not in set(out["city"])
    assert out["age"].between(18, 79).all()


def test_dp_with_a_public_domain_is_end_to_end_and_refuses_a_bad_budget(table: pa.Table) -> None:
    pytest.importorskip("opendp")
    from lakeforge.errors import ContractError
    from lakeforge.synth import DPSynthesizer

    small = table.select(["segment", "age"])
    model = DPSynthesizer(
        epsilon=1.0,
        bounds={"age": (0, 120)},
        categories={"segment": ["retail", "business", "vip"]},
    ).fit(small)
    assert "end to end" in model.guarantee_
    out = model.sample(500, seed=0)
    assert set(out.column("segment").drop_null().to_pylist()) <= {"retail", "business", "vip"}
    assert pc.min(out.column("age")).as_py() >= 0
    with pytest.raises(ContractError):
        DPSynthesizer(epsilon=0.0).fit(small)


def test_weakly_dependent_columns_go_last_in_the_default_order() -> None:
    rng = np.random.default_rng(0)
    a = rng.choice(["x", "y", "z"], 3000)
    noise = rng.normal(size=3000)  # independent of everything: an identifier-like number
    b = np.where(a == "x", 1.0, 5.0) + rng.normal(size=3000)
    c = np.where(b > 3, "hi", "lo")
    data = pa.table({"noise": noise, "a": a, "b": b, "c": c})
    model = AutoregressiveSynthesizer(seed=0, num_rounds=20, threads=1).fit(data)
    assert model.order_ == ["a", "b", "c", "noise"]
    kept = AutoregressiveSynthesizer(seed=0, num_rounds=20, threads=1, weak_dependence=0.0)
    assert kept.fit(data).order_ == ["noise", "a", "b", "c"]


def test_smoothing_mixes_in_the_marginal(table: pa.Table) -> None:
    sharp = AutoregressiveSynthesizer(seed=0, num_rounds=40, threads=1).fit(table)
    smooth = AutoregressiveSynthesizer(seed=0, num_rounds=40, threads=1, smoothing=0.5).fit(table)

    def vip_flag_share(model: AutoregressiveSynthesizer) -> float:
        out = model.sample(4000, seed=0).to_pandas()
        return float(out.loc[out["segment"] == "vip", "flag"].mean())

    assert vip_flag_share(smooth) < vip_flag_share(sharp) - 0.1


def test_row_share_fits_each_column_on_a_subset_and_still_learns(table: pa.Table) -> None:
    model = AutoregressiveSynthesizer(seed=0, num_rounds=40, threads=1, row_share=0.5)
    out = model.fit(table).sample(3000, seed=0).to_pandas()
    medians = out.groupby("segment")["amount"].median()
    assert medians["vip"] > medians["business"] > medians["retail"]
