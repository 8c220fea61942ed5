"""Recommendations on MovieLens 100K (u1.base -> u1.test) beside the anchors, plus serving latency.

Protocol (scored by ../shared/tools/ml100k_score.py): every rating in u1.base is an implicit
interaction; each system ranks all items the user has not seen in u1.base; metrics at K=10.
Every system's settings are chosen on one validation split carved from u1.base (20% at random,
seed 0; u1.test is a random split of ratings, so the validation split mirrors it); u1.test is
only used to score. Each system runs in its own process (wall seconds and peak memory).

    python -m benchmarks.bench_recommend            # full grids + latency
    python -m benchmarks.bench_recommend --quick    # one setting per anchor
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from benchmarks._common import machine, run_child, shared_data, write_results

K = 10
SCORER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "ml100k_score.py"


# -- data ----------------------------------------------------------------------------------------
def load_ml100k() -> tuple[Any, Any]:
    import polars as pl

    folder = shared_data() / "ml-100k"

    def read(name: str) -> pl.DataFrame:
        return pl.read_csv(
            folder / name,
            separator="\t",
            has_header=False,
            new_columns=["user_id", "item_id", "rating", "ts"],
            schema_overrides={"user_id": pl.String, "item_id": pl.String},
        )

    return read("u1.base"), read("u1.test")


def catalogue() -> Any:
    import polars as pl

    return pl.DataFrame({"item_id": [str(i) for i in range(1, 1683)]})


def validation_split(base: Any) -> tuple[Any, Any]:
    from lakeforge.products.recommend import random_split

    return random_split(base, test_fraction=0.2, seed=0)


class Index:
    """Integer ids for the anchors, which work on matrices."""

    def __init__(self, train: Any) -> None:
        import numpy as np
        import scipy.sparse as sp

        self.items = [str(i) for i in range(1, 1683)]
        self.item_index = {item: n for n, item in enumerate(self.items)}
        self.users = sorted(set(train["user_id"].to_list()))
        self.user_index = {user: n for n, user in enumerate(self.users)}
        rows = [self.user_index[u] for u in train["user_id"].to_list()]
        cols = [self.item_index[i] for i in train["item_id"].to_list()]
        matrix = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(self.users), len(self.items))
        )
        matrix.data[:] = 1.0
        self.matrix = sp.csr_matrix(matrix, dtype=np.float32)


def top_k(index: Index, scores: Any, users: list[str]) -> dict[str, list[str]]:
    import numpy as np

    out: dict[str, list[str]] = {}
    rows = [index.user_index[u] for u in users]
    seen = index.matrix[rows].toarray() > 0
    masked = np.where(seen, -np.inf, scores)
    for n, user in enumerate(users):
        order = np.lexsort((np.arange(masked.shape[1]), -masked[n]))[:K]
        out[user] = [index.items[i] for i in order]
    return out


def ndcg(recs: dict[str, list[str]], truth_frame: Any) -> float:
    from lakeforge.products.recommend import ranking_metrics

    truth: dict[str, set[str]] = {}
    for user, item in truth_frame.select("user_id", "item_id").iter_rows():
        truth.setdefault(user, set()).add(item)
    truth = {u: t for u, t in truth.items() if u in recs}
    return ranking_metrics(recs, truth, k=K, n_items=1682)[f"ndcg@{K}"]


# -- anchors -------------------------------------------------------------------------------------
def popular_scores(index: Index, users: list[str], _: dict[str, Any]) -> Any:
    import numpy as np

    counts = np.asarray(index.matrix.sum(axis=0)).ravel()
    return np.tile(counts, (len(users), 1))


def ease_scores(index: Index, users: list[str], params: dict[str, Any]) -> Any:
    import numpy as np

    x = index.matrix.astype(np.float64)
    gram = (x.T @ x).toarray()
    gram[np.diag_indices_from(gram)] += params["l2"]
    inverse = np.linalg.inv(gram)
    weights = inverse / (-np.diag(inverse))
    weights[np.diag_indices_from(weights)] = 0.0
    return x[[index.user_index[u] for u in users]] @ weights


def knn_scores(index: Index, users: list[str], params: dict[str, Any]) -> Any:
    from implicit.nearest_neighbours import CosineRecommender

    model = CosineRecommender(K=params["K"], num_threads=1)
    model.fit(index.matrix, show_progress=False)
    x = index.matrix[[index.user_index[u] for u in users]]
    return (x @ model.similarity).toarray()


def als_scores(index: Index, users: list[str], params: dict[str, Any]) -> Any:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(**params, random_state=0, calculate_training_loss=False)
        model.fit(index.matrix, show_progress=False)
    return model.user_factors[[index.user_index[u] for u in users]] @ model.item_factors.T


ANCHORS: dict[str, Any] = {
    "popular": (popular_scores, [{}], [{}]),
    "itemknn": (knn_scores, [{"K": 50}, {"K": 100}, {"K": 200}], [{"K": 200}]),
    "ease": (
        ease_scores,
        [{"l2": 100.0}, {"l2": 250.0}, {"l2": 500.0}, {"l2": 1000.0}],
        [{"l2": 500.0}],
    ),
    "als": (
        als_scores,
        [
            {"factors": f, "regularization": r, "alpha": 3.0, "iterations": 60}
            for f in (64, 128)
            for r in (10.0, 30.0)
        ]
        + [{"factors": 128, "regularization": 0.01, "alpha": 1.0, "iterations": 15}],
        [{"factors": 128, "regularization": 30.0, "alpha": 3.0, "iterations": 60}],
    ),
}
VERSIONS = {
    "popular": lambda: f"numpy {importlib.metadata.version('numpy')}",
    "itemknn": lambda: f"implicit {importlib.metadata.version('implicit')} CosineRecommender",
    "ease": lambda: f"numpy {importlib.metadata.version('numpy')} (closed form, Steck 2019)",
    "als": lambda: f"implicit {importlib.metadata.version('implicit')} AlternatingLeastSquares",
}


def run_anchor(name: str, quick: bool, out: Path) -> dict[str, Any]:
    base, test = load_ml100k()
    score, grid, quick_grid = ANCHORS[name]
    start = time.perf_counter()
    fit_part, held = validation_split(base)
    val_index = Index(fit_part)
    val_users = sorted(set(held["user_id"].to_list()) & set(val_index.users))
    tried = []
    for params in quick_grid if quick else grid:
        recs = top_k(val_index, score(val_index, val_users, params), val_users)
        tried.append({"params": params, "val_ndcg": round(ndcg(recs, held), 4)})
    best = max(tried, key=lambda t: t["val_ndcg"])
    index = Index(base)
    users = sorted(set(test["user_id"].to_list()))
    recs = top_k(index, score(index, users, best["params"]), users)
    seconds = time.perf_counter() - start
    write_recs(out, name, recs)
    return {
        "seconds": seconds,
        "version": VERSIONS[name](),
        "settings": best["params"],
        "tuning": tried,
    }


# -- Lakeforge -----------------------------------------------------------------------------------
def auto_candidates(quick: bool) -> list[list[Any]]:
    ease = [{"l2": 500.0}] if quick else ANCHORS["ease"][1]
    als = ANCHORS["als"][2] if quick else ANCHORS["als"][1][:4]
    return [
        ["MostPopular", {"by_segment": False}],
        ["ItemKNN", {"neighbours": 200, "weighting": "cosine"}],
        *[["EASE", p] for p in ease],
        *[["ALS", p] for p in als],
    ]


def run_lakeforge(validation: str, quick: bool, out: Path) -> dict[str, Any]:
    import lakeforge as lf
    from lakeforge.products.recommend import Auto

    base, test = load_ml100k()
    start = time.perf_counter()
    model = Auto(candidates=auto_candidates(quick), validation=validation).fit(
        base, items=catalogue()
    )
    users = sorted(set(test["user_id"].to_list()))
    frame = model.recommend(users, k=K)
    seconds = time.perf_counter() - start
    recs: dict[str, list[str]] = {}
    for user, item in frame.select("user_id", "item_id").iter_rows():
        recs.setdefault(user, []).append(item)
    write_recs(out, f"lakeforge-auto-{validation}", recs)
    return {
        "seconds": seconds,
        "version": lf.__version__,
        "settings": {
            "validation": validation,
            "chosen": model.chosen_,
            "weights": model.chosen_weights_,
            "popularity_penalty": model.chosen_penalty_,
        },
    }


def write_recs(out: Path, model: str, recs: dict[str, list[str]]) -> None:
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "item_id", "rank", "model"])
        for user, items in recs.items():
            for rank, item in enumerate(items, start=1):
                writer.writerow([user, item, rank, model])


# -- serving latency -----------------------------------------------------------------------------
def run_latency(model_name: str, quick: bool) -> dict[str, Any]:
    import numpy as np
    import polars as pl

    from lakeforge.products.recommend import ALS, EASE, ItemKNN

    n_items, n_users, per_user, groups = 10_000, 20_000, 25, 200
    rng = np.random.default_rng(0)
    group = rng.integers(0, groups, n_users)
    size = n_items // groups
    within = (rng.zipf(1.3, (n_users, per_user)) - 1) % size
    items = group[:, None] * size + within
    frame = pl.DataFrame(
        {
            "user_id": np.repeat([f"U{u}" for u in range(n_users)], per_user),
            "item_id": [f"I{i}" for i in items.ravel()],
            "ts": np.tile(np.arange(per_user), n_users),
        }
    )
    catalogue_frame = pl.DataFrame({"item_id": [f"I{i}" for i in range(n_items)]})
    model = {
        "itemknn": lambda: ItemKNN(neighbours=100),
        "ease": lambda: EASE(l2=500.0),
        "als": lambda: ALS(factors=64, iterations=15),
    }[model_name]()
    start = time.perf_counter()
    model.fit(frame, items=catalogue_frame)
    fit_seconds = time.perf_counter() - start
    users = [f"U{u}" for u in rng.integers(0, n_users, 300 if quick else 2000)]
    for user in users[:50]:
        model.recommend(user, k=10, explain=True)
    timings = []
    for user in users:
        t0 = time.perf_counter()
        model.recommend(user, k=10, explain=True)
        timings.append((time.perf_counter() - t0) * 1000)
    return {
        "seconds": fit_seconds,
        "version": importlib.metadata.version("lakeforge"),
        "settings": model.get_params(),
        "interactions": frame.height,
        "items": n_items,
        "requests": len(timings),
        "p50_ms": round(float(np.percentile(timings, 50)), 3),
        "p99_ms": round(float(np.percentile(timings, 99)), 3),
    }


# -- serving over HTTP --------------------------------------------------------------------------
HTTP_CONCURRENCY, HTTP_SECONDS, HTTP_WARMUP = 32, 10.0, 2.0


def synthetic_world(n_items: int = 10_000, n_users: int = 20_000, per_user: int = 25) -> Any:
    import numpy as np
    import polars as pl

    groups = 200
    rng = np.random.default_rng(0)
    group = rng.integers(0, groups, n_users)
    size = n_items // groups
    within = (rng.zipf(1.3, (n_users, per_user)) - 1) % size
    items = group[:, None] * size + within
    return pl.DataFrame(
        {
            "user_id": np.repeat([f"U{u}" for u in range(n_users)], per_user),
            "item_id": [f"I{i}" for i in items.ravel()],
            "ts": np.tile(np.arange(per_user), n_users),
        }
    ), pl.DataFrame({"item_id": [f"I{i}" for i in range(n_items)]})


def build_serving_workspace(root: Path) -> str:
    """A workspace with a fitted item-kNN over 10,000 items and an analyst token."""
    import lakeforge as lf
    from lakeforge.products.recommend._workspace import TrainingFrames, fit_and_save
    from lakeforge.serve import create_user

    ws = lf.Workspace.init(root / "shop")
    interactions, items = synthetic_world()
    fit_and_save(ws, ["itemknn"], TrainingFrames(interactions, items))
    _, token = create_user(ws.catalog, "analyst1", role="analyst")
    ws.close()
    return str(token)


def serve_recommend(port: int, workspace: str) -> None:
    import uvicorn

    import lakeforge.products.recommend._router  # noqa: F401 - registers the routes
    from lakeforge.config import Settings
    from lakeforge.serve import create_app

    settings = Settings(serve={"access_log": False})  # type: ignore[arg-type]
    app = create_app(workspace, settings)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        ws="none",
    )


async def _http_client(
    port: int, token: str, users: list[str], deadline: float, latencies: list[float] | None
) -> int:
    import asyncio
    import random

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    pick = random.Random(len(users) + port)
    errors = 0
    try:
        while time.perf_counter() < deadline:
            user = users[pick.randrange(len(users))]
            request = (
                f"GET /api/v1/recommend/{user}?k=10&explain=true HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
            ).encode()
            start = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
                continue
            if latencies is not None:
                latencies.append(time.perf_counter() - start)
    finally:
        writer.close()
    return errors


async def _drive_http(port: int, token: str) -> tuple[list[float], int, float]:
    import asyncio

    users = [f"U{u}" for u in range(20_000)]
    warm = time.perf_counter() + HTTP_WARMUP
    await asyncio.gather(
        *(_http_client(port, token, users, warm, None) for _ in range(HTTP_CONCURRENCY))
    )
    latencies: list[float] = []
    start = time.perf_counter()
    errors = await asyncio.gather(
        *(
            _http_client(port, token, users, start + HTTP_SECONDS, latencies)
            for _ in range(HTTP_CONCURRENCY)
        )
    )
    return latencies, sum(errors), time.perf_counter() - start


def run_http() -> dict[str, Any]:
    """Serve the recommend routes under uvicorn in a child process and drive them."""
    import asyncio

    import numpy as np

    from benchmarks.bench_service import free_port, wait_until_up

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        token = build_serving_workspace(Path(tmp))
        build_seconds = time.perf_counter() - start
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_recommend",
                "--serve",
                str(port),
                "--workspace",
                str(Path(tmp) / "shop"),
            ],
        )
        try:
            wait_until_up(port)
            latencies, errors, wall = asyncio.run(_drive_http(port, token))
        finally:
            server.terminate()
            server.wait(timeout=60)
    ms = np.array(latencies) * 1000
    return {
        "seconds": build_seconds,
        "version": importlib.metadata.version("lakeforge"),
        "settings": "itemknn (neighbours=200), uvicorn 1 worker, uvloop + httptools",
        "requests": len(latencies),
        "errors": errors,
        "throughput_rps": round(len(latencies) / wall, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 3) if len(ms) else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 3) if len(ms) else None,
    }


# -- orchestration -------------------------------------------------------------------------------
def score(files: list[Path]) -> dict[str, dict[str, float]]:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
        handle.write("user_id,item_id,rank,model\n")
        for path in files:
            handle.writelines(path.read_text().splitlines(keepends=True)[1:])
        merged = handle.name
    proc = subprocess.run(
        [sys.executable, str(SCORER), merged, "--data", str(shared_data())],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(merged).unlink()
    out: dict[str, dict[str, float]] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            out[str(row["model"])] = row
    return out


def extra_metrics(path: Path) -> dict[str, Any]:
    """MAP, novelty, popularity bias and per-activity NDCG from Lakeforge's evaluator."""
    import polars as pl

    from lakeforge.products.recommend import evaluate

    base, test = load_ml100k()
    recs = pl.read_csv(path, schema_overrides={"user_id": pl.String, "item_id": pl.String})
    report = evaluate(recs, base, test, k=K, n_items=1682, activity_groups=(50, 150))
    overall = report["overall"]
    return {
        f"map@{K}": round(overall[f"map@{K}"], 4),
        "novelty": round(overall["novelty"], 4),
        "popularity_bias": round(overall["popularity_bias"], 4),
        f"ndcg@{K}_by_activity": {
            group: round(m[f"ndcg@{K}"], 4) for group, m in report["by_activity"].items()
        },
    }


SYSTEM_NAMES = {
    "popular": "MostPopular (anchor)",
    "itemknn": "item-kNN cosine (anchor)",
    "ease": "EASE (anchor)",
    "als": "ALS (anchor)",
    "lakeforge-auto-random": "Lakeforge auto (random validation)",
    "lakeforge-auto-time": "Lakeforge auto (time validation)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one setting per anchor")
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:  # server mode
        serve_recommend(args.serve, args.workspace)
        return 0
    if args.system:  # child mode
        if args.system == "http":
            result = run_http()
        elif args.system.startswith("latency-"):
            result = run_latency(args.system.removeprefix("latency-"), args.quick)
        elif args.system.startswith("lakeforge-auto-"):
            validation = args.system.removeprefix("lakeforge-auto-")
            result = run_lakeforge(validation, args.quick, Path(args.out))
        else:
            result = run_anchor(args.system, args.quick, Path(args.out))
        print(json.dumps(result, default=str))
        return 0

    if not (shared_data() / "ml-100k" / "u1.base").exists() or not SCORER.exists():
        print(f"skipped: {shared_data() / 'ml-100k'} or {SCORER} not found")
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    quick = ["--quick"] if args.quick else []
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        measured: dict[str, dict[str, Any]] = {}
        files = []
        for system in SYSTEM_NAMES:
            console.print(f"[dim]ml-100k: {system}...[/]")
            out = Path(tmp) / f"{system}.csv"
            measured[system] = run_child(
                "benchmarks.bench_recommend", ["--system", system, "--out", str(out), *quick]
            )
            files.append(out)
        scores = score(files)
        for system, file in zip(SYSTEM_NAMES, files, strict=True):
            result = measured[system]
            metrics = scores[system]
            rows.append(
                {
                    "dataset": "ml-100k u1.base -> u1.test (implicit, all unseen items, K=10)",
                    "system": SYSTEM_NAMES[system],
                    "system_version": result["version"],
                    "settings": result["settings"],
                    "tuning": result.get("tuning"),
                    **{m: metrics.get(m) for m in ("ndcg@10", "recall@10", "hitrate@10")},
                    "coverage@10": metrics.get("coverage@10"),
                    **extra_metrics(file),
                    "scorer_errors": metrics.get("errors"),
                    "wall_s": round(result["seconds"], 3),
                    "process_wall_s": result["process_wall_s"],
                    "peak_memory_mb": result["peak_rss_mb"],
                    "cores": machine()["cores"],
                    "machine": machine(),
                }
            )
    for model_name in ("itemknn", "ease", "als"):
        console.print(f"[dim]latency: {model_name}...[/]")
        result = run_child(
            "benchmarks.bench_recommend", ["--system", f"latency-{model_name}", *quick]
        )
        rows.append(
            {
                "dataset": (
                    f"synthetic {result['items']:,} items, {result['interactions']:,} "
                    "interactions: in-process top-10 with explanations"
                ),
                "system": f"Lakeforge {model_name} (in-process)",
                "system_version": result["version"],
                "settings": result["settings"],
                "requests": result["requests"],
                "p50_ms": result["p50_ms"],
                "p99_ms": result["p99_ms"],
                "wall_s": round(result["seconds"], 3),
                "process_wall_s": result["process_wall_s"],
                "peak_memory_mb": result["peak_rss_mb"],
                "cores": machine()["cores"],
                "machine": machine(),
            }
        )
    console.print("[dim]latency: HTTP, 32 concurrent clients...[/]")
    result = run_child("benchmarks.bench_recommend", ["--system", "http"])
    rows.append(
        {
            "dataset": (
                "synthetic 10,000 items, 500,000 interactions: GET /api/v1/recommend/{user}"
                f"?k=10&explain=true, {HTTP_CONCURRENCY} concurrent clients, loopback"
            ),
            "system": "Lakeforge itemknn (HTTP)",
            "system_version": result["version"],
            "settings": result["settings"],
            "requests": result["requests"],
            "errors": result["errors"],
            "throughput_rps": result["throughput_rps"],
            "p50_ms": result["p50_ms"],
            "p99_ms": result["p99_ms"],
            "wall_s": round(result["seconds"], 3),
            "process_wall_s": result["process_wall_s"],
            "peak_memory_mb": result["peak_rss_mb"],
            "cores": machine()["cores"],
            "machine": machine(),
        }
    )
    view = Table(title="recommendations (ml-100k u1, K=10) and serving latency")
    for col in ("system", "ndcg@10", "recall@10", "map@10", "coverage@10", "p50/p99 ms", "s"):
        view.add_column(col)
    for row in rows:
        view.add_row(
            row["system"],
            f"{row['ndcg@10']:.4f}" if "ndcg@10" in row else "",
            f"{row['recall@10']:.4f}" if "recall@10" in row else "",
            f"{row['map@10']:.4f}" if "map@10" in row else "",
            f"{row['coverage@10']:.4f}" if "coverage@10" in row else "",
            f"{row['p50_ms']:.2f} / {row['p99_ms']:.2f}" if "p50_ms" in row else "",
            f"{row['wall_s']:.1f}",
        )
    console.print(view)
    path = write_results("recommend", rows)
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
