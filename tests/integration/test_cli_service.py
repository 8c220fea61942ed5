"""``lakeforge users``, ``lakeforge serve`` and ``lakeforge audit`` from the shell.

A user added on the command line gets a token that the served API accepts; a revoked token is
refused; every call shows up in ``lakeforge audit`` with its user, endpoint and status.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import lakeforge as lf
from lakeforge.cli import app
from tests.service_helpers import free_port

runner = CliRunner()


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    lf.Workspace.init(root).close()
    return root


def test_users_add_list_token_revoke(shop: Path) -> None:
    added = _json(
        ["users", "add", "alice", "--role", "analyst", "--expires", "30d", "-w", str(shop)]
    )
    assert added["user"] == "alice" and added["role"] == "analyst"
    assert added["token"].startswith("lf_") and added["expires"] == "30d"
    listed = _json(["users", "list", "-w", str(shop)])
    assert [(u["user"], u["role"]) for u in listed["data"]] == [("alice", "analyst")]
    again = runner.invoke(app, ["users", "add", "alice", "-w", str(shop)])
    assert again.exit_code == 1 and "already exists" in again.output
    bad_role = runner.invoke(app, ["users", "add", "bob", "--role", "owner", "-w", str(shop)])
    assert bad_role.exit_code == 1 and "unknown role" in bad_role.output
    second = _json(["users", "token", "alice", "-w", str(shop)])
    assert second["token"] != added["token"] and second["role"] == "analyst"
    revoked = _json(["users", "revoke", "alice", "-w", str(shop)])
    assert revoked == {"user": "alice", "revoked": 2}
    missing = runner.invoke(app, ["users", "revoke", "nobody", "-w", str(shop)])
    assert missing.exit_code == 1


def test_audit_rejects_a_bad_duration(shop: Path) -> None:
    result = runner.invoke(app, ["audit", "--since", "5x", "-w", str(shop)])
    assert result.exit_code == 1 and "not a duration" in result.output


def test_serve_accepts_cli_tokens_and_audits_every_call(shop: Path) -> None:
    token = _json(["users", "add", "carol", "--role", "analyst", "-w", str(shop)])["token"]
    port = free_port()
    env = {**os.environ, "LAKEFORGE_SERVE__AUTH_CACHE_S": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "lakeforge", "serve", "-w", str(shop), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "lakeforge serve did not come up"
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/api/v1/tables", headers=auth).status_code == 200
        assert httpx.get(f"{base}/api/v1/tables/nope", headers=auth).status_code == 404
        _json(["users", "revoke", "carol", "-w", str(shop)])
        assert httpx.get(f"{base}/api/v1/tables", headers=auth).status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert "serving" in output and f":{port}/" in output
    entries = _json(["audit", "--user", "carol", "--since", "1h", "-w", str(shop)])["data"]
    calls = {(e["endpoint"], e["status"]) for e in entries}
    assert any("/api/v1/tables" in str(ep) and st == 200 for ep, st in calls), calls
    assert any(st == 404 for _, st in calls), calls
