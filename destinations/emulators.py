"""`segue emulators`: one local server, each destination's emulator under its own path prefix (CONTRACT §5).

Every emulator answers, under its prefix, `GET /__emulator__/state`, `POST
/__emulator__/reset` and `GET|POST /__emulator__/faults`: the fault switch
(`error_rate` and `error_status` for requests refused before acting,
`latency_ms`, `lost_response_rate` for requests that act and then lose their
answer, `rate_limit_scale` multiplying the vendor's documented limits,
`retry_after` overriding the Retry-After it sends, `seed`, `strict_content_type`).
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from destinations.base import RateLimit
from destinations.ratelimit import TokenBucket


@dataclass
class Faults:
    error_rate: float = 0.0
    error_status: int = 503
    latency_ms: float = 0.0
    lost_response_rate: float = 0.0
    rate_limit_scale: float = 1.0
    retry_after: float | None = None  # None: the vendor's own value
    seed: int | None = None
    # False: also accept bodies sent as application/json (drt-core sends that; bench/bench_drt.py)
    strict_content_type: bool = True


class LostResponse(Response):
    """The vendor acted, then the connection dropped mid-answer: the client cannot know what happened."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"data":', "more_body": True})
        raise ConnectionAbortedError("emulator fault: response lost after acting")


class Emulator:
    """Shared machinery: state lock, fault switch, per-endpoint rate limits, the __emulator__ routes."""

    prefix = ""
    rate_limits: dict[str, RateLimit] = {}  # noqa: RUF012 - overridden per vendor

    def __init__(self, faults: Faults | None = None):
        self.lock = threading.RLock()
        self.faults = faults or Faults()
        self.rng = random.Random(self.faults.seed)
        self.buckets: dict[str, TokenBucket] = {}
        self.requests: dict[str, int] = {}
        self.throttled_responses = 0
        self.reset_state()

    # subclasses: reset_state(), state(), routes(), and call self.gate(endpoint) first in each handler
    def reset_state(self) -> None:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def gate(self, endpoint: str) -> Response | None:
        """Latency, rate limit and injected errors before the request acts; a Response refuses it."""
        with self.lock:
            self.requests[endpoint] = self.requests.get(endpoint, 0) + 1
            faults = self.faults
            refuse = faults.error_rate and self.rng.random() < faults.error_rate
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000.0)
        limit = self.rate_limits.get(endpoint)
        if limit is not None:
            with self.lock:
                bucket = self.buckets.get(endpoint)
                if bucket is None:
                    bucket = self.buckets[endpoint] = TokenBucket(limit, faults.rate_limit_scale)
            wait = bucket.try_acquire()
            if wait > 0:
                return self.throttled(wait)
        if refuse:
            if faults.error_status == 429:
                return self.throttled(1.0)
            return self.error(faults.error_status, "emulated_fault", "Injected fault (emulator fault switch)")
        return None

    def lose_response(self) -> bool:
        with self.lock:
            return bool(self.faults.lost_response_rate) and self.rng.random() < self.faults.lost_response_rate

    def throttled(self, wait: float) -> Response:
        with self.lock:
            self.throttled_responses += 1
        retry_after = self.faults.retry_after if self.faults.retry_after is not None else max(1, round(wait + 0.5))
        response = self.error(429, "throttled", "Request was throttled.")
        response.headers["Retry-After"] = str(retry_after)
        return response

    def error(self, status: int, code: str, detail: str) -> Response:
        raise NotImplementedError

    async def _state(self, request: Request) -> Response:
        with self.lock:
            body = self.state()
            body["requests"] = dict(self.requests)
            body["throttled_responses"] = self.throttled_responses
        return JSONResponse(body)

    async def _reset(self, request: Request) -> Response:
        with self.lock:
            self.reset_state()
            self.requests = {}
            self.throttled_responses = 0
            self.buckets = {}
        return JSONResponse({"reset": True})

    async def _faults(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            unknown = set(body) - set(asdict(Faults()))
            if unknown:
                return JSONResponse({"error": f"unknown fault settings {sorted(unknown)}"}, status_code=400)
            with self.lock:
                self.faults = Faults(**{**asdict(self.faults), **body})
                self.rng = random.Random(self.faults.seed)
                self.buckets = {}
        return JSONResponse(asdict(self.faults))

    def app(self) -> Starlette:
        admin = [
            Route("/__emulator__/state", self._state, methods=["GET"]),
            Route("/__emulator__/reset", self._reset, methods=["POST"]),
            Route("/__emulator__/faults", self._faults, methods=["GET", "POST"]),
        ]
        return Starlette(routes=admin + self.routes())


def build_app(faults: dict[str, Faults] | None = None) -> Starlette:
    """Every emulator under its prefix (today: /klaviyo; /braze, /twilio, /attentive, /webhook join here)."""
    from destinations.attentive.emulator import AttentiveEmulator
    from destinations.braze.emulator import BrazeEmulator
    from destinations.klaviyo.emulator import KlaviyoEmulator
    from destinations.personalization.emulator import PersonalizationEmulator
    from destinations.twilio.emulator import TwilioEmulator
    from destinations.webhook.emulator import WebhookEmulator

    faults = faults or {}
    emulators: list[Emulator] = [
        KlaviyoEmulator(faults.get("klaviyo")),
        BrazeEmulator(faults.get("braze")),
        TwilioEmulator(faults.get("twilio")),
        AttentiveEmulator(faults.get("attentive")),
        WebhookEmulator(faults.get("webhook")),
        PersonalizationEmulator(faults.get("personalization")),
    ]

    async def index(request: Request) -> Response:
        return JSONResponse({"emulators": [e.prefix for e in emulators]})

    app = Starlette(routes=[Route("/", index), *[Mount(e.prefix, app=e.app()) for e in emulators]])
    app.state.emulators = {e.prefix.strip("/"): e for e in emulators}
    return app


class EmulatorServer:
    """uvicorn in a background thread (tests and `make demo`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, faults: dict[str, Faults] | None = None):
        import socket

        import uvicorn

        if port == 0:
            with socket.socket() as sock:
                sock.bind((host, 0))
                port = sock.getsockname()[1]
        self.host, self.port = host, port
        self.app = build_app(faults)
        config = uvicorn.Config(self.app, host=host, port=port, log_level="critical", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> EmulatorServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("emulator server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def wait_until_serving(url: str, timeout: float = 30.0) -> None:
    """Block until `url` answers (used by `make demo` after starting `segue emulators` in the background)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"no emulator answered at {url} within {timeout:.0f} s") from None
            time.sleep(0.2)


if __name__ == "__main__":  # python -m destinations.emulators --wait URL
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--wait":
        wait_until_serving(sys.argv[2])
    else:
        raise SystemExit("usage: python -m destinations.emulators --wait URL (to serve them: segue emulators)")


DEMO_ENV = Path(__file__).resolve().parents[1] / "demo.env"


def demo_env(emulators_url: str, path: Path = DEMO_ENV) -> dict[str, str]:
    """The settings `make demo` exports (demo.env): every destination pointed at the emulators on `emulators_url`.

    Tests use the same file, so a destination added to the demo is configured in the tests too.
    """
    env: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ValueError(f"{path}:{number}: expected NAME=value, got {line!r}")
        env[name.strip()] = value.strip().replace("${SEGUE_EMULATORS}", emulators_url.rstrip("/"))
    return env
