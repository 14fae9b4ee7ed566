"""The Dagster UI as the control room: owners and descriptions from dbt YAML, and a real browser on the asset graph.

The browser test starts `dagster dev` on a free loopback port (in its own
process group, stopped as a group), drives Debian's Chromium through
Playwright (`executable_path`, no downloaded browser), finds the assets on the
asset graph and takes a screenshot. In CI (CI=true) a missing browser fails
the test; `.ci/run` installs Debian's chromium first.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import pytest
from dagster import AssetKey

from orchestration.definitions import defs

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SEGUE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_owners_and_descriptions_come_from_dbt_yaml():
    graph = defs.resolve_asset_graph()
    node = graph.get(AssetKey(["staging", "stg_shop__customers"]))
    assert node.owners == ["team:Segue data engineering"]  # the dbt group's owner (_staging__groups.yml)
    assert "One row per online account" in (node.description or "")


def _label_shows(label: str, name: str) -> bool:
    """The graph middle-truncates long names (`stg_duplic…_counts`): match on what is left."""
    if label == name:
        return True
    if "…" not in label and "..." not in label:
        return False
    head, _, tail = label.replace("...", "…").partition("…")
    return name.startswith(head) and name.endswith(tail) and len(head) + len(tail) < len(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _png_is_not_blank(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the decoded image); a blank page has very few."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    return width, height, len(set(raw))


LOCATION_QUERY = (
    '{"query": "{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus '
    'locationOrLoadError { __typename ... on PythonError { message } } } } } }"}'
)


def _wait_for_code_location(url: str, proc: subprocess.Popen, timeout: float) -> None:
    """The webserver answers before its code server has loaded the definitions: wait for both."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dagster dev exited with {proc.returncode}")
        try:
            request = urllib.request.Request(
                url + "/graphql", data=LOCATION_QUERY.encode(), headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                body = json.loads(response.read())
            entries = body["data"]["workspaceOrError"]["locationEntries"]
            last = json.dumps(entries)
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
                assert not errors, f"the code location failed to load: {errors}"
                return
        except (OSError, KeyError, TypeError, ValueError):
            pass
        time.sleep(2)
    raise AssertionError(f"dagster dev did not load the definitions within {timeout:.0f}s: {last}")


@pytest.mark.slow
def test_asset_graph_in_a_real_browser(built_retailer, tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs Debian's chromium (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    warehouse, _ = built_retailer
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    dagster = Path(sys.executable).parent / "dagster"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SEGUE_WAREHOUSE": str(warehouse),
        "PYTHONPATH": str(REPO),
        "DO_NOT_TRACK": "1",
        # dagster-dbt's prepare_if_dev() runs `dbt` from PATH under `dagster dev`.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = (tmp_path / "dagster-dev.log").open("w")
    command = str(dagster if dagster.exists() else shutil.which("dagster"))
    proc = subprocess.Popen(
        [command, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a group below
    )
    screenshot = tmp_path / "asset-graph.png"
    try:
        _wait_for_code_location(url, proc, timeout=300)
        graph = defs.resolve_asset_graph()
        groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
        # The sync assets when the project has them, else the staging models they read.
        group = "syncs" if "syncs" in groups else "staging"
        names = sorted(
            k.path[-1]
            for k in graph.materializable_asset_keys
            if graph.get(k).group_name == group and not k.path[-1].startswith("base_")
        )
        if group == "syncs":  # the sync models (sync_<destination>__<name>), one shared prefix
            names = [n for n in names if n.startswith("sync_")]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                # The group's own lineage graph (the global one shows big groups collapsed).
                page.goto(
                    f"{url}/locations/orchestration.definitions:defs/asset-groups/{group}",
                    wait_until="domcontentloaded",
                    timeout=120_000,
                )
                skip = page.get_by_role("button", name="Skip")  # the first-visit newsletter dialog
                try:
                    skip.wait_for(timeout=10_000)
                    skip.click()
                except PlaywrightTimeout:
                    pass
                prefix = names[0][:4]
                page.get_by_text(re.compile(f"^{re.escape(prefix)}")).first.wait_for(timeout=120_000)
                page.wait_for_timeout(2_000)
                labels = [t.strip() for t in page.get_by_text(re.compile(f"^{re.escape(prefix)}")).all_inner_texts()]
                visible = [n for n in names if any(_label_shows(label, n) for label in labels)]
                page.screenshot(path=str(screenshot), full_page=False)
            finally:
                browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    assert len(visible) >= min(3, len(names)), (labels, names)
    assert screenshot.exists() and screenshot.stat().st_size > 10_000
    width, height, distinct = _png_is_not_blank(screenshot)
    assert (width, height) == (1600, 1000)
    assert distinct > 40, "the screenshot is blank"
    keep = os.environ.get("SEGUE_SCREENSHOT_DIR")
    if keep:
        shutil.copyfile(screenshot, Path(keep) / "asset-graph.png")
