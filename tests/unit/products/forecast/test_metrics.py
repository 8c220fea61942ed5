"""Forecast metrics on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from lakeforge.products.forecast import bias, coverage, mase, quantile_loss, rmsse, smape, wape


def test_mase_scales_by_the_in_sample_naive_error() -> None:
    train = [1.0, 2.0, 3.0, 4.0]  # naive MAE 1
    assert mase([5.0, 6.0], [4.0, 8.0], train) == pytest.approx(1.5)


def test_mase_uses_the_season() -> None:
    train = [1.0, 5.0, 1.0, 5.0, 1.0, 5.0]  # seasonal naive with m=2 is perfect: scale falls back
    assert mase([1.0], [2.0], train, season_length=2) == pytest.approx(1.0)


def test_rmsse() -> None:
    assert rmsse([3.0, 3.0], [1.0, 5.0], [0.0, 1.0, 2.0]) == pytest.approx(2.0)


def test_smape_counts_both_zero_as_exact() -> None:
    assert smape([0.0, 100.0], [0.0, 100.0]) == 0.0
    assert smape([100.0], [0.0]) == pytest.approx(200.0)


def test_wape_bias_quantile_loss_coverage() -> None:
    assert wape([10.0, 10.0], [5.0, 15.0]) == pytest.approx(0.5)
    assert wape([0.0], [0.0]) == 0.0
    assert math.isinf(wape([0.0], [1.0]))
    assert bias([1.0, 1.0], [2.0, 2.0]) == pytest.approx(1.0)
    assert quantile_loss([10.0], [8.0], 0.9) == pytest.approx(1.8)
    assert quantile_loss([10.0], [12.0], 0.9) == pytest.approx(0.2)
    assert coverage([1.0, 5.0, 9.0], [0.0, 0.0, 0.0], [6.0, 6.0, 6.0]) == pytest.approx(2 / 3)


def test_quantile_must_be_inside_zero_one() -> None:
    with pytest.raises(ValueError, match="quantile"):
        quantile_loss([1.0], [1.0], 1.0)
