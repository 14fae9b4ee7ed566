"""How a Segue webhook delivery is signed, and how a receiver checks it (no dependency beyond the stdlib).

Scheme (version v1), the same shape as Stripe's and Svix's:

    signed_content = f"{timestamp}.".encode() + body          # body: the exact bytes received
    signature      = hex(HMAC-SHA256(key=secret.encode(), msg=signed_content))
    Segue-Timestamp: <timestamp, integer seconds since the Unix epoch, UTC>
    Segue-Signature: v1=<signature>

A receiver recomputes the signature over the raw body (before any JSON parsing), compares it in
constant time, and refuses a timestamp more than `tolerance` seconds away from its clock (replay).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

SIGNATURE_HEADER = "Segue-Signature"
TIMESTAMP_HEADER = "Segue-Timestamp"
DELIVERY_HEADER = "Segue-Delivery-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300  # seconds


class WebhookVerificationError(ValueError):
    """The delivery is not authentic or too old: answer 401 and do not act on it."""


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def signature(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """Hex HMAC-SHA256 of `{timestamp}.{body}` under `secret`."""
    content = f"{timestamp}.".encode() + _bytes(body)
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """The timestamp and signature headers for one delivery of `body`."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: f"{SCHEME}={signature(secret, ts, body)}"}


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a delivery's signature and timestamp; return the parsed payload, or raise WebhookVerificationError.

    `headers` may be any mapping (names compared without regard to case); `body` must be the raw
    request body exactly as received.
    """
    if not secret:
        raise WebhookVerificationError("no secret configured to verify against")
    lowered = {str(k).lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower())
    header = lowered.get(SIGNATURE_HEADER.lower())
    if not timestamp or not header:
        raise WebhookVerificationError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        ts = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"{TIMESTAMP_HEADER} is not an integer: {timestamp!r}") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookVerificationError(f"timestamp {ts} is more than {tolerance:g} s from now ({int(current)})")
    expected = signature(secret, ts, body)
    candidates = [
        part.split("=", 1)[1]
        for part in header.replace(",", " ").split()
        if part.startswith(f"{SCHEME}=") and "=" in part
    ]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookVerificationError("signature does not match the body (wrong secret or altered body)")
    try:
        return json.loads(_bytes(body))
    except ValueError as exc:
        raise WebhookVerificationError(f"body is not JSON: {exc}") from None
