"""Recommendations on MovieLens 100K (u1.base -> u1.test) beside the anchors, plus serving latency.

Protocol (scored by ../shared/tools/ml100k_score.py): every rating in u1.base is an implicit
interaction; each system ranks all items the user has not seen in u1.base; metrics at K=10.
Every system's settings are chosen on one validation split carved from u1.base (20% at random,
seed 0; u1.test is a random split of ratings, so the validation split mirrors it); u1.test is
only used to score. Each system runs in its own process (wall seconds and peak memory).
The item-kNN anchor is the classic item-based rule (Sarwar et al. 2001) over implicit's cosine
neighbours; ``auto`` tries the anchors' own grids on the same validation split, blends the
best with runners-up, and is refitted on all of u1.base.

Serving (synthetic shop, 10,000 items): each model is fitted as the workspace default, saved,
loaded, and asked for a top-10 with explanations for random users in-process (wall and CPU
time). The default model (``auto``, what ``lakeforge recommend fit`` makes) is then served as
``lakeforge.serve.serve`` serves it (its uvicorn options; 1 worker, and 2 workers: one per
core, ``LAKEFORGE_SERVE__WORKERS=2``) beside a bare FastAPI anchor answering the same route
with a constant body of the same shape from the very same server set-up, all four up at once
and measured in alternating rounds by a load generator in its own process (32 keep-alive
clients); each server's CPU time per request (all its processes) is recorded too, to separate
the server's cost from the load generator's and the machine's.

    python -m benchmarks.bench_recommend                  # everything
    python -m benchmarks.bench_recommend --only serving   # keep the ml-100k rows
    python -m benchmarks.bench_recommend --quick          # one setting per anchor
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
RESULT_PATH = Path(__file__).parent / "results" / "recommend.json"
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
    # Item-based kNN as Sarwar et al. (2001) define it: an item's score sums its similarity to
    # the user's items among *its* K nearest. implicit keeps each row's K nearest, so that is
    # the transpose of its similarity (its own recommend() sums rows instead: NDCG@10 0.477).
    return (x @ model.similarity.T).toarray()


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
    "itemknn": lambda: (
        f"implicit {importlib.metadata.version('implicit')} CosineRecommender similarity, "
        "target-item neighbourhood (Sarwar et al. 2001)"
    ),
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
    knn = ANCHORS["itemknn"][2] if quick else ANCHORS["itemknn"][1]
    ease = [{"l2": 500.0}] if quick else ANCHORS["ease"][1]
    als = ANCHORS["als"][2] if quick else ANCHORS["als"][1][:4]
    return [
        ["MostPopular", {"by_segment": False}],
        *[["ItemKNN", {"neighbours": p["K"]}] for p in knn],
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
SERVING_MODELS = ("auto", "itemknn", "ease", "als")  # auto: what `recommend fit` makes by default
N_ITEMS, N_USERS, PER_USER = 10_000, 20_000, 25
HTTP_CONCURRENCY, HTTP_ROUNDS, HTTP_ROUND_S, HTTP_WARMUP_S = 32, 4, 2.5, 2.0
HTTP_WORKERS = (1, 2)  # uvicorn worker processes: one, and one per core (serve.workers)
HTTP_SERVERS = tuple((system, w) for w in HTTP_WORKERS for system in ("bare", "lakeforge"))
HTTP_MODEL = "auto"  # the model served over HTTP: the default of `lakeforge recommend fit`


def synthetic_world() -> tuple[Any, Any]:
    """20,000 users x 25 purchases over 10,000 items in 200 taste groups (Zipf within a group)."""
    import numpy as np
    import polars as pl

    groups = 200
    rng = np.random.default_rng(0)
    group = rng.integers(0, groups, N_USERS)
    size = N_ITEMS // groups
    within = (rng.zipf(1.3, (N_USERS, PER_USER)) - 1) % size
    items = group[:, None] * size + within
    return pl.DataFrame(
        {
            "user_id": np.repeat([f"U{u}" for u in range(N_USERS)], PER_USER),
            "item_id": [f"I{i}" for i in items.ravel()],
            "ts": np.tile(np.arange(PER_USER), N_USERS),
        }
    ), pl.DataFrame(
        {
            "item_id": [f"I{i}" for i in range(N_ITEMS)],
            "category": [f"C{i // size}" for i in range(N_ITEMS)],
        }
    )


def build_serving_workspace(root: Path, choice: str) -> tuple[str, float]:
    """A workspace whose default recommender is ``choice`` and an analyst token; fit seconds."""
    import lakeforge as lf
    from lakeforge.products.recommend._workspace import TrainingFrames, fit_and_save
    from lakeforge.serve import create_user

    ws = lf.Workspace.init(root / "shop")
    interactions, items = synthetic_world()
    start = time.perf_counter()
    fit_and_save(ws, [choice], TrainingFrames(interactions, items))
    seconds = time.perf_counter() - start
    _, token = create_user(ws.catalog, "analyst1", role="analyst")
    ws.close()
    return str(token), seconds


def in_process_latency(workspace: Path, requests: int) -> dict[str, Any]:
    """Top-10 with explanations for random users, from the saved default model (wall and CPU)."""
    import numpy as np

    import lakeforge as lf
    from lakeforge.products.recommend._workspace import load_saved

    with lf.Workspace.open(workspace) as ws:
        model = load_saved(ws)
    rng = np.random.default_rng(1)
    users = [f"U{u}" for u in rng.integers(0, N_USERS, requests)]
    for user in users[:100]:
        model.recommend_columns([user], 10, True, True)
    load_before = os.getloadavg()[0]
    wall, cpu = [], []
    for user in users:
        t0, c0 = time.perf_counter(), time.thread_time()
        model.recommend_columns([user], 10, True, True)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return {
        "settings": model.get_params()
        | (
            {"chosen": model.chosen_, "weights": model.chosen_weights_}
            if hasattr(model, "chosen_")
            else {}
        ),
        "requests": len(wall),
        "p50_ms": round(float(np.percentile(wall, 50)), 3),
        "p99_ms": round(float(np.percentile(wall, 99)), 3),
        "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3),
        "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3),
        # wall-clock tails on a shared machine are preemptions: the load says how many
        # other runnable processes there were (2 cores)
        "load_average_1m": round(max(load_before, os.getloadavg()[0]), 2),
    }


def bare_app() -> Any:
    """The anchor: FastAPI answering the same route with a constant body of the same shape."""
    from fastapi import FastAPI, Response

    item = {
        "item_id": "I1234",
        "rank": 1,
        "score": 1.2345678,
        "reason": "history",
        "because": ["I1201", "I1207"],
        "explanation": "because you bought I1201 and I1207",
    }
    body = json.dumps(
        {"user_id": "U1", "data": [item | {"rank": r} for r in range(1, 11)], "count": 10},
        separators=(",", ":"),
    ).encode()
    app = FastAPI()

    @app.get("/api/v1/recommend/{user_id}", response_model=None)
    async def recommend(user_id: str) -> Response:
        return Response(body, media_type="application/json")

    return app


def serve(system: str, port: int, workspace: str, workers: int) -> None:
    """Run one server the way ``lakeforge serve`` does (its uvicorn options and workers)."""
    import uvicorn

    from lakeforge.config import Settings
    from lakeforge.serve import serve as serve_workspace
    from lakeforge.serve._app import run_workers, uvicorn_options

    settings = Settings(
        serve={  # type: ignore[arg-type]
            "host": "127.0.0.1",
            "port": port,
            "workers": workers,
            "log_level": "warning",
            "access_log": False,  # one JSON line per request is a deployment choice, not ours
        }
    )
    if system == "lakeforge":
        serve_workspace(workspace, settings)
        return
    options = uvicorn_options(settings)  # the anchor runs with the very same server settings
    if workers <= 1:
        uvicorn.run(bare_app(), **options)
    else:
        run_workers("benchmarks.bench_recommend:bare_app", workers, options)


async def _http_client(
    port: int, token: str, users: list[str], deadline: float, seed: int, latencies: list[float]
) -> int:
    """One keep-alive connection asking for random users back to back; returns errors."""
    import asyncio
    import random

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    pick = random.Random(seed)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    errors = 0
    try:
        while time.perf_counter() < deadline:
            user = users[pick.randrange(len(users))]
            request = (
                f"GET /api/v1/recommend/{user}?k=10&explain=true HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\n{auth}\r\n"
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
            elapsed = time.perf_counter() - start
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
                continue
            latencies.append(elapsed)
    finally:
        writer.close()
    return errors


async def _drive(
    port: int, token: str, seconds: float, seed: int
) -> tuple[list[float], int, float]:
    import asyncio

    users = [f"U{u}" for u in range(N_USERS)]
    latencies: list[float] = []
    start = time.perf_counter()
    errors = await asyncio.gather(
        *(
            _http_client(port, token, users, start + seconds, seed * 1000 + n, latencies)
            for n in range(HTTP_CONCURRENCY)
        )
    )
    return latencies, sum(errors), time.perf_counter() - start


def load(port: int, token: str, seconds: float, seed: int) -> tuple[list[float], int, float]:
    """Run the load generator in its own process (uvloop); latencies (s), errors, wall."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_recommend",
                "--load",
                str(port),
                "--token",
                token,
                "--seconds",
                str(seconds),
                "--seed",
                str(seed),
                "--out",
                out.name,
            ],
            check=True,
            timeout=seconds + 120,
        )
        result = json.loads(Path(out.name).read_text())
    return result["latencies"], result["errors"], result["wall"]


def run_serving(choice: str, quick: bool) -> dict[str, Any]:
    """Fit ``choice`` as the workspace default; in-process latency, then HTTP beside the anchor."""
    import numpy as np

    from benchmarks.bench_service import free_port, wait_until_up

    out: dict[str, Any] = {"version": importlib.metadata.version("lakeforge")}
    with tempfile.TemporaryDirectory() as tmp:
        token, fit_seconds = build_serving_workspace(Path(tmp), choice)
        out["seconds"] = fit_seconds
        out["in_process"] = in_process_latency(Path(tmp) / "shop", 500 if quick else 2000)
        if choice != HTTP_MODEL:
            return out
        servers = {}
        for system, workers in HTTP_SERVERS:
            port = free_port()
            servers[(system, workers)] = (
                port,
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.bench_recommend",
                        "--serve",
                        str(port),
                        "--serve-system",
                        system,
                        "--serve-workers",
                        str(workers),
                        "--workspace",
                        str(Path(tmp) / "shop"),
                    ]
                ),
            )
        tokens = {"lakeforge": token, "bare": ""}
        load_before = os.getloadavg()[0]
        parts: dict[tuple[str, int], list[tuple[list[float], int, float]]] = {
            s: [] for s in HTTP_SERVERS
        }
        cpu = dict.fromkeys(HTTP_SERVERS, 0.0)  # server CPU seconds (all its processes)
        try:
            for (system, _), (port, _) in servers.items():
                wait_until_up(port, timeout=180)
                # every worker gets some of the 32 connections: each loads its model now
                load(port, tokens[system], HTTP_WARMUP_S, seed=99)
            for number in range(HTTP_ROUNDS):
                order = HTTP_SERVERS if number % 2 == 0 else HTTP_SERVERS[::-1]
                for server in order:
                    port, process = servers[server]
                    before = process_tree_cpu(process.pid)
                    parts[server].append(load(port, tokens[server[0]], HTTP_ROUND_S, seed=number))
                    cpu[server] += process_tree_cpu(process.pid) - before
        finally:
            for _, process in servers.values():
                process.terminate()
                process.wait(timeout=60)
    out["load_average_1m"] = round(max(load_before, os.getloadavg()[0]), 2)
    for server in HTTP_SERVERS:
        ms = np.array([x for lat, _, _ in parts[server] for x in lat]) * 1000
        wall = sum(w for _, _, w in parts[server])
        out[http_key(*server)] = {
            "requests": len(ms),
            "errors": sum(e for _, e, _ in parts[server]),
            "throughput_rps": round(len(ms) / wall, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 3) if len(ms) else None,
            "p99_ms": round(float(np.percentile(ms, 99)), 3) if len(ms) else None,
            "server_cpu_ms_per_request": round(1000 * cpu[server] / len(ms), 3)
            if len(ms)
            else None,
            "server_cpu_share": round(cpu[server] / wall, 3),
        }
    return out


def http_key(system: str, workers: int) -> str:
    return f"http_{system}_{workers}w"


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (uvicorn's workers)."""
    import psutil

    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:  # a child that exited meanwhile
            continue
        total += times.user + times.system
    return total


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


def serving_rows(quick: bool) -> list[dict[str, Any]]:
    """In-process rows for each model, and HTTP rows (Lakeforge and the bare anchor) for auto."""
    import lakeforge

    world = f"synthetic {N_ITEMS:,} items, {N_USERS * PER_USER:,} interactions (200 taste groups)"
    common = {"cores": machine()["cores"], "machine": machine()}
    rows: list[dict[str, Any]] = []
    for choice in SERVING_MODELS:
        result = run_child(
            "benchmarks.bench_recommend",
            ["--system", f"serving-{choice}", *(["--quick"] if quick else [])],
        )
        inproc = result["in_process"]
        rows.append(
            {
                "dataset": f"{world}: in-process top-10 with explanations, random users",
                "system": f"Lakeforge {choice} (in-process)",
                "system_version": result["version"],
                "settings": inproc["settings"],
                "requests": inproc["requests"],
                "p50_ms": inproc["p50_ms"],
                "p99_ms": inproc["p99_ms"],
                "cpu_p50_ms": inproc["cpu_p50_ms"],
                "cpu_p99_ms": inproc["cpu_p99_ms"],
                "load_average_1m": inproc["load_average_1m"],
                "fit_s": round(result["seconds"], 3),
                "wall_s": round(result["seconds"], 3),
                "process_wall_s": result["process_wall_s"],
                "peak_memory_mb": result["peak_rss_mb"],
                **common,
            }
        )
        if choice != HTTP_MODEL:
            continue
        versions = (
            f"fastapi {importlib.metadata.version('fastapi')}, "
            f"uvicorn {importlib.metadata.version('uvicorn')}"
        )
        for system, workers in HTTP_SERVERS:
            http = result[http_key(system, workers)]
            served = (
                "lakeforge.serve.serve's uvicorn options (uvloop + httptools, no access log), "
                + (
                    "1 worker"
                    if workers == 1
                    else f"{workers} workers, each on its own SO_REUSEPORT socket"
                )
                + f"; load generator in its own process (uvloop), {HTTP_CONCURRENCY} keep-alive "
                f"clients, random users; {HTTP_WARMUP_S:g} s warm-up, then {HTTP_ROUNDS} "
                f"alternating rounds of {HTTP_ROUND_S:g} s"
            )
            label = "1 worker" if workers == 1 else f"{workers} workers"
            rows.append(
                {
                    "dataset": (
                        f"{world}: GET /api/v1/recommend/{{user}}?k=10&explain=true, "
                        f"{HTTP_CONCURRENCY} concurrent clients, loopback"
                    ),
                    "system": (
                        f"Lakeforge {choice} (HTTP, {label})"
                        if system == "lakeforge"
                        else f"bare FastAPI constant body (anchor, {label})"
                    ),
                    "system_version": (
                        f"lakeforge {lakeforge.__version__}, {versions}"
                        if system == "lakeforge"
                        else versions
                    ),
                    "settings": (
                        f"{served}; analyst bearer token, audited, metrics"
                        if system == "lakeforge"
                        else f"{served}; the same route returning a constant 10-item body"
                    ),
                    "workers": workers,
                    **http,
                    "load_average_1m": result["load_average_1m"],
                    "wall_s": round(HTTP_ROUNDS * HTTP_ROUND_S, 1),
                    "process_wall_s": result["process_wall_s"],
                    "peak_memory_mb": result["peak_rss_mb"],
                    **common,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one setting per anchor")
    parser.add_argument(
        "--only", choices=["ml100k", "serving"], help="run one half of the benchmark"
    )
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-system", default="lakeforge", help=argparse.SUPPRESS)
    parser.add_argument("--serve-workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", default="", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=2.0, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:  # server mode
        serve(args.serve_system, args.serve, args.workspace, args.serve_workers)
        return 0
    if args.load:  # load-generator mode
        import uvloop

        latencies, errors, wall = uvloop.run(_drive(args.load, args.token, args.seconds, args.seed))
        Path(args.out).write_text(
            json.dumps({"latencies": latencies, "errors": errors, "wall": wall})
        )
        return 0
    if args.system:  # child mode
        if args.system.startswith("serving-"):
            result = run_serving(args.system.removeprefix("serving-"), args.quick)
        elif args.system.startswith("lakeforge-auto-"):
            validation = args.system.removeprefix("lakeforge-auto-")
            result = run_lakeforge(validation, args.quick, Path(args.out))
        else:
            result = run_anchor(args.system, args.quick, Path(args.out))
        print(json.dumps(result, default=str))
        return 0

    from rich.console import Console
    from rich.table import Table

    console = Console()
    rows: list[dict[str, Any]] = []
    previous = json.loads(RESULT_PATH.read_text()) if RESULT_PATH.exists() else []
    if args.only != "serving":
        rows += ml100k_rows(console, args.quick)
    else:
        rows += [r for r in previous if "ml-100k" in str(r.get("dataset"))]
    if args.only != "ml100k":
        console.print("[dim]serving latency: in-process, then HTTP beside the bare anchor...[/]")
        rows += serving_rows(args.quick)
    else:
        rows += [r for r in previous if "ml-100k" not in str(r.get("dataset"))]
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
            f"{row['p50_ms']:.2f} / {row['p99_ms']:.2f}" if row.get("p50_ms") else "",
            f"{row['wall_s']:.1f}",
        )
    console.print(view)
    path = write_results("recommend", rows)
    console.print(f"wrote {path}")
    return 0


def ml100k_rows(console: Any, quick: bool) -> list[dict[str, Any]]:
    """Every ml-100k system in its own process, scored together by the shared scorer."""
    if not (shared_data() / "ml-100k" / "u1.base").exists() or not SCORER.exists():
        console.print(f"skipped ml-100k: {shared_data() / 'ml-100k'} or {SCORER} not found")
        return []
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        measured: dict[str, dict[str, Any]] = {}
        files = []
        for system in SYSTEM_NAMES:
            console.print(f"[dim]ml-100k: {system}...[/]")
            out = Path(tmp) / f"{system}.csv"
            measured[system] = run_child(
                "benchmarks.bench_recommend",
                ["--system", system, "--out", str(out), *(["--quick"] if quick else [])],
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
    return rows


if __name__ == "__main__":
    sys.exit(main())
