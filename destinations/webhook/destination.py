"""A signed HTTPS webhook as a Segue destination: one JSON POST per batch (payload version 1).

Every mode works on any `object` (a label the receiver routes on): upsert and mirror send
records with `op` added / changed / removed, actions send `op` action rows keyed by action_id.
Each delivery carries an `Idempotency-Key` (= `delivery_id`, derived from the batch's content,
so every retry of the same batch carries the same one) and is signed (`signing.py`).

Answers: 2xx delivered (a JSON body `{"rejected": [{"key", "code", "message"}]}` rejects single
records); 413 splits the batch in halves; 429 / 503 are retried after Retry-After; other 5xx and
lost answers are retried with the same key; 401 / 403 / 404 / 405 / 410 and redirects fail the
sync (wrong secret or URL); any other 4xx rejects every record of that batch with the receiver's text.
Actions are de-duplicated by the receiver (a documented obligation: drop an action whose
action_id it already processed), so `dedupes_actions` is True and a lost answer is re-sent.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from destinations.base import BatchOutcome, Capabilities, ConfigError, FatalError, Op, PendingJob, RateLimit, Record
from destinations.webhook.signing import DELIVERY_HEADER, IDEMPOTENCY_HEADER, sign

PAYLOAD_VERSION = 1
MAX_BATCH_ROWS = 500
MAX_SEND_ROWS = 100
MAX_BODY_BYTES = 1024 * 1024  # receivers commonly cap request bodies at 1 MB
ENVELOPE_BYTES = 1_024
POST = "POST webhook"
# A receiver publishes no limit; Segue keeps to 50 requests/s, 3,000/min unless rate_limit_scale says otherwise.
RATE_LIMITS = {POST: RateLimit(50, 3_000)}
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
OBJECT_NAME = re.compile(r"^[A-Za-z0-9_.:/-]{1,200}$")
RECORD_OPS = {"add": "added", "change": "changed", "remove": "removed", "send": "action"}
FATAL_STATUSES = {404, 405, 410}


def record_op(op: Op, record: Record) -> str:
    if record.change in RECORD_OPS:
        return RECORD_OPS[record.change]
    return {Op.UPSERT: "changed", Op.ADD: "added", Op.REMOVE: "removed", Op.SEND: "action"}[op]


def delivery_id(sync_name: str, op: Op, records: list[dict[str, Any]]) -> str:
    """Derived from what is delivered: the same batch always has the same id, another batch never does."""
    canonical = json.dumps([sync_name, str(op), records], sort_keys=True, separators=(",", ":"), default=str)
    return "dlv_" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


class WebhookDestination:
    capabilities = Capabilities(
        max_batch_rows={
            Op.UPSERT: MAX_BATCH_ROWS,
            Op.ADD: MAX_BATCH_ROWS,
            Op.REMOVE: MAX_BATCH_ROWS,
            Op.SEND: MAX_SEND_ROWS,
        },
        max_batch_bytes={op: MAX_BODY_BYTES - ENVELOPE_BYTES for op in Op},
        rate_limits=RATE_LIMITS,
        max_concurrency=4,
        dedupes_actions=True,  # receivers must drop an action_id they already processed (README)
    )

    def __init__(self, instance, transport):
        self.instance = instance
        self.transport = transport
        self.url = instance.credential("url")  # the full URL (may carry a token: never logged)
        self._secret = instance.credential("secret")

    @classmethod
    def validate_spec(cls, spec) -> list[str]:
        problems = []
        if not OBJECT_NAME.match(spec.object or ""):
            problems.append(
                f"meta.sync.object: a webhook object is a label the receiver routes on "
                f"(letters, digits, _ . : / -), got {spec.object!r}"
            )
        for field in spec.mapping:
            if not FIELD_NAME.match(field):
                problems.append(
                    f"meta.sync.mapping.{field}: a webhook field name is an identifier ([A-Za-z_][A-Za-z0-9_]*)"
                )
        return problems

    def record_body(self, op: Op, record: Record) -> dict[str, Any]:
        kind = record_op(op, record)
        return {"key": record.key, "op": kind, "fields": None if kind == "removed" else dict(record.fields)}

    def encoded_size(self, op: Op, record: Record) -> int:
        return len(json.dumps(self.record_body(op, record), separators=(",", ":"), default=str).encode()) + 1

    def payload(self, op: Op, spec, records: list[Record]) -> dict[str, Any]:
        bodies = [self.record_body(op, r) for r in records]
        return {
            "version": PAYLOAD_VERSION,
            "delivery_id": delivery_id(spec.name, op, bodies),
            "sync": spec.name,
            "mode": spec.mode,
            "object": spec.object,
            "records": bodies,
        }

    def deliver(self, op: Op, spec, records: list[Record]) -> BatchOutcome | PendingJob:
        if not records:
            return BatchOutcome()
        payload = self.payload(op, spec, records)
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"Segue-Webhook/{PAYLOAD_VERSION}",
            IDEMPOTENCY_HEADER: payload["delivery_id"],
            DELIVERY_HEADER: payload["delivery_id"],
            **sign(self._secret, body),  # signed at each attempt: a retry carries a fresh timestamp
        }
        response = self.transport.request(POST, "POST", self.url, data=body, headers=headers, allow_redirects=False)
        status = response.status_code
        if 200 <= status < 300:
            return self._accepted(response, records)
        if status == 413 and len(records) > 1:
            middle = len(records) // 2
            first, second = self.deliver(op, spec, records[:middle]), self.deliver(op, spec, records[middle:])
            merged = BatchOutcome(
                rejected={**first.rejected, **second.rejected}, failed={**first.failed, **second.failed}
            )
            merged.confirmed = [r.key for r in records if r.key not in merged.rejected and r.key not in merged.failed]
            return merged
        text = response.text[:200]
        if 300 <= status < 400 or status in FATAL_STATUSES:
            raise FatalError(f"webhook answered HTTP {status} (check WEBHOOK_URL): {text}")
        # Any other 4xx: the receiver refuses this batch; each record keeps the reason, the sync goes on.
        return BatchOutcome(rejected={r.key: (f"http_{status}", text or f"HTTP {status}") for r in records})

    @staticmethod
    def _accepted(response, records: list[Record]) -> BatchOutcome:
        keys = {r.key for r in records}
        rejected: dict[str, tuple[str, str]] = {}
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {}
        for item in (body.get("rejected") or []) if isinstance(body, dict) else []:
            if isinstance(item, dict) and str(item.get("key")) in keys:
                rejected[str(item["key"])] = (str(item.get("code") or "rejected"), str(item.get("message") or ""))
        return BatchOutcome(confirmed=[r.key for r in records if r.key not in rejected], rejected=rejected)

    def poll(self, job: PendingJob) -> BatchOutcome | None:
        raise ConfigError("a webhook answers every delivery synchronously; there is no job to poll")
