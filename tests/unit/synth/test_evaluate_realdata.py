"""The report on UCI Adult: same quality figures as sdmetrics, and the acceptance ranking."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from lakeforge.synth import IndependentSynthesizer, evaluate

COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]  # fmt: skip
NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}
DATA = Path(
    os.environ.get("LAKEFORGE_DATA", Path(__file__).resolve().parents[4] / "shared" / "data")
)

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.slow,
    pytest.mark.skipif(not (DATA / "adult" / "adult.data").exists(), reason="Adult not found"),
]


def read_adult(name: str) -> pa.Table:
    lines = (DATA / "adult" / name).read_text().splitlines()
    rows = [[v.strip() for v in ln.split(",")] for ln in lines if ln.strip() and ln[0] != "|"]
    data = {}
    for i, col in enumerate(COLUMNS):
        values = [None if r[i] == "?" else r[i].rstrip(".") for r in rows]
        if col in NUMERIC:
            data[col] = pl.Series(col, [None if v is None else int(v) for v in values])
        else:
            data[col] = pl.Series(col, values, pl.String)
    return pl.DataFrame(data).to_arrow()


@pytest.fixture(scope="module")
def adult() -> tuple[pa.Table, pa.Table]:
    return read_adult("adult.data"), read_adult("adult.test")


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_quality_equals_sdmetrics_on_adult(adult: tuple[pa.Table, pa.Table]) -> None:
    # Setup: the no-correlation baseline, scored as the shared scorer scores it
    reports = pytest.importorskip("sdmetrics.reports.single_table")
    train, _ = adult
    synthetic = IndependentSynthesizer(seed=0).fit(train).sample(train.num_rows, seed=1)
    meta = {
        "columns": {
            c: {"sdtype": "numerical", "computer_representation": "Float"}
            if c in NUMERIC
            else {"sdtype": "categorical"}
            for c in COLUMNS
        }
    }

    def frame(t: pa.Table):  # type: ignore[no-untyped-def]
        df = t.to_pandas()
        for c in COLUMNS:
            df[c] = df[c].astype(float) if c in NUMERIC else df[c].astype(object)
        return df

    qr = reports.QualityReport()
    qr.generate(frame(train), frame(synthetic), meta, verbose=False)
    props = qr.get_properties().set_index("Property")["Score"]
    # Run
    report = evaluate(train, synthetic, discriminator=False)
    # Assert
    assert report.fidelity.column_shapes == pytest.approx(props["Column Shapes"], abs=1e-9)
    assert report.fidelity.column_pair_trends == pytest.approx(
        props["Column Pair Trends"], abs=1e-9
    )
    assert report.fidelity.quality == pytest.approx(qr.get_score(), abs=1e-9)
    assert report.verdict("fidelity") == "fail"  # 0.76 pair trends: the baseline


def test_adult_copy_fails_privacy_and_a_real_sample_passes(
    adult: tuple[pa.Table, pa.Table],
) -> None:
    # Setup: adult.test split in two: one half plays the ideal synthesizer, one the holdout
    train, test = adult
    order = np.random.default_rng(0).permutation(test.num_rows)
    half = test.num_rows // 2
    ideal, holdout = test.take(pa.array(order[:half])), test.take(pa.array(order[half:]))
    # Run
    copy = evaluate(train, train, holdout=holdout, copy_ignore=["fnlwgt"], discriminator=False)
    fresh = evaluate(
        train, ideal, holdout=holdout, target="income", copy_ignore=["fnlwgt"], discriminator=False
    )
    # Assert
    assert copy.verdict("privacy") == "fail"
    assert copy.privacy is not None and copy.privacy.mia_auc > 0.9
    assert fresh.verdict("privacy") == "pass", fresh.summary()
    assert fresh.verdict("fidelity") == "pass", fresh.summary()
    assert fresh.verdict("utility") == "pass", fresh.summary()
    assert fresh.privacy is not None
    assert abs(fresh.privacy.copy_rate - fresh.privacy.holdout_copy_rate) < 0.02
