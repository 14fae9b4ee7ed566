"""A webhook receiver for the demo and the tests, served under `/webhook` (deliveries go to `/webhook/receive`).

It does what the README asks of a receiver: verifies every delivery with
`destinations.webhook.verify` (401 for a bad signature or a timestamp older than 5 minutes),
drops a delivery whose `Idempotency-Key` it already processed (answering 200 again), drops an
action whose action_id it already processed, and rejects single records it cannot take (an
`email` field that is not an email address) in a 2xx body. Its secret is `WEBHOOK_SECRET` from
its own environment, else `EMULATOR_SECRET`.
"""

from __future__ import annotations

import os
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destinations.emulators import Emulator, Faults, LostResponse
from destinations.webhook.destination import MAX_BODY_BYTES, PAYLOAD_VERSION, POST, RATE_LIMITS
from destinations.webhook.signing import IDEMPOTENCY_HEADER, WebhookVerificationError, verify

EMULATOR_SECRET = "whsec_segue_emulator"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class WebhookEmulator(Emulator):
    prefix = "/webhook"
    rate_limits = RATE_LIMITS

    def __init__(self, faults: Faults | None = None, secret: str | None = None, tolerance: float = 300):
        self._secret, self.tolerance = secret, tolerance
        super().__init__(faults)

    @property
    def secret(self) -> str:
        return self._secret or os.environ.get("WEBHOOK_SECRET") or EMULATOR_SECRET

    def reset_state(self) -> None:
        self.profiles: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, list[str]] = {}
        self.messages: list[dict[str, Any]] = []
        self.action_ids: set[str] = set()
        self.delivery_ids: list[str] = []
        self.duplicate_deliveries = 0
        self.duplicate_actions = 0
        self.verification_failures: list[str] = []

    def state(self) -> dict[str, Any]:
        return {
            "profiles": [{"id": key, "external_id": key, **fields} for key, fields in self.profiles.items()],
            "lists": {k: list(v) for k, v in self.lists.items()},
            "messages": list(self.messages),
            "deliveries": len(self.delivery_ids),
            "duplicate_deliveries": self.duplicate_deliveries,
            "duplicate_actions": self.duplicate_actions,
            "verification_failures": list(self.verification_failures),
        }

    def error(self, status: int, code: str, detail: str) -> Response:
        return JSONResponse({"error": code, "message": detail}, status_code=status)

    def routes(self) -> list[Route]:
        return [Route("/receive", self._receive, methods=["POST"])]

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        return await run_in_threadpool(self._handle, dict(request.headers), body)

    def _handle(self, headers: dict[str, str], body: bytes) -> Response:
        refused = self.gate(POST)
        if refused is not None:
            return refused
        if len(body) > MAX_BODY_BYTES:
            return self.error(413, "too_large", f"Bodies above {MAX_BODY_BYTES} bytes are refused.")
        try:
            payload = verify(self.secret, headers, body, tolerance=self.tolerance)
        except WebhookVerificationError as exc:
            with self.lock:
                self.verification_failures.append(str(exc))
            return self.error(401, "invalid_signature", str(exc))
        if not isinstance(payload, dict) or payload.get("version") != PAYLOAD_VERSION:
            return self.error(400, "unsupported_version", f"Expected payload version {PAYLOAD_VERSION}.")
        key = headers.get(IDEMPOTENCY_HEADER.lower())
        if not key or key != payload.get("delivery_id"):
            return self.error(400, "invalid", "Idempotency-Key must be present and equal the payload's delivery_id.")
        with self.lock:
            if key in self.delivery_ids:
                self.duplicate_deliveries += 1
                response: Response = JSONResponse({"duplicate": True, "rejected": []})
            else:
                response = self._apply(payload)
                self.delivery_ids.append(key)
        if response.status_code < 300 and self.lose_response():
            return LostResponse()
        return response

    def _apply(self, payload: dict[str, Any]) -> Response:
        records = payload.get("records")
        if not isinstance(records, list) or any(
            not isinstance(r, dict) or "key" not in r or r.get("op") not in ("added", "changed", "removed", "action")
            for r in records
        ):
            return self.error(400, "invalid", "records must be objects with a key and op added/changed/removed/action")
        rejected = []
        members = self.lists.setdefault(payload["object"], []) if payload.get("mode") == "mirror" else None
        for record in records:
            key, op, fields = str(record["key"]), record["op"], record.get("fields") or {}
            email = fields.get("email")
            if email is not None and not EMAIL.match(str(email)):
                rejected.append({"key": key, "code": "invalid_email", "message": f"not an email address: {email!r}"})
                continue
            if op == "action":
                if key in self.action_ids:
                    self.duplicate_actions += 1
                    continue
                self.action_ids.add(key)
                self.messages.append({"action_id": key, "to": fields.get("to"), "object": payload["object"], **fields})
            elif op in ("added", "changed"):
                self.profiles.setdefault(key, {}).update(fields)
                if members is not None and key not in members:
                    members.append(key)
            elif members is not None:  # removed from a mirrored audience
                if key in members:
                    members.remove(key)
            else:
                self.profiles.pop(key, None)
        return JSONResponse({"accepted": len(records) - len(rejected), "rejected": rejected})
