"""Destination types by name, and the HTTP transport the engine hands to each destination."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from destinations.base import ConfigError, FatalError, OutcomeUnknown, RetriableError
from destinations.config import DestinationInstance
from destinations.ratelimit import RateLimiter


def destination_class(type_name: str):
    if type_name == "klaviyo":
        from destinations.klaviyo.destination import KlaviyoDestination

        return KlaviyoDestination
    if type_name == "personalization":
        from destinations.personalization.destination import PersonalizationDestination

        return PersonalizationDestination
    if type_name == "twilio":
        from destinations.twilio.destination import TwilioDestination

        return TwilioDestination
    if type_name == "attentive":
        from destinations.attentive.destination import AttentiveDestination

        return AttentiveDestination
    if type_name == "braze":
        from destinations.braze.destination import BrazeDestination

        return BrazeDestination
    if type_name == "webhook":
        from destinations.webhook.destination import WebhookDestination

        return WebhookDestination
    supported = "klaviyo, braze, twilio, attentive, webhook, personalization"
    raise ConfigError(f"unknown destination type {type_name!r} (supported: {supported})")


def make_destination(instance: DestinationInstance, settings, counter: dict[str, int]):
    cls = destination_class(instance.type)
    limiter = RateLimiter(instance.name, cls.capabilities.rate_limits, instance.rate_limit_scale)
    transport = HttpTransport(limiter, settings.request_timeout, counter)
    return cls(instance, transport)


# Past this, an X-RateLimit-Reset value is a UTC epoch second, not a number of seconds from now.
_EPOCH_THRESHOLD = 1_000_000_000


def _retry_after(response: requests.Response, clock=time.time) -> float | None:
    """Seconds to wait before retrying: Retry-After, else the X-RateLimit-* headers some vendors send instead.

    Braze answers 429 with X-RateLimit-Reset (the UTC epoch second the window resets) and no
    Retry-After; X-RateLimit-Retry-After (seconds) is preferred where present. A reset value
    below 10^9 is read as seconds from now (the other common convention).
    """
    headers = response.headers
    for name in ("Retry-After", "X-RateLimit-Retry-After"):
        value = _number(headers.get(name))
        if value is not None:
            return max(0.0, value)
    reset = _number(headers.get("X-RateLimit-Reset"))
    if reset is None:
        return None
    return max(0.0, reset - clock() if reset >= _EPOCH_THRESHOLD else reset)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


class HttpTransport:
    """requests with the engine's rate limiter in front and the engine's error classes behind.

    - connection refused / connect timeout: RetriableError (nothing reached the vendor);
    - read timeout, connection reset or a truncated answer: OutcomeUnknown;
    - 429 and 503: RetriableError with Retry-After; other 5xx: OutcomeUnknown (the vendor may have acted);
    - 401 / 403: FatalError; other answers go back to the destination, which knows their per-record meaning.
    """

    def __init__(self, limiter: RateLimiter, timeout: float, counter: dict[str, int]):
        self.limiter, self.timeout, self.counter = limiter, timeout, counter
        self._local = threading.local()
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def request(self, endpoint: str, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.limiter.acquire(endpoint)
        with self._lock:
            self.counter["requests"] = self.counter.get("requests", 0) + 1
        try:
            response = self._session().request(method, url, timeout=self.timeout, **kwargs)
        except (requests.exceptions.ConnectTimeout, requests.exceptions.InvalidURL) as exc:
            raise RetriableError(f"{endpoint}: cannot connect ({type(exc).__name__})", code="connect") from exc
        except requests.exceptions.ConnectionError as exc:
            if "NewConnectionError" in repr(exc) or "Connection refused" in str(exc):
                raise RetriableError(f"{endpoint}: connection refused", code="connect") from exc
            raise OutcomeUnknown(f"{endpoint}: connection lost before the answer ({type(exc).__name__})") from exc
        except (requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise OutcomeUnknown(f"{endpoint}: no complete answer ({type(exc).__name__})") from exc
        status = response.status_code
        if status in (429, 503):
            raise RetriableError(
                f"{endpoint}: HTTP {status}", retry_after=_retry_after(response), code=f"http_{status}"
            )
        if status >= 500:
            raise OutcomeUnknown(f"{endpoint}: HTTP {status}")
        if status in (401, 403):
            raise FatalError(f"{endpoint}: HTTP {status} (check the destination's credentials and scopes)")
        return response
