"""`dagster dev`'s webserver loads workspace.yaml and serves the asset graph over GraphQL."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
QUERY = "{ assetNodes { assetKey { path } groupName hasAssetChecks } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webserver_serves_the_asset_graph(tmp_path, dagster_home):
    port = _free_port()
    webserver = Path(sys.executable).parent / "dagster-webserver"
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "SEGUE_WAREHOUSE": str(tmp_path / "w.duckdb")}
    log = (tmp_path / "webserver.log").open("w")
    # Its own process group, so stopping it also stops the code server it starts.
    proc = subprocess.Popen(
        [str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        nodes = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "webserver.log").read_text()
            try:
                response = requests.post(f"{base}/graphql", json={"query": QUERY}, timeout=10)
                data = response.json().get("data") or {}
                if data.get("assetNodes"):
                    nodes = data["assetNodes"]
                    break
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            time.sleep(1)
        assert nodes, "webserver never served the asset graph:\n" + (tmp_path / "webserver.log").read_text()
        by_name = {node["assetKey"]["path"][-1]: node for node in nodes}
        assert by_name["stg_shop__customers"]["groupName"] == "staging"
        assert by_name["stg_segment__events"]["hasAssetChecks"]
        assert sum(1 for n in nodes if n["groupName"] == "raw") == 13
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
