"""Destination types by name, and the HTTP transport the engine hands to each destination."""

from __future__ import annotations

import threading
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
    raise ConfigError(
        f"unknown destination type {type_name!r} (supported: klaviyo, twilio, attentive, personalization)"
    )


def make_destination(instance: DestinationInstance, settings, counter: dict[str, int]):
    cls = destination_class(instance.type)
    limiter = RateLimiter(instance.name, cls.capabilities.rate_limits, instance.rate_limit_scale)
    transport = HttpTransport(limiter, settings.request_timeout, counter)
    return cls(instance, transport)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
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
