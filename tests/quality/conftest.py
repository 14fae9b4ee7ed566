"""Fixtures for the data-quality, automation and control-room tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.conftest import copy_warehouse


@pytest.fixture()
def built_copy(built_retailer, tmp_path):
    """A private copy of the session's built warehouse, to break as a test likes."""
    warehouse, _ = built_retailer
    return copy_warehouse(warehouse, tmp_path)


class _Receiver(BaseHTTPRequestHandler):
    received: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append({"path": self.path, "json": json.loads(body), "headers": dict(self.headers)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def webhook_receiver(monkeypatch):
    """A local HTTP server on a free loopback port that records every POSTed JSON alert."""
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hooks/segue?token=s3cret"
    monkeypatch.setenv("SEGUE_ALERT_WEBHOOK_URL", url)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
