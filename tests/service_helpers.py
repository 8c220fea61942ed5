"""A small workspace with PII and a running service, shared by the service tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lakeforge as lf
from lakeforge.config import Settings
from lakeforge.serve import create_user

ROLES = ("admin", "engineer", "analyst", "viewer")
CUSTOMERS = 300
ORDERS = 1200


def build_workspace(root: Path) -> dict[str, str]:
    """customers (email, phone, name PII; one bad row) and orders; a token per role."""
    ws = lf.Workspace.init(root / "shop")
    customers = root / "customers.csv"
    lines = ["customer_id,email,phone,full_name,city,signup"]
    for i in range(1, CUSTOMERS + 1):
        lines.append(
            f"{i},person{i}@example.com,+44 7700 900{i:03d},Alice{i} Smith,Leeds,"
            f"2024-02-{(i % 28) + 1:02d}"
        )
    lines.append("oops,bad@example.com,+44 1,Bad Row,York,2024-02-01")
    customers.write_text("\n".join(lines) + "\n")
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
    ws.ingest(customers, table="customers", contract=contract)
    orders = root / "orders.csv"
    orders.write_text(
        "order_id,customer_id,amount,status\n"
        + "\n".join(
            f"{i},{(i % CUSTOMERS) + 1},{i * 1.25},{'paid' if i % 3 else 'shipped'}"
            for i in range(1, ORDERS + 1)
        )
        + "\n"
    )
    orders_contract = lf.Contract(
        table="orders",
        columns=[
            lf.Column(name="order_id", type="integer", nullable=False),
            lf.Column(name="customer_id", type="integer"),
            lf.Column(name="amount", type="float"),
            lf.Column(name="status"),
        ],
        primary_key=["order_id"],
        foreign_keys=[
            lf.ForeignKey(
                columns=["customer_id"], ref_table="customers", ref_columns=["customer_id"]
            )
        ],
    )
    ws.ingest(orders, table="orders", contract=orders_contract)
    more = root / "orders_more.csv"
    more.write_text(
        "order_id,customer_id,amount,status\n"
        + "\n".join(f"{i},1,{i}.0,paid" for i in range(ORDERS + 1, ORDERS + 11))
        + "\n"
    )
    ws.ingest(more, table="orders")
    tokens = {}
    for role in ROLES:
        _, tokens[role] = create_user(ws.catalog, f"{role}1", role=role)
    ws.close()
    return tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningService:
    base_url: str
    workspace: Path
    tokens: dict[str, str]
    app: object

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@contextmanager
def running_service(root: Path, tokens: dict[str, str]) -> Iterator[RunningService]:
    """uvicorn in a thread on a free loopback port."""
    import uvicorn

    from lakeforge.serve import create_app

    settings = Settings(serve={"access_log": False, "auth_cache_s": 0})  # type: ignore[arg-type]
    app = create_app(root / "shop", settings)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield RunningService(f"http://127.0.0.1:{port}", root / "shop", tokens, app)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
