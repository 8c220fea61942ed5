"""Synthetic data: Adult (single table) beside the anchors, multi-table twins, a 10M-row child.

Adult (``../shared/data/adult``): each system fits on adult.data and samples 32,561 rows in
its own process (fit and sample seconds, peak memory); the sample is scored by the shared
scorer ``../shared/tools/adult_synth_score.py`` (sdmetrics quality, LightGBM TSTR AUC on
adult.test, DCR share, copy rate without fnlwgt) and by Lakeforge's own
``lakeforge.synth.evaluate`` (membership-inference AUC and DCR share, holdout adult.test).

Systems: independent marginals (the no-correlation baseline), every registered Lakeforge
generator (``SYNTHESIZERS``, read at run time; the default one labelled), and the anchors
when importable: SDV GaussianCopula by default, SDV CTGAN / TVAE and mostlyai-engine
TabularARGN only with ``--slow-anchors`` (each skipped with the reason when missing; they are
benchmark-only, never a Lakeforge dependency).

Multi-table: MovieLens 100K (users -> ratings <- items) and the simulated retail world
(small preset, 7 related tables, depth 3) through ``lakeforge.synth.Synthesizer``: foreign-key
integrity, cardinality similarity, inter-table trends; the HTML report goes to
``benchmarks/.work/``. Scale: a 10-million-row child table sampled to Delta
(``lakeforge.synth._stream.measure_large_child``) with its peak memory.

    python -m benchmarks.bench_synthetic                # everything
    python -m benchmarks.bench_synthetic --quick        # Adult: fast systems only, no 10M row
    python -m benchmarks.bench_synthetic --part adult --slow-anchors
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import RESULTS, WORK, machine, run_child, shared_data, write_results

ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
]
ADULT_NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
ADULT_ROWS = 32_561
SEED = 0

# the anchor settings: CTGAN at 30 epochs (300 did not fit the time), TVAE at 300,
# TabularARGN capped at 6 minutes of training; ordered so the longest (TVAE) runs last
ANCHORS = {
    "sdv_gaussian_copula": ("sdv", "SDV GaussianCopula (anchor)", False),
    "sdv_ctgan": ("sdv", "SDV CTGAN 30 epochs (anchor; 300 did not fit the time)", True),
    "mostlyai_tabularargn": (
        "mostlyai.engine",
        "mostlyai-engine TabularARGN, 6-minute cap (anchor)",
        True,
    ),
    "sdv_tvae": ("sdv", "SDV TVAE 300 epochs (anchor)", True),
}
CTGAN_EPOCHS, TVAE_EPOCHS, ARGN_MAX_MINUTES = 30, 300, 6.0
# Lakeforge generators too slow for --quick (fit minutes on Adult); the rest always run
SLOW_LAKEFORGE: set[str] = set()


def scorer() -> Path:
    return Path(shared_data()).parent / "tools" / "adult_synth_score.py"


# -- data --------------------------------------------------------------------------------------
def read_adult(name: str) -> Any:
    """adult.data / adult.test as an Arrow table: numbers as int64, '?' as null, no '.'."""
    import polars as pl

    path = shared_data() / "adult" / name
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("|")]
    rows = [[v.strip() for v in ln.split(",")] for ln in lines]
    data: dict[str, Any] = {}
    for i, col in enumerate(ADULT_COLUMNS):
        values = [r[i] if i < len(r) else "?" for r in rows]
        if col in ADULT_NUMERIC:
            data[col] = pl.Series(col, [None if v == "?" else int(v) for v in values], pl.Int64)
        else:
            cleaned = [
                None if v == "?" else v.rstrip(".") if col == "income" else v for v in values
            ]
            data[col] = pl.Series(col, cleaned, pl.String)
    return pl.DataFrame(data).to_arrow()


def write_csv(table: Any, path: Path) -> None:
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame.select(ADULT_COLUMNS).write_csv(path, null_value="")


# -- child mode: one system fits and samples -----------------------------------------------------
def lakeforge_generators() -> tuple[list[str], str | None]:
    """Registered generator names (after importing the generator modules) and the default."""
    from lakeforge.synth import SYNTHESIZERS, _base

    for module in ("_copula", "_autoregressive", "_auto"):
        with contextlib.suppress(ImportError):
            importlib.import_module(f"lakeforge.synth.{module}")
    default = getattr(_base, "DEFAULT_METHOD", None)
    if default not in SYNTHESIZERS:
        try:
            from lakeforge.synth._multitable import resolve_method

            default = resolve_method("auto")
        except ImportError:
            default = None
    return sorted(SYNTHESIZERS), default


def run_lakeforge(method: str, out: Path) -> dict[str, Any]:
    import lakeforge
    from lakeforge.synth import SYNTHESIZERS

    lakeforge_generators()
    train = read_adult("adult.data")
    model = SYNTHESIZERS[method](seed=SEED)
    started = time.perf_counter()
    model.fit(train)
    fitted = time.perf_counter()
    sample = model.sample(ADULT_ROWS, seed=SEED + 1)
    done = time.perf_counter()
    write_csv(sample, out)
    return {
        "version": f"lakeforge {lakeforge.__version__}",
        "settings": json.dumps(model.get_params(), default=str, sort_keys=True),
        "fit_s": round(fitted - started, 2),
        "sample_s": round(done - fitted, 2),
    }


def run_anchor(system: str, out: Path) -> dict[str, Any]:
    import pandas as pd

    train = read_adult("adult.data").to_pandas()
    for col in ADULT_NUMERIC:
        train[col] = train[col].astype("float64")
    if system.startswith("sdv_"):
        from sdv.metadata import Metadata
        from sdv.single_table import (
            CTGANSynthesizer,
            GaussianCopulaSynthesizer,
            TVAESynthesizer,
        )

        # the scorer's own sdtypes: numerical numbers, categorical text (no guessing of ids)
        columns = {
            c: {"sdtype": "numerical"} if c in ADULT_NUMERIC else {"sdtype": "categorical"}
            for c in ADULT_COLUMNS
        }
        metadata = Metadata.load_from_dict({"tables": {"adult": {"columns": columns}}})
        params: dict[str, Any]
        cls, params = {
            "sdv_gaussian_copula": (GaussianCopulaSynthesizer, {}),
            "sdv_ctgan": (CTGANSynthesizer, {"epochs": CTGAN_EPOCHS}),
            "sdv_tvae": (TVAESynthesizer, {"epochs": TVAE_EPOCHS}),
        }[system]
        model = cls(metadata, **params)
        started = time.perf_counter()
        model.fit({"adult": train})  # SDV 2 takes and returns {table name: frame}
        fitted = time.perf_counter()
        sampled = model.sample(ADULT_ROWS)
        sample = sampled["adult"] if isinstance(sampled, dict) else sampled
        version = _versions("sdv", "ctgan", "rdt", "copulas", "torch")
    else:  # mostlyai-engine TabularARGN
        import tempfile

        from mostlyai import engine

        workspace = Path(tempfile.mkdtemp(prefix="argn-"))
        started = time.perf_counter()
        engine.split(workspace_dir=workspace, tgt_data=train, model_type="TABULAR")
        engine.analyze(workspace_dir=workspace)
        engine.encode(workspace_dir=workspace)
        engine.train(workspace_dir=workspace, max_training_time=ARGN_MAX_MINUTES)
        fitted = time.perf_counter()
        engine.generate(workspace_dir=workspace, sample_size=ADULT_ROWS)
        sample = pd.read_parquet(workspace / "SyntheticData")
        params = {
            "model": "MOSTLY_AI/Medium (default)",
            "max_training_time": ARGN_MAX_MINUTES,
            **_argn_progress(workspace),
        }
        import shutil

        shutil.rmtree(workspace, ignore_errors=True)
        version = _versions("mostlyai-engine", "torch")
    done = time.perf_counter()
    sample = sample[ADULT_COLUMNS].copy()
    for col in ADULT_NUMERIC:  # Adult's numbers are integers; the scorer rounds them too
        sample[col] = pd.to_numeric(sample[col], errors="coerce").round().astype("Int64")
    sample.to_csv(out, index=False)
    return {
        "version": version,
        "settings": json.dumps(params, sort_keys=True),
        "fit_s": round(fitted - started, 2),
        "sample_s": round(done - fitted, 2),
    }


def _argn_progress(workspace: Path) -> dict[str, Any]:
    """Epochs and seconds TabularARGN trained (a wall-time cap trains less on a busy machine)."""
    import csv

    with contextlib.suppress(OSError, KeyError, IndexError, ValueError):
        path = workspace / "ModelStore" / "model-data" / "progress-messages.csv"
        last = list(csv.DictReader(path.read_text().splitlines()))[-1]
        return {"epochs_trained": float(last["epoch"]), "training_s": float(last["total_time"])}
    return {}


def _versions(*packages: str) -> str:
    """``name version`` of each installed package, e.g. ``sdv 2.0.0, torch 2.13.0``."""
    found = []
    for name in packages:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


# -- scoring -------------------------------------------------------------------------------------
def shared_score(csv: Path | None) -> dict[str, Any]:
    args = ["--real-reference"] if csv is None else [str(csv)]
    proc = subprocess.run(
        [sys.executable, str(scorer()), *args, "--data", str(shared_data())],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def own_score(csv: Path) -> dict[str, Any]:
    """Lakeforge's evaluate(): MIA AUC, DCR share and the rest, holdout adult.test."""
    import polars as pl

    from lakeforge.synth import evaluate

    train, test = read_adult("adult.data"), read_adult("adult.test")
    schema = {c: (pl.Int64 if c in ADULT_NUMERIC else pl.String) for c in ADULT_COLUMNS}
    synthetic = pl.read_csv(
        csv, schema_overrides=schema, null_values=["", "?"], infer_schema_length=0
    ).to_arrow()
    started = time.perf_counter()
    report = evaluate(
        train, synthetic, holdout=test, target="income", copy_ignore=["fnlwgt"], seed=SEED
    )
    assert report.privacy is not None and report.utility is not None
    return {
        "lf_mia_auc": round(report.privacy.mia_auc, 4),
        "lf_dcr_share": round(report.privacy.dcr_share, 4),
        "lf_copy_rate_no_fnlwgt": round(report.privacy.copy_rate, 4),
        "lf_nndr_median": round(report.privacy.nndr_median, 4),
        "lf_quality": round(report.fidelity.quality, 4),
        "lf_column_pair_trends": round(report.fidelity.column_pair_trends, 4),
        "lf_discriminator_auc": round(report.fidelity.discriminator_auc, 4),
        "lf_tstr_auc": round(report.utility.synthetic_score, 4),
        "lf_verdict": {v.area: v.status for v in report.verdicts},
        "lf_evaluate_s": round(time.perf_counter() - started, 1),
        "report": report,
    }


def adult_main(quick: bool, slow_anchors: bool, only: list[str] | None) -> list[dict[str, Any]]:
    if not (shared_data() / "adult" / "adult.data").exists():
        print(f"skipped Adult: {shared_data() / 'adult'} not found (set LAKEFORGE_DATA)")
        return []
    if not scorer().exists():
        print(f"skipped Adult: the shared scorer {scorer()} is missing")
        return []
    WORK.mkdir(parents=True, exist_ok=True)
    names, default = lakeforge_generators()
    systems: list[tuple[str, str]] = []
    for name in names:
        if quick and name in SLOW_LAKEFORGE:
            print(f"Adult: {name} left out by --quick")
            continue
        label = (
            "independent marginals (baseline)"
            if name == "independent"
            else f"Lakeforge {name}" + (" (default)" if name == default else "")
        )
        systems.append((name, label))
    for system, (module, label, slow) in ANCHORS.items():
        if slow and not slow_anchors:
            print(f"Adult: {label} left out (needs --slow-anchors)")
            continue
        if quick:
            print(f"Adult: {label} left out by --quick")
            continue
        if importlib.util.find_spec(module.split(".")[0]) is None or (
            "." in module and importlib.util.find_spec(module) is None
        ):
            print(f"Adult: {label} skipped: {module} is not installed")
            continue
        systems.append((system, label))
    if only:
        systems = [s for s in systems if s[0] in only]
    rows: list[dict[str, Any]] = []
    run_started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    reference = shared_score(None)
    rows.append(
        {
            "dataset": "Adult (fit adult.data, test adult.test)",
            "system": "real adult.data (ceiling) / adult.test copy rate",
            "version": "-",
            "settings": "train on adult.data; copy rate of adult.test rows",
            "tstr_auc": round(reference["tstr_auc"], 4),
            "tstr_f1": round(reference["tstr_f1"], 4),
            "copy_rate_no_fnlwgt": round(reference["copy_rate_no_fnlwgt"], 4),
            "cores": machine()["cores"],
        }
    )
    for system, label in systems:
        csv = WORK / f"adult_{system}.csv"
        print(f"Adult: {label}: fit + sample...", flush=True)
        load_before = _load()
        try:
            result = run_child(
                "benchmarks.bench_synthetic", ["--system", system, "--out", str(csv)], timeout=7200
            )
        except RuntimeError as exc:
            print(f"Adult: {label} failed: {str(exc)[-600:]}")
            continue
        load_after = _load()
        print(f"Adult: {label}: scoring...", flush=True)
        shared = shared_score(csv)
        own = own_score(csv)
        report = own.pop("report")
        report.to_html(WORK / f"adult_{system}_report.html")
        row = {
            "dataset": "Adult (fit adult.data, test adult.test)",
            "system": label,
            "version": result["version"],
            "settings": result["settings"],
            "fit_s": result["fit_s"],
            "sample_s": result["sample_s"],
            "fit_sample_s": round(result["fit_s"] + result["sample_s"], 2),
            "quality_overall": round(shared["quality_overall"], 4),
            "column_shapes": round(shared["column_shapes"], 4),
            "column_pair_trends": round(shared["column_pair_trends"], 4),
            "tstr_auc": round(shared["tstr_auc"], 4),
            "tstr_f1": round(shared["tstr_f1"], 4),
            "dcr_share": round(shared["dcr_share"], 4),
            "copy_rate_no_fnlwgt": round(shared["copy_rate_no_fnlwgt"], 4),
            "mia_auc": own["lf_mia_auc"],
            **own,
            "wall_s": result["process_wall_s"],
            "peak_memory_mb": result["peak_rss_mb"],
            "cores": machine()["cores"],
            "machine": machine(),
            # 1/5/15-minute load averages before and after this system's fit + sample: the
            # machine is shared, so a load above its core count inflates the wall times
            "load_avg_before": load_before,
            "load_avg_after": load_after,
            "run_started": run_started,
        }
        rows.append(row)
        print(
            f"  quality {row['quality_overall']:.3f} pairs {row['column_pair_trends']:.3f} "
            f"TSTR {row['tstr_auc']:.3f} DCR {row['dcr_share']:.3f} copies "
            f"{row['copy_rate_no_fnlwgt']:.3f} MIA {row['mia_auc']:.3f} "
            f"fit+sample {row['fit_sample_s']:.1f}s peak {row['peak_memory_mb']:.0f} MB",
            flush=True,
        )
        annotate_acceptance(rows)  # after every row, so a cut-short run still has it
        save("Adult", rows)
    print_acceptance(rows)
    return rows


# the Adult acceptance line
ADULT_TARGETS = {
    "quality_overall": 0.98,
    "column_pair_trends": 0.97,
    "tstr_auc": 0.916,
    "fit_sample_s": 60.0,
    "dcr_share": 0.52,
    "mia_auc": 0.55,
}


def annotate_acceptance(rows: list[dict[str, Any]]) -> None:
    """Set ``acceptance`` on the default Lakeforge row, against the anchors among ``rows``."""
    labels = {a[1] for a in ANCHORS.values()}
    default = [r for r in rows if str(r["system"]).endswith("(default)")]
    reference = [r for r in rows if str(r["system"]).startswith("real adult.data")]
    if not default or not reference:
        return
    anchors = [r for r in rows if r["system"] in labels]
    checks = adult_acceptance(default[0], anchors, reference[0])
    ran = {r["system"] for r in anchors}
    checks["anchors_missing"] = [a[1] for a in ANCHORS.values() if a[1] not in ran]
    default[0]["acceptance"] = checks


def print_acceptance(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if "acceptance" in row:
            print(f"Adult acceptance ({row['system']}):", flush=True)
            for key, value in row["acceptance"].items():
                print(f"  {key}: {value}", flush=True)


def recheck_adult() -> None:
    """Recompute the acceptance of the Adult rows already in results/synthetic.json."""
    path = RESULTS / "synthetic.json"
    rows = [r for r in json.loads(path.read_text()) if "Adult" in str(r.get("dataset", ""))]
    annotate_acceptance(rows)
    print_acceptance(rows)
    save("Adult", rows)


def adult_acceptance(
    row: dict[str, Any], anchors: list[dict[str, Any]], reference: dict[str, Any]
) -> dict[str, Any]:
    """Each check of the acceptance line: the figure, its bound and whether it holds.

    Quality and column pair trends must reach the fixed floor and beat the best anchor measured
    in this run (an anchor that did not run is listed as missing, not assumed).
    """
    checks: dict[str, Any] = {}
    for metric in ("quality_overall", "column_pair_trends"):
        best = max(anchors, key=lambda r: float(r[metric]), default=None)
        bound = ADULT_TARGETS[metric]
        beats = best is None or row[metric] > best[metric]
        checks[metric] = {
            "value": row[metric],
            "floor": bound,
            "best_anchor": None if best is None else best["system"],
            "best_anchor_value": None if best is None else best[metric],
            "pass": bool(row[metric] >= bound and beats),
        }
    for metric in ("tstr_auc", "fit_sample_s", "dcr_share", "mia_auc"):
        bound = ADULT_TARGETS[metric]
        checks[metric] = {
            "value": row[metric],
            "bound": f"{'>=' if metric == 'tstr_auc' else '<='} {bound}",
            "pass": bool(row[metric] >= bound if metric == "tstr_auc" else row[metric] <= bound),
        }
    holdout = round(float(reference["copy_rate_no_fnlwgt"]), 4)
    checks["copy_rate_no_fnlwgt"] = {
        "value": row["copy_rate_no_fnlwgt"],
        "bound": f"<= {holdout} (adult.test's own copy rate)",
        "pass": bool(row["copy_rate_no_fnlwgt"] <= holdout),
    }
    checks["all_pass"] = all(c["pass"] for c in checks.values())
    return checks


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- multi-table -------------------------------------------------------------------------------
def ml100k_tables() -> tuple[dict[str, Any], list[Any]]:
    """users, items, ratings with their contracts (ratings -> users, ratings -> items)."""
    import datetime as dt

    import polars as pl

    from lakeforge.contracts import Column, Contract, ForeignKey

    folder = shared_data() / "ml-100k"
    users = pl.read_csv(
        folder / "u.user",
        separator="|",
        has_header=False,
        new_columns=["user_id", "age", "gender", "occupation", "zip_code"],
        schema_overrides={"zip_code": pl.String},
    )
    genres = [
        "unknown", "action", "adventure", "animation", "children", "comedy", "crime",
        "documentary", "drama", "fantasy", "film_noir", "horror", "musical", "mystery",
        "romance", "sci_fi", "thriller", "war", "western",
    ]  # fmt: skip
    raw = (folder / "u.item").read_bytes().decode("latin-1").splitlines()
    records = [line.split("|") for line in raw if line.strip()]

    def released(text: str) -> dt.date | None:
        return dt.datetime.strptime(text, "%d-%b-%Y").date() if text else None

    items = pl.DataFrame(
        {
            "item_id": [int(r[0]) for r in records],
            "release_date": [released(r[2]) for r in records],
            **{g: [r[5 + i] == "1" for r in records] for i, g in enumerate(genres)},
        }
    )
    ratings = pl.read_csv(
        folder / "u.data",
        separator="\t",
        has_header=False,
        new_columns=["user_id", "item_id", "rating", "ts"],
    ).with_columns(pl.from_epoch("ts", time_unit="s").alias("ts"))
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
                Column(name="release_date", type="date"),
                *[Column(name=g, type="boolean") for g in genres],
            ],
            primary_key=["item_id"],
        ),
        Contract(
            table="ratings",
            columns=[
                Column(name="user_id", type="integer"),
                Column(name="item_id", type="integer"),
                Column(name="rating", type="integer"),
                Column(name="ts", type="timestamp"),
            ],
            foreign_keys=[
                ForeignKey(columns=["user_id"], ref_table="users", ref_columns=["user_id"]),
                ForeignKey(columns=["item_id"], ref_table="items", ref_columns=["item_id"]),
            ],
        ),
    ]
    tables = {"users": users.to_arrow(), "items": items.to_arrow(), "ratings": ratings.to_arrow()}
    return tables, contracts


WORLD_TABLES = [
    "stores",
    "products",
    "customers",
    "orders",
    "order_items",
    "payments",
    "reviews",
]


def world_tables() -> tuple[dict[str, Any], list[Any]]:
    """The simulated retail world (small preset): 7 related tables, depth 3."""
    import pyarrow.parquet as pq

    from lakeforge.contracts import Contract
    from lakeforge.synth.simulator import RetailConfig, simulate_retail

    out = WORK / "world_small"
    result = simulate_retail(out, RetailConfig.preset("small", seed=7), progress=False)
    tables = {name: pq.read_table(result.tables[name]) for name in WORLD_TABLES}
    contracts = [
        Contract.from_yaml(Path(result.contracts[name]).read_text()) for name in WORLD_TABLES
    ]
    return tables, contracts


def multitable_synthesizer() -> Any:
    """``lakeforge.synth.Synthesizer`` (or its module's, before it is exported), else None."""
    synth = importlib.import_module("lakeforge.synth")
    if hasattr(synth, "Synthesizer"):
        return synth.Synthesizer
    try:
        return importlib.import_module("lakeforge.synth._multitable").Synthesizer
    except (ImportError, AttributeError):
        return None


def multitable_child(dataset: str, out: Path) -> dict[str, Any]:
    """Fit the multi-table synthesizer and write the synthetic tables as Parquet to ``out``."""
    import pyarrow.parquet as pq

    import lakeforge

    Synthesizer = multitable_synthesizer()
    tables, contracts = ml100k_tables() if dataset == "ml-100k" else world_tables()
    started = time.perf_counter()
    syn = Synthesizer(contracts, seed=SEED).fit(tables)
    fitted = time.perf_counter()
    synthetic = syn.sample(seed=SEED + 1)
    done = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for name, table in synthetic.items():
        pq.write_table(table, out / f"{name}.parquet")
    return {
        "version": f"lakeforge {lakeforge.__version__}",
        "settings": json.dumps({"method": syn.method, "method_": syn.method_, "seed": SEED}),
        "fit_s": round(fitted - started, 2),
        "sample_s": round(done - fitted, 2),
        "rows": {name: t.num_rows for name, t in synthetic.items()},
        "generators": {
            name: getattr(g, "chosen_", getattr(g, "method", None))
            for name, g in syn.generators_.items()
        },
    }


def multitable_main(rescore: bool = False) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    if multitable_synthesizer() is None:
        print("skipped multi-table: lakeforge.synth.Synthesizer is not available")
        return []
    from lakeforge.synth import evaluate_tables

    rows: list[dict[str, Any]] = []
    for dataset, label in (
        ("ml-100k", "MovieLens 100K (users -> ratings <- items)"),
        ("world", "simulated retail world, small preset (7 tables, depth 3)"),
    ):
        if dataset == "ml-100k" and not (shared_data() / "ml-100k" / "u.data").exists():
            print(f"skipped {label}: data not found")
            continue
        out = WORK / f"synthetic_{dataset}"
        record = out / "run.json"
        if rescore and record.exists():  # score the tables the last run sampled
            result = json.loads(record.read_text())
            print(f"{label}: rescoring the sample of {result.get('sampled_at', 'the last run')}")
        else:
            print(f"{label}: fit + sample...", flush=True)
            try:
                result = run_child(
                    "benchmarks.bench_synthetic",
                    ["--system", f"multitable:{dataset}", "--out", str(out)],
                    timeout=7200,
                )
            except RuntimeError as exc:
                print(f"{label} failed: {str(exc)[-800:]}")
                continue
            result["sampled_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            record.write_text(json.dumps(result))
        real, contracts = ml100k_tables() if dataset == "ml-100k" else world_tables()
        synthetic = {name: pq.read_table(out / f"{name}.parquet") for name in real}
        started = time.perf_counter()
        report = evaluate_tables(real, synthetic, contracts, discriminator=False, seed=SEED)
        report.to_html(WORK / f"synthetic_{dataset}_report.html")
        report.to_json(WORK / f"synthetic_{dataset}_report.json")
        row = {
            "dataset": label,
            "system": "Lakeforge Synthesizer (auto)",
            "version": result["version"],
            "settings": result["settings"],
            "fit_s": result["fit_s"],
            "sample_s": result["sample_s"],
            "fit_sample_s": round(result["fit_s"] + result["sample_s"], 2),
            "rows": result["rows"],
            "generators": result.get("generators"),
            "fk_integrity_min": round(min(report.foreign_key_integrity.values(), default=1.0), 4),
            "cardinality_min": round(min(report.cardinality.values(), default=1.0), 4),
            "fk_integrity": {k: round(v, 4) for k, v in report.foreign_key_integrity.items()},
            "cardinality_similarity": {k: round(v, 4) for k, v in report.cardinality.items()},
            # None: the real data relates no parent column to a child column (none counted)
            "inter_table_trends": {
                k: _rounded(report.inter_table_score(k)) for k in report.inter_table
            },
            "quality_by_table": {k: round(r.fidelity.quality, 4) for k, r in report.tables.items()},
            "report_passed": report.passed,
            "evaluate_s": round(time.perf_counter() - started, 1),
            "sampled_at": result.get("sampled_at"),
            "wall_s": result["process_wall_s"],
            "peak_memory_mb": result["peak_rss_mb"],
            "cores": machine()["cores"],
            "machine": machine(),
        }
        rows.append(row)
        print(
            f"  FK integrity min {row['fk_integrity_min']:.4f}, cardinality min "
            f"{row['cardinality_min']:.3f}, fit {row['fit_s']:.1f}s sample {row['sample_s']:.1f}s "
            f"peak {row['peak_memory_mb']:.0f} MB",
            flush=True,
        )
        save("multi-table", rows)
    return rows


_LARGE_SINKS = {
    "none": "sampled (sampler alone, nothing written)",
    "delta": "sampled to Delta",
}


def large_main(child_rows: int) -> list[dict[str, Any]]:
    """customers -> orders, streamed at a tenth of ``child_rows`` and at ``child_rows``.

    Each size runs with the sampler alone and writing Delta tables, each in a fresh process
    (its peak resident set is the figure); the fit is the same small pair every time
    (2,000 customers), the sampled customers follow the orders asked for.
    """
    try:
        from lakeforge.synth._stream import measure_large_child  # noqa: F401
    except ImportError:
        print("skipped the large child table: lakeforge.synth._stream.measure_large_child missing")
        return []
    import lakeforge

    rows: list[dict[str, Any]] = []
    sizes = sorted({max(1, child_rows // 10), child_rows})
    for size in sizes:
        for sink, label in _LARGE_SINKS.items():
            out = WORK / f"large_child_{sink}"
            print(f"large child: {size:,} child rows, {label}...", flush=True)
            try:
                result = run_child(
                    "benchmarks._synth_large", [str(out), str(size), sink], timeout=7200
                )
            except RuntimeError as exc:
                print(f"large child failed: {str(exc)[-800:]}")
                continue
            row = {
                "dataset": f"customers -> orders, {size:,} child rows {label}",
                "system": "Lakeforge Synthesizer (auto), streaming",
                "version": f"lakeforge {lakeforge.__version__}",
                "settings": json.dumps(
                    {"method": result["method"], "chunk_rows": result["chunk_rows"], "sink": sink}
                ),
                "fit_s": result["fit_s"],
                "sample_s": result["sample_s"],
                "fit_sample_s": round(result["fit_s"] + result["sample_s"], 2),
                "rows": result["rows"],
                "rows_per_s": result["rows_per_s"],
                "wall_s": result["process_wall_s"],
                "peak_memory_mb": result["peak_rss_mb"],
                "cores": machine()["cores"],
                "machine": machine(),
            }
            rows.append(row)
            print(
                f"  {row['rows']} in {row['sample_s']:.0f}s, peak {row['peak_memory_mb']:.0f} MB",
                flush=True,
            )
            save("large", rows)
    return rows


def _rounded(value: float) -> float | None:
    return None if value != value else round(value, 4)


# -- results -----------------------------------------------------------------------------------
_PARTS = {"Adult": "Adult", "multi-table": "MovieLens|simulated", "large": "child rows"}


def save(part: str, rows: list[dict[str, Any]]) -> None:
    """Replace this part's rows in results/synthetic.json, keeping the other parts' rows."""
    import re

    path = RESULTS / "synthetic.json"
    previous = json.loads(path.read_text()) if path.exists() else []
    pattern = re.compile(_PARTS[part])
    kept = [row for row in previous if not pattern.search(str(row.get("dataset", "")))]
    write_results("synthetic", kept + rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["adult", "multitable", "large"], action="append")
    parser.add_argument("--quick", action="store_true", help="Adult's fast systems only")
    parser.add_argument("--slow-anchors", action="store_true", help="CTGAN, TVAE, TabularARGN")
    parser.add_argument("--only", action="append", help="Adult: only these systems")
    parser.add_argument("--child-rows", type=int, default=10_000_000)
    parser.add_argument(
        "--rescore", action="store_true", help="multi-table: score the last run's sample again"
    )
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="Adult: recompute the acceptance check of the saved rows (no fitting)",
    )
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.system:  # child mode
        out = Path(args.out)
        if args.system.startswith("multitable:"):
            result = multitable_child(args.system.split(":", 1)[1], out)
        elif args.system == "large":
            from lakeforge.synth._stream import measure_large_child

            result = measure_large_child(out, child_rows=args.child_rows)
            if out.exists():
                import shutil

                shutil.rmtree(out, ignore_errors=True)
        elif args.system in ANCHORS:
            result = run_anchor(args.system, out)
        else:
            result = run_lakeforge(args.system, out)
        print(json.dumps(result, default=str))
        return 0
    if args.recheck:
        recheck_adult()
        return 0
    parts = args.part or (["adult"] if args.quick else ["adult", "multitable", "large"])
    if "adult" in parts:
        adult_main(args.quick, args.slow_anchors, args.only)
    if "multitable" in parts:
        multitable_main(args.rescore)
    if "large" in parts:
        large_main(args.child_rows)
    print(f"wrote {RESULTS / 'synthetic.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
