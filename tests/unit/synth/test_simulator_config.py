"""RetailConfig: presets, overrides, validation and the seeded streams."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from lakeforge.errors import ConfigError
from lakeforge.synth.simulator import PRESETS, RetailConfig, simulate_retail
from lakeforge.synth.simulator._config import Stream, rng_for
from lakeforge.synth.simulator._keys import key_width, make_keys


def test_presets_have_the_documented_sizes() -> None:
    assert set(PRESETS) == {"small", "medium", "large"}
    assert RetailConfig.preset("small").daily_sales_cells == 5 * 200 * 365
    assert RetailConfig.preset("medium").daily_sales_cells == 10 * 500 * 730
    assert RetailConfig.preset("large").daily_sales_cells >= 10_000_000


def test_preset_overrides_and_ignores_missing_values() -> None:
    config = RetailConfig.preset("medium", seed=3, stores=4, products=None)
    assert (config.seed, config.stores, config.products) == (3, 4, 500)
    assert config.end_date == config.start_date + dt.timedelta(days=729)


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        RetailConfig.preset("huge")


def test_invalid_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="stores"):
        RetailConfig.preset("small", stores=0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("elasticity_range", (-0.5, -2.0), "low end"),
        ("elasticity_range", (-1.0, 0.5), "negative"),
        ("promo_uplift_range", (-0.2, 0.5), "must not be negative"),
        ("promo_discount_range", (0.0, 0.3), "promo_discount_range"),
    ],
)
def test_ranges_are_validated(field: str, value: tuple[float, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RetailConfig(**{field: value})


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError):
        RetailConfig().stores = 3  # type: ignore[misc]


def test_streams_are_pure_functions_of_seed_stream_and_chunk() -> None:
    a = rng_for(7, Stream.DAILY_SALES, 2).random(5)
    assert np.array_equal(a, rng_for(7, Stream.DAILY_SALES, 2).random(5))
    assert not np.array_equal(a, rng_for(7, Stream.DAILY_SALES, 3).random(5))
    assert not np.array_equal(a, rng_for(7, Stream.BASKETS, 2).random(5))
    assert not np.array_equal(a, rng_for(8, Stream.DAILY_SALES, 2).random(5))


def test_keys_are_readable_and_zero_padded() -> None:
    assert make_keys("P", np.array([1, 42]), key_width(500, 4)).to_pylist() == ["P0001", "P0042"]
    assert key_width(123_456, 5) == 6


@pytest.mark.parametrize(
    ("dirty", "file_format"), [(-0.1, "parquet"), (0.9, "parquet"), (0, "xml")]
)
def test_bad_arguments_are_rejected_before_any_work(
    dirty: float, file_format: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError):
        simulate_retail(tmp_path, RetailConfig(), dirty=dirty, file_format=file_format)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())
