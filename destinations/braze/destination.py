"""Braze as a Segue destination (REST API, `Authorization: Bearer <REST API key>`).

- upsert, object `users`: `POST /users/track` attribute objects (≤75 objects and ≤4 MB per
  request); Braze answers 2xx with `errors[]` naming the objects it skipped (by array and index),
  which become per-record rejections while the rest are confirmed;
- mirror, object `users`: adds as upsert; removals delete the user (`POST /users/delete`, ≤50
  external ids): only a sync that names `users` deletes anyone;
- mirror, object `subscription_group/<id>`: adds upsert the user (`/users/track`) then subscribe
  them (`POST /v2/subscription/status/set`, ≤50 external ids, never emails and phones in one
  request); removals unsubscribe them;
- actions, object `campaign/<campaign id>`: `POST /campaigns/trigger/send` with ≤50 recipients,
  each carrying the action's id in `trigger_properties.action_id`;
- actions, object `event/<name>`: custom events on `/users/track`, `properties.action_id` = the action.

Braze offers no idempotency key, so `dedupes_actions` is False: an action whose answer was lost is
reported `unknown` by the engine's send ledger and never re-sent. A 413 splits the batch in halves.
429s carry `X-RateLimit-Reset` (UTC epoch second) and no `Retry-After`; the transport reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from destinations.base import BatchOutcome, Capabilities, ConfigError, FatalError, Op, PendingJob, RateLimit, Record

DEFAULT_BASE_URL = "https://rest.iad-01.braze.com"
MAX_TRACK_OBJECTS = 75  # attributes + events + purchases per /users/track request
MAX_IDS = 50  # /v2/subscription/status/set identifiers, /users/delete ids, trigger recipients
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024  # every endpoint; beyond it: 413 Request Entity Too Large
ENVELOPE_BYTES = 1_024

USERS_TRACK = "POST /users/track"
SUBSCRIPTION_SET = "POST /v2/subscription/status/set"
USERS_DELETE = "POST /users/delete"
CAMPAIGN_TRIGGER = "POST /campaigns/trigger/send"

# Braze's default limits (API rate limits page): /users/track 3,000 requests per 3 s; the
# subscription endpoints 5,000/min; /users/delete 20,000/min shared with the other user endpoints;
# /campaigns/trigger/send (with recipients) 250,000/hour shared with the other messaging endpoints.
RATE_LIMITS = {
    USERS_TRACK: RateLimit(1_000, 60_000),
    SUBSCRIPTION_SET: RateLimit(5_000 / 60, 5_000),
    USERS_DELETE: RateLimit(20_000 / 60, 20_000),
    CAMPAIGN_TRIGGER: RateLimit(250_000 / 3_600, 250_000 / 60),
}

# Standard user profile fields of the user attributes object; custom attributes are `custom.<name>`.
STANDARD_ATTRIBUTES = {
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "country",
    "home_city",
    "language",
    "gender",
    "dob",
    "time_zone",
    "email_subscribe",
    "push_subscribe",
}
CUSTOM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,254}$")
OBJECTS = {
    "upsert": ("users",),
    "mirror": ("users", "subscription_group/<id>"),
    "actions": ("campaign/<campaign id>", "event/<event name>"),
}


def _attribute_ok(field: str) -> bool:
    head, _, rest = field.partition(".")
    return field in STANDARD_ATTRIBUTES or (head == "custom" and bool(CUSTOM_NAME.match(rest)))


def attributes_object(fields: dict[str, Any]) -> dict[str, Any]:
    """A user attributes object: standard fields as named, `custom.<name>` as the custom attribute `<name>`.

    Nulls are left out (Braze would clear the attribute; Segue never clears what it did not set).
    """
    out: dict[str, Any] = {}
    for field, value in fields.items():
        if value is None:
            continue
        out[field.partition(".")[2] if field.startswith("custom.") else field] = value
    return out


def _nested(fields: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in fields.items() if k.startswith(prefix) and v is not None}


class BrazeDestination:
    capabilities = Capabilities(
        max_batch_rows={Op.UPSERT: MAX_TRACK_OBJECTS, Op.ADD: MAX_IDS, Op.REMOVE: MAX_IDS, Op.SEND: MAX_IDS},
        max_batch_bytes={op: MAX_PAYLOAD_BYTES - ENVELOPE_BYTES for op in Op},
        rate_limits=RATE_LIMITS,
        max_concurrency=4,
        dedupes_actions=False,  # no idempotency key: the send ledger is what prevents a double send
    )

    def __init__(self, instance, transport):
        self.instance = instance
        self.transport = transport
        self.base_url = instance.base_url(DEFAULT_BASE_URL)
        self._api_key = instance.credential("api_key")

    # -- declaration checks -------------------------------------------------------------------------
    @classmethod
    def validate_spec(cls, spec) -> list[str]:
        problems: list[str] = []
        kind, _, name = spec.object.partition("/")
        allowed = OBJECTS[spec.mode]
        if not any(kind == a.partition("/")[0] and bool(name) == ("/" in a) for a in allowed):
            problems.append(
                f"meta.sync.object: mode {spec.mode} on Braze needs object "
                f"{' or '.join(repr(a) for a in allowed)}, got {spec.object!r}"
            )
            return problems
        if spec.mode == "actions":
            prefix = "trigger_properties." if kind == "campaign" else "properties."
            identity = "external_user_id" if kind == "campaign" else "external_id"
            for field in spec.mapping:
                head, _, rest = field.partition(".")
                ok = field == identity or (field.startswith(prefix) and bool(rest))
                ok = ok or (kind == "campaign" and head == "attributes" and _attribute_ok(rest))
                ok = ok or (kind == "event" and field == "time")
                if not ok:
                    problems.append(f"meta.sync.mapping.{field}: not a field of a Braze {kind} {_what(kind)}")
            if spec.mapping.get(f"{prefix}action_id") != spec.primary_key:
                problems.append(
                    f"meta.sync.mapping.{prefix}action_id: must be the primary key {spec.primary_key!r} "
                    "(the action's id travels with every send)"
                )
            if identity not in spec.mapping:
                problems.append(f"meta.sync.mapping.{identity}: map the Braze user the action goes to")
            return problems
        for field in spec.mapping:
            if not _attribute_ok(field):
                problems.append(
                    f"meta.sync.mapping.{field}: not a Braze user attribute "
                    f"(standard: {', '.join(sorted(STANDARD_ATTRIBUTES))}; custom: custom.<name>)"
                )
        if "external_id" not in spec.mapping:
            problems.append("meta.sync.mapping.external_id: Braze users are matched on external_id; map it")
        if spec.mode == "mirror" and spec.mapping.get("external_id") != spec.primary_key:
            problems.append(
                f"meta.sync.mapping.external_id: a mirror maps external_id to the primary key {spec.primary_key!r} "
                "(removals name users by it)"
            )
        return problems

    # -- requests -------------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"}

    def _post(self, endpoint: str, path: str, body: dict[str, Any]):
        data = json.dumps(body, separators=(",", ":"))
        return self.transport.request(endpoint, "POST", self.base_url + path, data=data, headers=self._headers())

    def send_item(self, spec, record: Record) -> dict[str, Any]:
        """The object one record becomes: attributes, an event or a trigger recipient."""
        fields = record.fields
        kind = spec.object.partition("/")[0]
        if spec.mode != "actions":
            return attributes_object(fields)
        if kind == "event":
            event = {"external_id": fields.get("external_id"), "name": spec.object.partition("/")[2]}
            event["time"] = fields.get("time")
            event["properties"] = _nested(fields, "properties.")
            return event
        recipient: dict[str, Any] = {"external_user_id": fields.get("external_user_id")}
        attributes = attributes_object(_nested(fields, "attributes."))
        if attributes:
            # Braze creates a user it does not hold yet, with these attributes, before sending.
            recipient["send_to_existing_only"] = False
            recipient["attributes"] = attributes
        recipient["trigger_properties"] = _nested(fields, "trigger_properties.")
        return recipient

    def encoded_size(self, op: Op, record: Record) -> int:
        fields = record.fields
        return len(json.dumps(fields, separators=(",", ":"), default=str).encode()) + 64

    @staticmethod
    def _message(response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text[:200] or f"HTTP {response.status_code}"
        if isinstance(body, dict):
            return str(body.get("message") or body.get("errors") or body)[:300]
        return str(body)[:300]

    def deliver(self, op: Op, spec, records: list[Record]) -> BatchOutcome | PendingJob:
        if not records:
            return BatchOutcome()
        kind, _, name = spec.object.partition("/")
        if op in (Op.UPSERT, Op.ADD):
            outcome = self._track(spec, "attributes", records)
            if op is Op.ADD and kind == "subscription_group":
                return self._subscribe(name, "subscribed", records, outcome)
            return outcome
        if op is Op.REMOVE:
            if kind == "users":
                return self._delete(records)
            return self._subscribe(name, "unsubscribed", records, BatchOutcome())
        if op is Op.SEND:
            if kind == "event":
                return self._track(spec, "events", records)
            return self._trigger(spec, name, records)
        raise ConfigError(f"Braze does not support {op}")

    def _split(self, deliver_half, records: list[Record]) -> BatchOutcome:
        """413: nothing was processed; send each half on its own (a single record too big is rejected)."""
        if len(records) == 1:
            return BatchOutcome(
                rejected={records[0].key: ("413", "the record alone exceeds Braze's 4 MB payload limit")}
            )
        middle = len(records) // 2
        first, second = deliver_half(records[:middle]), deliver_half(records[middle:])
        keys = [r.key for r in records]
        merged = BatchOutcome(rejected={**first.rejected, **second.rejected}, failed={**first.failed, **second.failed})
        merged.confirmed = [k for k in keys if k not in merged.rejected and k not in merged.failed]
        return merged

    def _track(self, spec, array: str, records: list[Record]) -> BatchOutcome:
        objects = [self.send_item(spec, r) for r in records]
        local: dict[str, tuple[str, str]] = {}
        if array == "events":
            for record, event in zip(records, objects, strict=True):
                if not event.get("external_id") or not event.get("time"):
                    local[record.key] = ("missing_field", "a Braze event needs external_id and time")
        send = [(r, o) for r, o in zip(records, objects, strict=True) if r.key not in local]
        outcome = self._track_objects(array, [r for r, _ in send], [o for _, o in send]) if send else BatchOutcome()
        outcome.rejected.update(local)
        if outcome.confirmed:
            outcome.confirmed = [k for k in outcome.confirmed if k not in local]
        return outcome

    def _track_objects(self, array: str, records: list[Record], objects: list[dict]) -> BatchOutcome:
        response = self._post(USERS_TRACK, "/users/track", {array: objects})
        status = response.status_code
        if status == 413:
            by_key = {r.key: o for r, o in zip(records, objects, strict=True)}
            return self._split(lambda half: self._track_objects(array, half, [by_key[r.key] for r in half]), records)
        try:
            body = response.json()
        except ValueError:
            body = {}
        errors = body.get("errors") if isinstance(body, dict) else None
        indexed = [e for e in errors or [] if isinstance(e, dict) and isinstance(e.get("index"), int)]
        rejected: dict[str, tuple[str, str]] = {}
        for error in indexed:
            if error.get("input_array", array) == array and 0 <= error["index"] < len(records):
                rejected[records[error["index"]].key] = ("braze_error", str(error.get("type") or error))
        if 200 <= status < 300:
            return BatchOutcome(confirmed=[r.key for r in records if r.key not in rejected], rejected=rejected)
        if status == 400 and indexed:
            # A fatal error (e.g. no valid object at all): Braze processed nothing of this request.
            message = self._message(response)
            failed = {r.key: f"not processed: {message}" for r in records if r.key not in rejected}
            return BatchOutcome(rejected=rejected, failed=failed)
        raise FatalError(f"Braze /users/track refused the request: HTTP {status}: {self._message(response)}")

    def _subscribe(self, group: str, state: str, records: list[Record], before: BatchOutcome) -> BatchOutcome:
        """Subscribe / unsubscribe by external id (never emails and phones mixed), for records not already refused."""
        refused = set(before.rejected) | set(before.failed)
        keys = [r.key for r in records if r.key not in refused]
        outcome = BatchOutcome(rejected=dict(before.rejected), failed=dict(before.failed))
        if not keys:
            return outcome
        ids = [r.fields.get("external_id") or r.key for r in records if r.key in set(keys)]
        body = {
            "subscription_groups": [{"subscription_group_id": group, "subscription_state": state, "external_ids": ids}]
        }
        response = self._post(SUBSCRIPTION_SET, "/v2/subscription/status/set", body)
        if 200 <= response.status_code < 300:
            outcome.confirmed = keys
            return outcome
        if response.status_code == 400:
            message = self._message(response)
            outcome.rejected.update({k: ("400", message) for k in keys})
            return outcome
        raise FatalError(f"Braze subscription group {group}: HTTP {response.status_code}: {self._message(response)}")

    def _delete(self, records: list[Record]) -> BatchOutcome:
        # validate_spec makes external_id the primary key of a mirror, so a departed row's key is its external_id
        response = self._post(USERS_DELETE, "/users/delete", {"external_ids": [r.key for r in records]})
        if 200 <= response.status_code < 300:
            return BatchOutcome(confirmed=[r.key for r in records])  # a user Braze no longer holds is gone too
        raise FatalError(f"Braze /users/delete: HTTP {response.status_code}: {self._message(response)}")

    def _trigger(self, spec, campaign_id: str, records: list[Record]) -> BatchOutcome:
        rejected = {
            r.key: ("missing_field", "no external_user_id: the action has no Braze user to go to")
            for r in records
            if not r.fields.get("external_user_id")
        }
        send = [r for r in records if r.key not in rejected]
        outcome = self._trigger_send(spec, campaign_id, send) if send else BatchOutcome()
        outcome.rejected.update(rejected)
        return outcome

    def _trigger_send(self, spec, campaign_id: str, records: list[Record]) -> BatchOutcome:
        body = {"campaign_id": campaign_id, "recipients": [self.send_item(spec, r) for r in records]}
        response = self._post(CAMPAIGN_TRIGGER, "/campaigns/trigger/send", body)
        status = response.status_code
        if 200 <= status < 300:
            return BatchOutcome(confirmed=[r.key for r in records])
        if status == 413:
            return self._split(lambda half: self._trigger_send(spec, campaign_id, half), records)
        if 400 <= status < 500:
            # Braze refused the whole request (unknown campaign, invalid recipient...): nothing was sent.
            message = self._message(response)
            return BatchOutcome(rejected={r.key: (str(status), message) for r in records})
        raise FatalError(f"Braze /campaigns/trigger/send: HTTP {status}: {self._message(response)}")

    def poll(self, job: PendingJob) -> BatchOutcome | None:
        raise ConfigError("Braze answers every Segue request synchronously; there is no job to poll")


def _what(kind: str) -> str:
    return "trigger recipient" if kind == "campaign" else "event"
