"""Paged row reads over HTTP: Lakeforge's rows endpoint beside a bare FastAPI constant.

Both apps run under uvicorn (1 worker, uvloop + httptools, access log off) in their own
process on 127.0.0.1, started together; a load generator in another process drives them
with 32 concurrent clients (asyncio keep-alive HTTP/1.1 connections on uvloop; an httpx
client saturated at a few hundred requests per second here, far below either server).
Each server is warmed up for 2 s (not measured), then measured for 20 s in all, in
alternating rounds (bare, Lakeforge, Lakeforge, bare, ...): on a shared, noisy machine both
systems then see the same background load, which back-to-back runs do not guarantee.
Lakeforge serves ``GET /api/v1/tables/customers/rows?limit=100`` to an analyst (token
checked, PII masked, audited, measured), following ``next`` cursors through the table.

    python -m benchmarks.bench_service                 # 20 s per system
    python -m benchmarks.bench_service --seconds 5     # quicker
"""

from __future__ import annotations

import argparse
import array
import asyncio
import importlib.metadata
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks._common import WORK, machine, write_results

ROWS = 100_000
CONCURRENCY = 32
PAGE = 100
ROUNDS = 4
WARMUP_S = 2.0
SYSTEMS = ("bare", "lakeforge")


def build_workspace(root: Path) -> str:
    """A customers table (100,000 rows, email/phone/name PII) and an analyst token."""
    import lakeforge as lf
    from lakeforge.serve import create_user

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    ws = lf.Workspace.init(root / "shop")
    path = root / "customers.csv"
    with path.open("w") as out:
        out.write("customer_id,email,phone,full_name,city,signup\n")
        for i in range(1, ROWS + 1):
            out.write(
                f"{i},person{i}@example.com,+44 7700 {i:06d},Alice{i} Smith,"
                f"City{i % 50},2024-0{1 + i % 9}-1{i % 9}\n"
            )
    contract = lf.Contract(
        table="customers",
        columns=[
            lf.Column(name="customer_id", type="integer", nullable=False),
            lf.Column(name="email", pii="email"),
            lf.Column(name="phone", pii="phone"),
            lf.Column(name="full_name", pii="person_name"),
            lf.Column(name="city"),
            lf.Column(name="signup", type="date"),
        ],
        primary_key=["customer_id"],
    )
    ws.ingest(path, table="customers", contract=contract)
    _, token = create_user(ws.catalog, "bench", role="analyst")
    ws.close()
    return token


# -- servers (child processes) -------------------------------------------------------------------
def bare_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/const")
    async def const() -> dict[str, Any]:
        return {"data": [{"ok": True}], "count": 1, "next": None}

    return app


def serve(system: str, port: int, workspace: str) -> None:
    import uvicorn

    if system == "lakeforge":
        from lakeforge.config import Settings
        from lakeforge.serve import create_app

        settings = Settings(serve={"access_log": False})  # type: ignore[arg-type]
        app = create_app(workspace, settings)
    else:
        app = bare_app()
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


# -- load generator (child process) -------------------------------------------------------------
_NEXT = re.compile(rb'"next":"([^"]+)"')


async def _client(
    port: int, first: str, token: str, deadline: float, latencies: list[float] | None
) -> int:
    """One keep-alive HTTP/1.1 connection issuing requests back to back; returns errors."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    path, errors = first, 0
    try:
        while time.perf_counter() < deadline:
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode()
            start = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            elapsed = time.perf_counter() - start
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
                path = first
                continue
            if latencies is not None:
                latencies.append(elapsed)
            following = _NEXT.search(body)
            path = following.group(1).decode().replace("\\u0026", "&") if following else first
    finally:
        writer.close()
    return errors


async def drive(
    url: str, token: str, seconds: float, concurrency: int, warmup: float
) -> tuple[dict[str, Any], list[float]]:
    """``concurrency`` connections for a ``warmup`` (not measured), then ``seconds`` measured."""
    parsed = urlsplit(url)
    first = f"{parsed.path}?{parsed.query}" if parsed.query else parsed.path
    port = int(parsed.port or 80)
    if warmup > 0:
        warm = time.perf_counter() + warmup
        await asyncio.gather(*(_client(port, first, token, warm, None) for _ in range(concurrency)))
    latencies: list[float] = []
    start = time.perf_counter()
    errors = await asyncio.gather(
        *(_client(port, first, token, start + seconds, latencies) for _ in range(concurrency))
    )
    wall = time.perf_counter() - start
    return {"requests": len(latencies), "errors": sum(errors), "seconds": wall}, latencies


def summarise(parts: list[tuple[dict[str, Any], list[float]]]) -> dict[str, Any]:
    """Throughput and latency percentiles over every measured round of one system."""
    latencies = sorted(x for _, lat in parts for x in lat)
    wall = sum(part["seconds"] for part, _ in parts)
    n = len(latencies)
    return {
        "requests": n,
        "errors": sum(part["errors"] for part, _ in parts),
        "seconds": wall,
        "rounds": [round(part["requests"] / part["seconds"], 1) for part, _ in parts],
        "throughput_rps": n / wall,
        "p50_ms": latencies[n // 2] * 1000 if n else None,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else None,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(port: int, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


class Server:
    """One system served by uvicorn in a child process, with its peak RSS sampled."""

    def __init__(self, system: str, workspace: Path) -> None:
        import psutil

        self.system = system
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_service",
                "--serve",
                system,
                "--port",
                str(self.port),
                "--workspace",
                str(workspace),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        self.peak_rss = 0
        self._done = threading.Event()
        self._ps = psutil.Process(self.process.pid)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        import psutil

        while not self._done.wait(0.2):
            try:
                self.peak_rss = max(self.peak_rss, self._ps.memory_info().rss)
            except psutil.Error:
                return

    def url(self) -> str:
        path = (
            f"/api/v1/tables/customers/rows?limit={PAGE}"
            if self.system == "lakeforge"
            else "/const"
        )
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self._done.set()
        self.process.wait(timeout=60)


def load(url: str, token: str, seconds: float, warmup: float) -> tuple[dict[str, Any], list[float]]:
    """Run the load generator in its own process; its summary and every latency (s)."""
    with tempfile.NamedTemporaryFile(suffix=".f64") as out:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_service",
                "--load",
                url,
                "--token",
                token,
                "--seconds",
                str(seconds),
                "--warmup",
                str(warmup),
                "--latencies",
                out.name,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + warmup + 120,
            check=True,
        )
        latencies = array.array("d")
        latencies.frombytes(Path(out.name).read_bytes())
    summary: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return summary, latencies.tolist()


def measure(workspace: Path, token: str, seconds: float) -> dict[str, dict[str, Any]]:
    """Both systems up at once; warm each up, then alternate measured rounds between them."""
    servers = {system: Server(system, workspace) for system in SYSTEMS}
    tokens = {"lakeforge": token, "bare": ""}
    parts: dict[str, list[tuple[dict[str, Any], list[float]]]] = {s: [] for s in SYSTEMS}
    try:
        for server in servers.values():
            wait_until_up(server.port)
        for system in SYSTEMS:
            load(servers[system].url(), tokens[system], 0.5, WARMUP_S)
        for number in range(ROUNDS):
            order = SYSTEMS if number % 2 == 0 else SYSTEMS[::-1]
            for system in order:
                parts[system].append(
                    load(servers[system].url(), tokens[system], seconds / ROUNDS, 0)
                )
    finally:
        for server in servers.values():
            server.stop()
    results = {}
    for system in SYSTEMS:
        results[system] = summarise(parts[system])
        results[system]["server_peak_rss_mb"] = round(servers[system].peak_rss / 2**20, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--token", default="", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=float, default=WARMUP_S, help=argparse.SUPPRESS)
    parser.add_argument("--latencies", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.workspace)
        return 0
    if args.load:
        import uvloop

        result, latencies = uvloop.run(
            drive(args.load, args.token, args.seconds, CONCURRENCY, args.warmup)
        )
        if args.latencies:
            Path(args.latencies).write_bytes(array.array("d", latencies).tobytes())
        print(json.dumps(result))
        return 0

    from rich.console import Console
    from rich.table import Table

    import lakeforge

    console = Console()
    root = WORK / "service"
    console.print(f"[dim]building a {ROWS:,}-row customers workspace...[/]")
    token = build_workspace(root)
    versions = (
        f"fastapi {importlib.metadata.version('fastapi')}, "
        f"uvicorn {importlib.metadata.version('uvicorn')}"
    )
    served = (
        f"uvicorn 1 worker, uvloop + httptools, access log off; {WARMUP_S:g} s warm-up, "
        f"then {ROUNDS} alternating rounds"
    )
    systems = {
        "lakeforge": (
            f"Lakeforge {lakeforge.__version__} rows endpoint",
            f"{served}; GET /api/v1/tables/customers/rows?limit={PAGE} as analyst "
            "(bearer token, PII masked, audited, metrics), following next cursors",
        ),
        "bare": (
            "bare FastAPI constant (anchor)",
            f"{served}; GET /const returning a constant JSON list",
        ),
    }
    dataset = f"customers ({ROWS:,} rows, 3 PII columns), pages of {PAGE}"
    rows: list[dict[str, Any]] = []
    console.print(
        f"[dim]bare and lakeforge: {CONCURRENCY} clients, {args.seconds:g} s each "
        f"in {ROUNDS} alternating rounds...[/]"
    )
    start = time.perf_counter()
    measured = measure(root / "shop", token, args.seconds)
    wall = time.perf_counter() - start
    for result in measured.values():
        result["wall_s"] = wall
    bare = measured["bare"]["throughput_rps"]
    view = Table(title=f"paged row reads, {CONCURRENCY} concurrent clients, loopback")
    for col in ("system", "req/s", "vs bare", "p50 ms", "p99 ms", "errors", "peak MB"):
        view.add_column(col)
    for system, result in measured.items():
        name, settings = systems[system]
        row = {
            "dataset": dataset,
            "system": name,
            "system_version": versions
            if system == "bare"
            else f"lakeforge {lakeforge.__version__}, {versions}",
            "settings": settings,
            "concurrency": CONCURRENCY,
            "duration_s": round(result["seconds"], 2),
            "requests": result["requests"],
            "rounds_rps": result["rounds"],
            "errors": result["errors"],
            "throughput_rps": round(result["throughput_rps"], 1),
            "ratio_vs_bare": round(result["throughput_rps"] / bare, 3),
            "p50_ms": round(result["p50_ms"], 2),
            "p99_ms": round(result["p99_ms"], 2),
            "wall_s": round(result["wall_s"], 2),
            "peak_memory_mb": result["server_peak_rss_mb"],
            "cores": machine()["cores"],
            "machine": machine(),
        }
        rows.append(row)
        view.add_row(
            name,
            f"{row['throughput_rps']:,.0f}",
            f"{row['ratio_vs_bare']:.2f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            str(row["errors"]),
            f"{row['peak_memory_mb']:,.0f}",
        )
    console.print(view)
    path = write_results("service", rows)
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
