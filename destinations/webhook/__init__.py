"""The signed webhook: the destination (`destination.py`), a receiver emulator (`emulator.py`),
the payload's JSON Schema (`payload.schema.json`), notes (`README.md`) and `verify`, the
helper a receiver uses to check a delivery's signature and timestamp."""

from destinations.webhook.signing import WebhookVerificationError, sign, verify

__all__ = ["WebhookVerificationError", "sign", "verify"]
