"""The personalization API as a Segue destination: one profile document per customer, written over HTTP.

The sync engine writes through the service's write API (`service.py`), the
same HTTP path every vendor takes, so batching, retries, the fault switch and
the crash tests apply unchanged:

- upsert / mirror adds and changes, object `profiles`: `PUT /v1/profiles` with
  up to 1,000 documents (≤5 MB); the answer has one result per document (`ok`
  or `rejected` with the field at fault);
- mirror removals (customers who left the model): `POST /v1/profiles/delete`
  with their keys; the document and its identifiers go. Upsert leaves departed
  customers in the store (use mirror for a store that equals the model).

Both calls are idempotent (documents are replaced whole by customer_key), so a
batch whose answer was lost is safely re-sent. No journey actions are
delivered: the next on-site action is part of the document.

Mapping fields (destination field: model column): `customer_key` (the primary
key), `identifiers.<type>` for email, phone, customer_id, loyalty_id and
anonymous_id (a JSON array of values, or a single value), `segments` (JSON
array), `loyalty.tier`, `loyalty.points`, `next_action.<field>` (action_id,
journey, step, scheduled_for, category, products: a JSON array of objects
with product_id) and `profile.<name>` for any other trait.
"""

from __future__ import annotations

import json
from typing import Any

from destinations.base import BatchOutcome, Capabilities, ConfigError, FatalError, Op, RateLimit, Record

DEFAULT_BASE_URL = "http://127.0.0.1:8700"
MAX_DOCUMENTS = 1_000
MAX_BYTES = 5 * 1024 * 1024
ENVELOPE_BYTES = 1_024

UPSERT = "PUT /v1/profiles"
DELETE = "POST /v1/profiles/delete"

# Segue's own limits for the write API: the sync must not starve the website's reads.
RATE_LIMITS = {UPSERT: RateLimit(20, 1200), DELETE: RateLimit(20, 1200)}

IDENTIFIER_TYPES = ("email", "phone", "customer_id", "loyalty_id", "anonymous_id")
JSON_FIELDS = {f"identifiers.{t}" for t in IDENTIFIER_TYPES} | {"segments", "next_action.products"}
NEXT_ACTION_FIELDS = {"action_id", "journey", "step", "scheduled_for", "category", "products"}
FIXED_FIELDS = {"customer_key", "segments", "loyalty.tier", "loyalty.points"}


def _set_path(target: dict[str, Any], field: str, value: Any) -> None:
    head, _, rest = field.partition(".")
    if rest:
        _set_path(target.setdefault(head, {}), rest, value)
    else:
        target[head] = value


class RecordError(ValueError):
    pass


def _json_value(field: str, value: Any) -> Any:
    """A JSON-array field: the model sends JSON text (or, for identifiers, one plain value)."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError as exc:
                raise RecordError(f"{field}: not valid JSON ({exc})") from exc
        if field.startswith("identifiers."):
            return [text] if text else []
    raise RecordError(f"{field}: expected a JSON array, got {str(value)[:80]!r}")


class PersonalizationDestination:
    capabilities = Capabilities(
        max_batch_rows={Op.UPSERT: MAX_DOCUMENTS, Op.ADD: MAX_DOCUMENTS, Op.REMOVE: MAX_DOCUMENTS, Op.SEND: 1},
        max_batch_bytes={
            Op.UPSERT: MAX_BYTES - ENVELOPE_BYTES,
            Op.ADD: MAX_BYTES - ENVELOPE_BYTES,
            Op.REMOVE: MAX_BYTES - ENVELOPE_BYTES,
            Op.SEND: MAX_BYTES,
        },
        rate_limits=RATE_LIMITS,
        max_concurrency=2,  # SQLite has one writer; more requests at once only queue
        supported_modes=frozenset({"upsert", "mirror"}),
    )

    def __init__(self, instance, transport):
        self.instance = instance
        self.transport = transport
        self.base_url = instance.base_url(DEFAULT_BASE_URL)
        self._api_key = instance.credential("api_key")

    @classmethod
    def validate_spec(cls, spec) -> list[str]:
        problems = []
        if spec.object != "profiles":
            problems.append(f"meta.sync.object: the personalization API takes object 'profiles', got {spec.object!r}")
        if spec.mapping.get("customer_key") != spec.primary_key:
            problems.append(
                f"meta.sync.mapping.customer_key: must be the primary key {spec.primary_key!r} "
                "(documents are keyed by it)"
            )
        for field in spec.mapping:
            head, _, rest = field.partition(".")
            ok = (
                field in FIXED_FIELDS
                or (head == "identifiers" and rest in IDENTIFIER_TYPES)
                or (head == "next_action" and rest in NEXT_ACTION_FIELDS)
                or (head == "profile" and bool(rest) and "." not in rest)
            )
            if not ok:
                problems.append(
                    f"meta.sync.mapping.{field}: not a personalization document field (customer_key, "
                    "identifiers.<email|phone|customer_id|loyalty_id|anonymous_id>, segments, loyalty.tier, "
                    "loyalty.points, next_action.<action_id|journey|step|scheduled_for|category|products>, "
                    "profile.<name>)"
                )
        if not any(f.startswith("identifiers.") for f in spec.mapping):
            problems.append(
                "meta.sync.mapping: map at least one identifiers.<type> (the website looks customers up by them)"
            )
        return problems

    @staticmethod
    def document(record: Record) -> dict[str, Any]:
        # Every mapped field is present in every document (null when the customer has no value), so the
        # website reads one shape; identifier lists and segments are empty lists rather than null.
        document: dict[str, Any] = {"customer_key": record.key, "identifiers": {}}
        for field, value in sorted(record.fields.items()):
            if field == "customer_key":
                continue
            if field in JSON_FIELDS:
                value = _json_value(field, value)
                if value is None and field != "next_action.products":
                    value = []
            _set_path(document, field, value)
        action = document.get("next_action")
        if isinstance(action, dict) and action.get("action_id") is None:
            document["next_action"] = None  # no on-site step is due: the website shows nothing special
        return document

    def encoded_size(self, op: Op, record: Record) -> int:
        if op is Op.REMOVE:
            return len(json.dumps(record.key)) + 1
        try:
            return len(json.dumps(self.document(record), separators=(",", ":")).encode()) + 1
        except RecordError:
            return 64  # rejected per record in deliver()

    def _call(self, endpoint: str, method: str, path: str, body: dict[str, Any]):
        return self.transport.request(
            endpoint,
            method,
            self.base_url + path,
            data=json.dumps(body, separators=(",", ":")),
            headers={"X-Api-Key": self._api_key, "Content-Type": "application/json"},
        )

    @staticmethod
    def _error(response) -> str:
        try:
            err = response.json()["error"]
            return f"{err['code']}: {err['detail']}"
        except (ValueError, KeyError, TypeError):
            return response.text[:200]

    def deliver(self, op: Op, spec, records: list[Record]) -> BatchOutcome:
        if not records:
            return BatchOutcome()
        if op is Op.REMOVE:
            response = self._call(DELETE, "POST", "/v1/profiles/delete", {"customer_keys": [r.key for r in records]})
            if response.status_code != 200:
                raise FatalError(
                    f"personalization API refused the removal: HTTP {response.status_code} {self._error(response)}"
                )
            return BatchOutcome(confirmed=[r.key for r in records])  # a key the store no longer holds is removed
        if op not in (Op.UPSERT, Op.ADD):
            raise ConfigError(f"the personalization API does not support {op}")
        outcome = BatchOutcome()
        documents, sent = [], []
        for record in records:
            try:
                documents.append(self.document(record))
                sent.append(record)
            except RecordError as exc:
                outcome.rejected[record.key] = ("invalid_field", str(exc))
        if not documents:
            return outcome
        response = self._call(UPSERT, "PUT", "/v1/profiles", {"profiles": documents})
        if response.status_code != 200:
            raise FatalError(
                f"personalization API refused the batch: HTTP {response.status_code} {self._error(response)}"
            )
        results = response.json().get("results") or []
        if len(results) != len(sent):
            raise FatalError(f"personalization API answered {len(results)} results for {len(sent)} documents")
        for record, result in zip(sent, results, strict=True):
            if result.get("status") == "ok":
                outcome.confirmed.append(record.key)
            else:
                outcome.rejected[record.key] = ("invalid_document", str(result.get("error")))
        return outcome

    def poll(self, job) -> BatchOutcome | None:  # pragma: no cover - the write API answers synchronously
        raise ConfigError("the personalization API has no asynchronous jobs")
